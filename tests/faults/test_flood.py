"""Connection floods: past the server's file-descriptor limit, and 10,000 idle keep-alive
connections.

With CHOPIN_TEST_TLS=1 the fd flood runs over HTTPS: the flooding clients send ClientHellos
(each accepted one costs the server a handshake) and the waiting client completes its
handshake once the flood ends."""
import selectors
import socket
import time

from flib import (BIN, TLS, LimitedServer, Probe, case, check, client_hello, connect, eq,
                  http_get, plain_case, raise_own_nofile, report_latency, run, wrap)


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
    c = connect(port, timeout=timeout)
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
        # Half of them send a request (over TLS, a ClientHello): the ones accepted get
        # answers, the rest wait in the backlog while the server cannot accept.
        first = client_hello() if TLS else http_get("/plaintext")
        for c in flood[::2]:
            try:
                c.send(first)
            except OSError:
                pass
        window = 5.0
        time.sleep(window)
        cpu = s.cpu_seconds() - cpu0
        peak_fds = s.fds()
        check(s.alive(), "server died under the flood")
        # While saturated, a new client waits in the backlog rather than being refused.
        waiting = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        if not TLS:
            waiting.sendall(http_get("/json"))
        for c in flood:
            c.close()
        t1 = time.time()
        waiting.settimeout(5)
        if TLS:
            # The handshake can only start once the server accepts: after the flood.
            waiting = wrap(waiting)
            waiting.sendall(http_get("/json"))
        data = waiting.recv(4096)
        served_after = time.time() - t1
        waiting.close()
        statuses = [one_request(s.port) for _ in range(50)]
        time.sleep(1.5)
        fds1 = s.fds()
        print("  figure %sfd flood: 1000 connections vs RLIMIT_NOFILE 256: server used %.2f s CPU "
              "in %.0f s (%.1f%%), %d descriptors at the peak (%d before, %d after); a waiting "
              "client was served %.2f s after the flood ended; %d/50 requests OK afterwards"
              % ("tls " if TLS else "", cpu, window, 100 * cpu / window, peak_fds, fds0, fds1,
                 served_after, statuses.count(200)), flush=True)
        check(cpu < 0.10 * window, "server burned %.2f s CPU while out of descriptors" % cpu)
        check(data.startswith(b"HTTP/1.1 200"), "backlogged client got %r" % data[:40])
        check(served_after < 2, "backlogged client waited %.2f s" % served_after)
        eq(statuses.count(200), 50, "requests after the flood")
        check(fds1 <= fds0 + 2, "descriptors %d after the flood, %d before" % (fds1, fds0))
        check("pausing accepts" in s.stderr(), "EMFILE not reported")
        check(time.time() - t0 < 30, "flood case took too long")


# Plain HTTP only: the memory figure is the engine's (a TLS session adds OpenSSL's state per
# connection, a different budget), and 10,000 handshakes from Python would dominate the run.
@plain_case
def ten_thousand_idle_keep_alive():
    """10,000 connections that made one request and stay idle: memory per connection, other
    clients unaffected, and every idle one closed at IDLE_TIMEOUT."""
    limit = raise_own_nofile()
    n = min(10000, limit - 200)
    idle_timeout = 8.0
    with LimitedServer(binary=BIN, env={"IDLE_TIMEOUT": "%ds" % idle_timeout},
                       workers=2) as s:
        for _ in range(200):  # warm up: block caches, request pools, Date cache
            one_request(s.port)
        time.sleep(0.3)
        rss0 = s.rss_kib()
        socks = open_many(s.port, n)
        eq(len(socks), n, "connections opened")
        # One request on each, so every connection has been through a full exchange.
        sel = selectors.DefaultSelector()
        req = http_get("/plaintext")
        for c in socks:
            c.send(req)
            sel.register(c, selectors.EVENT_READ, [b"", None])
        answered, end = 0, time.time() + 30
        while answered < n and time.time() < end:
            for key, _ in sel.select(timeout=0.5):
                st = key.data
                chunk = key.fileobj.recv(4096)
                st[0] += chunk
                if st[1] is None and st[0].count(b"Hello, World!") == 1:
                    st[1] = time.time()
                    answered += 1
                if not chunk:
                    raise AssertionError("closed before the idle timeout")
        eq(answered, n, "responses")
        t_idle = time.time()
        time.sleep(1.0)
        rss1 = s.rss_kib()
        per_conn = (rss1 - rss0) * 1024.0 / n
        probe = Probe(s.port, 4)
        lat, errors, nerr = probe.result()
        p99 = report_latency("normal clients beside 10k idle", lat, nerr)
        # Now wait for the server to close them all.
        closed, times = 0, []
        end = t_idle + idle_timeout + 5
        while closed < n and time.time() < end:
            for key, _ in sel.select(timeout=0.5):
                try:
                    chunk = key.fileobj.recv(4096)
                except OSError:
                    chunk = b""
                if chunk:
                    continue
                times.append(time.time() - key.data[1])
                sel.unregister(key.fileobj)
                key.fileobj.close()
                closed += 1
        sel.close()
        for c in socks:
            c.close()
        print("  figure idle: %d idle keep-alive connections, server RSS %d -> %d KiB, %.0f bytes "
              "per connection; closed %d/%d after %.2f-%.2f s idle (IDLE_TIMEOUT %.0f s)"
              % (n, rss0, rss1, per_conn, closed, n, min(times) if times else -1,
                 max(times) if times else -1, idle_timeout), flush=True)
        eq(nerr, 0, "normal client errors %r" % errors)
        check(p99 < 100, "p99 %.1f ms beside idle connections" % p99)
        check(per_conn <= 1024, "%.0f bytes of RSS per idle connection" % per_conn)
        eq(closed, n, "idle connections closed by the server")
        check(min(times) >= idle_timeout - 0.5, "closed early: %.2f s" % min(times))
        check(max(times) <= idle_timeout + 2.5, "closed late: %.2f s" % max(times))


if __name__ == "__main__":
    run("faults/flood" + ("-tls" if TLS else ""))
