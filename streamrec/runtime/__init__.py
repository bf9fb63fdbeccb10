"""Edges: child processes (ffmpeg, shell tasks), scheduling, watching, git."""
