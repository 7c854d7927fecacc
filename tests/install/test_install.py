"""Out-of-tree builds against an installed Chopin, as an application author does them.

`make install DESTDIR=<tmp>`, then, using only pkg-config on the staged tree
(PKG_CONFIG_PATH + PKG_CONFIG_SYSROOT_DIR): every examples/*.c is copied out of the source tree
and built with gcc and with clang, started on a free port and sent its smoke requests; every
installed public header compiles alone as C11 (gcc, clang) and as C++17 (g++); a C++ program
links against the archive; chopin/chopin.h includes every public header; --help names the
program and lists the settings an app declares; `make uninstall` removes it all.

Smoke requests: each example carries one or more lines
    // smoke: METHOD PATH [REQUEST-JSON-BODY] -> STATUS [TEXT-EXPECTED-IN-THE-BODY]
sent in order to one server (ENVIRONMENT=production, DATABASE_URL=sqlite::memory:, cwd a
temporary directory). `// smoke: skip REASON` reports the example as skipped, loudly, and
builds nothing. An example with neither fails.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import lib  # noqa: E402
from lib import Failure, case, check, eq  # noqa: E402

ROOT = lib.ROOT
WORK = tempfile.mkdtemp(prefix="chopin-install-")
STAGE = os.path.join(WORK, "stage")
PREFIX = "/usr/local"
OUT = os.path.join(WORK, "out")
os.makedirs(OUT)
ENV = dict(os.environ, PKG_CONFIG_PATH=STAGE + PREFIX + "/lib/pkgconfig",
           PKG_CONFIG_SYSROOT_DIR=STAGE)
ENV.pop("CFLAGS", None)
ENV.pop("CPPFLAGS", None)
# make itself runs with the caller's environment: the staged pkg-config settings would point
# the library's own build at the stage.
MAKE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("PKG_CONFIG")}
STRICT = ["-Wall", "-Wextra", "-Werror", "-pedantic"]


def sh(args, what, cwd=ROOT, env=None, timeout=600):
    p = subprocess.run(args, cwd=cwd, env=env or ENV, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        raise Failure("%s failed (%d):\n%s" % (what, p.returncode, out[-3000:]))
    return out


def pkg(*args):
    return sh(["pkg-config"] + list(args) + ["chopin"], "pkg-config").split()


def installed_headers():
    return sorted(glob.glob(STAGE + PREFIX + "/include/chopin/*.h"))


@case
def make_install_stages_every_file():
    sh(["make", "-s", "install", "DESTDIR=" + STAGE], "make install", env=MAKE_ENV)
    for f in ["bin/chopin", "lib/libchopin.a", "lib/pkgconfig/chopin.pc",
              "include/chopin/chopin.h"]:
        check(os.path.isfile(os.path.join(STAGE + PREFIX, f)), "not installed: " + f)
    want = sorted(os.path.basename(h) for h in glob.glob(os.path.join(ROOT, "include/chopin/*.h")))
    eq(sorted(os.path.basename(h) for h in installed_headers()), want, "installed headers")
    check(os.access(STAGE + PREFIX + "/bin/chopin", os.X_OK), "chopin not executable")


@case
def pkg_config_gives_the_whole_link_line():
    version = re.search(r"^VERSION\s*:=\s*(\S+)", open(os.path.join(ROOT, "Makefile")).read(),
                        re.M).group(1)
    eq(sh(["pkg-config", "--modversion", "chopin"], "modversion").strip(), version, "version")
    flags = pkg("--cflags", "--libs", "--static")
    check("-I" + STAGE + PREFIX + "/include" in flags, "no staged -I: %s" % flags)
    check("-L" + STAGE + PREFIX + "/lib" in flags, "no staged -L: %s" % flags)
    for lib_ in ["-lchopin", "-lpq", "-lsqlite3", "-lssl", "-lcrypto", "-lz", "-lbrotlienc", "-lm"]:
        check(lib_ in flags, "%s missing from %s" % (lib_, flags))
    check("-lpthread" in flags or "-pthread" in flags, "no pthread in %s" % flags)
    pc = open(STAGE + PREFIX + "/lib/pkgconfig/chopin.pc").read()
    check(re.search(r"^prefix=/usr/local$", pc, re.M), "prefix line:\n" + pc)


def smoke_lines(src):
    lines = re.findall(r"^\s*//\s*smoke:\s*(.*?)\s*$", open(src).read(), re.M)
    if not lines:
        raise Failure("%s has no '// smoke:' line (see tests/install/test_install.py)" % src)
    if lines[0].startswith("skip"):
        return None, lines[0][4:].strip()
    reqs = []
    for ln in lines:
        m = re.match(r"^([A-Z]+)\s+(/\S*)\s*(.*?)\s*->\s*(\d{3})\s*(.*)$", ln)
        if not m:
            raise Failure("%s: malformed smoke line %r" % (src, ln))
        reqs.append((m.group(1), m.group(2), m.group(3), int(m.group(4)), m.group(5)))
    return reqs, None


def build(src, cc, out, std="-std=c11"):
    """Copies `src` out of the tree (so nothing but the installed headers can be included) and
    builds it with pkg-config's flags only."""
    d = tempfile.mkdtemp(dir=WORK)
    copy = os.path.join(d, os.path.basename(src))
    shutil.copy(src, copy)
    sh([cc, std, "-O2"] + STRICT + ["-o", out, copy] + pkg("--cflags", "--libs", "--static"),
       "%s %s" % (cc, os.path.basename(src)), cwd=d)


def run_smoke(binary, reqs):
    d = tempfile.mkdtemp(dir=WORK)
    with lib.Server(binary=binary, cwd=d) as s:
        for method, path, body, status, text in reqs:
            headers = {"Content-Type": "application/json"} if body else None
            r = _request(s, method, path, headers, body)
            eq(r.status, status, "%s %s status (body %r)" % (method, path, r.body[:300]))
            check(text.encode() in r.body, "%s %s: %r not in %r" % (method, path, text, r.body[:300]))


def _request(server, method, path, headers, body):
    c = server.connect()
    try:
        return c.request(method, path, headers=headers, body=body.encode() if body else None)
    finally:
        c.close()


def example_cases(src):
    name = os.path.splitext(os.path.basename(src))[0]
    try:
        reqs, skip = smoke_lines(src)
    except Failure as e:
        err = str(e)

        def malformed():
            raise Failure(err)

        malformed.__name__ = "example_%s_has_smoke_lines" % name
        case(malformed)
        return
    if skip is not None:  # neither passed nor failed, and said so
        print("  SKIP example %s: %s" % (name, skip), flush=True)
        return
    for cc in ("gcc", "clang"):
        out = os.path.join(OUT, "%s-%s" % (name, cc))

        def build_and_run(src=src, cc=cc, out=out):
            build(src, cc, out)
            run_smoke(out, reqs)

        build_and_run.__name__ = "example_%s_%s_builds_out_of_tree_and_answers" % (name, cc)
        case(build_and_run)


for _src in sorted(glob.glob(os.path.join(ROOT, "examples", "*.c"))):
    example_cases(_src)


@case
def every_public_header_compiles_alone_as_c11_and_cxx17():
    cflags = pkg("--cflags")
    bad = []
    for h in installed_headers():
        name = "chopin/" + os.path.basename(h)
        for cc, lang, std in (("gcc", "c", "-std=c11"), ("clang", "c", "-std=c11"),
                              ("g++", "c++", "-std=c++17")):
            p = subprocess.run([cc, "-x", lang, std, "-fsyntax-only"] + STRICT + cflags + ["-"],
                               input=("#include <%s>\n" % name).encode(), env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if p.returncode != 0:
                bad.append("%s %s %s:\n%s" % (cc, std, name, p.stdout.decode()[-800:]))
    check(not bad, "\n".join(bad))
    check(len(installed_headers()) > 10, "too few headers")


@case
def every_public_header_has_extern_c_guards():
    missing = [os.path.basename(h) for h in installed_headers()
               if not h.endswith("/chopin.h") and 'extern "C"' not in open(h).read()]
    eq(missing, [], "headers without extern \"C\"")


@case
def chopin_h_includes_the_whole_public_api():
    text = open(STAGE + PREFIX + "/include/chopin/chopin.h").read()
    included = set(re.findall(r'^#include\s+"([^"]+)"', text, re.M))
    missing = [os.path.basename(h) for h in installed_headers()
               if os.path.basename(h) != "chopin.h" and os.path.basename(h) not in included]
    eq(missing, [], "headers chopin.h does not include")


@case
def cxx_program_links_and_runs():
    src = os.path.join(WORK, "app.cpp")
    with open(src, "w") as f:
        f.write('#include <chopin/chopin.h>\n#include <cstring>\n'
                'int main() {\n'
                '    struct ch_app *app = ch_app_new();\n'
                '    if (!app) return 1;\n'
                '    struct ch_str s = CH_STR("abc");\n'
                '    if (!ch_str_eq_cstr(s, "abc")) return 2;\n'
                '    if (std::strlen(ch_strerror(CH_EINVAL)) == 0) return 3;\n'
                '    ch_app_free(app);\n'
                '    return 0;\n}\n')
    out = os.path.join(OUT, "cxx-app")
    sh(["g++", "-std=c++17"] + STRICT + ["-o", out, src] + pkg("--cflags", "--libs", "--static"),
       "g++ link")
    sh([out], "the C++ program")


SETTINGS_BIN = os.path.join(OUT, "settings_app")


@case
def help_names_the_program_and_lists_declared_settings():
    build(os.path.join(ROOT, "tests/install/settings_app.c"), "gcc", SETTINGS_BIN)
    out = sh([SETTINGS_BIN, "--help"], "--help")
    check(out.startswith("Usage: settings_app "), "usage line: %r" % out[:80])
    check("Usage: chopin" not in out, "names chopin instead of the program")
    fw = out.find("CORS_ORIGINS")
    g = out.find("GREETING")
    check(0 <= fw < g, "app settings not after the framework's:\n" + out)
    check(re.search(r"GREETING\s+what GET /greeting answers \(default hello\)", out), out)
    check(re.search(r"PAGE_MAX\s+largest page \(default 100\)", out), out)
    check("declared twice" not in out, "a setting declared twice was listed")
    err = subprocess.run([SETTINGS_BIN, "--nope"], stderr=subprocess.PIPE).stderr.decode()
    check(err.startswith("settings_app: unknown option"), "error prefix: %r" % err)


@case
def declared_settings_read_environment_then_default():
    with lib.Server(binary=SETTINGS_BIN, cwd=WORK) as s:
        r = _request(s, "GET", "/greeting", None, None)
        eq(r.json()["data"], "hello", "default")
        eq(_request(s, "GET", "/page-max", None, None).json()["data"], 100, "int default")
    with lib.Server(binary=SETTINGS_BIN, cwd=WORK, env={"GREETING": "bonjour", "PAGE_MAX": "7"}) as s:
        eq(_request(s, "GET", "/greeting", None, None).json()["data"], "bonjour", "environment")
        eq(_request(s, "GET", "/page-max", None, None).json()["data"], 7, "int from env")
    for bad in ("abc", "1001", "0", "5x", ""):
        with lib.Server(binary=SETTINGS_BIN, cwd=WORK, env={"PAGE_MAX": bad}) as s:
            eq(_request(s, "GET", "/page-max", None, None).status, 500, "PAGE_MAX=%r" % bad)


@case
def make_uninstall_removes_everything():
    sh(["make", "-s", "uninstall", "DESTDIR=" + STAGE], "make uninstall", env=MAKE_ENV)
    left = [os.path.join(dp, f) for dp, _, fs in os.walk(STAGE) for f in fs]
    eq(left, [], "files left after uninstall")


if __name__ == "__main__":
    try:
        lib.run("install")
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
