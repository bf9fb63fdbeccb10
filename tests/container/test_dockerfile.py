"""The Dockerfile's properties that can be checked without a container engine, and its pip step run.

There is no Docker engine here, so the file is parsed: its instructions per stage, the build context
after .dockerignore, and the Python install step, which is run for real in a fresh virtual
environment (pip reaches PyPI) to prove the image's Python part installs and starts.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stage:
    """One FROM ... stage: its base image and its instructions as (KEYWORD, arguments)."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)
    run_options: list[str] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), default)
        elif keyword == "FROM":
            parts = rest.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), parts[0])
            name = parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else None
            stages.append(Stage(image, name))
        elif keyword == "RUN":  # its --mount=... options are not part of the command
            while rest.startswith("--"):
                option, _, rest = rest.partition(" ")
                stages[-1].run_options.append(option)
                rest = rest.strip()
            stages[-1].instructions.append((keyword, rest))
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def env_of(stage: Stage) -> dict[str, str]:
    """The ENV variables a stage sets (KEY=VALUE form)."""
    found: dict[str, str] = {}
    for args in stage.all("ENV"):
        for item in shlex.split(args):
            key, _, value = item.partition("=")
            found[key] = value
    return found


def dockerignore_allows(relative: str, rules: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matching a parent covers its files."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    allowed = True
    for rule in rules:
        negate = rule.startswith("!")
        pattern = rule.removeprefix("!").strip("/")
        regex = fnmatch.translate(pattern).replace(".*", "[^/]*").replace("[^/]*[^/]*", ".*")
        if pattern.startswith("**/"):
            regex = "(.*/)?" + fnmatch.translate(pattern[3:])
        if any(re.match(regex, candidate) for candidate in candidates):
            allowed = negate
    return allowed


def build_context(destination: Path) -> Path:
    """A copy of the repository as the Docker build context: only what .dockerignore lets in."""
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for relative in listed:
        if (ROOT / relative).is_file() and dockerignore_allows(relative, rules):
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, target)
    return destination


ARGS, STAGES = parse_dockerfile((ROOT / "Dockerfile").read_text())
BUILD, FINAL = STAGES[0], STAGES[-1]


def test_every_stage_starts_from_a_slim_python_image():
    """FROM python:3.X-slim(-debian) for the build and the runtime stage."""
    assert len(STAGES) == 2 and BUILD.name == "build"
    for stage in STAGES:
        assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", stage.base), stage.base


def test_the_base_is_a_build_argument_and_the_ca_bundle_only_a_build_secret():
    """Both stages start FROM ${BASE_IMAGE}; pip may get a CA bundle as a secret, never as ENV."""
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM \$\{BASE_IMAGE\}", text, re.MULTILINE)) == 2
    assert not re.search(r"^# *syntax=", text, re.MULTILINE)  # it would pull a frontend image
    assert BUILD.run_options == ["--mount=type=secret,id=ca-certificates,required=false"]
    assert "PIP_CERT=/run/secrets/ca-certificates" in BUILD.all("RUN")[0]
    assert not FINAL.run_options
    assert not any(
        "PIP_CERT" in env_of(stage) or "secrets" in str(env_of(stage)) for stage in STAGES
    )


def test_the_runtime_installs_debians_ffmpeg_git_and_tini_with_apt():
    """ffmpeg comes from apt (no static download), with git for --git and tini as PID 1."""
    (install,) = [run for run in FINAL.all("RUN") if "apt-get install" in run]
    packages = install.split("apt-get install", 1)[1].split("&&")[0].split()
    assert {"ffmpeg", "git", "tini"} <= set(packages)
    assert "--no-install-recommends" in packages and "rm -rf /var/lib/apt/lists/*" in install
    assert not any("curl" in run or "wget" in run for run in FINAL.all("RUN"))


def test_the_image_runs_as_a_created_non_root_user():
    """A user is created with a fixed uid, owns /recordings and /state, and is the last USER."""
    setup = " ".join(FINAL.all("RUN"))
    uid = re.search(r"useradd .*--uid (\d+)", setup)
    assert uid and int(uid.group(1)) >= 1000
    assert f"chown {uid.group(1)}:" in setup and "/recordings /state" in setup
    users = FINAL.all("USER")
    assert users and users[-1].split(":")[0] == uid.group(1)
    keywords = [key for key, _ in FINAL.instructions]
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")


def test_recordings_and_state_are_volumes_and_config_is_not_written():
    """VOLUME lists /recordings and /state; /config is only read (no VOLUME, not chowned)."""
    (volumes,) = FINAL.all("VOLUME")
    assert set(json.loads(volumes)) == {"/recordings", "/state"}
    assert "chown" not in " ".join(
        r for r in FINAL.all("RUN") if "/config " in r.split("chown")[-1]
    )


def test_entrypoint_and_cmd_are_exec_form_through_tini_to_the_entrypoint_script():
    """JSON-array ENTRYPOINT (tini, then the copied script) and CMD run: signals reach streamrec."""
    (entrypoint,) = FINAL.all("ENTRYPOINT")
    (cmd,) = FINAL.all("CMD")
    entry = json.loads(entrypoint)
    assert entry[:2] == ["/usr/bin/tini", "--"]
    assert json.loads(cmd) == ["run"]
    copies = [c.split() for c in FINAL.all("COPY") if not c.startswith("--from")]
    assert ["docker/entrypoint.py", entry[-1]] in copies
    assert "os.execvp" in (ROOT / "docker" / "entrypoint.py").read_text()


def test_a_healthcheck_asks_the_health_endpoint():
    """HEALTHCHECK runs an exec-form command against /healthz on port 8080."""
    (check,) = FINAL.all("HEALTHCHECK")
    options, _, command = check.partition("CMD")
    assert "--interval=" in options and "--timeout=" in options
    argv = json.loads(command)
    assert argv[0] == "python" and "http://127.0.0.1:8080/healthz" in argv[-1]


def test_configuration_comes_from_streamrec_environment_variables():
    """STREAMREC_CONFIG, STREAMREC_STATE_DIR and STREAMREC_LOG_FORMAT point at the volumes."""
    env = env_of(FINAL)
    assert env["STREAMREC_CONFIG"] == "/config"
    assert env["STREAMREC_STATE_DIR"] == "/state"
    assert env["STREAMREC_LOG_FORMAT"] == "json"
    assert env["PATH"].startswith("/opt/streamrec/bin:")


def test_everything_copied_is_in_the_build_context(tmp_path):
    """Each COPY source exists once .dockerignore has filtered the context; tests and .git stay out."""
    context = build_context(tmp_path / "context")
    for stage in STAGES:
        for copy in stage.all("COPY"):
            if copy.startswith("--from"):
                continue
            for source in copy.split()[:-1]:
                assert (context / source).exists(), f"COPY {source}: not in the build context"
    assert not (context / "tests").exists() and not (context / ".venv").exists()
    assert not list(context.rglob("__pycache__"))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_python_install_step_works_in_a_fresh_virtual_environment(tmp_path):
    """The build stage's COPYs and RUN, replayed outside Docker, give a working `streamrec`.

    Prints the figure: the installed size of the image's Python dependency set.
    """
    context = build_context(tmp_path / "context")
    workdir = tmp_path / "src"
    workdir.mkdir()
    for copy in BUILD.all("COPY"):
        *sources, target = copy.split()
        for source in sources:
            destination = workdir / target if target.endswith("/") else workdir
            if (context / source).is_dir():
                shutil.copytree(context / source, workdir / target)
            else:
                shutil.copy2(context / source, destination / Path(source).name)
    prefix = tmp_path / "opt-streamrec"
    (install,) = BUILD.all("RUN")
    # the image's `python -m venv`, with this python (with pip: a venv made by a venv has none)
    venv.EnvBuilder(with_pip=True).create(prefix)
    command = install.replace("/opt/streamrec", str(prefix))
    command = command.replace(f"python -m venv {prefix}", "true")
    done = subprocess.run(
        command, shell=True, cwd=workdir, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    helped = subprocess.run(
        [str(prefix / "bin" / "streamrec"), "--help"], capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0 and "channel" in helped.stdout and "import" in helped.stdout
    site = next((prefix / "lib").glob("python3*/site-packages"))
    sizes = {
        path.name: sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        for path in site.iterdir()
        if path.is_dir()
    }
    total = sum(sizes.values())
    biggest = sorted(sizes.items(), key=lambda item: -item[1])[:5]
    print(  # the figure: the image's Python dependency set, measured without building the image
        f"\nsite-packages: {total / 2**20:.1f} MiB (python {sys.version_info[0]}.{sys.version_info[1]}); "
        + ", ".join(f"{name} {size / 2**20:.1f}" for name, size in biggest)
    )
    assert not list(site.glob("imageio_ffmpeg/binaries/ffmpeg-*"))  # Debian's ffmpeg is used
    assert total < 100 * 2**20
