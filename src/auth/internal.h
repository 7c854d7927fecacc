/* Internals shared by the files of the auth module. */
#ifndef CH_AUTH_INTERNAL_H
#define CH_AUTH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "chopin/auth.h"

struct ch__auth_pool;

struct ch__auth_key {
    uint8_t secret[CH_AUTH_MAX_SECRET];
    size_t len;
    char kid[24]; /* base64url of the first 12 bytes of SHA-256(secret), NUL-terminated */
    size_t kid_len;
    /* An HMAC context keyed once, duplicated per token: OpenSSL 3's one-shot HMAC() fetches the
     * algorithm and sets the key on every call, which cost ~20 us per verification. */
    struct evp_mac_ctx_st *mac;
};

struct ch_auth {
    struct ch_auth_config cfg;
    struct ch__auth_key keys[2]; /* current, previous */
    int nkeys;
    struct ch_phc dummy; /* a random salt, checked for unknown users: see pool.c */
    struct ch__auth_pool *pool;
};

/* Base64 without padding, standard ("+/", for PHC strings) or URL-safe ("-_", for JWS). */
enum { CH__B64_STD = 0, CH__B64_URL = 1 };

/* The encoded length of n bytes, without padding. */
static inline size_t ch__b64_len(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

/* Encodes src[n] into dst (ch__b64_len(n) bytes, no NUL); returns that length. */
size_t ch__b64_encode(int url, const uint8_t *src, size_t n, char *dst);

/* Strictly decodes src[n] into dst (room for n * 3 / 4 bytes): only the alphabet's 64
 * characters, no padding, a length that is not 1 mod 4, and zero unused trailing bits (so each
 * byte string has exactly one spelling). Returns the decoded length, or -1. */
long ch__b64_decode(int url, const char *src, size_t n, uint8_t *dst);

/* The hashing pool; its threads start on the first job. NULL when out of memory. */
struct ch__auth_pool *ch__auth_pool_new(const struct ch_auth *auth);

/* Stops the threads (a running hash finishes first) and drops undelivered jobs. */
void ch__auth_pool_free(struct ch__auth_pool *pool);

/* Keys `k` for the configured algorithm (0 or CH_ENOMEM), and releases it. */
int ch__auth_key_init(struct ch_auth *a, struct ch__auth_key *k);
void ch__auth_key_cleanup(struct ch__auth_key *k);

/* Reads a duration ("90", "90s", "15m", "12h", "30d") into seconds; 0 or CH_EINVAL. */
int ch__auth_parse_duration(const char *s, uint32_t *out);

#endif
