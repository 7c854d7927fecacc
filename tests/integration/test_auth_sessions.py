"""Refresh tokens, logout, the per-login lockout and the per-address rate limit of the built-in
account routes (tests/apps/auth_app.c), on SQLite and on PostgreSQL (CHOPIN_PG_URL). Limits are
checked across two workers and across two instances on one database: their state must live in
the database, not in a process."""
import hashlib
import json
import re
import threading
import time

from auth_lib import app, databases, post, query
from lib import BIN, Server, case, check, eq, run

PAIR_KEYS = ["access_token", "expires_in", "refresh_expires_in", "refresh_token", "token_type",
             "user"]
# The limits off, for the tests that are not about them.
NO_LIMITS = {"AUTH_RATE_LIMIT": "0", "AUTH_LOCKOUT_ATTEMPTS": "0"}


def signup(c, email="ada@example.org", username="ada", password="analytical"):
    r = post(c, "/api/auth/signup", {"email": email, "username": username, "password": password})
    eq(r.status, 201, "signup: %r" % r.body[:200])
    return r.json()["data"]


def login(c, who="ada", password="analytical", headers=None):
    return post(c, "/api/auth/login", {"login": who, "password": password}, headers=headers)


def refresh(c, token, headers=None):
    return post(c, "/api/auth/refresh", {"refresh_token": token}, headers=headers)


def logout(c, token):
    return post(c, "/api/auth/logout", {"refresh_token": token})


def me(c, access):
    return c.request("GET", "/api/auth/me", headers={"Authorization": "Bearer " + access})


def refused(r, what):
    eq(r.status, 401, what)
    eq(r.json()["error"]["code"], "UNAUTHORIZED", what)


@case
def refresh_rotates_and_reuse_revokes_the_family():
    for name, url in databases():
        with app(url, env=NO_LIMITS) as s:
            c = s.connect()
            first = signup(c)
            eq(sorted(first), PAIR_KEYS, name + ": signup's pair")
            r0 = first["refresh_token"]
            check(re.fullmatch(r"[A-Za-z0-9_-]{43}", r0), "opaque base64url: %r" % r0)
            r = refresh(c, r0)
            eq(r.status, 200, name + ": refresh")
            d = r.json()["data"]
            eq(sorted(d), PAIR_KEYS, name + ": refresh's pair")
            eq(d["user"], first["user"])
            r1 = d["refresh_token"]
            check(r1 != r0, "a new refresh token")
            eq(me(c, d["access_token"]).json()["data"]["username"], "ada", name + ": new access")
            # Only hashes are stored.
            rows = query(url, "SELECT token_hash, family, used_at, revoked_at"
                              " FROM auth_refresh_tokens ORDER BY id")
            eq(len(rows), 2, name + ": two tokens")
            eq([x[0] for x in rows], [hashlib.sha256(t.encode()).hexdigest() for t in (r0, r1)])
            eq(rows[0][1], rows[1][1], "one family")
            check(rows[0][2] is not None and rows[1][2] is None, "the first is used: %r" % rows)
            dump = json.dumps(query(url, "SELECT * FROM auth_refresh_tokens"))
            check(r0 not in dump and r1 not in dump, "no plaintext token in the table")

            # Another session of the same user: a family of its own.
            other = login(c).json()["data"]["refresh_token"]
            # r0 again: a reuse. Refused, and the family is revoked: r1 dies too.
            refused(refresh(c, r0), name + ": rotated token reused")
            refused(refresh(c, r1), name + ": newest token of a revoked family")
            refused(refresh(c, r0), name + ": and the reused one stays refused")
            rows = query(url, "SELECT revoked_at FROM auth_refresh_tokens WHERE token_hash IN"
                              " ('%s', '%s')" % tuple(hashlib.sha256(t.encode()).hexdigest()
                                                     for t in (r0, r1)))
            check(all(x[0] is not None for x in rows), "family revoked: %r" % rows)
            # The other session is untouched and rotates on.
            r = refresh(c, other)
            eq(r.status, 200, name + ": the other family still works")
            eq(refresh(c, r.json()["data"]["refresh_token"]).status, 200, name + ": and again")


@case
def concurrent_double_refresh_has_one_winner():
    # The same token sent at once on two connections (two workers): exactly one new pair; the
    # loser counts as a reuse, which revokes the family, the winner's new token included.
    for name, url in databases():
        with app(url, env=NO_LIMITS, workers=2) as s:
            signup(s.connect())
            for trial in range(6):
                token = login(s.connect()).json()["data"]["refresh_token"]
                conns = [s.connect(timeout=15) for _ in range(2)]
                body = json.dumps({"refresh_token": token}).encode()
                raw = (b"POST /api/auth/refresh HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                       % (len(body), body))
                gate = threading.Barrier(2)
                out = [None, None]

                def go(i):
                    gate.wait()
                    conns[i].send(raw)
                    out[i] = conns[i].read_response()

                ts = [threading.Thread(target=go, args=(i,)) for i in range(2)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join(30)
                statuses = sorted(r.status for r in out)
                eq(statuses, [200, 401], "%s trial %d: one winner" % (name, trial))
                won = next(r for r in out if r.status == 200).json()["data"]["refresh_token"]
                refused(refresh(s.connect(), won), "%s trial %d: the winner's token, after the "
                        "loser's reuse revoked the family" % (name, trial))
                for c in conns:
                    c.close()


@case
def expired_refresh_token_is_refused():
    for name, url in databases():
        with app(url, env=dict(NO_LIMITS, JWT_REFRESH_EXPIRY="2s")) as s:
            c = s.connect()
            d = signup(c)
            eq(d["refresh_expires_in"], 2)
            r = refresh(c, d["refresh_token"])
            eq(r.status, 200, name + ": fresh")
            late = r.json()["data"]["refresh_token"]
            time.sleep(2.2)
            refused(refresh(c, late), name + ": expired")
            # An expired token is not a reuse: a new login works and rotates.
            eq(refresh(c, login(c).json()["data"]["refresh_token"]).status, 200)


@case
def malformed_refresh_tokens_are_refused_not_crashed():
    for name, url in databases():
        with app(url, env=NO_LIMITS) as s:
            c = s.connect()
            d = signup(c)
            real = d["refresh_token"]
            for bad in ("", "garbage", "x" * 43, "!" * 43, real[:-1], real + "A", real[:-1] + "=",
                        real.upper() if real.upper() != real else real.lower(), "a" * 100000,
                        d["access_token"], "\u00e9" * 43, "\u0000" * 43):
                for path in ("/api/auth/refresh",):
                    r = post(c, path, {"refresh_token": bad})
                    refused(r, "%s: %s %r" % (name, path, bad[:50]))
            for body in ({}, {"refresh_token": None}, {"refresh_token": 42},
                         {"refresh_token": [real]}, {"token": real}):
                for path in ("/api/auth/refresh", "/api/auth/logout"):
                    r = post(c, path, body)
                    eq(r.status, 422, "%s: %s %r" % (name, path, body))
                    eq(r.json()["error"]["fields"][0]["field"], "refresh_token")
            for raw in ("not json", "[1]", '"%s"' % real, "{\"refresh_token\":"):
                r = post(c, "/api/auth/refresh", raw)
                check(400 <= r.status < 500, "%s: %r -> %d" % (name, raw, r.status))
            # Garbage to logout: 204, nothing revoked.
            for bad in ("", "garbage", "a" * 100000):
                eq(logout(c, bad).status, 204, "%s: logout %r" % (name, bad[:20]))
            # After all that, the real token still rotates: nothing above touched it.
            eq(refresh(c, real).status, 200, name + ": the real token survived")


@case
def logout_revokes():
    for name, url in databases():
        with app(url, env=NO_LIMITS) as s:
            c = s.connect()
            r0 = signup(c)["refresh_token"]
            r1 = refresh(c, r0).json()["data"]["refresh_token"]
            other = login(c).json()["data"]["refresh_token"]
            r = logout(c, r1)
            eq(r.status, 204, name + ": logout")
            eq(r.body, b"")
            refused(refresh(c, r1), name + ": a logged-out token cannot refresh")
            eq(logout(c, r1).status, 204, name + ": logout is idempotent")
            eq(logout(c, "A" * 43).status, 204, name + ": an unknown token: same answer")
            # Only that session ended.
            eq(refresh(c, other).status, 200, name + ": the other session lives on")
            # Logging out with an older, already rotated token ends the session as well.
            a0 = login(c).json()["data"]["refresh_token"]
            a1 = refresh(c, a0).json()["data"]["refresh_token"]
            eq(logout(c, a0).status, 204)
            refused(refresh(c, a1), name + ": the family of a logged-out token")


def two_instances(url, env, workers=2):
    """Two servers on one database (each with `workers` workers)."""
    return app(url, env=env, workers=workers), app(url, env=env, workers=workers)


@case
def lockout_across_workers_and_instances():
    env = {"AUTH_LOCKOUT_ATTEMPTS": "3", "AUTH_LOCKOUT_SECONDS": "60", "AUTH_RATE_LIMIT": "0"}
    for name, url in databases():
        a, b = two_instances(url, env)
        with a, b:
            signup(a.connect())
            signup(a.connect(), "bob@example.org", "bob", "builder-pw")
            # Each attempt on a new connection, alternating instances: spread over 4 workers.
            servers = [a, b, a]
            for i, srv in enumerate(servers):
                refused(login(srv.connect(), password="wrong-%d" % i), "%s: failure %d" % (name, i))
            for srv in (b, a):
                r = login(srv.connect())  # the right password, while locked
                eq(r.status, 429, name + ": locked, whatever the password")
                eq(r.json()["error"]["code"], "TOO_MANY_REQUESTS")
                ra = int(r.header("Retry-After"))
                check(50 <= ra <= 60, "Retry-After %d" % ra)
                check("access_token" not in r.body.decode(), "no token while locked")
            # The lock is the login name's: another account, and another spelling, are free.
            eq(login(b.connect(), "bob", "builder-pw").status, 200, name + ": bob unaffected")
            # An unknown name locks the same way and answers the same: no enumeration.
            for i in range(3):
                refused(login(servers[i].connect(), "nobody", "pw-%d" % i), name + ": unknown")
            known, unknown = login(a.connect(), "ada"), login(a.connect(), "nobody")
            eq(unknown.status, 429, name + ": unknown name locked too")
            eq(known.body, unknown.body, name + ": same body")
            eq(sorted(h for h, _ in known.headers), sorted(h for h, _ in unknown.headers))
            check(abs(int(known.header("Retry-After")) - int(unknown.header("Retry-After"))) <= 2,
                  "similar Retry-After")


@case
def lockout_counts_only_failures_in_a_row_and_expires():
    env = {"AUTH_LOCKOUT_ATTEMPTS": "3", "AUTH_LOCKOUT_SECONDS": "2", "AUTH_RATE_LIMIT": "0"}
    for name, url in databases():
        with app(url, env=env) as s:
            signup(s.connect())
            for round_ in range(2):  # a success resets the count
                refused(login(s.connect(), password="bad1"), name)
                refused(login(s.connect(), password="bad2"), name)
                eq(login(s.connect()).status, 200, name + ": two failures do not lock")
            for i in range(3):
                refused(login(s.connect(), password="bad%d" % i), name)
            r = login(s.connect())
            eq(r.status, 429, name + ": locked")
            time.sleep(int(r.header("Retry-After")) + 0.2)
            eq(login(s.connect()).status, 200, name + ": the lock expired")


def wait_for_fresh_window(window):
    """Sleeps past a window boundary when one is near, so that a test's hits share a window."""
    left = window - time.time() % window
    if left < 8:
        time.sleep(left + 0.1)


@case
def rate_limit_across_workers_and_instances():
    window = 600
    env = {"AUTH_RATE_LIMIT": "7", "AUTH_RATE_WINDOW": "%ds" % window,
           "AUTH_LOCKOUT_ATTEMPTS": "0"}
    for name, url in databases():
        a, b = two_instances(url, env)
        with a, b:
            wait_for_fresh_window(window)
            # 7 POSTs of every auth route from 127.0.0.1, each on a new connection, alternating
            # instances: all count toward one limit.
            d = signup(a.connect())                                                     # 1
            eq(login(b.connect()).status, 200)                                          # 2
            refused(login(a.connect(), password="nope"), name)                          # 3
            r1 = refresh(b.connect(), d["refresh_token"]).json()["data"]["refresh_token"]  # 4
            eq(logout(a.connect(), "A" * 43).status, 204)                               # 5
            refused(login(b.connect(), "nobody", "nope"), name)                         # 6
            eq(refresh(a.connect(), r1).status, 200)                                    # 7
            for srv, r in ((b, login(b.connect())), (a, refresh(a.connect(), r1)),
                           (b, logout(b.connect(), r1)),
                           (a, post(a.connect(), "/api/auth/signup",
                                    {"email": "e@x.io", "username": "eve", "password": "password1"}))):
                eq(r.status, 429, name + ": over the limit")
                eq(r.json()["error"]["code"], "TOO_MANY_REQUESTS")
                ra = int(r.header("Retry-After"))
                check(1 <= ra <= window, "Retry-After %d" % ra)
                left = window - int(time.time()) % window
                check(abs(ra - left) <= 2, "Retry-After %d: the window ends in %d s" % (ra, left))
            # Not limited: other routes, and a verified access token.
            eq(a.connect().request("GET", "/plaintext").status, 200)
            eq(me(b.connect(), d["access_token"]).status, 200, name + ": /me is not limited")
            # X-Forwarded-For is ignored without AUTH_TRUST_PROXY: no way around the limit.
            r = login(a.connect(), headers={"X-Forwarded-For": "198.51.100.9"})
            eq(r.status, 429, name + ": a spoofed X-Forwarded-For does not help")
            eq(query(url, "SELECT count(*) FROM auth_rate_limits"), [("1",)], "one client row")


@case
def rate_limit_behind_a_trusted_proxy_is_per_client():
    window = 600
    env = {"AUTH_RATE_LIMIT": "3", "AUTH_RATE_WINDOW": "%ds" % window,
           "AUTH_LOCKOUT_ATTEMPTS": "0", "AUTH_TRUST_PROXY": "1"}
    for name, url in databases():
        with app(url, env=env, workers=2) as s:
            wait_for_fresh_window(window)
            ip1 = {"X-Forwarded-For": "10.9.9.9, 203.0.113.1"}  # the proxy appended .1
            ip2 = {"X-Forwarded-For": "203.0.113.2"}
            for i in range(3):
                refused(login(s.connect(), "x", "y", headers=ip1), "%s: hit %d" % (name, i))
            r = login(s.connect(), "x", "y", headers=ip1)
            eq(r.status, 429, name + ": client .1 limited")
            # What the client itself put left of the proxy's entry does not make it another.
            eq(login(s.connect(), "x", "y", headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.1"})
               .status, 429, name + ": client-chosen entries are ignored")
            # Another client behind the same proxy is unaffected, as is the proxy itself.
            refused(login(s.connect(), "x", "y", headers=ip2), name + ": client .2 free")
            refused(login(s.connect(), "x", "y"), name + ": the proxy's own address free")
            # IPv6 clients count per /64.
            for i in range(3):
                refused(login(s.connect(), "x", "y",
                              headers={"X-Forwarded-For": "2001:db8:1:2::%x" % (i + 1)}), name)
            eq(login(s.connect(), "x", "y", headers={"X-Forwarded-For": "2001:db8:1:2:ffff::9"})
               .status, 429, name + ": same /64")
            refused(login(s.connect(), "x", "y", headers={"X-Forwarded-For": "2001:db8:1:3::1"}),
                    name + ": another /64")


@case
def chopin_binary_mounts_auth_and_documents_its_security():
    import os
    import tempfile
    db = "sqlite://" + os.path.join(tempfile.mkdtemp(prefix="chopin-auth-bin-"), "c.db")
    # Production without a signing key: a startup error naming it.
    srv = Server(env={"JWT_SECRET": "", "DATABASE_URL": db})
    try:
        srv.start()
        started = True
    except Exception as e:  # noqa: BLE001
        started = False
        check("JWT_SECRET" in str(e), "the error names JWT_SECRET: %s" % e)
    finally:
        srv.stop()
    check(not started, "production without JWT_SECRET must not start")
    with Server(env={"DATABASE_URL": db}) as s:
        c = s.connect()
        d = signup(c)
        eq(me(c, d["access_token"]).status, 200)
        r1 = refresh(c, d["refresh_token"]).json()["data"]["refresh_token"]
        eq(logout(c, r1).status, 204)
        refused(refresh(c, r1), "chopin: logged out")
        doc = c.request("GET", "/api-docs/openapi.json").json()
        paths = doc["paths"]
        for p in ("/api/auth/signup", "/api/auth/login", "/api/auth/refresh", "/api/auth/logout"):
            check(p in paths, "%s documented" % p)
            check("security" not in paths[p]["post"], "%s is public" % p)
        sec = paths["/api/auth/me"]["get"].get("security")
        check(sec and any("bearer" in k.lower() for req in sec for k in req),
              "/api/auth/me declares bearer security: %r" % sec)
        check("401" in paths["/api/auth/me"]["get"]["responses"], "and a 401 response")


if __name__ == "__main__":
    run("auth-sessions")
