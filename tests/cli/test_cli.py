"""The chopin command, end to end: install into a temporary prefix, create a project with
`chopin new`, build and test it with its own Makefile through pkg-config, serve it, and drive
`chopin run`, `chopin db` and the argument errors.

CHOPIN_BIN names the build whose tree is installed (its directory's parent is the O= of make).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from lib import ROOT, case, check, eq, free_port, run, Failure  # noqa: E402

WORK = tempfile.mkdtemp(prefix="chopin-cli-")
PREFIX = os.path.join(WORK, "prefix")
ENV = dict(os.environ)
ENV["PATH"] = os.path.join(PREFIX, "bin") + ":" + ENV.get("PATH", "")
ENV["PKG_CONFIG_PATH"] = os.path.join(PREFIX, "lib", "pkgconfig")
for k in list(ENV):
    if k.startswith(("SERVER_", "DATABASE_", "WORKERS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")):
        del ENV[k]
_installed = False


def sh(args, cwd=None, env=None, timeout=300, check_rc=True):
    p = subprocess.run(args, cwd=cwd or WORK, env=env or ENV, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    if check_rc and p.returncode != 0:
        raise Failure("%s exited %d:\n%s" % (" ".join(args), p.returncode, out[-3000:]))
    return p.returncode, out


def install():
    global _installed
    if _installed:
        return
    bin_path = os.environ.get("CHOPIN_BIN", os.path.join(ROOT, "build", "chopin"))
    obj = os.path.relpath(os.path.dirname(bin_path), ROOT)
    sh(["make", "-s", "O=" + obj, "PREFIX=" + PREFIX, "install"], cwd=ROOT, timeout=900)
    _installed = True


def chopin(*args, cwd=None, check_rc=False):
    return sh(["chopin"] + list(args), cwd=cwd, check_rc=check_rc)


def new_project(name, *extra):
    install()
    path = os.path.join(WORK, name)
    shutil.rmtree(path, ignore_errors=True)
    chopin("new", name, *extra, check_rc=True)
    return path


def http_get(port, path, timeout=2):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
        return r.status, json.loads(r.read())


def wait_for(pred, seconds, what):
    deadline = time.time() + seconds
    last = None
    while time.time() < deadline:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # not up yet, or the old process is stopping
            last = e
        time.sleep(0.1)
    raise Failure("%s within %ss (last error: %r)" % (what, seconds, last))


@case
def usage_errors_exit_2_and_help_exits_0():
    install()
    for args in (["bogus"], ["new"], ["new", "x", "--db", "mysql"], ["new", "a", "b"],
                 ["new", "1bad"], ["db"], ["db", "frobnicate"], ["db", "rollback", "abc"],
                 ["db", "rollback", "0"], ["db", "new"], ["run", "extra"], ["routes", "x"],
                 ["generate"], ["help", "nope"],
                 ["generate", "resource", "post", "title:string", "--bogus"],
                 ["generate", "resource", "post", "owner_id:int", "--auth"],
                 ["generate", "resource", "--auth"]):
        rc, out = chopin(*args)
        eq(rc, 2, "exit status of chopin %s" % " ".join(args))
        eq(len(out.strip().splitlines()), 1, "one-line error for chopin %s: %r" % (args, out))
    for sub in ("new", "generate", "db", "run", "routes"):
        rc, out = chopin(sub, "--help")
        eq(rc, 0, "chopin %s --help" % sub)
        check(out.startswith("Usage: chopin " + sub), "help of %s: %r" % (sub, out[:80]))
    rc, out = chopin("--help")
    eq(rc, 0, "chopin --help")
    check("generate" in out and "--port" in out, "top help lists commands and server flags")
    _, out = chopin("generate", "--help")
    check("--auth" in out, "generate --help documents --auth")


@case
def new_project_builds_tests_and_serves():
    path = new_project("demo")
    for f in ("Makefile", "src/main.c", "src/app.c", "tests/test_app.c", ".env.example",
              ".gitignore", "README.md", "migrations"):
        check(os.path.exists(os.path.join(path, f)), "chopin new wrote " + f)
    rc, out = chopin("new", "demo")
    eq(rc, 1, "chopin new on an existing folder")
    check("exists" in out, "says why: %r" % out)
    rc, out = chopin("routes", cwd=path)
    eq(rc, 0, "chopin routes")
    check("GET" in out and " / " in out and "request_id" in out, "routes listed:\n" + out)
    rc, out = sh(["make", "test"], cwd=path)
    check(" passed, 0 failed" in out, "make test in the new project:\n" + out[-2000:])
    sh(["make"], cwd=path)
    port = free_port()
    env = dict(ENV, SERVER_PORT=str(port), WORKERS="1", DATABASE_URL="sqlite::memory:")
    proc = subprocess.Popen([os.path.join(path, "build", "demo")], cwd=path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        status, body = wait_for(lambda: http_get(port, "/"), 10, "the app answers /")
        eq(status, 200, "welcome status")
        check("Welcome to demo" in body["data"]["message"], "welcome body %r" % body)
    finally:
        proc.send_signal(signal.SIGTERM)
        eq(proc.wait(15), 0, "the app exits cleanly on SIGTERM")


@case
def db_new_numbers_migrations():
    path = new_project("migs")
    _, out = chopin("db", "new", "create_things", cwd=path, check_rc=True)
    check("0001_create_things.sql" in out, out)
    _, out = chopin("db", "new", "add_color", cwd=path, check_rc=True)
    check("0002_add_color.sql" in out, out)
    rc, out = chopin("db", "new", "Bad-Name", cwd=path)
    eq(rc, 2, "a bad migration name")


@case
def run_rebuilds_on_change_and_survives_a_broken_build():
    path = new_project("live")
    port = free_port()
    env = dict(ENV, SERVER_PORT=str(port), WORKERS="1", DATABASE_URL="sqlite::memory:")
    log = open(os.path.join(WORK, "run.log"), "w+b")
    proc = subprocess.Popen(["chopin", "run"], cwd=path, env=env, stdout=log, stderr=log,
                            start_new_session=True)
    app_c = os.path.join(path, "src", "app.c")
    try:
        wait_for(lambda: http_get(port, "/")[0] == 200, 120, "chopin run serves the app")
        src = open(app_c).read()
        with open(app_c, "w") as f:
            f.write(src.replace("Welcome to live!", "Edited live!"))
        wait_for(lambda: http_get(port, "/")[1]["data"]["message"] == "Edited live!", 120,
                 "the edited handler answers")
        with open(app_c, "w") as f:
            f.write(src.replace("Welcome to live!", "Broken\"; syntax error"))
        # The build fails; the previous process keeps answering with the edited text.
        def build_failed():
            log.flush()
            return b"build failed" in open(log.name, "rb").read()
        wait_for(build_failed, 120, "chopin run reports the failed build")
        eq(http_get(port, "/")[1]["data"]["message"], "Edited live!", "old process answers")
        check(b"error" in open(log.name, "rb").read(), "the compiler's errors are shown")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise Failure("chopin run did not stop on SIGTERM")
    check(socket.socket().connect_ex(("127.0.0.1", port)) != 0, "the app stopped with chopin run")


def http(port, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data,
                                 method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


def exercise_posts(path, database_url):
    """Starts the generated app on `database_url` and drives the post CRUD over HTTP."""
    port = free_port()
    env = dict(ENV, SERVER_PORT=str(port), WORKERS="2", DATABASE_URL=database_url)
    proc = subprocess.Popen([os.path.join(path, "build", "blog")], cwd=path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: http(port, "GET", "/api/posts")[0] == 200, 20, "the app serves posts")
        tag = str(time.time())
        st, body = http(port, "POST", "/api/posts",
                        {"title": "t" + tag, "body": "b", "published": True})
        eq(st, 201, "create: %r" % body)
        post = body["data"]
        eq(post["published"], True, "bool round trip")
        eq(post["title"], "t" + tag, "title round trip")
        pid = post["id"]
        eq(http(port, "GET", "/api/posts/%d" % pid)[0], 200, "get")
        eq(http(port, "GET", "/api/posts/987654321")[0], 404, "get missing")
        st, body = http(port, "POST", "/api/posts", {"title": "t" + tag, "body": "x",
                                                      "published": False})
        eq(st, 409, "duplicate unique title: %r" % body)
        st, body = http(port, "POST", "/api/posts", {"body": "no title"})
        eq(st, 422, "missing fields")
        fields = [f["field"] for f in body["error"]["fields"]]
        eq(fields, ["title", "published"], "field errors in field order")
        eq(http(port, "GET", "/api/posts?limit=abc")[0], 400, "bad limit")
        st, body = http(port, "PATCH", "/api/posts/%d" % pid, {"published": False})
        eq(st, 200, "patch: %r" % body)
        eq(body["data"]["published"], False, "patched")
        eq(body["data"]["title"], "t" + tag, "patch keeps the other fields")
        st, body = http(port, "PUT", "/api/posts/%d" % pid,
                        {"title": "u" + tag, "body": "c", "published": True})
        eq((st, body["data"]["title"]), (200, "u" + tag), "replace")
        eq(http(port, "DELETE", "/api/posts/%d" % pid)[0], 204, "delete")
        eq(http(port, "DELETE", "/api/posts/%d" % pid)[0], 404, "delete again")
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(15)
        err = proc.stderr.read().decode("utf-8", "replace")
        eq(rc, 0, "clean exit; stderr:\n" + err[-2000:])


def pg_schema_url(pg, name):
    """A schema of its own on the test cluster, so that its migrations meet no other test's."""
    schema = "%s_%d" % (name, os.getpid())
    sh(["psql", "-q", pg, "-c", "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s"
        % (schema, schema)])
    sep = "&" if "?" in pg else "?"
    return schema, pg + sep + "options=-csearch_path%3D" + schema


@case
def generate_resource_crud_on_sqlite_and_postgres():
    path = new_project("blog")
    rc, out = chopin("generate", "resource", "post", "title:string:unique", "body:text",
                     "published:bool", cwd=path)
    eq(rc, 0, "generate: " + out)
    for f in ("src/posts.c", "src/posts.h", "tests/test_posts.c",
              "migrations/0001_create_posts.postgres.sql",
              "migrations/0001_create_posts.sqlite.sql", "migrations/0001_create_posts.down.sql"):
        check(os.path.exists(os.path.join(path, f)), "generate wrote " + f)
    with open(os.path.join(path, "src", "posts.c"), "a") as f:
        f.write("/* edited by hand */\n")
    rc, out = chopin("generate", "resource", "post", "title:string", cwd=path)
    eq(rc, 1, "generating over an existing resource is refused")
    check(open(os.path.join(path, "src", "posts.c")).read().endswith("/* edited by hand */\n"),
          "the edited file is untouched")
    rc, out = chopin("generate", "resource", "thing", "x:complex", cwd=path)
    eq(rc, 2, "an unknown type")
    rc, out = chopin("generate", "resource", "thing", "when:int", cwd=path)
    eq(rc, 2, "an SQL keyword as a field name")
    # Builds without a warning under the project's warning flags, and its tests pass.
    _, out = sh(["make", "CFLAGS=-O2 -g -Werror"], cwd=path)
    _, out = sh(["make", "test"], cwd=path)
    check("test_posts" in out and out.count(" passed, 0 failed") >= 2, out[-2000:])
    dbfile = os.path.join(path, "blog.db")
    exercise_posts(path, "sqlite://" + dbfile)
    env = dict(ENV, DATABASE_URL="sqlite://" + dbfile)
    _, out = sh(["chopin", "db", "status"], cwd=path, env=env)
    check("create_posts" in out and "applied" in out, "db status: " + out)
    _, out = sh(["chopin", "db", "rollback"], cwd=path, env=env)
    _, out = sh(["chopin", "db", "status"], cwd=path, env=env)
    check("pending" in out, "rolled back: " + out)
    _, out = sh(["chopin", "db", "migrate"], cwd=path, env=env)
    pg = os.environ.get("CHOPIN_PG_URL")
    if pg:
        schema, url = pg_schema_url(pg, "cli_blog")
        try:
            exercise_posts(path, url)
        finally:
            sh(["psql", "-q", pg, "-c", "DROP SCHEMA IF EXISTS %s CASCADE" % schema],
               check_rc=False)
    elif os.environ.get("CHOPIN_REQUIRE_PG") == "1":
        raise Failure("CHOPIN_PG_URL is not set")


def exercise_owned_posts(path, database_url):
    """Starts the app generated with --auth and checks over HTTP that posts need a token and
    belong to the user who created them."""
    port = free_port()
    env = dict(ENV, SERVER_PORT=str(port), WORKERS="2", DATABASE_URL=database_url)
    proc = subprocess.Popen([os.path.join(path, "build", "vault")], cwd=path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: http(port, "GET", "/api/posts")[0] == 401, 20,
                 "the app answers 401 on posts without a token")
        post = {"title": "hello", "body": "b", "published": True}
        eq(http(port, "POST", "/api/posts", post)[0], 401, "create without a token")
        eq(http(port, "GET", "/api/posts", token="not.a.token")[0], 401, "a bad token")
        tag = str(time.time()).replace(".", "")[-12:]
        users = {}
        for who in ("ada", "bob"):
            st, body = http(port, "POST", "/api/auth/signup",
                            {"email": "%s%s@example.org" % (who, tag), "username": who + tag,
                             "password": "correct horse battery"})
            eq(st, 201, "signup of %s: %r" % (who, body))
            users[who] = (body["data"]["access_token"], body["data"]["user"]["id"])
        ada, bob = users["ada"][0], users["bob"][0]
        st, body = http(port, "POST", "/api/posts", post, token=ada)
        eq(st, 201, "create with a token: %r" % body)
        eq(body["data"]["owner_id"], users["ada"][1], "the row belongs to its creator")
        pid = body["data"]["id"]
        st, body = http(port, "GET", "/api/posts/%d" % pid, token=ada)
        eq((st, body["data"]["title"]), (200, "hello"), "the owner reads it")
        st, body = http(port, "GET", "/api/posts", token=ada)
        eq([p["id"] for p in body["data"]], [pid], "the owner's list")
        # Another user: 404 everywhere, as for a row that does not exist, and an empty list.
        eq(http(port, "GET", "/api/posts/%d" % pid, token=bob)[0], 404, "another user's get")
        eq(http(port, "PUT", "/api/posts/%d" % pid, {"title": "x", "body": "y",
                                                      "published": False}, token=bob)[0],
           404, "another user's replace")
        eq(http(port, "PATCH", "/api/posts/%d" % pid, {"title": "x"}, token=bob)[0], 404,
           "another user's patch")
        eq(http(port, "DELETE", "/api/posts/%d" % pid, token=bob)[0], 404,
           "another user's delete")
        st, body = http(port, "GET", "/api/posts", token=bob)
        eq((st, body["data"]), (200, []), "another user's list excludes it")
        st, body = http(port, "GET", "/api/posts/%d" % pid, token=ada)
        eq((st, body["data"]["title"], body["data"]["published"]), (200, "hello", True),
           "untouched by the other user")
        st, body = http(port, "PATCH", "/api/posts/%d" % pid, {"published": False}, token=ada)
        eq((st, body["data"]["published"]), (200, False), "the owner's patch")
        eq(http(port, "DELETE", "/api/posts/%d" % pid, token=ada)[0], 204, "the owner's delete")
        eq(http(port, "GET", "/api/posts/%d" % pid, token=ada)[0], 404, "deleted")
        exercise_owned_refs(port, ada, bob, tag)
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(15)
        err = proc.stderr.read().decode("utf-8", "replace")
        eq(rc, 0, "clean exit; stderr:\n" + err[-2000:])


def exercise_owned_refs(port, ada, bob, tag):
    """comment post_id:ref:post tag_id:ref:tag:optional --auth: a comment may name only its
    user's own posts (posts has owner_id), on create, replace and patch, and another user's
    post answers exactly as a missing one (409); tags has no owner_id, so any tag will do."""
    def new_post(token):
        st, body = http(port, "POST", "/api/posts", {"title": "p", "body": "b",
                                                      "published": True}, token=token)
        eq(st, 201, "a post to reference: %r" % body)
        return body["data"]["id"]
    ada_post, bob_post, bob_post2 = new_post(ada), new_post(bob), new_post(bob)
    st, body = http(port, "POST", "/api/tags", {"name": "t" + tag})
    eq(st, 201, "a shared tag: %r" % body)
    tag_id = body["data"]["id"]

    missing = http(port, "POST", "/api/comments", {"body": "c", "post_id": 987654321},
                   token=bob)
    eq(missing[0], 409, "a comment on a missing post: %r" % (missing[1],))
    cross = http(port, "POST", "/api/comments", {"body": "c", "post_id": ada_post}, token=bob)
    eq(cross, missing, "a comment on another user's post answers as on a missing one")
    st, body = http(port, "POST", "/api/comments",
                    {"body": "c", "post_id": bob_post, "tag_id": tag_id}, token=bob)
    eq(st, 201, "a comment on one's own post, with a shared tag: %r" % body)
    eq((body["data"]["post_id"], body["data"]["tag_id"]), (bob_post, tag_id), "stored")
    cid = body["data"]["id"]
    path = "/api/comments/%d" % cid
    eq(http(port, "PUT", path, {"body": "d", "post_id": ada_post}, token=bob), missing,
       "a replace naming another user's post")
    eq(http(port, "PATCH", path, {"post_id": ada_post}, token=bob), missing,
       "a patch naming another user's post")
    st, body = http(port, "GET", path, token=bob)
    eq((st, body["data"]["post_id"], body["data"]["body"]), (200, bob_post, "c"),
       "the refused changes changed nothing")
    st, body = http(port, "PATCH", path, {"post_id": bob_post2}, token=bob)
    eq((st, body["data"]["post_id"]), (200, bob_post2), "a patch to one's own other post")
    st, body = http(port, "PUT", path, {"body": "e", "post_id": bob_post, "tag_id": None},
                    token=bob)
    eq((st, body["data"]["post_id"], body["data"]["tag_id"]), (200, bob_post, None),
       "a replace with one's own post and no tag")
    st, body = http(port, "POST", "/api/comments", {"body": "c", "post_id": ada_post},
                    token=ada)
    eq((st, body["data"]["post_id"]), (201, ada_post), "the post's owner comments on it")


@case
def generate_auth_resource_on_sqlite_and_postgres():
    path = new_project("vault")
    rc, out = chopin("generate", "resource", "post", "title:string", "body:text",
                     "published:bool", "--auth", cwd=path)
    eq(rc, 0, "generate --auth: " + out)
    for f in ("src/posts.c", "src/auth.c", "src/auth.h", "tests/test_posts.c"):
        check(os.path.exists(os.path.join(path, f)), "generate --auth wrote " + f)
    check("\nJWT_SECRET=" in open(os.path.join(path, ".env.example")).read(),
          ".env.example names JWT_SECRET")
    sql = open(os.path.join(path, "migrations", "0001_create_posts.postgres.sql")).read()
    check("owner_id bigint NOT NULL REFERENCES auth_users (id)" in sql, sql)
    # A second --auth resource reuses the wiring; regenerating one is refused, untouched.
    rc, out = chopin("generate", "resource", "note", "body:text", "--auth", cwd=path)
    eq(rc, 0, "a second --auth resource: " + out)
    check("src/auth.c" not in out, "auth is wired once: " + out)
    # References: posts is owner-scoped (its migration has owner_id), tags is shared.
    rc, out = chopin("generate", "resource", "tag", "name:string", cwd=path)
    eq(rc, 0, "a shared resource: " + out)
    rc, out = chopin("generate", "resource", "comment", "body:text", "post_id:ref:post",
                     "tag_id:ref:tag:optional", "--auth", cwd=path)
    eq(rc, 0, "an --auth resource with references: " + out)
    check("post_id: posts is owner-scoped" in out and "tag_id: tags has no owner_id" in out,
          "says which references are owner-checked: " + out)
    src = open(os.path.join(path, "src", "comments.c")).read()
    check("owner_id = $1) THEN $3 ELSE 0 END" in src and "tags WHERE" not in src,
          "the statements check post_id's owner, not tag_id's:\n" + src)
    test_src = open(os.path.join(path, "tests", "test_comments.c")).read()
    check("alice_post_id" in test_src and "== 409" in test_src,
          "the generated test tries another user's post:\n" + test_src)
    app_c = open(os.path.join(path, "src", "app.c")).read()
    eq(app_c.count("auth_mount(app)"), 1, "auth_mount once in src/app.c")
    with open(os.path.join(path, "src", "auth.c"), "a") as f:
        f.write("/* edited by hand */\n")
    rc, out = chopin("generate", "resource", "post", "title:string", "--auth", cwd=path)
    eq(rc, 1, "generating over an existing resource is refused")
    check(open(os.path.join(path, "src", "auth.c")).read().endswith("/* edited by hand */\n"),
          "the edited file is untouched")
    _, out = sh(["make", "CFLAGS=-O2 -g -Werror"], cwd=path)
    _, out = sh(["make", "test"], cwd=path)
    check("test_posts" in out and "test_comments" in out and
          out.count(" passed, 0 failed") >= 5, out[-2000:])
    # Production refuses to start without a signing key.
    env = dict(ENV, ENVIRONMENT="production", DATABASE_URL="sqlite::memory:")
    env.pop("JWT_SECRET", None)
    p = subprocess.run([os.path.join(path, "build", "vault")], cwd=path, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    eq(p.returncode, 2, "production without JWT_SECRET")
    check(b"JWT_SECRET" in p.stderr, "says why: %r" % p.stderr)
    exercise_owned_posts(path, "sqlite://" + os.path.join(path, "vault.db"))
    pg = os.environ.get("CHOPIN_PG_URL")
    if pg:
        schema, url = pg_schema_url(pg, "cli_vault")
        try:
            exercise_owned_posts(path, url)
        finally:
            sh(["psql", "-q", pg, "-c", "DROP SCHEMA IF EXISTS %s CASCADE" % schema],
               check_rc=False)
    elif os.environ.get("CHOPIN_REQUIRE_PG") == "1":
        raise Failure("CHOPIN_PG_URL is not set")


if __name__ == "__main__":
    try:
        run("cli")
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
