/* libFuzzer driver for url.h: parses the input as a query string and percent-decodes it whole,
 * with and without '+' as space, out of place, in place and into an arena.
 *
 * Invariants checked on every input:
 *   - ch_url_decode agrees with a naive reference decoder (result code and bytes), in place or
 *     not, and ch_url_decode_arena agrees too and NUL-terminates;
 *   - ch_query_parse returns 0, CH_EINVAL or CH_ERANGE; on error the query is empty; CH_ERANGE
 *     exactly when there are more than CH_QUERY_MAX_PAIRS non-empty pieces; on success there is
 *     one pair per non-empty '&' piece, in order, each key and value equal to the reference
 *     decoding of its part of the piece, NUL-terminated, and the lookup helpers agree with a
 *     linear scan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/error.h"
#include "chopin/url.h"

static int hex(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The obvious decoder, written independently of url.c. */
static int ref_decode(const char *s, size_t n, int plus, char *out, size_t *out_len)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n) return CH_EINVAL; /* needs s[i + 1] and s[i + 2] */
            int hi = hex((unsigned char)s[i + 1]), lo = hex((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) return CH_EINVAL;
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (plus && s[i] == '+') {
            out[j++] = ' ';
        } else {
            out[j++] = s[i];
        }
    }
    *out_len = j;
    return 0;
}

static void check_decode(struct ch_arena *a, const char *s, size_t n, unsigned flags)
{
    char *want = malloc(n + 1), *got = malloc(n + 1), *inplace = malloc(n + 1);
    if (!want || !got || !inplace) abort();
    size_t want_len = 0, got_len = 0, inplace_len = 0;
    int want_rc = ref_decode(s, n, (flags & CH_URL_PLUS_AS_SPACE) != 0, want, &want_len);
    int rc = ch_url_decode(ch_str_make(s, n), got, &got_len, flags);
    if (rc != want_rc) abort();
    if (rc == 0 && (got_len != want_len || memcmp(got, want, want_len) != 0)) abort();

    memcpy(inplace, s, n);
    rc = ch_url_decode(ch_str_make(inplace, n), inplace, &inplace_len, flags);
    if (rc != want_rc) abort();
    if (rc == 0 && (inplace_len != want_len || memcmp(inplace, want, want_len) != 0)) abort();

    struct ch_str out;
    rc = ch_url_decode_arena(a, ch_str_make(s, n), flags, &out);
    if (rc != want_rc) abort();
    if (rc == 0 &&
        (out.len != want_len || memcmp(out.ptr, want, want_len) != 0 || out.ptr[out.len]))
        abort();
    free(want);
    free(got);
    free(inplace);
}

static void check_pair_part(const char *s, size_t n, struct ch_str got)
{
    char *want = malloc(n + 1);
    size_t want_len;
    if (!want || ref_decode(s, n, 1, want, &want_len) != 0) abort();
    if (got.len != want_len || memcmp(got.ptr, want, want_len) != 0 || got.ptr[got.len] != '\0')
        abort();
    free(want);
}

static void check_query(struct ch_arena *a, const char *s, size_t n)
{
    struct ch_query q;
    int rc = ch_query_parse(a, ch_str_make(s, n), &q);
    if (rc != 0) {
        if ((rc != CH_EINVAL && rc != CH_ERANGE) || q.count != 0 || q.pairs) abort();
    }

    /* Walk the pieces independently and compare. */
    size_t pieces = 0, bad = 0;
    for (size_t i = 0; i < n;) {
        size_t e = i;
        while (e < n && s[e] != '&') e++;
        if (e > i) {
            size_t eq = i;
            while (eq < e && s[eq] != '=') eq++;
            size_t vstart = eq < e ? eq + 1 : e;
            size_t dummy;
            char *scratch = malloc(e - i + 1);
            if (!scratch) abort();
            if (ref_decode(s + i, eq - i, 1, scratch, &dummy) != 0 ||
                ref_decode(s + vstart, e - vstart, 1, scratch, &dummy) != 0)
                bad++;
            free(scratch);
            if (rc == 0) {
                if (pieces >= q.count) abort();
                check_pair_part(s + i, eq - i, q.pairs[pieces].key);
                check_pair_part(s + vstart, e - vstart, q.pairs[pieces].value);
            }
            pieces++;
        }
        i = e + 1;
    }
    if (pieces > CH_QUERY_MAX_PAIRS) {
        if (rc != CH_ERANGE) abort();
        return;
    }
    if (bad ? rc != CH_EINVAL : rc != 0) abort();
    if (rc != 0) return;
    if (q.count != pieces) abort();

    for (size_t i = 0; i < q.count; i++) {
        struct ch_str key = q.pairs[i].key, v;
        size_t first = 0, count = 0;
        while (!ch_str_eq(q.pairs[first].key, key)) first++;
        for (size_t j = 0; j < q.count; j++) count += ch_str_eq(q.pairs[j].key, key);
        if (ch_query_get(&q, key, &v) != 0 || v.ptr != q.pairs[first].value.ptr) abort();
        if (ch_query_count(&q, key) != count) abort();
        size_t seen = 0;
        for (const struct ch_query_pair *p = ch_query_next(&q, key, NULL); p;
             p = ch_query_next(&q, key, p)) {
            if (!ch_str_eq(p->key, key)) abort();
            seen++;
        }
        if (seen != count) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char storage[2048];
    struct ch_arena a;
    ch_arena_init(&a, storage, sizeof(storage));
    const char *s = (const char *)data;
    check_decode(&a, s, size, 0);
    check_decode(&a, s, size, CH_URL_PLUS_AS_SPACE);
    check_query(&a, s, size);
    ch_arena_cleanup(&a);
    return 0;
}
