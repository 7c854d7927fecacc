"""Helpers shared by the suites of the built-in account routes (test_auth_routes.py,
test_auth_sessions.py): the auth test application on SQLite and, when CHOPIN_PG_URL is set, on
PostgreSQL."""
import json
import os
import sqlite3
import subprocess
import tempfile

from lib import BIN, Server, check

AUTH_APP = os.environ.get("CHOPIN_AUTH_APP", os.path.join(os.path.dirname(BIN), "auth-test-app"))
PG_URL = os.environ.get("CHOPIN_PG_URL")
REQUIRE_PG = os.environ.get("CHOPIN_REQUIRE_PG") == "1"
SECRET = "routes-secret-0123456789-abcdefghijklmn"
CHEAP = {"AUTH_ARGON2_MEMORY": "64", "AUTH_ARGON2_ITERATIONS": "1"}
TABLES = "auth_refresh_tokens, auth_login_failures, auth_rate_limits, auth_users"


def psql(url, sql, strict=True):
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url,
                        "-c", sql], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 or not strict, "psql: %s" % p.stderr.strip())
    return [tuple(line.split("|")) for line in p.stdout.strip().splitlines() if line]


def databases():
    """(name, url) for each backend, each empty of the auth tables."""
    tmp = tempfile.mkdtemp(prefix="chopin-auth-")
    yield "sqlite", "sqlite://" + os.path.join(tmp, "auth.db")
    if PG_URL:
        # Before the first server ran, chopin_migrations does not exist yet: not an error.
        psql(PG_URL, "SET client_min_messages = warning; DROP TABLE IF EXISTS %s;"
                     " DELETE FROM chopin_migrations WHERE set_name = 'auth'" % TABLES, strict=False)
        yield "postgres", PG_URL
    else:
        check(not REQUIRE_PG, "CHOPIN_REQUIRE_PG=1 but no CHOPIN_PG_URL")


def query(url, sql):
    """Rows of `sql` on either backend, every value as text (None for NULL)."""
    if url.startswith("sqlite://"):
        c = sqlite3.connect(url[len("sqlite://"):])
        try:
            return [tuple(None if v is None else str(v) for v in r) for r in c.execute(sql)]
        finally:
            c.close()
    return [tuple(v if v != "" else None for v in r) for r in psql(url, sql)]


def app(url, env=None, workers=2):
    e = {"JWT_SECRET": SECRET, "ENVIRONMENT": "production"}
    e.update(CHEAP)
    e.update(env or {})
    s = Server(binary=AUTH_APP, env=e, workers=workers)
    s.env["DATABASE_URL"] = url
    return s


def post(c, path, obj, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return c.request("POST", path, headers=h, body=obj if isinstance(obj, (str, bytes)) else json.dumps(obj))
