/* Envelopes, errors, the JSON extractor, and typed access to request inputs. */
#include <stdarg.h>
#include <stdio.h>

#include "chopin/error.h"
#include "chopin/respond.h"
#include "framework/app.h"
#include "chopin/log.h"

static const struct {
    int status;
    const char *code;
    const char *message;
} kinds[CH_ERR_KIND_COUNT] = {
    [CH_ERR_BAD_REQUEST] = {400, "BAD_REQUEST", "Bad request"},
    [CH_ERR_UNAUTHORIZED] = {401, "UNAUTHORIZED", "Unauthorized"},
    [CH_ERR_FORBIDDEN] = {403, "FORBIDDEN", "Forbidden"},
    [CH_ERR_NOT_FOUND] = {404, "NOT_FOUND", "Not found"},
    [CH_ERR_METHOD_NOT_ALLOWED] = {405, "METHOD_NOT_ALLOWED", "Method not allowed"},
    [CH_ERR_CONFLICT] = {409, "CONFLICT", "Conflict"},
    [CH_ERR_PAYLOAD_TOO_LARGE] = {413, "PAYLOAD_TOO_LARGE", "Payload too large"},
    [CH_ERR_UNSUPPORTED_MEDIA_TYPE] = {415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"},
    [CH_ERR_VALIDATION] = {422, "VALIDATION_ERROR", "Validation failed"},
    [CH_ERR_INTERNAL] = {500, "INTERNAL_ERROR", "Internal server error"},
    [CH_ERR_DATABASE] = {500, "DATABASE_ERROR", "Database error"},
    [CH_ERR_SERVICE_UNAVAILABLE] = {503, "SERVICE_UNAVAILABLE", "Service unavailable"},
    [CH_ERR_TOO_MANY_REQUESTS] = {429, "TOO_MANY_REQUESTS", "Too many requests"},
};

int ch_error_status(enum ch_error_kind kind)
{
    return (unsigned)kind < CH_ERR_KIND_COUNT ? kinds[kind].status : 500;
}

const char *ch_error_code(enum ch_error_kind kind)
{
    return (unsigned)kind < CH_ERR_KIND_COUNT ? kinds[kind].code : "INTERNAL_ERROR";
}

const char *ch__status_code(int status)
{
    for (int k = 0; k < CH_ERR_KIND_COUNT; k++)
        if (kinds[k].status == status && k != CH_ERR_DATABASE) return kinds[k].code;
    switch (status) {
    case 408: return "REQUEST_TIMEOUT";
    case 414: return "URI_TOO_LONG";
    case 431: return "REQUEST_HEADER_FIELDS_TOO_LARGE";
    case 501: return "NOT_IMPLEMENTED";
    case 505: return "HTTP_VERSION_NOT_SUPPORTED";
    }
    return status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST";
}

void ch__envelope_error(struct ch_buf *out, const char *code, const char *message,
                        const struct ch_json_check *fields)
{
    struct ch_json_writer w;
    size_t start = out->len;
    ch_json_writer_init(&w, out);
    ch_json_object_begin(&w);
    ch_json_key(&w, "success");
    ch_json_bool(&w, 0);
    ch_json_key(&w, "error");
    ch_json_object_begin(&w);
    ch_json_key(&w, "code");
    ch_json_string(&w, code);
    ch_json_key(&w, "message");
    ch_json_string(&w, message);
    if (fields) {
        ch_json_key(&w, "fields");
        ch_json_write_problems(&w, fields);
    }
    ch_json_object_end(&w);
    ch_json_object_end(&w);
    if (ch_json_writer_finish(&w) != 0) {
        /* Only reachable out of memory: fall back to a fixed, valid body. */
        out->len = start;
        ch_buf_append_cstr(out, "{\"success\":false,\"error\":{\"code\":\"INTERNAL_ERROR\","
                                "\"message\":\"Internal server error\"}}");
    }
}

/* A request already answered, or whose client left: mark it answered (which ends it once no
 * hold remains) and report CH_ECLOSED. */
static int settle(struct ch_request *req)
{
    ch_res_send(req);
    return CH_ECLOSED;
}

static struct ch_json_writer *begin(struct ch_request *req, int envelope)
{
    if (req->_json) return req->_json; /* already started: keep writing the same document */
    struct ch_json_writer *w = ch_arena_alloc(&req->arena, sizeof(*w));
    if (!w) return NULL;
    req->res.body.len = 0;
    ch_json_writer_init(w, &req->res.body);
    if (envelope) {
        /* The envelope's opening is written by hand and closed in ch_respond(); the writer
         * itself sees only the data value. */
        ch_buf_append_cstr(&req->res.body, "{\"success\":true,\"data\":");
    }
    req->_json = w;
    req->_envelope = envelope;
    return w;
}

struct ch_json_writer *ch_json_ok(struct ch_request *req)
{
    return begin(req, 1);
}

struct ch_json_writer *ch_json_begin(struct ch_request *req)
{
    return begin(req, 0);
}

int ch_respond(struct ch_request *req, int status)
{
    if (ch_request_done(req)) return settle(req);
    if (req->_json) {
        int rc = ch_json_writer_finish(req->_json);
        if (rc == 0 && req->_envelope) rc = ch_buf_putc(&req->res.body, '}');
        req->_json = NULL;
        if (rc != 0) {
            req->_failure = rc;
            return ch_error(req, CH_ERR_INTERNAL, "could not serialize the response: %s",
                            ch_strerror(rc));
        }
        req->res.content_type = CH_STR("application/json");
    }
    req->res.status = status;
    ch_res_send(req);
    return 0;
}

int ch_respond_text(struct ch_request *req, int status, const char *content_type,
                    struct ch_str body)
{
    if (ch_request_done(req)) return settle(req);
    req->_json = NULL;
    ch_res_send_text(req, status, content_type, body);
    return 0;
}

static int send_error(struct ch_request *req, enum ch_error_kind kind, const char *message,
                      const struct ch_json_check *fields)
{
    if (ch_request_done(req)) return settle(req);
    struct ch_app *app = ch__app_of(req);
    if ((unsigned)kind >= CH_ERR_KIND_COUNT) kind = CH_ERR_INTERNAL;
    if (!message) message = kinds[kind].message;
    if (kind == CH_ERR_INTERNAL || kind == CH_ERR_DATABASE) {
        ch_log(CH_LOG_ERROR, "request %.*s %s %.*s: %s: %s", (int)req->request_id.len,
               req->request_id.ptr ? req->request_id.ptr : "-", ch_method_name(req->method),
               (int)req->path.len, req->path.ptr, kinds[kind].code, message);
        /* Production clients learn that it failed, not how. */
        if (app->cfg.production) message = kinds[kind].message;
    }
    req->_json = NULL;
    req->res.body.len = 0;
    ch__envelope_error(&req->res.body, kinds[kind].code, message, fields);
    req->res.status = kinds[kind].status;
    req->res.content_type = CH_STR("application/json");
    ch_res_send(req);
    return 0;
}

int ch_error(struct ch_request *req, enum ch_error_kind kind, const char *fmt, ...)
{
    char msg[512];
    const char *m = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        m = msg;
    }
    return send_error(req, kind, m, NULL);
}

int ch_error_fields(struct ch_request *req, const struct ch_json_check *check)
{
    return send_error(req, CH_ERR_VALIDATION, NULL, check);
}

/* "application/json" or "application/<subtype>+json" (RFC 6839 structured syntax suffix),
 * optionally followed by parameters such as "; charset=utf-8". */
static int is_json_type(struct ch_str ct)
{
    struct ch_str app = CH_STR("application/");
    if (ct.len < app.len || !ch_str_case_eq(ch_str_make(ct.ptr, app.len), app)) return 0;
    size_t end = app.len;
    while (end < ct.len && ct.ptr[end] != ';' && ct.ptr[end] != ' ' && ct.ptr[end] != '\t') end++;
    struct ch_str sub = ch_str_make(ct.ptr + app.len, end - app.len);
    struct ch_str rest = ch_str_trim_ows(ch_str_make(ct.ptr + end, ct.len - end));
    if (rest.len && rest.ptr[0] != ';') return 0;
    if (ch_str_case_eq(sub, CH_STR("json"))) return 1;
    /* A suffix needs a subtype before it: "+json" alone is not a media type. */
    return sub.len > 5 && ch_str_case_eq(ch_str_make(sub.ptr + sub.len - 5, 5), CH_STR("+json"));
}

const struct ch_json_value *ch_json_body(struct ch_request *req)
{
    if (req->_body) return req->_body;
    struct ch_app *app = ch__app_of(req);
    if (!is_json_type(ch_header(req, "Content-Type"))) {
        ch_error(req, CH_ERR_UNSUPPORTED_MEDIA_TYPE,
                 "Content-Type must be application/json or application/*+json");
        return NULL;
    }
    if (req->body.len > app->cfg.max_body_size) {
        ch_error(req, CH_ERR_PAYLOAD_TOO_LARGE, "Body exceeds %llu bytes",
                 (unsigned long long)app->cfg.max_body_size);
        return NULL;
    }
    const struct ch_json_value *v;
    struct ch_json_error e = {0};
    int rc = ch_json_parse(req->body.ptr ? req->body.ptr : "", req->body.len, &req->arena, &v, &e);
    if (rc == CH_ENOMEM) {
        ch_error(req, CH_ERR_INTERNAL, "out of memory parsing the body");
        return NULL;
    }
    if (rc != 0) {
        ch_error(req, CH_ERR_VALIDATION, "Invalid JSON: %s at line %u column %u",
                 e.reason ? e.reason : "malformed document", (unsigned)e.line, (unsigned)e.column);
        return NULL;
    }
    req->_body = v;
    return v;
}

struct ch_str ch_param(const struct ch_request *req, const char *name)
{
    struct ch_str n = ch_str_cstr(name);
    for (size_t i = 0; i < req->num_params; i++)
        if (ch_str_eq(req->params[i].name, n)) return req->params[i].value;
    return (struct ch_str){NULL, 0};
}

int ch_param_int(const struct ch_request *req, const char *name, int64_t *out)
{
    struct ch_str v = ch_param(req, name);
    if (!v.ptr) return CH_EINVAL;
    return ch_str_to_i64(v, out) == 0 ? 0 : CH_EINVAL;
}

const struct ch_query *ch_query_all(struct ch_request *req)
{
    if (req->_query) return req->_query;
    struct ch_query *q = ch_arena_calloc(&req->arena, sizeof(*q));
    if (!q || ch_query_parse(&req->arena, req->query, q) != 0) return NULL;
    req->_query = q;
    return q;
}

struct ch_str ch_query(struct ch_request *req, const char *key)
{
    struct ch_str v = {NULL, 0};
    const struct ch_query *q = ch_query_all(req);
    if (q && ch_query_get(q, ch_str_cstr(key), &v) == 0) return v;
    return (struct ch_str){NULL, 0};
}

