#!/usr/bin/env bash
# Installs the Debian packages some tests drive, when they are missing:
#   chromium (+ fonts)             the dashboard test (tests/web/test_dashboard.py), through
#                                  Playwright's Python package with executable_path=/usr/bin/chromium
#                                  (Playwright never downloads a browser of its own here)
#   nginx-light, libnginx-mod-rtmp a restartable RTMP server for the recorder tests
# Idempotent and quiet: does nothing when everything is there. Needs root (or sudo) and Debian's
# package mirrors. `python3 dev.py test` (the README's test command, and so CI) calls it.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
[ -e /usr/lib/nginx/modules/ngx_rtmp_module.so ] || missing+=(libnginx-mod-rtmp)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-packages: no apt-get here; install: ${missing[*]}" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-test-packages: installing ${missing[*]} (Debian packages) for the tests" >&2
$sudo apt-get update -qq >/dev/null
# nginx must not start as a system service here: the tests start their own on 127.0.0.1
$sudo env RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if command -v systemctl >/dev/null 2>&1; then $sudo systemctl disable --now nginx >/dev/null 2>&1 || true; fi
$sudo service nginx stop >/dev/null 2>&1 || true
