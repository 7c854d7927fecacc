/* libFuzzer driver for auth.h's token verifier.
 *
 * The first input byte picks a mode:
 *   even: the rest is a token, verified as is (segmenting, base64url, header, signature);
 *   odd:  the rest is "<header JSON>\n<payload JSON>", which the driver encodes and signs with
 *         the verifier's key, so the header and claim checks behind the signature are reached
 *         too; then it verifies the token, and again with its signature altered.
 * At a fixed time (2023-11-14), so seed tokens stay valid.
 *
 * Invariants checked on every input:
 *   - the result is 0, a CH_EJWT_* code, or CH_ENOMEM;
 *   - an accepted token has a header whose "alg" (its first) is exactly "HS256", a payload
 *     object with exp, and is spelled canonically (its segments re-encode to the same text);
 *   - a token whose signature was altered is never accepted. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/auth.h"
#include "chopin/error.h"

static const char KEY[] = "fuzz-secret-0123456789-abcdefghijklmnop";
enum { NOW = 1700000000 };

static const char ALPHA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* A plain base64url encoder written apart from the library's. */
static size_t enc(const uint8_t *s, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        for (int k = 3; k >= 0; k--) out[o++] = ALPHA[(v >> (6 * k)) & 63];
    }
    if (n - i == 1) {
        out[o++] = ALPHA[s[i] >> 2];
        out[o++] = ALPHA[(s[i] & 3) << 4];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 8 | s[i + 1];
        out[o++] = ALPHA[v >> 10];
        out[o++] = ALPHA[(v >> 4) & 63];
        out[o++] = ALPHA[(v & 15) << 2];
    }
    return o;
}

static int val(char c)
{
    const char *p = c ? strchr(ALPHA, c) : NULL;
    return p ? (int)(p - ALPHA) : -1;
}

static size_t dec(const char *s, size_t n, uint8_t *out)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = val(s[i]);
        if (v < 0) abort(); /* only reached for accepted tokens */
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return o;
}

static struct ch_auth *get_auth(void)
{
    static struct ch_auth *a;
    if (a) return a;
    struct ch_auth_config c;
    ch_auth_config_defaults(&c);
    c.jwt_secret_len = strlen(KEY);
    memcpy(c.jwt_secret, KEY, c.jwt_secret_len);
    char err[128];
    if (!(a = ch_auth_new(&c, err, sizeof(err)))) abort();
    return a;
}

/* Checks an accepted token's header, payload and spelling. */
static void check_accepted(const char *tok, size_t n, const struct ch_auth_claims *c)
{
    const char *d1 = memchr(tok, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - tok)) : NULL;
    if (!d1 || !d2) abort();
    uint8_t *buf = malloc(n);
    char *re = malloc(n + 4);
    char store[4096];
    struct ch_arena arena;
    ch_arena_init(&arena, store, sizeof(store));
    if (!buf || !re) abort();
    size_t hl = dec(tok, (size_t)(d1 - tok), buf);
    if (enc(buf, hl, re) != (size_t)(d1 - tok) || memcmp(re, tok, (size_t)(d1 - tok))) abort();
    const struct ch_json_value *h;
    if (ch_json_parse((const char *)buf, hl, &arena, &h, NULL) != 0) abort();
    if (!ch_str_eq_cstr(ch_json_value_str(ch_json_value_get(h, "alg")), "HS256")) abort();
    if (ch_json_value_type(ch_json_value_get(h, "alg")) != CH_JSON_STRING) abort();
    size_t pn = (size_t)(d2 - d1 - 1);
    size_t pl = dec(d1 + 1, pn, buf);
    if (enc(buf, pl, re) != pn || memcmp(re, d1 + 1, pn)) abort();
    size_t sn = n - (size_t)(d2 + 1 - tok);
    size_t sl = dec(d2 + 1, sn, buf);
    if (sl != 32 || enc(buf, sl, re) != sn || memcmp(re, d2 + 1, sn)) abort();
    if (!c->payload || !ch_json_value_get(c->payload, "exp")) abort();
    if (ch_json_value_type(c->payload) != CH_JSON_OBJECT) abort();
    ch_arena_cleanup(&arena);
    free(buf);
    free(re);
}

static int verify(struct ch_auth *a, const char *tok, size_t n)
{
    char store[8192];
    struct ch_arena arena;
    ch_arena_init(&arena, store, sizeof(store));
    struct ch_auth_claims c;
    int rc = ch_auth_token_verify(a, ch_str_make(tok, n), NOW, &arena, &c);
    if (rc != 0 && rc != CH_ENOMEM && (rc > CH_EJWT_MALFORMED || rc < CH_EJWT_CLAIMS)) abort();
    if (rc == 0) check_accepted(tok, n, &c);
    ch_arena_cleanup(&arena);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    struct ch_auth *a = get_auth();
    int mode = data[0] & 1;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    if (mode == 0) {
        char *copy = malloc(n ? n : 1); /* exactly n bytes, so ASan sees any over-read */
        if (!copy) abort();
        memcpy(copy, s, n);
        verify(a, copy, n);
        free(copy);
        return 0;
    }
    const char *nl = memchr(s, '\n', n);
    size_t hn = nl ? (size_t)(nl - s) : n;
    const char *p = nl ? nl + 1 : s + n;
    size_t pn = nl ? n - hn - 1 : 0;
    char *tok = malloc(n * 2 + 64);
    if (!tok) abort();
    size_t t = enc((const uint8_t *)s, hn, tok);
    tok[t++] = '.';
    t += enc((const uint8_t *)p, pn, tok + t);
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned ml;
    if (!HMAC(EVP_sha256(), KEY, (int)strlen(KEY), (const uint8_t *)tok, t, mac, &ml)) abort();
    tok[t++] = '.';
    t += enc(mac, ml, tok + t);
    verify(a, tok, t);
    tok[t - 3] = tok[t - 3] == 'A' ? 'B' : 'A'; /* one signature character changed */
    if (verify(a, tok, t) == 0) abort();
    free(tok);
    return 0;
}
