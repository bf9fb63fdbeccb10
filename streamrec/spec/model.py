"""The config model: what a config directory declares, as validated, immutable pydantic objects.

``spec.loading`` builds a :class:`Config` from the merged YAML; everything downstream (planning,
the task runner, the recorder, the daemon) reads these objects and never the raw YAML. Unknown keys
are errors everywhere. Durations are stored as seconds (float), sizes as bytes (int); in JSON
(``model_dump(mode="json")``, used for normalized definitions and plans) they are written back in
their canonical text, so a plan says ``segment: 30m -> 1h`` rather than ``1800.0 -> 3600.0``.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)

from streamrec.spec import syntax
from streamrec.spec.fields import WEEKDAYS as WEEKDAYS  # re-exported: core.windows reads it here
from streamrec.spec.fields import (
    Cron,
    DateTime,
    Duration,
    FilenameTemplate,
    NameList,
    OptionalDuration,
    Size,
    TimeOfDay,
    TimeZoneName,
    Weekday,
    duration_branches,
)


class Strict(BaseModel):
    """Base of every config object: unknown keys are errors; objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Reconnect(Strict):
    """While a source that was live is down: a cheap probe every ``fast`` for ``fast_for``
    (``0s`` turns it off), then jittered exponential backoff from ``initial`` to ``max``."""

    initial: Duration = 2.0
    max: Duration = 300.0
    fast: OptionalDuration = 0.5
    fast_for: OptionalDuration = 120.0


class Retention(Strict):
    """How long recorded files are kept; the oldest processed files go first."""

    max_age: Duration | None = None
    max_size: Size | None = None


class Padding(Strict):
    """Extra recording time before and after each scheduled window."""

    before: OptionalDuration = 0.0
    after: OptionalDuration = 0.0


class WeeklyWindow(Strict):
    """Record on these weekdays from ``start`` to ``end``; an earlier end crosses midnight."""

    days: Annotated[
        tuple[Weekday, ...],
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string", "pattern": syntax.WEEKDAY},
                    {
                        "type": "array",
                        "items": {"type": "string", "pattern": syntax.WEEKDAY},
                        "minItems": 1,
                    },
                ],
                "description": "A weekday or a list: mon, tue, ... (Monday and MON also do)",
            }
        ),
    ] = WEEKDAYS
    start: TimeOfDay
    end: TimeOfDay

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)):
            for v in value:
                if isinstance(v, str) and not syntax.matches(syntax.WEEKDAY, v):
                    raise ValueError(f"expected a weekday like mon, tue or Monday, got {v!r}")
            value = [v.strip().lower()[:3] if isinstance(v, str) else v for v in value]
            if not value:
                raise ValueError("days must name at least one weekday")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> WeeklyWindow:
        if self.start == self.end:
            raise ValueError(
                f"start and end are both {self.start:%H:%M}: the window would be empty "
                "(for a whole day use 00:00 to 23:59, or no schedule at all)"
            )
        return self


class CronWindow(Strict):
    """Record for ``duration`` from each time the cron expression fires."""

    cron: Cron
    duration: Duration


class AtWindow(Strict):
    """Record once from ``at`` (settings.timezone unless it has an offset) for ``duration``."""

    at: DateTime
    duration: Duration


def _window_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "cron" in value:
            return "cron"
        if "at" in value:
            return "at"
        if {"start", "end", "days"} & value.keys():
            return "weekly"
        return None
    if isinstance(value, BaseModel):
        return {WeeklyWindow: "weekly", CronWindow: "cron", AtWindow: "at"}.get(type(value))
    return None


Window = Annotated[
    Annotated[WeeklyWindow, Tag("weekly")]
    | Annotated[CronWindow, Tag("cron")]
    | Annotated[AtWindow, Tag("at")],
    Discriminator(
        _window_kind,
        custom_error_type="window",
        custom_error_message=(
            "a window needs {days, start, end}, {cron, duration} or {at, duration}"
        ),
    ),
]

Format = Literal["ts", "mkv", "mp4"]
Resolver = Literal["direct", "streamlink", "yt-dlp"]

DEFAULT_FILENAME = "{category}/{channel}/{channel}_{start:%Y-%m-%d_%H-%M-%S}.{ext}"


class ChannelOptions(Strict):
    """Recording options: set per channel, or once in ``settings.defaults`` for every channel."""

    format: Format = "ts"
    segment: Annotated[
        Duration | None,
        WithJsonSchema(
            {
                "anyOf": [
                    *duration_branches(allow_zero=False),
                    {"type": "string", "pattern": syntax.NO_SEGMENTS},
                    {"type": "null"},
                ],
                "description": "How long each file runs before the next starts (none: one file)",
            }
        ),
    ] = 3600.0
    stall_timeout: Duration = 30.0
    reconnect: Reconnect = Reconnect()
    retention: Retention = Retention()
    padding: Padding = Padding()
    filename: FilenameTemplate = DEFAULT_FILENAME
    resolver: Resolver = "direct"
    quality: str = "best"
    on_segment: NameList = ()
    on_recording_end: NameList = ()
    input_args: tuple[str, ...] = ()
    output_args: tuple[str, ...] = ()

    @field_validator("segment", mode="before")
    @classmethod
    def _segment_none(cls, value: Any) -> Any:
        return (
            None if isinstance(value, str) and syntax.matches(syntax.NO_SEGMENTS, value) else value
        )


class Channel(ChannelOptions):
    """A stream to record: always while its source is live, or only inside its schedule windows."""

    url: str = Field(min_length=1)
    category: str | None = None
    description: str | None = None
    schedule: tuple[Window, ...] = ()
    enabled: bool = True
    import_key: str | None = None
    """The playlist entry this channel was imported from (``tvg-id:...``, ``url:...``): a later
    ``import m3u`` of the same playlist finds the channel by it and keeps its name."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        if any(ch in value for ch in "\r\n\x00"):
            raise ValueError("a URL cannot contain line breaks or NUL characters")
        scheme, sep, _rest = value.partition("://")
        if not sep or not scheme:
            if value.startswith("/"):
                return value  # a local file or FIFO, given as an absolute path
            raise ValueError(f"expected a URL like https://host/path.m3u8, got {value!r}")
        return value


class Category(Strict):
    """A group of channels; its name is available to filename templates and hooks."""

    description: str | None = None


class Every(Strict):
    """An interval schedule: ``{every: 6h}``."""

    every: Duration


Concurrency = Literal["forbid", "replace", "allow"]


def _schedule_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "once" if value.strip() == "once" else "cron"
    if isinstance(value, dict):
        return "every"
    if isinstance(value, BaseModel):
        return "every"
    return None


TaskSchedule = Annotated[
    Annotated[Literal["once"], BeforeValidator(lambda v: v.strip()), Tag("once")]
    | Annotated[Every, Tag("every")]
    | Annotated[Cron, Tag("cron")],
    Discriminator(
        _schedule_kind,
        custom_error_type="schedule",
        custom_error_message="a schedule is a cron expression, {every: DURATION} or once",
    ),
]
"""When a task or queue runs by itself: a cron expression, ``{every: 6h}``, or ``once``."""


class Retries(Strict):
    """Run again after a failure, up to ``limit`` more times, waiting ``backoff`` (doubling)."""

    limit: int = Field(default=0, ge=0, le=100)
    backoff: Duration = 10.0


class Task(Strict):
    """A shell command with dependencies, run on a schedule, as a hook, in a queue, or on demand."""

    command: str
    description: str | None = None
    schedule: TaskSchedule | None = None
    jitter: OptionalDuration = 0.0
    depends_on: NameList = ()
    timeout: Duration | None = None
    retries: Retries = Retries()
    concurrency: Concurrency = "forbid"
    workdir: str | None = None
    env: Annotated[
        dict[str, str],
        WithJsonSchema(
            {
                "type": "object",
                "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
                "description": "Extra environment variables (numbers and booleans become text)",
            }
        ),
    ] = Field(default_factory=dict)
    shard: int | None = Field(default=None, ge=0)
    """With several daemons (``--shard i/N``), the one that runs this task's schedule (default 0)."""

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the command is empty")
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, (dict, list, tuple)):
                    raise ValueError(f"env {k}: a value is text, a number or a boolean, not {v!r}")
            return {
                str(k): ("" if v is None else str(v).lower() if isinstance(v, bool) else str(v))
                for k, v in value.items()
            }
        return value


class Queue(Strict):
    """Tasks run one after another, dependencies first, each at most once per run."""

    tasks: NameList = Field(min_length=1)
    description: str | None = None
    schedule: TaskSchedule | None = None
    jitter: OptionalDuration = 0.0
    on_failure: Literal["stop", "continue"] = "stop"
    shard: int | None = Field(default=None, ge=0)
    """With several daemons (``--shard i/N``), the one that runs this queue's schedule (default 0)."""


class Http(Strict):
    """Where the daemon also serves its HTTP API on TCP (off unless set; the socket is always on).

    ``$STREAMREC_HTTP_LISTEN`` overrides it (``off`` turns TCP off). Without a token (the role
    tokens of ``docs/deploy.md``, ``$STREAMREC_API_TOKEN`` among them) the TCP listener is
    read-only.
    """

    listen: Annotated[
        str | None,
        WithJsonSchema(
            {
                "anyOf": [{"type": "string", "pattern": syntax.LISTEN}, {"type": "null"}],
                "description": "HOST:PORT, e.g. 127.0.0.1:8080 (an empty host is 127.0.0.1)",
            }
        ),
    ] = None
    allowed_hosts: tuple[str, ...] = ()
    """Extra ``Host`` header values the TCP API answers (besides the listen address, ``localhost``
    and ``127.0.0.1`` with the port): the names a reverse proxy or browser uses to reach it. Any
    other ``Host`` is refused (421), which defeats DNS rebinding."""

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected HOST:PORT like 127.0.0.1:8080, got {value!r}")
        if not syntax.matches(syntax.LISTEN, value):
            raise ValueError(f"expected HOST:PORT with a port in ASCII digits, got {value!r}")
        return f"{host or '127.0.0.1'}:{port}"


FsyncPolicy = Literal["always", "interval", "never"]
LowSpacePolicy = Literal["stop", "delete_oldest"]
"""What happens below ``min_free_space``: ``stop`` recording (nothing is deleted to make room), or
``delete_oldest`` finished, processed recordings first (across all channels) and go on."""


class Settings(Strict):
    """Installation-wide settings; relative paths are relative to the config dir's parent."""

    timezone: TimeZoneName = "UTC"
    recordings_dir: str = "recordings"
    state_dir: str = "state"
    ffmpeg: str | None = None
    max_concurrent_recordings: int = Field(default=50, ge=1)
    max_parallel_tasks: int = Field(default=4, ge=1)
    min_free_space: Size = 1_000_000_000
    on_low_space: LowSpacePolicy = "stop"
    state_fsync: FsyncPolicy = "always"
    http: Http = Http()
    cluster: str | None = None
    """``etcd://host:port/prefix?ttl=10``: share the channels with the other daemons registered in
    that etcd (``daemon.cluster``); ``STREAMREC_CLUSTER`` and ``run --cluster`` win over it."""
    defaults: ChannelOptions = ChannelOptions()

    ADDED_LATER: ClassVar[tuple[str, ...]] = ("cluster",)
    """Fields added after configs were first applied: left out of the dump while None, so that
    the definition (and the revision) of a config that does not set them stays as it was."""

    @model_serializer(mode="wrap")
    def _without_unset_later(self, handler: SerializerFunctionWrapHandler) -> Any:
        dumped = handler(self)
        if isinstance(dumped, dict):
            for name in self.ADDED_LATER:
                if dumped.get(name, 0) is None:
                    del dumped[name]
        return dumped


class Config(Strict):
    """Everything one config directory declares, merged from all its files."""

    settings: Settings = Settings()
    categories: dict[str, Category] = Field(default_factory=dict)
    channels: dict[str, Channel] = Field(default_factory=dict)
    tasks: dict[str, Task] = Field(default_factory=dict)
    queues: dict[str, Queue] = Field(default_factory=dict)


SECTIONS: tuple[str, ...] = ("settings", "categories", "channels", "tasks", "queues")
"""The top-level keys a config file may hold."""
OBJECT_KINDS: dict[str, str] = {
    "categories": "category",
    "channels": "channel",
    "tasks": "task",
    "queues": "queue",
}
"""Each named section and the kind of object it declares."""
