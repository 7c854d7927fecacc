"""No heap allocation on the hot path: /plaintext and /json served to keep-alive and pipelined
connections are counted with an LD_PRELOAD malloc shim (tests/integration/alloc_count.c)."""
import os
import signal
import subprocess
import time

from lib import BIN, ROOT, SANITIZED, TEST_APP, Server, case, check, eq, run

SHIM = os.path.join(ROOT, "build", "alloc_count.so")


def build_shim():
    src = os.path.join(ROOT, "tests", "integration", "alloc_count.c")
    if not os.path.exists(SHIM) or os.path.getmtime(SHIM) < os.path.getmtime(src):
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", SHIM, src], check=True)


def snapshot(s, path):
    if os.path.exists(path):
        os.unlink(path)
    s.proc.send_signal(signal.SIGUSR2)
    for _ in range(100):
        if os.path.exists(path) and open(path).read().endswith("\n"):
            return int(open(path).read())
        time.sleep(0.02)
    raise AssertionError("no allocation count written")


def traffic(conns, rounds):
    for _ in range(rounds):
        for i, c in enumerate(conns):
            path = "/plaintext" if i % 2 else "/json"
            # 16 pipelined requests per write, then one plain request.
            c.send(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path) * 16)
            for _ in range(16):
                eq(c.read_response().status, 200)
            eq(c.request("GET", path).status, 200)


def measure(mode):
    path = "/tmp/chopin-alloc-%d-%s" % (os.getpid(), mode)
    env = {"LD_PRELOAD": SHIM, "ALLOC_COUNT_FILE": path}
    with Server(mode=mode, workers=2, env=env) as s:
        conns = [s.connect() for _ in range(8)]
        traffic(conns, 20)  # warm caches: blocks, request objects, connection slots
        before = snapshot(s, path)
        traffic(conns, 150)  # 8 x 150 x 17 = 20,400 requests
        after = snapshot(s, path)
        for c in conns:
            c.close()
    os.unlink(path)
    return before, after


def hold_and_release(ctl, conns):
    """One request held per connection (as a database query holds it), then all answered."""
    for c in conns:
        c.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
    deadline = time.time() + 10
    while ctl.request("GET", "/held").json()["data"] < len(conns) and time.time() < deadline:
        time.sleep(0.01)
    eq(ctl.request("GET", "/release").json()["data"], len(conns), "requests held at once")
    for c in conns:
        eq(c.read_response().status, 200)


def measure_held(nconns):
    path = "/tmp/chopin-alloc-%d-held" % os.getpid()
    env = {"LD_PRELOAD": SHIM, "ALLOC_COUNT_FILE": path}
    with Server(binary=TEST_APP, workers=1, env=env) as s:
        ctl = s.connect()
        conns = [s.connect() for _ in range(nconns + 10)]
        # The caches grow to the load, here a little more than the measured one: how many
        # buffers are in use at the peak varies by one or two with timing.
        hold_and_release(ctl, conns)
        before = snapshot(s, path)
        for _ in range(3):
            hold_and_release(ctl, conns[:nconns])
        after = snapshot(s, path)
        for c in conns + [ctl]:
            c.close()
    os.unlink(path)
    return before, after


# ASan replaces malloc, so the count is meaningful for the release build only: under the
# sanitizer build this suite registers no case.
maybe_case = (lambda fn: fn) if SANITIZED else case


@maybe_case
def zero_allocations_performance_mode():
    build_shim()
    before, after = measure("performance")
    check(before > 0, "the shim counted startup allocations (%d)" % before)
    eq(after - before, 0, "allocations while serving 20,400 requests")


@maybe_case
def zero_allocations_standard_mode():
    build_shim()
    before, after = measure("standard")
    eq(after - before, 0, "allocations while serving 20,400 requests through router and middleware")


@maybe_case
def zero_allocations_many_requests_in_flight():
    # 200 requests waiting at once (as on a database) are more than the 64 request objects and
    # the 256 buffers a worker always keeps (each waiting connection holds its read buffer,
    # and its answer takes a write buffer): the caches must grow to the load rather than
    # allocate and free the excess on every request.
    build_shim()
    before, after = measure_held(200)
    eq(after - before, 0, "allocations while holding and answering 200 requests, 3 times")


if __name__ == "__main__":
    run("integration/alloc")
