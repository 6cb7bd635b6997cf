#!/usr/bin/env sh
# @integ/sse: browser.test.ts runs EventSource against Chromium's native one in Debian's chromium (~25 s to
# install), driven by playwright-core (browser downloads are blocked here).
# Idempotent: does nothing when the browser is already there.
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
/usr/bin/chromium --version
