/* Internals shared by the built-in auth routes: routes.c (signup, login, me, mounting),
 * session.c (refresh tokens: issue, rotate, revoke) and limits.c (per-address rate limit,
 * per-login lockout). All their state is in the database, so it holds across workers and
 * instances. */
#ifndef CH_AUTH_ROUTES_H
#define CH_AUTH_ROUTES_H

#include <stdint.h>

#include "auth/internal.h"
#include "chopin/db.h"

/* Statement ids, declared once by ch_auth_mount(). */
struct ch__auth_stmts {
    int insert_user, user_by_login, user_by_id, set_hash;
    int token_insert, token_claim, token_reuse, token_next, token_user, token_revoke, token_sweep;
    int rate_hit, rate_sweep, lock_get, lock_fail, lock_clear, lock_sweep;
};

/* The mount's auth object and statements (one mount per process). */
extern struct ch_auth *ch__auth_mounted;
extern struct ch__auth_stmts ch__auth_st;

/* Room for a refresh token (base64url of 32 random bytes: 43 characters), a family id (16
 * bytes: 22) and the hex SHA-256 stored instead of a token (64), each with its NUL. */
enum { CH__REFRESH_LEN = 43, CH__FAMILY_LEN = 22, CH__TOKEN_HASH_LEN = 64 };

struct ch__auth_flow;
typedef void (*ch__auth_step)(struct ch__auth_flow *f);

/* A request's progress through its asynchronous steps, in its arena. */
struct ch__auth_flow {
    struct ch_request *req;
    int64_t id; /* the user */
    struct ch_str email, username, roles, phc, password;
    struct ch_str login; /* the lowercased login name: the lockout's key */
    int found;
    int status;         /* the success status: 201 signup, 200 login and refresh */
    int64_t limit_a;    /* a limit's query result: hits, or locked_until */
    int64_t limit_b;    /* the rate window's start */
    ch__auth_step next; /* what runs once the rate limit let the request through */
    char refresh[CH__REFRESH_LEN + 1];         /* the refresh token handed out */
    char refresh_hash[CH__TOKEN_HASH_LEN + 1]; /* its stored hash */
    char old_hash[CH__TOKEN_HASH_LEN + 1];     /* refresh, logout: the presented token's hash */
    char family[CH__FAMILY_LEN + 1];
};

/* Copies `s` into the request's arena ({NULL, 0} when out of memory). */
struct ch_str ch__auth_copy(struct ch_request *req, struct ch_str s);

/* Answers with the user in f and a fresh access token, plus f->refresh (status f->status). */
void ch__auth_answer_tokens(struct ch__auth_flow *f);

/* Answers a failed batch: 503 when the database is unavailable, else 500. */
void ch__auth_db_failed(struct ch_request *req, int err);

/* Reads the user columns (id, email, username, roles) of row 0 into f. */
void ch__auth_read_user(struct ch__auth_flow *f, const struct ch_db_result *res, int phc_col);

/* ---- session.c -------------------------------------------------------------------------- */

/* Makes a new refresh token for f->id in family f->family (a new family when it is empty),
 * stores its hash with the other queries of `extra` (may be NULL), then answers with the
 * pair. `extra` adds statements to the batch (the login's lockout reset). */
void ch__auth_issue_pair(struct ch__auth_flow *f,
                         int (*extra)(struct ch__auth_flow *f, struct ch_db_batch *b));

/* POST prefix/refresh and POST prefix/logout. */
int ch__auth_refresh(struct ch_request *req);
int ch__auth_logout(struct ch_request *req);

/* ---- limits.c --------------------------------------------------------------------------- */

/* Counts the request against its client address's rate limit, then runs next(f), or answers
 * 429 with Retry-After. With AUTH_RATE_LIMIT=0, next(f) runs at once. */
void ch__auth_rate_limit(struct ch__auth_flow *f, ch__auth_step next);

/* Answers 429 TOO_MANY_REQUESTS with Retry-After: `seconds` (at least 1). */
void ch__auth_too_many(struct ch_request *req, int64_t seconds, const char *message);

/* Writes the client's address (the rate limit's key) into dst[cap]: the peer address, or the
 * AUTH_TRUST_PROXY-th X-Forwarded-For entry from the right; an IPv6 address as its /64. */
void ch__auth_client(const struct ch_request *req, uint32_t trust_proxy, char *dst, size_t cap);

/* Adds the lockout's queries to a batch: the lock of f->login (read into f->limit_a), a
 * failure (sets f->limit_a to the new locked_until), and the reset after a good login. */
int ch__auth_lock_get(struct ch__auth_flow *f, struct ch_db_batch *b);
int ch__auth_lock_fail(struct ch__auth_flow *f, struct ch_db_batch *b);
int ch__auth_lock_clear(struct ch__auth_flow *f, struct ch_db_batch *b);

/* Declares the limits' and the sessions' statements (0 or a CH_E* code). */
int ch__auth_limits_declare(struct ch_app *app);
int ch__auth_session_declare(struct ch_app *app);

#endif
