/* JWT: RFC 7515's HS256 example, issue/verify, rotation, and the attacks a verifier must refuse. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <time.h>

#include "auth/internal.h"
#include "chopin/error.h"
#include "../test.h"

static const char SECRET[] = "test-secret-0123456789-abcdefghijklmnop";
static const char OTHER[] = "another-secret-0123456789-abcdefghijklm";
enum { NOW = 1700000000 };

static struct ch_auth *auth_with(const char *secret, const char *previous, const char *iss,
                                 const char *aud)
{
    struct ch_auth_config c;
    ch_auth_config_defaults(&c);
    c.production = 1;
    c.jwt_secret_len = strlen(secret);
    memcpy(c.jwt_secret, secret, c.jwt_secret_len);
    if (previous) {
        c.jwt_previous_len = strlen(previous);
        memcpy(c.jwt_previous, previous, c.jwt_previous_len);
    }
    if (iss) strcpy(c.jwt_issuer, iss);
    if (aud) strcpy(c.jwt_audience, aud);
    char err[128];
    struct ch_auth *a = ch_auth_new(&c, err, sizeof(err));
    if (!a) ch_test_fail(__FILE__, __LINE__, "ch_auth_new: %s", err);
    return a;
}

/* base64url of a text, NUL-terminated, in a static ring (tests only). */
static char *b64(const char *s, size_t n)
{
    static char ring[8][32768];
    static int k;
    char *out = ring[k++ % 8];
    out[ch__b64_encode(CH__B64_URL, (const uint8_t *)s, n, out)] = '\0';
    return out;
}

/* header.payload.signature with HMAC over the first two (md NULL: signature given as is). */
static char *forge(const char *header, const char *payload, const void *key, size_t key_len,
                   const EVP_MD *md, const char *sig_override)
{
    static char out[16384];
    int n = snprintf(out, sizeof(out), "%s.%s", b64(header, strlen(header)),
                     b64(payload, strlen(payload)));
    if (sig_override || !md) {
        snprintf(out + n, sizeof(out) - (size_t)n, ".%s", sig_override ? sig_override : "");
        return out;
    }
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned len;
    HMAC(md, key, (int)key_len, (const uint8_t *)out, (size_t)n, mac, &len);
    out[n++] = '.';
    out[n + ch__b64_encode(CH__B64_URL, mac, len, out + n)] = '\0';
    return out;
}

static int verify(struct ch_auth *a, const char *token, int64_t now, struct ch_auth_claims *c)
{
    static struct ch_arena arena;
    static int init;
    if (!init) ch_arena_init(&arena, NULL, 0), init = 1;
    ch_arena_reset(&arena);
    struct ch_auth_claims tmp;
    return ch_auth_token_verify(a, ch_str_cstr(token), now, &arena, c ? c : &tmp);
}

static char kid_hdr[256];
static const char *hdr_with_kid(struct ch_auth *a, const char *alg)
{
    snprintf(kid_hdr, sizeof(kid_hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg,
             a->keys[0].kid);
    return kid_hdr;
}

#define PAYLOAD \
    "{\"sub\":\"42\",\"roles\":[\"admin\",\"user\"],\"iat\":1700000000,\"exp\":1700000900}"

/* RFC 7515 Appendix A.1: the HS256 example, verified with its key; its exact signature bytes
 * are what our HMAC computes. */
TEST(jwt_rfc7515_a1)
{
    const char *k =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1"
        "Z9CAow";
    struct ch_auth_config c;
    ch_auth_config_defaults(&c);
    long klen = ch__b64_decode(CH__B64_URL, k, strlen(k), c.jwt_secret);
    ASSERT_EQ(klen, 64);
    c.jwt_secret_len = (size_t)klen;
    char err[128];
    struct ch_auth *a = ch_auth_new(&c, err, sizeof(err));
    ASSERT(a);
    const char *tok =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9p"
        "c19yb290Ijp0cnVlfQ"
        ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    static const uint8_t sig[32] = {116, 24,  223, 180, 151, 153, 224, 37,  79,  250, 96,
                                    125, 216, 173, 187, 186, 22,  212, 37,  77,  105, 214,
                                    191, 240, 91,  88,  5,   88,  83,  132, 141, 121};
    uint8_t mac[32];
    unsigned len;
    const char *dot2 = strrchr(tok, '.');
    HMAC(EVP_sha256(), c.jwt_secret, (int)klen, (const uint8_t *)tok, (size_t)(dot2 - tok), mac,
         &len);
    ASSERT_EQ(len, 32);
    ASSERT(memcmp(mac, sig, 32) == 0);
    struct ch_auth_claims cl;
    ASSERT_EQ(verify(a, tok, 1300819370, &cl), 0);
    ASSERT_EQ(cl.exp, 1300819380);
    ASSERT_EQ(cl.sub.len, 0);
    ASSERT_EQ(cl.user_id, -1);
    ASSERT_EQ(ch_json_value_bool(ch_json_value_get(cl.payload, "http://example.com/is_root")), 1);
    /* exp is in 2011: now it is expired (leeway 30 s). */
    ASSERT_EQ(verify(a, tok, 1300819380 + 30, NULL), CH_EJWT_EXPIRED);
    ASSERT_EQ(verify(a, tok, 1300819380 + 29, NULL), 0);
    /* One signature character changed. */
    char t2[512];
    strcpy(t2, tok);
    t2[strlen(t2) - 2] = t2[strlen(t2) - 2] == 'X' ? 'Y' : 'X';
    ASSERT_EQ(verify(a, t2, 1300819370, NULL), CH_EJWT_SIGNATURE);
    ch_auth_free(a);
}

TEST(jwt_issue_verify_round_trip)
{
    struct ch_auth *a = auth_with(SECRET, NULL, "chopin", "api");
    struct ch_arena arena;
    ch_arena_init(&arena, NULL, 0);
    const char *roles[] = {"admin", "editor"};
    struct ch_str tok;
    ASSERT_EQ(ch_auth_token_issue(a, CH_STR("42"), roles, 2, NOW, &arena, &tok), 0);
    ASSERT_EQ(strlen(tok.ptr), tok.len);
    struct ch_auth_claims c;
    ASSERT_EQ(verify(a, tok.ptr, NOW, &c), 0);
    ASSERT_STR_EQ(c.sub, "42");
    ASSERT_EQ(c.user_id, 42);
    ASSERT_EQ(c.nroles, 2);
    ASSERT_STR_EQ(c.roles[0], "admin");
    ASSERT_STR_EQ(c.roles[1], "editor");
    ASSERT_EQ(c.iat, NOW);
    ASSERT_EQ(c.exp, NOW + 15 * 60);
    ASSERT_MEM_EQ(c.kid.ptr, c.kid.len, a->keys[0].kid);
    ASSERT(ch_auth_has_role(&c, "admin"));
    ASSERT(!ch_auth_has_role(&c, "root"));
    ASSERT(!ch_auth_has_role(NULL, "admin"));
    /* Within the lifetime and the leeway, then expired. */
    ASSERT_EQ(verify(a, tok.ptr, NOW + 15 * 60 + 29, NULL), 0);
    ASSERT_EQ(verify(a, tok.ptr, NOW + 15 * 60 + 30, NULL), CH_EJWT_EXPIRED);
    /* iat in the future (a token from a clock far ahead). */
    ASSERT_EQ(verify(a, tok.ptr, NOW - 31, NULL), CH_EJWT_NOT_YET_VALID);
    ch_arena_cleanup(&arena);
    ch_auth_free(a);
}

TEST(jwt_alg_none_and_others_refused)
{
    struct ch_auth *a = auth_with(SECRET, NULL, NULL, NULL);
    const char *k = SECRET;
    size_t kl = strlen(SECRET);
    ASSERT_EQ(
        verify(a, forge(hdr_with_kid(a, "HS256"), PAYLOAD, k, kl, EVP_sha256(), NULL), NOW, NULL),
        0);
    /* alg none, with an empty and with a real signature. */
    ASSERT_EQ(verify(a, forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", PAYLOAD, k, kl, NULL, NULL),
                     NOW, NULL),
              CH_EJWT_ALG);
    ASSERT_EQ(verify(a, forge("{\"alg\":\"none\"}", PAYLOAD, k, kl, EVP_sha256(), NULL), NOW, NULL),
              CH_EJWT_ALG);
    ASSERT_EQ(verify(a, forge("{\"alg\":\"None\"}", PAYLOAD, k, kl, EVP_sha256(), NULL), NOW, NULL),
              CH_EJWT_ALG);
    /* Other algorithms, even correctly signed with HMAC under their name (confusion). */
    const char *algs[] = {"HS384", "HS512", "RS256",  "ES256", "EdDSA",
                          "PS256", "hs256", "HS256 ", ""};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        ASSERT_EQ(verify(a, forge(hdr_with_kid(a, algs[i]), PAYLOAD, k, kl, EVP_sha256(), NULL),
                         NOW, NULL),
                  CH_EJWT_ALG);
    ASSERT_EQ(
        verify(a, forge("{\"alg\":\"HS384\"}", PAYLOAD, k, kl, EVP_sha384(), NULL), NOW, NULL),
        CH_EJWT_ALG);
    /* alg missing, not a string, or given twice (the first one counts). */
    ASSERT_EQ(verify(a, forge("{\"typ\":\"JWT\"}", PAYLOAD, k, kl, EVP_sha256(), NULL), NOW, NULL),
              CH_EJWT_ALG);
    ASSERT_EQ(
        verify(a, forge("{\"alg\":[\"HS256\"]}", PAYLOAD, k, kl, EVP_sha256(), NULL), NOW, NULL),
        CH_EJWT_ALG);
    ASSERT_EQ(
        verify(a, forge("{\"alg\":\"none\",\"alg\":\"HS256\"}", PAYLOAD, k, kl, EVP_sha256(), NULL),
               NOW, NULL),
        CH_EJWT_ALG);
    /* crit: an extension we cannot honour. */
    ASSERT_EQ(
        verify(a,
               forge("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", PAYLOAD, k, kl, EVP_sha256(), NULL),
               NOW, NULL),
        CH_EJWT_ALG);
    ch_auth_free(a);

    /* A verifier configured for HS512 refuses HS256 tokens, and the other way round. */
    struct ch_auth_config c;
    ch_auth_config_defaults(&c);
    c.jwt_alg = CH_JWT_HS512;
    c.jwt_secret_len = kl;
    memcpy(c.jwt_secret, k, kl);
    char err[128];
    struct ch_auth *b = ch_auth_new(&c, err, sizeof(err));
    ASSERT(b);
    ASSERT_EQ(
        verify(b, forge("{\"alg\":\"HS256\"}", PAYLOAD, k, kl, EVP_sha256(), NULL), NOW, NULL),
        CH_EJWT_ALG);
    ASSERT_EQ(
        verify(b, forge("{\"alg\":\"HS512\"}", PAYLOAD, k, kl, EVP_sha512(), NULL), NOW, NULL), 0);
    struct ch_arena arena;
    ch_arena_init(&arena, NULL, 0);
    struct ch_str tok;
    ASSERT_EQ(ch_auth_token_issue(b, CH_STR("1"), NULL, 0, NOW, &arena, &tok), 0);
    ASSERT_EQ(verify(b, tok.ptr, NOW, NULL), 0);
    ASSERT(strncmp(tok.ptr, b64("{\"alg\":\"HS51", 12), 16) == 0);
    ch_arena_cleanup(&arena);
    ch_auth_free(b);
}

TEST(jwt_wrong_key_and_changed_header_refused)
{
    struct ch_auth *a = auth_with(SECRET, NULL, NULL, NULL);
    /* HS256 signed with another key, without and with our kid. */
    ASSERT_EQ(
        verify(a, forge("{\"alg\":\"HS256\"}", PAYLOAD, OTHER, strlen(OTHER), EVP_sha256(), NULL),
               NOW, NULL),
        CH_EJWT_SIGNATURE);
    ASSERT_EQ(
        verify(a,
               forge(hdr_with_kid(a, "HS256"), PAYLOAD, OTHER, strlen(OTHER), EVP_sha256(), NULL),
               NOW, NULL),
        CH_EJWT_SIGNATURE);
    /* A valid token whose header or payload is swapped keeps a signature that no longer fits. */
    struct ch_arena arena;
    ch_arena_init(&arena, NULL, 0);
    struct ch_str tok;
    ASSERT_EQ(ch_auth_token_issue(a, CH_STR("7"), NULL, 0, NOW, &arena, &tok), 0);
    const char *dot1 = strchr(tok.ptr, '.'), *dot2 = strrchr(tok.ptr, '.');
    char t[2048];
    snprintf(t, sizeof(t), "%s%s", b64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27), dot1);
    ASSERT_EQ(verify(a, t, NOW, NULL), CH_EJWT_SIGNATURE);
    snprintf(t, sizeof(t), "%s%.*s", b64("{\"alg\":\"none\",\"typ\":\"JWT\"}", 26),
             (int)strlen(dot1), dot1);
    ASSERT_EQ(verify(a, t, NOW, NULL), CH_EJWT_ALG);
    const char *evil = "{\"sub\":\"1\",\"roles\":[\"admin\"],\"exp\":1700000900}";
    snprintf(t, sizeof(t), "%.*s.%s%s", (int)(dot1 - tok.ptr), tok.ptr, b64(evil, strlen(evil)),
             dot2);
    ASSERT_EQ(verify(a, t, NOW, NULL), CH_EJWT_SIGNATURE);
    ch_arena_cleanup(&arena);
    ch_auth_free(a);
}

TEST(jwt_signature_truncated_padded_noncanonical)
{
    struct ch_auth *a = auth_with(SECRET, NULL, NULL, NULL);
    struct ch_arena arena;
    ch_arena_init(&arena, NULL, 0);
    struct ch_str tok;
    ASSERT_EQ(ch_auth_token_issue(a, CH_STR("7"), NULL, 0, NOW, &arena, &tok), 0);
    char t[2048];
    /* Every truncation of the signature, down to none. */
    const char *dot2 = strrchr(tok.ptr, '.');
    for (size_t cut = 1; cut <= 43; cut++) {
        snprintf(t, sizeof(t), "%.*s", (int)(tok.len - cut), tok.ptr);
        int rc = verify(a, t, NOW, NULL);
        if (rc != CH_EJWT_SIGNATURE) ch_test_fail(__FILE__, __LINE__, "cut %zu: %d", cut, rc);
    }
    ASSERT_EQ((size_t)(tok.ptr + tok.len - dot2 - 1), 43);
    /* Padding, an extra character, whitespace. */
    const char *suffixes[] = {"=", "==", "A", "AAAA", " ", "\n", "%3D"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(t, sizeof(t), "%s%s", tok.ptr, suffixes[i]);
        ASSERT(verify(a, t, NOW, NULL) != 0);
    }
    /* The same 32 bytes spelled with non-zero unused bits in the last character. */
    strcpy(t, tok.ptr);
    char *last = t + tok.len - 1;
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int v = (int)(strchr(alpha, *last) - alpha);
    ASSERT_EQ(v & 3, 0);
    *last = alpha[v | 1];
    ASSERT_EQ(verify(a, t, NOW, NULL), CH_EJWT_MALFORMED);
    /* Standard-alphabet characters in the signature. */
    strcpy(t, tok.ptr);
    t[tok.len - 5] = '+';
    ASSERT_EQ(verify(a, t, NOW, NULL), CH_EJWT_MALFORMED);
    ch_arena_cleanup(&arena);
    ch_auth_free(a);
}

TEST(jwt_segments_and_base64url)
{
    struct ch_auth *a = auth_with(SECRET, NULL, NULL, NULL);
    struct ch_arena arena;
    ch_arena_init(&arena, NULL, 0);
    struct ch_str tok;
    ASSERT_EQ(ch_auth_token_issue(a, CH_STR("7"), NULL, 0, NOW, &arena, &tok), 0);
    const char *dot1 = strchr(tok.ptr, '.'), *dot2 = strrchr(tok.ptr, '.');
    int h = (int)(dot1 - tok.ptr), p = (int)(dot2 - dot1 - 1);
    const char *sig = dot2 + 1;
    char t[4096];
    const char *bad[] = {"", ".", "..", "...", "abc", "a.b", "a.b.c.d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ASSERT_EQ(verify(a, bad[i], NOW, NULL), CH_EJWT_MALFORMED);
    /* Extra and missing segments around a valid token. */
    snprintf(t, sizeof(t), "%s.", tok.ptr);
    ASSERT(verify(a, t, NOW, NULL) != 0);
    snprintf(t, sizeof(t), "%s.%s", tok.ptr, sig);
    ASSERT_EQ(verify(a, t, NOW, NULL), CH_EJWT_MALFORMED);
    snprintf(t, sizeof(t), "%.*s.%s", h, tok.ptr, sig);
    ASSERT(verify(a, t, NOW, NULL) != 0);
    snprintf(t, sizeof(t), ".%.*s.%s", p, dot1 + 1, sig);
    ASSERT_EQ(verify(a, t, NOW, NULL), CH_EJWT_MALFORMED);
    /* Padding or foreign bytes in the header or the payload. */
    snprintf(t, sizeof(t), "%.*s=%s", h, tok.ptr, dot1);
    ASSERT_EQ(verify(a, t, NOW, NULL), CH_EJWT_MALFORMED);
    snprintf(t, sizeof(t), "%.*s.%.*s=.%s", h, tok.ptr, p, dot1 + 1, sig);
    ASSERT(verify(a, t, NOW, NULL) != 0);
    snprintf(t, sizeof(t), " %s", tok.ptr);
    ASSERT_EQ(verify(a, t, NOW, NULL), CH_EJWT_MALFORMED);
    strcpy(t, tok.ptr);
    t[3] = '/';
    ASSERT_EQ(verify(a, t, NOW, NULL), CH_EJWT_MALFORMED);
    /* Header and payload must be JSON objects. */
    const char *k = SECRET;
    size_t kl = strlen(k);
    ASSERT_EQ(verify(a, forge("[\"HS256\"]", PAYLOAD, k, kl, EVP_sha256(), NULL), NOW, NULL),
              CH_EJWT_MALFORMED);
    ASSERT_EQ(verify(a, forge("{\"alg\":\"HS256\"", PAYLOAD, k, kl, EVP_sha256(), NULL), NOW, NULL),
              CH_EJWT_MALFORMED);
    ASSERT_EQ(verify(a, forge("{\"alg\":\"HS256\"}", "42", k, kl, EVP_sha256(), NULL), NOW, NULL),
              CH_EJWT_MALFORMED);
    ASSERT_EQ(
        verify(a, forge("{\"alg\":\"HS256\"}", "{\"exp\":1", k, kl, EVP_sha256(), NULL), NOW, NULL),
        CH_EJWT_MALFORMED);
    ASSERT_EQ(verify(a, forge("{\"alg\":\"HS256\"}", "", k, kl, EVP_sha256(), NULL), NOW, NULL),
              CH_EJWT_MALFORMED);
    ASSERT_EQ(verify(a,
                     forge("{\"alg\":\"HS256\",\"typ\":\"JOSE+JSON\"}", PAYLOAD, k, kl,
                           EVP_sha256(), NULL),
                     NOW, NULL),
              CH_EJWT_MALFORMED);
    ch_arena_cleanup(&arena);
    ch_auth_free(a);
}

TEST(jwt_time_claims)
{
    struct ch_auth *a = auth_with(SECRET, NULL, NULL, NULL);
    const char *k = SECRET;
    size_t kl = strlen(k);
    const char *hdr = "{\"alg\":\"HS256\"}";
    char p[256];
#define TOK(...) (snprintf(p, sizeof(p), __VA_ARGS__), forge(hdr, p, k, kl, EVP_sha256(), NULL))
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d}", NOW - 100), NOW, NULL), CH_EJWT_EXPIRED);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d}", NOW - 30), NOW, NULL), CH_EJWT_EXPIRED);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d}", NOW - 29), NOW, NULL), 0);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d.5}", NOW + 10), NOW, NULL), 0);
    ASSERT_EQ(verify(a, TOK("{\"sub\":\"1\"}"), NOW, NULL), CH_EJWT_CLAIMS); /* no exp */
    ASSERT_EQ(verify(a, TOK("{\"exp\":\"%d\"}", NOW + 10), NOW, NULL), CH_EJWT_CLAIMS);
    ASSERT_EQ(verify(a, TOK("{\"exp\":null}"), NOW, NULL), CH_EJWT_CLAIMS);
    ASSERT_EQ(verify(a, TOK("{\"exp\":1e300}"), NOW, NULL), CH_EJWT_CLAIMS);
    ASSERT_EQ(verify(a, TOK("{\"exp\":-9223372036854775808}"), NOW, NULL), CH_EJWT_EXPIRED);
    ASSERT_EQ(verify(a, TOK("{\"exp\":9223372036854775807,\"nbf\":-9223372036854775808,"
                            "\"iat\":-9223372036854775808}"),
                     NOW, NULL),
              0);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"nbf\":%d}", NOW + 100, NOW + 31), NOW, NULL),
              CH_EJWT_NOT_YET_VALID);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"nbf\":%d}", NOW + 100, NOW + 30), NOW, NULL), 0);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"iat\":%d}", NOW + 100, NOW + 31), NOW, NULL),
              CH_EJWT_NOT_YET_VALID);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"iat\":true}", NOW + 100), NOW, NULL), CH_EJWT_CLAIMS);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"sub\":42}", NOW + 100), NOW, NULL), CH_EJWT_CLAIMS);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"roles\":\"admin\"}", NOW + 100), NOW, NULL),
              CH_EJWT_CLAIMS);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"roles\":[\"a\",1]}", NOW + 100), NOW, NULL),
              CH_EJWT_CLAIMS);
    struct ch_auth_claims c;
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"sub\":\"007\"}", NOW + 100), NOW, &c), 0);
    ASSERT_EQ(c.user_id, -1); /* not a canonical decimal */
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"sub\":\"user@x\"}", NOW + 100), NOW, &c), 0);
    ASSERT_EQ(c.user_id, -1);
    ASSERT_STR_EQ(c.sub, "user@x");
#undef TOK
    ch_auth_free(a);
}

TEST(jwt_issuer_and_audience)
{
    struct ch_auth *a = auth_with(SECRET, NULL, "chopin", "api");
    struct ch_auth *plain = auth_with(SECRET, NULL, NULL, NULL);
    const char *k = SECRET;
    size_t kl = strlen(k);
    const char *hdr = "{\"alg\":\"HS256\"}";
    char p[256];
#define TOK(...) (snprintf(p, sizeof(p), __VA_ARGS__), forge(hdr, p, k, kl, EVP_sha256(), NULL))
    int e = NOW + 100;
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"iss\":\"chopin\",\"aud\":\"api\"}", e), NOW, NULL), 0);
    ASSERT_EQ(
        verify(a, TOK("{\"exp\":%d,\"iss\":\"chopin\",\"aud\":[\"x\",\"api\"]}", e), NOW, NULL), 0);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"iss\":\"evil\",\"aud\":\"api\"}", e), NOW, NULL),
              CH_EJWT_ISSUER);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"aud\":\"api\"}", e), NOW, NULL), CH_EJWT_ISSUER);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"iss\":\"Chopin\",\"aud\":\"api\"}", e), NOW, NULL),
              CH_EJWT_ISSUER);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"iss\":\"chopin\",\"aud\":\"web\"}", e), NOW, NULL),
              CH_EJWT_AUDIENCE);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"iss\":\"chopin\"}", e), NOW, NULL), CH_EJWT_AUDIENCE);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"iss\":\"chopin\",\"aud\":[\"web\"]}", e), NOW, NULL),
              CH_EJWT_AUDIENCE);
    ASSERT_EQ(verify(a, TOK("{\"exp\":%d,\"iss\":\"chopin\",\"aud\":[1]}", e), NOW, NULL),
              CH_EJWT_CLAIMS);
    /* A service that names no audience refuses tokens meant for one. */
    ASSERT_EQ(verify(plain, TOK("{\"exp\":%d,\"aud\":\"api\"}", e), NOW, NULL), CH_EJWT_AUDIENCE);
    ASSERT_EQ(verify(plain, TOK("{\"exp\":%d,\"iss\":\"anyone\"}", e), NOW, NULL), 0);
#undef TOK
    ch_auth_free(a);
    ch_auth_free(plain);
}

TEST(jwt_kid_and_rotation)
{
    struct ch_auth *old = auth_with(OTHER, NULL, NULL, NULL);
    struct ch_auth *rotated = auth_with(SECRET, OTHER, NULL, NULL);
    struct ch_auth *fresh = auth_with(SECRET, NULL, NULL, NULL);
    ASSERT(strcmp(old->keys[0].kid, rotated->keys[0].kid) != 0);
    ASSERT(strcmp(old->keys[0].kid, rotated->keys[1].kid) == 0);
    struct ch_arena arena;
    ch_arena_init(&arena, NULL, 0);
    struct ch_str t_old, t_new;
    ASSERT_EQ(ch_auth_token_issue(old, CH_STR("1"), NULL, 0, NOW, &arena, &t_old), 0);
    ASSERT_EQ(ch_auth_token_issue(rotated, CH_STR("1"), NULL, 0, NOW, &arena, &t_new), 0);
    /* During the rotation both verify; the new key signs. */
    ASSERT_EQ(verify(rotated, t_old.ptr, NOW, NULL), 0);
    ASSERT_EQ(verify(rotated, t_new.ptr, NOW, NULL), 0);
    ASSERT_EQ(verify(fresh, t_new.ptr, NOW, NULL), 0);
    /* After it, the old key is unknown. */
    ASSERT_EQ(verify(fresh, t_old.ptr, NOW, NULL), CH_EJWT_KID);
    ASSERT_EQ(verify(old, t_new.ptr, NOW, NULL), CH_EJWT_KID);
    /* An unknown or malformed kid, and our kid on a token signed with the previous key. */
    const char *k = SECRET;
    size_t kl = strlen(k);
    ASSERT_EQ(
        verify(rotated,
               forge("{\"alg\":\"HS256\",\"kid\":\"nope\"}", PAYLOAD, k, kl, EVP_sha256(), NULL),
               NOW, NULL),
        CH_EJWT_KID);
    ASSERT_EQ(verify(rotated,
                     forge("{\"alg\":\"HS256\",\"kid\":7}", PAYLOAD, k, kl, EVP_sha256(), NULL),
                     NOW, NULL),
              CH_EJWT_KID);
    char h[256];
    snprintf(h, sizeof(h), "{\"alg\":\"HS256\",\"kid\":\"%s\"}", rotated->keys[0].kid);
    ASSERT_EQ(
        verify(rotated, forge(h, PAYLOAD, OTHER, strlen(OTHER), EVP_sha256(), NULL), NOW, NULL),
        CH_EJWT_SIGNATURE);
    ch_arena_cleanup(&arena);
    ch_auth_free(old);
    ch_auth_free(rotated);
    ch_auth_free(fresh);
}

TEST(jwt_size_limit)
{
    struct ch_auth *a = auth_with(SECRET, NULL, NULL, NULL);
    static char big[20000], payload[12000];
    int n = snprintf(payload, sizeof(payload), "{\"exp\":%d,\"pad\":\"", NOW + 100);
    memset(payload + n, 'x', 7000);
    strcpy(payload + n + 7000, "\"}");
    strcpy(big, forge("{\"alg\":\"HS256\"}", payload, SECRET, strlen(SECRET), EVP_sha256(), NULL));
    ASSERT(strlen(big) > 8192);
    ASSERT_EQ(verify(a, big, NOW, NULL), CH_EJWT_TOO_LARGE);
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ASSERT_EQ(verify(a, big, NOW, NULL), CH_EJWT_TOO_LARGE);
    /* Just under the limit is fine. */
    payload[n + 5000] = '\0';
    strcat(payload, "\"}");
    ASSERT_EQ(
        verify(a, forge("{\"alg\":\"HS256\"}", payload, SECRET, strlen(SECRET), EVP_sha256(), NULL),
               NOW, NULL),
        0);
    ch_auth_free(a);
}

TEST(jwt_verify_reads_only_the_token)
{
    struct ch_auth *a = auth_with(SECRET, NULL, NULL, NULL);
    struct ch_arena arena;
    ch_arena_init(&arena, NULL, 0);
    struct ch_str tok;
    ASSERT_EQ(ch_auth_token_issue(a, CH_STR("9"), NULL, 0, NOW, &arena, &tok), 0);
    for (size_t cut = 0; cut <= tok.len; cut++) {
        const char *g = ch_test_guarded(tok.ptr, cut);
        struct ch_auth_claims c;
        int rc = ch_auth_token_verify(a, ch_str_make(g, cut), NOW, &arena, &c);
        ASSERT_EQ(rc == 0, cut == tok.len);
        ch_test_guard_free(g, cut);
    }
    ch_arena_cleanup(&arena);
    ch_auth_free(a);
}

TEST(auth_config_production_secret_rules)
{
    struct ch_auth_config c;
    char err[160];
    ch_auth_config_defaults(&c);
    c.production = 1;
    ASSERT(!ch_auth_new(&c, err, sizeof(err)));
    ASSERT(strstr(err, "JWT_SECRET"));
    c.jwt_secret_len = 31;
    memset(c.jwt_secret, 'k', 31);
    ASSERT(!ch_auth_new(&c, err, sizeof(err)));
    ASSERT(strstr(err, "at least 32"));
    c.jwt_secret_len = 32;
    struct ch_auth *a = ch_auth_new(&c, err, sizeof(err));
    ASSERT(a);
    ch_auth_free(a);
    c.jwt_previous_len = 8;
    ASSERT(!ch_auth_new(&c, err, sizeof(err)));
    ASSERT(strstr(err, "JWT_SECRET_PREVIOUS"));
    /* Development: a random key per auth object, so two of them do not trust each other. */
    ch_auth_config_defaults(&c);
    struct ch_auth *d1 = ch_auth_new(&c, err, sizeof(err)), *d2 = ch_auth_new(&c, err, sizeof(err));
    ASSERT(d1 && d2);
    ASSERT_EQ(ch_auth_config(d1)->jwt_secret_len, 32);
    struct ch_arena arena;
    ch_arena_init(&arena, NULL, 0);
    struct ch_str tok;
    ASSERT_EQ(ch_auth_token_issue(d1, CH_STR("1"), NULL, 0, NOW, &arena, &tok), 0);
    ASSERT_EQ(verify(d1, tok.ptr, NOW, NULL), 0);
    ASSERT_EQ(verify(d2, tok.ptr, NOW, NULL), CH_EJWT_KID);
    ch_arena_cleanup(&arena);
    ch_auth_free(d1);
    ch_auth_free(d2);
}

TEST(auth_config_from_environment)
{
    struct ch_auth_config c;
    char err[160];
    ch_auth_config_defaults(&c);
    ASSERT_EQ(c.jwt_expiry_s, 900);
    ASSERT_EQ(c.jwt_refresh_expiry_s, 30 * 86400);
    ASSERT_EQ(c.jwt_leeway_s, 30);
    setenv("JWT_EXPIRY", "2h", 1);
    setenv("JWT_REFRESH_EXPIRY", "7d", 1);
    setenv("JWT_ALGORITHM", "HS384", 1);
    setenv("AUTH_ARGON2_MEMORY", "64m", 1);
    setenv("AUTH_ARGON2_ITERATIONS", "3", 1);
    setenv("AUTH_ARGON2_PARALLELISM", "2", 1);
    ASSERT_EQ(ch_auth_config_load(&c, 0, err, sizeof(err)), 0);
    ASSERT_EQ(c.jwt_expiry_s, 7200);
    ASSERT_EQ(c.jwt_refresh_expiry_s, 7 * 86400);
    ASSERT_EQ(c.jwt_alg, CH_JWT_HS384);
    ASSERT_EQ(c.argon2.memory_kib, 65536);
    ASSERT_EQ(c.argon2.iterations, 3);
    ASSERT_EQ(c.argon2.parallelism, 2);
    setenv("JWT_ALGORITHM", "none", 1);
    ASSERT_EQ(ch_auth_config_load(&c, 0, err, sizeof(err)), CH_EINVAL);
    ASSERT(strstr(err, "JWT_ALGORITHM"));
    unsetenv("JWT_ALGORITHM");
    setenv("JWT_EXPIRY", "15x", 1);
    ASSERT_EQ(ch_auth_config_load(&c, 0, err, sizeof(err)), CH_EINVAL);
    ASSERT(strstr(err, "JWT_EXPIRY"));
    setenv("JWT_EXPIRY", "0", 1);
    ASSERT_EQ(ch_auth_config_load(&c, 0, err, sizeof(err)), CH_EINVAL);
    unsetenv("JWT_EXPIRY");
    unsetenv("JWT_REFRESH_EXPIRY");
    setenv("AUTH_ARGON2_MEMORY", "8", 1); /* under 8 KiB per lane with p=2 */
    ASSERT_EQ(ch_auth_config_load(&c, 0, err, sizeof(err)), CH_EINVAL);
    unsetenv("AUTH_ARGON2_MEMORY");
    unsetenv("AUTH_ARGON2_ITERATIONS");
    unsetenv("AUTH_ARGON2_PARALLELISM");
}
