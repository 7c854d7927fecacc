/* ch_json_dtoa: exact layout for known values, and for large samples of doubles (random bit
 * patterns, subnormals, powers of two and ten, integers) that strtod reads the text back to the
 * same double and that no decimal with one digit fewer does. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "../test.h"
#include "chopin/json.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    /* splitmix64: deterministic, so a failure reproduces. */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double from_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

static uint64_t to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof(b));
    return b;
}

static const char *fmt(double v)
{
    static char buf[CH_JSON_DTOA_SIZE + 1];
    size_t n = ch_json_dtoa(buf, v);
    buf[n] = '\0';
    return buf;
}

TEST(dtoa_layout)
{
    ASSERT_CSTR_EQ(fmt(0.0), "0.0");
    ASSERT_CSTR_EQ(fmt(-0.0), "-0.0");
    ASSERT_CSTR_EQ(fmt(1.5), "1.5");
    ASSERT_CSTR_EQ(fmt(3.0), "3.0");
    ASSERT_CSTR_EQ(fmt(-3.0), "-3.0");
    ASSERT_CSTR_EQ(fmt(0.1), "0.1");
    ASSERT_CSTR_EQ(fmt(0.3), "0.3");
    ASSERT_CSTR_EQ(fmt(0.1 + 0.2), "0.30000000000000004");
    ASSERT_CSTR_EQ(fmt(100.0), "100.0");
    ASSERT_CSTR_EQ(fmt(123.456), "123.456");
    ASSERT_CSTR_EQ(fmt(0.0001), "0.0001");
    ASSERT_CSTR_EQ(fmt(0.00012), "0.00012");
    ASSERT_CSTR_EQ(fmt(0.00001), "1e-5");
    ASSERT_CSTR_EQ(fmt(1e-7), "1e-7");
    ASSERT_CSTR_EQ(fmt(1.25e-7), "1.25e-7");
    ASSERT_CSTR_EQ(fmt(1e15), "1000000000000000.0");
    ASSERT_CSTR_EQ(fmt(1e16), "1e16");
    ASSERT_CSTR_EQ(fmt(1.5e16), "1.5e16");
    ASSERT_CSTR_EQ(fmt(9007199254740992.0), "9007199254740992.0");
    ASSERT_CSTR_EQ(fmt(9007199254740994.0), "9007199254740994.0");
    ASSERT_CSTR_EQ(fmt(1234567890123456.7), "1234567890123456.8");
    ASSERT_CSTR_EQ(fmt(3.141592653589793), "3.141592653589793");
    ASSERT_CSTR_EQ(fmt(2.5e300), "2.5e300");
    ASSERT_CSTR_EQ(fmt(1e300), "1e300");
    ASSERT_CSTR_EQ(fmt(1e23), "1e23");
    ASSERT_CSTR_EQ(fmt(5e-324), "5e-324");
    ASSERT_CSTR_EQ(fmt(-5e-324), "-5e-324");
    ASSERT_CSTR_EQ(fmt(DBL_MAX), "1.7976931348623157e308");
    ASSERT_CSTR_EQ(fmt(DBL_MIN), "2.2250738585072014e-308");
    ASSERT_CSTR_EQ(fmt(2.2250738585072009e-308), "2.225073858507201e-308"); /* largest subnormal */
    ASSERT_CSTR_EQ(fmt(9.5367431640625e-07), "9.5367431640625e-7");
    ASSERT_CSTR_EQ(fmt(1.7976931348623157e308 / 2), "8.988465674311579e307");
    ASSERT_CSTR_EQ(fmt(123e-20), "1.23e-18");
    ASSERT_CSTR_EQ(fmt(-1.0), "-1.0");
    ASSERT_CSTR_EQ(fmt(0.5), "0.5");
}

/* Exact decimal digits of |v| (no point) and its decimal exponent. glibc prints exactly; a
 * short precision is enough unless rounding at its end could have carried into `keep`. */
static int exact_digits(double v, char *digits, size_t cap, int keep)
{
    static char buf[1200];
    for (int prec = 30;; prec = 780) {
        snprintf(buf, sizeof(buf), "%.*e", prec, fabs(v));
        size_t j = 0;
        for (const char *s = buf; *s && *s != 'e'; s++)
            if (*s != '.' && j + 1 < cap) digits[j++] = *s;
        digits[j] = '\0';
        int tail_same = 1;
        for (size_t i = (size_t)keep + 1; i < j; i++)
            if (digits[i] != digits[keep]) tail_same = 0;
        if (prec == 780 || !(tail_same && (digits[keep] == '0' || digits[keep] == '9')))
            return atoi(strchr(buf, 'e') + 1);
    }
}

/* Does the decimal digits[0..n) * 10^(e - n + 1), plus `bump` units in its last place, read
 * back as v? */
static int reads_back(double v, const char *digits, int n, int e, int bump)
{
    char d[32];
    memcpy(d, digits, (size_t)n);
    d[n] = '\0';
    if (bump) {
        int i = n - 1;
        while (i >= 0 && d[i] == '9') d[i--] = '0';
        if (i < 0) {
            memmove(d + 1, d, (size_t)n + 1);
            d[0] = '1';
            e++;
        } else {
            d[i]++;
        }
    }
    char text[64];
    snprintf(text, sizeof(text), "%s%c.%se%d", v < 0 ? "-" : "", d[0], d + 1, e);
    return strtod(text, NULL) == v;
}

/* Checks one double; returns 0 or fails the test. */
static void check_one(double v)
{
    char out[CH_JSON_DTOA_SIZE + 1];
    size_t n = ch_json_dtoa(out, v);
    ASSERT(n < CH_JSON_DTOA_SIZE);
    out[n] = '\0';
    char *end;
    double back = strtod(out, &end);
    if (to_bits(back) != to_bits(v) || *end != '\0')
        ch_test_fail(__FILE__, __LINE__, "%.17g (bits %016llx) printed as %s reads back as %.17g",
                     v, (unsigned long long)to_bits(v), out, back);

    /* Count the significant digits printed. */
    int sig = 0, seen = 0;
    for (const char *s = out; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9') continue;
        if (*s != '0') seen = 1;
        if (seen) sig++;
    }
    /* Plain notation pads integers with zeros and ".0"; those are not significant. */
    if (!strchr(out, 'e')) {
        const char *dot = strchr(out, '.');
        const char *last = out + n - 1;
        while (last > dot && *last == '0') last--, sig--;
        if (last == dot) {
            for (const char *s = dot - 1; s >= out && *s == '0'; s--) sig--;
        }
    }
    if (sig <= 1) return;
    char digits[1000];
    int e = exact_digits(v, digits, sizeof(digits), sig - 1);
    if (reads_back(v, digits, sig - 1, e, 0) || reads_back(v, digits, sig - 1, e, 1))
        ch_test_fail(__FILE__, __LINE__, "%s (bits %016llx) is not the shortest: %d digits do", out,
                     (unsigned long long)to_bits(v), sig - 1);
}

TEST(dtoa_edge_cases)
{
    check_one(DBL_MAX);
    check_one(DBL_MIN);
    check_one(5e-324);
    check_one(DBL_EPSILON);
    check_one(nextafter(DBL_MIN, 0));
    check_one(nextafter(DBL_MAX, 0));
    for (int e = -323; e <= 308; e++) {
        char s[16];
        snprintf(s, sizeof(s), "1e%d", e);
        double p = strtod(s, NULL);
        check_one(p);
        check_one(nextafter(p, 0));
        check_one(nextafter(p, INFINITY));
    }
    for (int e = -1074; e <= 1023; e++) {
        double p = ldexp(1.0, e);
        check_one(p);
        check_one(nextafter(p, 0));
        check_one(nextafter(p, INFINITY));
        if (e < 1020) check_one(-3 * p / 4);
    }
    for (uint64_t i = 1; i <= 100000; i++) check_one((double)i);
    for (uint64_t i = 0; i < 2000; i++) {
        check_one((double)((1ull << 53) - i));
        check_one((double)(rng() >> 11));
        check_one((double)(rng() >> (11 + rng() % 50)));
        check_one(from_bits(rng() % (1ull << 52))); /* subnormals */
        check_one(from_bits(i + 1));
        check_one(from_bits((1ull << 52) - 1 - i));
    }
}

TEST(dtoa_random_bits)
{
    /* 200k random finite doubles, every exponent equally likely. */
    for (int i = 0; i < 200000; i++) {
        uint64_t b = rng();
        if (((b >> 52) & 0x7ff) == 0x7ff) continue;
        check_one(from_bits(b));
    }
    /* And 50k values of everyday magnitudes with few digits. */
    for (int i = 0; i < 50000; i++) {
        double v = (double)(rng() % 1000000) / (double)(1 + rng() % 10000);
        check_one(v);
        check_one((double)(rng() % 100000) * 1e-3);
    }
}
