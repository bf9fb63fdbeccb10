"""Desired state: the config model, YAML loading with located errors, checks beyond the schema."""
