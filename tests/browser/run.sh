#!/usr/bin/env bash
# ctest wrapper of the browser end-to-end tests: needs /usr/bin/chromium (scripts/setup.sh) and
# playwright-core in tests/browser/node_modules (scripts/test.sh runs npm install here).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ ! -x /usr/bin/chromium ]; then echo "browser tests: /usr/bin/chromium is missing (run scripts/setup.sh)"; exit 1; fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "browser tests: playwright-core is missing (scripts/test.sh installs it: cd tests/browser && npm install)"; exit 1
fi
exec node "$here/recorder_e2e.mjs" "$@"
