/* JWT (RFC 7519) in compact JWS form (RFC 7515), HMAC-SHA-2 only.
 *
 * The verifier trusts nothing in the token before the signature is checked, and trusts the
 * header only to name a key: the algorithm is fixed by the configuration, and a header that
 * says anything else is refused, so neither "none" nor an asymmetric algorithm can be
 * substituted (algorithm confusion). Failures are distinct codes for logs and tests; the guard
 * tells clients little beyond "invalid_token" and a short reason. */
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <string.h>

#include "auth/internal.h"
#include "chopin/buf.h"
#include "chopin/error.h"

static const char *alg_name(enum ch_jwt_alg a)
{
    switch (a) {
    case CH_JWT_HS384: return "HS384";
    case CH_JWT_HS512: return "HS512";
    default: return "HS256";
    }
}

static const EVP_MD *alg_md(enum ch_jwt_alg a)
{
    switch (a) {
    case CH_JWT_HS384: return EVP_sha384();
    case CH_JWT_HS512: return EVP_sha512();
    default: return EVP_sha256();
    }
}

const char *ch_auth_strerror(int err)
{
    switch (err) {
    case CH_EJWT_MALFORMED: return "malformed token";
    case CH_EJWT_TOO_LARGE: return "token too large";
    case CH_EJWT_ALG: return "unexpected token algorithm";
    case CH_EJWT_KID: return "unknown signing key";
    case CH_EJWT_SIGNATURE: return "invalid token signature";
    case CH_EJWT_EXPIRED: return "token expired";
    case CH_EJWT_NOT_YET_VALID: return "token not yet valid";
    case CH_EJWT_ISSUER: return "wrong token issuer";
    case CH_EJWT_AUDIENCE: return "wrong token audience";
    case CH_EJWT_CLAIMS: return "invalid token claims";
    default: return ch_strerror(err);
    }
}

int ch_auth_has_role(const struct ch_auth_claims *c, const char *role)
{
    if (!c) return 0;
    for (size_t i = 0; i < c->nroles; i++)
        if (ch_str_eq_cstr(c->roles[i], role)) return 1;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Signing                                                                                      */

int ch__auth_key_init(struct ch_auth *a, struct ch__auth_key *k)
{
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!m) return CH_ENOMEM;
    k->mac = EVP_MAC_CTX_new(m);
    EVP_MAC_free(m);
    if (!k->mac) return CH_ENOMEM;
    const char *md = EVP_MD_get0_name(alg_md(a->cfg.jwt_alg));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t)md, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!EVP_MAC_init(k->mac, k->secret, k->len, params)) {
        EVP_MAC_CTX_free(k->mac);
        k->mac = NULL;
        return CH_ENOMEM;
    }
    return 0;
}

void ch__auth_key_cleanup(struct ch__auth_key *k)
{
    EVP_MAC_CTX_free(k->mac);
    k->mac = NULL;
}

/* HMAC of data with key k. The keyed context is only read here (duplicated), so several
 * workers may sign and verify at once. */
static int mac(const struct ch__auth_key *k, const char *data, size_t n, uint8_t *out,
               unsigned *out_len)
{
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(k->mac);
    size_t len = 0;
    int ok = c && EVP_MAC_update(c, (const unsigned char *)data, n) &&
             EVP_MAC_final(c, out, &len, EVP_MAX_MD_SIZE);
    EVP_MAC_CTX_free(c);
    *out_len = (unsigned)len;
    return ok ? 0 : CH_ENOMEM;
}

int ch_auth_token_sign(const struct ch_auth *a, struct ch_str payload, struct ch_arena *arena,
                       struct ch_str *token)
{
    const struct ch__auth_key *k = &a->keys[0];
    struct ch_buf hdr;
    ch_buf_init_arena(&hdr, arena);
    struct ch_json_writer w;
    ch_json_writer_init(&w, &hdr);
    ch_json_object_begin(&w);
    ch_json_key(&w, "alg");
    ch_json_string(&w, alg_name(a->cfg.jwt_alg));
    ch_json_key(&w, "typ");
    ch_json_string(&w, "JWT");
    ch_json_key(&w, "kid");
    ch_json_str(&w, ch_str_make(k->kid, k->kid_len));
    ch_json_object_end(&w);
    int rc = ch_json_writer_finish(&w);
    if (rc != 0) return rc;

    size_t h64 = ch__b64_len(hdr.len), p64 = ch__b64_len(payload.len);
    size_t sig64 = ch__b64_len(EVP_MAX_MD_SIZE);
    char *out = ch_arena_alloc(arena, h64 + 1 + p64 + 1 + sig64 + 1);
    if (!out) return CH_ENOMEM;
    char *p = out;
    p += ch__b64_encode(CH__B64_URL, (const uint8_t *)hdr.ptr, hdr.len, p);
    *p++ = '.';
    p += ch__b64_encode(CH__B64_URL, (const uint8_t *)payload.ptr, payload.len, p);
    uint8_t sig[EVP_MAX_MD_SIZE];
    unsigned sig_len;
    if ((rc = mac(k, out, (size_t)(p - out), sig, &sig_len)) != 0) return rc;
    *p++ = '.';
    p += ch__b64_encode(CH__B64_URL, sig, sig_len, p);
    *p = '\0';
    *token = ch_str_make(out, (size_t)(p - out));
    return 0;
}

int ch_auth_token_issue(const struct ch_auth *a, struct ch_str sub, const char *const *roles,
                        size_t nroles, int64_t now, struct ch_arena *arena, struct ch_str *token)
{
    struct ch_buf b;
    ch_buf_init_arena(&b, arena);
    struct ch_json_writer w;
    ch_json_writer_init(&w, &b);
    ch_json_object_begin(&w);
    ch_json_key(&w, "sub");
    ch_json_str(&w, sub);
    ch_json_key(&w, "roles");
    ch_json_array_begin(&w);
    for (size_t i = 0; i < nroles; i++) ch_json_string(&w, roles[i]);
    ch_json_array_end(&w);
    if (a->cfg.jwt_issuer[0]) {
        ch_json_key(&w, "iss");
        ch_json_string(&w, a->cfg.jwt_issuer);
    }
    if (a->cfg.jwt_audience[0]) {
        ch_json_key(&w, "aud");
        ch_json_string(&w, a->cfg.jwt_audience);
    }
    ch_json_key(&w, "iat");
    ch_json_int(&w, now);
    ch_json_key(&w, "exp");
    ch_json_int(&w, now + (int64_t)a->cfg.jwt_expiry_s);
    ch_json_object_end(&w);
    int rc = ch_json_writer_finish(&w);
    if (rc != 0) return rc;
    return ch_auth_token_sign(a, ch_str_make(b.ptr, b.len), arena, token);
}

/* ------------------------------------------------------------------------------------------ */
/* Verification                                                                                 */

/* Decodes one base64url segment into the arena and parses it as a JSON object. */
static int segment_object(const char *s, size_t n, struct ch_arena *arena,
                          const struct ch_json_value **out)
{
    if (n == 0) return CH_EJWT_MALFORMED;
    uint8_t *bytes = ch_arena_alloc(arena, n / 4 * 3 + 3);
    if (!bytes) return CH_ENOMEM;
    long len = ch__b64_decode(CH__B64_URL, s, n, bytes);
    if (len < 0) return CH_EJWT_MALFORMED;
    int rc = ch_json_parse((const char *)bytes, (size_t)len, arena, out, NULL);
    if (rc == CH_ENOMEM) return rc;
    if (rc != 0 || ch_json_value_type(*out) != CH_JSON_OBJECT) return CH_EJWT_MALFORMED;
    return 0;
}

/* A NumericDate: absent (0, *present = 0), or a number (non-integers round down). */
static int numeric_date(const struct ch_json_value *obj, const char *key, int64_t *out,
                        int *present)
{
    const struct ch_json_value *v = ch_json_value_get(obj, key);
    *present = v != NULL;
    *out = 0;
    if (!v) return 0;
    if (ch_json_value_type(v) == CH_JSON_INT) {
        *out = ch_json_value_int(v);
        return 0;
    }
    if (ch_json_value_type(v) != CH_JSON_DOUBLE) return CH_EJWT_CLAIMS;
    double d = floor(ch_json_value_double(v));
    if (!(d > -9.0e18 && d < 9.0e18)) return CH_EJWT_CLAIMS;
    *out = (int64_t)d;
    return 0;
}

static int string_member(const struct ch_json_value *obj, const char *key, struct ch_str *out,
                         int *present)
{
    const struct ch_json_value *v = ch_json_value_get(obj, key);
    *present = v != NULL;
    *out = (struct ch_str){NULL, 0};
    if (!v) return 0;
    if (ch_json_value_type(v) != CH_JSON_STRING) return -1;
    *out = ch_json_value_str(v);
    return 0;
}

static int check_header(const struct ch_auth *a, const struct ch_json_value *h,
                        const struct ch__auth_key **key, struct ch_str *kid)
{
    struct ch_str alg, typ;
    int present;
    if (string_member(h, "alg", &alg, &present) != 0 || !present) return CH_EJWT_ALG;
    if (!ch_str_eq_cstr(alg, alg_name(a->cfg.jwt_alg))) return CH_EJWT_ALG;
    /* Extensions that must be understood: none are. */
    if (ch_json_value_get(h, "crit")) return CH_EJWT_ALG;
    if (string_member(h, "typ", &typ, &present) != 0) return CH_EJWT_MALFORMED;
    if (present && !ch_str_case_eq(typ, CH_STR("JWT"))) return CH_EJWT_MALFORMED;
    if (string_member(h, "kid", kid, &present) != 0) return CH_EJWT_KID;
    if (!present) { /* e.g. a token from another issuer of the same key: the current key only */
        *key = &a->keys[0];
        return 0;
    }
    for (int i = 0; i < a->nkeys; i++)
        if (kid->len == a->keys[i].kid_len && memcmp(kid->ptr, a->keys[i].kid, kid->len) == 0) {
            *key = &a->keys[i];
            return 0;
        }
    return CH_EJWT_KID;
}

static int check_audience(const struct ch_auth *a, const struct ch_json_value *aud)
{
    const char *want = a->cfg.jwt_audience;
    if (!aud) return want[0] ? CH_EJWT_AUDIENCE : 0;
    /* A token meant for some audience is not for a service that names none (RFC 7519 4.1.3). */
    if (!want[0]) return CH_EJWT_AUDIENCE;
    if (ch_json_value_type(aud) == CH_JSON_STRING)
        return ch_str_eq_cstr(ch_json_value_str(aud), want) ? 0 : CH_EJWT_AUDIENCE;
    if (ch_json_value_type(aud) != CH_JSON_ARRAY) return CH_EJWT_CLAIMS;
    int found = 0;
    struct ch_json_iter it;
    ch_json_iter_init(&it, aud);
    for (const struct ch_json_value *v; (v = ch_json_iter_next(&it, NULL));) {
        if (ch_json_value_type(v) != CH_JSON_STRING) return CH_EJWT_CLAIMS;
        if (ch_str_eq_cstr(ch_json_value_str(v), want)) found = 1;
    }
    return found ? 0 : CH_EJWT_AUDIENCE;
}

static int check_claims(const struct ch_auth *a, const struct ch_json_value *p, int64_t now,
                        struct ch_arena *arena, struct ch_auth_claims *c)
{
    int present, rc;
    int64_t leeway = a->cfg.jwt_leeway_s;
    if ((rc = numeric_date(p, "exp", &c->exp, &present)) != 0) return rc;
    if (!present) return CH_EJWT_CLAIMS;
    if ((rc = numeric_date(p, "nbf", &c->nbf, &present)) != 0) return rc;
    if (present && now + leeway < c->nbf) return CH_EJWT_NOT_YET_VALID;
    if ((rc = numeric_date(p, "iat", &c->iat, &present)) != 0) return rc;
    if (present && c->iat > now + leeway) return CH_EJWT_NOT_YET_VALID;
    if (c->exp <= now - leeway) return CH_EJWT_EXPIRED; /* no overflow for any exp */

    struct ch_str iss;
    if (string_member(p, "iss", &iss, &present) != 0) return CH_EJWT_CLAIMS;
    if (a->cfg.jwt_issuer[0] && (!present || !ch_str_eq_cstr(iss, a->cfg.jwt_issuer)))
        return CH_EJWT_ISSUER;
    if ((rc = check_audience(a, ch_json_value_get(p, "aud"))) != 0) return rc;

    if (string_member(p, "sub", &c->sub, &present) != 0) return CH_EJWT_CLAIMS;
    c->user_id = -1;
    int64_t id;
    if (c->sub.len > 0 && c->sub.ptr[0] != '-' && !(c->sub.len > 1 && c->sub.ptr[0] == '0') &&
        ch_str_to_i64(c->sub, &id) == 0)
        c->user_id = id;

    const struct ch_json_value *roles = ch_json_value_get(p, "roles");
    if (roles) {
        if (ch_json_value_type(roles) != CH_JSON_ARRAY) return CH_EJWT_CLAIMS;
        size_t n = ch_json_value_count(roles);
        struct ch_str *r = n ? ch_arena_alloc(arena, n * sizeof(*r)) : NULL;
        if (n && !r) return CH_ENOMEM;
        struct ch_json_iter it;
        ch_json_iter_init(&it, roles);
        size_t i = 0;
        for (const struct ch_json_value *v; (v = ch_json_iter_next(&it, NULL));) {
            if (ch_json_value_type(v) != CH_JSON_STRING) return CH_EJWT_CLAIMS;
            r[i++] = ch_json_value_str(v);
        }
        c->roles = r;
        c->nroles = i;
    }
    c->payload = p;
    return 0;
}

int ch_auth_token_verify(const struct ch_auth *a, struct ch_str token, int64_t now,
                         struct ch_arena *arena, struct ch_auth_claims *claims)
{
    memset(claims, 0, sizeof(*claims));
    if (token.len > a->cfg.jwt_max_size) return CH_EJWT_TOO_LARGE;
    const char *s = token.ptr, *end = s + token.len;
    const char *dot1 = token.len ? memchr(s, '.', token.len) : NULL;
    if (!dot1) return CH_EJWT_MALFORMED;
    const char *dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1));
    if (!dot2 || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1))) return CH_EJWT_MALFORMED;

    const struct ch_json_value *header, *payload;
    int rc = segment_object(s, (size_t)(dot1 - s), arena, &header);
    if (rc != 0) return rc;
    const struct ch__auth_key *key;
    if ((rc = check_header(a, header, &key, &claims->kid)) != 0) return rc;

    uint8_t want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE + 3];
    unsigned want_len;
    size_t sig_n = (size_t)(end - dot2 - 1);
    /* A signature of the wrong length is refused before decoding, so `got` cannot overflow. */
    size_t md_len = (size_t)EVP_MD_get_size(alg_md(a->cfg.jwt_alg));
    if (sig_n != ch__b64_len(md_len)) return CH_EJWT_SIGNATURE;
    long got_len = ch__b64_decode(CH__B64_URL, dot2 + 1, sig_n, got);
    if (got_len != (long)md_len) return CH_EJWT_MALFORMED;
    if ((rc = mac(key, s, (size_t)(dot2 - s), want, &want_len)) != 0) return rc;
    if (want_len != md_len || CRYPTO_memcmp(want, got, md_len) != 0) return CH_EJWT_SIGNATURE;

    if ((rc = segment_object(dot1 + 1, (size_t)(dot2 - dot1 - 1), arena, &payload)) != 0) return rc;
    struct ch_str kid = claims->kid;
    rc = check_claims(a, payload, now, arena, claims);
    claims->kid = kid;
    return rc;
}
