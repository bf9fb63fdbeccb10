"""compose.yaml and the Kubernetes examples say what docs/deploy.md promises, and their config loads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from streamrec.core.sharding import parse_shard
from streamrec.spec.loading import load_config
from streamrec.spec.yamlio import read_documents

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "examples" / "kubernetes"


def documents(path: Path) -> list[Any]:
    """Every YAML document of a file, as plain values."""
    docs, problems = read_documents(str(path), path.read_text(encoding="utf-8"))
    assert not problems
    return [doc for doc, _ in docs]


def kind(path: Path, name: str) -> dict[str, Any]:
    (found,) = [doc for doc in documents(path) if doc["kind"] == name]
    return found


def test_compose_mounts_config_read_only_and_keeps_recordings_and_state():
    """The service builds this Dockerfile, mounts ./config:ro and persists the two volumes."""
    (compose,) = documents(ROOT / "compose.yaml")
    service = compose["services"]["streamrec"]
    assert service["build"] == "."
    volumes = service["volumes"]
    assert "./config:/config:ro" in volumes
    assert {v.split(":")[1] for v in volumes} == {"/config", "/recordings", "/state"}
    assert set(compose["volumes"]) == {"recordings", "state"}
    assert service["restart"] == "unless-stopped" and service["read_only"] is True
    assert re.fullmatch(r"\d+s", service["stop_grace_period"])


def test_the_folder_is_marked_as_not_a_streamrec_config():
    """The marker keeps the docs test from loading the manifests as streamrec YAML."""
    assert (KUBE / "NOT_A_CONFIG").is_file()


def test_the_configmap_holds_a_valid_streamrec_config(tmp_path):
    """Each data key of the ConfigMap, written as a file, loads; the API listens on 0.0.0.0:8080."""
    configmap = kind(KUBE / "configmap.yaml", "ConfigMap")
    for name, text in configmap["data"].items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    config = load_config(tmp_path, {}).config
    assert config.channels and config.settings.http.listen == "0.0.0.0:8080"
    assert config.settings.recordings_dir == "/recordings" and config.settings.state_dir == "/state"


@pytest.mark.parametrize("manifest", ["statefulset.yaml", "statefulset-git.yaml"])
def test_the_statefulsets_persist_probe_and_shard(manifest):
    """Volume claims for recordings and state, probes on /healthz and /readyz, one shard per pod."""
    path = KUBE / manifest
    service = kind(path, "Service")
    statefulset = kind(path, "StatefulSet")
    spec = statefulset["spec"]
    assert (
        spec["serviceName"] == service["metadata"]["name"]
        and service["spec"]["clusterIP"] == "None"
    )
    assert {claim["metadata"]["name"] for claim in spec["volumeClaimTemplates"]} == {
        "recordings",
        "state",
    }
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert {"/recordings", "/state"} <= set(mounts)
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert {"name": "http", "containerPort": 8080} in container["ports"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    replicas = spec["replicas"]
    shard = parse_shard(env["STREAMREC_SHARD"], hostname=f"{statefulset['metadata']['name']}-1")
    assert (shard.index, shard.count) == (1, replicas)
    if manifest == "statefulset.yaml":
        assert mounts["/config"]["readOnly"] is True
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["config"]["configMap"]["name"] == "streamrec-config"
    else:
        args = container["args"]
        assert args[:2] == ["run", "--git"] and "--interval" in args and "--branch" in args
