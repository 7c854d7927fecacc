/* Chunked body decoder: whole, byte by byte and split at every point give the same body. */
#include <stdlib.h>

#include "../test.h"
#include "chopin/error.h"
#include "chopin/http.h"

/* Feeds `in` to the decoder in steps of `step` bytes (0 = whole); returns the result and the
 * decoded body in out/outlen, the raw bytes consumed in *used. */
static int decode(const char *in, size_t len, size_t step, uint64_t max, char *out,
                  size_t *outlen, size_t *used)
{
    char *buf = malloc(len + 1);
    memcpy(buf, in, len);
    struct ch_http_chunked d;
    ch_http_chunked_init(&d);
    size_t src = 0, dst = 0, avail = step ? 0 : len;
    int rc;
    for (;;) {
        if (step) avail = avail + step > len ? len : avail + step;
        rc = ch_http_chunked_decode(&d, buf, avail, &src, &dst, max);
        if (rc != CH_INCOMPLETE || avail == len) break;
    }
    memcpy(out, buf, dst);
    *outlen = dst;
    *used = src;
    free(buf);
    return rc;
}

static int check(const char *in, const char *body)
{
    size_t len = strlen(in), olen, used;
    char out[4096];
    int whole = decode(in, len, 0, 1 << 20, out, &olen, &used);
    if (whole == 1) ASSERT_MEM_EQ(out, olen, body);
    for (size_t step = 1; step < 8; step++) {
        size_t o2, u2;
        char out2[4096];
        int rc = decode(in, len, step, 1 << 20, out2, &o2, &u2);
        ASSERT_EQ(rc, whole);
        if (rc == 1) {
            ASSERT_MEM_EQ(out2, o2, body);
            ASSERT_EQ(u2, used);
        }
    }
    return whole == 1 ? (int)used : whole;
}

TEST(chunked_basic)
{
    const char *in = "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\nGET";
    ASSERT_EQ(check(in, "hello, world"), (int)strlen(in) - 3);
    ASSERT_EQ(check("A\r\n0123456789\r\n0\r\n\r\n", "0123456789"), 20);
    ASSERT_EQ(check("a\r\n0123456789\r\n0\r\n\r\n", "0123456789"), 20);
    ASSERT_EQ(check("0\r\n\r\n", ""), 5);
    ASSERT_EQ(check("0000000000000005\r\nhello\r\n0\r\n\r\n", "hello"), 30);
}

TEST(chunked_extensions_and_trailers_tolerated)
{
    ASSERT(check("5;name=value;x\r\nhello\r\n0;last\r\n\r\n", "hello") > 0);
    ASSERT(check("5 ; name=\"quoted value\"\r\nhello\r\n0\r\n\r\n", "hello") > 0);
    ASSERT(check("5\r\nhello\r\n0\r\nX-Trailer: a\r\nY: \r\n\r\n", "hello") > 0);
}

TEST(chunked_errors)
{
    ASSERT_EQ(check("0x5\r\nhello\r\n0\r\n\r\n", ""), CH_EHTTP_CHUNK_SIZE);
    ASSERT_EQ(check("-1\r\nhello\r\n0\r\n\r\n", ""), CH_EHTTP_CHUNK_SIZE);
    ASSERT_EQ(check("+5\r\nhello\r\n0\r\n\r\n", ""), CH_EHTTP_CHUNK_SIZE);
    ASSERT_EQ(check("\r\nhello\r\n0\r\n\r\n", ""), CH_EHTTP_CHUNK_SIZE);
    ASSERT_EQ(check("5 \r\nhello\r\n0\r\n\r\n", ""), CH_EHTTP_CHUNK_SIZE);
    ASSERT_EQ(check("g\r\n", ""), CH_EHTTP_CHUNK_SIZE);
    ASSERT_EQ(check("00000000000000005\r\nhello\r\n0\r\n\r\n", ""), CH_EHTTP_CHUNK_SIZE);
    ASSERT_EQ(check("ffffffffffffffffff\r\n", ""), CH_EHTTP_CHUNK_SIZE);
    ASSERT_EQ(check("5\nhello\r\n0\r\n\r\n", ""), CH_EHTTP_CHUNK_FRAMING);
    ASSERT_EQ(check("5\r\nhelloX\r\n0\r\n\r\n", ""), CH_EHTTP_CHUNK_FRAMING);
    ASSERT_EQ(check("5\r\nhello\n0\r\n\r\n", ""), CH_EHTTP_CHUNK_FRAMING);
    ASSERT_EQ(check("5\r\nhello\r\n0\r\n\n", ""), CH_EHTTP_CHUNK_FRAMING);
    ASSERT_EQ(check("5;a\x01\r\nhello\r\n0\r\n\r\n", ""), CH_EHTTP_CHUNK_FRAMING);
    ASSERT_EQ(check("5\r\nhello\r\n0\r\n folded: x\r\n\r\n", ""), CH_EHTTP_CHUNK_FRAMING);
    ASSERT_EQ(check("5\r\nhello\r\n0\r\nNoColon\r\n\r\n", ""), CH_EHTTP_CHUNK_FRAMING);
}

TEST(chunked_extension_flood_capped)
{
    size_t n = 0;
    char *in = malloc(100000);
    for (int i = 0; i < 200; i++) n += (size_t)sprintf(in + n, "1;%040d\r\nx\r\n", i);
    memcpy(in + n, "0\r\n\r\n", 6);
    char *out = malloc(100000);
    size_t olen, used;
    ASSERT_EQ(decode(in, n + 5, 0, 1 << 20, out, &olen, &used), CH_EHTTP_CHUNK_FRAMING);
    free(in);
    free(out);
}

TEST(chunked_body_limit)
{
    char out[64];
    size_t olen, used;
    const char *in = "5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n";
    ASSERT_EQ(decode(in, strlen(in), 0, 10, out, &olen, &used), CH_EHTTP_BODY_TOO_LARGE);
    ASSERT_EQ(decode(in, strlen(in), 0, 11, out, &olen, &used), 1);
    /* A huge declared size is refused before its data arrives. */
    ASSERT_EQ(decode("fffffff\r\n", 9, 0, 1 << 20, out, &olen, &used), CH_EHTTP_BODY_TOO_LARGE);
}
