"""The HTTP API of the daemon: control on the Unix socket, read-only status on TCP by default."""
