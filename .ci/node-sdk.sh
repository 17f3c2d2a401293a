#!/usr/bin/env bash
# Installs the official Tencent Cloud Node.js SDK into the git-ignored .tools/node-sdk, for the
# emulator's Node faithfulness test (shared/emulator, TestNodeSDK). Idempotent: does nothing when the
# pinned version is already installed. Afterwards run:
#   TCUSAGE_NODE_SDK_DIR="$PWD/.tools/node-sdk" go test -run TestNodeSDK ./shared/emulator/
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.1.313
dir=.tools/node-sdk
pkg="$dir/node_modules/tencentcloud-sdk-nodejs/package.json"

if ! command -v npm >/dev/null 2>&1; then
  echo "node-sdk: npm not found on PATH; install Node.js first" >&2
  exit 1
fi

if [ -f "$pkg" ] && grep -q "\"version\": *\"$version\"" "$pkg"; then
  echo "node-sdk: tencentcloud-sdk-nodejs@$version already installed in $dir"
  exit 0
fi

mkdir -p "$dir"
start=$(date +%s)
npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "tencentcloud-sdk-nodejs@$version"
echo "node-sdk: installed tencentcloud-sdk-nodejs@$version in $dir in $(( $(date +%s) - start ))s"
echo "node-sdk: export TCUSAGE_NODE_SDK_DIR=\"$PWD/$dir\""
