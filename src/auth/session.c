/* Refresh tokens: issued with every access token, single-use, rotated, revocable.
 *
 * A refresh token is 32 random bytes in base64url (43 characters), opaque: the database keeps
 * only its SHA-256 (auth_refresh_tokens.token_hash), so a leaked table holds no usable token.
 * Each login starts a family; each refresh marks the presented token used and issues the next
 * one of its family. A used token presented again means two parties hold the chain (a thief
 * and the user), so the whole family is revoked and both must log in again (RFC 9700 4.14.2).
 *
 * Rotation is one batch, one transaction on both drivers:
 *   claim   UPDATE ... SET used_at, replaced_by = <new hash> WHERE the token is unused,
 *           unrevoked and unexpired: one row for exactly one of several concurrent requests
 *           (PostgreSQL makes the others wait on the row lock and then see it used; SQLite
 *           runs write batches one at a time);
 *   reuse   revokes the family when the token was used by someone else (replaced_by differs):
 *           the loser of a race is treated as a reuse, as a replay would be;
 *   next    inserts the new token, only for the claim's winner and only while its family has
 *           no revoked token (a revocation that committed first wins);
 *   user    reads the user for the answer, only when the new token exists.
 * Every refusal is the same 401, whatever the reason (unknown, expired, used, revoked). */
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "auth/routes.h"
#include "chopin/error.h"
#include "chopin/respond.h"

/* Writes a base64url random string of `n` bytes into dst (ch__b64_len(n) + 1 bytes). */
static int random_b64(size_t n, char *dst)
{
    uint8_t raw[32];
    if (n > sizeof(raw) || getrandom(raw, n, 0) != (ssize_t)n) return CH_EIO;
    size_t len = ch__b64_encode(CH__B64_URL, raw, n, dst);
    dst[len] = '\0';
    return 0;
}

/* The stored form of a token: its SHA-256 in lowercase hex. */
static int token_hash(struct ch_str token, char out[CH__TOKEN_HASH_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    if (!EVP_Digest(token.ptr ? token.ptr : "", token.len, d, &dl, EVP_sha256(), NULL) ||
        dl != 32)
        return CH_ENOMEM;
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[CH__TOKEN_HASH_LEN] = '\0';
    return 0;
}

/* A fresh token in f->refresh and its hash in f->refresh_hash. */
static int new_token(struct ch__auth_flow *f)
{
    int rc = random_b64(32, f->refresh);
    return rc ? rc : token_hash(ch_str_make(f->refresh, CH__REFRESH_LEN), f->refresh_hash);
}

static int64_t expires_at(int64_t now)
{
    return now + (int64_t)ch_auth_config(ch__auth_mounted)->jwt_refresh_expiry_s;
}

static struct ch_db_param text(struct ch__auth_flow *f, const char *s)
{
    return ch_db_param_text(ch__auth_copy(f->req, ch_str_cstr(s)));
}

/* Expired tokens are deleted by the logins themselves, at most once a minute per process. */
static _Atomic int64_t last_sweep;

static int sweep_due(int64_t now)
{
    int64_t prev = atomic_load_explicit(&last_sweep, memory_order_relaxed);
    return now - prev >= 60 &&
           atomic_compare_exchange_strong_explicit(&last_sweep, &prev, now, memory_order_relaxed,
                                                   memory_order_relaxed);
}

/* ---- issuing ------------------------------------------------------------------------------- */

static void pair_stored(void *arg, const struct ch_db_outcome *o)
{
    struct ch__auth_flow *f = arg;
    if (o->err)
        ch__auth_db_failed(f->req, o->err);
    else
        ch__auth_answer_tokens(f);
    ch_request_release(f->req);
}

void ch__auth_issue_pair(struct ch__auth_flow *f,
                         int (*extra)(struct ch__auth_flow *f, struct ch_db_batch *b))
{
    struct ch_request *req = f->req;
    int rc = f->family[0] ? 0 : random_b64(16, f->family);
    if (!rc) rc = new_token(f);
    if (rc) {
        ch_error(req, CH_ERR_INTERNAL, "cannot make a refresh token");
        return;
    }
    int64_t now = (int64_t)time(NULL);
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    struct ch_db_param p[5] = {ch_db_param_int(f->id), text(f, f->family),
                               text(f, f->refresh_hash), ch_db_param_int(expires_at(now)),
                               ch_db_param_int(now)};
    struct ch_db_param cutoff = ch_db_param_int(now);
    rc = b ? 0 : CH_ENOMEM;
    if (!rc && extra) rc = extra(f, b);
    if (!rc && sweep_due(now)) rc = ch_db_batch_add(b, ch__auth_st.token_sweep, &cutoff, 1, NULL, NULL);
    if (!rc) rc = ch_db_batch_add(b, ch__auth_st.token_insert, p, 5, NULL, NULL);
    if (rc || !p[1].u.text.ptr || !p[2].u.text.ptr) {
        ch_error(req, CH_ERR_INTERNAL, "cannot queue the query");
        return;
    }
    ch_request_hold(req);
    ch_db_batch_submit(b, pair_stored, f);
}

/* ---- refresh ------------------------------------------------------------------------------- */

static void refused(struct ch_request *req)
{
    ch_error(req, CH_ERR_UNAUTHORIZED, "invalid or expired refresh token");
}

static void next_row(void *arg, const struct ch_db_result *res)
{
    struct ch__auth_flow *f = arg;
    if (ch_db_error(res) == 0 && ch_db_rows(res) == 1) ch__auth_read_user(f, res, -1);
}

static void rotated(void *arg, const struct ch_db_outcome *o)
{
    struct ch__auth_flow *f = arg;
    if (o->err)
        ch__auth_db_failed(f->req, o->err);
    else if (!f->found)
        refused(f->req);
    else
        ch__auth_answer_tokens(f);
    ch_request_release(f->req);
}

static void rotate(struct ch__auth_flow *f)
{
    struct ch_request *req = f->req;
    if (!f->old_hash[0]) { /* not the shape of a token this module issues */
        refused(req);
        return;
    }
    if (new_token(f) != 0) {
        ch_error(req, CH_ERR_INTERNAL, "cannot make a refresh token");
        return;
    }
    int64_t now = (int64_t)time(NULL);
    struct ch_db_param p[4] = {text(f, f->old_hash), ch_db_param_int(now),
                               text(f, f->refresh_hash), ch_db_param_int(expires_at(now))};
    struct ch_db_param user = p[2];
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    if (!b || !p[0].u.text.ptr || !p[2].u.text.ptr ||
        ch_db_batch_add(b, ch__auth_st.token_claim, p, 3, NULL, NULL) != 0 ||
        ch_db_batch_add(b, ch__auth_st.token_reuse, p, 3, NULL, NULL) != 0 ||
        ch_db_batch_add(b, ch__auth_st.token_next, p, 4, NULL, NULL) != 0 ||
        ch_db_batch_add(b, ch__auth_st.token_user, &user, 1, next_row, f) != 0) {
        ch_error(req, CH_ERR_INTERNAL, "cannot queue the query");
        return;
    }
    ch_request_hold(req);
    ch_db_batch_submit(b, rotated, f);
}

/* Reads {"refresh_token": string} into f->old_hash (left empty when the string cannot be a
 * token this module issued, so that no query is made for it). NULL after answering 422 (or
 * the body's own error). */
static struct ch__auth_flow *presented(struct ch_request *req)
{
    const struct ch_json_value *in = ch_json_body(req);
    if (!in) return NULL;
    struct ch_json_check c;
    ch_json_check_init(&c, &req->arena);
    struct ch_str tok = ch_json_check_str(&c, in, "refresh_token", CH_JSON_REQUIRED);
    if (ch_json_check_result(&c) != 0) {
        ch_error_fields(req, &c);
        return NULL;
    }
    struct ch__auth_flow *f = ch_arena_calloc(&req->arena, sizeof(*f));
    if (!f) {
        ch_error(req, CH_ERR_INTERNAL, NULL);
        return NULL;
    }
    f->req = req;
    f->status = 200;
    uint8_t raw[33];
    if (tok.len == CH__REFRESH_LEN && ch__b64_decode(CH__B64_URL, tok.ptr, tok.len, raw) == 32 &&
        token_hash(tok, f->old_hash) != 0) {
        ch_error(req, CH_ERR_INTERNAL, NULL);
        return NULL;
    }
    return f;
}

int ch__auth_refresh(struct ch_request *req)
{
    struct ch__auth_flow *f = presented(req);
    if (f) ch__auth_rate_limit(f, rotate);
    return 0;
}

/* ---- logout -------------------------------------------------------------------------------- */

static void revoked(void *arg, const struct ch_db_outcome *o)
{
    struct ch__auth_flow *f = arg;
    if (o->err)
        ch__auth_db_failed(f->req, o->err);
    else
        ch_respond(f->req, 204);
    ch_request_release(f->req);
}

/* Revokes the token's whole family (the session the login started). An unknown, malformed or
 * already revoked token answers 204 as well: the outcome the client wants holds either way,
 * and the answer tells nothing about which tokens exist. */
static void revoke(struct ch__auth_flow *f)
{
    struct ch_request *req = f->req;
    if (!f->old_hash[0]) {
        ch_respond(req, 204);
        return;
    }
    struct ch_db_param p[2] = {text(f, f->old_hash), ch_db_param_int((int64_t)time(NULL))};
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    if (!b || !p[0].u.text.ptr || ch_db_batch_add(b, ch__auth_st.token_revoke, p, 2, NULL, NULL)) {
        ch_error(req, CH_ERR_INTERNAL, "cannot queue the query");
        return;
    }
    ch_request_hold(req);
    ch_db_batch_submit(b, revoked, f);
}

int ch__auth_logout(struct ch_request *req)
{
    struct ch__auth_flow *f = presented(req);
    if (f) ch__auth_rate_limit(f, revoke);
    return 0;
}

int ch__auth_session_declare(struct ch_app *app)
{
    static const struct {
        int *id;
        const char *name, *sql;
    } st[] = {
        {&ch__auth_st.token_insert, "auth_token_insert",
         "INSERT INTO auth_refresh_tokens (user_id, family, token_hash, expires_at, created_at)"
         " VALUES ($1, $2, $3, $4, $5)"},
        /* $1 the presented token's hash, $2 now, $3 the new token's hash, $4 its expiry. */
        {&ch__auth_st.token_claim, "auth_token_claim",
         "UPDATE auth_refresh_tokens SET used_at = $2, replaced_by = $3"
         " WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2"},
        {&ch__auth_st.token_reuse, "auth_token_reuse",
         "UPDATE auth_refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND family ="
         " (SELECT family FROM auth_refresh_tokens WHERE token_hash = $1"
         " AND used_at IS NOT NULL AND replaced_by <> $3)"},
        {&ch__auth_st.token_next, "auth_token_next",
         "INSERT INTO auth_refresh_tokens (user_id, family, token_hash, expires_at, created_at)"
         " SELECT t.user_id, t.family, $3, CAST($4 AS BIGINT), CAST($2 AS BIGINT)"
         " FROM auth_refresh_tokens t"
         " WHERE t.token_hash = $1 AND t.replaced_by = $3 AND NOT EXISTS"
         " (SELECT 1 FROM auth_refresh_tokens r WHERE r.family = t.family"
         " AND r.revoked_at IS NOT NULL)"},
        {&ch__auth_st.token_user, "auth_token_user",
         "SELECT u.id, u.email, u.username, u.roles FROM auth_refresh_tokens t"
         " JOIN auth_users u ON u.id = t.user_id WHERE t.token_hash = $1"},
        {&ch__auth_st.token_sweep, "auth_token_sweep",
         "DELETE FROM auth_refresh_tokens WHERE expires_at < $1"},
        {&ch__auth_st.token_revoke, "auth_token_revoke",
         "UPDATE auth_refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND family ="
         " (SELECT family FROM auth_refresh_tokens WHERE token_hash = $1)"},
    };
    for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
        if ((*st[i].id = ch_app_statement(app, st[i].name, st[i].sql, NULL)) < 0) return *st[i].id;
    return 0;
}
