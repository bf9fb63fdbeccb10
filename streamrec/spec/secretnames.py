"""Which variable names look secret: the one rule for interpolation and for redaction.

``spec.interpolate`` collects the values of such variables when it substitutes them, and
``core.redact.Redactor.of`` hides the values of such variables of the environment (the API token
among them) in every output. Kept apart from both so that ``core`` may use it without importing the
YAML reader. Pure.
"""

from __future__ import annotations

import re

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASS|AUTH|CRED", re.IGNORECASE)
_WHERE = re.compile(r"_(FILE|PATH)\Z", re.IGNORECASE)


def is_secret_variable(name: str) -> bool:
    """Whether a variable's name looks secret (``*KEY*``, ``*TOKEN*``, ``*SECRET*``, ``*PASS*``,
    ``*AUTH*``, ``*CRED*``), so its value is hidden wherever it is printed. A name ending in
    ``_FILE`` or ``_PATH`` (``STREAMREC_TOKENS_FILE``) names where a secret is kept, not the
    secret, and is shown, so that a message can say which file it means."""
    return bool(_SECRET_NAME.search(name)) and not _WHERE.search(name)
