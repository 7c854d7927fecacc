"""Auth over HTTP, against tests/apps/auth_app.c: password hashing on the pool, bearer guards,
and forged tokens."""
import base64
import hashlib
import hmac
import json
import os
import select
import subprocess
import time

from lib import BIN, Server, case, check, eq, free_port, run

AUTH_APP = os.environ.get("CHOPIN_AUTH_APP", os.path.join(os.path.dirname(BIN), "auth-test-app"))
SECRET = b"integration-secret-0123456789-abcdefghij"
OTHER = b"some-other-secret-0123456789-abcdefghijk"
# Cheap hashes, so the suite is quick even under ASan on a busy machine.
CHEAP = {"AUTH_ARGON2_MEMORY": "64", "AUTH_ARGON2_ITERATIONS": "1"}


def app(env=None, **kw):
    e = {"JWT_SECRET": SECRET.decode(), "ENVIRONMENT": "production"}
    e.update(CHEAP)
    e.update(env or {})
    return Server(binary=AUTH_APP, env=e, **kw)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def kid(secret):
    return b64u(hashlib.sha256(secret).digest()[:12])


def forge(header, payload, key=SECRET, digest=hashlib.sha256, sig=None):
    h = b64u(json.dumps(header).encode())
    p = b64u(json.dumps(payload).encode())
    if sig is None:
        sig = b64u(hmac.new(key, ("%s.%s" % (h, p)).encode(), digest).digest())
    return "%s.%s.%s" % (h, p, sig)


def claims(**kw):
    now = int(time.time())
    c = {"sub": "42", "roles": ["user"], "iat": now, "exp": now + 600}
    c.update(kw)
    return {k: v for k, v in c.items() if v is not None}


def post_json(conn, path, obj):
    return conn.request("POST", path, headers={"Content-Type": "application/json"},
                        body=json.dumps(obj))


def bearer(conn, path, token):
    return conn.request("GET", path, headers={"Authorization": "Bearer " + token})


def issue(conn, sub="42", roles=()):
    r = post_json(conn, "/token", {"sub": sub, "roles": list(roles)})
    eq(r.status, 200, "token issued")
    return r.json()["data"]["access_token"]


@case
def hash_and_verify_off_the_loop():
    with app() as s:
        c = s.connect()
        r = post_json(c, "/hash", {"password": "correct horse battery"})
        eq(r.status, 200)
        phc = r.json()["data"]["phc"]
        check(phc.startswith("$argon2id$v=19$m=64,t=1,p=1$"), phc)
        r = post_json(c, "/verify", {"phc": phc, "password": "correct horse battery"})
        eq(r.json()["data"], {"match": True, "needs_rehash": False})
        r = post_json(c, "/verify", {"phc": phc, "password": "correct horse batterY"})
        eq(r.json()["data"], {"match": False, "needs_rehash": False})
        # An unknown user: the dummy hash, always a mismatch.
        r = post_json(c, "/verify", {"phc": "", "password": "correct horse battery"})
        eq(r.json()["data"], {"match": False, "needs_rehash": False})
        r = post_json(c, "/verify", {"phc": "$argon2id$v=19$m=64", "password": "x"})
        eq(r.status, 400, "malformed stored hash")


@case
def old_parameters_verify_and_ask_for_rehash():
    with app(env={"AUTH_ARGON2_MEMORY": "128", "AUTH_ARGON2_PARALLELISM": "2"}) as s:
        phc = post_json(s.connect(), "/hash", {"password": "pw"}).json()["data"]["phc"]
        check(",p=2$" in phc, phc)
    with app() as s:
        r = post_json(s.connect(), "/verify", {"phc": phc, "password": "pw"})
        eq(r.json()["data"], {"match": True, "needs_rehash": True})


@case
def a_running_hash_does_not_stall_the_worker():
    # One worker, one costly hash: /plaintext on another connection is answered while the hash
    # is still running. Were the hash run on the loop, its answer would come first.
    env = {"AUTH_ARGON2_MEMORY": "16384", "AUTH_ARGON2_ITERATIONS": "24", "AUTH_HASH_THREADS": "1"}
    with app(env=env, workers=1) as s:
        slow = s.connect(timeout=120)
        post = json.dumps({"password": "pw"})
        slow.send("POST /hash HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "Content-Length: %d\r\n\r\n%s" % (len(post), post))
        fast = s.connect()
        for _ in range(20):
            eq(fast.request("GET", "/plaintext").status, 200)
        ready, _, _ = select.select([slow.sock], [], [], 0)
        check(not ready, "the hash answered before 20 plaintext requests: is it on the loop?")
        eq(slow.read_response().status, 200, "the hash completes")


@case
def full_queue_answers_503():
    env = {"AUTH_ARGON2_MEMORY": "16384", "AUTH_ARGON2_ITERATIONS": "16", "AUTH_HASH_THREADS": "1",
           "AUTH_HASH_QUEUE": "1"}
    with app(env=env, workers=1) as s:
        a, b = s.connect(timeout=120), s.connect(timeout=120)
        body = json.dumps({"password": "pw"})
        req = ("POST /hash HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n%s" % (len(body), body))
        a.send(req)
        b.send(req)
        statuses = sorted([a.read_response(), b.read_response()], key=lambda r: r.status)
        eq([r.status for r in statuses], [200, 503], "one runs, one is refused")
        eq(statuses[1].header("Retry-After"), "1")


@case
def shutdown_with_a_hash_running_is_clean():
    env = {"AUTH_ARGON2_MEMORY": "16384", "AUTH_ARGON2_ITERATIONS": "8", "AUTH_HASH_THREADS": "1"}
    with app(env=env, workers=1) as s:
        c = s.connect(timeout=60)
        body = json.dumps({"password": "pw"})
        c.send("POST /hash HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n%s" % (len(body), body))
        eq(get_plain(s), 200, "the request reached the worker")
        # The with-block's exit sends SIGTERM now, with the hash running, and checks for a clean
        # exit without sanitizer reports; the drain lets the held request finish.
    eq(c.read_response().status, 200, "answered during the drain")


def get_plain(s):
    return s.connect().request("GET", "/plaintext").status


@case
def guards_admit_valid_tokens():
    with app() as s:
        c = s.connect()
        tok = issue(c, "42", ["user"])
        r = bearer(c, "/user/me", tok)
        eq(r.status, 200)
        eq(r.json()["data"], {"sub": "42", "user_id": 42, "roles": ["user"]})
        # The scheme is case-insensitive; several spaces are allowed.
        r = c.request("GET", "/user/me", headers={"Authorization": "bEaReR   " + tok})
        eq(r.status, 200)
        # Optional: anonymous without a header, the user with one.
        eq(c.request("GET", "/maybe/me").json()["data"], None)
        eq(bearer(c, "/maybe/me", tok).json()["data"]["sub"], "42")


@case
def missing_or_bad_token_is_401_with_challenge():
    with app() as s:
        c = s.connect()
        r = c.request("GET", "/user/me")
        eq(r.status, 401)
        eq(r.header("WWW-Authenticate"), "Bearer")
        eq(r.json()["error"]["code"], "UNAUTHORIZED")
        r = c.request("GET", "/user/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        eq(r.status, 401)
        eq(r.header("WWW-Authenticate"), "Bearer")
        for tok in ("garbage", "a.b.c", issue(c)[:-1], issue(c) + "A"):
            r = bearer(c, "/user/me", tok)
            eq(r.status, 401, tok)
            check(r.header("WWW-Authenticate").startswith('Bearer error="invalid_token"'),
                  r.header("WWW-Authenticate"))
        # An optional guard refuses a bad token too.
        eq(bearer(c, "/maybe/me", "a.b.c").status, 401)
        # Malformed or repeated Authorization headers: 400 invalid_request.
        for value in ("Bearer", "Bearer a b", "Bearer a,b"):
            r = c.request("GET", "/user/me", headers={"Authorization": value})
            eq(r.status, 400, value)
            eq(r.header("WWW-Authenticate"), 'Bearer error="invalid_request"')
        tok = issue(c)
        c.send("GET /user/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Authorization: Bearer %s\r\n\r\n" % (tok, tok))
        eq(c.read_response().status, 400, "two Authorization headers")


@case
def forged_tokens_are_refused():
    with app(env={"JWT_MAX_SIZE": "512"}) as s:
        c = s.connect()
        hdr = {"alg": "HS256", "typ": "JWT", "kid": kid(SECRET)}
        eq(bearer(c, "/user/me", forge(hdr, claims())).status, 200, "the forger itself works")
        attacks = {
            "alg none": forge({"alg": "none", "typ": "JWT"}, claims(), sig=""),
            "alg none signed": forge({"alg": "none"}, claims()),
            "HS512 under its name": forge(dict(hdr, alg="HS512"), claims(),
                                          digest=hashlib.sha512),
            "RS256 with the secret as HMAC key": forge(dict(hdr, alg="RS256"), claims()),
            "another key": forge(hdr, claims(), key=OTHER),
            "another key, no kid": forge({"alg": "HS256"}, claims(), key=OTHER),
            "unknown kid": forge(dict(hdr, kid=kid(OTHER)), claims()),
            "expired": forge(hdr, claims(exp=int(time.time()) - 120)),
            "not yet valid": forge(hdr, claims(nbf=int(time.time()) + 600)),
            "no exp": forge(hdr, claims(exp=None)),
            "padded signature": forge(hdr, claims()) + "=",
            "truncated signature": forge(hdr, claims())[:-3],
            "four segments": forge(hdr, claims()) + ".e30",
            "over JWT_MAX_SIZE": forge(hdr, claims(pad="x" * 600)),
        }
        for name, tok in attacks.items():
            r = bearer(c, "/user/me", tok)
            if r.status != 401:
                raise AssertionError("%s: got %d" % (name, r.status))
            check("invalid_token" in r.header("WWW-Authenticate"), name)
        r = bearer(c, "/user/me", attacks["over JWT_MAX_SIZE"])
        check("too large" in r.json()["error"]["message"], r.body)
        # Role escalation in the payload, with the signature of the original.
        good = forge(hdr, claims())
        evil = b64u(json.dumps(claims(roles=["admin"])).encode())
        h, _, sig = good.split(".")
        eq(bearer(c, "/admin/me", "%s.%s.%s" % (h, evil, sig)).status, 401)


@case
def issuer_and_audience_when_configured():
    with app(env={"JWT_ISSUER": "chopin-test", "JWT_AUDIENCE": "api"}) as s:
        c = s.connect()
        eq(bearer(c, "/user/me", issue(c)).status, 200, "issued tokens carry iss and aud")
        hdr = {"alg": "HS256", "kid": kid(SECRET)}
        eq(bearer(c, "/user/me", forge(hdr, claims(iss="chopin-test", aud="api"))).status, 200)
        r = bearer(c, "/user/me", forge(hdr, claims(iss="evil", aud="api")))
        eq(r.status, 401)
        check("issuer" in r.json()["error"]["message"], r.body)
        eq(bearer(c, "/user/me", forge(hdr, claims(iss="chopin-test", aud="web"))).status, 401)
        eq(bearer(c, "/user/me", forge(hdr, claims(iss="chopin-test"))).status, 401)


@case
def role_guards_give_403():
    with app() as s:
        c = s.connect()
        user, admin = issue(c, "1", ["user"]), issue(c, "2", ["admin"])
        both = issue(c, "3", ["admin", "editor"])
        r = bearer(c, "/admin/me", user)
        eq(r.status, 403)
        eq(r.json()["error"]["code"], "FORBIDDEN")
        eq(r.header("WWW-Authenticate"), 'Bearer error="insufficient_scope"')
        eq(bearer(c, "/admin/me", admin).status, 200)
        eq(c.request("GET", "/admin/me").status, 401, "no token: 401 before any role check")
        eq(bearer(c, "/both/me", admin).status, 403, "two role guards need both roles")
        eq(bearer(c, "/both/me", both).status, 200)


@case
def key_rotation_keeps_old_tokens_valid():
    with app(env={"JWT_SECRET": OTHER.decode()}) as s:
        old = issue(s.connect(), "9")
    with app(env={"JWT_SECRET": SECRET.decode(), "JWT_SECRET_PREVIOUS": OTHER.decode()}) as s:
        c = s.connect()
        eq(bearer(c, "/user/me", old).status, 200, "signed with the previous key")
        eq(bearer(c, "/user/me", issue(c)).status, 200)
    with app() as s:
        eq(bearer(s.connect(), "/user/me", old).status, 401, "after the rotation")


def start_fails(env):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "SERVER_"))}
    e.update({"SERVER_PORT": str(free_port())})
    e.update(env)
    p = subprocess.run([AUTH_APP], env=e, capture_output=True, timeout=30)
    return p.returncode, p.stderr.decode()


@case
def production_requires_a_long_secret():
    rc, err = start_fails({"ENVIRONMENT": "production"})
    eq(rc, 2)
    check("JWT_SECRET" in err, err)
    rc, err = start_fails({"ENVIRONMENT": "production", "JWT_SECRET": "short"})
    eq(rc, 2)
    check("at least 32 bytes" in err, err)
    rc, err = start_fails({"ENVIRONMENT": "production", "JWT_SECRET": SECRET.decode(),
                           "JWT_ALGORITHM": "none"})
    eq(rc, 2)
    check("JWT_ALGORITHM" in err, err)


@case
def help_lists_the_auth_settings():
    p = subprocess.run([AUTH_APP, "--help"], capture_output=True, timeout=30)
    eq(p.returncode, 0)
    out = p.stdout.decode() + p.stderr.decode()
    for name in ("JWT_SECRET", "JWT_SECRET_PREVIOUS", "JWT_EXPIRY", "AUTH_ARGON2_MEMORY"):
        check(name in out, name + " missing from --help")


@case
def development_makes_a_random_key_with_a_warning():
    with Server(binary=AUTH_APP, env=dict(CHEAP, ENVIRONMENT="development", JWT_SECRET="")) as s:
        c = s.connect()
        eq(bearer(c, "/user/me", issue(c)).status, 200)
        eq(bearer(c, "/user/me", forge({"alg": "HS256"}, claims())).status, 401)
        time.sleep(0.1)
        check("JWT_SECRET is not set" in s.stderr(), "warned")


if __name__ == "__main__":
    run("auth")
