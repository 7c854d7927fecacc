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


if __name__ == "__main__":
    run("integration/middleware")
