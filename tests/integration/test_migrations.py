"""Migrations and the one-call database wiring, as processes: the chopin binary's --migrate-*
commands, four processes migrating one database at once, startup errors (a failing migration,
an edited one, a broken statement) and pools started with the workers, on SQLite and on
PostgreSQL (CHOPIN_PG_URL; skipped without it unless CHOPIN_REQUIRE_PG=1).

The test app (tests/db/apps/migrate_app.c, built as db-test-app next to the binary) loads its
migrations from $MIGRATIONS_DIR and declares the statement $STATEMENT_SQL."""
import os
import shutil
import sqlite3
import subprocess
import tempfile

from lib import BIN, Failure, Server, case, check, eq, get, run

PG_URL = os.environ.get("CHOPIN_PG_URL", "")
REQUIRE_PG = os.environ.get("CHOPIN_REQUIRE_PG") == "1"
APP = os.path.join(os.path.dirname(BIN), "db-test-app")
TMP = tempfile.mkdtemp(prefix="chopin-migrations-")
SLOW = 60 if "debug" in BIN else 30


class Db:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema first on the search path."""

    def __init__(self, driver, name):
        self.driver = driver
        self.name = name
        if driver == "sqlite":
            self.path = os.path.join(TMP, name + ".db")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.unlink(self.path + suffix)
            self.url = "sqlite://" + self.path
        else:
            psql(PG_URL, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s" % (name, name))
            self.url = PG_URL + ("&" if "?" in PG_URL else "?") + "options=-csearch_path%3D" + name

    def query(self, sql):
        if self.driver == "sqlite":
            c = sqlite3.connect(self.path)
            try:
                return [tuple(str(v) for v in r) for r in c.execute(sql).fetchall()]
            finally:
                c.close()
        out = psql(self.url, sql)
        return [tuple(line.split("|")) for line in out.splitlines() if line]

    def tables(self):
        if self.driver == "sqlite":
            rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
        else:
            rows = self.query("SELECT table_name FROM information_schema.tables "
                              "WHERE table_schema = current_schema() ORDER BY 1")
        return [r[0] for r in rows]

    def drop(self):
        if self.driver == "postgres":
            psql(PG_URL, "DROP SCHEMA IF EXISTS %s CASCADE" % self.name)


def psql(url, sql):
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url,
                        "-c", sql], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise Failure("psql: %s" % p.stderr.strip())
    return p.stdout.strip()


def drivers():
    out = ["sqlite"]
    if PG_URL:
        out.append("postgres")
    elif REQUIRE_PG:
        raise Failure("CHOPIN_PG_URL is not set and CHOPIN_REQUIRE_PG=1")
    return out


def env_for(url, **extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("SERVER_", "DATABASE"))}
    e.update({"DATABASE_URL": url, "ENVIRONMENT": "production", "WORKERS": "2",
              "JWT_SECRET": "migrations-secret-0123456789-abcdefghij",
              "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0"})
    e.update(extra)
    return e


def command(binary, url, *args, **extra):
    """Runs binary with args to completion; returns (exit status, stdout, stderr)."""
    p = subprocess.run([binary] + list(args), env=env_for(url, **extra), capture_output=True,
                       text=True, timeout=SLOW, cwd=TMP)
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        check(marker not in p.stderr, "sanitizer report:\n" + p.stderr[-3000:])
    return p.returncode, p.stdout, p.stderr


def error_lines(stderr):
    """The lines of stderr that are not the log's info lines."""
    return [l for l in stderr.splitlines() if l.strip() and " info " not in l]


def status_rows(stdout):
    lines = stdout.strip().splitlines()
    check(lines and lines[0].split()[:4] == ["SET", "VERSION", "NAME", "STATUS"],
          "status header: %r" % stdout)
    return [tuple(l.split()[:4]) for l in lines[1:]]


def migrations_dir(name, files):
    d = os.path.join(TMP, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for fname, text in files.items():
        with open(os.path.join(d, fname), "w") as f:
            f.write(text)
    return d


# The chopin binary's migrations: its notes resource's, the auth routes', then TechEmpower's.
TECHEMPOWER = [("notes", "1", "create_notes"),
               ("auth", "1", "create_auth_users"), ("auth", "2", "create_auth_refresh_tokens"),
               ("auth", "3", "create_auth_limits"),
               ("techempower", "1", "create_world_fortune"), ("techempower", "2", "seed_world_fortune"),
               ("techempower", "3", "seed_fortune")]


@case
def migrate_commands_of_the_chopin_binary():
    for driver in drivers():
        db = Db(driver, "cli_" + driver[:2])
        rc, out, err = command(BIN, db.url, "--migrate-status")
        eq(rc, 0, "%s: --migrate-status exit (%s)" % (driver, err))
        eq(status_rows(out), [t + ("pending",) for t in TECHEMPOWER], driver + " status")
        eq(db.tables(), [], driver + ": status creates nothing")

        rc, out, err = command(BIN, db.url, "--migrate-only")
        eq(rc, 0, "%s: --migrate-only exit (%s)" % (driver, err))
        # The library creates no table of its own: only the app's and chopin_migrations.
        eq(db.tables(), ["auth_login_failures", "auth_rate_limits", "auth_refresh_tokens",
                         "auth_users", "chopin_migrations", "fortune", "notes", "world"],
           driver + " tables")
        eq(db.query("SELECT count(*) FROM world"), [("10000",)], driver + " world rows")
        eq(db.query("SELECT count(*) FROM fortune"), [("12",)], driver + " fortune rows")
        rc, out, err = command(BIN, db.url, "--migrate-status")
        eq(status_rows(out), [t + ("applied",) for t in TECHEMPOWER], driver + " applied")

        rc, out, err = command(BIN, db.url, "--migrate-down", "8")
        eq(rc, 1, driver + ": --migrate-down 8 refused")
        lines = error_lines(err)
        eq(len(lines), 1, "one line: %r" % err)
        check("only 7 applied" in lines[0], lines[0])
        rc, out, err = command(BIN, db.url, "--migrate-down=2")
        eq(rc, 0, "%s: --migrate-down 2 (%s)" % (driver, err))
        eq(db.query("SELECT count(*) FROM world"), [("0",)], driver + " seed rolled back")
        eq([r[3] for r in status_rows(command(BIN, db.url, "--migrate-status")[1])],
           ["applied"] * 5 + ["pending", "pending"], driver + " after down")
        rc, out, err = command(BIN, db.url, "--migrate-down", "x")
        eq(rc, 2, "bad --migrate-down argument")
        check("--migrate-down needs a number" in err, err)
        db.drop()


@case
def four_processes_start_together():
    for driver in drivers():
        db = Db(driver, "race_" + driver[:2])
        procs = [subprocess.Popen([BIN, "--migrate-only"], env=env_for(db.url), cwd=TMP,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        results = [p.communicate(timeout=SLOW) for p in procs]
        for p, (out, err) in zip(procs, results):
            eq(p.returncode, 0, "%s: a process failed: %s" % (driver, err))
        applied = sum(err.count("info migration") for _, err in results)
        eq(applied, len(TECHEMPOWER), driver + ": migrations applied in all, over the 4 processes")
        eq(db.query("SELECT set_name, version, count(*) FROM chopin_migrations "
                    "GROUP BY set_name, version ORDER BY 1, 2"),
           sorted((t[0], t[1], "1") for t in TECHEMPOWER), driver + " records")
        eq(db.query("SELECT count(*), count(DISTINCT id) FROM world"), [("10000", "10000")],
           driver + " world")
        eq(db.query("SELECT count(*) FROM fortune"), [("12",)], driver + " fortune")
        db.drop()


@case
def failing_migration_stops_startup_and_leaves_nothing_half_done():
    d = migrations_dir("failing", {
        "0001_posts.sql": "CREATE TABLE posts (id integer PRIMARY KEY, title text NOT NULL);",
        "0002_broken.sql": "INSERT INTO posts VALUES (1, 'x'); CREATE TABLE half (x integer);"
                           " INSERT INTO nowhere VALUES (1);",
    })
    for driver in drivers():
        db = Db(driver, "fail_" + driver[:2])
        rc, out, err = command(APP, db.url, MIGRATIONS_DIR=d)
        eq(rc, 1, driver + " exit status")
        lines = error_lines(err)
        eq(len(lines), 1, "one line: %r" % err)
        check("migration app/0002_broken failed" in lines[0] and "nowhere" in lines[0], lines[0])
        eq(db.tables(), ["chopin_migrations", "posts"], driver + " tables")
        eq(db.query("SELECT count(*) FROM posts"), [("0",)], driver + " rolled back")
        eq(db.query("SELECT version FROM chopin_migrations"), [("1",)], driver + " recorded")
        db.drop()


@case
def edited_migration_is_a_startup_error():
    d = migrations_dir("edited", {"0001_posts.sql": "CREATE TABLE posts (id integer PRIMARY KEY);"})
    for driver in drivers():
        db = Db(driver, "edit_" + driver[:2])
        rc, out, err = command(APP, db.url, "--migrate-only", MIGRATIONS_DIR=d)
        eq(rc, 0, "%s: first run (%s)" % (driver, err))
        with open(os.path.join(d, "0001_posts.sql"), "a") as f:
            f.write("\n-- edited\n")
        rc, out, err = command(APP, db.url, MIGRATIONS_DIR=d)
        eq(rc, 1, driver + " exit status")
        lines = error_lines(err)
        eq(len(lines), 1, "one line: %r" % err)
        check("migration app/0001_posts was changed after it was applied" in lines[0], lines[0])
        rc, out, err = command(APP, db.url, "--migrate-status", MIGRATIONS_DIR=d)
        eq(rc, 0, "status exit")
        eq(status_rows(out), [("app", "1", "posts", "changed")], "status")
        with open(os.path.join(d, "0001_posts.sql"), "w") as f:
            f.write("CREATE TABLE posts (id integer PRIMARY KEY);")
        db.drop()


@case
def statement_checked_after_migrations():
    d = migrations_dir("stmts", {
        "0001_posts.sql": "CREATE TABLE posts (id integer PRIMARY KEY, title text NOT NULL);",
        "0002_seed.postgres.sql": "INSERT INTO posts VALUES (1, 'from postgres');",
        "0002_seed.sqlite.sql": "INSERT INTO posts VALUES (1, 'from sqlite');",
    })
    for driver in drivers():
        db = Db(driver, "stmt_" + driver[:2])
        # A typo in a column: startup fails naming the statement, after the migrations ran.
        rc, out, err = command(APP, db.url, MIGRATIONS_DIR=d,
                               STATEMENT_SQL="SELECT titel FROM posts WHERE id = 1")
        eq(rc, 1, driver + " exit status")
        lines = error_lines(err)
        eq(len(lines), 1, "one line: %r" % err)
        check("statement 'probe'" in lines[0] and "titel" in lines[0], lines[0])
        eq(db.query("SELECT title FROM posts"), [("from " + driver,)], driver + " variant ran")
        # Fixed: the statement serves requests, on the right driver's data.
        srv = Server(binary=APP, workers=2, cwd=TMP,
                     env={"DATABASE_URL": db.url, "MIGRATIONS_DIR": d,
                          "STATEMENT_SQL": "SELECT title FROM posts WHERE id = 1"})
        with srv:
            r = get(srv, "/probe")
            eq(r.status, 200, "probe status")
            eq(r.json()["data"], "from " + driver, "probe")
        db.drop()


@case
def pools_start_and_stop_with_the_workers():
    for driver in drivers():
        db = Db(driver, "pool_" + driver[:2])
        srv = Server(binary=APP, workers=2, cwd=TMP,
                     env={"DATABASE_URL": db.url, "DB_POOL_SIZE": "3"})
        with srv:
            for _ in range(20):  # both workers answer some of these
                r = get(srv, "/pool")
                eq(r.status, 200, "pool status")
                data = r.json()["data"]
                eq(data["driver"], driver, "driver")
                # DB_POOL_SIZE: PostgreSQL connections per worker, SQLite query threads.
                eq(data["connections"], 3, driver + " pool size")
                eq(data["hook_saw_pool"], 1, "the app's worker hook runs after the pool started")
            r = get(srv, "/probe")
            eq(r.json()["data"], "1", "SELECT 1")
        # A clean exit under SIGTERM (checked by the context manager) means every pool stopped
        # and, under ASan, that nothing leaked.
        eq(db.tables(), ["chopin_migrations"], driver + ": no migrations, only the record table")
        db.drop()


@case
def example_db_hello():
    example = os.path.join(os.path.dirname(BIN), "examples", "db_hello")
    for driver in drivers():
        db = Db(driver, "hello_" + driver[:2])
        srv = Server(binary=example, workers=2, cwd=TMP, env={"DATABASE_URL": db.url})
        with srv:
            r = get(srv, "/greetings/1")
            eq(r.status, 200, "found")
            eq(r.json()["data"], {"id": 1, "text": "Hello, World!"}, "row")
            eq(get(srv, "/greetings/3").status, 404, "missing row")
            eq(get(srv, "/greetings/x").status, 400, "bad id")
        eq(db.tables(), ["chopin_migrations", "greetings"], driver + " tables")
        db.drop()


@case
def memory_database_and_misuse():
    d = migrations_dir("memory", {"0001_t.sql": "CREATE TABLE t (x integer); INSERT INTO t VALUES (7);"})
    srv = Server(binary=APP, workers=2, cwd=TMP,
                 env={"DATABASE_URL": "sqlite::memory:", "MIGRATIONS_DIR": d,
                      "STATEMENT_SQL": "SELECT x FROM t"})
    with srv:
        eq(get(srv, "/probe").json()["data"], "7", "in-memory table from a migration")
    # A missing directory is one clear line.
    rc, out, err = command(APP, "sqlite::memory:", MIGRATIONS_DIR=os.path.join(TMP, "absent"))
    eq(rc, 1, "missing directory exit")
    lines = error_lines(err)
    eq(len(lines), 1, "one line: %r" % err)
    check("cannot open migrations directory" in lines[0], lines[0])
    # Two migrate commands at once are refused.
    rc, out, err = command(APP, "sqlite::memory:", "--migrate-only", "--migrate-status")
    eq(rc, 2, "two commands")


if __name__ == "__main__":
    try:
        run("integration/migrations")
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
