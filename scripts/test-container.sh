#!/usr/bin/env bash
# The container check: builds the image from the Dockerfile with podman and runs it as users would.
#
#   1. installs podman, runc and debootstrap with apt-get when they are missing (needs root);
#   2. makes the base image without any image registry: Debian bookworm by debootstrap (minbase +
#      python3, python3-venv, python-is-python3, ca-certificates), imported with `podman import`;
#   3. builds the Dockerfile on it (--build-arg BASE_IMAGE, --format docker so HEALTHCHECK is kept;
#      the host's CA bundle goes to pip as a build secret, for networks that intercept TLS);
#   4. runs the image with the shipped config/ read-only at /config, a read-only root filesystem and
#      a tmpfs /tmp, and checks: a finished playable recording appears, /healthz and /readyz answer
#      200, the daemon runs as uid 10001, HEALTHCHECK is in the image, and SIGTERM stops it within
#      3 s leaving every file finished and playable.
#
# Prints the build time, the image size and the stop time. Everything podman stores (images, build
# cache, the base tarball) stays in .cache/container/ of this checkout, so a second run reuses it;
# `rm -rf .cache/container` starts from scratch. Exit status: 0 every check passed, 1 a check failed,
# 77 this machine cannot run it (not root, no apt-get, no Debian mirror), with the reason on stderr.
# tests/container/test_image.py runs this script.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="$ROOT/.cache/container"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BASE="localhost/streamrec-base:bookworm"
IMAGE="localhost/streamrec:check"
NAME="streamrec-check-$$"
STOP_LIMIT=3

say() { echo "test-container: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
cannot() { say "cannot run here: $*"; exit 77; }
fail() { say "FAILED: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || cannot "podman with runc and vfs storage needs root (run as root, or in CI)"

missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || missing+=(runc)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || cannot "no apt-get to install ${missing[*]}"
    say "installing ${missing[*]} (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || cannot "apt-get update failed (no Debian mirror?)"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || cannot "apt-get install ${missing[*]} failed"
fi
export PATH="$PATH:/usr/sbin:/sbin"

mkdir -p "$CACHE"
podman() {
    command podman --root "$CACHE/storage" --runroot "$CACHE/runroot" --storage-driver vfs \
        --runtime runc --cgroup-manager cgroupfs --events-backend file "$@"
}
if ! podman info >/dev/null 2>&1; then  # a storage made for another path (a moved checkout)
    rm -rf "$CACHE/storage" "$CACHE/runroot"
    podman info >/dev/null || cannot "podman does not work here (podman info fails)"
fi

# ---- the base image: debootstrap once, then the cached tarball ---------------------------------
tarball="$CACHE/base-bookworm.tar"
if [ ! -s "$tarball" ]; then
    say "building the base image with debootstrap from $MIRROR (first run only)"
    started=$(date +%s)
    rootfs="$CACHE/rootfs"
    rm -rf "$rootfs"
    debootstrap --variant=minbase \
        --include=python3,python3-venv,python-is-python3,ca-certificates \
        bookworm "$rootfs" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
        || { tail -5 "$CACHE/debootstrap.log" >&2; cannot "debootstrap from $MIRROR failed"; }
    # slim like debian:bookworm-slim, which python:*-slim-bookworm starts from: no documentation,
    # manuals or translations, and apt keeps no downloaded packages
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
    printf 'path-exclude /usr/share/%s/*\n' doc man groff info lintian locale \
        >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim"
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
APT
    tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
    say "base tarball built in $(($(date +%s) - started)) s"
fi
if ! podman image exists "$BASE"; then
    podman import --change 'CMD ["/bin/bash"]' "$tarball" "$BASE" >/dev/null
fi

# ---- the image --------------------------------------------------------------------------------
secret=()
for bundle in "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
    if [ -n "$bundle" ] && [ -s "$bundle" ]; then
        secret=(--secret "id=ca-certificates,src=$bundle")
        break
    fi
done
say "building $IMAGE from the Dockerfile on $BASE"
started=$(now)
# --layers=false: one commit per stage; with vfs storage every cached layer is a full copy
podman build --pull=never --layers=false --format docker --isolation chroot --network host \
    --build-arg "BASE_IMAGE=$BASE" "${secret[@]}" -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT" \
    >"$CACHE/build.log" 2>&1 || { tail -30 "$CACHE/build.log" >&2; fail "podman build"; }
build_time=$(since "$started")
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
healthcheck=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")
user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
case "$healthcheck" in
    *healthz*) ;;
    *) fail "the image has no HEALTHCHECK (got $healthcheck)" ;;
esac
[ "$user" = "10001:10001" ] || fail "the image's USER is '$user', not 10001:10001"

# ---- run it -------------------------------------------------------------------------------------
work=$(mktemp -d "$CACHE/run.XXXXXX")
mkdir -p "$work/recordings" "$work/state"
chown 10001:10001 "$work/recordings" "$work/state"
# The image's HEALTHCHECK asks port 8080: used (on 127.0.0.1 only) when it is free on this host,
# which shares its network with the container; else a free port, and the check is not run
port=8080
if ! python3 -c 'import socket; socket.socket().bind(("127.0.0.1", 8080))' 2>/dev/null; then
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
# Limits a container may be given inside another one: podman's defaults (1048576 open files, or
# the host's process limit) can be more than runc is allowed to set there
nproc=$(ulimit -Hu)
[ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
limits=(--ulimit "nofile=$(ulimit -Sn):$(ulimit -Hn)" --ulimit "nproc=$nproc:$nproc")
cleanup() {
    podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# --health-interval=disable: podman runs HEALTHCHECK on a systemd timer, and there may be no
# systemd; the check is run by hand below
podman run -d --name "$NAME" --network host "${limits[@]}" --health-interval=disable \
    --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
    -e "STREAMREC_HTTP_LISTEN=127.0.0.1:$port" \
    -v "$ROOT/config:/config:ro" -v "$work/recordings:/recordings" -v "$work/state:/state" \
    "$IMAGE" >/dev/null 2>"$CACHE/podman-run.log" || { cat "$CACHE/podman-run.log" >&2; fail "podman run"; }

logs() { podman logs "$NAME" 2>&1 | tail -20 >&2; }
get() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=4)' "$1" 2>/dev/null; }
finished() { find "$work/recordings" -path '*/.partial' -prune -o -type f -name '*.ts' -print | sort; }
inside() { for file in "$@"; do echo "/recordings/${file#"$work/recordings/"}"; done; }
# ffmpeg decodes each file (the image's, or $FFMPEG on this host); any message means damage
decode='for f in "$@"; do "${FFMPEG:-ffmpeg}" -nostdin -v error -i "$f" -f null - 2>&1 || echo "$f: exit $?"; done'


for _ in $(seq 120); do
    [ -n "$(finished)" ] && break
    [ "$(podman inspect --format '{{.State.Running}}' "$NAME")" = true ] || { logs; fail "the container exited"; }
    sleep 0.5
done
[ -n "$(finished)" ] || { logs; fail "no finished recording within 60 s"; }
first=$(finished | head -1)
out=$(podman exec "$NAME" sh -c "$decode" sh "$(inside "$first")")
[ -z "$out" ] || fail "$first is not playable: $out"
say "recorded ${first#"$work/recordings/"} (playable)"

get "http://127.0.0.1:$port/healthz" || { logs; fail "/healthz did not answer 200"; }
get "http://127.0.0.1:$port/readyz" || { logs; fail "/readyz did not answer 200"; }
uid=$(podman top "$NAME" huser | awk 'NR > 1 {print $1}' | sort -u | tr '\n' ' ')
[ "$uid" = "10001 " ] || fail "processes in the container run as '$uid', not only uid 10001"
say "/healthz and /readyz answer 200; every process runs as uid 10001"
if [ "$port" = 8080 ]; then
    podman healthcheck run "$NAME" >/dev/null 2>&1 || fail "the image's HEALTHCHECK fails"
    say "the image's HEALTHCHECK passes"
else
    say "port 8080 is taken on this host: the HEALTHCHECK command itself was not run"
fi

before=$(finished | wc -l)
started=$(now)
podman kill --signal TERM "$NAME" >/dev/null
podman wait --interval 50ms "$NAME" >/dev/null
stop_time=$(since "$started")
podman logs "$NAME" >"$CACHE/run.log" 2>&1
status=$(podman inspect --format '{{.State.ExitCode}}' "$NAME")
[ "$status" = 0 ] || { logs; fail "streamrec exited with $status after SIGTERM"; }
awk -v t="$stop_time" -v l="$STOP_LIMIT" 'BEGIN { exit !(t < l) }' || fail "stopping took ${stop_time} s (limit $STOP_LIMIT s)"
after=$(finished | wc -l)
[ "$after" -gt "$before" ] || fail "SIGTERM left no finished file of the last recording"
partial=$(find "$work/recordings/.partial" -name '*.ts' | head -1)
[ -z "$partial" ] || fail "a partial file was left: $partial"
mapfile -t files < <(finished)
if [ -n "${FFMPEG:-}" ]; then  # an ffmpeg on this host (the tests pass theirs): no extra container
    out=$(FFMPEG="$FFMPEG" sh -c "$decode" sh "${files[@]}")
else
    mapfile -t paths < <(inside "${files[@]}")
    out=$(podman run --rm --network none --read-only "${limits[@]}" \
        -v "$work/recordings:/recordings:ro" --entrypoint /bin/sh "$IMAGE" -c "$decode" sh "${paths[@]}")
fi
[ -z "$out" ] || fail "not playable after the stop: $out"
say "SIGTERM: stopped with status 0, $after finished playable files, nothing partial"

echo "test-container: build time ${build_time} s, image size $((size / 1048576)) MiB," \
    "stop time ${stop_time} s"
