/* Request head parser: every framing rule and limit, each input parsed whole and split at
 * every byte, with the input flush against a guard page. */
#include <stdlib.h>

#include "../test.h"
#include "chopin/error.h"
#include "chopin/http.h"

static const struct ch_http_limits lim = {.max_head = 8192, .max_headers = 100,
                                          .max_body = 1 << 20};
static struct ch_header hdrs[100];
static struct ch_http_head head;

/* Parses `in` whole and checks that every strict prefix gives CH_INCOMPLETE or, when the
 * whole is an error, that same error. Returns the whole result (head filled). */
static int parse_lim(const char *in, size_t len, const struct ch_http_limits *l)
{
    struct ch_header tmp[100];
    struct ch_http_head th;
    const char *g = ch_test_guarded(in, len);
    int whole = ch_http_parse_head(g, len, &head, hdrs, l);
    ch_test_guard_free(g, len);
    size_t complete_at = whole > 0 ? (size_t)whole : len;
    for (size_t k = 0; k < complete_at; k++) {
        const char *gp = ch_test_guarded(in, k);
        int rc = ch_http_parse_head(gp, k, &th, tmp, l);
        ch_test_guard_free(gp, k);
        if (rc != CH_INCOMPLETE && !(whole < 0 && rc == whole))
            ch_test_fail(__FILE__, __LINE__, "prefix %zu of %zu gave %d, whole gave %d", k, len,
                         rc, whole);
    }
    if (whole > 0) {
        /* The result must not depend on bytes after the head. */
        char *more = malloc(len + 32);
        memcpy(more, in, len);
        memcpy(more + len, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
        int again = ch_http_parse_head(more, len + 27, &th, tmp, l);
        free(more);
        ASSERT_EQ(again, whole);
        /* Re-parse into `head` so its slices point at live memory for the caller. */
        whole = ch_http_parse_head(in, len, &head, hdrs, l);
    }
    return whole;
}

static int parse(const char *in)
{
    return parse_lim(in, strlen(in), &lim);
}

#define REQ(line, fields) line "\r\n" fields "\r\n"

TEST(parse_simple_get)
{
    const char *in = "GET /plaintext?x=1&y HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";
    ASSERT_EQ(parse(in), (int)strlen(in));
    ASSERT_STR_EQ(head.method, "GET");
    ASSERT_EQ(head.method_id, CH_GET);
    ASSERT_STR_EQ(head.target, "/plaintext?x=1&y");
    ASSERT_STR_EQ(head.path, "/plaintext");
    ASSERT_STR_EQ(head.query, "x=1&y");
    ASSERT_STR_EQ(head.host, "localhost");
    ASSERT_EQ(head.minor_version, 1);
    ASSERT_EQ(head.num_headers, 2);
    ASSERT_STR_EQ(head.headers[1].name, "Accept");
    ASSERT_STR_EQ(head.headers[1].value, "*/*");
    ASSERT_EQ(head.keep_alive, 1);
    ASSERT_EQ(head.body_kind, CH_BODY_NONE);
}

TEST(parse_value_whitespace_trimmed_and_obs_text_kept)
{
    ASSERT(parse("GET / HTTP/1.1\r\nHost:x\r\nX-A: \t a b \t\r\nX-B:\r\nX-C: caf\xc3\xa9\r\n\r\n") > 0);
    ASSERT_STR_EQ(head.host, "x");
    ASSERT_STR_EQ(head.headers[1].value, "a b");
    ASSERT_STR_EQ(head.headers[2].value, "");
    ASSERT_STR_EQ(head.headers[3].value, "caf\xc3\xa9");
}

TEST(parse_leading_empty_lines_skipped)
{
    ASSERT(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") > 0);
    ASSERT_STR_EQ(head.path, "/");
}

TEST(parse_keep_alive_rules)
{
    ASSERT(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n") > 0);
    ASSERT_EQ(head.keep_alive, 0);
    ASSERT(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n") > 0);
    ASSERT_EQ(head.keep_alive, 0);
    ASSERT(parse("GET / HTTP/1.0\r\n\r\n") > 0);
    ASSERT_EQ(head.keep_alive, 0);
    ASSERT_EQ(head.minor_version, 0);
    ASSERT(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") > 0);
    ASSERT_EQ(head.keep_alive, 1);
    ASSERT(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n") > 0);
    ASSERT_EQ(head.keep_alive, 0);
    /* HTTP/1.x above 1.1 is served as 1.1. */
    ASSERT(parse("GET / HTTP/1.2\r\nHost: a\r\n\r\n") > 0);
    ASSERT_EQ(head.minor_version, 1);
}

TEST(parse_bodies)
{
    ASSERT(parse("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n") > 0);
    ASSERT_EQ(head.body_kind, CH_BODY_LENGTH);
    ASSERT_UEQ(head.content_length, 12);
    ASSERT(parse("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n") > 0);
    ASSERT_EQ(head.body_kind, CH_BODY_NONE);
    ASSERT(parse("POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked \r\n\r\n") > 0);
    ASSERT_EQ(head.body_kind, CH_BODY_CHUNKED);
    ASSERT(parse("POST /a HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                 "Content-Length: 3\r\n\r\n") > 0);
    ASSERT_EQ(head.expect_continue, 1);
}

TEST(parse_framing_errors)
{
    static const struct {
        const char *in;
        int err;
    } cases[] = {
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
         CH_EHTTP_CL_AND_TE},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
         CH_EHTTP_CL_AND_TE},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
         CH_EHTTP_TE_UNSUPPORTED},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip ,\tdeflate, Chunked\r\n\r\n",
         CH_EHTTP_TE_UNSUPPORTED},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
         CH_EHTTP_TRANSFER_ENCODING},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
         CH_EHTTP_TRANSFER_ENCODING},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked, chunked\r\n\r\n",
         CH_EHTTP_TRANSFER_ENCODING},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n",
         CH_EHTTP_TRANSFER_ENCODING},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n",
         CH_EHTTP_TRANSFER_ENCODING},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip;q=1, chunked\r\n\r\n",
         CH_EHTTP_TRANSFER_ENCODING},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n",
         CH_EHTTP_TRANSFER_ENCODING},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
         CH_EHTTP_TRANSFER_ENCODING},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
         "Transfer-Encoding: chunked\r\n\r\n",
         CH_EHTTP_TRANSFER_ENCODING},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
         CH_EHTTP_TRANSFER_ENCODING},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
         CH_EHTTP_TRANSFER_ENCODING},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", CH_EHTTP_TRANSFER_ENCODING},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", CH_EHTTP_CONTENT_LENGTH},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", CH_EHTTP_CONTENT_LENGTH},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", CH_EHTTP_CONTENT_LENGTH},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", CH_EHTTP_CONTENT_LENGTH},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", CH_EHTTP_CONTENT_LENGTH},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", CH_EHTTP_CONTENT_LENGTH},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
         CH_EHTTP_CONTENT_LENGTH},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
         CH_EHTTP_CONTENT_LENGTH},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n",
         CH_EHTTP_BODY_TOO_LARGE},
        {"GET / HTTP/1.1\r\nHost: a\r\nX-Long: a\r\n b\r\n\r\n", CH_EHTTP_OBS_FOLD},
        {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", CH_EHTTP_OBS_FOLD},
        {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", CH_EHTTP_FIELD_NAME},
        {"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", CH_EHTTP_FIELD_NAME},
        {"GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", CH_EHTTP_FIELD_NAME},
        {"GET / HTTP/1.1\r\nHost: a\r\nX(y): z\r\n\r\n", CH_EHTTP_FIELD_NAME},
        {"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", CH_EHTTP_FIELD_NAME},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", CH_EHTTP_BARE_CR},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\r\n\r\n", CH_EHTTP_BARE_CR},
        {"GET / HTTP/1.1\rHost: a\r\n\r\n", CH_EHTTP_BARE_CR},
        {"GET / HTTP/1.1\r\nHost: a\r\n\rX", CH_EHTTP_BARE_CR},
        {"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", CH_EHTTP_LINE_ENDING},
        {"GET / HTTP/1.1\r\nHost: a\r\n\n", CH_EHTTP_LINE_ENDING},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n", CH_EHTTP_FIELD_VALUE},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", CH_EHTTP_FIELD_VALUE},
        {"GET / HTTP/1.1\r\nHost: a\r\nX\x01: b\r\n\r\n", CH_EHTTP_FIELD_NAME},
        {"GET / HTTP/1.1\r\n\r\n", CH_EHTTP_HOST},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", CH_EHTTP_HOST},
        {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", CH_EHTTP_HOST},
        {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", CH_EHTTP_HOST},
        {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", CH_EHTTP_VERSION},
        {"GET / HTTP/0.9\r\n\r\n", CH_EHTTP_VERSION},
        {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", CH_EHTTP_H2_PREFACE},
        {"GET /\r\n", CH_EHTTP_HTTP09},
        {"GET / HTTP/1.10\r\nHost: a\r\n\r\n", CH_EHTTP_REQUEST_LINE},
        {"GET / http/1.1\r\nHost: a\r\n\r\n", CH_EHTTP_REQUEST_LINE},
        {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", CH_EHTTP_REQUEST_LINE},
        {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", CH_EHTTP_REQUEST_LINE},
        {" GET / HTTP/1.1\r\nHost: a\r\n\r\n", CH_EHTTP_REQUEST_LINE},
        {"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", CH_EHTTP_REQUEST_LINE},
        {"GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", CH_EHTTP_TARGET},
        {"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", CH_EHTTP_TARGET},
        {"GET a HTTP/1.1\r\nHost: a\r\n\r\n", CH_EHTTP_TARGET},
        {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", CH_EHTTP_TARGET},
        {"GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", CH_EHTTP_TARGET},
        {"GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", CH_EHTTP_TARGET},
        {"GET http://u@h/x HTTP/1.1\r\nHost: a\r\n\r\n", CH_EHTTP_TARGET},
        {"CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", CH_EHTTP_TARGET},
        {"BREW / HTTP/1.1\r\nHost: a\r\n\r\n", CH_EHTTP_METHOD},
        {"get / HTTP/1.1\r\nHost: a\r\n\r\n", CH_EHTTP_METHOD},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].in);
        int rc = parse_lim(cases[i].in, n, &lim);
        if (rc != cases[i].err)
            ch_test_fail(__FILE__, __LINE__, "case %zu (%s): got %d (%s), want %d", i,
                         cases[i].in, rc, ch_strerror(rc), cases[i].err);
    }
}

TEST(parse_nul_bytes)
{
    static const char a[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
    ASSERT_EQ(parse_lim(a, sizeof(a) - 1, &lim), CH_EHTTP_FIELD_VALUE);
    static const char b[] = "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_EQ(parse_lim(b, sizeof(b) - 1, &lim), CH_EHTTP_TARGET);
    static const char c[] = "G\0T / HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_EQ(parse_lim(c, sizeof(c) - 1, &lim), CH_EHTTP_REQUEST_LINE);
    static const char d[] = "GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n";
    ASSERT_EQ(parse_lim(d, sizeof(d) - 1, &lim), CH_EHTTP_FIELD_NAME);
}

TEST(parse_target_forms)
{
    ASSERT(parse("GET http://example.com:8080/a/b?c=d HTTP/1.1\r\nHost: other\r\n\r\n") > 0);
    ASSERT_STR_EQ(head.host, "example.com:8080");
    ASSERT_STR_EQ(head.path, "/a/b");
    ASSERT_STR_EQ(head.query, "c=d");
    ASSERT(parse("GET HTTP://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n") > 0);
    ASSERT_STR_EQ(head.path, "/");
    ASSERT(parse("GET https://example.com?q HTTP/1.1\r\nHost: example.com\r\n\r\n") > 0);
    ASSERT_STR_EQ(head.path, "/");
    ASSERT_STR_EQ(head.query, "q");
    ASSERT(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n") > 0);
    ASSERT_STR_EQ(head.path, "*");
    ASSERT(parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n") > 0);
    ASSERT_STR_EQ(head.path, "example.com:443");
    ASSERT(parse("GET /a?b?c HTTP/1.1\r\nHost: a\r\n\r\n") > 0);
    ASSERT_STR_EQ(head.path, "/a");
    ASSERT_STR_EQ(head.query, "b?c");
}

TEST(parse_limits)
{
    struct ch_http_limits small = {.max_head = 64, .max_headers = 3, .max_body = 10};
    char in[256];
    /* Request line alone over the limit: 414. */
    snprintf(in, sizeof(in), "GET /%0100d HTTP/1.1\r\nHost: a\r\n\r\n", 0);
    ASSERT_EQ(parse_lim(in, strlen(in), &small), CH_EHTTP_URI_TOO_LONG);
    /* Fields push the head over the limit: 431. */
    snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: a\r\nX: %060d\r\n\r\n", 0);
    ASSERT_EQ(parse_lim(in, strlen(in), &small), CH_EHTTP_HEAD_TOO_LARGE);
    /* Exactly at the limit passes. */
    snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: a\r\nX: %032d\r\n\r\n", 0);
    ASSERT_EQ(strlen(in), 64);
    ASSERT_EQ(parse_lim(in, strlen(in), &small), 64);
    /* One byte over fails, even while incomplete. */
    snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: a\r\nX: %033d\r\n\r\n", 0);
    ASSERT_EQ(parse_lim(in, strlen(in), &small), CH_EHTTP_HEAD_TOO_LARGE);
    ASSERT_EQ(ch_http_parse_head(in, 64, &head, hdrs, &small), CH_EHTTP_HEAD_TOO_LARGE);
    ASSERT_EQ(ch_http_parse_head(in, 63, &head, hdrs, &small), CH_INCOMPLETE);
    /* Field count. */
    ASSERT(parse_lim("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", 40, &small) > 0);
    const char *four = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    ASSERT_EQ(parse_lim(four, strlen(four), &small), CH_EHTTP_TOO_MANY_FIELDS);
    /* Body limit is decided from Content-Length, before any body byte arrives. */
    const char *body = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n";
    ASSERT_EQ(parse_lim(body, strlen(body), &small), CH_EHTTP_BODY_TOO_LARGE);
}

TEST(parse_default_limits_8k_head_100_fields)
{
    char *in = malloc(20000);
    size_t n = (size_t)sprintf(in, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 99; i++) n += (size_t)sprintf(in + n, "X-%d: v\r\n", i);
    memcpy(in + n, "\r\n", 3);
    ASSERT(parse_lim(in, n + 2, &lim) > 0);
    ASSERT_EQ(head.num_headers, 100);
    n = (size_t)sprintf(in, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 100; i++) n += (size_t)sprintf(in + n, "X-%d: v\r\n", i);
    memcpy(in + n, "\r\n", 3);
    ASSERT_EQ(parse_lim(in, n + 2, &lim), CH_EHTTP_TOO_MANY_FIELDS);
    n = (size_t)sprintf(in, "GET /");
    memset(in + n, 'a', 9000);
    n += 9000;
    n += (size_t)sprintf(in + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ(ch_http_parse_head(in, n, &head, hdrs, &lim), CH_EHTTP_URI_TOO_LONG);
    free(in);
}

TEST(error_statuses)
{
    ASSERT_EQ(ch_http_error_status(CH_EHTTP_METHOD), 501);
    ASSERT_EQ(ch_http_error_status(CH_EHTTP_VERSION), 505);
    ASSERT_EQ(ch_http_error_status(CH_EHTTP_H2_PREFACE), 505);
    ASSERT_EQ(ch_http_error_status(CH_EHTTP_URI_TOO_LONG), 414);
    ASSERT_EQ(ch_http_error_status(CH_EHTTP_HEAD_TOO_LARGE), 431);
    ASSERT_EQ(ch_http_error_status(CH_EHTTP_TOO_MANY_FIELDS), 431);
    ASSERT_EQ(ch_http_error_status(CH_EHTTP_BODY_TOO_LARGE), 413);
    ASSERT_EQ(ch_http_error_status(CH_EHTTP_CL_AND_TE), 400);
    ASSERT_EQ(ch_http_error_status(CH_EHTTP_HTTP09), 400);
}
