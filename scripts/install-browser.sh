#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard test (tests/web/test_dashboard.py), which drives it
# with Playwright's Python package through executable_path=/usr/bin/chromium (Playwright never
# downloads a browser of its own here). Idempotent and quiet: does nothing when chromium is there.
# Needs root (or sudo) and Debian's package mirrors. .ci/run calls it before the tests.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: no apt-get here; install chromium so that /usr/bin/chromium exists" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-browser: installing chromium (Debian package) for the dashboard test" >&2
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version >&2
