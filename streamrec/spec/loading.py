"""Loading a config directory into a validated :class:`~streamrec.spec.model.Config`.

The one entry point is :func:`load_config`, used by every command and by the daemon. It reads all
files (``spec.sources``), merges ``settings.defaults`` into each channel, validates with pydantic,
maps each pydantic error back to ``file:line:col``, runs the checks beyond the schema
(``spec.checks``: references and cycles) and raises one :class:`~streamrec.errors.ConfigError`
holding every problem found, or returns a :class:`LoadedConfig`. Reading is bounded by
``spec.limits`` (sizes, file types, alias expansion, nesting, scalar length); a crossed limit is one
more located problem. The daemon runs it in a worker process (``daemon.configload``), so a
:class:`LoadedConfig` pickles.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from streamrec.errors import ConfigError, Problem
from streamrec.spec.limits import DEFAULT_LIMITS, Limits
from streamrec.spec.model import OBJECT_KINDS, Config

if typing.TYPE_CHECKING:
    from streamrec.spec.sources import Origin, Sources
    from streamrec.spec.yamlio import Pos

# The readers (spec.sources, spec.checks, spec.yamlio and ruamel.yaml under them) are imported by
# load_config when it runs: a LoadedConfig read back from the config cache does not need them.


@dataclass(frozen=True)
class LoadedConfig:
    """A valid config, with where it came from."""

    config: Config
    directory: Path
    files: tuple[Path, ...]
    origins: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """``(section, name)`` -> ``file:line:col`` of its declaration."""
    secrets: frozenset[str] = frozenset()
    """Values interpolated from secret-looking variables: redacted wherever printed."""
    base: Path | None = None
    """Set when relative paths must not follow the config directory (a git checkout)."""

    @property
    def base_dir(self) -> Path:
        """What relative paths in settings are relative to: the config directory's parent.

        With a config from git (``run --git``), the daemon's working directory instead: checkouts
        come and go, recordings and state must not live inside them.
        """
        return self.base if self.base is not None else self.directory.resolve().parent

    def resolve_path(self, value: str) -> Path:
        """A settings path made absolute against :attr:`base_dir`."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path


def load_config(
    directory: Path | str,
    environ: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> LoadedConfig:
    """Load and check ``directory``; raise :class:`ConfigError` listing every problem found.

    ``base_dir`` replaces the config directory's parent as the base of relative settings paths;
    ``limits`` bound the reading (tests lower them).
    """
    from streamrec.spec.checks import check_config
    from streamrec.spec.sources import read_sources

    directory = Path(directory)
    sources = read_sources(directory, os.environ if environ is None else environ, limits)
    problems = list(sources.problems)
    data = _model_input(sources)
    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems.extend(_locate_errors(sources, exc))
    problems.extend(check_config(sources))
    if problems:
        raise ConfigError(_unique(problems))
    assert config is not None
    return LoadedConfig(
        config=config,
        directory=directory,
        files=tuple(sources.files),
        origins={key: str(origin) for key, origin in sources.origins.items()},
        secrets=frozenset(sources.secrets),
        base=base_dir,
    )


def _unique(problems: list[Problem]) -> list[Problem]:
    """Each problem once; where a variable could not be interpolated, only that is said."""
    unset = {(p.path, p.line, p.col) for p in problems if "environment variable" in p.message}
    return sorted(
        {
            p
            for p in problems
            if (p.path, p.line, p.col) not in unset or "environment variable" in p.message
        }
    )


def _merge(base: Any, override: Any) -> Any:
    """Nested mappings merge key by key (the override wins); anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return override


def _model_input(sources: Sources) -> dict[str, Any]:
    raw = sources.raw
    defaults = raw["settings"].get("defaults")
    channels = raw["channels"]
    if isinstance(defaults, dict) and defaults:
        channels = {
            name: _merge(defaults, body) if isinstance(body, dict) else body
            for name, body in channels.items()
        }
    return {**raw, "channels": channels}


def _locate_errors(sources: Sources, exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = _strip_tags(tuple(error["loc"]))
        loc = _owner(sources, loc)
        path, pos = _locate(sources, loc, error["type"])
        problems.append(Problem(path, pos[0], pos[1], _message(error, loc)))
    return problems


def _message(error: Any, loc: tuple[Any, ...]) -> str:
    from streamrec.spec.sources import suggest

    kind = error["type"]
    where = _dotted(loc)
    if kind == "extra_forbidden":
        key = loc[-1]
        return f"unknown key {key!r}{suggest(key, _fields_at(loc[:-1]))} in {_dotted(loc[:-1])}"
    if kind == "missing":
        return f"{where}: required key {loc[-1]!r} is missing"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind.startswith("literal_error"):
        message = f"{message}, got {error.get('input')!r}"
    return f"{where}: {message}"


def _strip_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """``loc`` without the union member names pydantic puts into error paths.

    Our unions are the schedule entries: a task's or queue's ``schedule`` (tags once, every,
    cron) and each item of a channel's ``schedule`` list (tags weekly, cron, at).
    """
    kept: list[Any] = []
    for index, item in enumerate(loc):
        if isinstance(item, str):
            previous = loc[index - 1] if index else None
            before = loc[index - 2] if index > 1 else None
            if "[" in item or item.startswith("function-"):
                continue
            if previous == "schedule" or (isinstance(previous, int) and before == "schedule"):
                continue
        kept.append(item)
    return tuple(kept)


def _dotted(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "config"


def _owner(sources: Sources, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Where a channel's error comes from ``settings.defaults``, say so (once, not per channel)."""
    if len(loc) > 2 and loc[0] == "channels":
        origin = sources.origins.get(("channels", str(loc[1])))
        defaults = sources.origins.get(("settings", "defaults"))
        if origin and defaults and not _has_key(origin, loc[2]) and _has_key(defaults, loc[2]):
            return ("settings", "defaults", *loc[2:])
    return loc


def _locate(sources: Sources, loc: tuple[Any, ...], kind: str) -> tuple[str, Pos]:
    """The file and position that a pydantic error location points to."""
    if len(loc) < 2:
        return str(sources.directory), (0, 0)
    section, name = loc[0], str(loc[1])
    origin = sources.origins.get((section, name))
    if origin is None:
        return str(sources.directory), (0, 0)
    return origin.path, _walk(origin, loc[2:], kind)


def _has_key(origin: Origin, key: Any) -> bool:
    from streamrec.spec.yamlio import YMap

    node = origin.holder[origin.key]
    return isinstance(node, YMap) and key in node


def _walk(origin: Origin, rest: tuple[Any, ...], kind: str) -> Pos:
    """Follow ``rest`` from a declared object down its YAML; the position the error belongs at.

    A missing key is reported at the key of the object that lacks it, an unknown key at itself,
    a bad value at the value.
    """
    from streamrec.spec.yamlio import YMap, YSeq

    node: Any = origin.holder[origin.key]
    key_pos, value_pos = origin.key_pos, origin.value_pos
    for item in rest:
        if isinstance(node, YMap) and item in node:
            key_pos, value_pos = node.key_pos[item], node.value_pos[item]
            node = node[item]
        elif isinstance(node, YSeq) and isinstance(item, int) and item < len(node):
            key_pos = value_pos = node.item_pos[item]
            node = node[item]
        else:  # a key pydantic names but the YAML lacks: a missing field
            return key_pos
    if kind in {"missing", "extra_forbidden"} or isinstance(node, (YMap, YSeq)):
        return key_pos
    return value_pos


def _fields_at(loc: tuple[Any, ...]) -> set[str]:
    """The keys a config object at ``loc`` may have (for "did you mean")."""
    candidates: list[Any] = [Config]
    for item in loc:
        nxt: list[Any] = []
        for candidate in _expand(candidates):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                field_info = candidate.model_fields.get(str(item))
                if field_info is not None:
                    nxt.append(field_info.annotation)
            else:
                origin = typing.get_origin(candidate)
                args = typing.get_args(candidate)
                if origin is dict and args:
                    nxt.append(args[1])
                elif origin in (tuple, list) and args:
                    nxt.append(args[0])
        candidates = nxt
    names: set[str] = set()
    for candidate in _expand(candidates):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            names |= set(candidate.model_fields)
    return names


def _expand(types_: list[Any]) -> list[Any]:
    """Unwrap Annotated and unions into the member types."""
    out: list[Any] = []
    stack = list(types_)
    while stack:
        item = stack.pop()
        origin = typing.get_origin(item)
        if origin is typing.Annotated:
            stack.append(typing.get_args(item)[0])
        elif origin in (typing.Union, types.UnionType):
            stack.extend(typing.get_args(item))
        else:
            out.append(item)
    return out


__all__ = ["OBJECT_KINDS", "LoadedConfig", "load_config"]
