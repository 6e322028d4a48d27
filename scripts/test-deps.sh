#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian/Ubuntu machine (then: python -m pytest).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  # The browser tests drive the system Chromium (Playwright never downloads a browser of its own).
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
  fi
fi
if ! command -v redis-server >/dev/null 2>&1; then
  # The Redis Streams journal is tested against a real server (started by the tests, no persistence).
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq redis-server >/dev/null
  fi
fi
python -m pip install -q -e ".[test]"
