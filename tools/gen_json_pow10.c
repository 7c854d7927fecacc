/* Generates src/json/pow10.c: 128-bit approximations of the powers of ten used by the JSON
 * module's double formatting (Schubfach) and parsing (an Eisel-Lemire style fast path).
 *
 * For every e in [POW10_MIN, POW10_MAX] the entry is g = floor(10^e * 2^-beta) + 1, where beta
 * is chosen so that 2^127 <= g - 1 < 2^128, i.e. beta = floor(log2(10^e)) - 127. The "+1"
 * makes g an over-approximation by at most one unit, which both algorithms account for.
 *
 * Exact arithmetic uses a small fixed-size bignum. The program also checks the fixed-point
 * logarithm formulas the library relies on, and fails loudly if any of them is wrong.
 *
 * Usage: gen_json_pow10 > src/json/pow10.c   (see `make json-tables` in mk/json.mk) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POW10_MIN (-342)
#define POW10_MAX 324
#define LIMBS     64 /* 2048 bits: 10^342 needs 1137 bits, 2^1264 needs 1265 */

struct big {
    uint32_t d[LIMBS]; /* little-endian limbs */
};

static void big_set(struct big *a, uint32_t v)
{
    memset(a, 0, sizeof(*a));
    a->d[0] = v;
}

static void big_mul_small(struct big *a, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < LIMBS; i++) {
        uint64_t t = (uint64_t)a->d[i] * m + carry;
        a->d[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry) {
        fprintf(stderr, "bignum overflow\n");
        exit(1);
    }
}

static int big_bitlen(const struct big *a)
{
    for (int i = LIMBS - 1; i >= 0; i--)
        if (a->d[i]) return i * 32 + 32 - __builtin_clz(a->d[i]);
    return 0;
}

static int big_bit(const struct big *a, int i)
{
    return (int)(a->d[i / 32] >> (i % 32)) & 1;
}

static int big_cmp(const struct big *a, const struct big *b)
{
    for (int i = LIMBS - 1; i >= 0; i--)
        if (a->d[i] != b->d[i]) return a->d[i] < b->d[i] ? -1 : 1;
    return 0;
}

static void big_sub(struct big *a, const struct big *b)
{
    int64_t borrow = 0;
    for (int i = 0; i < LIMBS; i++) {
        int64_t t = (int64_t)a->d[i] - b->d[i] - borrow;
        borrow = t < 0;
        a->d[i] = (uint32_t)(t + (borrow ? ((int64_t)1 << 32) : 0));
    }
}

static void big_shl1(struct big *a, int bit)
{
    uint32_t carry = (uint32_t)bit;
    for (int i = 0; i < LIMBS; i++) {
        uint32_t next = a->d[i] >> 31;
        a->d[i] = (a->d[i] << 1) | carry;
        carry = next;
    }
}

static void big_shl(struct big *a, int n)
{
    while (n-- > 0) big_shl1(a, 0);
}

static void big_pow(struct big *a, uint32_t base, int n)
{
    big_set(a, 1);
    for (int i = 0; i < n; i++) big_mul_small(a, base);
}

/* Bits [lo, lo+128) of a as a 128-bit number. */
static unsigned __int128 big_bits128(const struct big *a, int lo)
{
    unsigned __int128 r = 0;
    for (int i = lo + 127; i >= lo; i--) r = (r << 1) | (unsigned)(i >= 0 ? big_bit(a, i) : 0);
    return r;
}

/* floor(2^n / p): restoring division, quotient limited to 128 bits. */
static unsigned __int128 div_pow2(int n, const struct big *p)
{
    struct big r;
    big_set(&r, 0);
    unsigned __int128 q = 0;
    for (int i = n; i >= 0; i--) {
        big_shl1(&r, i == n);
        q <<= 1;
        if (big_cmp(&r, p) >= 0) {
            big_sub(&r, p);
            q |= 1;
        }
    }
    return q;
}

/* floor(log2(10^e)), exactly. */
static int exact_floor_log2_pow10(int e)
{
    struct big p;
    big_pow(&p, 10, e < 0 ? -e : e);
    int b = big_bitlen(&p);
    /* 10^-|e| lies strictly between 2^-b and 2^(1-b) because it is never a power of two. */
    return e >= 0 ? b - 1 : -b;
}

/* Compares 10^k with num * 2^n (num > 0). */
static int cmp_pow10(int k, uint32_t num, int n)
{
    struct big l, r;
    big_pow(&l, 10, k > 0 ? k : 0);
    big_set(&r, num);
    if (k < 0) big_pow(&r, 10, -k), big_mul_small(&r, num);
    if (n >= 0)
        big_shl(&r, n);
    else
        big_shl(&l, -n);
    return big_cmp(&l, &r);
}

/* floor(log10(num * 2^n)), exactly. */
static int exact_floor_log10(uint32_t num, int n)
{
    int k = (int)((double)n * 0.30102999566398120) - 2;
    while (cmp_pow10(k + 1, num, n) <= 0) k++;
    while (cmp_pow10(k, num, n) > 0) k--;
    return k;
}

static int floor_shift(int64_t x, int s)
{
    /* Floor division by 2^s without relying on the sign behaviour of >>. */
    int64_t d = (int64_t)1 << s;
    return (int)(x >= 0 ? x / d : -((-x + d - 1) / d));
}

static void check_formulas(void)
{
    for (int e = POW10_MIN; e <= POW10_MAX; e++) {
        if (floor_shift((int64_t)e * 1741647, 19) != exact_floor_log2_pow10(e)) {
            fprintf(stderr, "floor(log2(10^%d)) formula fails\n", e);
            exit(1);
        }
    }
    for (int q = -1074; q <= 971; q++) {
        if (floor_shift((int64_t)q * 1262611, 22) != exact_floor_log10(1, q)) {
            fprintf(stderr, "floor(log10(2^%d)) formula fails\n", q);
            exit(1);
        }
        if (floor_shift((int64_t)q * 1262611 - 524031, 22) != exact_floor_log10(3, q - 2)) {
            fprintf(stderr, "floor(log10(3/4 2^%d)) formula fails\n", q);
            exit(1);
        }
    }
}

int main(void)
{
    check_formulas();
    printf("/* 128-bit approximations of powers of ten, generated by tools/gen_json_pow10.c.\n"
           " * Do not edit; regenerate with `make json-tables`.\n"
           " *\n"
           " * Entry e - CH__JSON_POW10_MIN holds g = floor(10^e * 2^-beta) + 1 with\n"
           " * beta = floor(log2(10^e)) - 127, so that 2^127 <= g - 1 < 2^128. */\n"
           "#include \"json/internal.h\"\n\n"
           "const struct ch__json_u128 ch__json_pow10[CH__JSON_POW10_MAX - CH__JSON_POW10_MIN + 1] "
           "= {\n");
    for (int e = POW10_MIN; e <= POW10_MAX; e++) {
        struct big p;
        big_pow(&p, 10, e < 0 ? -e : e);
        int b = big_bitlen(&p);
        unsigned __int128 g;
        if (e >= 0) {
            /* 10^e * 2^(128 - b): a left shift when b <= 128, a truncation otherwise. */
            if (b <= 128) {
                g = big_bits128(&p, 0) << (128 - b);
            } else {
                g = big_bits128(&p, b - 128);
            }
        } else {
            g = div_pow2(127 + b, &p);
        }
        if (!(g >> 127)) {
            fprintf(stderr, "entry %d not normalised\n", e);
            return 1;
        }
        g += 1;
        if (!(g >> 127)) {
            fprintf(stderr, "entry %d overflows\n", e);
            return 1;
        }
        printf("    {0x%016" PRIx64 ", 0x%016" PRIx64 "}, /* 1e%d */\n", (uint64_t)(g >> 64),
               (uint64_t)g, e);
    }
    printf("};\n");
    return 0;
}
