/* Authentication: password hashing (Argon2id), access tokens (JWT), and route guards.
 *
 * An app builds one struct ch_auth after ch_app_configure() (so .env is loaded and
 * ENVIRONMENT known), protects routes with the guard middleware, and frees it after the app:
 *
 *     struct ch_app *app = ch_app_new();
 *     int rc = ch_app_configure(app, argc, argv);
 *     char err[256];
 *     struct ch_auth *auth = rc ? NULL : ch_auth_from_app(app, err, sizeof(err));
 *     if (!auth) ... print err, exit 2
 *     struct ch_group *admin = ch_group_new(app, "/admin");
 *     ch_group_use(admin, ch_auth_role(auth, "admin")); // 401 no token, 403 no role
 *     ...
 *     rc = ch_app_serve(app);
 *     ch_app_free(app);
 *     ch_auth_free(auth);
 *
 * A handler behind a guard reads the verified claims with ch_auth(req).
 *
 * Passwords. Argon2id (RFC 9106) through libargon2, the reference implementation, chosen over
 * libsodium because it exposes the secret and associated-data inputs (so RFC 9106's own test
 * vectors can be checked against this code) and accepts every parallelism value (libsodium only
 * p=1), so hashes made elsewhere with p > 1 verify. Hashes are stored as PHC strings:
 *     $argon2id$v=19$m=19456,t=2,p=1$<salt, base64 without padding>$<hash, same>
 * The defaults are OWASP's (19 MiB, 2 passes, 1 lane, 16-byte salt, 32-byte hash). Hashing and
 * verifying cost tens of milliseconds of CPU and memory, so from a handler they run on a small
 * thread pool (ch_auth_hash_password(), ch_auth_verify_password()) and the result comes back
 * on the request's worker loop; the loop never blocks on them.
 *
 * Tokens. JWT (RFC 7519) in compact JWS form, HMAC-SHA-2 (HS256 by default; HS384, HS512).
 * Verification accepts only the configured algorithm ("none", RS256, a changed header: all
 * refused before any key is used), strict base64url (no padding, only the URL alphabet,
 * canonical trailing bits), exactly three segments, JSON objects for header and payload, a
 * constant-time signature comparison, exp (required), nbf and iat with a leeway, iss and aud
 * when configured, and a size limit. The header's kid (a fingerprint of the key, derived, not
 * configured) selects the key: tokens signed with JWT_SECRET_PREVIOUS stay valid during a key
 * rotation, and a token naming an unknown kid is refused.
 *
 * Settings (environment, read by ch_auth_config_load()):
 *   JWT_SECRET              the signing key (its bytes as given). Production: required, at least
 *                           32 bytes, else a startup error. Development: when unset, a random
 *                           per-process key is generated with a warning (tokens then die with
 *                           the process); a short one is accepted with a warning.
 *   JWT_SECRET_PREVIOUS     the key before a rotation: still verifies, never signs
 *   JWT_ALGORITHM           HS256 (default), HS384, HS512
 *   JWT_EXPIRY              access-token lifetime, default 15m (units s, m, h, d)
 *   JWT_REFRESH_EXPIRY      refresh-token lifetime, default 30d
 *   JWT_LEEWAY              clock skew allowed on exp/nbf/iat, default 30s
 *   JWT_ISSUER, JWT_AUDIENCE  set in issued tokens and required in verified ones when non-empty
 *   JWT_MAX_SIZE            longest token accepted, default 8192 bytes
 *   AUTH_ARGON2_MEMORY      KiB (or k/KiB, m/MiB suffix), default 19456
 *   AUTH_ARGON2_ITERATIONS  passes, default 2
 *   AUTH_ARGON2_PARALLELISM lanes, default 1
 *   AUTH_HASH_THREADS       hashing threads, default: CPUs, at most 4
 *   AUTH_HASH_QUEUE         hashes waiting at most before CH_EBUSY (503), default 256
 *   AUTH_LOCKOUT_ATTEMPTS   failed logins in a row that lock a login name, default 5 (0: off)
 *   AUTH_LOCKOUT_SECONDS    how long the lock lasts, and how close together failures must be
 *                           to count as "in a row", default 15m (a duration)
 *   AUTH_RATE_LIMIT         requests per client address and window on the POST auth routes,
 *                           default 30 (0: off)
 *   AUTH_RATE_WINDOW        the rate limit's fixed window, default 60s
 *   AUTH_TRUST_PROXY        0 (default): the client address is the connection's peer. N > 0:
 *                           N proxies that append to X-Forwarded-For stand in front of the app,
 *                           and the client is the Nth address from the right of that header
 *                           (set it only behind such proxies: clients can send the header). */
#ifndef CHOPIN_AUTH_H
#define CHOPIN_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "arena.h"
#include "json.h"
#include "request.h"
#include "str.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Argon2id and PHC strings (blocking calls: use them off the event loop)                   */

struct ch_argon2_params {
    uint32_t memory_kib;  /* m: 8 * parallelism .. 1048576 (1 GiB) */
    uint32_t iterations;  /* t: 1 .. 1024 */
    uint32_t parallelism; /* p: 1 .. 255 */
    uint32_t salt_len;    /* 8 .. 64 bytes */
    uint32_t hash_len;    /* 16 .. 64 bytes */
};

/* OWASP's recommendation: m=19456 KiB, t=2, p=1, 16-byte salt, 32-byte hash. */
void ch_argon2_params_default(struct ch_argon2_params *p);

/* 0 when every field is within the ranges above, CH_EINVAL otherwise. */
int ch_argon2_params_check(const struct ch_argon2_params *p);

/* Raw Argon2id, version 0x13, with the optional secret (K) and associated data (X) of RFC 9106
 * (NULL/0 for none). Writes p->hash_len bytes to `out`; p->salt_len is ignored (`salt_len`
 * counts). 0, CH_EINVAL for out-of-range inputs, CH_ENOMEM. */
int ch_argon2id(const struct ch_argon2_params *p, const void *pw, size_t pw_len, const void *salt,
                size_t salt_len, const void *secret, size_t secret_len, const void *ad,
                size_t ad_len, uint8_t *out);

/* A decoded PHC string. */
struct ch_phc {
    struct ch_argon2_params params; /* salt_len and hash_len give the lengths below */
    uint8_t salt[64];
    uint8_t hash[64];
};

/* Room for any PHC string this module writes, with its NUL. */
#define CH_PHC_MAX 256

/* Parses exactly `$argon2id$v=19$m=M,t=T,p=P$SALT$HASH` (parameters in that order, decimal
 * without sign or leading zeros, within the ranges above; salt and hash in standard base64
 * without padding, canonical). 0, or CH_EINVAL for anything else. */
int ch_phc_decode(const char *s, size_t len, struct ch_phc *out);

/* Writes the PHC string of `phc` and its NUL into out[cap]; returns its length, or CH_EINVAL
 * (parameters out of range) or CH_ERANGE (too small a buffer). */
int ch_phc_encode(const struct ch_phc *phc, char *out, size_t cap);

/* Hashes a password with a fresh random salt into a PHC string in out[CH_PHC_MAX]. Returns the
 * string's length, or CH_EINVAL, CH_ENOMEM, CH_EIO (no randomness). */
int ch_password_hash(const struct ch_argon2_params *p, const char *pw, size_t pw_len, char *out);

/* Checks a password against a stored PHC string, with the parameters stored in it. Returns 1
 * on a match, 0 on a mismatch, CH_EINVAL for a malformed string, CH_ENOMEM. When `current` and
 * `needs_rehash` are not NULL, *needs_rehash is set on a match whose m, t, p or hash length
 * differ from `current`: the caller should store a new hash made with the current parameters.
 * The comparison of the hashes is constant-time. */
int ch_password_verify(const char *phc, size_t phc_len, const char *pw, size_t pw_len,
                       const struct ch_argon2_params *current, int *needs_rehash);

/* ---------------------------------------------------------------------------------------- */
/* Settings and the auth object                                                             */

enum ch_jwt_alg {
    CH_JWT_HS256,
    CH_JWT_HS384,
    CH_JWT_HS512,
};

/* Longest JWT_SECRET / JWT_SECRET_PREVIOUS accepted. */
#define CH_AUTH_MAX_SECRET 512

struct ch_auth_config {
    int production; /* stricter checks: see JWT_SECRET above */
    enum ch_jwt_alg jwt_alg;
    uint8_t jwt_secret[CH_AUTH_MAX_SECRET];
    size_t jwt_secret_len; /* 0: none (a random key in development, an error in production) */
    uint8_t jwt_previous[CH_AUTH_MAX_SECRET];
    size_t jwt_previous_len; /* 0: none */
    char jwt_issuer[256];    /* empty: not set, not checked */
    char jwt_audience[256];  /* empty: not set, not checked */
    uint32_t jwt_expiry_s;
    uint32_t jwt_refresh_expiry_s;
    uint32_t jwt_leeway_s;
    size_t jwt_max_size;
    struct ch_argon2_params argon2;
    int hash_threads;
    int hash_queue;
    uint32_t lockout_attempts; /* AUTH_LOCKOUT_ATTEMPTS; 0: no lockout */
    uint32_t lockout_s;        /* AUTH_LOCKOUT_SECONDS */
    uint32_t rate_limit;       /* AUTH_RATE_LIMIT requests per window and address; 0: none */
    uint32_t rate_window_s;    /* AUTH_RATE_WINDOW */
    uint32_t trust_proxy;      /* AUTH_TRUST_PROXY: proxies in front whose X-Forwarded-For counts */
};

/* Every field at its default (development, no secret). */
void ch_auth_config_defaults(struct ch_auth_config *cfg);

/* Fills `cfg` from the environment (the settings listed at the top; unset ones keep their
 * value). Returns 0, or CH_EINVAL with a one-line reason in err[errlen]. */
int ch_auth_config_load(struct ch_auth_config *cfg, int production, char *err, size_t errlen);

struct ch_auth;

/* An auth object for `cfg` (copied). Checks the secrets (production: JWT_SECRET present and at
 * least 32 bytes, JWT_SECRET_PREVIOUS too when set) and the Argon2 parameters; generates the
 * development key when none is set and logs a warning. NULL with a one-line reason in
 * err[errlen] on a bad setting or when out of memory. The hashing threads start on first use. */
struct ch_auth *ch_auth_new(const struct ch_auth_config *cfg, char *err, size_t errlen);

/* Declares the settings above on the app (ch_app_setting()), so --help lists them. Call it
 * before ch_app_configure(). 0 or the first CH_E* code. */
int ch_auth_declare_settings(struct ch_app *app);

/* ch_auth_config_load() with the app's ENVIRONMENT, then ch_auth_new(): call it after
 * ch_app_configure(). NULL with a reason in err[errlen]. */
struct ch_auth *ch_auth_from_app(struct ch_app *app, char *err, size_t errlen);

/* Stops the hashing threads and frees everything. Call it after the app stopped serving
 * (ch_app_serve() returned): hashes still queued are dropped without their callbacks. */
void ch_auth_free(struct ch_auth *auth);

/* The settings in use (the development key included). */
const struct ch_auth_config *ch_auth_config(const struct ch_auth *auth);

/* ---------------------------------------------------------------------------------------- */
/* Password hashing off the event loop                                                      */

/* `err` is 0 and `phc` the NUL-terminated PHC string (valid during the call), or `err` is a
 * CH_E* code and `phc` NULL. */
typedef void (*ch_auth_hash_fn)(struct ch_request *req, int err, const char *phc, void *arg);

/* `result` is 1 (match), 0 (mismatch) or a negative CH_E* code (CH_EINVAL: a malformed stored
 * hash); `needs_rehash` is 1 on a match whose parameters differ from the configured ones. */
typedef void (*ch_auth_verify_fn)(struct ch_request *req, int result, int needs_rehash, void *arg);

/* Hashes `password` with the configured parameters on the hashing pool. The request is held
 * (ch_request_hold()) until `done` has run on its worker's loop, and released right after.
 * Returns 0 when queued, or CH_EBUSY (queue full: answer 503), CH_EINVAL (over 4096 bytes),
 * CH_ENOMEM, CH_EIO; `done` is then never called. The password is copied and wiped after use. */
int ch_auth_hash_password(struct ch_auth *auth, struct ch_request *req, struct ch_str password,
                          ch_auth_hash_fn done, void *arg);

/* Verifies `password` against the stored PHC string `phc` on the pool, like above. An empty
 * `phc` (an unknown user) verifies against a dummy hash of the configured parameters and
 * answers 0 after the same work, so a login cannot tell unknown users from wrong passwords by
 * timing. */
int ch_auth_verify_password(struct ch_auth *auth, struct ch_request *req, struct ch_str phc,
                            struct ch_str password, ch_auth_verify_fn done, void *arg);

/* ---------------------------------------------------------------------------------------- */
/* Tokens                                                                                   */

/* Token verification failures (negative, apart from the CH_E* codes). */
enum ch_auth_error {
    CH_EJWT_MALFORMED = -200,     /* not three strict base64url segments of JSON objects */
    CH_EJWT_TOO_LARGE = -201,     /* longer than JWT_MAX_SIZE */
    CH_EJWT_ALG = -202,           /* header alg is not the configured algorithm, or crit */
    CH_EJWT_KID = -203,           /* kid names no configured key */
    CH_EJWT_SIGNATURE = -204,     /* the signature does not match */
    CH_EJWT_EXPIRED = -205,       /* now >= exp + leeway */
    CH_EJWT_NOT_YET_VALID = -206, /* now + leeway < nbf, or iat in the future */
    CH_EJWT_ISSUER = -207,        /* iss differs from JWT_ISSUER */
    CH_EJWT_AUDIENCE = -208,      /* aud does not contain JWT_AUDIENCE */
    CH_EJWT_CLAIMS = -209,        /* exp missing, or a registered claim of the wrong type */
};

/* A short English phrase for a CH_EJWT_* (or CH_E*) code; never NULL. */
const char *ch_auth_strerror(int err);

/* A verified token's claims; strings and the payload tree live in the arena given to
 * ch_auth_token_verify() (the request's arena for the guards). */
struct ch_auth_claims {
    struct ch_str sub;          /* the subject (user id); empty when absent */
    int64_t user_id;            /* sub as a decimal integer, or -1 when it is not one */
    const struct ch_str *roles; /* the "roles" claim (an array of strings) */
    size_t nroles;
    int64_t exp, iat, nbf;               /* 0 when absent (exp never is) */
    struct ch_str kid;                   /* the header's kid; empty when absent */
    const struct ch_json_value *payload; /* the whole payload, for app-defined claims */
};

/* 1 when `claims` has `role` among its roles, else 0 (also for NULL claims). */
int ch_auth_has_role(const struct ch_auth_claims *claims, const char *role);

/* Issues an access token: {"sub","roles","iat","exp"(now + JWT_EXPIRY)} plus iss and aud when
 * configured, signed with the current key. `now` is in seconds since the epoch (time(NULL)).
 * The token is NUL-terminated in the arena. 0, CH_ENOMEM or CH_EINVAL. */
int ch_auth_token_issue(const struct ch_auth *auth, struct ch_str sub, const char *const *roles,
                        size_t nroles, int64_t now, struct ch_arena *arena, struct ch_str *token);

/* Signs an arbitrary payload (one JSON object, trusted) with the current key and the header
 * {"alg","typ":"JWT","kid"}; for tokens with app-defined claims. 0, CH_ENOMEM or CH_EINVAL. */
int ch_auth_token_sign(const struct ch_auth *auth, struct ch_str payload, struct ch_arena *arena,
                       struct ch_str *token);

/* Verifies a compact JWS token at time `now` (seconds since the epoch) as described at the
 * top, and fills *claims (allocations in `arena`). Returns 0, a CH_EJWT_* code, or CH_ENOMEM.
 * Never reads outside token. */
int ch_auth_token_verify(const struct ch_auth *auth, struct ch_str token, int64_t now,
                         struct ch_arena *arena, struct ch_auth_claims *claims);

/* ---------------------------------------------------------------------------------------- */
/* Built-in routes                                                                          */

/* Mounts the account routes under `prefix` ("/api/auth") and declares their migrations (set
 * "auth", versions 1-3: tables auth_users, auth_refresh_tokens, auth_login_failures,
 * auth_rate_limits) and statements, so the app must use ch_app_use_database():
 *   POST prefix/signup {"email","username","password"} -> 201 {"access_token","refresh_token",
 *        "token_type","expires_in","refresh_expires_in","user":{"id","email","username"}};
 *        409 when the email or the username (case-insensitive) is taken; 422 with fields
 *        (password 8-1024 bytes, username 3-32 of [A-Za-z0-9_.-], an email address)
 *   POST prefix/login {"email" or "username" (or "login"),"password"} -> 200, same shape, a new
 *        session; an unknown account and a wrong password give the same 401 after the same
 *        Argon2id work; a hash with outdated parameters is replaced on a successful login
 *   POST prefix/refresh {"refresh_token"} -> 200, same shape: the presented token is used up
 *        and the next one of its session ("family") is issued. A used token presented again
 *        revokes the whole family (its newest token included). Concurrent refreshes of one
 *        token: exactly one wins, the others count as a reuse. Unknown, expired, used, revoked
 *        or malformed: 401; a missing or non-string refresh_token: 422
 *   POST prefix/logout {"refresh_token"} -> 204 after revoking the token's family; also 204
 *        for an unknown token (idempotent, and no oracle for which tokens exist)
 *   GET  prefix/me (bearer token) -> {"id","email","username","roles"}
 * Refresh tokens are 32 random bytes in base64url, stored only as their SHA-256, valid for
 * JWT_REFRESH_EXPIRY. Brute force: AUTH_LOCKOUT_ATTEMPTS failed logins in a row lock the login
 * name (as typed, lowercased: unknown names lock the same way, so the lock reveals no account)
 * for AUTH_LOCKOUT_SECONDS, and each client address may POST AUTH_RATE_LIMIT times per
 * AUTH_RATE_WINDOW to these routes (me is not limited); both answer 429 TOO_MANY_REQUESTS with
 * Retry-After, and keep their counts in the database so they hold across workers and instances.
 * Roles are the comma-separated auth_users.roles column. Once per process (again after
 * ch_auth_free()); 0 or a CH_E* code. */
int ch_auth_mount(struct ch_app *app, struct ch_auth *auth, const char *prefix);

/* ---------------------------------------------------------------------------------------- */
/* Guards                                                                                   */

/* Requires "Authorization: Bearer <token>" with a valid token; otherwise answers 401 with
 * "WWW-Authenticate: Bearer" (plus error="invalid_token" for a bad token, or 400 with
 * error="invalid_request" for a malformed or repeated Authorization header) and the handler
 * does not run. */
struct ch_middleware ch_auth_required(struct ch_auth *auth);

/* As ch_auth_required(), but a request without an Authorization header goes on anonymously
 * (ch_auth() is NULL). A bad token is still refused with 401: a client sending one must learn
 * that it is not signed in. */
struct ch_middleware ch_auth_optional(struct ch_auth *auth);

/* ch_auth_required(), then 403 FORBIDDEN (WWW-Authenticate: Bearer error="insufficient_scope")
 * unless the token's roles include `role` (copied). Several role guards on one route require
 * all their roles. */
struct ch_middleware ch_auth_role(struct ch_auth *auth, const char *role);

/* The claims of the request's verified token, or NULL (no guard ran, or an optional guard saw
 * no token). */
const struct ch_auth_claims *ch_auth(const struct ch_request *req);

#ifdef __cplusplus
}
#endif

#endif
