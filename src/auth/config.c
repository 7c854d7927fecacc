/* Auth settings from the environment, and the auth object's life. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "auth/routes.h"
#include "chopin/error.h"
#include "chopin/log.h"

enum { MIN_PRODUCTION_SECRET = 32, MAX_HASH_THREADS = 64 };

void ch_auth_config_defaults(struct ch_auth_config *c)
{
    memset(c, 0, sizeof(*c));
    c->jwt_alg = CH_JWT_HS256;
    c->jwt_expiry_s = 15 * 60;
    c->jwt_refresh_expiry_s = 30 * 86400;
    c->jwt_leeway_s = 30;
    c->jwt_max_size = 8192;
    ch_argon2_params_default(&c->argon2);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    c->hash_threads = cpus < 1 ? 1 : cpus > 4 ? 4 : (int)cpus;
    c->hash_queue = 256;
    c->lockout_attempts = 5;
    c->lockout_s = 15 * 60;
    c->rate_limit = 30;
    c->rate_window_s = 60;
}

int ch__auth_parse_duration(const char *s, uint32_t *out)
{
    char *end;
    if (*s < '0' || *s > '9') return CH_EINVAL;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned long long mul = 1;
    if (!*end || !strcmp(end, "s"))
        mul = 1;
    else if (!strcmp(end, "m"))
        mul = 60;
    else if (!strcmp(end, "h"))
        mul = 3600;
    else if (!strcmp(end, "d"))
        mul = 86400;
    else
        return CH_EINVAL;
    if (v > UINT32_MAX / mul) return CH_EINVAL;
    *out = (uint32_t)(v * mul);
    return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    if (*s < '0' || *s > '9') return CH_EINVAL;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v > max) return CH_EINVAL;
    *out = v;
    return 0;
}

/* KiB, or with a k/K/KiB or m/M/MiB suffix. */
static int parse_kib(const char *s, uint32_t *out)
{
    char *end;
    if (*s < '0' || *s > '9') return CH_EINVAL;
    unsigned long long v = strtoull(s, &end, 10);
    if (!strcmp(end, "m") || !strcmp(end, "M") || !strcmp(end, "MiB"))
        v *= 1024;
    else if (*end && strcmp(end, "k") && strcmp(end, "K") && strcmp(end, "KiB"))
        return CH_EINVAL;
    if (v > UINT32_MAX) return CH_EINVAL;
    *out = (uint32_t)v;
    return 0;
}

static int fail(char *err, size_t errlen, const char *name, const char *why)
{
    snprintf(err, errlen, "%s: %s", name, why);
    return CH_EINVAL;
}

int ch_auth_config_load(struct ch_auth_config *c, int production, char *err, size_t errlen)
{
    const char *v;
    unsigned long long n;
    c->production = production;
    if ((v = getenv("JWT_SECRET")) && *v) {
        size_t len = strlen(v);
        if (len > CH_AUTH_MAX_SECRET)
            return fail(err, errlen, "JWT_SECRET", "longer than 512 bytes");
        memcpy(c->jwt_secret, v, len);
        c->jwt_secret_len = len;
    }
    if ((v = getenv("JWT_SECRET_PREVIOUS")) && *v) {
        size_t len = strlen(v);
        if (len > CH_AUTH_MAX_SECRET)
            return fail(err, errlen, "JWT_SECRET_PREVIOUS", "longer than 512 bytes");
        memcpy(c->jwt_previous, v, len);
        c->jwt_previous_len = len;
    }
    if ((v = getenv("JWT_ALGORITHM")) && *v) {
        if (!strcmp(v, "HS256"))
            c->jwt_alg = CH_JWT_HS256;
        else if (!strcmp(v, "HS384"))
            c->jwt_alg = CH_JWT_HS384;
        else if (!strcmp(v, "HS512"))
            c->jwt_alg = CH_JWT_HS512;
        else
            return fail(err, errlen, "JWT_ALGORITHM", "expected HS256, HS384 or HS512");
    }
    struct {
        const char *name;
        uint32_t *out;
        int nonzero;
    } durs[] = {{"JWT_EXPIRY", &c->jwt_expiry_s, 1},
                {"JWT_REFRESH_EXPIRY", &c->jwt_refresh_expiry_s, 1},
                {"JWT_LEEWAY", &c->jwt_leeway_s, 0},
                {"AUTH_LOCKOUT_SECONDS", &c->lockout_s, 1},
                {"AUTH_RATE_WINDOW", &c->rate_window_s, 1}};
    for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
        if (!(v = getenv(durs[i].name)) || !*v) continue;
        uint32_t d;
        if (ch__auth_parse_duration(v, &d) != 0 || (durs[i].nonzero && d == 0))
            return fail(err, errlen, durs[i].name,
                        "expected a duration such as 30s, 15m, 12h, 30d");
        *durs[i].out = d;
    }
    if ((v = getenv("JWT_ISSUER"))) {
        if (strlen(v) >= sizeof(c->jwt_issuer)) return fail(err, errlen, "JWT_ISSUER", "too long");
        strcpy(c->jwt_issuer, v);
    }
    if ((v = getenv("JWT_AUDIENCE"))) {
        if (strlen(v) >= sizeof(c->jwt_audience))
            return fail(err, errlen, "JWT_AUDIENCE", "too long");
        strcpy(c->jwt_audience, v);
    }
    if ((v = getenv("JWT_MAX_SIZE")) && *v) {
        if (parse_uint(v, 1 << 20, &n) != 0 || n < 64)
            return fail(err, errlen, "JWT_MAX_SIZE", "expected 64..1048576 bytes");
        c->jwt_max_size = (size_t)n;
    }
    if ((v = getenv("AUTH_ARGON2_MEMORY")) && *v && parse_kib(v, &c->argon2.memory_kib) != 0)
        return fail(err, errlen, "AUTH_ARGON2_MEMORY", "expected KiB (or a k/m suffix)");
    if ((v = getenv("AUTH_ARGON2_ITERATIONS")) && *v) {
        if (parse_uint(v, 1024, &n) != 0 || n < 1)
            return fail(err, errlen, "AUTH_ARGON2_ITERATIONS", "expected 1..1024");
        c->argon2.iterations = (uint32_t)n;
    }
    if ((v = getenv("AUTH_ARGON2_PARALLELISM")) && *v) {
        if (parse_uint(v, 255, &n) != 0 || n < 1)
            return fail(err, errlen, "AUTH_ARGON2_PARALLELISM", "expected 1..255");
        c->argon2.parallelism = (uint32_t)n;
    }
    if (ch_argon2_params_check(&c->argon2) != 0)
        return fail(err, errlen, "AUTH_ARGON2_MEMORY",
                    "must be at least 8 KiB per lane and at most 1 GiB");
    if ((v = getenv("AUTH_HASH_THREADS")) && *v) {
        if (parse_uint(v, MAX_HASH_THREADS, &n) != 0 || n < 1)
            return fail(err, errlen, "AUTH_HASH_THREADS", "expected 1..64");
        c->hash_threads = (int)n;
    }
    if ((v = getenv("AUTH_HASH_QUEUE")) && *v) {
        if (parse_uint(v, 1 << 20, &n) != 0 || n < 1)
            return fail(err, errlen, "AUTH_HASH_QUEUE", "expected 1..1048576");
        c->hash_queue = (int)n;
    }
    struct {
        const char *name;
        uint32_t *out;
        unsigned long long max;
    } counts[] = {{"AUTH_LOCKOUT_ATTEMPTS", &c->lockout_attempts, 1000000},
                  {"AUTH_RATE_LIMIT", &c->rate_limit, 1000000000},
                  {"AUTH_TRUST_PROXY", &c->trust_proxy, 16}};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        if (!(v = getenv(counts[i].name)) || !*v) continue;
        if (parse_uint(v, counts[i].max, &n) != 0) {
            char why[64];
            snprintf(why, sizeof(why), "expected 0..%llu", counts[i].max);
            return fail(err, errlen, counts[i].name, why);
        }
        *counts[i].out = (uint32_t)n;
    }
    return 0;
}

/* The kid of a key: a fingerprint that names it without revealing it (a truncated SHA-256 of
 * a secret discloses nothing a token's own HMAC does not). */
static int key_set(struct ch__auth_key *k, const uint8_t *secret, size_t len)
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dl;
    memcpy(k->secret, secret, len);
    k->len = len;
    if (!EVP_Digest(secret, len, d, &dl, EVP_sha256(), NULL)) return CH_ENOMEM;
    k->kid_len = ch__b64_encode(CH__B64_URL, d, 12, k->kid);
    k->kid[k->kid_len] = '\0';
    return 0;
}

struct ch_auth *ch_auth_new(const struct ch_auth_config *cfg, char *err, size_t errlen)
{
    if (ch_argon2_params_check(&cfg->argon2) != 0) {
        fail(err, errlen, "AUTH_ARGON2_*", "parameters out of range");
        return NULL;
    }
    if (cfg->hash_threads < 1 || cfg->hash_queue < 1 || cfg->jwt_expiry_s == 0 ||
        cfg->jwt_max_size < 64 || cfg->jwt_secret_len > CH_AUTH_MAX_SECRET ||
        cfg->jwt_previous_len > CH_AUTH_MAX_SECRET) {
        snprintf(err, errlen, "auth: invalid settings");
        return NULL;
    }
    if (cfg->production) {
        if (cfg->jwt_secret_len == 0) {
            fail(err, errlen, "JWT_SECRET", "required in production (at least 32 bytes)");
            return NULL;
        }
        if (cfg->jwt_secret_len < MIN_PRODUCTION_SECRET) {
            fail(err, errlen, "JWT_SECRET", "too short for production (at least 32 bytes)");
            return NULL;
        }
        if (cfg->jwt_previous_len && cfg->jwt_previous_len < MIN_PRODUCTION_SECRET) {
            fail(err, errlen, "JWT_SECRET_PREVIOUS",
                 "too short for production (at least 32 bytes)");
            return NULL;
        }
    }
    struct ch_auth *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "auth: out of memory");
        return NULL;
    }
    a->cfg = *cfg;
    if (a->cfg.jwt_secret_len == 0) {
        if (getrandom(a->cfg.jwt_secret, 32, 0) != 32) {
            snprintf(err, errlen, "auth: no randomness for the development key");
            ch_auth_free(a);
            return NULL;
        }
        a->cfg.jwt_secret_len = 32;
        ch_log(CH_LOG_WARN, "JWT_SECRET is not set: using a random key for this process only "
                            "(tokens die with it); production requires JWT_SECRET");
    } else if (a->cfg.jwt_secret_len < MIN_PRODUCTION_SECRET) {
        ch_log(CH_LOG_WARN, "JWT_SECRET is shorter than 32 bytes: production would refuse it");
    }
    a->nkeys = a->cfg.jwt_previous_len ? 2 : 1;
    int rc = key_set(&a->keys[0], a->cfg.jwt_secret, a->cfg.jwt_secret_len);
    if (rc == 0 && a->nkeys == 2)
        rc = key_set(&a->keys[1], a->cfg.jwt_previous, a->cfg.jwt_previous_len);
    for (int i = 0; rc == 0 && i < a->nkeys; i++) rc = ch__auth_key_init(a, &a->keys[i]);
    a->dummy.params = a->cfg.argon2;
    if (rc == 0 &&
        getrandom(a->dummy.salt, a->dummy.params.salt_len, 0) != (ssize_t)a->dummy.params.salt_len)
        rc = CH_EIO;
    if (rc == 0 && !(a->pool = ch__auth_pool_new(a))) rc = CH_ENOMEM;
    if (rc != 0) {
        snprintf(err, errlen, "auth: %s", ch_strerror(rc));
        ch_auth_free(a);
        return NULL;
    }
    return a;
}

int ch_auth_declare_settings(struct ch_app *app)
{
    static const char *const s[][3] = {
        {"JWT_SECRET", NULL, "token signing key (production: required, at least 32 bytes)"},
        {"JWT_SECRET_PREVIOUS", NULL, "the key before a rotation: still verifies, never signs"},
        {"JWT_ALGORITHM", "HS256", "HS256, HS384 or HS512"},
        {"JWT_EXPIRY", "15m", "access-token lifetime (s, m, h, d)"},
        {"JWT_REFRESH_EXPIRY", "30d", "refresh-token lifetime"},
        {"JWT_LEEWAY", "30s", "clock skew allowed on exp, nbf and iat"},
        {"JWT_ISSUER", NULL, "iss set in tokens and required when verifying"},
        {"JWT_AUDIENCE", NULL, "aud set in tokens and required when verifying"},
        {"JWT_MAX_SIZE", "8192", "longest token accepted, in bytes"},
        {"AUTH_ARGON2_MEMORY", "19456", "Argon2id memory in KiB (or k/m suffix)"},
        {"AUTH_ARGON2_ITERATIONS", "2", "Argon2id passes"},
        {"AUTH_ARGON2_PARALLELISM", "1", "Argon2id lanes"},
        {"AUTH_HASH_THREADS", NULL, "password hashing threads (default: CPUs, at most 4)"},
        {"AUTH_HASH_QUEUE", "256", "hashes waiting at most before 503"},
        {"AUTH_LOCKOUT_ATTEMPTS", "5", "failed logins in a row that lock a login name (0: off)"},
        {"AUTH_LOCKOUT_SECONDS", "15m", "lock duration, and the span of failures in a row"},
        {"AUTH_RATE_LIMIT", "30", "auth POSTs per client address and window (0: off)"},
        {"AUTH_RATE_WINDOW", "60s", "the rate limit's window"},
        {"AUTH_TRUST_PROXY", "0", "proxies in front whose X-Forwarded-For names the client"},
    };
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        int rc = ch_app_setting(app, s[i][0], s[i][1], s[i][2]);
        if (rc != 0) return rc;
    }
    return 0;
}

struct ch_auth *ch_auth_from_app(struct ch_app *app, char *err, size_t errlen)
{
    struct ch_auth_config cfg;
    ch_auth_config_defaults(&cfg);
    if (ch_auth_config_load(&cfg, ch_app_config(app)->production, err, errlen) != 0) return NULL;
    return ch_auth_new(&cfg, err, errlen);
}

void ch_auth_free(struct ch_auth *a)
{
    if (!a) return;
    if (ch__auth_mounted == a) ch__auth_mounted = NULL; /* the routes may be mounted again */
    ch__auth_pool_free(a->pool);
    for (int i = 0; i < 2; i++) ch__auth_key_cleanup(&a->keys[i]);
    OPENSSL_cleanse(a, sizeof(*a));
    free(a);
}

const struct ch_auth_config *ch_auth_config(const struct ch_auth *a)
{
    return &a->cfg;
}
