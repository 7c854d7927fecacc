"""HTTPS: handshakes, protocol versions, ALPN, SNI, resumption across workers, record I/O
(pipelining, a 10 MiB body each way), handshake timeouts, garbage and alerts, slowloris over
TLS, certificate reload on SIGHUP, kernel TLS reporting, close_notify on shutdown.

The certificates are self-signed ECDSA P-256 ones from scripts/dev-cert.sh. Clients are
Python's ssl module and raw sockets (for ClientHellos Python refuses to send)."""
import os
import selectors
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time

import lib
from lib import Failure, Server, case, check, eq, free_port, run

TMP = tempfile.mkdtemp(prefix="chopin-tls-test-")
CERT, KEY = lib.dev_cert(("localhost",), os.path.join(TMP, "default"))
CERT_A, KEY_A = lib.dev_cert(("a.test", "*.a.test"), os.path.join(TMP, "a"))
CERT_B, KEY_B = lib.dev_cert(("b.test",), os.path.join(TMP, "b"))

_main = None


class TLSServer(Server):
    def start(self):
        super().start()
        # Server.start() waited for the plain port; the HTTPS one opens just after it.
        deadline = time.time() + 10
        while True:
            if self.proc.poll() is not None:
                raise Failure("server exited (%d): %s" % (self.proc.returncode, self.stderr()))
            try:
                socket.create_connection(("127.0.0.1", self.tls_port), timeout=0.5).close()
                return self
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)


def tls_server(workers=2, mode="performance", env=None, certs=((CERT, KEY),)):
    """A server with HTTPS on s.tls_port and plain HTTP on s.port. The handshake timeout is
    1 s (the timeout tests need it short) unless env says otherwise."""
    e = {"TLS_CERT": ",".join(c for c, _ in certs), "TLS_KEY": ",".join(k for _, k in certs),
         "TLS_HANDSHAKE_TIMEOUT": "1s", "MAX_BODY_SIZE": "16m"}
    e.update(env or {})
    s = TLSServer(mode=mode, workers=workers, env=e)
    s.tls = False  # lib's TLS mode is for the generic suites; here both ports are explicit
    s.tls_port = free_port()
    while s.tls_port == s.port:
        s.tls_port = free_port()
    s.env["TLS_PORT"] = str(s.tls_port)
    return s


def main_server():
    """Shared by most cases: two workers, three certificates (default, a.test, b.test)."""
    global _main
    if _main is None:
        _main = tls_server(certs=((CERT, KEY), (CERT_A, KEY_A), (CERT_B, KEY_B)),
                           env={"TLS_HANDSHAKE_TIMEOUT": "2s"}).start()
    return _main


def client_ctx(minv=None, maxv=None, alpn=("http/1.1",), ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if minv:
        ctx.minimum_version = minv
    if maxv:
        ctx.maximum_version = maxv
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def tls_connect(port, ctx=None, sni="localhost", session=None, timeout=5, ragged=True):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return (ctx or client_ctx()).wrap_socket(raw, server_hostname=sni, session=session,
                                             suppress_ragged_eofs=ragged)


def conn(sock):
    return lib.Conn(sock)


class Info:
    """What a closed TLS connection negotiated."""

    def __init__(self, sock):
        self.v = sock.version()
        self.c = sock.cipher()
        self.alpn = sock.selected_alpn_protocol()

    def version(self):
        return self.v

    def cipher(self):
        return self.c

    def selected_alpn_protocol(self):
        return self.alpn


def get(port, path="/plaintext", **kw):
    s = tls_connect(port, **kw)
    try:
        c = conn(s)
        return c.request("GET", path), Info(s)
    finally:
        s.close()


def cert_subject(sock):
    """The CN of the certificate the server presented (parsed from DER by openssl)."""
    der = sock.getpeercert(binary_form=True)
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject"],
                         input=der, capture_output=True, check=True).stdout.decode()
    return out.strip().split("CN", 1)[1].lstrip(" =")


def wait_closed(sock, timeout):
    """Seconds until the peer closed `sock` (EOF, reset or alert), or None after timeout."""
    t0 = time.time()
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return time.time() - t0
    except (ConnectionResetError, ssl.SSLError):
        return time.time() - t0
    except socket.timeout:
        return None


def client_hello(version, record_version=None):
    """A raw ClientHello offering only `version` (0x0300 SSLv3, 0x0301 TLS 1.0, 0x0302 1.1)
    with ciphers a modern server would accept: the refusal must come from the version."""
    suites = [0xC02B, 0xC02F, 0xC009, 0xC013, 0x002F, 0x0035]
    body = struct.pack(">H", version) + os.urandom(32) + b"\x00"
    body += struct.pack(">H", 2 * len(suites)) + b"".join(struct.pack(">H", c) for c in suites)
    body += b"\x01\x00"
    exts = b""
    if version >= 0x0301:
        host = b"localhost"
        sni = struct.pack(">HBH", len(host) + 3, 0, len(host)) + host
        exts += struct.pack(">HH", 0, len(sni)) + sni
        groups = struct.pack(">HHH", 4, 0x001D, 0x0017)
        exts += struct.pack(">HH", 10, len(groups)) + groups
        exts += struct.pack(">HH", 11, 2) + b"\x01\x00"
        body += struct.pack(">H", len(exts)) + exts
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16" + struct.pack(">HH", record_version or version, len(hs)) + hs


def read_record(sock, timeout=5):
    """The first TLS record the server sends back: (type, payload), or None on EOF."""
    sock.settimeout(timeout)
    buf = b""
    try:
        while len(buf) < 5 or len(buf) < 5 + struct.unpack(">H", buf[3:5])[0]:
            d = sock.recv(4096)
            if not d:
                return None
            buf += d
    except ConnectionResetError:
        return None
    n = struct.unpack(">H", buf[3:5])[0]
    return buf[0], buf[5:5 + n]


def still_serves(s):
    r, _ = get(s.tls_port)
    eq((r.status, r.body), (200, b"Hello, World!"), "a fresh HTTPS request")


# ---------------------------------------------------------------- handshakes and versions

@case
def tls13_handshake_and_request():
    s = main_server()
    r, sock = get(s.tls_port, ctx=client_ctx(minv=ssl.TLSVersion.TLSv1_3))
    eq(sock.version(), "TLSv1.3", "protocol")
    eq(sock.selected_alpn_protocol(), "http/1.1", "ALPN")
    eq((r.status, r.body), (200, b"Hello, World!"), "response")


@case
def tls12_handshake_server_cipher_preference():
    s = main_server()
    # The client lists ChaCha20 first; the server's (Mozilla intermediate) order puts
    # AES128-GCM first and wins under server preference.
    ctx = client_ctx(maxv=ssl.TLSVersion.TLSv1_2,
                     ciphers="ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256")
    r, sock = get(s.tls_port, ctx=ctx)
    eq(sock.version(), "TLSv1.2", "protocol")
    eq(sock.cipher()[0], "ECDHE-ECDSA-AES128-GCM-SHA256", "cipher")
    eq(r.status, 200, "status")


@case
def tls12_cbc_and_rsa_kx_refused():
    s = main_server()
    for ciphers in ("ECDHE-ECDSA-AES128-SHA", "AES128-GCM-SHA256"):
        try:
            get(s.tls_port, ctx=client_ctx(maxv=ssl.TLSVersion.TLSv1_2, ciphers=ciphers))
            raise Failure("handshake with %s succeeded" % ciphers)
        except ssl.SSLError:
            pass
    still_serves(s)


@case
def old_protocols_refused():
    s = main_server()
    for version, name in ((0x0300, "SSLv3"), (0x0301, "TLS 1.0"), (0x0302, "TLS 1.1")):
        raw = socket.create_connection(("127.0.0.1", s.tls_port), timeout=5)
        raw.sendall(client_hello(version, record_version=0x0301 if version > 0x0300 else None))
        rec = read_record(raw)
        raw.close()
        # Either a fatal alert (protocol_version = 70) or a plain close; never a ServerHello.
        if rec is not None:
            eq(rec[0], 0x15, name + ": record type (alert)")
            eq(rec[1][:1], b"\x02", name + ": alert level fatal")
            # protocol_version (70); OpenSSL answers an SSLv3 hello with handshake_failure.
            check(rec[1][1] in ((70, 40) if version == 0x0300 else (70,)),
                  "%s: alert %d" % (name, rec[1][1]))
    still_serves(s)


@case
def openssl_s_client_old_versions_refused():
    s = main_server()
    for flag in ("-tls1", "-tls1_1"):
        p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.tls_port,
                            flag, "-cipher", "DEFAULT@SECLEVEL=0"], input=b"",
                           capture_output=True, timeout=10)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        check(p.returncode != 0, flag + " handshake succeeded:\n" + out[-500:])
        check("Cipher is (NONE)" in out or "alert" in out or "no protocols" in out,
              flag + ": unexpected output:\n" + out[-500:])
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.tls_port,
                        "-tls1_2", "-servername", "localhost"], input=b"", capture_output=True,
                       timeout=10)
    check(p.returncode == 0 and b"TLSv1.2" in p.stdout, "s_client -tls1_2 failed")


@case
def alpn_choices():
    s = main_server()
    r, sock = get(s.tls_port, ctx=client_ctx(alpn=("h2", "http/1.1")))
    eq(sock.selected_alpn_protocol(), "http/1.1", "h2 offered first, http/1.1 chosen")
    r, sock = get(s.tls_port, ctx=client_ctx(alpn=None))
    eq((sock.selected_alpn_protocol(), r.status), (None, 200), "no ALPN offered")
    try:
        get(s.tls_port, ctx=client_ctx(alpn=("h2",)))
        raise Failure("a client offering only h2 got a handshake")
    except ssl.SSLError as e:
        check("NO_APPLICATION_PROTOCOL" in str(e).upper() or "ALERT" in str(e).upper(),
              "unexpected error: %s" % e)


@case
def sni_picks_the_certificate():
    s = main_server()
    for sni, want in (("localhost", "localhost"), ("a.test", "a.test"), ("www.a.test", "a.test"),
                      ("b.test", "b.test"), ("unknown.example", "localhost"), (None, "localhost")):
        sock = tls_connect(s.tls_port, sni=sni)
        try:
            eq(cert_subject(sock), want, "certificate for SNI %r" % sni)
            r = conn(sock).request("GET", "/plaintext")
            eq(r.status, 200, "status")
        finally:
            sock.close()


def worker_of(sock):
    r = conn(sock).request("GET", "/health")
    eq(r.status, 200, "/health")
    return r.json()["data"]["worker"]


@case
def resumption_across_workers():
    s = main_server()
    for maxv in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        ctx = client_ctx(maxv=maxv)
        first = tls_connect(s.tls_port, ctx=ctx)
        worker_of(first)  # TLS 1.3 tickets arrive after the handshake, with the response
        session = first.session
        first.close()
        check(session is not None and session.has_ticket, "no session ticket (%s)" % maxv)
        seen = set()
        for _ in range(40):
            sock = tls_connect(s.tls_port, ctx=ctx, session=session)
            try:
                check(sock.session_reused, "session not resumed (%s)" % maxv)
                seen.add(worker_of(sock))
            finally:
                sock.close()
            if len(seen) == 2:
                break
        eq(sorted(seen), [0, 1], "workers that resumed the session (%s)" % maxv)


@case
def tls13_resumption_issues_a_fresh_ticket():
    """After a TLS 1.3 resumption the server sends a new ticket at once (clients use a ticket
    once). It is also what answers the client's Finished: without it a client with Nagle on
    (s_time, this one) held its request for our delayed ACK, 40 ms per resumed connection."""
    s = main_server()
    ctx = client_ctx(minv=ssl.TLSVersion.TLSv1_3)
    first = tls_connect(s.tls_port, ctx=ctx)
    worker_of(first)
    session = first.session
    first.close()
    for i in range(4):
        raw = socket.create_connection(("127.0.0.1", s.tls_port), timeout=5)  # Nagle on
        sock = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
        try:
            check(sock.session_reused, "resumption %d" % i)
            worker_of(sock)
            check(sock.session.id != session.id, "no fresh ticket after resumption %d" % i)
            session = sock.session  # the next resumption uses the new ticket
        finally:
            sock.close()


def ticket_key_name(port):
    """The first 16 bytes of a TLS 1.2 session ticket from the server, in hex."""
    path = os.path.join(TMP, "sess-%d.pem" % time.time_ns())
    subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2",
                    "-sess_out", path], input=b"", capture_output=True, timeout=10, check=True)
    text = subprocess.run(["openssl", "sess_id", "-in", path, "-noout", "-text"],
                          capture_output=True, timeout=10, check=True).stdout.decode()
    hexes = []
    lines = text.split("TLS session ticket:", 1)[1].splitlines()
    for line in lines[1:]:
        if " - " not in line:
            break
        hexes += line.split(" - ", 1)[1].replace("-", " ").split()[:16]
    check(len(hexes) >= 16, "no ticket in:\n" + text)
    return "".join(hexes[:16])


@case
def ticket_keys_rotate():
    with tls_server(workers=2, env={"TLS_TICKET_ROTATE": "1s"}) as s:
        # The name of the key that sealed a TLS 1.2 ticket heads the ticket: the same for
        # tickets issued within a period, another one after a rotation.
        names = [ticket_key_name(s.tls_port), ticket_key_name(s.tls_port)]
        ctx = client_ctx()
        first = tls_connect(s.tls_port, ctx=ctx)
        worker_of(first)
        session = first.session
        first.close()
        sock = tls_connect(s.tls_port, ctx=ctx, session=session)
        check(sock.session_reused, "fresh ticket not accepted")
        sock.close()
        # Two rotations later (they happen on the main thread's half-second tick) the key that
        # sealed the ticket is gone: a full handshake, and the server still answers.
        time.sleep(4.5)
        names.append(ticket_key_name(s.tls_port))
        check(names[2] != names[0], "ticket key never rotated: %s" % names)
        sock = tls_connect(s.tls_port, ctx=ctx, session=session)
        check(not sock.session_reused, "ticket outlived two key rotations")
        eq(conn(sock).request("GET", "/plaintext").status, 200, "after a full handshake")
        sock.close()


# ---------------------------------------------------------------- record I/O

@case
def pipelined_requests_over_tls():
    s = main_server()
    sock = tls_connect(s.tls_port)
    c = conn(sock)
    reqs = b"".join(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n" for _ in range(30))
    reqs += b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    reqs += b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n"
    c.send(reqs)
    for i in range(30):
        r = c.read_response()
        eq((r.status, r.body), (200, b"Hello, World!"), "pipelined response %d" % i)
    eq(c.read_response().body, b"hello", "echo in the pipeline")
    eq(c.read_response().json(), {"message": "Hello, World!"}, "json last")
    sock.close()


def response_complete(buf):
    """Whether buf holds a whole response with a Content-Length body."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    n = 0
    for line in bytes(buf[:end]).split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            n = int(line[15:])
    return len(buf) >= end + 4 + n


def exchange(sock, data, stall=30):
    """Sends data while reading the answer, from this one thread, until a whole response has
    come; returns the bytes received. OpenSSL forbids calling SSL_write and SSL_read on one SSL
    object from two threads at once (a sending thread beside a reading one made this test hang
    once), so both directions are driven here on a non-blocking socket. Fails when nothing
    moves for `stall` seconds: a stalled transfer, not a slow one."""
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    view, sent, got, last = memoryview(data), 0, bytearray(), time.time()
    try:
        while not response_complete(got):
            sel.modify(sock, selectors.EVENT_READ |
                       (selectors.EVENT_WRITE if sent < len(data) else 0))
            sel.select(timeout=1)
            moved = False
            if sent < len(data):
                try:
                    # After a want-write, the same bytes again: OpenSSL holds their record.
                    sent += sock.send(view[sent:sent + 65536])
                    moved = True
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                    pass
            while True:
                try:
                    chunk = sock.recv(262144)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    break
                if not chunk:
                    raise Failure("closed after %d bytes in, %d out" % (len(got), sent))
                got += chunk
                moved = True
            if moved:
                last = time.time()
            elif time.time() - last > stall:
                raise Failure("nothing moved for %d s: %d of %d bytes sent, %d received"
                              % (stall, sent, len(data), len(got)))
    finally:
        sel.close()
        sock.settimeout(60)
    return bytes(got)


@case
def ten_mib_each_way():
    s = main_server()
    body = os.urandom(10 * 1024 * 1024)
    sock = tls_connect(s.tls_port, timeout=60)
    c = conn(sock)
    head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
    head += "Content-Length: %d\r\n\r\n" % len(body)
    # Both directions at once, so neither side's buffers must hold it all.
    c.buf = exchange(sock, head.encode() + body)
    r = c.read_response()
    eq(c.buf, b"", "bytes after the echo")
    eq(r.status, 200, "status")
    eq(len(r.body), len(body), "length")
    check(r.body == body, "10 MiB came back altered")
    # And a slow reader: the server's SSL_write meets a full socket many times.
    c.send(head.encode() + body)
    time.sleep(0.5)
    r = c.read_response()
    check(r.body == body, "10 MiB to a slow reader came back altered")
    eq(conn(sock).request("GET", "/plaintext").status, 200, "keep-alive after 10 MiB")
    sock.close()


# ---------------------------------------------------------------- adversarial clients

@case
def stalled_handshake_cut_at_timeout():
    s = main_server()  # TLS_HANDSHAKE_TIMEOUT=2s
    t0 = time.time()
    silent = socket.create_connection(("127.0.0.1", s.tls_port))
    partial = socket.create_connection(("127.0.0.1", s.tls_port))
    partial.sendall(client_hello(0x0303)[:20])  # a ClientHello that never finishes
    for name, sock in (("silent", silent), ("partial", partial)):
        check(wait_closed(sock, 8) is not None, name + " handshake not cut within 8 s")
        took = time.time() - t0
        check(took >= 1.7, name + " handshake cut after %.2fs, before the timeout" % took)
        sock.close()
    still_serves(s)


@case
def garbage_closes_only_its_connection():
    s = main_server()
    keep = tls_connect(s.tls_port)
    kc = conn(keep)
    eq(kc.request("GET", "/plaintext").status, 200, "before")
    for junk in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(3000),
                 b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",  # a truncated hello body
                 b"\x16\x03\x03\xff\xff" + b"\x00" * 100):  # an oversized record length
        bad = socket.create_connection(("127.0.0.1", s.tls_port), timeout=5)
        bad.sendall(junk)
        check(wait_closed(bad, 5) is not None, "garbage %r left open" % junk[:12])
        bad.close()
    # A bad record in the middle of an established session: that session ends, not others.
    victim = tls_connect(s.tls_port)
    eq(conn(victim).request("GET", "/plaintext").status, 200, "victim before")
    tampered = socket.socket(fileno=victim.detach())  # the TCP stream under the session
    tampered.sendall(b"\x17\x03\x03\x00\x20" + os.urandom(32))  # a forged record
    check(wait_closed(tampered, 5) is not None, "forged record left the session open")
    tampered.close()
    eq(kc.request("GET", "/plaintext").status, 200, "other session after the garbage")
    keep.close()
    still_serves(s)


@case
def thousand_stalled_handshakes_do_not_block_others():
    soft, hard = __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)
    __import__("resource").setrlimit(__import__("resource").RLIMIT_NOFILE, (hard, hard))
    with tls_server(workers=2, env={"TLS_HANDSHAKE_TIMEOUT": "60s"}) as s:
        stalled = []
        hello = client_hello(0x0303)
        for i in range(1000):
            sk = socket.socket()
            sk.setblocking(False)
            sk.connect_ex(("127.0.0.1", s.tls_port))
            stalled.append(sk)
        time.sleep(0.5)
        for sk in stalled:
            try:
                sk.send(hello[:30])  # half a ClientHello each, then silence
            except OSError:
                pass
        # Other clients get full handshakes and answers while the 1,000 hang.
        t0 = time.time()
        for i in range(50):
            r, _ = get(s.tls_port, timeout=10)
            eq(r.status, 200, "request %d" % i)
        took = time.time() - t0
        check(took < 30, "50 handshakes beside 1,000 stalled ones took %.1fs" % took)
        # The stalled ones are still held (not dropped to make room): one still open.
        stalled[0].setblocking(True)
        stalled[0].settimeout(0.2)
        try:
            check(stalled[0].recv(1) != b"", "unexpected data")
            raise Failure("stalled handshake closed early")
        except socket.timeout:
            pass
        for sk in stalled:
            sk.close()


@case
def resets_mid_handshake_and_mid_response():
    s = main_server()
    linger0 = struct.pack("ii", 1, 0)
    hello = client_hello(0x0303)
    for cut in (5, 40, len(hello)):
        sk = socket.create_connection(("127.0.0.1", s.tls_port))
        sk.sendall(hello[:cut])
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger0)
        sk.close()
    for _ in range(5):
        sock = tls_connect(s.tls_port, timeout=10)
        c = conn(sock)
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n" +
               b"x" * 4000000)
        sock.recv(1000)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger0)
        sock.close()
    still_serves(s)


# ---------------------------------------------------------------- lifecycle

@case
def close_notify_on_shutdown_and_idle():
    with tls_server(workers=1, env={"IDLE_TIMEOUT": "1s"}) as s:
        idle = tls_connect(s.tls_port, ragged=False)
        eq(conn(idle).request("GET", "/plaintext").status, 200, "first")
        # The idle timeout closes with close_notify: a clean end of stream, not a ragged EOF.
        idle.settimeout(5)
        eq(idle.recv(10), b"", "clean end of stream")
        idle.close()
        held = tls_connect(s.tls_port, ragged=False)
        eq(conn(held).request("GET", "/plaintext").status, 200, "second")
        # Connection: close from the server side ends with close_notify too.
        r = conn(held).request("GET", "/plaintext", headers={"Connection": "close"})
        eq(r.status, 200, "closing request")
        held.settimeout(5)
        eq(held.recv(10), b"", "close_notify after Connection: close")
        held.close()
        busy = tls_connect(s.tls_port, ragged=False)
        eq(conn(busy).request("GET", "/plaintext").status, 200, "third")
        s.proc.send_signal(signal.SIGTERM)
        busy.settimeout(10)
        eq(busy.recv(10), b"", "drained with close_notify")
        busy.close()
        eq(s.proc.wait(15), 0, "exit status after the drain")


@case
def plain_listener_serve_off():
    s = main_server()
    r = lib.get(s, "/plaintext")
    eq((r.status, r.body), (200, b"Hello, World!"), "plain HTTP beside HTTPS")
    s2 = tls_server(workers=1, env={"TLS_HTTP": "off"})
    start_tls_server_with_plain_port_closed(s2)
    try:
        try:
            socket.create_connection(("127.0.0.1", s2.port), timeout=2).close()
            raise Failure("TLS_HTTP=off left the plain port open")
        except ConnectionRefusedError:
            pass
        still_serves(s2)
        check("listening on http://" not in s2.stderr(), "plain listener logged")
    finally:
        s2.port = s2.tls_port
        s2.check_clean_exit()


@case
def plain_port_redirects_with_308():
    with tls_server(workers=1, env={"TLS_HTTP": "redirect"}) as s:
        def raw(req):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            c.sendall(req)
            data = b""
            while True:
                d = c.recv(4096)
                if not d:
                    break
                data += d
            c.close()
            return data
        r = raw(b"GET /json?a=1&b=%20 HTTP/1.1\r\nHost: example.com:3000\r\n\r\n")
        check(r.startswith(b"HTTP/1.1 308 "), "status line: %r" % r[:40])
        check(b"\r\nLocation: https://example.com:%d/json?a=1&b=%%20\r\n" % s.tls_port in r,
              "Location: %r" % r)
        check(b"Connection: close" in r and b"Content-Length: 0" in r, "framing: %r" % r)
        r = raw(b"POST /x HTTP/1.1\r\nhost: [::1]\r\nContent-Length: 3\r\n\r\nabc")
        check(b"Location: https://[::1]:%d/x\r\n" % s.tls_port in r, "IPv6 host: %r" % r)
        # Nothing from the client is echoed into a header unless it is a plain host and path.
        for bad in (b"GET /x HTTP/1.1\r\nHost: evil.com\r\nX: y\r\n\r\n".replace(b"evil.com", b"a b"),
                    b"GET /x HTTP/1.1\r\n\r\n",
                    b"GET http://other/x HTTP/1.1\r\nHost: a\r\n\r\n",
                    b"GET /x HTTP/1.1\r\nHost: a\"b\r\n\r\n"):
            r = raw(bad)
            check(r.startswith(b"HTTP/1.1 400 "), "%r answered %r" % (bad, r[:60]))
        # A client that sends only part of a head is cut at HEAD_TIMEOUT like any other.
        still_serves(s)


def start_tls_server_with_plain_port_closed(s):
    """Server.start() waits on the plain port; with TLS_HTTP=off wait on the TLS one."""
    s.port, plain = s.tls_port, s.port
    try:
        s.start()
    finally:
        s.port = plain


@case
def startup_refuses_bad_configuration():
    bogus = os.path.join(TMP, "bogus.pem")
    with open(bogus, "w") as f:
        f.write("not a certificate\n")
    for env, words in (({"TLS_CERT": "/nonexistent.pem", "TLS_KEY": KEY}, "TLS_CERT"),
                       ({"TLS_CERT": bogus, "TLS_KEY": KEY}, "TLS_CERT"),
                       ({"TLS_CERT": CERT, "TLS_KEY": KEY_A}, "mismatch"),
                       ({"TLS_CERT": CERT + "," + CERT_A, "TLS_KEY": KEY}, "TLS_KEY"),
                       ({"TLS_CIPHERS": "NOPE"}, "TLS_CIPHERS"),
                       ({"TLS_HTTP": "maybe"}, "TLS_HTTP")):
        s = tls_server(workers=1, env=env)
        p = subprocess.run([s.binary], env=s.env, capture_output=True, timeout=20)
        err = p.stderr.decode("utf-8", "replace")
        check(p.returncode != 0, "started with %r" % env)
        check(words in err, "error for %r does not name %s: %s" % (env, words, err[-300:]))


def kernel_accepts_tls_ulp():
    """Whether this kernel attaches the "tls" ULP to a TCP connection (what kTLS needs)."""
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen(1)
    cli = socket.create_connection(lsn.getsockname())
    srv, _ = lsn.accept()
    try:
        cli.setsockopt(socket.IPPROTO_TCP, 31, b"tls")  # TCP_ULP
        return True
    except OSError:
        return False
    finally:
        for sk in (cli, srv, lsn):
            sk.close()


@case
def ktls_setting_reports_the_mode():
    """TLS_KTLS=on: the log says plainly whether the kernel took kernel TLS, once at startup
    and once for the first session (not per connection). Where the kernel refuses it (our
    machines have no "tls" ULP) the fallback to user-space records carries real traffic:
    pipelining, a large body each way, resumption, on both workers."""
    body = os.urandom(1024 * 1024)
    echo = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    with tls_server(workers=2, env={"TLS_KTLS": "on"}) as s:
        ctx = client_ctx()
        session = None
        for i in range(6):
            sock = tls_connect(s.tls_port, ctx=ctx, session=session, timeout=30)
            c = conn(sock)
            c.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n" * 5 + echo)
            for _ in range(5):
                eq(c.read_response().body, b"Hello, World!", "pipelined over kTLS=on")
            check(c.read_response().body == body, "1 MiB echo over kTLS=on altered")
            check(i == 0 or sock.session_reused, "session %d not resumed" % i)
            session = sock.session
            sock.close()
        time.sleep(0.2)
        err = s.stderr()
        if kernel_accepts_tls_ulp():
            check("the kernel accepts the 'tls' ULP" in err, "no startup kTLS line: " + err[-500:])
            eq(err.count("kernel TLS in use") + err.count("refused kernel TLS for the first"), 1,
               "first-session kTLS reports")
        else:
            check("TLS_KTLS=on but the kernel refused kernel TLS" in err and
                  "falling back to user-space TLS" in err,
                  "startup did not say the kernel refused kTLS: " + err[-500:])
            eq(err.count("the kernel refused kernel TLS for the first session"), 1,
               "first-session fallback reports (one per process)")
            eq(err.count("kernel TLS in use"), 0, "kTLS claimed in use")
    with tls_server(workers=1) as s:
        still_serves(s)
        err = s.stderr()
        check("record layer in user space (TLS_KTLS=off)" in err, "TLS_KTLS=off not logged")
        check("refused kernel TLS" not in err, "a kTLS refusal logged with TLS_KTLS=off")


# ---------------------------------------------------------------- reload

def copy_cert(cert, key, dst_dir):
    shutil.copy(cert, os.path.join(dst_dir, "cert.pem"))
    shutil.copy(key, os.path.join(dst_dir, "key.pem"))


@case
def sighup_reload_under_load():
    live = tempfile.mkdtemp(prefix="chopin-live-", dir=TMP)
    copy_cert(CERT_A, KEY_A, live)
    cert, key = os.path.join(live, "cert.pem"), os.path.join(live, "key.pem")
    # A handshake under a loaded machine and ASan may take a while: only reloads may fail here.
    with tls_server(workers=2, certs=((cert, key),), env={"TLS_HANDSHAKE_TIMEOUT": "10s"}) as s:
        held = tls_connect(s.tls_port, sni="a.test")
        hc = conn(held)
        eq(hc.request("GET", "/plaintext").status, 200, "held connection")
        eq(cert_subject(held), "a.test", "first certificate")
        stop = threading.Event()
        results = {"ok": 0, "bad": []}
        lock = threading.Lock()

        def load(keepalive):
            sock = None
            while not stop.is_set():
                try:
                    if sock is None:
                        sock = tls_connect(s.tls_port, timeout=10)
                    r = conn(sock).request("GET", "/plaintext")
                    with lock:
                        if r.status == 200 and r.body == b"Hello, World!":
                            results["ok"] += 1
                        else:
                            results["bad"].append(repr(r))
                    if not keepalive:
                        sock.close()
                        sock = None
                except Exception as e:  # noqa: BLE001 - any failure counts
                    with lock:
                        results["bad"].append(repr(e))
                    sock = None
                    if len(results["bad"]) > 20:
                        return
            if sock:
                sock.close()

        threads = [threading.Thread(target=load, args=(k,)) for k in (True, False, False, True)]
        for t in threads:
            t.start()
        for i in range(6):
            time.sleep(0.3)
            copy_cert(CERT_B if i % 2 == 0 else CERT_A, KEY_B if i % 2 == 0 else KEY_A, live)
            s.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        copy_cert(CERT_B, KEY_B, live)
        s.proc.send_signal(signal.SIGHUP)
        time.sleep(0.6)
        stop.set()
        for t in threads:
            t.join()
        bad = results["bad"]
        check(not bad, "%d failed requests during reloads, first: %s\nserver: %s"
              % (len(bad), bad[:3], "\n".join(line for line in s.stderr().splitlines()
                                                if "level=info" not in line)[-3000:]))
        check(results["ok"] > 50, "too few requests under load: %d" % results["ok"])
        eq(hc.request("GET", "/plaintext").status, 200, "connection from before the reloads")
        # SIGHUPs that arrive while a reload runs coalesce into one: wait for the last one.
        deadline = time.time() + 10
        while True:
            sock = tls_connect(s.tls_port)
            got = cert_subject(sock)
            sock.close()
            if got == "b.test" or time.time() > deadline:
                break
            time.sleep(0.1)
        eq(got, "b.test", "certificate after the last reload")
        held.close()
        check(s.stderr().count("certificates reloaded") >= 3, "reloads not logged")


@case
def bad_certificate_on_reload_keeps_the_old_one():
    live = tempfile.mkdtemp(prefix="chopin-live-", dir=TMP)
    copy_cert(CERT_A, KEY_A, live)
    cert, key = os.path.join(live, "cert.pem"), os.path.join(live, "key.pem")
    with tls_server(workers=1, certs=((cert, key),)) as s:
        for breakage in ("garbage", "mismatch", "missing"):
            if breakage == "garbage":
                with open(cert, "w") as f:
                    f.write("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
            elif breakage == "mismatch":
                shutil.copy(CERT_B, cert)  # B's certificate with A's key
            else:
                os.unlink(cert)
            before = s.stderr().count("reload failed")
            s.proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 5
            while s.stderr().count("reload failed") == before and time.time() < deadline:
                time.sleep(0.05)
            check(s.stderr().count("reload failed") == before + 1,
                  breakage + ": reload failure not logged")
            sock = tls_connect(s.tls_port)
            eq(cert_subject(sock), "a.test", breakage + ": certificate still served")
            eq(conn(sock).request("GET", "/plaintext").status, 200, breakage + ": request")
            sock.close()
        err = s.stderr()
        check("mismatch" in err, "mismatch reason not logged")


@case
def ocsp_response_is_stapled():
    d = tempfile.mkdtemp(prefix="chopin-ocsp-", dir=TMP)

    def sh(*args):
        subprocess.run(args, cwd=d, check=True, capture_output=True)

    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-days", "30", "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=Test CA")
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost")
    sh("openssl", "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
       "-CAcreateserial", "-days", "30", "-out", "leaf.pem")
    serial = subprocess.run(["openssl", "x509", "-in", "leaf.pem", "-noout", "-serial"], cwd=d,
                            capture_output=True, check=True).stdout.decode().split("=")[1].strip()
    with open(os.path.join(d, "index.txt"), "w") as f:
        f.write("V\t301231000000Z\t\t%s\tunknown\t/CN=localhost\n" % serial)
    sh("openssl", "ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-reqout", "req.der")
    sh("openssl", "ocsp", "-index", "index.txt", "-rsigner", "ca.pem", "-rkey", "ca.key", "-CA",
       "ca.pem", "-reqin", "req.der", "-respout", "resp.der", "-ndays", "1")
    leaf, lkey = os.path.join(d, "leaf.pem"), os.path.join(d, "leaf.key")
    with tls_server(workers=1, certs=((leaf, lkey), (CERT_B, KEY_B)),
                    env={"TLS_OCSP": os.path.join(d, "resp.der")}) as s:
        def status(sni):
            p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.tls_port,
                                "-servername", sni, "-status"], input=b"", capture_output=True,
                               timeout=10)
            return p.stdout.decode("utf-8", "replace")
        out = status("localhost")
        check("OCSP Response Status: successful" in out, "no stapled response:\n" + out[:800])
        check("Cert Status: good" in out, "stapled response not the one given")
        out = status("b.test")
        check("OCSP response: no response sent" in out, "b.test has no OCSP file:\n" + out[:600])
    bad = os.path.join(d, "bad.der")
    with open(bad, "wb") as f:
        f.write(b"not der")
    s = tls_server(workers=1, certs=((leaf, lkey),), env={"TLS_OCSP": bad})
    p = subprocess.run([s.binary], env=s.env, capture_output=True, timeout=20)
    check(p.returncode != 0 and b"TLS_OCSP" in p.stderr, "bad OCSP file accepted")


@case
def main_server_exits_cleanly():
    global _main
    s = main_server()
    _main = None
    s.check_clean_exit()


if __name__ == "__main__":
    try:
        run("integration/tls")
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
