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


def test_loguru_is_imported_by_the_first_line_logged_not_by_importing_the_logger() -> None:
    """``streamrec.log.logger`` is loguru's once used; importing it (as every module does at its
    top) loads neither loguru nor asyncio, and a set-up given to ``when_used`` runs before the
    first line is written."""
    script = (
        "import sys\n"
        "from streamrec.log import logger, when_used\n"
        "import streamrec.state.journal\n"
        "assert 'loguru' not in sys.modules and 'asyncio' not in sys.modules\n"
        "def setup():\n"
        "    logger.remove()\n"
        "    logger.enable('streamrec')\n"
        "    logger.add(sys.stdout, format='set-up sink: {message}')\n"
        "when_used(setup)\n"
        "code = 'from streamrec.log import logger\\nlogger.warning(\\'first line\\')'\n"
        "exec(code, {'__name__': 'streamrec.probe'})\n"
        "assert 'loguru' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "set-up sink: first line\n" and done.stderr == "", done
