/* Internals shared by the files of the JSON module: the tree layout and the power-of-ten table.
 *
 * A parsed document is a "tape": one contiguous array of 16-byte nodes in document order. A
 * container node is followed by its children (an object's children alternate key, value) and
 * records how many nodes its whole subtree spans, so a sibling is one addition away and a
 * writer walks the document front to back. */
#ifndef CHOPIN_JSON_INTERNAL_H
#define CHOPIN_JSON_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "chopin/json.h"

/* Node tags: the public type in the low bits, flags above. */
enum {
    CH__JSON_TYPE_MASK = 0x0f,
    CH__JSON_NUL_TERM = 0x10, /* string: ptr[len] is a NUL written by the parser */
};

struct ch_json_value {
    uint32_t tag;
    uint32_t len; /* string bytes, or container children (members for an object) */
    union {
        int64_t i;
        double d;
        const char *s;
        uint64_t span; /* containers: nodes in the subtree, this one included */
    } u;
};

static inline unsigned ch__json_type(const struct ch_json_value *v)
{
    return v->tag & CH__JSON_TYPE_MASK;
}

/* The node after v's subtree. */
static inline const struct ch_json_value *ch__json_skip(const struct ch_json_value *v)
{
    unsigned t = ch__json_type(v);
    return v + (t == CH_JSON_ARRAY || t == CH_JSON_OBJECT ? v->u.span : 1);
}

/* 10^e approximated from above to 128 bits; see tools/gen_json_pow10.c. */
struct ch__json_u128 {
    uint64_t hi, lo;
};

#define CH__JSON_POW10_MIN (-342)
#define CH__JSON_POW10_MAX 324
extern const struct ch__json_u128 ch__json_pow10[CH__JSON_POW10_MAX - CH__JSON_POW10_MIN + 1];

/* floor(log2(10^e)) for |e| <= 400; checked exhaustively by the table generator. The right
 * shift of a negative value is arithmetic with gcc and clang. */
static inline int ch__json_floor_log2_pow10(int e)
{
    return (int)(((int64_t)e * 1741647) >> 19);
}

/* Converts the decimal w * 10^e10 (w > 0) to the nearest double, ties to even. Returns 1 and
 * sets *out, or 0 when the fast path cannot decide (the caller then uses strtod); -1 when the
 * result overflows. */
int ch__json_decimal_to_double(uint64_t w, int e10, double *out);

/* UTF-8 sequence length of a well-formed sequence starting at p (at most `avail` bytes are
 * readable), or 0 if the bytes are not a well-formed sequence. p[0] must be >= 0x80. */
static inline unsigned ch__json_utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned c = p[0];
    if (c < 0xc2) return 0;
    if (c < 0xe0) return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c < 0xf0) {
        if (avail < 3 || (p[2] & 0xc0) != 0x80) return 0;
        unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        return p[1] >= lo && p[1] <= hi ? 3 : 0;
    }
    if (c < 0xf5) {
        if (avail < 4 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80) return 0;
        unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        return p[1] >= lo && p[1] <= hi ? 4 : 0;
    }
    return 0;
}

/* SWAR helpers: a word with bit 7 of each byte set where the byte needs attention in a JSON
 * string: below 0x20, '"', '\\', or (when `high`) 0x80 and above. Bytes after the first hit
 * may be flagged spuriously (borrows), so only the lowest flagged byte is meaningful. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "SWAR scanning assumes little-endian");

#define CH__JSON_ONES 0x0101010101010101ull
#define CH__JSON_HIGH 0x8080808080808080ull

static inline uint64_t ch__json_special(uint64_t x, int high)
{
    uint64_t q = x ^ (CH__JSON_ONES * '"');
    uint64_t b = x ^ (CH__JSON_ONES * '\\');
    uint64_t m = ((x - CH__JSON_ONES * 0x20) & ~x) | ((q - CH__JSON_ONES) & ~q) |
                 ((b - CH__JSON_ONES) & ~b);
    if (high) m |= x;
    return m & CH__JSON_HIGH;
}

static inline uint64_t ch__json_load64(const void *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

#endif
