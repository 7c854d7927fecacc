#!/bin/sh
# Installs the npm packages pinned by SRC/package-lock.json (a tools/ folder) into
# DIR/node_modules with `npm ci --ignore-scripts`: exactly the locked versions, checked against
# the lock's hashes, and no package's install script is run. Nothing of DIR is committed.
# On failure prints the reason on one line to stderr and exits 1; npm's own output is in
# DIR/npm.log. Shared by scripts/docs-ui.sh and mk/autocannon.mk. Usage: scripts/npm-ci.sh SRC DIR
# Needs nothing but sh, mkdir, cp and npm (tests/testkit/test_docs_ui.py runs it without npm).
set -u
src=$1
dir=$2
mkdir -p "$dir"
cp "$src/package.json" "$src/package-lock.json" "$dir"/ || exit 1
if ! command -v npm >/dev/null 2>&1; then
    echo "npm is not installed (scripts/deps.sh build, test or bench installs it)" >&2
    exit 1
fi
# SCARF_ANALYTICS=false: swagger-ui-dist's @scarf/scarf would report the install.
if ! (cd "$dir" && SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund \
    --loglevel=error >npm.log 2>&1); then
    echo "npm ci failed (see $dir/npm.log)" >&2
    exit 1
fi
