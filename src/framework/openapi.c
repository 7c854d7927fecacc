/* OpenAPI 3.1 from the route table. */
#include <stdio.h>
#include <stdlib.h>

#include "chopin/error.h"
#include "chopin/json.h"
#include "chopin/openapi.h"
#include "chopin/schema.h"
#include "framework/app.h"

/* ":id" and "*rest" segments become "{id}" and "{rest}"; parameter names are collected. */
static int template_of(const char *pattern, struct ch_buf *out, struct ch_str *names, size_t *n)
{
    const char *p = pattern;
    *n = 0;
    while (*p) {
        int at_segment = p == pattern || p[-1] == '/';
        if (at_segment && (*p == ':' || *p == '*') && p[1] && p[1] != '/') {
            const char *s = ++p;
            while (*p && *p != '/') p++;
            if (*n < 16) names[(*n)++] = ch_str_make(s, (size_t)(p - s));
            if (ch_buf_putc(out, '{') || ch_buf_append(out, s, (size_t)(p - s)) ||
                ch_buf_putc(out, '}'))
                return CH_ENOMEM;
            continue;
        }
        if (ch_buf_putc(out, *p++)) return CH_ENOMEM;
    }
    return 0;
}

static const enum ch_method documented[] = {CH_GET,    CH_POST,    CH_PUT, CH_PATCH,
                                            CH_DELETE, CH_OPTIONS, CH_HEAD};

static void lower(char *dst, const char *src)
{
    while (*src) *dst++ = (char)(*src >= 'A' && *src <= 'Z' ? *src + 32 : *src), src++;
    *dst = '\0';
}

static const char *json_type(enum ch_type t)
{
    switch (t) {
    case CH_INT: return "integer";
    case CH_FLOAT: return "number";
    case CH_BOOL: return "boolean";
    case CH_OBJECT: return "object";
    case CH_ARRAY: return "array";
    default: return "string";
    }
}

/* A bound at 2^63 or beyond is an open end (see schema.c). */
#define OPEN_END 9.2e18

static void number(struct ch_json_writer *w, const struct ch_field *f, double v)
{
    if (f->type == CH_INT)
        ch_json_int(w, (int64_t)v);
    else
        ch_json_double(w, v);
}

/* A regular expression matching strings that start with `prefix`. */
static void prefix_pattern(struct ch_json_writer *w, const char *prefix)
{
    char re[512];
    size_t k = 0;
    re[k++] = '^';
    for (const char *p = prefix; *p && k + 3 < sizeof(re); p++) {
        if (strchr("\\^$.|?*+()[]{}", *p)) re[k++] = '\\';
        re[k++] = *p;
    }
    re[k] = '\0';
    ch_json_string(w, re);
}

/* The JSON Schema of one declared field. */
static void field_schema(struct ch_json_writer *w, const struct ch_field *f, int with_default)
{
    ch_json_object_begin(w);
    ch_json_key(w, "type");
    ch_json_string(w, json_type(f->type));
    if (f->type == CH_INT) {
        ch_json_key(w, "format");
        ch_json_string(w, "int64");
    }
    if (f->description) {
        ch_json_key(w, "description");
        ch_json_string(w, f->description);
    }
    int numeric = f->type == CH_INT || f->type == CH_FLOAT;
    if (numeric && (f->min != 0 || f->max != 0)) {
        if (f->min > -OPEN_END) {
            ch_json_key(w, "minimum");
            number(w, f, f->min);
        }
        if (f->max < OPEN_END) {
            ch_json_key(w, "maximum");
            number(w, f, f->max);
        }
    }
    if (f->type == CH_STRING || f->type == CH_ARRAY) {
        const char *lo = f->type == CH_STRING ? "minLength" : "minItems";
        const char *hi = f->type == CH_STRING ? "maxLength" : "maxItems";
        if (f->min_len) {
            ch_json_key(w, lo);
            ch_json_int(w, (int64_t)f->min_len);
        }
        if (f->max_len) {
            ch_json_key(w, hi);
            ch_json_int(w, (int64_t)f->max_len);
        }
    }
    if (f->type == CH_STRING && f->prefix) {
        ch_json_key(w, "pattern");
        prefix_pattern(w, f->prefix);
    }
    if (f->type == CH_STRING && f->one_of) {
        ch_json_key(w, "enum");
        ch_json_array_begin(w);
        for (const char *p = f->one_of;;) {
            const char *end = strchr(p, '|');
            ch_json_str(w, ch_str_make(p, end ? (size_t)(end - p) : strlen(p)));
            if (!end) break;
            p = end + 1;
        }
        ch_json_array_end(w);
    }
    if (with_default && (f->type == CH_INT || f->type == CH_FLOAT)) {
        ch_json_key(w, "default");
        number(w, f, f->def);
    } else if (with_default && f->type == CH_BOOL) {
        ch_json_key(w, "default");
        ch_json_bool(w, f->def != 0);
    }
    if (f->type == CH_ARRAY) {
        ch_json_key(w, "items");
        ch_json_object_begin(w);
        ch_json_object_end(w);
    }
    ch_json_object_end(w);
}

static const struct ch_field *find(const struct ch_fields *fs, struct ch_str name)
{
    for (size_t i = 0; i < fs->count; i++)
        if (ch_str_eq_cstr(name, fs->items[i].name)) return &fs->items[i];
    return NULL;
}

static void parameter(struct ch_json_writer *w, struct ch_str name, const char *in, int required,
                      const struct ch_field *f)
{
    ch_json_object_begin(w);
    ch_json_key(w, "name");
    ch_json_str(w, name);
    ch_json_key(w, "in");
    ch_json_string(w, in);
    ch_json_key(w, "required");
    ch_json_bool(w, required);
    ch_json_key(w, "schema");
    if (f) {
        field_schema(w, f, !required);
    } else {
        ch_json_object_begin(w);
        ch_json_key(w, "type");
        ch_json_string(w, "string");
        ch_json_object_end(w);
    }
    ch_json_object_end(w);
}

static void request_body(struct ch_json_writer *w, const struct ch_route_spec *spec)
{
    ch_json_key(w, "requestBody");
    ch_json_object_begin(w);
    ch_json_key(w, "required");
    ch_json_bool(w, 1);
    ch_json_key(w, "content");
    ch_json_object_begin(w);
    ch_json_key(w, "application/json");
    ch_json_object_begin(w);
    ch_json_key(w, "schema");
    ch_json_object_begin(w);
    ch_json_key(w, "type");
    ch_json_string(w, "object");
    ch_json_key(w, "properties");
    ch_json_object_begin(w);
    size_t nrequired = 0;
    for (size_t i = 0; i < spec->body.count; i++) {
        ch_json_key(w, spec->body.items[i].name);
        field_schema(w, &spec->body.items[i], 0);
        nrequired += spec->body.items[i].required != 0;
    }
    ch_json_object_end(w);
    if (nrequired) {
        ch_json_key(w, "required");
        ch_json_array_begin(w);
        for (size_t i = 0; i < spec->body.count; i++)
            if (spec->body.items[i].required) ch_json_string(w, spec->body.items[i].name);
        ch_json_array_end(w);
    }
    if (spec->reject_unknown) {
        ch_json_key(w, "additionalProperties");
        ch_json_bool(w, 0);
    }
    ch_json_object_end(w);
    ch_json_object_end(w);
    ch_json_object_end(w);
    ch_json_object_end(w);
}

static void response(struct ch_json_writer *w, int status)
{
    char code[8];
    snprintf(code, sizeof(code), "%d", status);
    ch_json_key(w, code);
    ch_json_object_begin(w);
    ch_json_key(w, "description");
    ch_json_string(w, ch_http_status_text(status));
    if (status >= 400) {
        ch_json_key(w, "content");
        ch_json_object_begin(w);
        ch_json_key(w, "application/json");
        ch_json_object_begin(w);
        ch_json_key(w, "schema");
        ch_json_object_begin(w);
        ch_json_key(w, "$ref");
        ch_json_string(w, "#/components/schemas/Error");
        ch_json_object_end(w);
        ch_json_object_end(w);
        ch_json_object_end(w);
    }
    ch_json_object_end(w);
}

/* The statuses an operation documents: the declared ones (200 when none), then those the
 * framework itself answers for what the route declares, each once, in ascending order. */
static size_t statuses_of(const struct ch_route_spec *spec, int guarded, int *out)
{
    size_t n = 0;
    for (size_t i = 0; spec && i < CH_ROUTE_MAX_STATUSES && spec->statuses[i]; i++)
        out[n++] = spec->statuses[i];
    if (n == 0) out[n++] = 200;
    if (spec && (spec->params.count || spec->query.count)) out[n++] = 400;
    if (guarded) out[n++] = 401;
    if (spec && spec->body.count) {
        out[n++] = 415;
        out[n++] = 422;
    }
    /* Insertion sort, dropping duplicates. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int v = out[i];
        size_t j = k;
        int dup = 0;
        for (size_t m = 0; m < k; m++) dup |= out[m] == v;
        if (dup) continue;
        while (j > 0 && out[j - 1] > v) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = v;
        k++;
    }
    return k;
}

static void operation(struct ch_json_writer *w, enum ch_method m, const char *tmpl,
                      const struct ch_str *names, size_t n, const struct ch_route_spec *spec,
                      const char *security)
{
    char name[16];
    lower(name, ch_method_name(m));
    ch_json_key(w, name);
    ch_json_object_begin(w);
    ch_json_key(w, "operationId");
    char id[512];
    size_t k = (size_t)snprintf(id, sizeof(id), "%s", name);
    for (const char *p = tmpl; *p && k + 1 < sizeof(id); p++)
        id[k++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
                      ? *p
                      : '_';
    id[k] = '\0';
    ch_json_string(w, id);
    if (spec && spec->summary) {
        ch_json_key(w, "summary");
        ch_json_string(w, spec->summary);
    }
    size_t nquery = spec ? spec->query.count : 0;
    if (n || nquery) {
        ch_json_key(w, "parameters");
        ch_json_array_begin(w);
        for (size_t i = 0; i < n; i++)
            parameter(w, names[i], "path", 1, spec ? find(&spec->params, names[i]) : NULL);
        for (size_t i = 0; i < nquery; i++) {
            const struct ch_field *f = &spec->query.items[i];
            parameter(w, ch_str_cstr(f->name), "query", f->required != 0, f);
        }
        ch_json_array_end(w);
    }
    if (spec && spec->body.count && m != CH_GET && m != CH_HEAD) request_body(w, spec);
    ch_json_key(w, "responses");
    ch_json_object_begin(w);
    int st[CH_ROUTE_MAX_STATUSES + 8];
    size_t ns = statuses_of(spec, security != NULL, st);
    for (size_t i = 0; i < ns; i++) response(w, st[i]);
    ch_json_key(w, "default");
    ch_json_object_begin(w);
    ch_json_key(w, "description");
    ch_json_string(w, "Error envelope: {\"success\":false,\"error\":{\"code\",\"message\"}}");
    ch_json_object_end(w);
    ch_json_object_end(w);
    if (security) {
        ch_json_key(w, "security");
        ch_json_array_begin(w);
        ch_json_object_begin(w);
        ch_json_key(w, "bearerAuth");
        ch_json_array_begin(w);
        ch_json_array_end(w);
        ch_json_object_end(w);
        ch_json_array_end(w);
    }
    ch_json_object_end(w);
}

static void raw(struct ch_json_writer *w, const char *json)
{
    ch_json_raw(w, json, strlen(json));
}

static void components(struct ch_json_writer *w, int bearer)
{
    ch_json_key(w, "components");
    ch_json_object_begin(w);
    ch_json_key(w, "schemas");
    raw(w, "{\"Error\":{\"type\":\"object\",\"required\":[\"success\",\"error\"],"
           "\"properties\":{\"success\":{\"const\":false},\"error\":{\"type\":"
           "\"object\",\"required\":[\"code\",\"message\"],\"properties\":{\"code\":"
           "{\"type\":\"string\"},\"message\":{\"type\":\"string\"},\"fields\":{"
           "\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
           "\"field\":{\"type\":\"string\"},\"message\":{\"type\":\"string\"}}}}}}}}}");
    if (bearer) {
        ch_json_key(w, "securitySchemes");
        raw(w, "{\"bearerAuth\":{\"type\":\"http\",\"scheme\":\"bearer\"}}");
    }
    ch_json_object_end(w);
}

int ch_openapi_render(const struct ch_app *app, const char *title, const char *version,
                      struct ch_buf *out)
{
    size_t count = ch_app_route_count(app);
    struct ch_json_writer w;
    ch_json_writer_init(&w, out);
    ch_json_object_begin(&w);
    ch_json_key(&w, "openapi");
    ch_json_string(&w, "3.1.0");
    ch_json_key(&w, "info");
    ch_json_object_begin(&w);
    ch_json_key(&w, "title");
    ch_json_string(&w, title);
    ch_json_key(&w, "version");
    ch_json_string(&w, version);
    ch_json_object_end(&w);
    ch_json_key(&w, "paths");
    ch_json_object_begin(&w);
    /* Routes that share a pattern (one per method) become one path item. */
    char *done = calloc(count ? count : 1, 1);
    if (!done) return CH_ENOMEM;
    int bearer = 0;
    for (size_t i = 0; i < count; i++) {
        if (done[i]) continue;
        const struct ch__app_route *r = ch__app_route_at(app, i);
        struct ch_buf tmpl;
        struct ch_str names[16];
        size_t n;
        ch_buf_init(&tmpl);
        if (template_of(r->pattern, &tmpl, names, &n) || ch_buf_putc(&tmpl, '\0')) {
            ch_buf_cleanup(&tmpl);
            free(done);
            return CH_ENOMEM;
        }
        ch_json_key(&w, tmpl.ptr);
        ch_json_object_begin(&w);
        for (size_t k = 0; k < sizeof(documented) / sizeof(documented[0]); k++) {
            /* The route registered for this method on this pattern, if any. */
            for (size_t j = i; j < count; j++) {
                const struct ch__app_route *rj = ch__app_route_at(app, j);
                if (strcmp(rj->pattern, r->pattern) != 0) continue;
                done[j] = 1;
                if (!(rj->methods & CH_METHOD_BIT(documented[k]))) continue;
                const char *sec = ch__route_security(app, rj);
                bearer |= sec != NULL;
                operation(&w, documented[k], tmpl.ptr, names, n, rj->spec, sec);
                break;
            }
        }
        ch_json_object_end(&w);
        ch_buf_cleanup(&tmpl);
    }
    free(done);
    ch_json_object_end(&w);
    components(&w, bearer);
    ch_json_object_end(&w);
    return ch_json_writer_finish(&w);
}
