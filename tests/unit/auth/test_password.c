/* Argon2id and PHC strings: RFC 9106's vector, round trips, strict parsing, verification. */
#include <stdlib.h>

#include "auth/internal.h"
#include "chopin/error.h"
#include "../test.h"

/* Small costs so the suite stays fast; the defaults are checked separately. */
static struct ch_argon2_params small(void)
{
    struct ch_argon2_params p = {
        .memory_kib = 64, .iterations = 1, .parallelism = 1, .salt_len = 16, .hash_len = 32};
    return p;
}

/* RFC 9106 section 5.3: Argon2id, version 0x13, with secret and associated data. */
TEST(argon2id_rfc9106_vector)
{
    uint8_t pw[32], salt[16], secret[8], ad[12], out[32];
    memset(pw, 1, sizeof(pw));
    memset(salt, 2, sizeof(salt));
    memset(secret, 3, sizeof(secret));
    memset(ad, 4, sizeof(ad));
    static const uint8_t tag[32] = {0x0d, 0x64, 0x0d, 0xf5, 0x8d, 0x78, 0x76, 0x6c,
                                    0x08, 0xc0, 0x37, 0xa3, 0x4a, 0x8b, 0x53, 0xc9,
                                    0xd0, 0x1e, 0xf0, 0x45, 0x2d, 0x75, 0xb6, 0x5e,
                                    0xb5, 0x25, 0x20, 0xe9, 0x6b, 0x01, 0xe6, 0x59};
    struct ch_argon2_params p = {
        .memory_kib = 32, .iterations = 3, .parallelism = 4, .salt_len = 16, .hash_len = 32};
    ASSERT_EQ(ch_argon2id(&p, pw, 32, salt, 16, secret, 8, ad, 12, out), 0);
    ASSERT(memcmp(out, tag, 32) == 0);
    /* Each input matters: without the secret the tag differs. */
    ASSERT_EQ(ch_argon2id(&p, pw, 32, salt, 16, NULL, 0, ad, 12, out), 0);
    ASSERT(memcmp(out, tag, 32) != 0);
}

TEST(argon2_defaults_are_owasp)
{
    struct ch_argon2_params p;
    ch_argon2_params_default(&p);
    ASSERT_EQ(p.memory_kib, 19456);
    ASSERT_EQ(p.iterations, 2);
    ASSERT_EQ(p.parallelism, 1);
    ASSERT_EQ(ch_argon2_params_check(&p), 0);
    p.memory_kib = 7; /* under 8 KiB per lane */
    ASSERT_EQ(ch_argon2_params_check(&p), CH_EINVAL);
}

TEST(phc_hash_and_verify)
{
    struct ch_argon2_params p = small();
    char phc[CH_PHC_MAX];
    int n = ch_password_hash(&p, "correct horse", 13, phc);
    ASSERT(n > 0);
    ASSERT_EQ(strlen(phc), n);
    ASSERT(strncmp(phc, "$argon2id$v=19$m=64,t=1,p=1$", 28) == 0);
    int rehash = -1;
    ASSERT_EQ(ch_password_verify(phc, (size_t)n, "correct horse", 13, &p, &rehash), 1);
    ASSERT_EQ(rehash, 0);
    ASSERT_EQ(ch_password_verify(phc, (size_t)n, "correct horse!", 14, &p, &rehash), 0);
    ASSERT_EQ(ch_password_verify(phc, (size_t)n, "", 0, &p, &rehash), 0);
    ASSERT_EQ(ch_password_verify(phc, (size_t)n, "Correct horse", 13, &p, &rehash), 0);
    /* Two hashes of one password differ (fresh salts). */
    char phc2[CH_PHC_MAX];
    ASSERT(ch_password_hash(&p, "correct horse", 13, phc2) > 0);
    ASSERT(strcmp(phc, phc2) != 0);
}

TEST(phc_other_parameters_verify_and_ask_for_rehash)
{
    struct ch_argon2_params old = {
        .memory_kib = 256, .iterations = 3, .parallelism = 4, .salt_len = 8, .hash_len = 16};
    struct ch_argon2_params cur = small();
    char phc[CH_PHC_MAX];
    int n = ch_password_hash(&old, "pw", 2, phc);
    ASSERT(n > 0);
    ASSERT(strncmp(phc, "$argon2id$v=19$m=256,t=3,p=4$", 29) == 0);
    int rehash = 0;
    ASSERT_EQ(ch_password_verify(phc, (size_t)n, "pw", 2, &cur, &rehash), 1);
    ASSERT_EQ(rehash, 1);
    ASSERT_EQ(ch_password_verify(phc, (size_t)n, "pw", 2, &old, &rehash), 1);
    ASSERT_EQ(rehash, 0);
    /* A mismatch never asks for a rehash. */
    ASSERT_EQ(ch_password_verify(phc, (size_t)n, "px", 2, &cur, &rehash), 0);
    ASSERT_EQ(rehash, 0);
}

/* A hash made by the reference implementation's command line tool (argon2 "somesalt" -id -t 2
 * -m 16 -p 1 with password "password"). */
TEST(phc_reference_hash_verifies)
{
    const char *ref = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$"
                      "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    struct ch_argon2_params cur = small();
    int rehash = 0;
    ASSERT_EQ(ch_password_verify(ref, strlen(ref), "password", 8, &cur, &rehash), 1);
    ASSERT_EQ(rehash, 1);
    ASSERT_EQ(ch_password_verify(ref, strlen(ref), "passwore", 8, &cur, &rehash), 0);
}

TEST(phc_encode_decode_round_trip)
{
    struct ch_phc a = {.params = {.memory_kib = 19456,
                                  .iterations = 2,
                                  .parallelism = 1,
                                  .salt_len = 16,
                                  .hash_len = 32}};
    for (int i = 0; i < 64; i++) a.salt[i] = (uint8_t)(i * 7 + 1), a.hash[i] = (uint8_t)(255 - i);
    for (uint32_t sl = 8; sl <= 64; sl++) {
        for (uint32_t hl = 16; hl <= 64; hl += 7) {
            a.params.salt_len = sl;
            a.params.hash_len = hl;
            char s[CH_PHC_MAX];
            int n = ch_phc_encode(&a, s, sizeof(s));
            ASSERT(n > 0);
            struct ch_phc b;
            ASSERT_EQ(ch_phc_decode(s, (size_t)n, &b), 0);
            ASSERT_EQ(b.params.memory_kib, 19456);
            ASSERT_EQ(b.params.iterations, 2);
            ASSERT_EQ(b.params.parallelism, 1);
            ASSERT_EQ(b.params.salt_len, sl);
            ASSERT_EQ(b.params.hash_len, hl);
            ASSERT(memcmp(a.salt, b.salt, sl) == 0);
            ASSERT(memcmp(a.hash, b.hash, hl) == 0);
            char s2[CH_PHC_MAX];
            ASSERT_EQ(ch_phc_encode(&b, s2, sizeof(s2)), n);
            ASSERT(strcmp(s, s2) == 0);
        }
    }
    char tiny[40];
    ASSERT_EQ(ch_phc_encode(&a, tiny, sizeof(tiny)), CH_ERANGE);
}

TEST(phc_malformed_rejected)
{
    /* A valid string, then one variant per field. */
    const char *good = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$"
                       "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    struct ch_phc phc;
    ASSERT_EQ(ch_phc_decode(good, strlen(good), &phc), 0);
    static const char *bad[] = {
        "",
        "$",
        "argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        /* algorithm */
        "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2d$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$ARGON2ID$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        /* version */
        "$argon2id$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=019$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        /* memory */
        "$argon2id$v=19$m=,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=065536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=-1,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=+65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=7,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=4294967296,t=2,p=1$c29tZXNhbHQ$"
        "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=2097152,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        /* iterations */
        "$argon2id$v=19$m=65536,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=65536,t=1025,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=65536,t=2x,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        /* parallelism */
        "$argon2id$v=19$m=65536,t=2,p=0$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=65536,t=2,p=256$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=64,t=2,p=9$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        /* order and extra parameters */
        "$argon2id$v=19$t=2,m=65536,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=65536,t=2,p=1,keyid=AA$c29tZXNhbHQ$"
        "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=65536,t=2$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        /* salt */
        "$argon2id$v=19$m=65536,t=2,p=1$$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ=$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHR$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=65536,t=2,p=1$c29t_XNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        /* 65 bytes of salt */
        "$argon2id$v=19$m=65536,t=2,p=1$"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        /* hash */
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$",
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1a", /* 9 bytes */
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc=",
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPd",
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPP",
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc$",
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc ",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ch_phc_decode(bad[i], strlen(bad[i]), &phc) != CH_EINVAL)
            ch_test_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
        int rehash;
        ASSERT_EQ(ch_password_verify(bad[i], strlen(bad[i]), "password", 8, NULL, &rehash),
                  CH_EINVAL);
    }
    /* Truncations are refused until the hash is long enough (16 bytes, 22 characters) to be a
     * shorter valid hash, and no truncation is read past its length. */
    size_t n = strlen(good), hash_at = n - 43;
    for (size_t cut = 0; cut < n; cut++) {
        const char *g = ch_test_guarded(good, cut);
        int rc = ch_phc_decode(g, cut, &phc);
        if (cut < hash_at + 22)
            ASSERT_EQ(rc, CH_EINVAL);
        else if (rc == 0)
            ASSERT_EQ(phc.params.hash_len, (cut - hash_at) * 3 / 4);
        ch_test_guard_free(g, cut);
    }
}

TEST(b64_strict)
{
    uint8_t out[16];
    ASSERT_EQ(ch__b64_decode(CH__B64_URL, "QQ", 2, out), 1);
    ASSERT_EQ(out[0], 'A');
    ASSERT_EQ(ch__b64_decode(CH__B64_URL, "QR", 2, out), -1);   /* non-zero trailing bits */
    ASSERT_EQ(ch__b64_decode(CH__B64_URL, "QQ==", 4, out), -1); /* padding */
    ASSERT_EQ(ch__b64_decode(CH__B64_URL, "Q", 1, out), -1);    /* impossible length */
    ASSERT_EQ(ch__b64_decode(CH__B64_URL, "+/8", 3, out), -1);  /* standard alphabet */
    ASSERT_EQ(ch__b64_decode(CH__B64_URL, "-_8", 3, out), 2);
    ASSERT_EQ(ch__b64_decode(CH__B64_STD, "-_8", 3, out), -1);
    ASSERT_EQ(ch__b64_decode(CH__B64_STD, "+/8", 3, out), 2);
    ASSERT_EQ(ch__b64_decode(CH__B64_URL, "QQ\n", 3, out), -1);
    ASSERT_EQ(ch__b64_decode(CH__B64_URL, "", 0, out), 0);
    char enc[8];
    ASSERT_EQ(ch__b64_encode(CH__B64_URL, (const uint8_t *)"\xfb\xff", 2, enc), 3);
    ASSERT_MEM_EQ(enc, 3, "-_8");
}
