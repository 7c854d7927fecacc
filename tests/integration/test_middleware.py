"""Middleware and failure handling, against the test application (tests/apps/test_app.c)."""
import time

from lib import TEST_APP, Server, case, check, eq, run


def app(**kw):
    return Server(binary=TEST_APP, **kw)


def error_code(r):
    return r.json()["error"]["code"]


@case
def failing_handler_gives_500_and_connection_survives():
    with app(env={"ENVIRONMENT": "development"}) as s:
        c = s.connect()
        r = c.request("GET", "/fail")
        eq(r.status, 500)
        eq(error_code(r), "INTERNAL_ERROR")
        check("handler failed" in r.json()["error"]["message"], "development shows the cause")
        r = c.request("GET", "/silent")
        eq(r.status, 500)
        eq(error_code(r), "INTERNAL_ERROR")
        eq(c.request("GET", "/release").status, 200, "same connection still serves")
        time.sleep(0.2)
        check("recovered: GET /fail" in s.stderr(), "recovery logged the failure")


@case
def production_hides_internal_messages():
    with app(env={"ENVIRONMENT": "production"}) as s:
        r = s.connect().request("GET", "/fail")
        eq(r.status, 500)
        eq(r.json()["error"]["message"], "Internal server error")
        time.sleep(0.2)
        check("handler failed" in s.stderr(), "details go to the log")


@case
def middleware_order_global_group_inner():
    with app() as s:
        c = s.connect()
        r = c.request("GET", "/g/inner/order")
        eq(r.status, 200)
        eq(r.body, b"global>group>inner>handler", "before() in registration order")
        eq(r.header("X-Order"), "<inner<group<global", "after() in reverse order")
        check(r.header("x-request-id"), "global defaults ran too")
        # A middleware that answers stops the chain: no handler, but after() of those that ran.
        r = c.request("GET", "/g/inner/order", headers={"X-Stop": "1"})
        eq(r.status, 403)
        eq(error_code(r), "FORBIDDEN")
        eq(r.header("X-Order"), "<group<global")
        # Global middleware also runs for 404s.
        r = c.request("GET", "/nope")
        eq(r.status, 404)
        eq(r.header("X-Order"), "<global")


@case
def group_body_limit():
    with app() as s:
        c = s.connect()
        eq(c.request("POST", "/g/inner/small", body="1234").status, 200)
        r = c.request("POST", "/g/inner/small", body="12345")
        eq(r.status, 413)
        eq(error_code(r), "PAYLOAD_TOO_LARGE")


@case
def request_timeout_gives_503_then_close():
    with app(env={"REQUEST_TIMEOUT": "1s"}, workers=1) as s:
        c = s.connect()
        t0 = time.time()
        r = c.request("GET", "/hold")
        dt = time.time() - t0
        eq(r.status, 503)
        eq(error_code(r), "SERVICE_UNAVAILABLE")
        eq(r.header("Connection"), "close")
        check(0.9 <= dt <= 2.0, "timeout after %.2fs" % dt)
        # The late answer is dropped; the held request is freed (the ASan run checks leaks).
        eq(s.connect().request("GET", "/release").json()["data"], 1)
        check(c.closed_by_peer(), "connection closed after the timeout")


KEY = "s3cret-key-A"


def unauthorized(r, challenge="Bearer"):
    eq(r.status, 401)
    eq(error_code(r), "UNAUTHORIZED")
    eq(r.header("WWW-Authenticate"), challenge)
    check(r.header("Allow") is None, "nothing about the routes leaks before authentication")


@case
def global_middleware_may_use_req_user():
    # The framework once kept the 405 mask in req->user: a global middleware that set it
    # turned every 404 into a 405 with a garbage Allow header.
    with app() as s:
        c = s.connect()
        eq(c.request("GET", "/whoami").json()["data"], "middleware")
        for path in ("/nope", "/g/nope", "/things/1/x"):
            r = c.request("GET", path)
            eq(r.status, 404, path)
            eq(error_code(r), "NOT_FOUND")
            check(r.header("Allow") is None, "no Allow on a 404")
        r = c.request("DELETE", "/whoami")
        eq(r.status, 405)
        eq(r.header("Allow"), "GET, HEAD, OPTIONS")


@case
def group_middleware_runs_before_404_and_405():
    with app() as s:
        c = s.connect()
        auth = {"Authorization": "Bearer " + KEY}
        # Without a key: 401 for a route, an unknown path and a wrong method alike.
        unauthorized(c.request("GET", "/api/items"))
        unauthorized(c.request("GET", "/api/nothing-here"))
        unauthorized(c.request("DELETE", "/api/items"))
        unauthorized(c.request("GET", "/api"))
        unauthorized(c.request("GET", "/api/"))
        # With one, the usual answers.
        eq(c.request("GET", "/api/items", headers=auth).json()["data"], {"limit": 20, "offset": 0})
        r = c.request("GET", "/api/nothing-here", headers=auth)
        eq((r.status, error_code(r)), (404, "NOT_FOUND"))
        r = c.request("DELETE", "/api/items", headers=auth)
        eq((r.status, error_code(r)), (405, "METHOD_NOT_ALLOWED"))
        eq(r.header("Allow"), "GET, HEAD, POST, OPTIONS")
        # The prefix is a path segment: /apix is not under /api.
        r = c.request("GET", "/apix")
        eq((r.status, error_code(r)), (404, "NOT_FOUND"))
        # Group middleware of an unguarded group runs for its 404s too (after() included).
        r = c.request("GET", "/g/inner/missing")
        eq(r.status, 404)
        eq(r.header("X-Order"), "<inner<group<global")
        r = c.request("GET", "/g/inner/missing", headers={"X-Stop": "1"})
        eq(r.status, 403, "the group's middleware answers first")
        # Validation runs after the guard: an invalid body without a key is still 401.
        unauthorized(c.request("POST", "/api/items", headers={"Content-Type": "application/json"}, body="[]"))
        r = c.request("POST", "/api/items", headers=dict(auth, **{"Content-Type": "application/json"}), body="[]")
        eq(r.status, 422)


@case
def api_key_guard_attacks():
    with app() as s:
        c = s.connect()
        ok = lambda h: c.request("GET", "/api/items", headers={"Authorization": h}).status
        eq(ok("Bearer " + KEY), 200)
        eq(ok("Bearer other-key-B"), 200, "second key of the list")
        eq(ok("bearer " + KEY), 200, "scheme is case-insensitive (RFC 9110)")
        eq(ok("BEARER " + KEY), 200)
        eq(ok("Bearer   " + KEY + "  "), 200, "spaces around the token")
        invalid = 'Bearer error="invalid_token"'
        # Wrong keys: a prefix, an extension, a suffix, one character, another case, the list.
        for token in (KEY[:-1], KEY + "x", KEY[1:], "s", KEY.upper(), "other-key-B,s3cret-key-A",
                      ",", "s3cret-key-A,"):
            unauthorized(c.request("GET", "/api/items", headers={"Authorization": "Bearer " + token}),
                         'Bearer error="invalid_token"')
        # No usable credentials at all: empty, no token, other schemes, no scheme, two tokens.
        for h in ("", "Bearer", "Bearer ", "Basic " + KEY, "Token " + KEY, KEY, "Bearer" + KEY,
                  "Bearer " + KEY + " extra", "Bearer s3cret-key-A, other-key-B"):
            unauthorized(c.request("GET", "/api/items", headers={"Authorization": h}))
        unauthorized(c.request("GET", "/api/items"))
        # The key in another header or in the query string is not accepted.
        unauthorized(c.request("GET", "/api/items?api_key=" + KEY))
        unauthorized(c.request("GET", "/api/items", headers={"X-API-Key": KEY}))
        # The connection survives every refusal.
        eq(ok("Bearer " + KEY), 200)


@case
def api_key_guard_from_environment():
    with app(env={"TEST_API_KEYS": "env-key-1,env-key-2"}) as s:
        c = s.connect()
        eq(c.request("GET", "/env/ping", headers={"Authorization": "Bearer env-key-2"}).body, b"ok")
        unauthorized(c.request("GET", "/env/ping", headers={"Authorization": "Bearer " + KEY}),
                     'Bearer error="invalid_token"')
    # Unset: everyone is refused, and the start says why.
    with app(env={"TEST_API_KEYS": ""}) as s:
        c = s.connect()
        unauthorized(c.request("GET", "/env/ping", headers={"Authorization": "Bearer "}))
        unauthorized(c.request("GET", "/env/ping", headers={"Authorization": "Bearer x"}),
                     'Bearer error="invalid_token"')
        check("no key in TEST_API_KEYS" in s.stderr(), "warning logged")


@case
def route_only_middleware():
    with app() as s:
        c = s.connect()
        r = c.request("GET", "/own")
        eq((r.status, r.header("X-Own")), (200, "1"))
        r = c.request("GET", "/not-own")
        eq((r.status, r.header("X-Own")), (200, None))
        eq(c.request("GET", "/own/x").header("X-Own"), None, "not for the route's 404s")


if __name__ == "__main__":
    run("integration/middleware")
