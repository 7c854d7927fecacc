#include <stdlib.h>

#include "../test.h"
#include "chopin/error.h"
#include "chopin/url.h"

/* Decodes `in` (given with its length, so it may hold NULs) from a copy that ends at a guard page,
 * into `out`. Returns the decoder's result. */
static int decode(const char *in, size_t len, unsigned flags, char *out, size_t *out_len)
{
    const char *g = ch_test_guarded(in, len);
    int rc = ch_url_decode(ch_str_make(g, len), out, out_len, flags);
    ch_test_guard_free(g, len);
    return rc;
}

#define ASSERT_DECODES(in, flags, expect)                           \
    do {                                                            \
        char out_[256];                                             \
        size_t n_ = 0;                                              \
        ASSERT_EQ(decode((in), strlen(in), (flags), out_, &n_), 0); \
        ASSERT_MEM_EQ(out_, n_, (expect));                          \
    } while (0)

#define ASSERT_DECODE_FAILS(in)                                                          \
    do {                                                                                 \
        char out_[256];                                                                  \
        size_t n_ = 0;                                                                   \
        ASSERT_EQ(decode((in), strlen(in), 0, out_, &n_), CH_EINVAL);                    \
        ASSERT_EQ(decode((in), strlen(in), CH_URL_PLUS_AS_SPACE, out_, &n_), CH_EINVAL); \
    } while (0)

TEST(url_decode_valid)
{
    ASSERT_DECODES("", 0, "");
    ASSERT_DECODES("plain-text_~.", 0, "plain-text_~.");
    ASSERT_DECODES("a%20b", 0, "a b");
    ASSERT_DECODES("%41%62%7a%7A%2f%2F", 0, "Abzz//");
    ASSERT_DECODES("%25%32%35", 0, "%25"); /* decoded once, not recursively */
    ASSERT_DECODES("100%25", 0, "100%");
    ASSERT_DECODES("caf%C3%A9", 0, "caf\xc3\xa9");
    ASSERT_DECODES("caf\xc3\xa9", 0, "caf\xc3\xa9"); /* raw bytes pass through */
    ASSERT_DECODES("%ff%FE", 0, "\xff\xfe");         /* no UTF-8 validation */
}

TEST(url_decode_invalid)
{
    ASSERT_DECODE_FAILS("%");
    ASSERT_DECODE_FAILS("%4");
    ASSERT_DECODE_FAILS("abc%4");
    ASSERT_DECODE_FAILS("abc%");
    ASSERT_DECODE_FAILS("%zz");
    ASSERT_DECODE_FAILS("%g0");
    ASSERT_DECODE_FAILS("%0g");
    ASSERT_DECODE_FAILS("a%%20");
    ASSERT_DECODE_FAILS("%+1");
    ASSERT_DECODE_FAILS("%-1");
    ASSERT_DECODE_FAILS("%\xc3\xa9");
    ASSERT_DECODE_FAILS("ok%20then%2");
}

TEST(url_decode_plus)
{
    ASSERT_DECODES("a+b", 0, "a+b");
    ASSERT_DECODES("a+b", CH_URL_PLUS_AS_SPACE, "a b");
    ASSERT_DECODES("++", CH_URL_PLUS_AS_SPACE, "  ");
    ASSERT_DECODES("%2B+%2b", CH_URL_PLUS_AS_SPACE, "+ +");
    ASSERT_DECODES("%2B", 0, "+");
}

TEST(url_decode_nul_and_every_byte)
{
    char out[8];
    size_t n;
    ASSERT_EQ(decode("a%00b", 5, 0, out, &n), 0);
    ASSERT_EQ(n, 3);
    ASSERT(memcmp(out, "a\0b", 3) == 0);
    /* A raw NUL in the input is data too. */
    ASSERT_EQ(decode("x\0y", 3, 0, out, &n), 0);
    ASSERT_EQ(n, 3);
    ASSERT(memcmp(out, "x\0y", 3) == 0);

    char in[256 * 3 + 1], res[256]; /* +1: snprintf's NUL */
    for (int c = 0; c < 256; c++) snprintf(in + 3 * c, 4, "%%%02X", c);
    ASSERT_EQ(decode(in, 256 * 3, 0, res, &n), 0);
    ASSERT_EQ(n, 256);
    for (int c = 0; c < 256; c++) ASSERT_EQ((unsigned char)res[c], c);
    for (int c = 0; c < 256; c++) snprintf(in + 3 * c, 4, "%%%02x", c);
    ASSERT_EQ(decode(in, 256 * 3, 0, res, &n), 0);
    for (int c = 0; c < 256; c++) ASSERT_EQ((unsigned char)res[c], c);
}

TEST(url_decode_in_place_and_arena)
{
    char buf[] = "x%41y+%42";
    size_t n;
    ASSERT_EQ(ch_url_decode(ch_str_make(buf, strlen(buf)), buf, &n, CH_URL_PLUS_AS_SPACE), 0);
    ASSERT_MEM_EQ(buf, n, "xAy B");
    char plain[] = "unchanged";
    ASSERT_EQ(ch_url_decode(ch_str_make(plain, 9), plain, &n, 0), 0);
    ASSERT_MEM_EQ(plain, n, "unchanged");

    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    struct ch_str out = CH_STR("sentinel");
    const char *g = ch_test_guarded("id%00x", 6);
    ASSERT_EQ(ch_url_decode_arena(&a, ch_str_make(g, 6), 0, &out), 0);
    ASSERT_EQ(out.len, 4);
    ASSERT(memcmp(out.ptr, "id\0x", 5) == 0); /* and NUL-terminated */
    ch_test_guard_free(g, 6);
    ASSERT_EQ(ch_url_decode_arena(&a, CH_STR(""), 0, &out), 0);
    ASSERT_EQ(out.len, 0);
    ASSERT_EQ(out.ptr[0], '\0');
    ASSERT_EQ(ch_url_decode_arena(&a, CH_STR("bad%x"), 0, &out), CH_EINVAL);
    ch_arena_cleanup(&a);
}

/* Parses `in` from a copy against a guard page. The result does not point into the input. */
static int parse(struct ch_arena *a, const char *in, struct ch_query *q)
{
    size_t len = strlen(in);
    const char *g = ch_test_guarded(in, len);
    int rc = ch_query_parse(a, ch_str_make(g, len), q);
    ch_test_guard_free(g, len);
    return rc;
}

static void assert_nul_terminated(const struct ch_query *q)
{
    for (size_t i = 0; i < q->count; i++) {
        ASSERT(q->pairs[i].key.ptr != NULL && q->pairs[i].value.ptr != NULL);
        ASSERT_EQ(q->pairs[i].key.ptr[q->pairs[i].key.len], '\0');
        ASSERT_EQ(q->pairs[i].value.ptr[q->pairs[i].value.len], '\0');
    }
}

TEST(query_basic_and_decoding)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    struct ch_query q;
    ASSERT_EQ(parse(&a, "q=hello+world%21&name=J%C3%B6rg&a%5B%5D=1&x=a=b", &q), 0);
    ASSERT_EQ(q.count, 4);
    ASSERT_STR_EQ(q.pairs[0].key, "q");
    ASSERT_STR_EQ(q.pairs[0].value, "hello world!");
    ASSERT_STR_EQ(q.pairs[1].value, "J\xc3\xb6rg");
    ASSERT_STR_EQ(q.pairs[2].key, "a[]");
    ASSERT_STR_EQ(q.pairs[3].key, "x");
    ASSERT_STR_EQ(q.pairs[3].value, "a=b"); /* only the first '=' separates */
    assert_nul_terminated(&q);

    struct ch_str v = CH_STR("untouched");
    ASSERT_EQ(ch_query_get(&q, CH_STR("name"), &v), 0);
    ASSERT_STR_EQ(v, "J\xc3\xb6rg");
    ASSERT_EQ(ch_query_get(&q, CH_STR("a%5B%5D"), &v), CH_ENOTFOUND); /* keys compare decoded */
    ASSERT_STR_EQ(v, "J\xc3\xb6rg");
    ASSERT_EQ(ch_query_get(&q, CH_STR("Q"), &v), CH_ENOTFOUND); /* case-sensitive */
    ch_arena_cleanup(&a);
}

TEST(query_repeated_keys)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    struct ch_query q;
    ASSERT_EQ(parse(&a, "tag=a&x=1&tag=b&tag=&tag=c", &q), 0);
    ASSERT_EQ(q.count, 5);
    ASSERT_EQ(ch_query_count(&q, CH_STR("tag")), 4);
    ASSERT_EQ(ch_query_count(&q, CH_STR("x")), 1);
    ASSERT_EQ(ch_query_count(&q, CH_STR("nope")), 0);
    struct ch_str v;
    ASSERT_EQ(ch_query_get(&q, CH_STR("tag"), &v), 0);
    ASSERT_STR_EQ(v, "a");
    static const char *const want[] = {"a", "b", "", "c"};
    size_t i = 0;
    for (const struct ch_query_pair *p = ch_query_next(&q, CH_STR("tag"), NULL); p;
         p = ch_query_next(&q, CH_STR("tag"), p)) {
        ASSERT(i < 4);
        ASSERT_STR_EQ(p->value, want[i]);
        i++;
    }
    ASSERT_EQ(i, 4);
    ASSERT(ch_query_next(&q, CH_STR("nope"), NULL) == NULL);
    ch_arena_cleanup(&a);
}

TEST(query_empty_pieces_and_missing_values)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    struct ch_query q;
    ASSERT_EQ(parse(&a, "a=1&&b=2&", &q), 0);
    ASSERT_EQ(q.count, 2);
    ASSERT_STR_EQ(q.pairs[1].key, "b");
    ASSERT_STR_EQ(q.pairs[1].value, "2");
    ASSERT_EQ(parse(&a, "&&flag&=x&y=&", &q), 0);
    ASSERT_EQ(q.count, 3);
    ASSERT_STR_EQ(q.pairs[0].key, "flag");
    ASSERT_STR_EQ(q.pairs[0].value, "");
    ASSERT_STR_EQ(q.pairs[1].key, "");
    ASSERT_STR_EQ(q.pairs[1].value, "x");
    ASSERT_STR_EQ(q.pairs[2].key, "y");
    ASSERT_STR_EQ(q.pairs[2].value, "");
    assert_nul_terminated(&q);
    struct ch_str v;
    ASSERT_EQ(ch_query_get(&q, CH_STR("flag"), &v), 0);
    ASSERT_EQ(v.len, 0);

    ASSERT_EQ(parse(&a, "", &q), 0);
    ASSERT_EQ(q.count, 0);
    ASSERT_EQ(parse(&a, "&&&", &q), 0);
    ASSERT_EQ(q.count, 0);
    ASSERT_EQ(ch_query_get(&q, CH_STR(""), &v), CH_ENOTFOUND);
    ASSERT_EQ(parse(&a, "=", &q), 0);
    ASSERT_EQ(q.count, 1);
    ASSERT_EQ(q.pairs[0].key.len + q.pairs[0].value.len, 0);
    ch_arena_cleanup(&a);
}

TEST(query_nul_bytes)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    struct ch_query q;
    ASSERT_EQ(parse(&a, "k%00ey=v%00al", &q), 0);
    ASSERT_EQ(q.count, 1);
    ASSERT_EQ(q.pairs[0].key.len, 4);
    ASSERT(memcmp(q.pairs[0].key.ptr, "k\0ey", 5) == 0);
    ASSERT_EQ(q.pairs[0].value.len, 4);
    ASSERT(memcmp(q.pairs[0].value.ptr, "v\0al", 5) == 0);
    struct ch_str v;
    ASSERT_EQ(ch_query_get(&q, ch_str_make("k\0ey", 4), &v), 0);
    ASSERT_EQ(ch_query_get(&q, CH_STR("k"), &v), CH_ENOTFOUND);
    ch_arena_cleanup(&a);
}

TEST(query_invalid_escape)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    struct ch_query q;
    ASSERT_EQ(parse(&a, "a=1&b=%zz", &q), CH_EINVAL);
    ASSERT_EQ(q.count, 0);
    ASSERT(q.pairs == NULL);
    ASSERT_EQ(parse(&a, "a%=1", &q), CH_EINVAL);
    ASSERT_EQ(parse(&a, "a=%4", &q), CH_EINVAL);
    ASSERT_EQ(parse(&a, "a=1&b=2%", &q), CH_EINVAL);
    /* An escape cannot straddle the '&': each piece is decoded on its own. */
    ASSERT_EQ(parse(&a, "a=%2&6", &q), CH_EINVAL);
    ch_arena_cleanup(&a);
}

TEST(query_limit)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    struct ch_query q;
    size_t cap = 16 * (CH_QUERY_MAX_PAIRS + 1);
    char *in = malloc(cap);
    size_t n = 0;
    for (int i = 0; i < CH_QUERY_MAX_PAIRS; i++)
        n += (size_t)snprintf(in + n, cap - n, "k%d=%d&&", i, i);
    ASSERT_EQ(parse(&a, in, &q), 0);
    ASSERT_EQ(q.count, CH_QUERY_MAX_PAIRS);
    ASSERT_STR_EQ(q.pairs[CH_QUERY_MAX_PAIRS - 1].key, "k255");
    ASSERT_STR_EQ(q.pairs[CH_QUERY_MAX_PAIRS - 1].value, "255");
    snprintf(in + n, cap - n, "one=more");
    ASSERT_EQ(parse(&a, in, &q), CH_ERANGE);
    ASSERT_EQ(q.count, 0);
    free(in);
    ch_arena_cleanup(&a);
}

TEST(query_every_prefix)
{
    /* Every truncation of a query either parses or fails on the cut escape, never over-reads. */
    static const char full[] = "a=1&tag=x%20y&&tag=%C3%A9+z&flag&=v&k%00=%2B";
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    for (size_t len = 0; len <= sizeof(full) - 1; len++) {
        char in[sizeof(full)];
        memcpy(in, full, len);
        in[len] = '\0';
        struct ch_query q;
        int rc = parse(&a, in, &q);
        ASSERT(rc == 0 || rc == CH_EINVAL);
        if (rc == 0) assert_nul_terminated(&q);
        ch_arena_reset(&a);
    }
    ch_arena_cleanup(&a);
}
