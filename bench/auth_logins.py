#!/usr/bin/env python3
"""/plaintext latency on one worker while password verifications run (issue 10 point 1).

Starts build/auth-test-app with WORKERS=1 and the default Argon2id cost, sends RATE
verifications per second (POST /verify, the work of a login) from a background thread, and runs
wrk on GET /plaintext against the same worker meanwhile. Prints wrk's latency percentiles and
the verifications' own latency. Usage: bench/auth_logins.py [seconds] [rate]
A quiet machine is needed for figures worth publishing; this is not part of `make test`."""
import json
import os
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.environ.get("CHOPIN_AUTH_APP", os.path.join(ROOT, "build", "auth-test-app"))
SECS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
RATE = int(sys.argv[2]) if len(sys.argv) > 2 else 50


def post(port, path, obj):
    body = json.dumps(obj).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (path.encode(), len(body), body))
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body or b"null")


def main():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env = dict(os.environ, SERVER_PORT=str(port), WORKERS="1", ENVIRONMENT="production",
               JWT_SECRET="bench-secret-0123456789-abcdefghijklmn")
    proc = subprocess.Popen([APP], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        status, out = post(port, "/hash", {"password": "correct horse battery staple"})
        assert status == 200, status
        phc = out["data"]["phc"]
        lat, stop = [], threading.Event()

        def logins():
            t0 = time.time()
            n = 0
            while not stop.is_set():
                due = t0 + n / RATE
                delay = due - time.time()
                if delay > 0:
                    time.sleep(delay)
                n += 1
                def one():
                    a = time.time()
                    st, _ = post(port, "/verify", {"phc": phc, "password": "correct horse battery staple"})
                    if st == 200:
                        lat.append(time.time() - a)
                threading.Thread(target=one, daemon=True).start()

        th = threading.Thread(target=logins, daemon=True)
        th.start()
        wrk = subprocess.run(["wrk", "-t1", "-c16", "-d%ds" % SECS, "--latency",
                              "http://127.0.0.1:%d/plaintext" % port],
                             capture_output=True, text=True)
        stop.set()
        th.join()
        time.sleep(1)
        print(wrk.stdout)
        lat.sort()
        if lat:
            print("verifications: %d done (%.1f/s), median %.1f ms, p99 %.1f ms"
                  % (len(lat), len(lat) / SECS, 1000 * lat[len(lat) // 2],
                     1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))]))
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
