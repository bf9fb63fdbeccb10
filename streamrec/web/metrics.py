"""Prometheus metrics, computed from the fold of the state log at each scrape.

``web.routes`` serves ``/metrics``: it takes a :class:`MetricsInput` from the daemon
(``metrics_input()``, see ``daemon.webapi``) on the event loop and hands it to :func:`render` in a
worker thread, whose collector turns it into metric families. Nothing is counted in a global registry: every value comes from the log (so counters
such as bytes, segments and task runs survive restarts, as the log does), except what only this
process sees, reconciles and task durations, which :class:`Histogram` accumulates since the daemon
started. The only module that imports ``prometheus_client``.

Series (every one prefixed ``streamrec_``), per channel: ``channel_state{state}`` (one series,
1, labelled with the current state: six series per channel for a full state set would be most of a
scrape with 1,000 channels), ``channel_recording`` (the daemon runs its recorder now), ``channel_bytes_total``,
``channel_segments_total``, ``channel_stalls_total``, ``channel_reconnects_total``,
``channel_gaps_24h`` and ``channel_gap_seconds_24h``, ``channel_bitrate_bytes_per_second`` (of the
last finished segment; Prometheus base units, so bytes, not bits) and
``channel_last_segment_age_seconds``, and of the file being written now (only while one is, from
the recorders' live readings, ``core.liveprogress``): ``channel_live_bytes``,
``channel_live_bitrate_bytes_per_second`` and ``channel_live_media_seconds``; per task: ``task_runs_total``, ``task_failures_total``,
``task_running``, ``task_last_duration_seconds``, ``task_duration_seconds`` (a histogram); per
queue ``queue_running``; ``reconciles_total{result}``, ``reconcile_duration_seconds``,
``config_info{revision}``, ``config_rejected`` (a rejection newer than the last apply),
``config_applied_timestamp_seconds``, ``daemon_start_time_seconds``, ``build_info{version}``; and
in an etcd cluster (``daemon.cluster``): ``cluster_members`` (live members seen),
``cluster_owned_channels`` (keys this member holds), ``cluster_leader`` and
``cluster_lease_age_seconds`` (since the last good renewal; the member fences at half its TTL).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from streamrec.core.liveprogress import LiveProgress
from streamrec.core.timestamps import parse_ts

CONTENT_TYPE = CONTENT_TYPE_LATEST
RECONCILE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TASK_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)


class Histogram:
    """Counts of observed values per bucket, and their sum: a histogram without a registry."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.total = 0.0

    def copy(self) -> Histogram:
        """A snapshot that later observations do not change."""
        twin = Histogram(self.bounds)
        twin.counts, twin.total = list(self.counts), self.total
        return twin

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative counts per upper bound, ``+Inf`` last (the exposition format)."""
        result, running = [], 0
        for bound, count in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            running += count
            result.append((bound, float(running)))
        return result


@dataclass
class MetricsInput:
    """What one scrape reads: the fold, the declared objects and the daemon's own counters."""

    state: dict[str, Any]
    channels: dict[str, bool]
    """Declared channel -> whether the daemon runs its recorder now."""
    tasks: list[str]
    queues: list[str]
    revision: str | None
    version: str
    started_at: float
    now: datetime
    reconciles: dict[str, int] = field(default_factory=dict)
    reconcile_seconds: Histogram = field(default_factory=lambda: Histogram(RECONCILE_BUCKETS))
    task_seconds: dict[str, Histogram] = field(default_factory=dict)
    live: dict[str, LiveProgress] = field(default_factory=dict)
    """Channel -> the reading of the file its recorder writes now (absent: none)."""
    cluster: dict[str, Any] | None = None
    """This member's view of its etcd cluster (``ClusterMember.view``), None outside one."""


def _age(stamp: Any, now: datetime) -> float | None:
    when = parse_ts(stamp)
    return None if when is None else max(0.0, (now - when).total_seconds())


def _channel_families(data: MetricsInput) -> Iterator[Metric]:
    folded = data.state.get("channels") or {}
    p = "streamrec_channel_"
    state = GaugeMetricFamily(
        p + "state", "1 for the channel's current state", labels=["channel", "state"]
    )
    recording = GaugeMetricFamily(
        p + "recording", "1 while the daemon runs the channel's recorder", labels=["channel"]
    )
    counters = {
        key: CounterMetricFamily(p + name, doc, labels=["channel"])
        for key, name, doc in (
            ("bytes", "bytes", "Bytes of finished segments"),
            ("segments", "segments", "Finished segments"),
            ("stalls", "stalls", "Times the recorder stalled"),
            ("reconnects", "reconnects", "Times the recorder reconnected"),
        )
    }
    gaps = GaugeMetricFamily(
        p + "gaps_24h", "Gaps that ended in the last 24 hours", labels=["channel"]
    )
    gap_seconds = GaugeMetricFamily(
        p + "gap_seconds_24h", "Seconds missing in those gaps", labels=["channel"]
    )
    bitrate = GaugeMetricFamily(
        p + "bitrate_bytes_per_second", "Bitrate of the last segment", labels=["channel"]
    )
    live_bytes = GaugeMetricFamily(
        p + "live_bytes", "Bytes of the file being written now", labels=["channel"]
    )
    live_rate = GaugeMetricFamily(
        p + "live_bitrate_bytes_per_second",
        "Bitrate of the file being written, over the last seconds",
        labels=["channel"],
    )
    live_media = GaugeMetricFamily(
        p + "live_media_seconds", "Seconds of media in the file being written", labels=["channel"]
    )
    age = GaugeMetricFamily(
        p + "last_segment_age_seconds", "Seconds since the last segment ended", labels=["channel"]
    )
    now = data.now
    for name, running in data.channels.items():
        entry = folded.get(name) or {}
        current = entry.get("state") or "idle"
        state.add_metric([name, current], 1.0)
        recording.add_metric([name], 1.0 if running else 0.0)
        for key, family in counters.items():
            family.add_metric([name], float(entry.get(key) or 0))
        recent, missing = 0, 0.0
        for gap in entry.get("gaps") or []:
            end = parse_ts(gap.get("end")) or now
            if (now - end).total_seconds() <= 86400:
                recent += 1
                missing += (end - (parse_ts(gap.get("start")) or end)).total_seconds()
        gaps.add_metric([name], float(recent))
        gap_seconds.add_metric([name], missing)
        if isinstance(entry.get("bitrate"), (int, float)):  # the fold keeps bits per second
            bitrate.add_metric([name], float(entry["bitrate"]) / 8)
        reading = data.live.get(name)
        if reading is not None:
            live_bytes.add_metric([name], float(reading.bytes))
            if reading.bitrate_bps is not None:
                live_rate.add_metric([name], reading.bitrate_bps / 8)
            live_media.add_metric([name], reading.media_seconds)
        last_age = _age((entry.get("last_segment") or {}).get("end"), now)
        if last_age is not None:
            age.add_metric([name], last_age)
    yield from (state, recording, *counters.values(), gaps, gap_seconds, bitrate, age)
    yield from (live_bytes, live_rate, live_media)


def _task_families(data: MetricsInput) -> Iterator[Metric]:
    folded = data.state.get("tasks") or {}
    p = "streamrec_task_"
    runs = CounterMetricFamily(
        p + "runs", "Runs of the task (a retry is the same run)", labels=["task"]
    )
    failures = CounterMetricFamily(p + "failures", "Failed attempts of the task", labels=["task"])
    running = GaugeMetricFamily(p + "running", "1 while the task runs", labels=["task"])
    last = GaugeMetricFamily(
        p + "last_duration_seconds", "Duration of the last finished run", labels=["task"]
    )
    durations = HistogramMetricFamily(
        p + "duration_seconds",
        "Durations of runs finished since the daemon started",
        labels=["task"],
    )
    for name in data.tasks:
        entry = folded.get(name) or {}
        runs.add_metric([name], float(entry.get("runs") or 0))
        failures.add_metric([name], float(entry.get("failures") or 0))
        running.add_metric([name], 1.0 if entry.get("status") == "running" else 0.0)
        if isinstance(entry.get("last_duration"), (int, float)):
            last.add_metric([name], float(entry["last_duration"]))
        histogram = data.task_seconds.get(name)
        if histogram is not None:
            durations.add_metric([name], histogram.buckets(), histogram.total)
    queue_running = GaugeMetricFamily(
        "streamrec_queue_running", "1 while the queue runs", labels=["queue"]
    )
    queues = data.state.get("queues") or {}
    for name in data.queues:
        status = (queues.get(name) or {}).get("status")
        queue_running.add_metric([name], 1.0 if status == "running" else 0.0)
    yield from (runs, failures, running, last, durations, queue_running)


def _daemon_families(data: MetricsInput) -> Iterator[Metric]:
    config = data.state.get("config") or {}
    reconciles = CounterMetricFamily(
        "streamrec_reconciles", "Reconciles since the daemon started, by result", labels=["result"]
    )
    for result in sorted({"applied", "rejected", *data.reconciles}):
        reconciles.add_metric([result], float(data.reconciles.get(result, 0)))
    took = HistogramMetricFamily(
        "streamrec_reconcile_duration_seconds", "Durations of reconciles that applied a config"
    )
    took.add_metric([], data.reconcile_seconds.buckets(), data.reconcile_seconds.total)
    info = GaugeMetricFamily(
        "streamrec_config_info", "The revision the daemon runs", labels=["revision"]
    )
    info.add_metric([data.revision or ""], 1.0)
    rejected = GaugeMetricFamily(
        "streamrec_config_rejected",
        "1 when the newest config was rejected (the last good one runs)",
    )
    rejected.add_metric([], 1.0 if config.get("rejected") else 0.0)
    applied_at = GaugeMetricFamily(
        "streamrec_config_applied_timestamp_seconds", "When the running revision was applied"
    )
    stamp = parse_ts((config.get("applied") or {}).get("ts"))
    if stamp is not None:
        applied_at.add_metric([], stamp.timestamp())
    started = GaugeMetricFamily(
        "streamrec_daemon_start_time_seconds", "When the daemon started (Unix time)"
    )
    started.add_metric([], data.started_at)
    build = GaugeMetricFamily("streamrec_build_info", "The streamrec version", labels=["version"])
    build.add_metric([data.version], 1.0)
    yield from (reconciles, took, info, rejected, applied_at, started, build)


def _cluster_families(data: MetricsInput) -> Iterator[Metric]:
    view = data.cluster
    if view is None:
        return
    members = GaugeMetricFamily("streamrec_cluster_members", "Live members of the etcd cluster")
    members.add_metric([], float(len(view.get("members") or ())))
    owned = GaugeMetricFamily(
        "streamrec_cluster_owned_channels", "Channels whose ownership key this member holds"
    )
    owned.add_metric([], float(len(view.get("owned") or ())))
    leader = GaugeMetricFamily("streamrec_cluster_leader", "1 while this member is the leader")
    leader.add_metric([], 1.0 if view.get("leader") else 0.0)
    age = GaugeMetricFamily(
        "streamrec_cluster_lease_age_seconds",
        "Seconds since the lease was last renewed (absent while not registered)",
    )
    if view.get("lease_age") is not None:
        age.add_metric([], float(view["lease_age"]))
    yield from (members, owned, leader, age)


class _Collector(Collector):
    def __init__(self, data: MetricsInput) -> None:
        self.data = data

    def collect(self) -> Iterator[Metric]:
        yield from _channel_families(self.data)
        yield from _task_families(self.data)
        yield from _daemon_families(self.data)
        yield from _cluster_families(self.data)


def render(data: MetricsInput) -> bytes:
    """The exposition text (``text/plain; version=0.0.4``) of one scrape's input.

    A private registry per call, so nothing is global and a call may run in a worker thread
    (``data`` is a snapshot nobody else changes).
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(data))
    return generate_latest(registry)
