#!/usr/bin/env sh
# runtimes/: runtimes.test.ts runs the built packages on Bun, Deno, workerd (Cloudflare's runtime) and the Node LTS
# lines 24 and 26, installed from npm (the `bun`, `deno`, `workerd` and `node` packages, ~754 MB, 30-60 s cold, a few
# seconds from a warm npm cache) into a cache outside the repo. (Its Chromium checks use Debian's chromium: chromium.sh.)
# Idempotent: does nothing when the pinned versions are already there. A failed install (npm down or slow) is
# retried once, then only warned about: the runtimes test then fails under INTEG_REQUIRE_SERVICES=1 and says why,
# while the rest of CI still runs.
set -u
BUN_VERSION=1.4.5
DENO_VERSION=2.9.6
# workerd's npm version; the binary reports its compatibility date (`workerd 2026-11-17`).
WORKERD_VERSION=1.20261117.1
WORKERD_DATE=2026-11-17
# The registry's `node` package under two aliases, each with its own binary in node_modules/node2x/bin/node.
NODE24_VERSION=24.21.0
NODE26_VERSION=26.10.0
DIR=${INTEG_RUNTIMES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/integ-runtimes}
BIN=$DIR/node_modules/.bin
installed() {
  [ "$("$BIN/bun" --version 2>/dev/null)" = "$BUN_VERSION" ] &&
    "$BIN/deno" --version 2>/dev/null | head -n 1 | grep -q "^deno $DENO_VERSION " &&
    [ "$("$BIN/workerd" --version 2>/dev/null)" = "workerd $WORKERD_DATE" ] &&
    [ "$("$DIR/node_modules/node24/bin/node" --version 2>/dev/null)" = "v$NODE24_VERSION" ] &&
    [ "$("$DIR/node_modules/node26/bin/node" --version 2>/dev/null)" = "v$NODE26_VERSION" ]
}
if ! installed; then
  mkdir -p "$DIR"
  [ -f "$DIR/package.json" ] || echo '{ "name": "integ-runtimes", "private": true }' >"$DIR/package.json"
  for attempt in 1 2; do
    # The packages' install scripts put the platform's binary in place: they must run. npm's own retries (2, waiting
    # 10-60 s) made an unreachable registry cost 4m40s here; one quick retry of ours instead, each attempt capped.
    timeout 300 npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error --fetch-retries=1 \
      --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=5000 \
      "bun@$BUN_VERSION" "deno@$DENO_VERSION" "workerd@$WORKERD_VERSION" \
      "node24@npm:node@$NODE24_VERSION" "node26@npm:node@$NODE26_VERSION" && installed && break
    echo "runtimes.sh: npm install of bun@$BUN_VERSION deno@$DENO_VERSION workerd@$WORKERD_VERSION node@$NODE24_VERSION node@$NODE26_VERSION failed (attempt $attempt)" >&2
  done
fi
if installed; then
  echo "bun $("$BIN/bun" --version), $("$BIN/deno" --version | head -n 1), $("$BIN/workerd" --version), node $NODE24_VERSION and $NODE26_VERSION in $DIR"
else
  echo "runtimes.sh: WARNING: bun $BUN_VERSION / deno $DENO_VERSION / workerd $WORKERD_VERSION / node $NODE24_VERSION, $NODE26_VERSION not installed in $DIR; runtimes/runtimes.test.ts will fail" >&2
fi
exit 0
