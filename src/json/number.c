/* Decimal to double with correct rounding, without strtod for all but rare inputs.
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

int ch__json_decimal_to_double(uint64_t w, int e10, double *out)
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
