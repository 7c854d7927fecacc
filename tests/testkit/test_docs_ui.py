"""The browsable API docs rendered by a real browser: headless Chromium (Debian's) opens
/api-docs of the chopin binary and the rendered page must list every operation of the app's
OpenAPI document, with the security the document declares. Also: the build step without npm.

CHOPIN_BIN selects the binary (default build/chopin); CHROMIUM the browser (/usr/bin/chromium).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from lib import ROOT, Server, case, check, eq, get, run  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def render(url):
    """The DOM after the page's scripts ran (virtual time lets the UI fetch and render)."""
    profile = tempfile.mkdtemp(prefix="chopin-chromium-")
    try:
        out = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-extensions", "--user-data-dir=" + profile,
             "--virtual-time-budget=15000", "--dump-dom", url],
            capture_output=True, timeout=90, check=False)
        check(out.returncode == 0, "chromium exited with %d: %s" % (out.returncode, out.stderr[-2000:]))
        return out.stdout.decode("utf-8", "replace")
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def opblocks(dom):
    """{operation id: html of its block} for each operation Swagger UI rendered."""
    blocks = {}
    starts = [(m.start(), m.group(1)) for m in
              re.finditer(r'<div class="opblock opblock-[a-z]+[^"]*" id="operations-[^"]*?-([^"-]+)"', dom)]
    for i, (pos, op_id) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(dom)
        blocks[op_id] = dom[pos:end]
    return blocks


@case
def page_lists_every_operation_and_its_security():
    with Server() as s:
        r = get(s, "/api-docs/openapi.json")
        eq(r.status, 200)
        doc = r.json()
        ops = {}
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if method in METHODS:
                    ops[op["operationId"]] = (method, path, op)
        check(len(ops) >= 10, "the chopin binary documents its routes (%d)" % len(ops))
        check(not any(p.startswith("/api-docs") for p in doc["paths"]), "docs routes left out")

        dom = render("http://127.0.0.1:%d/api-docs" % s.port)
        check("swagger-ui" in dom and "UI bundle was not built" not in dom, "the UI was bundled")
        check(re.search(r'<h[12] class="title">\s*Chopin', dom) is not None, "title rendered")
        blocks = opblocks(dom)
        missing = sorted(set(ops) - set(blocks))
        check(not missing, "operations not rendered: %s" % missing)
        extra = sorted(set(blocks) - set(ops))
        check(not extra, "rendered operations not in the document: %s" % extra)
        for op_id, (method, path, op) in ops.items():
            b = blocks[op_id]
            check('class="opblock opblock-%s' % method in b, "%s rendered as %s" % (op_id, method))
            check('data-path="%s"' % path in b, "%s rendered with path %s" % (op_id, path))

        # Security: whatever the document declares shows, and nothing else does.
        schemes = doc.get("components", {}).get("securitySchemes", {})
        secured = {op_id for op_id, (_, _, op) in ops.items()
                   if op.get("security", doc.get("security"))}
        has_authorize = re.search(r'<button class="btn authorize', dom) is not None
        eq(has_authorize, bool(schemes), "an Authorize button exactly when schemes are declared")
        for op_id in ops:
            locked = "authorization__btn" in blocks[op_id]
            eq(locked, op_id in secured, "lock shown on %s" % op_id)
        if not schemes:
            print("   note: the document declares no security scheme yet", flush=True)


@case
def assets_and_license_served():
    with Server() as s:
        r = get(s, "/api-docs")
        eq(r.status, 200)
        check(r.header("Content-Type").startswith("text/html"), "HTML page")
        for path, ctype in (("/api-docs/ui/swagger-ui-bundle.js", "text/javascript"),
                            ("/api-docs/ui/swagger-ui.css", "text/css"),
                            ("/api-docs/ui/init.js", "text/javascript"),
                            ("/api-docs/ui/LICENSE.txt", "text/plain")):
            r = get(s, path)
            eq(r.status, 200, path)
            check(r.header("Content-Type").startswith(ctype), "%s is %s" % (path, ctype))


@case
def build_step_without_npm_still_succeeds():
    """scripts/docs-ui.sh with no npm on PATH: empty UI files, a warning, exit status 0."""
    tools = tempfile.mkdtemp(prefix="chopin-nonpm-")
    out_dir = tempfile.mkdtemp(prefix="chopin-docs-ui-")
    try:
        for tool in ("sh", "mkdir", "rm", "cp", "cat", "echo"):
            path = shutil.which(tool)
            if path:
                os.symlink(path, os.path.join(tools, tool))
        r = subprocess.run(["sh", "scripts/docs-ui.sh", out_dir], cwd=ROOT, capture_output=True,
                           env={"PATH": tools}, timeout=30, check=False)
        eq(r.returncode, 0, "exit status")
        check(b"npm is not installed" in r.stderr, "says why: %r" % r.stderr)
        with open(os.path.join(out_dir, "out", "built")) as f:
            eq(f.read().strip(), "0", "marked as not built")
        for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE.txt"):
            eq(os.path.getsize(os.path.join(out_dir, "out", name)), 0, name)
    finally:
        shutil.rmtree(tools, ignore_errors=True)
        shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    run("docs-ui")
