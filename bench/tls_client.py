#!/usr/bin/env python3
"""N HTTPS connections one after another, each a handshake, one GET /plaintext and a close;
with `reuse`, every connection after the first resumes the previous one's session.
Usage: bench/tls_client.py PORT N [reuse]. Prints "connections N resumed R"."""
import socket
import ssl
import sys


def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    reuse = len(sys.argv) > 3 and sys.argv[3] == "reuse"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    session, resumed = None, 0
    for _ in range(n):
        raw = socket.create_connection(("127.0.0.1", port))
        s = ctx.wrap_socket(raw, server_hostname="localhost", session=session if reuse else None)
        s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            try:
                chunk = s.recv(4096)
            except (ssl.SSLError, OSError):
                break
            if not chunk:
                break
            data += chunk
        if b"Hello, World!" not in data:
            sys.exit("unexpected answer: %r" % data[:200])
        resumed += s.session_reused
        session = s.session
        s.close()
    print("connections %d resumed %d" % (n, resumed))


if __name__ == "__main__":
    main()
