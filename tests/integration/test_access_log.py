"""ACCESS_LOG and ACCESS_LOG_FORMAT: logfmt (the default), JSON lines, and nginx's combined
format; hostile paths and headers never break a line."""
import json
import re
import time

from lib import Server, case, check, eq, run

UA = 'evil "agent"\\ x'


def requests(s):
    c = s.connect()
    eq(c.request("GET", "/json?x=1", headers={"User-Agent": UA, "Referer": "http://r.example/"}).status, 200)
    st = c.request("GET", "/api/notes/%22%0a%5c").status  # not a valid id
    check(st in (400, 404), "status %d" % st)
    eq(c.request("HEAD", "/plaintext").status, 200)
    c.close()
    time.sleep(0.3)


def log_lines(s, start):
    return [line for line in s.stderr().splitlines() if line.startswith(start)]


@case
def production_logs_nothing_unless_asked():
    with Server() as s:  # lib runs ENVIRONMENT=production
        requests(s)
        eq(log_lines(s, "time=") + log_lines(s, "{") + log_lines(s, "127.0.0.1"), [], "no access log")


@case
def logfmt_is_the_default():
    with Server(env={"ACCESS_LOG": "on"}) as s:
        requests(s)
        lines = [l for l in log_lines(s, "time=") if "msg=request" in l]
        eq(len(lines), 3, "one line per request")
        check(re.search(r'method=GET path="/json" status=200 bytes=\d+ duration_ms=', lines[0]), lines[0])
        check('path="/api/notes/%22%0a%5c"' in lines[1], lines[1])


@case
def json_lines():
    with Server(env={"ACCESS_LOG": "on", "ACCESS_LOG_FORMAT": "json"}) as s:
        requests(s)
        lines = log_lines(s, "{")
        eq(len(lines), 3, "one line per request")
        recs = [json.loads(l) for l in lines]  # every line parses
        eq(recs[0]["method"], "GET")
        eq(recs[0]["path"], "/json")
        eq(recs[0]["route"], "/json")
        eq(recs[0]["status"], 200)
        eq(recs[0]["user_agent"], UA, "quotes and backslashes survive")
        eq(recs[0]["remote_addr"], "127.0.0.1")
        check(recs[0]["duration_ms"] >= 0 and len(recs[0]["request_id"]) >= 16, recs[0])
        eq(recs[1]["route"], "/api/notes/:id", "the pattern")
        check(recs[1]["status"] in (400, 404), recs[1])
        eq(recs[2]["method"], "HEAD")
        eq(recs[2]["bytes"], 0, "HEAD sends no body")


@case
def nginx_combined():
    with Server(env={"ACCESS_LOG": "on", "ACCESS_LOG_FORMAT": "combined"}) as s:
        requests(s)
        lines = log_lines(s, "127.0.0.1 - - [")
        eq(len(lines), 3, "one line per request: %r" % s.stderr()[-500:])
        # nginx: $remote_addr - $remote_user [$time_local] "$request" $status
        #        $body_bytes_sent "$http_referer" "$http_user_agent"
        pat = re.compile(r'^(\S+) - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
                         r'"([^"\\]*(?:\\.[^"\\]*)*)" (\d{3}) (\d+) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$')
        m = pat.match(lines[0])
        check(m, "combined format: %r" % lines[0])
        eq(m.group(3), "GET /json?x=1 HTTP/1.1")
        eq(m.group(4), "200")
        check(int(m.group(5)) > 0, "bytes")
        eq(m.group(6), "http://r.example/")
        eq(m.group(7), 'evil \\x22agent\\x22\\x5c x', "escaped as nginx does")
        m = pat.match(lines[1])
        check(m, lines[1])
        eq(m.group(7), "-", "no user agent")
        m = pat.match(lines[2])
        eq(m.group(5), "0", "HEAD")


@case
def bad_format_refused_at_start():
    s = Server(env={"ACCESS_LOG_FORMAT": "apache"})
    try:
        s.start()
        rc = s.proc.wait(10)
    except Exception as e:  # noqa: BLE001 - exited at start
        check("exited at start" in str(e), str(e))
        rc = s.proc.returncode
    finally:
        s.stop()
    eq(rc, 2, "exit status")
    check("ACCESS_LOG_FORMAT" in s.stderr(), "names the setting")


if __name__ == "__main__":
    run("integration/access_log")
