#!/bin/sh
# Fetches the API documentation page's UI (tools/docs-ui: swagger-ui-dist, pinned by its lock
# file) with scripts/npm-ci.sh into DIR/node_modules and copies the files the library embeds
# into DIR/out (see mk/docs.mk). Without npm, or when the fetch fails, DIR/out gets empty files
# and the build goes on: /api-docs then says the UI was not built. Usage: scripts/docs-ui.sh DIR
set -u
dir=$1
out=$dir/out
mkdir -p "$out"
rm -f "$out"/*
built=0
if reason=$(sh "${0%/*}/npm-ci.sh" tools/docs-ui "$dir" 2>&1); then
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
