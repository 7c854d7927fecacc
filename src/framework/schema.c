/* Declared routes: checking a declaration at registration, validating requests against it, and
 * the typed query helpers that share its parsing (chopin/schema.h, chopin/respond.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "chopin/error.h"
#include "chopin/respond.h"
#include "chopin/schema.h"
#include "framework/app.h"

/* A bound of 2^63 or beyond (INT64_MAX written as a double is 2^63) is an open end. */
#define OPEN_END 9.2e18

static int range_set(const struct ch_field *f)
{
    return f->min != 0 || f->max != 0;
}

static int has_min(const struct ch_field *f)
{
    return range_set(f) && f->min > -OPEN_END;
}

static int has_max(const struct ch_field *f)
{
    return range_set(f) && f->max < OPEN_END;
}

/* ---- Messages --------------------------------------------------------------------------- */

static void fmt_num(char *dst, size_t n, double v, int integer)
{
    if (integer)
        snprintf(dst, n, "%lld", (long long)v);
    else
        snprintf(dst, n, "%.17g", v);
}

/* "must be an integer between 1 and 100", "must be a number of at least 0", "must be an
 * integer": what a numeric field expects, for its error messages. */
static void numeric_expectation(const struct ch_field *f, char *dst, size_t n)
{
    int integer = f->type == CH_INT;
    const char *what = integer ? "an integer" : "a number";
    char lo[32], hi[32];
    fmt_num(lo, sizeof(lo), f->min, integer);
    fmt_num(hi, sizeof(hi), f->max, integer);
    if (has_min(f) && has_max(f))
        snprintf(dst, n, "must be %s between %s and %s", what, lo, hi);
    else if (has_min(f))
        snprintf(dst, n, "must be %s of at least %s", what, lo);
    else if (has_max(f))
        snprintf(dst, n, "must be %s of at most %s", what, hi);
    else
        snprintf(dst, n, "must be %s", what);
}

static int in_range(const struct ch_field *f, double v)
{
    return !(has_min(f) && v < f->min) && !(has_max(f) && v > f->max);
}

static size_t code_points(struct ch_str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) n += ((unsigned char)s.ptr[i] & 0xC0) != 0x80;
    return n;
}

static int one_of(const char *list, struct ch_str v)
{
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, '|');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == v.len && memcmp(p, v.ptr, n) == 0) return 1;
        if (!end) return 0;
        p = end + 1;
    }
}

/* The string constraints: NULL when `v` satisfies them, else the problem in `msg`. */
static const char *string_problem(const struct ch_field *f, struct ch_str v, char *msg, size_t n)
{
    size_t cp = code_points(v);
    if (f->min_len && cp < f->min_len) {
        snprintf(msg, n, "must be at least %zu character%s long", f->min_len,
                 f->min_len == 1 ? "" : "s");
        return msg;
    }
    if (f->max_len && cp > f->max_len) {
        snprintf(msg, n, "must be at most %zu character%s long", f->max_len,
                 f->max_len == 1 ? "" : "s");
        return msg;
    }
    if (f->prefix && (v.len < strlen(f->prefix) || memcmp(v.ptr, f->prefix, strlen(f->prefix))))
        return snprintf(msg, n, "must start with \"%s\"", f->prefix), msg;
    if (f->one_of && !one_of(f->one_of, v)) {
        int k = snprintf(msg, n, "must be one of: ");
        for (const char *p = f->one_of; *p && (size_t)k + 3 < n; p++) {
            if (*p == '|')
                k += snprintf(msg + k, n - (size_t)k, ", ");
            else
                msg[k++] = *p, msg[k] = '\0';
        }
        return msg;
    }
    return NULL;
}

/* ---- Parameters (path and query): text to typed values ---------------------------------- */

static int parse_double(struct ch_str s, double *out)
{
    char buf[64];
    if (s.len == 0 || s.len >= sizeof(buf)) return CH_EINVAL;
    for (size_t i = 0; i < s.len; i++)
        if (!strchr("0123456789+-.eE", s.ptr[i])) return CH_EINVAL; /* no "inf", "nan", hex */
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end != '\0' || !isfinite(v)) return CH_EINVAL;
    *out = v;
    return 0;
}

static int parse_bool(struct ch_str s, int *out)
{
    if (ch_str_eq_cstr(s, "true") || ch_str_eq_cstr(s, "1")) return *out = 1, 0;
    if (ch_str_eq_cstr(s, "false") || ch_str_eq_cstr(s, "0")) return *out = 0, 0;
    return CH_EINVAL;
}

/* Checks one parameter's text against its declaration; NULL or the problem in `msg`. */
static const char *param_problem(const struct ch_field *f, struct ch_str v, char *msg, size_t n)
{
    switch (f->type) {
    case CH_INT: {
        int64_t i;
        if (ch_str_to_i64(v, &i) != 0 || !in_range(f, (double)i))
            return numeric_expectation(f, msg, n), msg;
        return NULL;
    }
    case CH_FLOAT: {
        double d;
        if (parse_double(v, &d) != 0 || !in_range(f, d)) return numeric_expectation(f, msg, n), msg;
        return NULL;
    }
    case CH_BOOL: {
        int b;
        if (parse_bool(v, &b) != 0) return snprintf(msg, n, "must be true or false"), msg;
        return NULL;
    }
    default: return string_problem(f, v, msg, n);
    }
}

/* The query string, or NULL after answering 400 for a malformed one. */
static const struct ch_query *query_or_400(struct ch_request *req)
{
    const struct ch_query *q = ch_query_all(req);
    if (!q) ch_error(req, CH_ERR_BAD_REQUEST, "malformed query string");
    return q;
}

/* A query parameter: 1 with *v set when present and not empty, 0 when absent or empty (an
 * empty value, as HTML forms send for an empty field, counts as absent). */
static int query_value(const struct ch_query *q, const char *key, struct ch_str *v)
{
    return ch_query_get(q, ch_str_cstr(key), v) == 0 && v->len > 0;
}

int ch_query_int(struct ch_request *req, const char *key, int64_t def, int64_t min, int64_t max,
                 int64_t *out)
{
    const struct ch_query *q = query_or_400(req);
    if (!q) return CH_EINVAL;
    struct ch_str v;
    if (!query_value(q, key, &v)) return *out = def, 0;
    int64_t i;
    if (ch_str_to_i64(v, &i) != 0 || i < min || i > max) {
        ch_error(req, CH_ERR_BAD_REQUEST, "%s must be an integer between %lld and %lld", key,
                 (long long)min, (long long)max);
        return CH_EINVAL;
    }
    *out = i;
    return 0;
}

int64_t ch_query_int_clamp(struct ch_request *req, const char *key, int64_t def, int64_t min,
                           int64_t max)
{
    const struct ch_query *q = ch_query_all(req);
    struct ch_str v;
    int64_t i;
    if (!q || !query_value(q, key, &v) || ch_str_to_i64(v, &i) != 0) i = def;
    return i < min ? min : i > max ? max : i;
}

int ch_query_float(struct ch_request *req, const char *key, double def, double min, double max,
                   double *out)
{
    const struct ch_query *q = query_or_400(req);
    if (!q) return CH_EINVAL;
    struct ch_str v;
    if (!query_value(q, key, &v)) return *out = def, 0;
    double d;
    if (parse_double(v, &d) != 0 || d < min || d > max) {
        ch_error(req, CH_ERR_BAD_REQUEST, "%s must be a number between %.17g and %.17g", key, min,
                 max);
        return CH_EINVAL;
    }
    *out = d;
    return 0;
}

int ch_query_bool(struct ch_request *req, const char *key, int def, int *out)
{
    const struct ch_query *q = query_or_400(req);
    if (!q) return CH_EINVAL;
    struct ch_str v;
    if (!query_value(q, key, &v)) return *out = def, 0;
    if (parse_bool(v, out) != 0) {
        ch_error(req, CH_ERR_BAD_REQUEST, "%s must be true or false", key);
        return CH_EINVAL;
    }
    return 0;
}

int ch_paginate(struct ch_request *req, struct ch_page *page, int64_t def_limit, int64_t max_limit)
{
    if (ch_query_int(req, "limit", def_limit, 1, max_limit, &page->limit) != 0) return CH_EINVAL;
    return ch_query_int(req, "offset", 0, 0, INT64_MAX, &page->offset);
}

/* ---- Declarations ----------------------------------------------------------------------- */

static int pattern_has_param(const char *pattern, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = pattern; *p; p++) {
        if ((*p != ':' && *p != '*') || (p != pattern && p[-1] != '/')) continue;
        if (strncmp(p + 1, name, n) == 0 && (p[1 + n] == '/' || p[1 + n] == '\0')) return 1;
    }
    return 0;
}

static int check_fields(struct ch_fields fs, int scalar_only)
{
    if (fs.count && !fs.items) return CH_EINVAL;
    for (size_t i = 0; i < fs.count; i++) {
        const struct ch_field *f = &fs.items[i];
        if (!f->name || f->type < CH_STRING || f->type > CH_ARRAY) return CH_EINVAL;
        if (scalar_only && f->type > CH_BOOL) return CH_EINVAL;
        if (range_set(f) && f->min > f->max) return CH_EINVAL;
        if (f->max_len && f->min_len > f->max_len) return CH_EINVAL;
    }
    return 0;
}

int ch__spec_check(const struct ch_route_spec *spec, const char *pattern)
{
    if (check_fields(spec->params, 1) || check_fields(spec->query, 1) ||
        check_fields(spec->body, 0))
        return CH_EINVAL;
    for (size_t i = 0; i < spec->params.count; i++)
        if (!pattern_has_param(pattern, spec->params.items[i].name)) return CH_EINVAL;
    for (size_t i = 0; i < CH_ROUTE_MAX_STATUSES && spec->statuses[i]; i++)
        if (spec->statuses[i] < 100 || spec->statuses[i] > 599) return CH_EINVAL;
    return 0;
}

/* ---- Validation ------------------------------------------------------------------------- */

static int validate_params(struct ch_request *req, const struct ch_route_spec *spec)
{
    char msg[256];
    for (size_t i = 0; i < spec->params.count; i++) {
        const struct ch_field *f = &spec->params.items[i];
        const char *p = param_problem(f, ch_param(req, f->name), msg, sizeof(msg));
        if (p) return ch_error(req, CH_ERR_BAD_REQUEST, "%s %s", f->name, p), CH_EINVAL;
    }
    if (!spec->query.count) return 0;
    const struct ch_query *q = query_or_400(req);
    if (!q) return CH_EINVAL;
    for (size_t i = 0; i < spec->query.count; i++) {
        const struct ch_field *f = &spec->query.items[i];
        struct ch_str v;
        if (!query_value(q, f->name, &v)) {
            if (f->required)
                return ch_error(req, CH_ERR_BAD_REQUEST, "%s is required", f->name), CH_EINVAL;
            continue;
        }
        const char *p = param_problem(f, v, msg, sizeof(msg));
        if (p) return ch_error(req, CH_ERR_BAD_REQUEST, "%s %s", f->name, p), CH_EINVAL;
    }
    return 0;
}

static size_t problem_count(const struct ch_json_check *c)
{
    size_t n = 0;
    ch_json_check_problems(c, &n);
    return n;
}

static int present(const struct ch_json_value *obj, const char *name)
{
    enum ch_json_type t = ch_json_value_type(ch_json_value_get(obj, name));
    return t != CH_JSON_NONE && t != CH_JSON_NULL;
}

/* Checks one declared member of the body, recording at most one problem for it. */
static void check_field(struct ch_json_check *c, const struct ch_json_value *root,
                        const struct ch_field *f)
{
    int flags = f->required ? CH_JSON_REQUIRED : CH_JSON_OPTIONAL;
    size_t before = problem_count(c);
    char msg[256];
    const char *p = NULL;
    switch (f->type) {
    case CH_STRING: {
        struct ch_str s = ch_json_check_str(c, root, f->name, flags);
        if (problem_count(c) == before && s.ptr && present(root, f->name))
            p = string_problem(f, s, msg, sizeof(msg));
        break;
    }
    case CH_INT: {
        int64_t v = ch_json_check_int(c, root, f->name, flags, 0);
        if (problem_count(c) == before && present(root, f->name) && !in_range(f, (double)v))
            p = (numeric_expectation(f, msg, sizeof(msg)), msg);
        break;
    }
    case CH_FLOAT: {
        double v = ch_json_check_double(c, root, f->name, flags, 0);
        if (problem_count(c) == before && present(root, f->name) && !in_range(f, v))
            p = (numeric_expectation(f, msg, sizeof(msg)), msg);
        break;
    }
    case CH_BOOL: ch_json_check_bool(c, root, f->name, flags, 0); break;
    case CH_OBJECT: ch_json_check_object(c, root, f->name, flags); break;
    case CH_ARRAY: {
        const struct ch_json_value *a = ch_json_check_array(c, root, f->name, flags);
        size_t n = ch_json_value_count(a);
        if (a && f->min_len && n < f->min_len)
            p = (snprintf(msg, sizeof(msg), "must have at least %zu item%s", f->min_len,
                          f->min_len == 1 ? "" : "s"),
                 msg);
        else if (a && f->max_len && n > f->max_len)
            p = (snprintf(msg, sizeof(msg), "must have at most %zu item%s", f->max_len,
                          f->max_len == 1 ? "" : "s"),
                 msg);
        break;
    }
    }
    if (p) ch_json_check_fail(c, root, f->name, p);
}

static const char *type_name(enum ch_json_type t)
{
    switch (t) {
    case CH_JSON_NULL: return "null";
    case CH_JSON_BOOL: return "a boolean";
    case CH_JSON_INT:
    case CH_JSON_DOUBLE: return "a number";
    case CH_JSON_STRING: return "a string";
    case CH_JSON_ARRAY: return "an array";
    default: return "empty";
    }
}

static int validate_body(struct ch_request *req, const struct ch_route_spec *spec)
{
    const struct ch_json_value *root = ch_json_body(req);
    if (!root) return CH_EINVAL;
    enum ch_json_type t = ch_json_value_type(root);
    if (t != CH_JSON_OBJECT) {
        ch_error(req, CH_ERR_VALIDATION, "Request body must be a JSON object, not %s",
                 type_name(t));
        return CH_EINVAL;
    }
    struct ch_json_check c;
    ch_json_check_init(&c, &req->arena);
    for (size_t i = 0; i < spec->body.count; i++) check_field(&c, root, &spec->body.items[i]);
    if (spec->reject_unknown) {
        struct ch_json_iter it;
        struct ch_str key;
        ch_json_iter_init(&it, root);
        while (ch_json_iter_next(&it, &key)) {
            size_t i = 0;
            while (i < spec->body.count && !ch_str_eq_cstr(key, spec->body.items[i].name)) i++;
            if (i < spec->body.count) continue;
            const char *name = ch_arena_strndup(&req->arena, key.ptr, key.len);
            if (name) ch_json_check_fail(&c, root, name, "is not an allowed field");
        }
    }
    int rc = ch_json_check_result(&c);
    if (rc == CH_ENOMEM)
        return ch_error(req, CH_ERR_INTERNAL, "out of memory validating the body"), rc;
    if (rc != 0) return ch_error_fields(req, &c), rc;
    return 0;
}

int ch__validate(struct ch_request *req, const struct ch_route_spec *spec)
{
    if (validate_params(req, spec) != 0) return CH_EINVAL;
    if (spec->body.count && validate_body(req, spec) != 0) return CH_EINVAL;
    return 0;
}

/* ---- Reading validated values ----------------------------------------------------------- */

static const struct ch_route_spec *spec_of(const struct ch_request *req)
{
    const struct ch__app_route *r = req->_route;
    return r ? r->spec : NULL;
}

static const struct ch_field *find_field(const struct ch_fields *fs, const char *name)
{
    for (size_t i = 0; i < fs->count; i++)
        if (strcmp(fs->items[i].name, name) == 0) return &fs->items[i];
    return NULL;
}

/* A declared parameter's text: 1 when present (path, or a non-empty query value), 0 when the
 * default applies (*field set), -1 when the route declares no such parameter. */
static int arg(struct ch_request *req, const char *name, struct ch_str *v,
               const struct ch_field **field)
{
    const struct ch_route_spec *spec = spec_of(req);
    if (!spec) return -1;
    if ((*field = find_field(&spec->params, name))) {
        *v = ch_param(req, name);
        return 1;
    }
    if (!(*field = find_field(&spec->query, name))) return -1;
    const struct ch_query *q = ch_query_all(req);
    return q && query_value(q, name, v) ? 1 : 0;
}

int64_t ch_arg_int(struct ch_request *req, const char *name)
{
    struct ch_str v;
    const struct ch_field *f;
    int64_t i = 0;
    int rc = arg(req, name, &v, &f);
    if (rc == 0) return (int64_t)f->def;
    if (rc == 1 && ch_str_to_i64(v, &i) != 0) i = 0;
    return i;
}

double ch_arg_float(struct ch_request *req, const char *name)
{
    struct ch_str v;
    const struct ch_field *f;
    double d = 0;
    int rc = arg(req, name, &v, &f);
    if (rc == 0) return f->def;
    if (rc == 1 && parse_double(v, &d) != 0) d = 0;
    return d;
}

int ch_arg_bool(struct ch_request *req, const char *name)
{
    struct ch_str v;
    const struct ch_field *f;
    int b = 0;
    int rc = arg(req, name, &v, &f);
    if (rc == 0) return f->def != 0;
    if (rc == 1 && parse_bool(v, &b) != 0) b = 0;
    return b;
}

struct ch_str ch_arg_str(struct ch_request *req, const char *name)
{
    struct ch_str v;
    const struct ch_field *f;
    return arg(req, name, &v, &f) == 1 ? v : (struct ch_str){NULL, 0};
}

const struct ch_json_value *ch_body(const struct ch_request *req)
{
    return req->_body;
}

/* The member, or NULL when absent or null. */
static const struct ch_json_value *member(const struct ch_request *req, const char *name)
{
    const struct ch_json_value *v = ch_json_value_get(req->_body, name);
    return ch_json_value_type(v) == CH_JSON_NULL ? NULL : v;
}

int ch_body_has(const struct ch_request *req, const char *name)
{
    return member(req, name) != NULL;
}

struct ch_str ch_body_str(const struct ch_request *req, const char *name)
{
    const struct ch_json_value *v = member(req, name);
    return ch_json_value_type(v) == CH_JSON_STRING ? ch_json_value_str(v)
                                                   : (struct ch_str){NULL, 0};
}

int64_t ch_body_int(const struct ch_request *req, const char *name, int64_t def)
{
    const struct ch_json_value *v = member(req, name);
    enum ch_json_type t = ch_json_value_type(v);
    if (t == CH_JSON_INT) return ch_json_value_int(v);
    if (t == CH_JSON_DOUBLE) {
        double d = ch_json_value_double(v);
        /* A validated CH_INT field may hold 2.0 or 1e3. */
        if (d == floor(d) && fabs(d) < OPEN_END) return (int64_t)d;
    }
    return def;
}

double ch_body_float(const struct ch_request *req, const char *name, double def)
{
    const struct ch_json_value *v = member(req, name);
    enum ch_json_type t = ch_json_value_type(v);
    return t == CH_JSON_INT || t == CH_JSON_DOUBLE ? ch_json_value_double(v) : def;
}

int ch_body_bool(const struct ch_request *req, const char *name, int def)
{
    const struct ch_json_value *v = member(req, name);
    return ch_json_value_type(v) == CH_JSON_BOOL ? ch_json_value_bool(v) : def;
}
