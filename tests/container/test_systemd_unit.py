"""examples/systemd/streamrec.service: hardened (systemd-analyze's exposure), valid, and able to write.

The real tool judges it: ``systemd-analyze security --offline=true`` scores the shipped file as it
is (offline: no running systemd needed), ``systemd-analyze verify`` checks a copy whose ExecStart
points at this venv's ``streamrec`` (verify requires the binary to exist; /opt/streamrec is not
installed here) and whose every other line is the shipped one. The paths test needs no systemd: it
loads the config the unit ships (examples/systemd/settings.yaml, as if it were /etc/streamrec) and
checks that the recordings and state directories lie where the unit's own sandbox lets it write.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from streamrec.spec.loading import load_config
from streamrec.state.location import state_root

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "examples" / "systemd" / "streamrec.service"
SETTINGS = ROOT / "examples" / "systemd" / "settings.yaml"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None,
    reason="systemd-analyze is not installed (scripts/install-test-packages.sh installs systemd)",
)
MAX_EXPOSURE = 4.0


def directives(text: str) -> dict[str, list[str]]:
    """``Section.Key`` -> every value it is given, in order (keys may repeat in unit files)."""
    found: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return found


SERVICE = directives(UNIT.read_text(encoding="utf-8"))


def service(key: str) -> list[str]:
    return SERVICE.get(f"Service.{key}", [])


def environment() -> dict[str, str]:
    pairs = [item.split("=", 1) for value in service("Environment") for item in value.split()]
    return {name: value for name, value in pairs}


def words(key: str) -> list[str]:
    return [word for value in service(key) for word in value.split()]


@needs_analyze
def test_the_exposure_is_below_four():
    """``systemd-analyze security --offline=true`` rates the shipped unit below 4.0 ("OK")."""
    result = subprocess.run(
        [str(ANALYZE), "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
    assert match, result.stdout + result.stderr
    exposure = float(match.group(1))
    print(f"systemd-analyze exposure of {UNIT.name}: {exposure}")
    assert exposure < MAX_EXPOSURE, result.stdout


@needs_analyze
def test_systemd_analyze_verify_passes(tmp_path):
    """``verify`` accepts the unit with no warning about it (an unknown or misspelt key is only a
    warning to systemd, so any line naming the file fails the test)."""
    (exec_start,) = service("ExecStart")
    binary, _, arguments = exec_start.partition(" ")
    assert binary == "/opt/streamrec/bin/streamrec" and arguments == "run"
    here = Path(sys.executable).parent / "streamrec"
    assert here.is_file(), f"{here}: the venv's streamrec command is missing"
    text = UNIT.read_text(encoding="utf-8").replace(f"ExecStart={binary} ", f"ExecStart={here} ")
    copy = tmp_path / UNIT.name
    copy.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [str(ANALYZE), "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    about_the_unit = [
        line for line in (result.stdout + result.stderr).splitlines() if UNIT.name in line
    ]
    assert result.returncode == 0 and about_the_unit == [], result.stdout + result.stderr


def inside(path: PurePosixPath, roots: list[PurePosixPath]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def test_the_recordings_and_state_directories_are_writable_under_the_units_protections():
    """With ProtectSystem=strict only StateDirectory= and ReadWritePaths= are writable: the state
    directory (STREAMREC_STATE_DIR) and the recordings directory of the shipped settings (loaded
    as /etc/streamrec, the unit's STREAMREC_CONFIG) must lie inside them, and not read-only."""
    assert service("ProtectSystem") == ["strict"]
    env = environment()
    config_dir = PurePosixPath(env["STREAMREC_CONFIG"])
    writable = [PurePosixPath("/var/lib") / name for name in words("StateDirectory")]
    writable += [PurePosixPath(p.lstrip("-")) for p in words("ReadWritePaths")]
    read_only = [PurePosixPath(p.lstrip("-")) for p in words("ReadOnlyPaths")]
    read_only += [PurePosixPath(p.lstrip("-")) for p in words("InaccessiblePaths")]
    assert writable, "the unit has no StateDirectory= or ReadWritePaths="
    loaded = load_config(SETTINGS.parent, env, base_dir=Path(config_dir.parent))
    recordings = PurePosixPath(loaded.resolve_path(loaded.config.settings.recordings_dir))
    state = PurePosixPath(state_root(SETTINGS.parent, loaded, env))
    settings_state = PurePosixPath(loaded.resolve_path(loaded.config.settings.state_dir))
    for name, path in {
        "recordings": recordings,
        "state": state,
        "settings.state_dir": settings_state,
    }.items():
        assert inside(path, writable), f"{name} directory {path} is read-only in the unit"
        assert not inside(path, read_only), f"{name} directory {path} is read-only in the unit"
    assert not inside(config_dir, writable), "the config should stay read-only to the daemon"
    assert PurePosixPath(service("WorkingDirectory")[0]) in writable


def test_the_sandbox_keeps_what_recording_needs():
    """Sources need IPv4 and IPv6, the control socket AF_UNIX; the user is not root."""
    assert set(words("RestrictAddressFamilies")) >= {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert service("DynamicUser") == ["yes"] or service("User") not in ([], ["root"])
    assert service("NoNewPrivileges") == ["yes"]
