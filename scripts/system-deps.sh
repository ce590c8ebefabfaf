#!/bin/sh
# System programs the test suite starts for real: Xvfb (a live window on a virtual screen) and
# Chromium (the playground's page, driven by Playwright: Debian's build, never a downloaded one).
# Installed with apt-get when missing and running as root; otherwise say what to install.
set -e
missing=""
command -v Xvfb >/dev/null 2>&1 || missing="$missing xvfb"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages:$missing"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
    echo "the tests need:$missing (Debian/Ubuntu: sudo apt-get install$missing)" >&2
    exit 1
fi
