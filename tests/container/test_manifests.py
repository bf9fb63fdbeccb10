"""compose.yaml and the Kubernetes examples say what docs/deploy.md promises, and their config loads.

The Kubernetes manifests are also checked against the Kubernetes API's own schemas by
``kubernetes-validate`` (a dev dependency that bundles the OpenAPI-derived JSON Schemas of each
Kubernetes release, so no cluster and no network are needed), strictly: an unknown field fails.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
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


MANIFESTS = sorted(KUBE.glob("*.yaml"))
KUBERNETES_VERSIONS = ("1.27.0", kubernetes_validate.latest_version())
"""The oldest release the examples promise to work on, and the newest the package knows."""


def plain(document: Any) -> Any:
    """A document as plain JSON values (what ``kubectl`` sends)."""
    return json.loads(json.dumps(document))


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_each_manifest_passes_the_kubernetes_schema(manifest, version):
    """Every document of every manifest is a valid object of its kind, no unknown fields."""
    docs = documents(manifest)
    assert docs, f"{manifest.name} holds no document"
    for document in docs:
        kubernetes_validate.validate(plain(document), version, strict=True)


IMAGE_WORKDIR = "/state"
"""The Dockerfile's WORKDIR: the base of relative settings paths under ``run --git``."""


@pytest.mark.parametrize("manifest", ["statefulset.yaml", "statefulset-git.yaml"])
def test_default_relative_paths_land_on_the_volumes(manifest):
    """A config that keeps the default ``recordings_dir: recordings`` records onto the recordings
    volume: relative paths resolve against the config directory's parent (the ConfigMap variant)
    or, with ``--git``, the container's working directory."""
    (container,) = kind(KUBE / manifest, "StatefulSet")["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    if "--git" in container["args"]:
        base = Path(container.get("workingDir", IMAGE_WORKDIR))
    else:
        base = Path(env.get("STREAMREC_CONFIG", "/config")).parent
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert str(base / "recordings") == mounts["recordings"]
    assert str(base / "state") == mounts["state"]
    assert f"WORKDIR {IMAGE_WORKDIR}" in (ROOT / "Dockerfile").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "break_it",
    [
        lambda sts: sts["spec"].update(replicas="two"),
        lambda sts: sts["spec"]["template"]["spec"]["containers"][0].update(volumeMount=[]),
        lambda sts: sts["spec"]["template"]["spec"]["containers"][0].pop("name"),
    ],
    ids=["a string for a number", "an unknown field", "a required field missing"],
)
def test_the_kubernetes_schema_check_catches_a_broken_statefulset(break_it):
    """The check above is real: a StatefulSet broken each way fails it."""
    statefulset = copy.deepcopy(plain(kind(KUBE / "statefulset.yaml", "StatefulSet")))
    break_it(statefulset)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(statefulset, kubernetes_validate.latest_version(), strict=True)


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


def test_the_etcd_deployment_joins_a_cluster_by_pod_name_and_has_no_shard():
    """The Deployment variant: a cluster URL that parses, each pod named by its own name, no
    STREAMREC_SHARD (the two cannot be combined), the recordings on the shared claim."""
    from streamrec.core.membership import parse_cluster

    path = KUBE / "deployment-etcd.yaml"
    deployment = kind(path, "Deployment")
    claim = kind(path, "PersistentVolumeClaim")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert parse_cluster(env["STREAMREC_CLUSTER"]["value"]).ttl == 10
    assert env["STREAMREC_MEMBER"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert "STREAMREC_SHARD" not in env
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["recordings"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
