#!/usr/bin/env bash
# Make sure Debian's Chromium is there for the browser test; called by `make browser` before pytest.
#
# - Chromium present (/usr/bin/chromium, or $CHROMIUM): nothing to do.
# - Missing and running as root with apt-get: `apt-get update`, then install the Debian package `chromium`.
# - Missing otherwise (not root, no apt-get, or the install failed): say how to enable the test and exit 0;
#   tests/browser then skips with the same advice (and fails under CI=true).
set -u

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
ADVICE="To enable the browser test: sudo apt-get install chromium (Debian/Ubuntu), then run make browser again."

if [ -x "$CHROMIUM" ]; then
    echo "browser test: using $CHROMIUM"
    exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "browser test: $CHROMIUM not found; installing Debian's chromium with apt-get (running as root)..."
    export DEBIAN_FRONTEND=noninteractive
    if apt-get update -q && apt-get install -y -q chromium; then
        if [ -x "$CHROMIUM" ]; then
            echo "browser test: chromium installed at $CHROMIUM"
            exit 0
        fi
        echo "browser test: apt-get installed chromium but $CHROMIUM is still missing (set CHROMIUM=/path/to/chromium)."
    else
        echo "browser test: apt-get could not install chromium (no network or no such package?)."
    fi
    echo "$ADVICE"
    exit 0
fi

echo "browser test: Chromium not found at $CHROMIUM, and installing it needs root; the test will be skipped."
echo "$ADVICE"
exit 0
