/* Answering a request straight from one statement (ch_db_respond), and database errors as
 * envelopes. Built on the public batch API only, like an application's own callbacks. */
#include <string.h>

#include "chopin/db_respond.h"
#include "chopin/error.h"

/* Lives in the request's arena, as long as the batch. */
struct answer {
    struct ch_request *req;
    enum ch_db_answer how;
    const char *not_found;
    int rows;
    int64_t affected;
    int written; /* a row or an array is in the response body */
};

enum ch_error_kind ch_db_error_kind(int err)
{
    switch (err) {
    case CH_ECONFLICT: return CH_ERR_CONFLICT;
    case CH_EINVAL:
    case CH_ERANGE: return CH_ERR_VALIDATION;
    case CH_EUNAVAILABLE: return CH_ERR_SERVICE_UNAVAILABLE;
    default: return CH_ERR_DATABASE;
    }
}

int ch_db_respond_error(struct ch_request *req, const struct ch_db_outcome *out)
{
    enum ch_error_kind kind = ch_db_error_kind(out->err);
    struct ch_str msg = out->message;
    if (!msg.len) msg = ch_str_cstr(ch_strerror(out->err));
    switch (kind) {
    case CH_ERR_SERVICE_UNAVAILABLE: return ch_error(req, kind, "Database unavailable");
    case CH_ERR_DATABASE:
        /* The detail is for the log; send_error keeps it from production clients. */
        return ch_error(req, kind, "query %d failed%s%s%s: %.*s", out->query,
                        out->sqlstate && *out->sqlstate ? " (SQLSTATE " : "",
                        out->sqlstate ? out->sqlstate : "",
                        out->sqlstate && *out->sqlstate ? ")" : "", (int)msg.len, msg.ptr);
    default: return ch_error(req, kind, "%.*s", (int)msg.len, msg.ptr);
    }
}

static void on_result(void *arg, const struct ch_db_result *res)
{
    struct answer *a = arg;
    if (ch_db_error(res)) return; /* the done callback answers with the error */
    a->rows = ch_db_rows(res);
    a->affected = ch_db_affected(res);
    if (a->how == CH_DB_ROWS) {
        ch_db_write_rows(ch_json_ok(a->req), res);
        a->written = 1;
    } else if (a->rows > 0) {
        ch_db_write_row(ch_json_ok(a->req), res, 0);
        a->written = 1;
    }
}

static void on_done(void *arg, const struct ch_db_outcome *out)
{
    struct answer *a = arg;
    struct ch_request *req = a->req;
    if (out->err) {
        ch_db_respond_error(req, out);
    } else if (a->written) {
        ch_respond(req, a->how == CH_DB_CREATED ? 201 : 200);
    } else if (a->how == CH_DB_CREATED && a->affected > 0) {
        ch_json_null(ch_json_ok(req));
        ch_respond(req, 201);
    } else if (a->how == CH_DB_CHANGED && a->affected > 0) {
        ch_respond(req, 204);
    } else {
        ch_error(req, CH_ERR_NOT_FOUND, "%s", a->not_found ? a->not_found : "Not found");
    }
    ch_request_release(req);
}

int ch_db_respond(struct ch_request *req, enum ch_db_answer how, int stmt,
                  const struct ch_db_param *params, int nparams, const char *not_found)
{
    if (ch_request_done(req)) return CH_ECLOSED;
    struct ch_db_worker *dw = ch_request_db(req);
    if (!dw) return ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "Database unavailable");
    struct answer *a = ch_arena_alloc(&req->arena, sizeof(*a));
    struct ch_db_batch *b = a ? ch_db_batch_new(dw, &req->arena) : NULL;
    if (!b) return ch_error(req, CH_ERR_INTERNAL, "out of memory");
    memset(a, 0, sizeof(*a));
    a->req = req;
    a->how = how;
    if (not_found) {
        a->not_found = ch_arena_strndup(&req->arena, not_found, strlen(not_found));
        if (!a->not_found) return ch_error(req, CH_ERR_INTERNAL, "out of memory");
    }
    int rc = ch_db_batch_add(b, stmt, params, nparams, on_result, a);
    if (rc == CH_ERANGE)
        return ch_error(req, CH_ERR_VALIDATION, "a parameter is out of range for its column");
    if (rc != 0)
        return ch_error(req, CH_ERR_INTERNAL, "statement %d cannot run: %s", stmt, ch_strerror(rc));
    ch_request_hold(req);
    ch_db_batch_submit(b, on_done, a);
    return 0;
}
