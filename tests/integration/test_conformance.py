"""RFC 9112 / RFC 9110 conformance of the HTTP/1.1 engine, over raw sockets.

Each case sends exact bytes and asserts the exact status of every response and whether the
connection closes. "Stays open" is proven by a follow-up request answered correctly on the
same connection (so the framing is still in sync); "closes" by EOF and by a valid request
pipelined right behind the bad one that is never answered. Every case runs against both modes.
Error bodies are not asserted: in standard mode they are the framework's JSON envelopes.

Where the RFCs leave a choice, the comment says what nginx 1.22 (checked by hand against the
Debian build) or HAProxy do and which we follow. Our rule of thumb is the strict one: when a
front proxy could read the framing differently, refuse with 400 and close.
"""
import time

from lib import Server, case, check, eq, run

MODES = ("standard", "performance")
_servers = {}

PROBE = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
SMUGGLED = b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n"


def servers():
    """One server per mode, shared by all cases (stopped and checked by the last case)."""
    for mode in MODES:
        if mode not in _servers:
            _servers[mode] = Server(mode=mode).start()
    return [(m, _servers[m]) for m in MODES]


def exchange(s, raw, expect, close, bodies=None, head_at=(), pause=0.0):
    """Sends `raw` (bytes, or a list of writes), reads len(expect) responses and checks their
    statuses, then that the connection closes (nothing more is answered) or stays usable."""
    c = s.connect()
    try:
        writes = raw if isinstance(raw, list) else [raw]
        if close:
            # A valid request right behind the last bad one must never be answered.
            writes = writes[:-1] + [writes[-1] + SMUGGLED]
        for w in writes:
            c.send(w)
            if pause:
                time.sleep(pause)
        got = []
        for i in range(len(expect)):
            r = c.read_response(head=i in head_at)
            while r.status == 100 and expect[i] != 100:
                r = c.read_response(head=i in head_at)
            got.append(r)
        eq([r.status for r in got], list(expect), "statuses")
        if bodies is not None:
            for i, b in enumerate(bodies):
                if b is not None:
                    eq(got[i].body, b, "body of response %d" % i)
        if close:
            eq(got[-1].header("Connection"), "close", "Connection header of the last response")
            check(c.closed_by_peer(3), "connection stayed open")
            check(b"HTTP/1." not in c.buf, "answered after the closing response: %r" % c.buf[:80])
        else:
            check(not any((r.header("Connection") or "").lower() == "close" for r in got),
                  "a response said Connection: close")
            c.send(PROBE)
            r = c.read_response()
            eq(r.status, 200, "follow-up request on the same connection")
            eq(r.body, b"Hello, World!", "follow-up body")
        return got
    finally:
        c.close()


def table(rows):
    """Registers one case per row: (name, raw, statuses, closes[, bodies])."""
    for row in rows:
        name, raw, expect, close = row[:4]
        bodies = row[4] if len(row) > 4 else None

        def fn(raw=raw, expect=expect, close=close, bodies=bodies, name=name):
            for mode, s in servers():
                try:
                    exchange(s, raw, expect, close, bodies)
                except Exception as e:
                    raise type(e)("%s mode: %s" % (mode, e)) from e
        fn.__name__ = name
        case(fn)


def post(fields, body=b"", version=b"1.1", target=b"/echo"):
    host = b"Host: x\r\n" if version == b"1.1" else b""
    return b"POST " + target + b" HTTP/" + version + b"\r\n" + host + fields + b"\r\n" + body


def chunked(body):
    return post(b"Transfer-Encoding: chunked\r\n", body)


def get(target=b"/plaintext", fields=b"Host: x\r\n", version=b"1.1", method=b"GET"):
    return method + b" " + target + b" HTTP/" + version + b"\r\n" + fields + b"\r\n"


HELLO = b"Hello, World!"

# ---- Request-line forms (RFC 9112 section 3) -------------------------------------------------
table([
    ("origin_form", get(), [200], False, [HELLO]),
    # 3.2.2: a server MUST accept the absolute-form; it is routed by its path and the
    # authority replaces Host.
    ("absolute_form_routed_by_path", get(b"http://example.com/plaintext"), [200], False, [HELLO]),
    ("absolute_form_https_with_port_and_query",
     get(b"https://example.com:8443/plaintext?a=1"), [200], False, [HELLO]),
    # The binary's "/" is the welcome endpoint, so the root it asks for answers 200.
    ("absolute_form_without_path_is_root", get(b"http://example.com"), [200], False),
    ("absolute_form_case_insensitive_scheme", get(b"HTTP://example.com/json"), [200], False),
    # 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host, whatever the form
    # (nginx 1.22 does the same for the absolute-form).
    ("absolute_form_still_needs_host_on_1_1", get(b"http://example.com/plaintext", b""),
     [400], True),
    ("absolute_form_userinfo_refused", get(b"http://user@example.com/plaintext"), [400], True),
    ("absolute_form_other_scheme_refused", get(b"ftp://example.com/plaintext"), [400], True),
    # 3.2.3: authority-form is only for CONNECT. We are not a proxy: the engine answers 501
    # (RFC 9110 15.6.2: a method the server cannot support for any resource) and closes, since
    # a client may already be sending tunnel bytes after its CONNECT. nginx 1.22 answers 400
    # and closes; h2o routes it like a path (404, keep-alive) - which would let an
    # application's catch-all answer 2xx and make the client believe in a tunnel.
    ("connect_authority_form_not_implemented",
     b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", [501], True),
    ("connect_with_origin_form_refused", b"CONNECT /x HTTP/1.1\r\nHost: x\r\n\r\n", [400], True),
    ("authority_form_for_get_refused", get(b"example.com:443"), [400], True),
    # 3.2.4: the asterisk-form is only for OPTIONS, and asks about the server as a whole. The
    # engine answers it itself (no route can match "*"): 200 with Allow, like Apache httpd.
    ("options_asterisk_form", get(b"*", method=b"OPTIONS"), [200], False),
    ("asterisk_form_for_get_refused", get(b"*"), [400], True),
    # 3.1: the method token is case-sensitive; an unknown one gets 501 (RFC 9110 9.1).
    ("lowercase_method_is_unknown", get(method=b"get"), [501], True),
    ("unknown_method", get(method=b"BREW"), [501], True),
    ("double_space_in_request_line", b"GET  /plaintext HTTP/1.1\r\nHost: x\r\n\r\n", [400], True),
    ("tab_in_request_line", b"GET\t/plaintext HTTP/1.1\r\nHost: x\r\n\r\n", [400], True),
    ("space_after_version", b"GET /plaintext HTTP/1.1 \r\nHost: x\r\n\r\n", [400], True),
    ("lowercase_version", b"GET /plaintext http/1.1\r\nHost: x\r\n\r\n", [400], True),
    ("two_digit_minor_version", b"GET /plaintext HTTP/1.10\r\nHost: x\r\n\r\n", [400], True),
    # 2.3 / RFC 9110 6.2: a higher minor version is served as 1.1; another major gets 505.
    ("http_1_2_served_as_1_1", get(version=b"1.2"), [200], False),
    ("http_2_0_version_not_supported", get(version=b"2.0"), [505], True),
    ("http_0_9_request_refused", b"GET /plaintext\r\n", [400], True),
    # 2.2: a server SHOULD ignore at least one empty line before the request line.
    ("leading_empty_lines_ignored", b"\r\n\r\n" + get(), [200], False),
    ("non_ascii_in_target_refused", get(b"/caf\xc3\xa9"), [400], True),
])

# ---- Host (RFC 9112 3.2, RFC 9110 7.2) --------------------------------------------------------
table([
    ("missing_host_on_1_1", get(fields=b""), [400], True),
    ("http_1_0_without_host_accepted", get(fields=b"", version=b"1.0"), [200], True),
    ("http_1_0_keep_alive_without_host",
     get(fields=b"Connection: keep-alive\r\n", version=b"1.0"), [200], False),
    ("duplicate_host", get(fields=b"Host: a\r\nHost: a\r\n"), [400], True),
    ("host_with_userinfo", get(fields=b"Host: user@x\r\n"), [400], True),
    ("host_with_space", get(fields=b"Host: a b\r\n"), [400], True),
    ("host_with_slash", get(fields=b"Host: a/b\r\n"), [400], True),
    # RFC 9110 7.2: an empty Host is what a client sends when the URI has no authority.
    ("empty_host_accepted", get(fields=b"Host:\r\n"), [200], False),
    ("host_with_port_and_ipv6", get(fields=b"Host: [::1]:8080\r\n"), [200], False),
])

# ---- Field syntax (RFC 9112 section 5) --------------------------------------------------------
table([
    # 5.1: whitespace between the field name and the colon: a server MUST reject with 400.
    ("space_before_colon", get(fields=b"Host: x\r\nX-A : b\r\n"), [400], True),
    ("tab_before_colon", get(fields=b"Host: x\r\nX-A\t: b\r\n"), [400], True),
    # 5.2: obs-fold MUST be rejected with 400 or replaced by SP; we reject, like nginx.
    ("obs_fold_space", get(fields=b"Host: x\r\nX-A: b\r\n c\r\n"), [400], True),
    ("obs_fold_tab", get(fields=b"Host: x\r\nX-A: b\r\n\tc\r\n"), [400], True),
    ("first_field_line_folded", b"GET /plaintext HTTP/1.1\r\n Host: x\r\n\r\n", [400], True),
    ("empty_field_name", get(fields=b"Host: x\r\n: v\r\n"), [400], True),
    ("field_line_without_colon", get(fields=b"Host: x\r\nX-A\r\n"), [400], True),
    ("value_whitespace_trimmed", get(fields=b"Host: \t x \t\r\nConnection:\t keep-alive \r\n"),
     [200], False),
    ("obs_text_in_value_accepted", get(fields=b"Host: x\r\nX-A: caf\xc3\xa9\r\n"), [200], False),
    ("control_byte_in_value", get(fields=b"Host: x\r\nX-A: a\x1bb\r\n"), [400], True),
    ("del_in_value", get(fields=b"Host: x\r\nX-A: a\x7fb\r\n"), [400], True),
])

# ---- NUL, bare CR and bare LF anywhere in the head (RFC 9112 2.2) ----------------------------
table([
    ("nul_in_method", b"GE\x00T /plaintext HTTP/1.1\r\nHost: x\r\n\r\n", [400], True),
    ("nul_in_target", get(b"/plain\x00text"), [400], True),
    ("nul_in_version", b"GET /plaintext HTTP/1.1\x00\r\nHost: x\r\n\r\n", [400], True),
    ("nul_in_field_name", get(fields=b"Host: x\r\nX\x00A: b\r\n"), [400], True),
    ("nul_in_field_value", get(fields=b"Host: x\r\nX-A: a\x00b\r\n"), [400], True),
    ("nul_before_request_line", b"\x00" + get(), [400], True),
    # 2.2: a bare CR anywhere outside content MUST be rejected (or replaced by SP).
    ("bare_cr_in_request_line", b"GET /plaintext HTTP/1.1\rHost: x\r\n\r\n", [400], True),
    ("bare_cr_in_field_value", get(fields=b"Host: x\r\nX-A: a\rb\r\n"), [400], True),
    ("bare_cr_at_end_of_head", b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\rX", [400], True),
    # 2.2 lets a recipient accept a bare LF as a line ending (MAY). We refuse it: a bare LF is
    # read differently by different parsers, the root of several smuggling attacks. Apache
    # httpd's strict mode (HttpProtocolOptions Strict) refuses it too.
    ("bare_lf_after_request_line", b"GET /plaintext HTTP/1.1\nHost: x\r\n\r\n", [400], True),
    ("bare_lf_after_field", b"GET /plaintext HTTP/1.1\r\nHost: x\n\r\n", [400], True),
    ("bare_lf_end_of_head", b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\n", [400], True),
])

# ---- Content-Length (RFC 9112 6.2, 6.3; RFC 9110 8.6) -----------------------------------------
table([
    ("content_length_body", post(b"Content-Length: 5\r\n", b"hello"), [200], False, [b"hello"]),
    # 1*DIGIT: leading zeros are valid digits (nginx also reads 005 as 5).
    ("content_length_leading_zeros", post(b"Content-Length: 005\r\n", b"hello"), [200], False,
     [b"hello"]),
    ("content_length_ows_trimmed", post(b"Content-Length: \t5 \r\n", b"hello"), [200], False,
     [b"hello"]),
    ("content_length_zero", post(b"Content-Length: 0\r\n"), [200], False, [b""]),
    ("content_length_plus_sign", post(b"Content-Length: +5\r\n", b"hello"), [400], True),
    ("content_length_negative", post(b"Content-Length: -5\r\n", b"hello"), [400], True),
    ("content_length_hex", post(b"Content-Length: 0x5\r\n", b"hello"), [400], True),
    ("content_length_empty", post(b"Content-Length: \r\n", b"hello"), [400], True),
    ("content_length_inner_space", post(b"Content-Length: 1 0\r\n", b"hello"), [400], True),
    # RFC 9110 8.6 allows reading "5, 5" or two equal fields as 5; a proxy in front may not,
    # so we refuse both, as nginx does (400, "duplicate header line").
    ("content_length_list_equal", post(b"Content-Length: 5, 5\r\n", b"hello"), [400], True),
    ("content_length_list_differ", post(b"Content-Length: 5, 6\r\n", b"hello"), [400], True),
    ("content_length_twice_equal",
     post(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"), [400], True),
    ("content_length_overflow", post(b"Content-Length: 18446744073709551616\r\n"), [400], True),
    ("content_length_over_limit", post(b"Content-Length: 1048577\r\n"), [413], True),
    # A body on GET is framed like any other: it is read and skipped with the request.
    ("get_with_body_is_framed", get(fields=b"Host: x\r\nContent-Length: 3\r\n") + b"abc",
     [200], False, [HELLO]),
])

# ---- Transfer-Encoding and request smuggling (RFC 9112 6.1, 6.3) ------------------------------
table([
    ("chunked_body", chunked(b"5\r\nhello\r\n0\r\n\r\n"), [200], False, [b"hello"]),
    ("chunked_case_insensitive", post(b"Transfer-Encoding: ChUnKeD\r\n", b"2\r\nhi\r\n0\r\n\r\n"),
     [200], False, [b"hi"]),
    # Leading and trailing OWS is not part of a field value: " chunked" and "\tchunked" are
    # plain chunked (nginx 1.22 answers the tab variant with 501, a known quirk).
    ("te_leading_space_accepted", post(b"Transfer-Encoding:  chunked\r\n", b"2\r\nhi\r\n0\r\n\r\n"),
     [200], False, [b"hi"]),
    ("te_leading_tab_accepted", post(b"Transfer-Encoding:\tchunked\r\n", b"2\r\nhi\r\n0\r\n\r\n"),
     [200], False, [b"hi"]),
    ("te_trailing_ows_accepted", post(b"Transfer-Encoding: chunked \t\r\n", b"2\r\nhi\r\n0\r\n\r\n"),
     [200], False, [b"hi"]),
    ("te_space_before_colon", post(b"Transfer-Encoding : chunked\r\n", b"0\r\n\r\n"), [400], True),
    # 6.1: with both, a server MAY reject, and MUST close either way. We reject (nginx too).
    ("cl_then_te", post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
     [400], True),
    ("te_then_cl", post(b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n"),
     [400], True),
    ("cl_and_te_not_chunked", post(b"Content-Length: 5\r\nTransfer-Encoding: gzip\r\n", b"hello"),
     [400], True),
    # 6.1: chunked MUST NOT be applied twice.
    ("te_chunked_twice_in_list", post(b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"),
     [400], True),
    ("te_chunked_twice_in_fields",
     post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
     [400], True),
    # 6.3: chunked not the final coding: the length cannot be known, MUST 400 and close. That
    # covers "xchunked", "gzip" and a parameter on chunked (nginx says 501 to all three).
    ("te_xchunked", post(b"Transfer-Encoding: xchunked\r\n", b"0\r\n\r\n"), [400], True),
    ("te_chunked_with_parameter", post(b"Transfer-Encoding: chunked;foo\r\n", b"0\r\n\r\n"),
     [400], True),
    ("te_gzip_only", post(b"Transfer-Encoding: gzip\r\n", b"hello"), [400], True),
    ("te_chunked_then_gzip", post(b"Transfer-Encoding: chunked, gzip\r\n", b"0\r\n\r\n"),
     [400], True),
    ("te_identity", post(b"Transfer-Encoding: identity\r\n", b"hello"), [400], True),
    # 6.1: a coding we do not implement, with chunked last: SHOULD be 501 (as nginx answers).
    ("te_gzip_then_chunked_not_implemented",
     post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), [501], True),
    ("te_empty", post(b"Transfer-Encoding: \r\n", b"0\r\n\r\n"), [400], True),
    # 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing: MUST close after responding.
    ("te_on_http_1_0", post(b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n", version=b"1.0"),
     [400], True),
    ("te_on_http_1_0_keep_alive",
     post(b"Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n",
          version=b"1.0"), [400], True),
])

# ---- Chunked framing (RFC 9112 7.1) -----------------------------------------------------------
table([
    ("chunk_size_upper_hex", chunked(b"A\r\n0123456789\r\n0\r\n\r\n"), [200], False,
     [b"0123456789"]),
    ("chunk_size_leading_zeros", chunked(b"0005\r\nhello\r\n000\r\n\r\n"), [200], False,
     [b"hello"]),
    ("chunk_size_0x_prefix", chunked(b"0x5\r\nhello\r\n0\r\n\r\n"), [400], True),
    ("chunk_size_negative", chunked(b"-5\r\nhello\r\n0\r\n\r\n"), [400], True),
    ("chunk_size_plus", chunked(b"+5\r\nhello\r\n0\r\n\r\n"), [400], True),
    ("chunk_size_leading_space", chunked(b" 5\r\nhello\r\n0\r\n\r\n"), [400], True),
    ("chunk_size_trailing_space_without_ext", chunked(b"5 \r\nhello\r\n0\r\n\r\n"), [400], True),
    ("chunk_size_empty", chunked(b"\r\nhello\r\n0\r\n\r\n"), [400], True),
    # More than 16 hex digits can only overflow 64 bits (or hide a small number behind
    # zeros to confuse a parser that truncates): refused.
    ("chunk_size_17_digits", chunked(b"00000000000000005\r\nhello\r\n0\r\n\r\n"), [400], True),
    ("chunk_size_huge", chunked(b"ffffffffffffffff\r\nhello\r\n0\r\n\r\n"), [413], True),
    ("chunk_size_over_64_bits", chunked(b"10000000000000000\r\nhello\r\n0\r\n\r\n"), [400], True),
    ("chunk_extensions_ignored",
     chunked(b"5;a=b;c=\"d e\"\r\nhello\r\n5 ; x\r\nworld\r\n0;last\r\n\r\n"), [200], False,
     [b"helloworld"]),
    # Extensions are capped per body (4 KiB), so a client cannot make us scan without end.
    ("chunk_extension_flood_one_line",
     chunked(b"5;" + b"a" * 5000 + b"\r\nhello\r\n0\r\n\r\n"), [400], True),
    ("chunk_extension_flood_many_chunks",
     chunked(b"".join(b"1;" + b"e" * 100 + b"\r\nx\r\n" for _ in range(60)) + b"0\r\n\r\n"),
     [400], True),
    ("chunk_extension_with_nul", chunked(b"5;a=\x00\r\nhello\r\n0\r\n\r\n"), [400], True),
    # Bare LF in chunk lines is the classic smuggling split (nginx accepts it; we refuse).
    ("chunk_lines_lf_only", chunked(b"5\nhello\n0\n\n"), [400], True),
    ("chunk_size_line_lf_only", chunked(b"5\nhello\r\n0\r\n\r\n"), [400], True),
    ("chunk_data_not_followed_by_crlf", chunked(b"5\r\nhelloXX\r\n0\r\n\r\n"), [400], True),
    ("chunk_data_followed_by_lf_only", chunked(b"5\r\nhello\n0\r\n\r\n"), [400], True),
    ("chunk_size_bare_cr", chunked(b"5\rhello\r\n0\r\n\r\n"), [400], True),
    ("last_chunk_bare_cr", chunked(b"5\r\nhello\r\n0\r\r\n"), [400], True),
    ("chunk_size_nul", chunked(b"5\x00\r\nhello\r\n0\r\n\r\n"), [400], True),
    ("nul_in_chunk_data_is_data", chunked(b"3\r\na\x00b\r\n0\r\n\r\n"), [200], False, [b"a\x00b"]),
    ("trailer_fields_accepted", chunked(b"5\r\nhello\r\n0\r\nX-T: 1\r\nY: \r\n\r\n"), [200], False,
     [b"hello"]),
    ("trailer_obs_fold", chunked(b"5\r\nhello\r\n0\r\nX-T: 1\r\n 2\r\n\r\n"), [400], True),
    ("trailer_without_colon", chunked(b"5\r\nhello\r\n0\r\nX-T\r\n\r\n"), [400], True),
    ("trailer_bare_lf_end", chunked(b"5\r\nhello\r\n0\r\n\n"), [400], True),
    ("chunked_over_body_limit",
     chunked(b"100000\r\n" + b"a" * 0x100000 + b"\r\n1\r\nb\r\n0\r\n\r\n"), [413], True),
])


# ---- Fragmentation: every request delivered one byte per write --------------------------------
def bytewise(raw):
    return [raw[i:i + 1] for i in range(len(raw))]


@case
def fragmented_get_head_post_one_byte_per_write():
    reqs = (get() + get(b"/json", method=b"HEAD") +
            post(b"Content-Length: 5\r\n", b"hello") +
            chunked(b"3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n"))
    for mode, s in servers():
        got = exchange(s, bytewise(reqs), [200, 200, 200, 200], False,
                       [HELLO, None, b"hello", b"abcde"], head_at=(1,), pause=0.001)
        eq(got[1].header("Content-Length"), "27", mode + " HEAD Content-Length")


@case
def fragmented_bad_request_still_refused():
    for mode, s in servers():
        exchange(s, bytewise(post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")),
                 [400], True, pause=0.001)


@case
def fragmented_head_split_in_crlf():
    raw = get()
    cut = raw.index(b"\r\n") + 1  # between CR and LF of the request line
    for mode, s in servers():
        exchange(s, [raw[:cut], raw[cut:]], [200], False, [HELLO], pause=0.05)


# ---- Pipelines (RFC 9112 9.3.2) -----------------------------------------------------------------
@case
def pipeline_get_head_post_cl_chunked():
    reqs = (get() + get(b"/plaintext", method=b"HEAD") + post(b"Content-Length: 5\r\n", b"hello")
            + chunked(b"3\r\nabc\r\n0\r\n\r\n") + get(b"/nope") + get(b"/json", method=b"HEAD")
            + post(b"Content-Length: 0\r\n") + get(b"/json"))
    for mode, s in servers():
        got = exchange(s, reqs, [200, 200, 200, 200, 404, 200, 200, 200], False,
                       [HELLO, None, b"hello", b"abc", None, None, b"",
                        b'{"message":"Hello, World!"}'], head_at=(1, 5))
        eq(got[1].header("Content-Length"), "13", mode + " HEAD Content-Length")


@case
def pipeline_connection_close_in_the_middle():
    reqs = (get() + post(b"Content-Length: 2\r\nConnection: close\r\n", b"ok") + get() + get())
    for mode, s in servers():
        # Nothing after the request that said close is answered.
        exchange(s, reqs, [200, 200], True, [HELLO, b"ok"])


@case
def pipeline_connection_close_token_in_list():
    reqs = get(fields=b"Host: x\r\nConnection: keep-alive, Close\r\n") + get()
    for mode, s in servers():
        exchange(s, reqs, [200], True, [HELLO])


@case
def pipeline_body_looks_like_a_request():
    # A body that contains a request line is data, not a second request.
    inner = get(b"/json")
    reqs = post(b"Content-Length: %d\r\n" % len(inner), inner) + get()
    for mode, s in servers():
        exchange(s, reqs, [200, 200], False, [inner, HELLO])


@case
def pipeline_bad_request_stops_the_pipeline():
    reqs = get() + get(fields=b"Host: x\r\nHost: y\r\n") + get()
    for mode, s in servers():
        exchange(s, reqs, [200, 400], True, [HELLO])


@case
def requests_after_a_404_are_served():
    for mode, s in servers():
        exchange(s, get(b"/missing") + get(b"/missing2") + get(), [404, 404, 200], False)


@case
def request_after_413_is_not_served():
    for mode, s in servers():
        exchange(s, post(b"Content-Length: 99999999\r\n") + get(), [413], True)


@case
def request_after_501_is_not_served():
    for mode, s in servers():
        exchange(s, get(method=b"BREW") + get(), [501], True)


# ---- Expect: 100-continue (RFC 9110 10.1.1) ----------------------------------------------------
@case
def expect_continue_content_length():
    for mode, s in servers():
        c = s.connect()
        c.send(post(b"Content-Length: 5\r\nExpect: 100-continue\r\n"))
        eq(c.read_response().status, 100, mode + " interim")
        c.send(b"hello")
        r = c.read_response()
        eq((r.status, r.body), (200, b"hello"), mode + " final")
        c.send(PROBE)
        eq(c.read_response().status, 200, mode + " follow-up")
        c.close()


@case
def expect_continue_chunked_case_insensitive():
    for mode, s in servers():
        c = s.connect()
        c.send(post(b"Transfer-Encoding: chunked\r\nExpect: 100-Continue\r\n"))
        eq(c.read_response().status, 100, mode + " interim")
        c.send(b"5\r\nhello\r\n0\r\n\r\n")
        r = c.read_response()
        eq((r.status, r.body), (200, b"hello"), mode + " final")
        c.close()


@case
def expect_continue_body_already_sent_gets_no_100():
    # The client did not wait: a 100 is allowed but useless; we send only the final answer.
    for mode, s in servers():
        c = s.connect()
        c.send(post(b"Content-Length: 5\r\nExpect: 100-continue\r\n", b"hello") + PROBE)
        r = c.read_response()
        eq((r.status, r.body), (200, b"hello"), mode + " final")
        eq(c.read_response().status, 200, mode + " next")
        c.close()


@case
def expect_continue_without_body_gets_no_100():
    for mode, s in servers():
        exchange(s, get(fields=b"Host: x\r\nExpect: 100-continue\r\n"), [200], False, [HELLO])


@case
def expect_continue_ignored_on_http_1_0():
    # RFC 9110 10.1.1: a server MUST NOT send 100 to an HTTP/1.0 client (it would not know it).
    for mode, s in servers():
        c = s.connect()
        c.send(post(b"Content-Length: 5\r\nExpect: 100-continue\r\n", version=b"1.0"))
        c.sock.settimeout(0.5)
        try:
            data = c.sock.recv(100)
        except OSError:
            data = b""
        eq(data, b"", mode + " bytes before the body was sent")
        c.sock.settimeout(5)
        c.send(b"hello")
        r = c.read_response()
        eq((r.status, r.body), (200, b"hello"), mode + " final")
        check(c.closed_by_peer(), "1.0 without keep-alive closes")
        c.close()


@case
def expect_continue_over_limit_gets_413_not_100():
    for mode, s in servers():
        exchange(s, post(b"Content-Length: 99999999\r\nExpect: 100-continue\r\n"), [413], True)


@case
def expect_other_value_ignored():
    # RFC 9110 10.1.1: a server MAY answer 417 to an unknown expectation; we ignore it (nginx).
    for mode, s in servers():
        exchange(s, get(fields=b"Host: x\r\nExpect: teapot\r\n"), [200], False)


# ---- Responses -----------------------------------------------------------------------------------
@case
def head_response_has_length_but_no_body():
    for mode, s in servers():
        got = exchange(s, get(b"/json", method=b"HEAD"), [200], False, head_at=(0,))
        eq(got[0].header("Content-Length"), "27", mode)


@case
def responses_are_http_1_1_even_to_1_0():
    # RFC 9110 6.2: a server sends its own highest minor version.
    for mode, s in servers():
        c = s.connect()
        c.send(get(version=b"1.0", fields=b""))
        r = c.read_response()
        eq((r.version, r.status), ("HTTP/1.1", 200), mode)
        c.close()


@case
def options_asterisk_lists_methods():
    for mode, s in servers():
        got = exchange(s, get(b"*", method=b"OPTIONS"), [200], False)
        allow = got[0].header("Allow") or ""
        for m in ("GET", "HEAD", "POST", "OPTIONS"):
            check(m in allow, "%s: Allow %r lacks %s" % (mode, allow, m))
        eq(got[0].header("Content-Length"), "0", mode + " Content-Length")


@case
def servers_exit_cleanly():
    for mode, s in servers():
        s.check_clean_exit()
    _servers.clear()


if __name__ == "__main__":
    try:
        run("integration/conformance")
    finally:
        for s in _servers.values():
            try:
                s.stop()
            except Exception:  # noqa: BLE001 - best effort after a failed run
                pass
