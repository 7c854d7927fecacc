"""Security headers middleware against tests/apps/mw_app.c: the defaults stack sends them in
production only; explicit options in every environment; HSTS only behind TLS; a handler's own
value wins; header-splitting values are refused."""
import os

import lib
from lib import case, check, eq

APP = os.path.join(os.path.dirname(lib.BIN), "mw-app")
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'"


def get(s, path):
    c = s.connect()
    try:
        return c.request("GET", path)
    finally:
        c.close()


def server(env=None, **kw):
    return lib.Server(binary=APP, env=env, **kw)


@case
def production_defaults_on_every_response():
    with server({"ENVIRONMENT": "production"}) as s:
        for path, json in (("/big?n=1", True), ("/typed?type=text/html&n=10", False),
                           ("/nowhere", True), ("/no-content", False)):
            r = get(s, path)
            eq(r.header("X-Content-Type-Options"), "nosniff", path)
            eq(r.header("X-Frame-Options"), "DENY", path)
            eq(r.header("Referrer-Policy"), "no-referrer", path)
            eq(r.header("Content-Security-Policy"), DEFAULT_CSP if json else None, path)
            eq(r.header("Strict-Transport-Security"), None, "%s: HSTS without BEHIND_TLS" % path)


@case
def development_defaults_send_none():
    with server({"ENVIRONMENT": "development"}) as s:
        r = get(s, "/big?n=1")
        for h in ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
                  "Content-Security-Policy", "Strict-Transport-Security"):
            eq(r.header(h), None, h)


@case
def hsts_only_behind_tls():
    with server({"ENVIRONMENT": "production", "BEHIND_TLS": "true"}) as s:
        eq(get(s, "/big?n=1").header("Strict-Transport-Security"), "max-age=31536000", "HSTS")
    with server({"ENVIRONMENT": "production", "BEHIND_TLS": "false"}) as s:
        eq(get(s, "/big?n=1").header("Strict-Transport-Security"), None, "BEHIND_TLS=false")


@case
def bad_behind_tls_value_is_a_startup_error():
    s = server({"BEHIND_TLS": "yes please"})
    try:
        s.start()
        raise lib.Failure("started with BEHIND_TLS='yes please'")
    except lib.Failure as e:
        check("BEHIND_TLS" in str(e), "error names the setting: %s" % e)


@case
def explicit_options_apply_in_development_too():
    with server({"ENVIRONMENT": "development"}) as s:
        r = get(s, "/secure/big?n=1")
        eq(r.header("X-Frame-Options"), "SAMEORIGIN", "frame options")
        eq(r.header("Referrer-Policy"), "strict-origin-when-cross-origin", "referrer")
        eq(r.header("Strict-Transport-Security"), "max-age=600; includeSubDomains", "HSTS")
        eq(r.header("X-Content-Type-Options"), "nosniff", "nosniff")
        eq(r.header("Content-Security-Policy"), DEFAULT_CSP, "JSON CSP")
        r = get(s, "/secure/typed?type=text/html&n=10")
        eq(r.header("Content-Security-Policy"), None, "no CSP on HTML")


@case
def group_and_handler_values_win_over_the_defaults_once():
    with server({"ENVIRONMENT": "production"}) as s:
        r = get(s, "/secure/big?n=1")
        frames = [v for k, v in r.headers if k.lower() == "x-frame-options"]
        eq(frames, ["SAMEORIGIN"], "one X-Frame-Options, the group's")
        r = get(s, "/headers/X-Frame-Options=SAMEORIGIN")
        eq([v for k, v in r.headers if k.lower() == "x-frame-options"], ["SAMEORIGIN"],
           "handler's own value")
        r = get(s, "/headers/Referrer-Policy=origin")
        eq(r.header("Referrer-Policy"), "origin", "handler's referrer policy")


@case
def header_splitting_values_are_refused():
    with server({"ENVIRONMENT": "development"}) as s:
        r = get(s, "/evil/big?n=1")
        eq(r.header("X-Injected"), None, "injected header")
        eq(r.header("X-Frame-Options"), "DENY", "default instead of the bad value")
        eq(r.header("Referrer-Policy"), "no-referrer", "default instead of the bad value")
        eq(r.header("Content-Security-Policy"), None, "json_csp \"\" leaves it out")
        for k, v in r.headers:
            check("\r" not in v and "\n" not in v, "control character in %s" % k)


@case
def json_detection_covers_plus_json_and_parameters():
    with server({"ENVIRONMENT": "production"}) as s:
        for t, want in (("application/json", True), ("application/json;%20charset=utf-8", True),
                        ("application/problem+json", True), ("application/vnd.api+json", True),
                        ("text/json", False), ("application/jsonx", False),
                        ("text/plain", False)):
            r = get(s, "/typed?type=%s&n=10" % t)
            eq(r.header("Content-Security-Policy"), DEFAULT_CSP if want else None, t)


if __name__ == "__main__":
    lib.run("security")
