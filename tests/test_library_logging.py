"""The library is quiet until its user enables it, and an enable holds whatever is imported later."""

from __future__ import annotations

import subprocess
import sys

import pytest

LOGS = (
    "code = 'from streamrec.log import logger\\nlogger.warning(\\'from the library\\')'\n"
    "exec(code, {'__name__': 'streamrec.probe'})\n"
)
"""A warning logged the way streamrec's modules log: from a module named ``streamrec.*``."""

CASES = {
    "quiet by default": ("import streamrec\n" + LOGS, False),
    "enabled after importing streamrec": (
        "import streamrec\nfrom loguru import logger\nlogger.enable('streamrec')\n" + LOGS,
        True,
    ),
    "loguru first, enabled, modules imported later": (
        "from loguru import logger\nimport streamrec\nlogger.enable('streamrec')\n" + LOGS,
        True,
    ),
    "enabled after a logging module was imported": (
        "import streamrec.daemon.lock\nfrom loguru import logger\nlogger.enable('streamrec')\n"
        + LOGS,
        True,
    ),
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_logging_is_quiet_until_enabled_and_an_enable_holds(case: str) -> None:
    script, shown = CASES[case]
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert ("from the library" in done.stderr) is shown, done.stderr
