#!/bin/sh
# Fetches the API documentation page's UI (tools/docs-ui: swagger-ui-dist, pinned by its lock
# file) with `npm ci` into DIR/node_modules and copies the files the library embeds into DIR/out
# (see mk/docs.mk). Without npm, or when the fetch fails, DIR/out gets empty files and the build
# goes on: /api-docs then says the UI was not built. Usage: scripts/docs-ui.sh DIR
set -u
dir=$1
out=$dir/out
mkdir -p "$out"
rm -f "$out"/*
cp tools/docs-ui/package.json tools/docs-ui/package-lock.json "$dir"/

built=0
if ! command -v npm >/dev/null 2>&1; then
    reason="npm is not installed (scripts/deps.sh build installs it)"
elif ! (cd "$dir" && SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund \
    --loglevel=error >npm.log 2>&1); then
    reason="npm ci failed (see $dir/npm.log)"
else
    ui=$dir/node_modules/swagger-ui-dist
    if cp "$ui/swagger-ui-bundle.js" "$ui/swagger-ui.css" "$out"/ &&
        cat "$ui/LICENSE" "$ui/NOTICE" "$ui/swagger-ui-bundle.js.LICENSE.txt" >"$out/LICENSE.txt"; then
        built=1
    else
        reason="swagger-ui-dist does not have the expected files"
    fi
fi
if [ "$built" -eq 0 ]; then
    rm -f "$out"/*
    : >"$out/swagger-ui-bundle.js"
    : >"$out/swagger-ui.css"
    : >"$out/LICENSE.txt"
    echo "warning: API docs UI not built: $reason; /api-docs will say so (the OpenAPI document is" \
        "still served). Retry with: rm -rf $dir && make" >&2
fi
echo "$built" >"$out/built"
