/* JSON numbers: the RFC 8259 grammar, and decimal to double with correct rounding without
 * strtod for all but rare inputs.
 *
 * Two fast paths decide almost every number a JSON document holds:
 *   - Clinger's: when w <= 2^53 and |e10| <= 22, both w and 10^|e10| are exact doubles, so
 *     one IEEE multiplication or division rounds the exact product once, correctly.
 *   - An Eisel-Lemire style product: w (normalised to 64 bits) times a 128-bit upper
 *     approximation of 10^e10 gives the top of the exact product to within one unit of its
 *     128-bit head. Unless that head lies within a unit or two of a rounding midpoint, the
 *     nearest double can be read off it.
 * The caller falls back to strtod when both decline (midpoints, subnormal results). */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "json/internal.h"

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "Clinger's fast path needs double arithmetic evaluated in double precision"
#endif

static const double exact_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int product(uint64_t w, int e10, uint64_t *bits)
{
    int lz = __builtin_clzll(w);
    w <<= lz;
    struct ch__json_u128 g = ch__json_pow10[e10 - CH__JSON_POW10_MIN];

    /* P = w * g is a 192-bit number; head = P >> 64, computed exactly. With E the exact
     * normalised 10^e10 (g - 1 <= E < g), the exact product w * E lies in [P - w, P), so the
     * exact head X satisfies head - 1 <= X < head + 1. */
    unsigned __int128 a = (unsigned __int128)w * g.hi;
    unsigned __int128 b = (unsigned __int128)w * g.lo;
    unsigned __int128 head = a + (b >> 64);

    /* head >= 2^126 because w >= 2^63 and g > 2^127. Keep 53 bits; the rest decides rounding. */
    int top = (int)(head >> 127);
    int shift = 74 + top;
    unsigned __int128 rest = head & (((unsigned __int128)1 << shift) - 1);
    unsigned __int128 half = (unsigned __int128)1 << (shift - 1);
    if (rest + 2 >= half && rest <= half + 2) return 0; /* too close to a midpoint to tell */
    uint64_t m = (uint64_t)(head >> shift);
    if (rest > half) {
        m++;
        if (m >> 53) {
            m >>= 1;
            shift++;
        }
    }

    /* w * 10^e10 = (w << lz) * E * 2^(log2floor(10^e10) - 127 - lz) ~ m * 2^(shift + 64 + ...) */
    int e2 = shift + 64 + ch__json_floor_log2_pow10(e10) - 127 - lz;
    int biased = e2 + 52 + 1023;
    if (biased >= 2047) return -1;
    if (biased <= 0) return 0; /* subnormal: rounds at another bit; leave it to strtod */
    *bits = ((uint64_t)biased << 52) | (m & ((1ull << 52) - 1));
    return 1;
}

/* Converts the decimal w * 10^e10 (w > 0) to the nearest double, ties to even. Returns 1 and
 * sets *out, or 0 when the fast paths cannot decide (the caller then uses strtod); -1 when the
 * result overflows. */
static int decimal_to_double(uint64_t w, int e10, double *out)
{
    if (w <= (1ull << 53) && e10 >= -22 && e10 <= 22) {
        double d = (double)w;
        *out = e10 < 0 ? d / exact_pow10[-e10] : d * exact_pow10[e10];
        return 1;
    }
    /* w < 2^64 < 1.9e19, so below 10^-342 the value is under half the smallest subnormal;
     * above 10^308 it exceeds DBL_MAX (w >= 1). */
    if (e10 < CH__JSON_POW10_MIN) {
        *out = 0.0;
        return 1;
    }
    if (e10 > 308) return -1;
    uint64_t bits;
    int rc = product(w, e10, &bits);
    if (rc == 1) memcpy(out, &bits, sizeof(*out));
    return rc;
}

static inline int is_digit(const char *p, const char *end)
{
    return p < end && (unsigned)(*p - '0') < 10;
}

/* Whether the 8 bytes in x are all ASCII digits: high nibbles 3, and adding 6 carries out of
 * no low nibble (that is, each is at most 9). */
static inline int eight_digits(uint64_t x)
{
    const uint64_t hi = 0xf0f0f0f0f0f0f0f0ull;
    return (x & hi) == 0x3030303030303030ull &&
           ((x + 0x0606060606060606ull) & hi) == 0x3030303030303030ull;
}

/* The value of 8 ASCII digits (first digit in the lowest byte): combine neighbours into
 * two-digit lanes, then two multiplications give each pair its weight (10^6, 10^4, 10^2, 1)
 * so that the sum lands in bits 32..63. */
static inline uint32_t eight_digits_value(uint64_t x)
{
    x -= 0x3030303030303030ull;
    x = x * 10 + (x >> 8); /* bytes 0, 2, 4, 6: pairs P0..P3 */
    uint64_t p02 = x & 0x000000ff000000ffull, p13 = (x >> 16) & 0x000000ff000000ffull;
    return (uint32_t)((p02 * (100 + (1000000ull << 32)) + p13 * (1 + (10000ull << 32))) >> 32);
}

/* Appends up to `room` digits at p to *w, eight at a time while whole words are digits (long
 * integers, timestamps, 17-digit doubles); returns the first byte not taken. */
static inline const char *take_digits(const char *p, const char *end, uint64_t *w, int room)
{
    uint64_t v = *w;
    const char *lim = end - p > room ? p + room : end;
    while (lim - p >= 8) {
        uint64_t x = ch__json_load64(p);
        if (!eight_digits(x)) break;
        v = v * 100000000 + eight_digits_value(x);
        p += 8;
    }
    for (; p < lim && (unsigned)(*p - '0') < 10; p++) v = v * 10 + (unsigned)(*p - '0');
    *w = v;
    return p;
}

/* strtod on a copy of the token, which the source does not NUL-terminate. */
static int slow_double(const char *s, size_t len, struct ch_arena *arena, double *out)
{
    char small[128];
    char *copy = len < sizeof(small) ? small : ch_arena_alloc(arena, len + 1);
    if (!copy) return CH_ENOMEM;
    memcpy(copy, s, len);
    copy[len] = '\0';
    *out = strtod(copy, NULL);
    return 0;
}

/* Parses a number per RFC 8259's grammar into *out; returns the text after it, or NULL. */
const char *ch__json_parse_number(const char *p, const char *end, struct ch_json_value *out,
                                  struct ch_arena *arena, struct ch__json_failure *f)
{
    const char *start = p;
    int neg = *p == '-';
    p += neg;
    if (!is_digit(p, end)) {
        f->at = p, f->reason = "invalid number";
        return NULL;
    }
    /* The first 19 significant digits go into w; later ones only move the exponent, and
     * whether any of them is non-zero decides if w is exact. */
    uint64_t w = 0;
    int digits = 0, dropped = 0, is_int = 1;
    int64_t e10 = 0;
    if (*p == '0') {
        p++;
        if (is_digit(p, end)) {
            f->at = start, f->reason = "leading zero in number";
            return NULL;
        }
    } else {
        const char *s = p;
        p = take_digits(p, end, &w, 19);
        digits = (int)(p - s);
        for (; is_digit(p, end); p++) {
            e10++;
            dropped |= *p != '0';
        }
    }
    if (p < end && *p == '.') {
        is_int = 0;
        p++;
        if (!is_digit(p, end)) {
            f->at = p, f->reason = "digit expected after the decimal point";
            return NULL;
        }
        /* Zeros before the first significant digit only scale. */
        if (w == 0)
            for (; p < end && *p == '0'; p++) e10--;
        const char *s = p;
        p = take_digits(p, end, &w, 19 - digits);
        digits += (int)(p - s);
        e10 -= p - s;
        for (; is_digit(p, end); p++) dropped |= *p != '0';
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_int = 0;
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (!is_digit(p, end)) {
            f->at = p, f->reason = "digit expected in exponent";
            return NULL;
        }
        int64_t x = 0;
        for (; is_digit(p, end); p++)
            if (x < 100000000) x = x * 10 + (*p - '0');
        e10 += eneg ? -x : x;
    }

    if (is_int && e10 == 0 && (neg ? w <= (uint64_t)INT64_MAX + 1 : w <= (uint64_t)INT64_MAX) &&
        !(neg && w == 0)) {
        out->tag = CH_JSON_INT;
        out->u.i = neg ? (int64_t)(0 - w) : (int64_t)w;
        return p;
    }

    double d;
    int rc;
    if (w == 0) {
        d = 0.0;
        rc = 1;
    } else {
        int e = e10 < -100000 ? -100000 : e10 > 100000 ? 100000 : (int)e10;
        rc = decimal_to_double(w, e, &d);
        if (rc == 1 && dropped) {
            /* The exact value lies between w and w + 1 units; agree or ask strtod. */
            double d2;
            if (decimal_to_double(w + 1, e, &d2) != 1 || d2 != d) rc = 0;
        }
    }
    if (rc == 0 &&
        slow_double(neg ? start + 1 : start, (size_t)(p - start) - (size_t)neg, arena, &d) != 0) {
        f->at = NULL, f->reason = NULL;
        return NULL;
    }
    if (rc < 0 || d > 1.7976931348623157e308) {
        f->at = start, f->reason = "number out of range";
        return NULL;
    }
    out->tag = CH_JSON_DOUBLE;
    out->u.d = neg ? -d : d;
    return p;
}
