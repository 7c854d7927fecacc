#!/usr/bin/env python3
"""Hold many idle keep-alive connections open against a server.

Usage: bench/idle_conns.py PORT CONNS [CLOSE_CAP_S]

Opens CONNS TCP connections to 127.0.0.1:PORT, sends one GET /plaintext on
each and reads its whole response, so every connection has been through a
request and sits idle in keep-alive. Then it prints

  READY open=N failed=F seconds=T

and waits for SIGUSR1, which the caller sends once it has read the server's
memory. Without CLOSE_CAP_S it then closes everything and exits. With it, it
keeps watching until the server has closed every connection or CLOSE_CAP_S
seconds have passed since READY, and reports how long each connection sat
idle (since its response) before the server closed it:

  CLOSED closed=K open=N early=E idle_min_s= idle_p50_s= idle_max_s=

early counts connections the server closed before SIGUSR1, i.e. before the
memory was read. Needs CONNS + a few open files (raise `ulimit -n` first).
Only the standard library is used so the benchmark needs nothing from pip.
"""
import selectors
import signal
import socket
import sys
import time

HOST = "127.0.0.1"
BATCH = 250  # below the listen backlog of any sane server, so no SYN is dropped
BATCH_TIMEOUT_S = 15
REQUEST = b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n"

measured = False


def on_usr1(signum, frame):
    global measured
    measured = True


def response_complete(buf):
    """True once buf holds a whole response framed by Content-Length."""
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return True  # no body announced: the header block is the whole answer


def open_batch(port, count):
    """Connect count sockets, do one request on each; return (open, failed)."""
    sel = selectors.DefaultSelector()
    pending = {}
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((HOST, port))
        pending[s] = b""
        sel.register(s, selectors.EVENT_WRITE)
    done, failed = [], 0
    deadline = time.monotonic() + BATCH_TIMEOUT_S
    while pending and time.monotonic() < deadline:
        for key, events in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                if events & selectors.EVENT_WRITE:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, "connect failed")
                    s.send(REQUEST)  # tiny; fits the empty send buffer whole
                    sel.modify(s, selectors.EVENT_READ)
                    continue
                chunk = s.recv(4096)
                if not chunk:
                    raise OSError("closed before the response")
                pending[s] += chunk
                if response_complete(pending[s]):
                    sel.unregister(s)
                    del pending[s]
                    done.append((s, time.monotonic()))
            except OSError:
                sel.unregister(s)
                del pending[s]
                s.close()
                failed += 1
    for s in pending:
        s.close()
    sel.close()
    return done, failed + len(pending)


def watch_closes(conns, cap_s, ready_at):
    """Wait for server-side closes; return idle times and the early count."""
    sel = selectors.DefaultSelector()
    for s, answered_at in conns:
        sel.register(s, selectors.EVENT_READ, answered_at)
    idle, early = [], 0
    while sel.get_map():
        if cap_s is None and measured:
            break
        if cap_s is not None and measured and time.monotonic() - ready_at > cap_s:
            break
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if data:
                continue  # unexpected bytes (e.g. a 408 before closing); keep waiting for EOF
            idle.append(time.monotonic() - key.data)
            early += not measured
            sel.unregister(s)
            s.close()
    sel.close()
    return idle, early


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    port, count = int(argv[1]), int(argv[2])
    cap_s = float(argv[3]) if len(argv) == 4 else None
    signal.signal(signal.SIGUSR1, on_usr1)

    started = time.monotonic()
    conns, failed = [], 0
    while len(conns) + failed < count:
        ok, bad = open_batch(port, min(BATCH, count - len(conns) - failed))
        conns += ok
        failed += bad
    ready_at = time.monotonic()
    print(f"READY open={len(conns)} failed={failed} seconds={ready_at - started:.2f}", flush=True)

    idle, early = watch_closes(conns, cap_s, ready_at)
    if cap_s is not None:
        idle.sort()
        stats = "idle_min_s=NA idle_p50_s=NA idle_max_s=NA"
        if idle:
            stats = (f"idle_min_s={idle[0]:.2f} idle_p50_s={idle[len(idle) // 2]:.2f} "
                     f"idle_max_s={idle[-1]:.2f}")
        print(f"CLOSED closed={len(idle)} open={len(conns)} early={early} {stats}", flush=True)
    else:
        print(f"CLOSED closed={len(idle)} open={len(conns)} early={early} by=client", flush=True)
    for s, _ in conns:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
