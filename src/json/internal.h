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

/* A parse failure: where (NULL with reason NULL for out of memory), and why. */
struct ch__json_failure {
    const char *at;
    const char *reason;
};

/* Parses the number at p (a '-' or a digit) per RFC 8259's grammar into *out; returns the text
 * after it, or NULL with *f filled. Integers that fit int64_t stay exact; other numbers are
 * rounded correctly; magnitudes beyond DBL_MAX fail as "number out of range". */
const char *ch__json_parse_number(const char *p, const char *end, struct ch_json_value *out,
                                  struct ch_arena *arena, struct ch__json_failure *f);

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

/* String scanning: the bytes that need attention in a JSON string are those below 0x20, '"',
 * '\\', and, when `high`, 0x80 and above (UTF-8 to validate).
 *
 * ch__json_swar() flags them in a 64-bit word: bit 7 of each byte that needs attention. A
 * borrow can only flag bytes after a real match, so the lowest flag is exact. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "scanning assumes little-endian");

static inline uint64_t ch__json_swar(uint64_t x, int high)
{
    const uint64_t ones = 0x0101010101010101ull;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t m = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b);
    if (high) m |= x;
    return m & 0x8080808080808080ull;
}

static inline uint64_t ch__json_load64(const void *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

/* ch__json_stop() returns the index in p[0..CH__JSON_SCAN) of the first byte that needs
 * attention, or CH__JSON_SCAN when there is none; all CH__JSON_SCAN bytes must be readable.
 * ch__json_clean_short() tells whether a short string (4 <= len < 16) needs nothing, reading
 * only its own bytes. SSE2, which every x86-64 has, checks 16 bytes at a time; elsewhere SWAR
 * checks 8 (-DCH_JSON_PORTABLE selects it on x86-64 too, to test it). */
#if defined(__SSE2__) && !defined(CH_JSON_PORTABLE)
#include <emmintrin.h>

#define CH__JSON_SCAN 16

static inline unsigned ch__json_mask(__m128i v, int high)
{
    __m128i m =
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    /* Signed: bytes of 0x80 and above are negative, so "< 0x20" catches them too. */
    __m128i low = high ? _mm_cmplt_epi8(v, _mm_set1_epi8(0x20))
                       : _mm_cmpeq_epi8(_mm_subs_epu8(v, _mm_set1_epi8(0x1f)), _mm_setzero_si128());
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(m, low));
}

static inline unsigned ch__json_stop(const void *p, int high)
{
    unsigned mask = ch__json_mask(_mm_loadu_si128((const __m128i *)p), high);
    return mask ? (unsigned)__builtin_ctz(mask) : CH__JSON_SCAN;
}

/* Whether the first byte needing attention in p[0..CH__JSON_SCAN) is a '"', and where: the
 * common case of a short string with nothing to check, decided without reading the byte back. */
static inline int ch__json_quote_first(const void *p, unsigned *k)
{
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    unsigned stops = ch__json_mask(v, 1);
    unsigned quotes = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
    *k = (unsigned)__builtin_ctz(stops | 0x10000);
    return (quotes >> *k) & 1;
}

/* ch__json_quote_first() for the last r (< CH__JSON_SCAN) bytes before `end`, reading the
 * block that ends there (which must be readable). */
static inline int ch__json_quote_first_tail(const char *end, unsigned r, unsigned *k)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(end - 16));
    unsigned stops = ch__json_mask(v, 1) >> (16 - r);
    unsigned quotes =
        (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"'))) >> (16 - r);
    *k = (unsigned)__builtin_ctz(stops | 1u << r);
    return (quotes >> *k) & 1;
}

/* The index of the first byte needing attention among the last r (< CH__JSON_SCAN) bytes
 * before `end`, or r when none does; the CH__JSON_SCAN bytes before `end` must be readable.
 * One load that ends at `end`; the bits of the bytes before the r are shifted out. */
static inline unsigned ch__json_stop_tail(const char *end, unsigned r, int high)
{
    unsigned mask = ch__json_mask(_mm_loadu_si128((const __m128i *)(end - 16)), high);
    mask >>= 16 - r;
    return mask ? (unsigned)__builtin_ctz(mask) : r;
}

/* Bit i of *special is set where p[i] is '"', '\\' or below 0x20 (only the lowest set bit is
 * meaningful), bit i of *high where p[i] is 0x80 or above. */
static inline void ch__json_classify(const void *p, unsigned *special, unsigned *high)
{
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    *special = ch__json_mask(v, 0);
    *high = (unsigned)_mm_movemask_epi8(v);
}

/* Whether the len bytes at p (4 <= len < 16) all pass unchanged: two overlapping loads that
 * stay inside p[0..len), checked as one vector. */
static inline int ch__json_clean_short(const char *p, size_t len, int high)
{
    __m128i v;
    if (len >= 8) {
        v = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)p),
                               _mm_loadl_epi64((const __m128i *)(p + len - 8)));
    } else {
        int a, z;
        memcpy(&a, p, 4);
        memcpy(&z, p + len - 4, 4);
        v = _mm_unpacklo_epi32(_mm_cvtsi32_si128(a), _mm_cvtsi32_si128(z));
        v = _mm_unpacklo_epi64(v, v); /* fill all 16 lanes: zeros would count as controls */
    }
    return ch__json_mask(v, high) == 0;
}

#else

#define CH__JSON_SCAN 8

static inline unsigned ch__json_stop(const void *p, int high)
{
    uint64_t m = ch__json_swar(ch__json_load64(p), high);
    return m ? (unsigned)__builtin_ctzll(m) >> 3 : CH__JSON_SCAN;
}

static inline int ch__json_quote_first(const void *p, unsigned *k)
{
    uint64_t x = ch__json_load64(p), q = x ^ 0x2222222222222222ull;
    uint64_t stops = ch__json_swar(x, 1);
    /* Exact for the lowest stop: a borrow can only come from an earlier zero byte. */
    uint64_t quotes = (q - 0x0101010101010101ull) & ~q & 0x8080808080808080ull;
    if (!stops) {
        *k = 8;
        return 0;
    }
    *k = (unsigned)__builtin_ctzll(stops) >> 3;
    return (quotes >> (8 * *k + 7)) & 1;
}

static inline int ch__json_quote_first_tail(const char *end, unsigned r, unsigned *k)
{
    /* As in ch__json_stop_tail(): zero bytes shifted in at r.. stop the scan there. */
    if (r == 0) {
        *k = 0;
        return 0;
    }
    uint64_t x = ch__json_load64(end - 8) >> (8 * (8 - r)), q = x ^ 0x2222222222222222ull;
    uint64_t stops = ch__json_swar(x, 1);
    uint64_t quotes = (q - 0x0101010101010101ull) & ~q & 0x8080808080808080ull;
    *k = (unsigned)__builtin_ctzll(stops) >> 3;
    return *k < r && ((quotes >> (8 * *k + 7)) & 1);
}

static inline unsigned ch__json_stop_tail(const char *end, unsigned r, int high)
{
    /* Shifting the word right moves zero bytes in at r..7; they flag as controls, so the mask
     * is never empty, and no byte before the r can flag anything (borrows run upwards). */
    uint64_t m = ch__json_swar(ch__json_load64(end - 8) >> (8 * (8 - r)), high);
    unsigned i = (unsigned)__builtin_ctzll(m) >> 3;
    return i < r ? i : r;
}

/* One bit per byte from bit 7 of each byte. */
static inline unsigned ch__json_bits(uint64_t m)
{
    return (unsigned)(((m >> 7) * 0x0102040810204080ull) >> 56);
}

static inline void ch__json_classify(const void *p, unsigned *special, unsigned *high)
{
    uint64_t x = ch__json_load64(p);
    *special = ch__json_bits(ch__json_swar(x, 0));
    *high = ch__json_bits(x & 0x8080808080808080ull);
}

static inline int ch__json_clean_short(const char *p, size_t len, int high)
{
    uint64_t x, y;
    if (len >= 8) {
        x = ch__json_load64(p);
        y = ch__json_load64(p + len - 8);
    } else {
        uint32_t a, z;
        memcpy(&a, p, 4);
        memcpy(&z, p + len - 4, 4);
        x = a | (uint64_t)z << 32;
        y = 0x2020202020202020ull;
    }
    return (ch__json_swar(x, high) | ch__json_swar(y, high)) == 0;
}

#endif

#endif
