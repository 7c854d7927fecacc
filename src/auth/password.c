/* Argon2id through libargon2, and PHC strings written and parsed here (strictly: libargon2's own
 * decoder accepts variants such as a missing version, which a stored hash never needs). */
#include <argon2.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "auth/internal.h"
#include "chopin/error.h"

enum {
    MAX_MEMORY_KIB = 1048576,
    MAX_ITERATIONS = 1024,
    MAX_PARALLELISM = 255,
    MIN_SALT = 8,
    MAX_SALT = 64,
    MIN_HASH = 16,
    MAX_HASH = 64,
};

void ch_argon2_params_default(struct ch_argon2_params *p)
{
    p->memory_kib = 19456;
    p->iterations = 2;
    p->parallelism = 1;
    p->salt_len = 16;
    p->hash_len = 32;
}

int ch_argon2_params_check(const struct ch_argon2_params *p)
{
    if (p->parallelism < 1 || p->parallelism > MAX_PARALLELISM) return CH_EINVAL;
    if (p->memory_kib < 8 * p->parallelism || p->memory_kib > MAX_MEMORY_KIB) return CH_EINVAL;
    if (p->iterations < 1 || p->iterations > MAX_ITERATIONS) return CH_EINVAL;
    if (p->salt_len < MIN_SALT || p->salt_len > MAX_SALT) return CH_EINVAL;
    if (p->hash_len < MIN_HASH || p->hash_len > MAX_HASH) return CH_EINVAL;
    return 0;
}

int ch_argon2id(const struct ch_argon2_params *p, const void *pw, size_t pw_len, const void *salt,
                size_t salt_len, const void *secret, size_t secret_len, const void *ad,
                size_t ad_len, uint8_t *out)
{
    if (pw_len > UINT32_MAX || salt_len > UINT32_MAX || secret_len > UINT32_MAX ||
        ad_len > UINT32_MAX || p->hash_len < 4 || p->parallelism < 1 ||
        p->parallelism > MAX_PARALLELISM || p->iterations < 1 ||
        p->memory_kib < 8 * p->parallelism || p->memory_kib > MAX_MEMORY_KIB)
        return CH_EINVAL;
    /* libargon2 takes non-const pointers but, without the CLEAR flags, only reads them. */
    argon2_context ctx = {
        .out = out,
        .outlen = p->hash_len,
        .pwd = (uint8_t *)(uintptr_t)pw,
        .pwdlen = (uint32_t)pw_len,
        .salt = (uint8_t *)(uintptr_t)salt,
        .saltlen = (uint32_t)salt_len,
        .secret = (uint8_t *)(uintptr_t)secret,
        .secretlen = (uint32_t)secret_len,
        .ad = (uint8_t *)(uintptr_t)ad,
        .adlen = (uint32_t)ad_len,
        .t_cost = p->iterations,
        .m_cost = p->memory_kib,
        .lanes = p->parallelism,
        /* One thread per hash: the pool already runs hashes in parallel, and the result does
         * not depend on the thread count. */
        .threads = 1,
        .version = ARGON2_VERSION_13,
        .flags = ARGON2_DEFAULT_FLAGS,
    };
    int rc = argon2_ctx(&ctx, Argon2_id);
    if (rc == ARGON2_OK) return 0;
    return rc == ARGON2_MEMORY_ALLOCATION_ERROR ? CH_ENOMEM : CH_EINVAL;
}

/* A decimal uint32 without sign or leading zeros, ending at `end` (which must be found). */
static const char *parse_u32(const char *p, const char *lim, char end, uint32_t *out)
{
    if (p >= lim || *p < '1' || *p > '9') return NULL;
    uint64_t v = 0;
    int digits = 0;
    while (p < lim && *p >= '0' && *p <= '9') {
        if (++digits > 10) return NULL;
        v = v * 10 + (uint64_t)(*p++ - '0');
    }
    if (v > UINT32_MAX || p >= lim || *p != end) return NULL;
    *out = (uint32_t)v;
    return p + 1;
}

static const char *expect(const char *p, const char *lim, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(lim - p) < n || memcmp(p, lit, n) != 0) return NULL;
    return p + n;
}

int ch_phc_decode(const char *s, size_t len, struct ch_phc *out)
{
    const char *p = s, *lim = s + len;
    struct ch_argon2_params prm;
    if (!(p = expect(p, lim, "$argon2id$v=19$m="))) return CH_EINVAL;
    if (!(p = parse_u32(p, lim, ',', &prm.memory_kib))) return CH_EINVAL;
    if (!(p = expect(p, lim, "t="))) return CH_EINVAL;
    if (!(p = parse_u32(p, lim, ',', &prm.iterations))) return CH_EINVAL;
    if (!(p = expect(p, lim, "p="))) return CH_EINVAL;
    if (!(p = parse_u32(p, lim, '$', &prm.parallelism))) return CH_EINVAL;
    const char *salt = p;
    const char *dollar = memchr(p, '$', (size_t)(lim - p));
    if (!dollar) return CH_EINVAL;
    const char *hash = dollar + 1;
    size_t salt_n = (size_t)(dollar - salt), hash_n = (size_t)(lim - hash);
    if (salt_n > ch__b64_len(MAX_SALT) || hash_n > ch__b64_len(MAX_HASH)) return CH_EINVAL;
    long sl = ch__b64_decode(CH__B64_STD, salt, salt_n, out->salt);
    long hl = ch__b64_decode(CH__B64_STD, hash, hash_n, out->hash);
    if (sl < 0 || hl < 0) return CH_EINVAL;
    prm.salt_len = (uint32_t)sl;
    prm.hash_len = (uint32_t)hl;
    if (ch_argon2_params_check(&prm) != 0) return CH_EINVAL;
    out->params = prm;
    return 0;
}

int ch_phc_encode(const struct ch_phc *phc, char *out, size_t cap)
{
    const struct ch_argon2_params *p = &phc->params;
    if (ch_argon2_params_check(p) != 0) return CH_EINVAL;
    char head[96];
    int n = snprintf(head, sizeof(head), "$argon2id$v=19$m=%u,t=%u,p=%u$", p->memory_kib,
                     p->iterations, p->parallelism);
    size_t total = (size_t)n + ch__b64_len(p->salt_len) + 1 + ch__b64_len(p->hash_len);
    if (total + 1 > cap) return CH_ERANGE;
    memcpy(out, head, (size_t)n);
    char *w = out + n;
    w += ch__b64_encode(CH__B64_STD, phc->salt, p->salt_len, w);
    *w++ = '$';
    w += ch__b64_encode(CH__B64_STD, phc->hash, p->hash_len, w);
    *w = '\0';
    return (int)total;
}

int ch_password_hash(const struct ch_argon2_params *p, const char *pw, size_t pw_len, char *out)
{
    if (ch_argon2_params_check(p) != 0) return CH_EINVAL;
    struct ch_phc phc = {.params = *p};
    if (getrandom(phc.salt, p->salt_len, 0) != (ssize_t)p->salt_len) return CH_EIO;
    int rc = ch_argon2id(p, pw, pw_len, phc.salt, p->salt_len, NULL, 0, NULL, 0, phc.hash);
    if (rc == 0) rc = ch_phc_encode(&phc, out, CH_PHC_MAX);
    OPENSSL_cleanse(&phc, sizeof(phc));
    return rc;
}

int ch_password_verify(const char *phc_str, size_t phc_len, const char *pw, size_t pw_len,
                       const struct ch_argon2_params *current, int *needs_rehash)
{
    struct ch_phc phc;
    uint8_t got[MAX_HASH];
    if (needs_rehash) *needs_rehash = 0;
    if (ch_phc_decode(phc_str, phc_len, &phc) != 0) return CH_EINVAL;
    int rc =
        ch_argon2id(&phc.params, pw, pw_len, phc.salt, phc.params.salt_len, NULL, 0, NULL, 0, got);
    if (rc != 0) return rc;
    int match = CRYPTO_memcmp(got, phc.hash, phc.params.hash_len) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    if (match && current && needs_rehash) {
        const struct ch_argon2_params *s = &phc.params;
        *needs_rehash = s->memory_kib != current->memory_kib ||
                        s->iterations != current->iterations ||
                        s->parallelism != current->parallelism || s->hash_len != current->hash_len;
    }
    return match;
}
