#!/usr/bin/env sh
# @integ/discovery: its etcd source tests start a throwaway etcd (Debian's etcd-server, ~6 s to install).
# Idempotent: does nothing when the binary is already there.
set -eu
if command -v etcd >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends etcd-server
# The package enables a system service; the tests start their own instance on random ports.
etcd --version | head -n 1
