"""examples/notes.c, the persisted notes API in one file of at most 150 lines, over HTTP: on
SQLite (a restart keeps the notes; a fresh database holds only the example's table and
chopin_migrations) and on PostgreSQL (a schema of its own on the CHOPIN_PG_URL cluster; fails
without it, as the database suites do). Then the chopin binary's /api/notes, the same resource:
two instances on one database see each other's notes, on both drivers."""
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import json

from lib import BIN, Server, case, check, eq, get, run

EXAMPLE = os.environ.get("CHOPIN_EXAMPLE_NOTES",
                         os.path.join(os.path.dirname(BIN), "examples", "notes"))
PG_URL = os.environ.get("CHOPIN_PG_URL")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def server(url):
    return Server(binary=EXAMPLE, env={"DATABASE_URL": url})


def send(s, method, path, body=None, raw=None):
    c = s.connect()
    try:
        headers = {}
        data = raw
        if body is not None:
            data = json.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        return c.request(method, path, headers=headers, body=data)
    finally:
        c.close()


def error_of(r, status, code):
    eq(r.status, status, "status of %r" % r.body[:300])
    doc = r.json()
    eq(doc["error"]["code"], code)
    return doc["error"]


def exercise(s):
    """The whole API once, on an empty database. Returns the notes left."""
    r = send(s, "POST", "/notes", {"title": "First", "body": "hello"})
    eq(r.status, 201, "create: %r" % r.body)
    n1 = r.json()["data"]
    eq((n1["title"], n1["body"]), ("First", "hello"))
    check(isinstance(n1["id"], int) and ISO.match(n1["created_at"]), "typed row %r" % n1)
    ids = [n1["id"]] + [send(s, "POST", "/notes", {"title": "n%d" % i}).json()["data"]["id"]
                        for i in range(4)]
    eq(len(set(ids)), 5, "unique ids")
    eq(get(s, "/notes/%d" % n1["id"]).json()["data"], n1)
    # Pagination, oldest first; bad values are 400.
    eq([n["id"] for n in get(s, "/notes").json()["data"]], ids)
    eq([n["id"] for n in get(s, "/notes?limit=2&offset=1").json()["data"]], ids[1:3])
    eq(get(s, "/notes?offset=10").json()["data"], [])
    for q in ("limit=0", "limit=101", "offset=-1", "limit=abc"):
        error_of(get(s, "/notes?" + q), 400, "BAD_REQUEST")
    # Validation.
    e = error_of(send(s, "POST", "/notes", {"body": "x"}), 422, "VALIDATION_ERROR")
    eq(e["fields"], [{"field": "title", "message": "is required"}])
    e = error_of(send(s, "POST", "/notes", {"title": "", "body": 5}), 422, "VALIDATION_ERROR")
    eq(sorted(f["field"] for f in e["fields"]), ["body", "title"])
    error_of(send(s, "POST", "/notes", {"title": "x" * 201}), 422, "VALIDATION_ERROR")
    error_of(send(s, "POST", "/notes", raw="[1]"), 422, "VALIDATION_ERROR")
    error_of(send(s, "POST", "/notes", raw="{"), 422, "VALIDATION_ERROR")
    # Updates and 404s.
    r = send(s, "PUT", "/notes/%d" % n1["id"], {"title": "Renamed"})
    eq((r.status, r.json()["data"]["title"], r.json()["data"]["body"]), (200, "Renamed", ""))
    r = send(s, "PATCH", "/notes/%d" % n1["id"], {"body": "patched"})
    eq((r.status, r.json()["data"]["title"], r.json()["data"]["body"]),
       (200, "Renamed", "patched"))
    eq(error_of(send(s, "PATCH", "/notes/99999", {"body": "x"}), 404, "NOT_FOUND")["message"],
       "Note not found")
    error_of(send(s, "PUT", "/notes/99999", {"title": "x"}), 404, "NOT_FOUND")
    error_of(get(s, "/notes/99999"), 404, "NOT_FOUND")
    error_of(get(s, "/notes/abc"), 400, "BAD_REQUEST")
    r = send(s, "DELETE", "/notes/%d" % ids[-1])
    eq((r.status, r.body), (204, b""))
    error_of(send(s, "DELETE", "/notes/%d" % ids[-1]), 404, "NOT_FOUND")
    return get(s, "/notes").json()["data"]


@case
def example_notes_on_sqlite_survives_a_restart():
    d = tempfile.mkdtemp(prefix="chopin-example-notes-")
    try:
        path = os.path.join(d, "notes.db")
        url = "sqlite://" + path
        with server(url) as s:
            left = exercise(s)
        eq(len(left), 4)
        with server(url) as s:
            eq(get(s, "/notes").json()["data"], left, "the notes after a restart")
            eq(send(s, "POST", "/notes", {"title": "again"}).status, 201)
        c = sqlite3.connect(path)
        tables = sorted(r[0] for r in c.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"))
        c.close()
        eq(tables, ["chopin_migrations", "notes"], "only the example's tables")
        out = subprocess.run([EXAMPLE, "--migrate-status"], env=dict(os.environ, DATABASE_URL=url),
                             capture_output=True, timeout=30)
        eq(out.returncode, 0)
        check(b"create_notes" in out.stdout and b"applied" in out.stdout, out.stdout)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@case
def example_notes_on_postgres():
    check(PG_URL, "CHOPIN_PG_URL is not set: no PostgreSQL to test against")
    # A schema of its own: the chopin binary's tests have a notes table in the default one.
    sql = ("SET client_min_messages = warning; DROP SCHEMA IF EXISTS chopin_example_notes CASCADE;"
           " CREATE SCHEMA chopin_example_notes")
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", PG_URL, "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)
    url = PG_URL + ("&" if "?" in PG_URL else "?") + "options=-csearch_path%3Dchopin_example_notes"
    with server(url) as s:
        left = exercise(s)
    with server(url) as s:
        eq(get(s, "/notes").json()["data"], left, "the notes after a restart")


@case
def example_notes_is_at_most_150_lines():
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))), "examples", "notes.c")) as f:
        n = len(f.read().splitlines())
    check(n <= 150, "examples/notes.c has %d lines" % n)


def two_instances(url):
    """A note written through one chopin instance is read, changed and deleted through another,
    and survives both restarting."""
    with Server(workers=2, env={"DATABASE_URL": url}) as a, \
            Server(workers=2, env={"DATABASE_URL": url}) as b:
        c = a.connect()
        r = c.request("POST", "/api/notes", headers={"Content-Type": "application/json"},
                      body=json.dumps({"title": "shared", "body": "x"}))
        eq(r.status, 201)
        note = r.json()["data"]
        check(ISO.match(note["created_at"]), note)
        eq(get(b, "/api/notes/%d" % note["id"]).json()["data"], note, "read through the other")
        c.close()
    with Server(env={"DATABASE_URL": url}) as s:
        eq(get(s, "/api/notes/%d" % note["id"]).json()["data"], note, "after a restart")
        c = s.connect()
        eq(c.request("DELETE", "/api/notes/%d" % note["id"]).json()["data"],
           {"id": note["id"], "deleted": True})
        c.close()
        eq(get(s, "/api/notes/%d" % note["id"]).status, 404)


@case
def chopin_notes_are_shared_on_sqlite():
    d = tempfile.mkdtemp(prefix="chopin-notes-")
    try:
        two_instances("sqlite://" + os.path.join(d, "chopin.db"))
    finally:
        shutil.rmtree(d, ignore_errors=True)


@case
def chopin_notes_are_shared_on_postgres():
    check(PG_URL, "CHOPIN_PG_URL is not set: no PostgreSQL to test against")
    two_instances(PG_URL)


if __name__ == "__main__":
    run("example_notes")
