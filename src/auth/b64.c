/* Strict base64 without padding, for PHC strings (standard alphabet) and JWS (URL alphabet).
 *
 * Strict because a token or a stored hash must have exactly one spelling: a decoder that
 * skipped padding, whitespace or foreign bytes, or ignored non-zero trailing bits, would accept
 * many variants of one signed token, which breaks any cache or deny-list keyed by the text. */
#include <pthread.h>
#include <string.h>

#include "auth/internal.h"

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t ch__b64_encode(int url, const uint8_t *src, size_t n, char *dst)
{
    const char *a = url ? url_alpha : std_alpha;
    char *p = dst;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
        *p++ = a[v >> 18];
        *p++ = a[(v >> 12) & 63];
        *p++ = a[(v >> 6) & 63];
        *p++ = a[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)src[i] << 16;
        *p++ = a[v >> 18];
        *p++ = a[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
        *p++ = a[v >> 18];
        *p++ = a[(v >> 12) & 63];
        *p++ = a[(v >> 6) & 63];
    }
    return (size_t)(p - dst);
}

/* Decoding tables: the 6-bit value of each byte, or 0xff outside the alphabet. Built from the
 * alphabets above, once. */
static uint8_t std_val[256], url_val[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    memset(std_val, 0xff, sizeof(std_val));
    memset(url_val, 0xff, sizeof(url_val));
    for (int i = 0; i < 64; i++) {
        std_val[(unsigned char)std_alpha[i]] = (uint8_t)i;
        url_val[(unsigned char)url_alpha[i]] = (uint8_t)i;
    }
}

long ch__b64_decode(int url, const char *src, size_t n, uint8_t *dst)
{
    if (n % 4 == 1) return -1;
    pthread_once(&tables_once, build_tables);
    const uint8_t *t = url ? url_val : std_val;
    uint8_t *p = dst;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t v = t[(unsigned char)src[i]];
        if (v == 0xff) return -1;
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *p++ = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) return -1; /* non-zero unused bits: a second spelling of the same bytes */
    return (long)(p - dst);
}
