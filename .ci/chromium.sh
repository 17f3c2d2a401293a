#!/usr/bin/env bash
# Installs Debian's chromium for the report's real-browser test (shared/report, TestReportInChromium)
# and `make screenshots`. Idempotent and quick when a browser is already there: it prints the binary
# and its version and exits. Afterwards run:
#   go test -count=1 -run TestReportInChromium -v ./shared/report/
# (the test finds /usr/bin/chromium, or the binary named by TCUSAGE_CHROMIUM).
set -euo pipefail

bin=${TCUSAGE_CHROMIUM:-/usr/bin/chromium}

if [ -x "$bin" ] && { [ -n "${TCUSAGE_CHROMIUM:-}" ] || fc-list 2>/dev/null | grep -qi "wenquanyi"; }; then
  echo "chromium: $("$bin" --version 2>/dev/null || echo "$bin") already installed"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium: $bin not found and apt-get is not available; install Chromium and set TCUSAGE_CHROMIUM" >&2
  exit 1
fi

sudo=
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-wqy-microhei >/dev/null
echo "chromium: installed $(/usr/bin/chromium --version) in $(( $(date +%s) - start ))s"
