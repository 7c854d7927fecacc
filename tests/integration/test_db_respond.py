"""Answering requests straight from queries, and database errors as envelopes, over HTTP, on
SQLite and on PostgreSQL (CHOPIN_PG_URL; the PostgreSQL cases fail without it, as the database
suites do): tests/apps/db_app.c built as build/db-app next to the binary under test."""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile

from lib import BIN, Server, case, check, eq, get, run

DB_APP = os.environ.get("CHOPIN_DB_APP", os.path.join(os.path.dirname(BIN), "db-app"))
PG_URL = os.environ.get("CHOPIN_PG_URL")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

SQLITE_SCHEMA = """
DROP TABLE IF EXISTS dbapp_item; DROP TABLE IF EXISTS dbapp_parent;
CREATE TABLE dbapp_parent (id integer PRIMARY KEY);
CREATE TABLE dbapp_item (id integer PRIMARY KEY, parent_id integer REFERENCES dbapp_parent (id),
  name text NOT NULL UNIQUE, qty integer NOT NULL DEFAULT 0 CHECK (qty >= 0),
  active boolean NOT NULL DEFAULT 1, created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP);
INSERT INTO dbapp_parent VALUES (1);
"""

PG_SCHEMA = """
SET client_min_messages = warning;
DROP TABLE IF EXISTS dbapp_item; DROP TABLE IF EXISTS dbapp_parent;
CREATE TABLE dbapp_parent (id integer PRIMARY KEY);
CREATE TABLE dbapp_item (id serial PRIMARY KEY, parent_id integer REFERENCES dbapp_parent (id),
  name text NOT NULL UNIQUE, qty integer NOT NULL DEFAULT 0 CHECK (qty >= 0),
  active boolean NOT NULL DEFAULT true,
  created_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'));
INSERT INTO dbapp_parent VALUES (1);
CREATE OR REPLACE FUNCTION dbapp_fail() RETURNS int AS
  $$ BEGIN RAISE EXCEPTION 'dbapp failure detail'; END $$ LANGUAGE plpgsql;
"""


class Database:
    """A fresh schema on one driver; .url for DATABASE_URL."""

    def __init__(self, driver):
        self.driver = driver
        self.dir = None
        if driver == "sqlite":
            self.dir = tempfile.mkdtemp(prefix="chopin-dbapp-")
            path = os.path.join(self.dir, "app.db")
            c = sqlite3.connect(path)
            c.executescript(SQLITE_SCHEMA)
            c.close()
            self.url = "sqlite://" + path
        else:
            check(PG_URL, "CHOPIN_PG_URL is not set: no PostgreSQL to test against")
            subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", PG_URL, "-c", PG_SCHEMA],
                           check=True, stdout=subprocess.DEVNULL)
            self.url = PG_URL

    def close(self):
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def app(db, **env):
    e = {"DATABASE_URL": db.url}
    e.update(env)
    return Server(binary=DB_APP, env=e)


def send(s, method, path, body=None):
    c = s.connect()
    try:
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        return c.request(method, path, headers=headers, body=data)
    finally:
        c.close()


def error_of(r, status, code):
    eq(r.status, status, "status of %r" % r.body[:200])
    doc = r.json()
    eq(doc["success"], False)
    eq(doc["error"]["code"], code)
    return doc["error"]["message"]


def crud(driver):
    db = Database(driver)
    try:
        with app(db) as s:
            r = get(s, "/items")
            eq((r.status, r.json()), (200, {"success": True, "data": []}), "empty list")
            r = send(s, "POST", "/items", {"name": "apple", "qty": 2})
            eq(r.status, 201, "created")
            created = r.json()["data"]
            check(ISO.match(created["created_at"]), "ISO timestamp: %r" % created["created_at"])
            # Typed values in column order, the same bytes on both drivers (created_at aside).
            body = r.body.decode()
            eq(re.sub(r'"created_at":"[^"]*"', '"created_at":T', body),
               '{"success":true,"data":{"id":1,"parent_id":1,"name":"apple","qty":2,'
               '"active":true,"created_at":T}}', "created body")
            r = get(s, "/items/1")
            eq((r.status, r.json()["data"]), (200, created), "one row")
            eq(error_of(get(s, "/items/99"), 404, "NOT_FOUND"), "Item 99 not found")
            if driver == "postgres":  # an id beyond the int4 column: the client's mistake
                error_of(get(s, "/items/99999999999"), 422, "VALIDATION_ERROR")
            else:
                error_of(get(s, "/items/99999999999"), 404, "NOT_FOUND")
            eq(send(s, "POST", "/items", {"name": "pear"}).status, 201)
            r = get(s, "/items")
            eq(r.status, 200)
            eq([x["name"] for x in r.json()["data"]], ["apple", "pear"], "rows as an array")
            r = send(s, "PUT", "/items/1", {"name": "apricot"})
            eq((r.status, r.json()["data"]), (200, {"id": 1, "name": "apricot"}), "RETURNING row")
            eq(error_of(send(s, "PUT", "/items/99", {"name": "x"}), 404, "NOT_FOUND"),
               "No such item")
            r = send(s, "DELETE", "/items/2")
            eq((r.status, r.body), (204, b""), "deleted without RETURNING")
            eq(error_of(send(s, "DELETE", "/items/2"), 404, "NOT_FOUND"), "No such item")
            eq(len(get(s, "/items").json()["data"]), 1)
    finally:
        db.close()


def errors(driver):
    pg = driver == "postgres"
    db = Database(driver)
    try:
        with app(db) as s:
            eq(send(s, "POST", "/items", {"name": "one"}).status, 201)
            m = error_of(send(s, "POST", "/items", {"name": "one"}), 409, "CONFLICT")
            check(("duplicate key" if pg else "UNIQUE constraint failed") in m, m)
            m = error_of(send(s, "POST", "/items", {"name": "orphan", "parent_id": 42}), 409,
                         "CONFLICT")
            check(("foreign key" if pg else "FOREIGN KEY constraint failed") in m, m)
            m = error_of(send(s, "POST", "/items", {"qty": 1}), 422, "VALIDATION_ERROR")
            check(("not-null" if pg else "NOT NULL constraint failed") in m, m)
            m = error_of(send(s, "POST", "/items", {"name": "neg", "qty": -1}), 422,
                         "VALIDATION_ERROR")
            check(("check constraint" if pg else "CHECK constraint failed") in m, m)
            r = send(s, "POST", "/items", {"name": "two"})
            eq(r.status, 201)
            error_of(send(s, "PUT", "/items/%d" % r.json()["data"]["id"], {"name": "one"}), 409,
                     "CONFLICT")
            # A batch on the callback API: the failing query's own message, not "aborted".
            m = error_of(send(s, "POST", "/pair", {"a": "p1", "b": "one"}), 409, "CONFLICT")
            check("aborted" not in m and ("duplicate" in m or "UNIQUE" in m), m)
            m = error_of(send(s, "POST", "/pair", {"a": "p2", "b": None}), 422, "VALIDATION_ERROR")
            check("aborted" not in m and ("not-null" in m or "NOT NULL" in m), m)
            names = [x["name"] for x in get(s, "/items").json()["data"]]
            eq(names, ["one", "two"], "the failed batches were rolled back")
            eq(send(s, "POST", "/pair", {"a": "p3", "b": "p4"}).status, 201)
            # Anything else: 500 DATABASE_ERROR, its detail hidden in production but logged
            # with the request id.
            r = get(s, "/fail")
            eq(error_of(r, 500, "DATABASE_ERROR"), "Database error")
            check(b"dbapp failure" not in r.body and b"JSON" not in r.body, r.body)
            rid = r.header("X-Request-Id")
            check(rid, "a request id")
            log = [ln for ln in s.stderr().splitlines() if rid in ln]
            check(log, "the error is logged with the request id %s" % rid)
            check(("dbapp failure detail" if pg else "malformed JSON") in log[0], log[0])
            check(("SQLSTATE P0001" in log[0]) == pg, log[0])
        with app(db, ENVIRONMENT="development") as s:
            m = error_of(get(s, "/fail"), 500, "DATABASE_ERROR")
            check(("dbapp failure detail" if pg else "malformed JSON") in m, m)
    finally:
        db.close()


def unavailable(driver):
    """A full pool refuses at once: 503, while the batches it holds still succeed."""
    db = Database(driver)
    try:
        with app(db, DBAPP_MAX_QUEUED="1") as s:
            conns = [s.connect(timeout=60) for _ in range(4)]
            for c in conns:
                c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            got = [c.read_response() for c in conns]
            for c in conns:
                c.close()
            statuses = sorted(r.status for r in got)
            check(200 in statuses and 503 in statuses, "statuses %r" % statuses)
            for r in got:
                if r.status == 503:
                    eq(error_of(r, 503, "SERVICE_UNAVAILABLE"), "Database unavailable")
                else:
                    check(r.json()["data"]["slept"] >= 1, r.body)
            eq(get(s, "/items").status, 200, "the pool serves again")
    finally:
        db.close()


@case
def sqlite_answers_from_queries():
    crud("sqlite")


@case
def pg_answers_from_queries():
    crud("postgres")


@case
def sqlite_errors_map_to_envelopes():
    errors("sqlite")


@case
def pg_errors_map_to_envelopes():
    errors("postgres")


@case
def sqlite_full_pool_is_503():
    unavailable("sqlite")


@case
def pg_full_pool_is_503():
    unavailable("postgres")


if __name__ == "__main__":
    run("db_respond")
