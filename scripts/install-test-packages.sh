#!/usr/bin/env bash
# Installs the Debian packages some tests drive, when they are missing:
#   chromium (+ fonts)             the dashboard test (tests/web/test_dashboard.py), through
#                                  Playwright's Python package with executable_path=/usr/bin/chromium
#                                  (Playwright never downloads a browser of its own here)
#   nginx-light, libnginx-mod-rtmp a restartable RTMP server for the recorder tests
#   prometheus                     for promtool, which checks the /metrics exposition and the
#                                  example alert rules (the server itself is stopped, never used)
#   systemd                        for systemd-analyze, which verifies and scores the example unit
#                                  (tests/container/test_systemd_unit.py)
#   etcd-server                    a local etcd for the cluster tests (tests/cluster/): each test
#                                  starts its own on 127.0.0.1 with a data dir in tmp
#   nodejs                         reads the config schema's patterns as editors do, as ECMAScript
#                                  regular expressions (tests/spec/test_schema_examples.py)
# Idempotent and quiet: does nothing when everything is there. Needs root (or sudo) and Debian's
# package mirrors. `python3 dev.py test` (the README's test command, and so CI) calls it.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
[ -e /usr/lib/nginx/modules/ngx_rtmp_module.so ] || missing+=(libnginx-mod-rtmp)
[ -x /usr/bin/promtool ] || missing+=(prometheus)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
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
# nginx, prometheus and etcd must not run as system services here: the tests start their own nginx on
# 127.0.0.1 and only need promtool
$sudo env RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for service in nginx prometheus etcd; do
    if command -v systemctl >/dev/null 2>&1; then
        $sudo systemctl disable --now "$service" >/dev/null 2>&1 || true
    fi
    $sudo service "$service" stop >/dev/null 2>&1 || true
done
# a server this install started outside any service manager (by its pid, nothing else)
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v pidof >/dev/null 2>&1; then
    for pid in $(pidof /usr/bin/prometheus || true); do $sudo kill "$pid" 2>/dev/null || true; done
fi
if [[ " ${missing[*]} " == *" etcd-server "* ]] && command -v pidof >/dev/null 2>&1; then
    for pid in $(pidof /usr/bin/etcd || true); do $sudo kill "$pid" 2>/dev/null || true; done
fi
