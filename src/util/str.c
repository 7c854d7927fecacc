/* String slice helpers and integer formatting. */
#include "chopin/str.h"
#include "chopin/error.h"

static inline unsigned char lower(unsigned char c)
{
    return (unsigned char)(c - 'A') < 26 ? (unsigned char)(c | 0x20) : c;
}

int ch_str_case_eq(struct ch_str a, struct ch_str b)
{
    if (a.len != b.len) return 0;
    for (size_t i = 0; i < a.len; i++)
        if (lower((unsigned char)a.ptr[i]) != lower((unsigned char)b.ptr[i])) return 0;
    return 1;
}

int ch_str_to_u64(struct ch_str s, uint64_t *out)
{
    if (s.len == 0) return CH_EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char)s.ptr[i] - '0';
        if (d > 9) return CH_EINVAL;
        if (v > (UINT64_MAX - d) / 10) return CH_ERANGE;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int ch_str_to_i64(struct ch_str s, int64_t *out)
{
    int neg = s.len > 0 && s.ptr[0] == '-';
    uint64_t v;
    int rc = ch_str_to_u64(ch_str_make(s.ptr + neg, s.len - (size_t)neg), &v);
    if (rc != 0) return rc;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1) return CH_ERANGE;
        *out = (int64_t)(0 - v);
    } else {
        if (v > (uint64_t)INT64_MAX) return CH_ERANGE;
        *out = (int64_t)v;
    }
    return 0;
}

struct ch_str ch_str_trim_ows(struct ch_str s)
{
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) s.ptr++, s.len--;
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t')) s.len--;
    return s;
}

/* Two digits at a time: halves the divisions of the naive loop. */
static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324252627282930"
                                     "31323334353637383940414243444546474849505152535455565758596061"
                                     "62636465666768697071727374757677787980818283848586878889909192"
                                     "93949596979899";

size_t ch_u64_to_dec(char *dst, uint64_t v)
{
    char tmp[20];
    char *p = tmp + sizeof(tmp);
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, digit_pairs + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, digit_pairs + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    size_t n = (size_t)(tmp + sizeof(tmp) - p);
    memcpy(dst, p, n);
    return n;
}

size_t ch_i64_to_dec(char *dst, int64_t v)
{
    if (v < 0) {
        dst[0] = '-';
        return 1 + ch_u64_to_dec(dst + 1, 0 - (uint64_t)v);
    }
    return ch_u64_to_dec(dst, (uint64_t)v);
}
