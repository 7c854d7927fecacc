/* The built-in auth routes: signup, login and me over the auth_users table, and the mount
 * (refresh and logout are in session.c, the rate limit and the lockout in limits.c).
 *
 * No user enumeration at login: an unknown account is verified against a dummy hash (the same
 * Argon2id work as a real one) and both failures give the same 401 message. Passwords are
 * hashed and checked on the hashing pool, never on the loop. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/routes.h"
#include "chopin/db.h"
#include "chopin/error.h"
#include "chopin/respond.h"

enum { MIN_PASSWORD = 8, MAX_PASSWORD = 1024, MAX_EMAIL = 254, MIN_USER = 3, MAX_USER = 32 };

static const struct ch_migration migrations[] = {
    {.version = 1,
     .name = "create_auth_users",
     .sql_sqlite = "CREATE TABLE auth_users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,"
                   " username TEXT NOT NULL, password_hash TEXT NOT NULL,"
                   " roles TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL);"
                   "CREATE UNIQUE INDEX auth_users_username ON auth_users (lower(username))",
     .sql_postgres = "CREATE TABLE auth_users (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                     " email TEXT NOT NULL UNIQUE, username TEXT NOT NULL,"
                     " password_hash TEXT NOT NULL, roles TEXT NOT NULL DEFAULT '',"
                     " created_at BIGINT NOT NULL);"
                     "CREATE UNIQUE INDEX auth_users_username ON auth_users (lower(username))",
     .down = "DROP TABLE auth_users"},
    /* Refresh tokens (session.c): only their SHA-256 is stored. replaced_by names the token
     * that a rotation issued, which tells the rotation's winner from a reuse. */
    {.version = 2,
     .name = "create_auth_refresh_tokens",
     .sql_sqlite = "CREATE TABLE auth_refresh_tokens (id INTEGER PRIMARY KEY,"
                   " user_id BIGINT NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,"
                   " family TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, replaced_by TEXT,"
                   " expires_at BIGINT NOT NULL, used_at BIGINT, revoked_at BIGINT,"
                   " created_at BIGINT NOT NULL);"
                   "CREATE INDEX auth_refresh_tokens_family ON auth_refresh_tokens (family);"
                   "CREATE INDEX auth_refresh_tokens_user ON auth_refresh_tokens (user_id);"
                   "CREATE INDEX auth_refresh_tokens_expiry ON auth_refresh_tokens (expires_at)",
     .sql_postgres = "CREATE TABLE auth_refresh_tokens ("
                     " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                     " user_id BIGINT NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,"
                     " family TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, replaced_by TEXT,"
                     " expires_at BIGINT NOT NULL, used_at BIGINT, revoked_at BIGINT,"
                     " created_at BIGINT NOT NULL);"
                     "CREATE INDEX auth_refresh_tokens_family ON auth_refresh_tokens (family);"
                     "CREATE INDEX auth_refresh_tokens_user ON auth_refresh_tokens (user_id);"
                     "CREATE INDEX auth_refresh_tokens_expiry ON auth_refresh_tokens (expires_at)",
     .down = "DROP TABLE auth_refresh_tokens"},
    /* The brute-force limits' state (limits.c). */
    {.version = 3,
     .name = "create_auth_limits",
     .sql = "CREATE TABLE auth_login_failures (account TEXT PRIMARY KEY,"
            " failures INTEGER NOT NULL, locked_until BIGINT NOT NULL,"
            " updated_at BIGINT NOT NULL);"
            "CREATE INDEX auth_login_failures_updated ON auth_login_failures (updated_at);"
            "CREATE TABLE auth_rate_limits (client TEXT PRIMARY KEY,"
            " window_start BIGINT NOT NULL, hits INTEGER NOT NULL);"
            "CREATE INDEX auth_rate_limits_window ON auth_rate_limits (window_start)",
     .down = "DROP TABLE auth_rate_limits; DROP TABLE auth_login_failures"},
};

/* One mount per process: the routes' handlers reach these. */
struct ch_auth *ch__auth_mounted;
struct ch__auth_stmts ch__auth_st;

struct ch_str ch__auth_copy(struct ch_request *req, struct ch_str s)
{
    char *p = ch_arena_strndup(&req->arena, s.ptr ? s.ptr : "", s.len);
    return p ? ch_str_make(p, s.len) : (struct ch_str){NULL, 0};
}

/* roles "admin,editor" -> NUL-terminated strings in the arena. */
static size_t split_roles(struct ch_request *req, struct ch_str roles, const char **out, size_t max)
{
    size_t n = 0, i = 0;
    while (i < roles.len && n < max) {
        size_t j = i;
        while (j < roles.len && roles.ptr[j] != ',') j++;
        if (j > i) out[n++] = ch_arena_strndup(&req->arena, roles.ptr + i, j - i);
        i = j + 1;
    }
    return n;
}

/* The user as the routes show it; with its roles for me. */
static void write_user(struct ch_json_writer *w, const struct ch__auth_flow *f, int with_roles)
{
    ch_json_object_begin(w);
    ch_json_key(w, "id");
    ch_json_int(w, f->id);
    ch_json_key(w, "email");
    ch_json_str(w, f->email);
    ch_json_key(w, "username");
    ch_json_str(w, f->username);
    if (with_roles) {
        const char *roles[16];
        size_t n = split_roles(f->req, f->roles, roles, 16);
        ch_json_key(w, "roles");
        ch_json_array_begin(w);
        for (size_t i = 0; i < n; i++) ch_json_string(w, roles[i]);
        ch_json_array_end(w);
    }
    ch_json_object_end(w);
}

void ch__auth_read_user(struct ch__auth_flow *f, const struct ch_db_result *res, int phc_col)
{
    f->found = 1;
    f->id = ch_db_int(res, 0, 0);
    f->email = ch__auth_copy(f->req, ch_db_text(res, 0, 1));
    f->username = ch__auth_copy(f->req, ch_db_text(res, 0, 2));
    f->roles = ch__auth_copy(f->req, ch_db_text(res, 0, 3));
    if (phc_col >= 0) f->phc = ch__auth_copy(f->req, ch_db_text(res, 0, phc_col));
}

void ch__auth_answer_tokens(struct ch__auth_flow *f)
{
    struct ch_request *req = f->req;
    char id[24];
    int n = snprintf(id, sizeof(id), "%lld", (long long)f->id);
    const char *roles[16];
    size_t nroles = split_roles(req, f->roles, roles, 16);
    struct ch_str tok;
    if (ch_auth_token_issue(ch__auth_mounted, ch_str_make(id, (size_t)n), roles, nroles,
                            (int64_t)time(NULL), &req->arena, &tok) != 0) {
        ch_error(req, CH_ERR_INTERNAL, "cannot issue a token");
        return;
    }
    const struct ch_auth_config *cfg = ch_auth_config(ch__auth_mounted);
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "access_token");
    ch_json_str(w, tok);
    ch_json_key(w, "refresh_token");
    ch_json_string(w, f->refresh);
    ch_json_key(w, "token_type");
    ch_json_string(w, "Bearer");
    ch_json_key(w, "expires_in");
    ch_json_int(w, cfg->jwt_expiry_s);
    ch_json_key(w, "refresh_expires_in");
    ch_json_int(w, cfg->jwt_refresh_expiry_s);
    ch_json_key(w, "user");
    write_user(w, f, 0);
    ch_json_object_end(w);
    ch_respond(req, f->status);
}

void ch__auth_db_failed(struct ch_request *req, int err)
{
    ch_error(req, err == CH_EUNAVAILABLE ? CH_ERR_SERVICE_UNAVAILABLE : CH_ERR_DATABASE, NULL);
}

static int pool_failed(struct ch_request *req, int rc)
{
    if (rc == CH_EBUSY) {
        ch_res_header(req, CH_STR("Retry-After"), CH_STR("1"));
        return ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "too many logins at once");
    }
    return ch_error(req, CH_ERR_INTERNAL, "password hashing failed: %s", ch_strerror(rc));
}

/* ---- signup -------------------------------------------------------------------------------- */

static void inserted_row(void *arg, const struct ch_db_result *res)
{
    struct ch__auth_flow *f = arg;
    if (ch_db_error(res) == 0 && ch_db_rows(res) == 1) {
        f->id = ch_db_int(res, 0, 0);
        f->found = 1;
    }
}

static void inserted(void *arg, const struct ch_db_outcome *o)
{
    struct ch__auth_flow *f = arg;
    if (o->err)
        ch__auth_db_failed(f->req, o->err);
    else if (!f->found)
        ch_error(f->req, CH_ERR_CONFLICT, "email or username is already registered");
    else
        ch__auth_issue_pair(f, NULL);
    ch_request_release(f->req);
}

static void signup_hashed(struct ch_request *req, int err, const char *phc, void *arg)
{
    struct ch__auth_flow *f = arg;
    if (err) {
        ch_error(req, CH_ERR_INTERNAL, "password hashing failed");
        return;
    }
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    struct ch_db_param p[4] = {ch_db_param_text(f->email), ch_db_param_text(f->username),
                               ch_db_param_text(ch__auth_copy(req, ch_str_cstr(phc))),
                               ch_db_param_int((int64_t)time(NULL))};
    if (!b || ch_db_batch_add(b, ch__auth_st.insert_user, p, 4, inserted_row, f) != 0) {
        ch_error(req, CH_ERR_INTERNAL, "cannot queue the query");
        return;
    }
    ch_request_hold(req);
    ch_db_batch_submit(b, inserted, f);
}

/* After the rate limit: the hash, on the pool. */
static void signup_hash(struct ch__auth_flow *f)
{
    int rc = ch_auth_hash_password(ch__auth_mounted, f->req, f->password, signup_hashed, f);
    if (rc) pool_failed(f->req, rc);
}

static int valid_username(struct ch_str u)
{
    if (u.len < MIN_USER || u.len > MAX_USER) return 0;
    for (size_t i = 0; i < u.len; i++) {
        unsigned char c = (unsigned char)u.ptr[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '-') return 0;
    }
    return 1;
}

static int valid_email(struct ch_str e)
{
    const char *at = e.len ? memchr(e.ptr, '@', e.len) : NULL;
    if (!at || at == e.ptr || at == e.ptr + e.len - 1 || e.len > MAX_EMAIL) return 0;
    if (memchr(at + 1, '@', (size_t)(e.ptr + e.len - at - 1))) return 0;
    for (size_t i = 0; i < e.len; i++)
        if ((unsigned char)e.ptr[i] <= ' ' || e.ptr[i] == 0x7f) return 0;
    return 1;
}

/* Emails compare case-insensitively (ASCII): stored lowercased. */
static struct ch_str lower(struct ch_request *req, struct ch_str s)
{
    struct ch_str c = ch__auth_copy(req, s);
    for (size_t i = 0; c.ptr && i < c.len; i++)
        ((char *)c.ptr)[i] = (char)tolower((unsigned char)c.ptr[i]);
    return c;
}

static int signup(struct ch_request *req)
{
    const struct ch_json_value *in = ch_json_body(req);
    if (!in) return 0;
    struct ch_json_check c;
    ch_json_check_init(&c, &req->arena);
    struct ch_str email = ch_json_check_str(&c, in, "email", CH_JSON_REQUIRED);
    struct ch_str user = ch_json_check_str(&c, in, "username", CH_JSON_REQUIRED);
    struct ch_str pw = ch_json_check_str(&c, in, "password", CH_JSON_REQUIRED);
    if (email.ptr && !valid_email(email))
        ch_json_check_fail(&c, in, "email", "must be an email address");
    if (user.ptr && !valid_username(user))
        ch_json_check_fail(&c, in, "username", "must be 3-32 letters, digits, '_', '.' or '-'");
    if (pw.ptr && (pw.len < MIN_PASSWORD || pw.len > MAX_PASSWORD))
        ch_json_check_fail(&c, in, "password", "must be 8 to 1024 bytes long");
    if (ch_json_check_result(&c) != 0) return ch_error_fields(req, &c);
    struct ch__auth_flow *f = ch_arena_calloc(&req->arena, sizeof(*f));
    if (!f) return CH_ENOMEM;
    f->req = req;
    f->email = lower(req, email);
    f->username = ch__auth_copy(req, user);
    f->password = pw;
    f->status = 201;
    if (!f->email.ptr || !f->username.ptr) return CH_ENOMEM;
    ch__auth_rate_limit(f, signup_hash);
    return 0;
}

/* ---- login --------------------------------------------------------------------------------- */

static void rehashed_stored(void *arg, const struct ch_db_outcome *o)
{
    struct ch__auth_flow *f = arg;
    /* The login succeeded either way; a failed rehash is retried next time. */
    (void)o;
    ch__auth_issue_pair(f, ch__auth_lock_clear);
    ch_request_release(f->req);
}

static void rehashed(struct ch_request *req, int err, const char *phc, void *arg)
{
    struct ch__auth_flow *f = arg;
    struct ch_db_batch *b = err ? NULL : ch_db_batch_new(ch_request_db(req), &req->arena);
    struct ch_db_param p[2] = {ch_db_param_int(f->id),
                               ch_db_param_text(ch__auth_copy(req, ch_str_cstr(phc ? phc : "")))};
    if (!b || ch_db_batch_add(b, ch__auth_st.set_hash, p, 2, NULL, NULL) != 0) {
        ch__auth_issue_pair(f, ch__auth_lock_clear);
        return;
    }
    ch_request_hold(req);
    ch_db_batch_submit(b, rehashed_stored, f);
}

static void refuse_login(struct ch_request *req)
{
    ch_res_header(req, CH_STR("WWW-Authenticate"), CH_STR("Bearer"));
    ch_error(req, CH_ERR_UNAUTHORIZED, "invalid login or password");
}

static void failure_counted(void *arg, const struct ch_db_outcome *o)
{
    struct ch__auth_flow *f = arg;
    if (o->err)
        ch__auth_db_failed(f->req, o->err);
    else
        refuse_login(f->req);
    ch_request_release(f->req);
}

static void login_verified(struct ch_request *req, int result, int needs_rehash, void *arg)
{
    struct ch__auth_flow *f = arg;
    if (result != 1 || !f->found) {
        if (ch_auth_config(ch__auth_mounted)->lockout_attempts == 0) {
            refuse_login(req);
            return;
        }
        /* Counted for the login name whether or not it names an account (see limits.c). */
        struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
        if (!b || ch__auth_lock_fail(f, b) != 0) {
            ch_error(req, CH_ERR_INTERNAL, "cannot queue the query");
            return;
        }
        ch_request_hold(req);
        ch_db_batch_submit(b, failure_counted, f);
        return;
    }
    if (needs_rehash &&
        ch_auth_hash_password(ch__auth_mounted, req, f->password, rehashed, f) == 0)
        return;
    ch__auth_issue_pair(f, ch__auth_lock_clear);
}

static void login_row(void *arg, const struct ch_db_result *res)
{
    struct ch__auth_flow *f = arg;
    if (ch_db_error(res) == 0 && ch_db_rows(res) == 1) ch__auth_read_user(f, res, 4);
}

static void login_found(void *arg, const struct ch_db_outcome *o)
{
    struct ch__auth_flow *f = arg;
    struct ch_request *req = f->req;
    int64_t now = (int64_t)time(NULL);
    if (o->err) {
        ch__auth_db_failed(req, o->err);
    } else if (f->limit_a > now) {
        /* Locked: refused before any password work, known name or not. */
        ch__auth_too_many(req, f->limit_a - now, "too many failed logins; try again later");
    } else {
        /* An unknown user gets the same Argon2id work against a dummy hash (empty phc). */
        struct ch_str phc = f->found ? f->phc : (struct ch_str){NULL, 0};
        int rc =
            ch_auth_verify_password(ch__auth_mounted, req, phc, f->password, login_verified, f);
        if (rc) pool_failed(req, rc);
    }
    ch_request_release(req);
}

/* After the rate limit: the login name's lock and its account, in one round trip. */
static void login_lookup(struct ch__auth_flow *f)
{
    struct ch_request *req = f->req;
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    struct ch_db_param p = ch_db_param_text(f->login);
    if (!b || ch__auth_lock_get(f, b) != 0 ||
        ch_db_batch_add(b, ch__auth_st.user_by_login, &p, 1, login_row, f) != 0) {
        ch_error(req, CH_ERR_INTERNAL, "cannot queue the query");
        return;
    }
    ch_request_hold(req);
    ch_db_batch_submit(b, login_found, f);
}

static int login(struct ch_request *req)
{
    const struct ch_json_value *in = ch_json_body(req);
    if (!in) return 0;
    struct ch_json_check c;
    ch_json_check_init(&c, &req->arena);
    /* The account by "login", "email" or "username", whichever is present first. */
    const char *key = ch_json_value_get(in, "login")   ? "login"
                      : ch_json_value_get(in, "email") ? "email"
                                                       : "username";
    struct ch_str who = ch_json_check_str(&c, in, key, CH_JSON_REQUIRED);
    struct ch_str pw = ch_json_check_str(&c, in, "password", CH_JSON_REQUIRED);
    if (who.ptr && who.len > MAX_EMAIL) ch_json_check_fail(&c, in, key, "is too long");
    if (pw.ptr && pw.len > MAX_PASSWORD) ch_json_check_fail(&c, in, "password", "is too long");
    if (ch_json_check_result(&c) != 0) return ch_error_fields(req, &c);
    struct ch__auth_flow *f = ch_arena_calloc(&req->arena, sizeof(*f));
    if (!f) return CH_ENOMEM;
    f->req = req;
    f->password = pw;
    f->status = 200;
    f->login = lower(req, who);
    if (!f->login.ptr) return CH_ENOMEM;
    ch__auth_rate_limit(f, login_lookup);
    return 0;
}

/* ---- me ------------------------------------------------------------------------------------ */

static void me_done(void *arg, const struct ch_db_outcome *o)
{
    struct ch__auth_flow *f = arg;
    if (o->err) {
        ch__auth_db_failed(f->req, o->err);
    } else if (!f->found) {
        ch_error(f->req, CH_ERR_NOT_FOUND, "user not found");
    } else {
        write_user(ch_json_ok(f->req), f, 1);
        ch_respond(f->req, 200);
    }
    ch_request_release(f->req);
}

static void me_row(void *arg, const struct ch_db_result *res)
{
    struct ch__auth_flow *f = arg;
    if (ch_db_error(res) == 0 && ch_db_rows(res) == 1) ch__auth_read_user(f, res, -1);
}

static int me(struct ch_request *req)
{
    const struct ch_auth_claims *c = ch_auth(req);
    if (!c || c->user_id < 0) return ch_error(req, CH_ERR_UNAUTHORIZED, "not a user token");
    struct ch__auth_flow *f = ch_arena_calloc(&req->arena, sizeof(*f));
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    struct ch_db_param p = ch_db_param_int(c->user_id);
    if (!f || !b) return CH_ENOMEM;
    f->req = req;
    if (ch_db_batch_add(b, ch__auth_st.user_by_id, &p, 1, me_row, f) != 0) return CH_ENOMEM;
    ch_request_hold(req);
    ch_db_batch_submit(b, me_done, f);
    return 0;
}

int ch_auth_mount(struct ch_app *app, struct ch_auth *auth, const char *prefix)
{
    if (ch__auth_mounted) return CH_EBUSY;
    ch__auth_mounted = auth;
    int rc = ch_app_migrations(app, "auth", migrations, sizeof(migrations) / sizeof(migrations[0]));
    if (rc) return rc;
    static const struct {
        int *id;
        const char *name, *sql;
    } st[] = {
        {&ch__auth_st.insert_user, "auth_insert_user",
         "INSERT INTO auth_users (email, username, password_hash, created_at)"
         " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id"},
        {&ch__auth_st.user_by_login, "auth_user_by_login",
         "SELECT id, email, username, roles, password_hash FROM auth_users"
         " WHERE email = $1 OR lower(username) = $1 LIMIT 1"},
        {&ch__auth_st.user_by_id, "auth_user_by_id",
         "SELECT id, email, username, roles FROM auth_users WHERE id = $1"},
        {&ch__auth_st.set_hash, "auth_set_password_hash",
         "UPDATE auth_users SET password_hash = $2 WHERE id = $1"},
    };
    for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
        if ((*st[i].id = ch_app_statement(app, st[i].name, st[i].sql, NULL)) < 0) return *st[i].id;
    if ((rc = ch__auth_session_declare(app)) != 0 || (rc = ch__auth_limits_declare(app)) != 0)
        return rc;
    struct ch_group *g = ch_group_new(app, prefix);
    if (!g) return CH_ENOMEM;
    static const struct {
        const char *path;
        ch_handler_fn fn;
    } posts[] = {{"/signup", signup},
                 {"/login", login},
                 {"/refresh", ch__auth_refresh},
                 {"/logout", ch__auth_logout}};
    for (size_t i = 0; i < sizeof(posts) / sizeof(posts[0]) && !rc; i++)
        rc = ch_group_route(g, CH_METHOD_BIT(CH_POST), posts[i].path, posts[i].fn);
    struct ch_group *mine = rc ? NULL : ch_group_new(app, prefix);
    if (!rc && !mine) rc = CH_ENOMEM;
    if (!rc) rc = ch_group_use(mine, ch_auth_required(auth));
    if (!rc) rc = ch_group_route(mine, CH_METHOD_BIT(CH_GET), "/me", me);
    return rc;
}
