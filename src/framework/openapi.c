/* OpenAPI 3.1 from the route table. */
#include <stdio.h>
#include <stdlib.h>

#include "chopin/error.h"
#include "chopin/json.h"
#include "chopin/openapi.h"

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

static const enum ch_method documented[] = {CH_GET, CH_POST, CH_PUT, CH_PATCH, CH_DELETE,
                                             CH_OPTIONS, CH_HEAD};

static void lower(char *dst, const char *src)
{
    while (*src) *dst++ = (char)(*src >= 'A' && *src <= 'Z' ? *src + 32 : *src), src++;
    *dst = '\0';
}

static void operation(struct ch_json_writer *w, enum ch_method m, const char *tmpl,
                      const struct ch_str *names, size_t n)
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
    if (n) {
        ch_json_key(w, "parameters");
        ch_json_array_begin(w);
        for (size_t i = 0; i < n; i++) {
            ch_json_object_begin(w);
            ch_json_key(w, "name");
            ch_json_str(w, names[i]);
            ch_json_key(w, "in");
            ch_json_string(w, "path");
            ch_json_key(w, "required");
            ch_json_bool(w, 1);
            ch_json_key(w, "schema");
            ch_json_object_begin(w);
            ch_json_key(w, "type");
            ch_json_string(w, "string");
            ch_json_object_end(w);
            ch_json_object_end(w);
        }
        ch_json_array_end(w);
    }
    ch_json_key(w, "responses");
    ch_json_object_begin(w);
    ch_json_key(w, "200");
    ch_json_object_begin(w);
    ch_json_key(w, "description");
    ch_json_string(w, "Success");
    ch_json_object_end(w);
    ch_json_key(w, "default");
    ch_json_object_begin(w);
    ch_json_key(w, "description");
    ch_json_string(w, "Error envelope: {\"success\":false,\"error\":{\"code\",\"message\"}}");
    ch_json_object_end(w);
    ch_json_object_end(w);
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
    for (size_t i = 0; i < count; i++) {
        if (done[i]) continue;
        unsigned methods = 0, mi = 0;
        const char *pattern = ch_app_route_info(app, i, &methods);
        for (size_t j = i + 1; j < count; j++) {
            const char *pj = ch_app_route_info(app, j, &mi);
            if (!done[j] && strcmp(pj, pattern) == 0) {
                methods |= mi;
                done[j] = 1;
            }
        }
        struct ch_buf tmpl;
        struct ch_str names[16];
        size_t n;
        ch_buf_init(&tmpl);
        if (template_of(pattern, &tmpl, names, &n) || ch_buf_putc(&tmpl, '\0')) {
            ch_buf_cleanup(&tmpl);
            free(done);
            return CH_ENOMEM;
        }
        ch_json_key(&w, tmpl.ptr);
        ch_json_object_begin(&w);
        for (size_t k = 0; k < sizeof(documented) / sizeof(documented[0]); k++)
            if (methods & CH_METHOD_BIT(documented[k]))
                operation(&w, documented[k], tmpl.ptr, names, n);
        ch_json_object_end(&w);
        ch_buf_cleanup(&tmpl);
    }
    free(done);
    ch_json_object_end(&w);
    ch_json_object_end(&w);
    return ch_json_writer_finish(&w);
}
