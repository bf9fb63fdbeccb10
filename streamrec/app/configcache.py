"""The validated config of a directory, kept between commands while its inputs stay the same.

Loading and planning 10,000 channels costs seconds; reading the same files back from a pickle a
fraction of that. ``cli.config`` (``validate``, ``plan``) asks :func:`load_cached` for the loaded
config and the desired side of its plan: when every input matches what the entry was made from,
the entry is used, else the config is loaded (by the caller's ``load``, which reports problems
as usual) and a new entry written. The inputs (the config's compared by content, never by
modification time):

- this streamrec's version, the cache format, Python's version and pydantic's (the content of
  its version module, read without importing it), and the name, size and modification time of
  each of streamrec's own modules (an edited checkout, whose version stays the same, is a miss);
- the current directory (messages name files relative to it), the config directory, the list of
  its files and the SHA-256 of each, and of its ``.env``;
- every environment variable the config interpolates (looked up while it loaded), by a SHA-256
  of its value, or its absence.

An entry holds secrets (URL passwords, interpolated values), so it is written only as a 0600 file
in a 0700 directory of the user's cache (``$XDG_CACHE_HOME/streamrec``, else
``~/.cache/streamrec``), one per config directory, and read only when it is still a private
regular file of this user. A corrupt, stale or unreadable entry is ignored and rewritten; failing
to write one is silent too (the command has its result either way). A config that does not load
is never cached.

An entry is read back in three steps, each only when asked for. First a :class:`Brief` of plain
data (the revision, the counts, every secret): all that ``validate`` prints, so a hit of
``validate`` (``load_cached(..., brief_only=True)``) imports neither pydantic nor the config model
nor the planner. Then what ``plan`` needs (:class:`Cached`: the desired side, the settings), read
when the entry is looked up for it. Last the whole loaded config, 20,000 pydantic objects for
10,000 channels and as many tasks, only when :attr:`Cached.loaded` is asked for.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import stat
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from streamrec.spec.configfiles import config_files, read_bounded
from streamrec.spec.limits import DEFAULT_LIMITS
from streamrec.version import __version__

if TYPE_CHECKING:
    from streamrec.core import planning
    from streamrec.spec.loading import LoadedConfig

FORMAT = 2
"""Bumped whenever what an entry holds changes shape."""
_OTHERS = 0o077


@dataclass(frozen=True)
class Summary:
    """What ``validate`` and ``plan`` need of a loaded config besides its desired side."""

    counts: dict[str, int]
    """``files``, ``categories``, ``channels``, ``tasks``, ``queues``: how many of each."""
    secrets: frozenset[str]
    """Every secret to hide: interpolated ones and those written in the config
    (``Redactor.of(secrets, environ)`` is the config's redactor)."""
    settings: LoadedConfig
    """The loaded config with its settings only (where its state directory is)."""

    @classmethod
    def of(cls, loaded: LoadedConfig) -> Summary:
        from streamrec.core.redact import config_secrets
        from streamrec.spec.loading import LoadedConfig

        config = loaded.config
        counts = {
            "files": len(loaded.files),
            "categories": len(config.categories),
            "channels": len(config.channels),
            "tasks": len(config.tasks),
            "queues": len(config.queues),
        }
        empty: dict[str, object] = {"categories": {}, "channels": {}, "tasks": {}, "queues": {}}
        settings = LoadedConfig(
            config.model_copy(update=empty),
            loaded.directory,
            loaded.files,
            secrets=loaded.secrets,
            base=loaded.base,
        )
        return cls(counts, frozenset(loaded.secrets | config_secrets(config)), settings)


@dataclass(frozen=True)
class Brief:
    """What ``validate`` prints of a valid config: plain data, read back without pydantic."""

    revision: str
    counts: dict[str, int]
    """As :attr:`Summary.counts`."""
    secrets: frozenset[str]
    """As :attr:`Summary.secrets`."""

    def plain(self) -> dict[str, object]:
        """This brief as builtins only (what an entry holds)."""
        return {"revision": self.revision, "counts": self.counts, "secrets": self.secrets}

    @classmethod
    def of_plain(cls, data: object) -> Brief | None:
        """The brief :meth:`plain` gave, or None when ``data`` is not one."""
        if not isinstance(data, dict):
            return None
        revision, counts, secrets = data.get("revision"), data.get("counts"), data.get("secrets")
        if not isinstance(revision, str) or not isinstance(secrets, frozenset):
            return None
        if not isinstance(counts, dict) or not all(type(n) is int for n in counts.values()):
            return None
        return cls(revision, counts, secrets)


@dataclass
class Cached:
    """A valid config from the cache or loaded now: its :class:`Brief`, the desired side of its
    plan, its :class:`Summary`, and the whole loaded config, each read back on first use."""

    brief: Brief
    hit: bool = False
    """Whether it came from the cache."""
    _desired: planning.Desired | None = field(default=None, repr=False)
    _summary: Summary | None = field(default=None, repr=False)
    _planned: bytes = field(default=b"", repr=False)
    _loaded: LoadedConfig | None = field(default=None, repr=False)
    _pickled: bytes = field(default=b"", repr=False)
    _reload: Callable[[], Cached] | None = field(default=None, repr=False)
    """Loads the config afresh: used when a part read back on first use turns out unreadable."""

    @property
    def desired(self) -> planning.Desired:
        """The desired side of the plan (read back from the entry on first use)."""
        if self._desired is None:
            self._read_planned()
        assert self._desired is not None
        return self._desired

    @property
    def summary(self) -> Summary:
        """Counts, secrets and settings (read back from the entry on first use)."""
        if self._summary is None:
            self._read_planned()
        assert self._summary is not None
        return self._summary

    @property
    def loaded(self) -> LoadedConfig:
        """The whole loaded config (read back from the entry on first use)."""
        if self._loaded is None:
            from streamrec.spec.loading import LoadedConfig

            try:
                loaded = pickle.loads(self._pickled)  # noqa: S301 - a private entry, see _read
                if not isinstance(loaded, LoadedConfig):
                    raise TypeError("the cached config is not a LoadedConfig")
            except Exception:
                self._load_afresh()  # a corrupt part behind a good brief is a miss after all
            else:
                self._loaded = loaded
        assert self._loaded is not None
        return self._loaded

    def _read_planned(self) -> None:
        try:
            self._desired, self._summary = _planned(self._planned)
        except Exception:
            self._load_afresh()

    def _load_afresh(self) -> None:
        if self._reload is None:
            raise TypeError("the cached entry cannot be read back and nothing can load it afresh")
        fresh = self._reload()
        self._desired, self._summary, self._loaded = fresh.desired, fresh.summary, fresh.loaded
        self.hit = False


def _planned(data: bytes) -> tuple[planning.Desired, Summary]:
    """The desired side and the summary an entry holds (``data``, from a private entry)."""
    from streamrec.core import planning

    desired, summary = pickle.loads(data)  # noqa: S301 - from a private entry, see _read
    if not isinstance(desired, planning.Desired) or not isinstance(summary, Summary):
        raise TypeError("the cached entry holds no desired side and summary")
    return desired, summary


class RecordingEnviron(Mapping[str, str]):
    """An environment that remembers every name looked up in it (what the config interpolates).

    Iterating it (reading every variable) marks it as :attr:`exhaustive`: such a load depends on
    the whole environment and is not cached.
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.names: set[str] = set()
        self.exhaustive = False

    def __getitem__(self, name: str) -> str:
        self.names.add(name)
        return self._environ[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.names.add(name)
        return name in self._environ

    def __iter__(self) -> Iterator[str]:
        self.exhaustive = True
        return iter(self._environ)

    def __len__(self) -> int:
        self.exhaustive = True
        return len(self._environ)


def cache_dir(environ: Mapping[str, str]) -> Path:
    """Where entries live: ``$XDG_CACHE_HOME/streamrec``, else ``~/.cache/streamrec``."""
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "streamrec"


def entry_path(directory: Path, environ: Mapping[str, str]) -> Path:
    """The entry of config directory ``directory`` (one per absolute path)."""
    name = hashlib.sha256(str(directory.absolute()).encode()).hexdigest()[:32]
    return cache_dir(environ) / f"config-{name}.pickle"


def _digest(data: bytes | str | None) -> str | None:
    if data is None:
        return None
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _pydantic_version() -> str | None:
    """A digest of pydantic's version module, found without importing pydantic (None if absent)."""
    spec = importlib.util.find_spec("pydantic")
    if spec is None or spec.origin is None:
        return None
    try:
        return _digest(Path(spec.origin).with_name("version.py").read_bytes())
    except OSError:
        return None


_PACKAGE = Path(__file__).resolve().parent.parent


def _code_key() -> str:
    """A digest of the name, size and modification time of every module of streamrec."""
    seen: list[str] = []
    pending = [_PACKAGE]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                    pending.append(Path(entry.path))
                elif entry.name.endswith(".py"):
                    info = entry.stat()
                    seen.append(f"{entry.path}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(sorted(seen)).encode()).hexdigest()


def files_key(directory: Path) -> tuple[object, ...] | None:
    """What the files of ``directory`` are now (names and content hashes), or None when one
    cannot be read as a regular file within the size limit (then only a real load can say why)."""
    files = [*config_files(directory), directory / ".env"]
    hashes: list[tuple[str, str | None]] = []
    for file in files:
        if file.name == ".env" and not file.exists():
            hashes.append((str(file), None))
            continue
        data = read_bounded(file, DEFAULT_LIMITS.file_bytes)
        if isinstance(data, str):
            return None
        hashes.append((str(file), _digest(data)))
    versions = (__version__, FORMAT, sys.version, _pydantic_version(), _code_key())
    return (versions, str(Path.cwd()), str(directory), tuple(hashes))


def _env_key(names: set[str], environ: Mapping[str, str]) -> dict[str, str | None]:
    return {name: _digest(environ.get(name)) for name in sorted(names)}


def _read(path: Path) -> object | None:
    """The unpickled entry at ``path`` when it is a private regular file of this user."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & _OTHERS:
            return None
        with os.fdopen(fd, "rb", closefd=False) as file:
            entry: object = pickle.load(file)  # noqa: S301 - a private file of this user
            return entry
    except Exception:  # a corrupt entry is a miss, whatever it raises
        return None
    finally:
        os.close(fd)


def lookup(
    directory: Path, environ: Mapping[str, str], key: tuple[object, ...], brief_only: bool = False
) -> Cached | None:
    """The entry of ``directory`` when it was made from the inputs ``key`` and ``environ``; with
    ``brief_only``, only its :class:`Brief` is read now (the rest on first use)."""
    entry = _read(entry_path(directory, environ))
    if not isinstance(entry, tuple) or len(entry) != 5:
        return None
    stored_key, env, plain, planned, pickled = entry
    if stored_key != key or not isinstance(env, dict):
        return None
    if env != _env_key(set(env), environ):
        return None
    brief = Brief.of_plain(plain)
    if brief is None or not isinstance(planned, bytes) or not isinstance(pickled, bytes):
        return None
    found = Cached(brief, hit=True, _planned=planned, _pickled=pickled)
    if not brief_only:
        try:
            found.desired  # noqa: B018 - read now: a corrupt entry is a miss
        except Exception:
            return None
    return found


def load_cached(
    directory: Path,
    environ: Mapping[str, str],
    load: Callable[[Mapping[str, str]], LoadedConfig],
    desired_of: Callable[[LoadedConfig], planning.Desired],
    brief_only: bool = False,
) -> Cached:
    """The loaded config of ``directory`` and its desired side: from the cache when every input
    matches, else from ``load(environ)`` and ``desired_of`` (and then cached). With
    ``brief_only`` a hit reads only the :class:`Brief` (see the module docstring)."""
    key = files_key(directory)
    if key is not None and (found := lookup(directory, environ, key, brief_only)) is not None:
        found._reload = lambda: _load_fresh(directory, environ, load, desired_of, key)
        return found
    return _load_fresh(directory, environ, load, desired_of, key)


def _load_fresh(
    directory: Path,
    environ: Mapping[str, str],
    load: Callable[[Mapping[str, str]], LoadedConfig],
    desired_of: Callable[[LoadedConfig], planning.Desired],
    key: tuple[object, ...] | None,
) -> Cached:
    """Load and plan now; cache the result when the files did not change meanwhile."""
    recording = RecordingEnviron(environ)
    loaded = load(recording)
    desired, summary = desired_of(loaded), Summary.of(loaded)
    brief = Brief(desired.revision, summary.counts, summary.secrets)
    fresh = Cached(brief, _desired=desired, _summary=summary, _loaded=loaded)
    if key is not None and not recording.exhaustive and files_key(directory) == key:
        from streamrec.state.private import private_dir, write_private

        try:
            planned = pickle.dumps((desired, summary), protocol=pickle.HIGHEST_PROTOCOL)
            pickled = pickle.dumps(loaded, protocol=pickle.HIGHEST_PROTOCOL)
            env = _env_key(recording.names, environ)
            entry = (key, env, brief.plain(), planned, pickled)
            path = entry_path(directory, environ)
            private_dir(path.parent).chmod(0o700)  # made before by someone else: private now
            write_private(path, pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))
        except (OSError, pickle.PicklingError):
            pass  # no entry this time; the next command loads again
    return fresh
