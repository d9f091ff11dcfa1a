#!/bin/sh
# Installs Alipay's official Node SDK (alipay-sdk, pinned by package.json and
# package-lock.json) into this directory's node_modules, for
# ../../nodesdk_test.go. Needs node and npm; .ci/run calls it.
set -eu
cd "$(dirname "$0")"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
