"""Compression middleware (ch_mw_compress) against tests/apps/mw_app.c: coding choice by
Accept-Encoding and q-values, bodies that decode to the identity bytes (gzip with Python's
gzip module, Brotli with the libbrotlidec tool built next to the binary), Vary, and everything
that must be left alone."""
import gzip
import os
import subprocess

import lib
from lib import Failure, case, check, eq

APP = os.path.join(os.path.dirname(lib.BIN), "mw-app")
UNBROTLI = os.path.join(os.path.dirname(lib.BIN), "brotli-decode")


def server(**kw):
    return lib.Server(binary=APP, **kw)


def req(s, path, ae=None, method="GET", headers=None):
    h = dict(headers or {})
    if ae is not None:
        h["Accept-Encoding"] = ae
    c = s.connect()
    try:
        return c.request(method, path, headers=h)
    finally:
        c.close()


def unbrotli(data):
    p = subprocess.run([UNBROTLI], input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise Failure("not a valid Brotli stream: %s" % p.stderr.decode())
    return p.stdout


def decoded(r):
    enc = r.header("Content-Encoding")
    if enc is None:
        return r.body
    if enc == "gzip":
        return gzip.decompress(r.body)
    if enc == "br":
        return unbrotli(r.body)
    raise Failure("unexpected Content-Encoding %r" % enc)


def vary_has_ae(r):
    return any(k.lower() == "vary" and "accept-encoding" in v.lower() for k, v in r.headers)


@case
def gzip_and_brotli_decode_to_the_identity_body():
    with server() as s:
        plain = req(s, "/big?n=200")
        eq(plain.header("Content-Encoding"), None, "no Accept-Encoding: identity")
        check(vary_has_ae(plain), "Vary missing on an identity answer that could vary")
        check(len(plain.body) > 5000, "body too small for the test")
        for ae, want in (("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br", "br"),
                         ("x-gzip", "gzip"), ("GZIP", "gzip"), ("Br", "br")):
            r = req(s, "/big?n=200", ae)
            eq(r.status, 200, "status for %r" % ae)
            eq(r.header("Content-Encoding"), want, "coding for %r" % ae)
            check(vary_has_ae(r), "no Vary: Accept-Encoding for %r" % ae)
            eq(int(r.header("Content-Length")), len(r.body), "Content-Length for %r" % ae)
            check(len(r.body) < len(plain.body) // 3, "poor compression for %r" % ae)
            eq(decoded(r), plain.body, "decoded body for %r" % ae)


@case
def q_values_choose_and_refuse():
    with server() as s:
        cases = [
            ("gzip;q=1, br;q=0.5", "gzip"),
            ("gzip;q=0.5, br;q=0.8", "br"),
            ("br;q=0, gzip", "gzip"),
            ("br;q=0, gzip;q=0", None),
            ("gzip;q=0.000", None),
            ("br; q=0.001", "br"),
            ("br;Q=0.3, gzip;q=0.2", "br"),
            ("*", "br"),
            ("*;q=0.5, gzip", "gzip"),
            ("*;q=0", None),
            ("*;q=0, gzip;q=0.1", "gzip"),
            ("br;q=0, *", "gzip"),
            ("identity", None),
            ("identity;q=0", None),     # identity is still what is sent, rather than 406
            ("deflate, compress", None),
            ("", None),
            ("gzip;q=2", None),         # malformed q: the member is ignored
            ("gzip;q=0.5.1", None),
            ("gzip;q=-1", None),
            ("gzip;q=1.0001", None),
            ("gzip;q=1.000, br;q=0.999", "gzip"),
            ("br;level=5;q=0.9, gzip;q=0.8", "br"),
            (" , ,gzip , ", "gzip"),
            ("gzip;q=1, gzip;q=0", "gzip"),   # named twice: the more favourable wins
        ]
        bad = []
        for ae, want in cases:
            r = req(s, "/big?n=100", ae)
            if r.header("Content-Encoding") != want:
                bad.append("%r -> %r, want %r" % (ae, r.header("Content-Encoding"), want))
            elif want and not decoded(r).startswith(b'{"success":true'):
                bad.append("%r: body does not decode" % ae)
        eq(bad, [], "choices")


@case
def multiple_accept_encoding_fields_are_one_list():
    with server() as s:
        c = s.connect()
        try:
            c.send(b"GET /big?n=100 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br;q=0\r\n"
                   b"Accept-Encoding: gzip\r\n\r\n")
            r = c.read_response()
        finally:
            c.close()
        eq(r.header("Content-Encoding"), "gzip", "second field")


@case
def small_bodies_are_sent_as_is_with_vary():
    with server() as s:
        r = req(s, "/typed?type=text/plain&n=1023", "gzip, br")
        eq(r.header("Content-Encoding"), None, "under 1 KiB")
        check(vary_has_ae(r), "Vary on a small compressible body")
        eq(len(r.body), 1023, "body")
        r = req(s, "/typed?type=text/plain&n=1024", "gzip, br")
        eq(r.header("Content-Encoding"), "br", "1 KiB exactly")
        eq(decoded(r), req(s, "/typed?type=text/plain&n=1024").body, "decoded")


@case
def group_options_gzip_only_from_100_bytes():
    with server() as s:
        r = req(s, "/gzip-only/big?n=3", "br, gzip;q=0.1")
        check(len(decoded(r)) < 1024, "test body should be under 1 KiB")
        eq(r.header("Content-Encoding"), "gzip", "group compresses with gzip only")
        vary = [v for k, v in r.headers if k.lower() == "vary"]
        eq(len(vary), 1, "one Vary field, not one per middleware: %r" % vary)
        eq(vary[0].lower().count("accept-encoding"), 1, "Accept-Encoding named once")
        eq(req(s, "/gzip-only/big?n=3", "br").header("Content-Encoding"), None, "br refused")


@case
def already_compressed_types_are_left_alone():
    with server() as s:
        for t in ("image/png", "image/jpeg", "video/mp4", "audio/ogg", "application/zip",
                  "application/gzip", "application/x-gzip", "font/woff2", "application/zstd",
                  "application/octet-stream", "IMAGE/PNG", "application/pdf"):
            r = req(s, "/typed?type=%s&n=4096" % t, "gzip, br")
            eq(r.header("Content-Encoding"), None, t)
            check(not vary_has_ae(r), "%s: Vary although it never varies" % t)
            eq(len(r.body), 4096, t)
        for t in ("text/plain", "text/html;charset=utf-8", "application/json",
                  "image/svg+xml", "application/problem+json", "text/css"):
            r = req(s, "/typed?type=%s&n=4096" % t, "gzip")
            eq(r.header("Content-Encoding"), "gzip", t)
        r = req(s, "/typed?n=4096", "gzip")
        eq(r.header("Content-Encoding"), None, "no Content-Type")


@case
def existing_content_encoding_and_no_transform_are_respected():
    with server() as s:
        r = req(s, "/headers/Content-Encoding=gzip", "gzip, br")
        eq([v for k, v in r.headers if k.lower() == "content-encoding"], ["gzip"], "one coding")
        eq(len(r.body), 4096, "handler's bytes untouched")
        r = req(s, "/headers/Cache-Control=public,%20no-transform", "gzip, br")
        eq(r.header("Content-Encoding"), None, "no-transform")
        eq(len(r.body), 4096, "no-transform body")


@case
def vary_is_appended_and_strong_etag_weakened():
    with server() as s:
        r = req(s, "/headers/Vary=Origin", "gzip")
        eq(r.header("Content-Encoding"), "gzip", "compressed")
        vary = [v for k, v in r.headers if k.lower() == "vary"]
        eq(vary, ["Origin, Accept-Encoding"], "Vary")
        r = req(s, "/headers/Vary=%2A", "gzip")
        eq([v for k, v in r.headers if k.lower() == "vary"], ["*"], "Vary: * stays")
        r = req(s, "/headers/ETag=%22v1%22", "br")
        eq(r.header("ETag"), 'W/"v1"', "weak ETag on a compressed body")
        r = req(s, "/headers/ETag=%22v1%22")
        eq(r.header("ETag"), '"v1"', "strong ETag on the identity body")


@case
def head_204_304_are_untouched():
    with server() as s:
        get = req(s, "/big?n=200", "gzip")
        r = req(s, "/big?n=200", "gzip", method="HEAD")
        eq(r.status, 200, "HEAD status")
        eq(r.header("Content-Encoding"), None, "HEAD not encoded")
        check(int(r.header("Content-Length")) > len(get.body), "HEAD announces the identity size")
        for path, status in (("/no-content", 204), ("/not-modified", 304)):
            r = req(s, path, "gzip, br")
            eq(r.status, status, path)
            eq(r.header("Content-Encoding"), None, path)
            check(not vary_has_ae(r), "%s: Vary" % path)


@case
def error_envelopes_and_404s_compress_too():
    with server() as s:
        r = req(s, "/status/500", "gzip")
        eq(r.status, 500, "status")
        eq(r.header("Content-Encoding"), "gzip", "problem+json error body")
        eq(len(decoded(r)), 2048, "decoded")
        r = req(s, "/nowhere", "gzip, br")
        eq(r.status, 404, "404")
        eq(r.header("Content-Encoding"), None, "small envelope stays identity")
        check(vary_has_ae(r), "404 envelope: Vary")


@case
def performance_mode_raw_paths_are_never_compressed():
    with server(mode="performance") as s:
        for path in ("/plaintext", "/json"):
            r = req(s, path, "gzip, br")
            eq(r.status, 200, path)
            eq(r.header("Content-Encoding"), None, path)
            check(not vary_has_ae(r), "%s: Vary from a raw path" % path)
        r = req(s, "/big?n=200", "gzip")
        eq(r.header("Content-Encoding"), "gzip", "framework routes still compress")
        check(decoded(r).startswith(b'{"success":true'), "decoded")


@case
def varied_sizes_reuse_encoder_memory_correctly():
    # Each worker reuses the blocks its encoders freed: sizes going up and down must still
    # give streams that decode to the identity bytes.
    with server() as s:
        for n in (30, 3000, 200, 18000, 1500, 40000, 40, 9000, 600, 40000):
            want = req(s, "/big?n=%d" % n).body
            for ae in ("br", "gzip", "br"):
                r = req(s, "/big?n=%d" % n, ae)
                eq(r.header("Content-Encoding"), ae, "n=%d %s" % (n, ae))
                eq(decoded(r), want, "n=%d %s decoded" % (n, ae))


@case
def pipelined_compressed_responses_keep_framing():
    with server(workers=2) as s:
        c = s.connect()
        try:
            one = b"GET /big?n=300 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"
            two = b"GET /big?n=300 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br\r\n\r\n"
            c.send((one + two) * 5)
            bodies = set()
            for i in range(10):
                r = c.read_response()
                eq(r.header("Content-Encoding"), "gzip" if i % 2 == 0 else "br", "coding %d" % i)
                bodies.add(decoded(r))
            eq(len(bodies), 1, "every response decodes to the same body")
        finally:
            c.close()


if __name__ == "__main__":
    lib.run("compress")
