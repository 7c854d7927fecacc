/* The built-in auth routes: signup, login and me over the auth_users table.
 *
 * No user enumeration at login: an unknown account is verified against a dummy hash (the same
 * Argon2id work as a real one) and both failures give the same 401 message. Passwords are
 * hashed and checked on the hashing pool, never on the loop. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/internal.h"
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
};

/* One mount per process: the routes' handlers reach these. */
static struct ch_auth *g_auth;
static int st_insert, st_by_login, st_by_id, st_set_hash;

/* A request's progress through its asynchronous steps, in its arena. */
struct flow {
    struct ch_request *req;
    int64_t id;
    struct ch_str email, username, roles, phc, password;
    int found;
    int status; /* the success status: 201 signup, 200 login */
};

static struct ch_str copy(struct ch_request *req, struct ch_str s)
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

static void write_user(struct ch_json_writer *w, const struct flow *f)
{
    ch_json_object_begin(w);
    ch_json_key(w, "id");
    ch_json_int(w, f->id);
    ch_json_key(w, "email");
    ch_json_str(w, f->email);
    ch_json_key(w, "username");
    ch_json_str(w, f->username);
    ch_json_object_end(w);
}

/* Answers with a fresh access token and the user. */
static void answer_tokens(struct flow *f)
{
    struct ch_request *req = f->req;
    char id[24];
    int n = snprintf(id, sizeof(id), "%lld", (long long)f->id);
    const char *roles[16];
    size_t nroles = split_roles(req, f->roles, roles, 16);
    struct ch_str tok;
    if (ch_auth_token_issue(g_auth, ch_str_make(id, (size_t)n), roles, nroles, (int64_t)time(NULL),
                            &req->arena, &tok) != 0) {
        ch_error(req, CH_ERR_INTERNAL, "cannot issue a token");
        return;
    }
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "access_token");
    ch_json_str(w, tok);
    ch_json_key(w, "token_type");
    ch_json_string(w, "Bearer");
    ch_json_key(w, "expires_in");
    ch_json_int(w, g_auth->cfg.jwt_expiry_s);
    ch_json_key(w, "user");
    write_user(w, f);
    ch_json_object_end(w);
    ch_respond(req, f->status);
}

static void db_failed(struct ch_request *req, int err)
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
    struct flow *f = arg;
    if (ch_db_error(res) == 0 && ch_db_rows(res) == 1) {
        f->id = ch_db_int(res, 0, 0);
        f->found = 1;
    }
}

static void inserted(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct flow *f = arg;
    if (err)
        db_failed(f->req, err);
    else if (!f->found)
        ch_error(f->req, CH_ERR_CONFLICT, "email or username is already registered");
    else
        answer_tokens(f);
    ch_request_release(f->req);
}

static void signup_hashed(struct ch_request *req, int err, const char *phc, void *arg)
{
    struct flow *f = arg;
    if (err) {
        ch_error(req, CH_ERR_INTERNAL, "password hashing failed");
        return;
    }
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    struct ch_db_param p[4] = {ch_db_param_text(f->email), ch_db_param_text(f->username),
                               ch_db_param_text(copy(req, ch_str_cstr(phc))),
                               ch_db_param_int((int64_t)time(NULL))};
    if (!b || ch_db_batch_add(b, st_insert, p, 4, inserted_row, f) != 0) {
        ch_error(req, CH_ERR_INTERNAL, "cannot queue the query");
        return;
    }
    ch_request_hold(req);
    ch_db_batch_submit(b, inserted, f);
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
    struct ch_str c = copy(req, s);
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
    struct flow *f = ch_arena_calloc(&req->arena, sizeof(*f));
    if (!f) return CH_ENOMEM;
    f->req = req;
    f->email = lower(req, email);
    f->username = copy(req, user);
    f->status = 201;
    if (!f->email.ptr || !f->username.ptr) return CH_ENOMEM;
    int rc = ch_auth_hash_password(g_auth, req, pw, signup_hashed, f);
    return rc ? pool_failed(req, rc) : 0;
}

/* ---- login --------------------------------------------------------------------------------- */

static void rehashed_stored(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct flow *f = arg;
    (void)err; /* the login succeeded either way; a failed rehash is retried next time */
    answer_tokens(f);
    ch_request_release(f->req);
}

static void rehashed(struct ch_request *req, int err, const char *phc, void *arg)
{
    struct flow *f = arg;
    struct ch_db_batch *b = err ? NULL : ch_db_batch_new(ch_request_db(req), &req->arena);
    struct ch_db_param p[2] = {ch_db_param_int(f->id),
                               ch_db_param_text(copy(req, ch_str_cstr(phc ? phc : "")))};
    if (!b || ch_db_batch_add(b, st_set_hash, p, 2, NULL, NULL) != 0) {
        answer_tokens(f);
        return;
    }
    ch_request_hold(req);
    ch_db_batch_submit(b, rehashed_stored, f);
}

static void login_verified(struct ch_request *req, int result, int needs_rehash, void *arg)
{
    struct flow *f = arg;
    if (result != 1 || !f->found) {
        ch_res_header(req, CH_STR("WWW-Authenticate"), CH_STR("Bearer"));
        ch_error(req, CH_ERR_UNAUTHORIZED, "invalid login or password");
        return;
    }
    if (needs_rehash && ch_auth_hash_password(g_auth, req, f->password, rehashed, f) == 0) return;
    answer_tokens(f);
}

static void login_row(void *arg, const struct ch_db_result *res)
{
    struct flow *f = arg;
    if (ch_db_error(res) != 0 || ch_db_rows(res) != 1) return;
    f->found = 1;
    f->id = ch_db_int(res, 0, 0);
    f->email = copy(f->req, ch_db_text(res, 0, 1));
    f->username = copy(f->req, ch_db_text(res, 0, 2));
    f->phc = copy(f->req, ch_db_text(res, 0, 3));
    f->roles = copy(f->req, ch_db_text(res, 0, 4));
}

static void login_found(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct flow *f = arg;
    struct ch_request *req = f->req;
    if (err) {
        db_failed(req, err);
    } else {
        /* An unknown user gets the same Argon2id work against a dummy hash (empty phc). */
        struct ch_str phc = f->found ? f->phc : (struct ch_str){NULL, 0};
        int rc = ch_auth_verify_password(g_auth, req, phc, f->password, login_verified, f);
        if (rc) pool_failed(req, rc);
    }
    ch_request_release(req);
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
    if (pw.ptr && pw.len > MAX_PASSWORD) ch_json_check_fail(&c, in, "password", "is too long");
    if (ch_json_check_result(&c) != 0) return ch_error_fields(req, &c);
    struct flow *f = ch_arena_calloc(&req->arena, sizeof(*f));
    if (!f) return CH_ENOMEM;
    f->req = req;
    f->password = pw;
    f->status = 200;
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    struct ch_db_param p = ch_db_param_text(lower(req, who));
    if (!b || ch_db_batch_add(b, st_by_login, &p, 1, login_row, f) != 0) return CH_ENOMEM;
    ch_request_hold(req);
    ch_db_batch_submit(b, login_found, f);
    return 0;
}

/* ---- me ------------------------------------------------------------------------------------ */

static void me_done(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct flow *f = arg;
    if (err)
        db_failed(f->req, err);
    else if (!f->found)
        ch_error(f->req, CH_ERR_NOT_FOUND, "user not found");
    else {
        struct ch_json_writer *w = ch_json_ok(f->req);
        ch_json_object_begin(w);
        ch_json_key(w, "id");
        ch_json_int(w, f->id);
        ch_json_key(w, "email");
        ch_json_str(w, f->email);
        ch_json_key(w, "username");
        ch_json_str(w, f->username);
        ch_json_key(w, "roles");
        ch_json_array_begin(w);
        const char *roles[16];
        size_t n = split_roles(f->req, f->roles, roles, 16);
        for (size_t i = 0; i < n; i++) ch_json_string(w, roles[i]);
        ch_json_array_end(w);
        ch_json_object_end(w);
        ch_respond(f->req, 200);
    }
    ch_request_release(f->req);
}

static void me_row(void *arg, const struct ch_db_result *res)
{
    struct flow *f = arg;
    if (ch_db_error(res) != 0 || ch_db_rows(res) != 1) return;
    f->found = 1;
    f->id = ch_db_int(res, 0, 0);
    f->email = copy(f->req, ch_db_text(res, 0, 1));
    f->username = copy(f->req, ch_db_text(res, 0, 2));
    f->roles = copy(f->req, ch_db_text(res, 0, 3));
}

static int me(struct ch_request *req)
{
    const struct ch_auth_claims *c = ch_auth(req);
    if (!c || c->user_id < 0) return ch_error(req, CH_ERR_UNAUTHORIZED, "not a user token");
    struct flow *f = ch_arena_calloc(&req->arena, sizeof(*f));
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    struct ch_db_param p = ch_db_param_int(c->user_id);
    if (!f || !b) return CH_ENOMEM;
    f->req = req;
    if (ch_db_batch_add(b, st_by_id, &p, 1, me_row, f) != 0) return CH_ENOMEM;
    ch_request_hold(req);
    ch_db_batch_submit(b, me_done, f);
    return 0;
}

int ch_auth_mount(struct ch_app *app, struct ch_auth *auth, const char *prefix)
{
    if (g_auth) return CH_EBUSY;
    g_auth = auth;
    int rc = ch_app_migrations(app, "auth", migrations, sizeof(migrations) / sizeof(migrations[0]));
    if (rc) return rc;
    if ((st_insert = ch_app_statement(app, "auth_insert_user",
                                      "INSERT INTO auth_users (email, username, password_hash,"
                                      " created_at) VALUES ($1, $2, $3, $4)"
                                      " ON CONFLICT DO NOTHING RETURNING id",
                                      NULL)) < 0)
        return st_insert;
    if ((st_by_login = ch_app_statement(app, "auth_user_by_login",
                                        "SELECT id, email, username, password_hash, roles"
                                        " FROM auth_users WHERE email = $1"
                                        " OR lower(username) = $1 LIMIT 1",
                                        NULL)) < 0)
        return st_by_login;
    if ((st_by_id = ch_app_statement(app, "auth_user_by_id",
                                     "SELECT id, email, username, roles FROM auth_users"
                                     " WHERE id = $1",
                                     NULL)) < 0)
        return st_by_id;
    if ((st_set_hash =
             ch_app_statement(app, "auth_set_password_hash",
                              "UPDATE auth_users SET password_hash = $2 WHERE id = $1", NULL)) < 0)
        return st_set_hash;
    struct ch_group *g = ch_group_new(app, prefix);
    if (!g) return CH_ENOMEM;
    rc = ch_group_route(g, CH_METHOD_BIT(CH_POST), "/signup", signup);
    if (!rc) rc = ch_group_route(g, CH_METHOD_BIT(CH_POST), "/login", login);
    struct ch_group *mine = rc ? NULL : ch_group_new(app, prefix);
    if (!rc && !mine) rc = CH_ENOMEM;
    if (!rc) rc = ch_group_use(mine, ch_auth_required(auth));
    if (!rc) rc = ch_group_route(mine, CH_METHOD_BIT(CH_GET), "/me", me);
    return rc;
}
