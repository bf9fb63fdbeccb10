"""The application layer: what the front ends (CLI, daemon, Python API) assemble the same way.

``cli``, ``daemon`` and ``streamrec.api`` call these instead of wiring ``runtime`` and ``state``
themselves: ``app.statedir`` opens a state directory (paths, the journal, the daemon's socket and
info file), ``app.runner`` builds the task runner, ``app.recording`` assembles recording (ffmpeg
found once, storage with the low-space policy, the hook runner, ``make_recorder``) and
``app.applying`` makes a config current (``apply_config``). Nothing here prints, parses options or
picks exit codes; that stays in the front ends.
"""
