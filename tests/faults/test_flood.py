"""Connection floods: past the server's file-descriptor limit."""
import selectors
import socket
import time

from flib import (BIN, LimitedServer, Probe, case, check, eq, http_get, raise_own_nofile,
                  report_latency, run)


def open_many(port, n, deadline=30):
    """Opens `n` connections without blocking on each; returns the connected sockets."""
    socks = []
    for _ in range(n):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        socks.append(c)
    sel = selectors.DefaultSelector()
    for c in socks:
        sel.register(c, selectors.EVENT_WRITE)
    pending, ok = len(socks), []
    end = time.time() + deadline
    while pending and time.time() < end:
        for key, _ in sel.select(timeout=0.5):
            sel.unregister(key.fileobj)
            pending -= 1
            if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                ok.append(key.fileobj)
            else:
                key.fileobj.close()
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    return ok


def one_request(port, path="/plaintext", timeout=5):
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        c.sendall(http_get(path))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
        return int(data[9:12]) if data.startswith(b"HTTP/1.1 ") else 0
    finally:
        c.close()


@case
def nofile_soft_limit_raised_to_hard():
    # The server takes the whole hard limit at startup (nginx's worker_rlimit_nofile).
    with LimitedServer(binary=BIN, nofile=(256, 4096)) as s:
        with open("/proc/%d/limits" % s.pid) as f:
            line = [x for x in f if x.startswith("Max open files")][0]
        eq(line.split()[3:5], ["4096", "4096"], "server's open-file limits")
        check("open-file limit: 4096 (raised from 256)" in s.stderr(), "limit not logged")


@case
def flood_past_fd_limit():
    """1,000 connections against a server limited to 256 descriptors: no busy loop while it
    cannot accept, no crash, and full service as soon as the flood ends."""
    raise_own_nofile()
    with LimitedServer(binary=BIN, nofile=(256, 256), workers=2) as s:
        time.sleep(0.3)
        cpu0, fds0 = s.cpu_seconds(), s.fds()
        t0 = time.time()
        flood = open_many(s.port, 1000)
        # Half of them send a request: the ones accepted get answers, the rest wait in the
        # backlog while the server cannot accept.
        for c in flood[::2]:
            try:
                c.send(http_get("/plaintext"))
            except OSError:
                pass
        window = 5.0
        time.sleep(window)
        cpu = s.cpu_seconds() - cpu0
        peak_fds = s.fds()
        check(s.alive(), "server died under the flood")
        # While saturated, a new client waits in the backlog rather than being refused.
        waiting = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        waiting.sendall(http_get("/json"))
        for c in flood:
            c.close()
        t1 = time.time()
        waiting.settimeout(5)
        data = waiting.recv(4096)
        served_after = time.time() - t1
        waiting.close()
        statuses = [one_request(s.port) for _ in range(50)]
        time.sleep(1.5)
        fds1 = s.fds()
        print("  figure fd flood: 1000 connections vs RLIMIT_NOFILE 256: server used %.2f s CPU "
              "in %.0f s (%.1f%%), %d descriptors at the peak (%d before, %d after); a waiting "
              "client was served %.2f s after the flood ended; %d/50 requests OK afterwards"
              % (cpu, window, 100 * cpu / window, peak_fds, fds0, fds1, served_after,
                 statuses.count(200)), flush=True)
        check(cpu < 0.10 * window, "server burned %.2f s CPU while out of descriptors" % cpu)
        check(data.startswith(b"HTTP/1.1 200"), "backlogged client got %r" % data[:40])
        check(served_after < 2, "backlogged client waited %.2f s" % served_after)
        eq(statuses.count(200), 50, "requests after the flood")
        check(fds1 <= fds0 + 2, "descriptors %d after the flood, %d before" % (fds1, fds0))
        check("pausing accepts" in s.stderr(), "EMFILE not reported")
        check(time.time() - t0 < 30, "flood case took too long")


if __name__ == "__main__":
    run("faults/flood")
