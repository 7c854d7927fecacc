/* A test application for the auth module (tests/integration/test_auth.py): password hashing on
 * the pool, token issuing, and the guards. Built on the public API only, as an app would be. */
#include <stdio.h>
#include <time.h>

#include <chopin/chopin.h>

static struct ch_auth *auth;

static int busy_or_error(struct ch_request *req, int rc)
{
    if (rc == CH_EBUSY) {
        ch_res_header(req, CH_STR("Retry-After"), CH_STR("1"));
        return ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "password hashing is busy");
    }
    return ch_error(req, CH_ERR_BAD_REQUEST, "%s", ch_strerror(rc));
}

static void hashed(struct ch_request *req, int err, const char *phc, void *arg)
{
    (void)arg;
    if (err) {
        ch_error(req, CH_ERR_INTERNAL, "hash failed: %s", ch_strerror(err));
        return;
    }
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "phc");
    ch_json_string(w, phc);
    ch_json_object_end(w);
    ch_respond(req, 200);
}

/* POST /hash {"password"} -> {"phc"} */
static int hash(struct ch_request *req)
{
    const struct ch_json_value *in = ch_json_body(req);
    if (!in) return 0;
    struct ch_json_check c;
    ch_json_check_init(&c, &req->arena);
    struct ch_str pw = ch_json_check_str(&c, in, "password", CH_JSON_REQUIRED);
    if (ch_json_check_result(&c)) return ch_error_fields(req, &c);
    int rc = ch_auth_hash_password(auth, req, pw, hashed, NULL);
    return rc ? busy_or_error(req, rc) : 0;
}

static void verified(struct ch_request *req, int result, int needs_rehash, void *arg)
{
    (void)arg;
    if (result < 0) {
        ch_error(req, CH_ERR_BAD_REQUEST, "verify failed: %s", ch_strerror(result));
        return;
    }
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "match");
    ch_json_bool(w, result == 1);
    ch_json_key(w, "needs_rehash");
    ch_json_bool(w, needs_rehash);
    ch_json_object_end(w);
    ch_respond(req, 200);
}

/* POST /verify {"phc","password"} -> {"match","needs_rehash"}; an empty phc: an unknown user */
static int verify(struct ch_request *req)
{
    const struct ch_json_value *in = ch_json_body(req);
    if (!in) return 0;
    struct ch_json_check c;
    ch_json_check_init(&c, &req->arena);
    struct ch_str phc = ch_json_check_str(&c, in, "phc", CH_JSON_REQUIRED);
    struct ch_str pw = ch_json_check_str(&c, in, "password", CH_JSON_REQUIRED);
    if (ch_json_check_result(&c)) return ch_error_fields(req, &c);
    int rc = ch_auth_verify_password(auth, req, phc, pw, verified, NULL);
    return rc ? busy_or_error(req, rc) : 0;
}

/* POST /token {"sub","roles":[...]} -> {"access_token"}: what a login handler would issue. */
static int token(struct ch_request *req)
{
    const struct ch_json_value *in = ch_json_body(req);
    if (!in) return 0;
    struct ch_json_check c;
    ch_json_check_init(&c, &req->arena);
    struct ch_str sub = ch_json_check_str(&c, in, "sub", CH_JSON_REQUIRED);
    const struct ch_json_value *arr = ch_json_check_array(&c, in, "roles", CH_JSON_OPTIONAL);
    const char *roles[16];
    size_t n = 0;
    for (size_t i = 0; i < ch_json_value_count(arr) && n < 16; i++)
        roles[n++] = ch_json_check_string_at(&c, arr, i, CH_JSON_REQUIRED);
    if (ch_json_check_result(&c)) return ch_error_fields(req, &c);
    struct ch_str tok;
    int rc = ch_auth_token_issue(auth, sub, roles, n, (int64_t)time(NULL), &req->arena, &tok);
    if (rc) return rc;
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "access_token");
    ch_json_str(w, tok);
    ch_json_object_end(w);
    return ch_respond(req, 200);
}

static void write_claims(struct ch_json_writer *w, const struct ch_auth_claims *c)
{
    ch_json_object_begin(w);
    ch_json_key(w, "sub");
    ch_json_str(w, c->sub);
    ch_json_key(w, "user_id");
    ch_json_int(w, c->user_id);
    ch_json_key(w, "roles");
    ch_json_array_begin(w);
    for (size_t i = 0; i < c->nroles; i++) ch_json_str(w, c->roles[i]);
    ch_json_array_end(w);
    ch_json_object_end(w);
}

/* GET /me (required), /maybe (optional), /admin/stats and /editors/x (role guards) */
static int me(struct ch_request *req)
{
    const struct ch_auth_claims *c = ch_auth(req);
    if (!c) {
        ch_json_null(ch_json_ok(req));
        return ch_respond(req, 200);
    }
    write_claims(ch_json_ok(req), c);
    return ch_respond(req, 200);
}

static int plaintext(struct ch_request *req)
{
    return ch_respond_text(req, 200, "text/plain", CH_STR("Hello, World!"));
}

int main(int argc, char **argv)
{
    struct ch_app *app = ch_app_new();
    if (!app) return 1;
    ch_app_use_defaults(app);
    if (ch_auth_declare_settings(app) != 0) return 1;
    int rc = ch_app_configure(app, argc, argv);
    if (rc != 0) {
        ch_app_free(app);
        return rc == 1 ? 0 : rc;
    }
    char err[256];
    auth = ch_auth_from_app(app, err, sizeof(err));
    if (!auth) {
        fprintf(stderr, "auth-test-app: %s\n", err);
        ch_app_free(app);
        return 2;
    }
    /* The built-in account routes, on DATABASE_URL (SQLite or PostgreSQL). */
    if (ch_app_use_database(app, NULL) != 0 || ch_auth_mount(app, auth, "/api/auth") != 0) {
        fprintf(stderr, "auth-test-app: cannot mount the auth routes\n");
        ch_app_free(app);
        ch_auth_free(auth);
        return 1;
    }
    ch_post(app, "/hash", hash);
    ch_post(app, "/verify", verify);
    ch_post(app, "/token", token);
    ch_get(app, "/plaintext", plaintext);
    struct ch_group *user = ch_group_new(app, "/user");
    ch_group_use(user, ch_auth_required(auth));
    ch_group_route(user, CH_METHOD_BIT(CH_GET), "/me", me);
    struct ch_group *maybe = ch_group_new(app, "/maybe");
    ch_group_use(maybe, ch_auth_optional(auth));
    ch_group_route(maybe, CH_METHOD_BIT(CH_GET), "/me", me);
    struct ch_group *admin = ch_group_new(app, "/admin");
    ch_group_use(admin, ch_auth_role(auth, "admin"));
    ch_group_route(admin, CH_METHOD_BIT(CH_GET), "/me", me);
    /* Two role guards: both roles are required. */
    struct ch_group *both = ch_group_new(app, "/both");
    ch_group_use(both, ch_auth_role(auth, "admin"));
    ch_group_use(both, ch_auth_role(auth, "editor"));
    ch_group_route(both, CH_METHOD_BIT(CH_GET), "/me", me);
    rc = ch_app_serve(app);
    ch_app_free(app);
    ch_auth_free(auth);
    return rc;
}
