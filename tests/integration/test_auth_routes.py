"""The built-in account routes (ch_auth_mount) of tests/apps/auth_app.c, on SQLite and, when
CHOPIN_PG_URL is set, on PostgreSQL: signup, login, me, no user enumeration, rehash. Refresh
tokens, logout, the lockout and the rate limit: test_auth_sessions.py."""
import os
import random
import sqlite3
import statistics
import tempfile
import time

from auth_lib import app, databases, post
from lib import case, check, eq, run


@case
def signup_login_me():
    for name, url in databases():
        with app(url) as s:
            c = s.connect()
            r = post(c, "/api/auth/signup",
                     {"email": "Ada@Example.org", "username": "ada", "password": "analytical"})
            eq(r.status, 201, name)
            d = r.json()["data"]
            eq(d["user"]["email"], "ada@example.org", "emails are stored lowercased")
            eq(d["user"]["username"], "ada")
            eq(d["token_type"], "Bearer")
            uid = d["user"]["id"]
            r = c.request("GET", "/api/auth/me", headers={"Authorization": "Bearer " + d["access_token"]})
            eq(r.status, 200, name)
            eq(r.json()["data"], {"id": uid, "email": "ada@example.org", "username": "ada",
                                  "roles": []})
            for who in ({"email": "ADA@example.org"}, {"username": "Ada"}, {"login": "ada"}):
                r = post(c, "/api/auth/login", dict(who, password="analytical"))
                eq(r.status, 200, "%s %r" % (name, who))
                eq(r.json()["data"]["user"]["id"], uid)
                tok = r.json()["data"]["access_token"]
                eq(c.request("GET", "/api/auth/me",
                             headers={"Authorization": "Bearer " + tok}).status, 200)
            eq(c.request("GET", "/api/auth/me").status, 401)


@case
def signup_conflicts_and_validation():
    for name, url in databases():
        with app(url) as s:
            c = s.connect()
            eq(post(c, "/api/auth/signup", {"email": "a@b.io", "username": "bob",
                                            "password": "password1"}).status, 201, name)
            r = post(c, "/api/auth/signup", {"email": "A@B.io", "username": "bob2",
                                             "password": "password1"})
            eq(r.status, 409, name + ": same email, other case")
            eq(r.json()["error"]["code"], "CONFLICT")
            eq(post(c, "/api/auth/signup", {"email": "c@b.io", "username": "BOB",
                                            "password": "password1"}).status, 409,
               name + ": same username, other case")
            r = post(c, "/api/auth/signup", {"email": "nope", "username": "x",
                                             "password": "short"})
            eq(r.status, 422)
            fields = sorted(f["field"] for f in r.json()["error"]["fields"])
            eq(fields, ["email", "password", "username"])
            r = post(c, "/api/auth/signup", {"email": "d@b.io", "username": "dee",
                                             "password": "x" * 1025})
            eq(r.status, 422, "over 1024 bytes")
            eq(post(c, "/api/auth/signup", {"email": "d@b.io", "username": "dee",
                                            "password": "x" * 1024}).status, 201)
            eq(post(c, "/api/auth/signup", {"username": "eve", "password": "password1"}).status,
               422, "email missing")


@case
def login_failures_do_not_enumerate():
    # Unknown account and wrong password: the same status, body and challenge, and about the
    # same time (both run Argon2id): over 31 attempts of each, the medians and the fastest
    # within 20%. One hash thread, and each pair of attempts in random order: the test
    # compares the server's work, not which of two threads or cores (a VM's vCPUs differ by
    # up to 50% here) a strictly alternating order happens to give each kind. The lockout
    # and the rate limit would answer 429 after a few of these attempts: off here, they have
    # their own tests (test_auth_sessions.py).
    env = {"AUTH_ARGON2_MEMORY": "8192", "AUTH_ARGON2_ITERATIONS": "2", "AUTH_HASH_THREADS": "1",
           "AUTH_LOCKOUT_ATTEMPTS": "0", "AUTH_RATE_LIMIT": "0"}
    rng = random.Random(9106)
    for name, url in databases():
        with app(url, env=env, workers=1) as s:
            c = s.connect(timeout=60)
            eq(post(c, "/api/auth/signup", {"email": "u@x.io", "username": "user",
                                            "password": "right-password"}).status, 201)
            wrong = post(c, "/api/auth/login", {"email": "u@x.io", "password": "wrong-password"})
            unknown = post(c, "/api/auth/login", {"email": "nobody@x.io", "password": "wrong-password"})
            eq(wrong.status, 401, name)
            eq(unknown.status, 401, name)
            eq(wrong.body, unknown.body)
            eq(wrong.header("WWW-Authenticate"), unknown.header("WWW-Authenticate"))
            times = {"u@x.io": [], "nobody@x.io": []}
            for i in range(31):
                pair = list(times)
                rng.shuffle(pair)
                for who in pair:
                    t0 = time.perf_counter()
                    eq(post(c, "/api/auth/login", {"email": who, "password": "wrong"}).status, 401)
                    times[who].append(time.perf_counter() - t0)
            tw, tu = times["u@x.io"], times["nobody@x.io"]
            mw, mu = statistics.median(tw), statistics.median(tu)
            fw, fu = min(tw), min(tu)
            print("    %s: wrong password median %.1f ms (fastest %.1f), unknown user %.1f ms "
                  "(fastest %.1f)" % (name, mw * 1000, fw * 1000, mu * 1000, fu * 1000))
            check(abs(mw - mu) <= 0.2 * max(mw, mu),
                  "%s: medians %.1f ms vs %.1f ms differ by more than 20%%" % (name, mw * 1000, mu * 1000))
            check(abs(fw - fu) <= 0.2 * max(fw, fu),
                  "%s: fastest %.1f ms vs %.1f ms differ by more than 20%%" % (name, fw * 1000, fu * 1000))


@case
def login_with_outdated_parameters_rehashes():
    tmp = tempfile.mkdtemp(prefix="chopin-auth-")
    url = "sqlite://" + os.path.join(tmp, "auth.db")
    with app(url, env={"AUTH_ARGON2_MEMORY": "128", "AUTH_ARGON2_PARALLELISM": "2"}) as s:
        eq(post(s.connect(), "/api/auth/signup", {"email": "r@x.io", "username": "rita",
                                                  "password": "password1"}).status, 201)
    db = os.path.join(tmp, "auth.db")
    old = sqlite3.connect(db).execute("SELECT password_hash FROM auth_users").fetchone()[0]
    check(old.startswith("$argon2id$v=19$m=128,t=1,p=2$"), old)
    with app(url) as s:
        c = s.connect()
        eq(post(c, "/api/auth/login", {"email": "r@x.io", "password": "password1"}).status, 200)
        new = sqlite3.connect(db).execute("SELECT password_hash FROM auth_users").fetchone()[0]
        check(new.startswith("$argon2id$v=19$m=64,t=1,p=1$"), "rehashed: " + new)
        eq(post(c, "/api/auth/login", {"email": "r@x.io", "password": "password1"}).status, 200)
        eq(post(c, "/api/auth/login", {"email": "r@x.io", "password": "password2"}).status, 401)


if __name__ == "__main__":
    run("auth-routes")
