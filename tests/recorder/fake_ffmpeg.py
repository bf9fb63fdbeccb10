"""A stand-in for ffmpeg, driven by its arguments, for timing faults real ffmpeg will not do on cue.

    fake_ffmpeg.py PROGRESS_FD MODE

MODE ``stubborn``: reports growing media time once a second and ignores ``q`` and SIGINT (only
SIGKILL ends it). MODE ``silent``: says nothing at all, as ffmpeg does while probing a dead input.
"""

from __future__ import annotations

import os
import signal
import sys
import time

progress_fd, mode = int(sys.argv[1]), sys.argv[2]
signal.signal(signal.SIGINT, signal.SIG_IGN)
out = os.fdopen(progress_fd, "w")
t = 0
while True:
    if mode == "stubborn":
        t += 1_000_000
        out.write(f"out_time_us={t}\nprogress=continue\n")
        out.flush()
    time.sleep(0.2)
