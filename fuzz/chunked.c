/* Fuzzes ch_http_chunked_decode(): the whole body at once versus the same bytes arriving in
 * pieces, as a connection's reads deliver them.
 *
 * Input: two bytes seeding the piece sizes, two bytes choosing max_body, then the body.
 * Checked on every input:
 *   - whole and pieces end with the same result, the same *src and *dst, and the same
 *     decoded bytes;
 *   - after every call dst <= src <= available bytes, both offsets only move forward, and
 *     the result is 1, CH_INCOMPLETE or one of the three body errors;
 *   - a complete body decodes to at most max_body bytes;
 *   - CH_INCOMPLETE only when every available byte was consumed.
 * On ASan builds the bytes not yet "received" are poisoned, so a read past them is caught. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/error.h"
#include "chopin/http.h"

#include "util/asan.h"

#define POISON   CH__POISON
#define UNPOISON CH__UNPOISON

#define FAIL(...)                                 \
    do {                                          \
        fprintf(stderr, "chunked: " __VA_ARGS__); \
        fputc('\n', stderr);                      \
        abort();                                  \
    } while (0)

struct outcome {
    int rc;
    size_t src, dst;
};

static void check_step(int rc, size_t src0, size_t dst0, size_t src, size_t dst, size_t avail)
{
    if (rc != 1 && rc != CH_INCOMPLETE && rc != CH_EHTTP_CHUNK_SIZE &&
        rc != CH_EHTTP_CHUNK_FRAMING && rc != CH_EHTTP_BODY_TOO_LARGE)
        FAIL("unexpected result %d", rc);
    if (src < src0 || dst < dst0) FAIL("offsets moved back");
    if (dst > src || src > avail) FAIL("dst %zu src %zu avail %zu", dst, src, avail);
    if (rc == CH_INCOMPLETE && src != avail) FAIL("incomplete with %zu of %zu used", src, avail);
}

/* A tiny xorshift generator, so the piece sizes are a pure function of the input. */
static uint32_t next(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static struct outcome decode(char *buf, size_t len, uint32_t seed, uint64_t max_body)
{
    struct ch_http_chunked d;
    ch_http_chunked_init(&d);
    struct outcome o = {CH_INCOMPLETE, 0, 0};
    size_t avail = seed ? 0 : len;
    uint32_t s = seed | 1;
    POISON(buf, len);
    for (;;) {
        if (seed) {
            /* Mostly small pieces, sometimes a large one: both paths matter. */
            uint32_t r = next(&s);
            size_t piece = r & 0x100 ? r % 4096 : r % 8;
            avail = piece > len - avail ? len : avail + piece;
        }
        UNPOISON(buf, avail);
        size_t src0 = o.src, dst0 = o.dst;
        o.rc = ch_http_chunked_decode(&d, buf, avail, &o.src, &o.dst, max_body);
        check_step(o.rc, src0, dst0, o.src, o.dst, avail);
        if (o.rc != CH_INCOMPLETE || avail == len) break;
    }
    UNPOISON(buf, len);
    if (o.rc == 1 && o.dst > max_body) FAIL("decoded %zu bytes over max_body", o.dst);
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    uint32_t seed = (uint32_t)data[0] | (uint32_t)data[1] << 8;
    unsigned m = (unsigned)data[2] | (unsigned)data[3] << 8;
    /* Small limits exercise the 413 path; the largest one its overflow guards. */
    uint64_t max_body = m == 0xffff ? UINT64_MAX : m == 0xfffe ? 1 << 20 : m;
    size_t len = size - 4;
    char *whole = malloc(len ? len : 1), *pieces = malloc(len ? len : 1);
    if (!whole || !pieces) {
        free(whole);
        free(pieces);
        return 0;
    }
    memcpy(whole, data + 4, len);
    memcpy(pieces, data + 4, len);

    struct outcome a = decode(whole, len, 0, max_body);
    struct outcome b = decode(pieces, len, seed ? seed : 1, max_body);
    if (a.rc != b.rc) FAIL("whole gave %d, pieces %d", a.rc, b.rc);
    if (a.src != b.src || a.dst != b.dst)
        FAIL("whole ended at src %zu dst %zu, pieces at %zu %zu", a.src, a.dst, b.src, b.dst);
    if (memcmp(whole, pieces, a.dst) != 0) FAIL("decoded bytes differ");
    /* The bytes after a complete body are the next request's: they must be untouched. */
    if (a.rc == 1 && memcmp(whole + a.src, data + 4 + a.src, len - a.src) != 0)
        FAIL("bytes after the body were modified");
    free(whole);
    free(pieces);
    return 0;
}
