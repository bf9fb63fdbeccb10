# streamrec: Debian's ffmpeg + streamrec in a virtual environment, run as a non-root user.
# Build: docker build -t streamrec .   Run: see compose.yaml and docs/deploy.md.
# tests/container/test_dockerfile.py checks this file and runs its pip step in a fresh venv;
# scripts/test-container.sh builds it with podman on a local Debian base and runs the image.
# BASE_IMAGE: any Debian bookworm image with python3, python3-venv and `python` on PATH (the script
# passes one made with debootstrap). A CA bundle given as the build secret `ca-certificates`
# (--secret id=ca-certificates,src=FILE) is used by pip where TLS is intercepted; it is never
# written into the image.

ARG PYTHON_VERSION=3.12
ARG BASE_IMAGE=python:${PYTHON_VERSION}-slim-bookworm

# ---- build: install streamrec and its dependencies into /opt/streamrec --------------------------
FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY streamrec/ streamrec/
# imageio-ffmpeg's static ffmpeg (165 MiB) is the fallback when no ffmpeg is on PATH; this image
# ships Debian's, so the fallback binary is left out.
RUN --mount=type=secret,id=ca-certificates,required=false \
    if [ -s /run/secrets/ca-certificates ]; then export PIP_CERT=/run/secrets/ca-certificates; fi \
    && python -m venv /opt/streamrec && /opt/streamrec/bin/pip install --no-cache-dir . \
    && rm -rf /opt/streamrec/lib/python*/site-packages/imageio_ffmpeg/binaries/ffmpeg-*

# ---- runtime ------------------------------------------------------------------------------------
FROM ${BASE_IMAGE}
# ffmpeg records; git follows a config repository (run --git); tini is PID 1 and forwards signals
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg git tini ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 streamrec \
    && useradd --system --uid 10001 --gid 10001 --home-dir /state --no-create-home \
       --shell /usr/sbin/nologin streamrec \
    && mkdir -p /config /recordings /state \
    && chown 10001:10001 /recordings /state
COPY --from=build /opt/streamrec /opt/streamrec
COPY docker/entrypoint.py /usr/local/bin/streamrec-entrypoint

# Configuration through STREAMREC_* variables (every CLI option has one); CHANNEL_NAME, CHANNEL_URL
# and CATEGORY add one channel at start (docker/entrypoint.py); STREAMREC_SHARD=i/N shards.
ENV PATH=/opt/streamrec/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STREAMREC_CONFIG=/config \
    STREAMREC_STATE_DIR=/state \
    STREAMREC_LOG_FORMAT=json \
    STREAMREC_HTTP_LISTEN=0.0.0.0:8080 \
    STREAMREC_BOOTSTRAP=auto \
    TZ=UTC

# /config is mounted read-only (a bind mount with :ro, a ConfigMap); these two are written
VOLUME ["/recordings", "/state"]
USER 10001:10001
WORKDIR /state
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
# exec form all the way down: tini -> python execs streamrec, which gets SIGTERM and stops cleanly
ENTRYPOINT ["/usr/bin/tini", "--", "python", "/usr/local/bin/streamrec-entrypoint"]
CMD ["run"]
