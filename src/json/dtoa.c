/* Shortest round-trip formatting of doubles.
 *
 * The digits come from the Schubfach algorithm (R. Giulietti, "The Schubfach way to render
 * doubles", 2020): scale the rounding interval of v by a power of ten so that it spans less
 * than ten units, then pick the shortest decimal inside it, nearest to v. The scaled bounds are
 * computed with one 64x128-bit multiplication each, rounded to odd, which the paper shows is
 * exact enough to decide every comparison the algorithm makes. */
#include <string.h>

#include "json/internal.h"

struct decimal {
    uint64_t digits; /* value = digits * 10^exp */
    int exp;
};

/* The integer part of g * cp / 2^128, with its lowest bit set when the fraction is non-zero
 * ("round to odd"); only the middle word of the product stands for the fraction. */
static inline uint64_t round_to_odd(struct ch__json_u128 g, uint64_t cp)
{
    unsigned __int128 x = (unsigned __int128)g.lo * cp;
    unsigned __int128 y = (unsigned __int128)g.hi * cp;
    unsigned __int128 z = y + (x >> 64);
    return (uint64_t)(z >> 64) | ((uint64_t)z != 0);
}

/* The shortest decimal in the rounding interval of the positive finite double with the given
 * biased exponent and fraction bits. */
static struct decimal shortest(int biased, uint64_t fraction)
{
    uint64_t c;
    int q;
    if (biased != 0) {
        c = fraction | (1ull << 52);
        q = biased - 1075;
        /* Integers below 2^53 are their own shortest form: neighbours are at least 1 apart. */
        if (q <= 0 && q >= -52 && (c & ((1ull << -q) - 1)) == 0)
            return (struct decimal){c >> -q, 0};
    } else {
        c = fraction;
        q = -1074;
    }

    /* With v = c * 2^q, the interval's bounds are (4c -/+ 2) * 2^(q-2), except that at a power
     * of two the lower neighbour is half as far away. Ties go to v when c is even, as strtod's
     * round-half-even would read them back to v. */
    int even = (c & 1) == 0;
    int irregular = fraction == 0 && biased > 1;
    uint64_t cbl = 4 * c - 2 + (uint64_t)irregular;
    uint64_t cb = 4 * c;
    uint64_t cbr = 4 * c + 2;

    /* k = floor(log10(2^q)), or floor(log10(3/4 * 2^q)) for the irregular interval, so that
     * the scaled interval is narrower than 10; h in [1, 4] aligns the product. */
    int k = (int)(((int64_t)q * 1262611 - (irregular ? 524031 : 0)) >> 22);
    int h = q + ch__json_floor_log2_pow10(-k) + 1;
    struct ch__json_u128 g = ch__json_pow10[-k - CH__JSON_POW10_MIN];

    uint64_t vbl = round_to_odd(g, cbl << h);
    uint64_t vb = round_to_odd(g, cb << h);
    uint64_t vbr = round_to_odd(g, cbr << h);
    uint64_t lower = vbl + !even;
    uint64_t upper = vbr - !even;

    /* vb is 4 * v * 10^-k; s is its integer part. First try one digit fewer: at most one of
     * the two multiples of 10 around s can lie inside the interval. */
    uint64_t s = vb >> 2;
    if (s >= 10) {
        uint64_t sp = s / 10;
        int up_inside = lower <= 40 * sp;
        int wp_inside = 40 * sp + 40 <= upper;
        if (up_inside != wp_inside) return (struct decimal){sp + (uint64_t)wp_inside, k + 1};
    }
    int u_inside = lower <= 4 * s;
    int w_inside = 4 * s + 4 <= upper;
    if (u_inside != w_inside) return (struct decimal){s + (uint64_t)w_inside, k};

    /* Both s and s + 1 are inside: take the nearer, ties to even. */
    uint64_t mid = 4 * s + 2;
    int up = vb > mid || (vb == mid && (s & 1) != 0);
    return (struct decimal){s + (uint64_t)up, k};
}

static const char digit_pairs[201] = "000102030405060708091011121314151617181920212223242526272829"
                                     "303132333435363738394041424344454647484950515253545556575859"
                                     "606162636465666768697071727374757677787980818283848586878889"
                                     "90919293949596979899";

static const uint64_t pow10_u64[20] = {1ull,
                                       10ull,
                                       100ull,
                                       1000ull,
                                       10000ull,
                                       100000ull,
                                       1000000ull,
                                       10000000ull,
                                       100000000ull,
                                       1000000000ull,
                                       10000000000ull,
                                       100000000000ull,
                                       1000000000000ull,
                                       10000000000000ull,
                                       100000000000000ull,
                                       1000000000000000ull,
                                       10000000000000000ull,
                                       100000000000000000ull,
                                       1000000000000000000ull,
                                       10000000000000000000ull};

/* Number of decimal digits of d > 0: log10 estimated from the bit length, then corrected. */
static inline int digit_count(uint64_t d)
{
    int bits = 64 - __builtin_clzll(d);
    int n = (bits * 1233) >> 12; /* floor(bits * log10(2)), at most one too small */
    return n + (d >= pow10_u64[n]);
}

/* Writes the n digits of d at p[0..n). */
static inline void write_digits(char *p, uint64_t d, int n)
{
    char *e = p + n;
    /* Eight digits at a time keeps the 64-bit divisions to at most two. */
    while (d >= 100000000) {
        uint32_t lo = (uint32_t)(d % 100000000);
        d /= 100000000;
        for (int i = 0; i < 4; i++) {
            e -= 2;
            memcpy(e, digit_pairs + 2 * (lo % 100), 2);
            lo /= 100;
        }
    }
    uint32_t r = (uint32_t)d;
    while (r >= 100) {
        e -= 2;
        memcpy(e, digit_pairs + 2 * (r % 100), 2);
        r /= 100;
    }
    if (r >= 10) {
        e -= 2;
        memcpy(e, digit_pairs + 2 * r, 2);
    } else {
        *--e = (char)('0' + r);
    }
}

size_t ch__json_itoa(char *dst, int64_t v)
{
    /* Digits are written in place, back to front: no temporary and no copy. */
    uint64_t u = (uint64_t)v;
    char *p = dst;
    if (v < 0) {
        *p++ = '-';
        u = 0 - u;
    }
    int n = u ? digit_count(u) : 1;
    write_digits(p, u, n);
    return (size_t)(p + n - dst);
}

size_t ch_json_dtoa(char *dst, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    char *p = dst;
    if (bits >> 63) *p++ = '-';
    bits &= ~(1ull << 63);
    if (bits == 0) {
        memcpy(p, "0.0", 3);
        return (size_t)(p + 3 - dst);
    }

    struct decimal d = shortest((int)(bits >> 52), bits & ((1ull << 52) - 1));
    /* The candidates above may end in zeros (integers, and the one-digit-fewer branch). */
    while (d.digits % 10 == 0) {
        d.digits /= 10;
        d.exp++;
    }
    int n = digit_count(d.digits);
    int e = d.exp + n - 1; /* v = d.ddd * 10^e */

    if (e >= -4 && e < 16) {
        if (e >= n - 1) {
            /* An integer: digits, zeros, ".0". */
            write_digits(p, d.digits, n);
            p += n;
            memset(p, '0', (size_t)(e + 1 - n));
            p += e + 1 - n;
            memcpy(p, ".0", 2);
            return (size_t)(p + 2 - dst);
        }
        if (e >= 0) {
            /* The point falls inside the digits. */
            write_digits(p, d.digits, n);
            memmove(p + e + 2, p + e + 1, (size_t)(n - e - 1));
            p[e + 1] = '.';
            return (size_t)(p + n + 1 - dst);
        }
        /* 0.000ddd */
        memcpy(p, "0.0000", 6);
        p += 1 - e;
        write_digits(p, d.digits, n);
        return (size_t)(p + n - dst);
    }

    /* d[.ddd]e[-]x: write the digits one place right, then pull the first one left. */
    write_digits(p + 1, d.digits, n);
    p[0] = p[1];
    if (n > 1) {
        p[1] = '.';
        p += n + 1;
    } else {
        p += 1;
    }
    *p++ = 'e';
    if (e < 0) {
        *p++ = '-';
        e = -e;
    }
    if (e >= 100) {
        *p++ = (char)('0' + e / 100);
        e %= 100;
        memcpy(p, digit_pairs + 2 * e, 2);
        p += 2;
    } else if (e >= 10) {
        memcpy(p, digit_pairs + 2 * e, 2);
        p += 2;
    } else {
        *p++ = (char)('0' + e);
    }
    return (size_t)(p - dst);
}
