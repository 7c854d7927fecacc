/* The chopin binary's own endpoints: the TechEmpower plaintext and JSON tests (raw routes in
 * performance mode, answered before routing without a request object; the ordinary routes
 * serve standard mode, HEAD, HTTP/1.0 and Connection: close), the welcome page, the API docs
 * and an echo endpoint. */
#include <stdlib.h>
#include <string.h>

#include <chopin/chopin.h>
#include <chopin/docs.h>

#include "basic.h"

static int plaintext(struct ch_request *req)
{
    return ch_respond_text(req, 200, "text/plain", CH_STR("Hello, World!"));
}

static int json(struct ch_request *req)
{
    struct ch_json_writer *w = ch_json_begin(req);
    ch_json_object_begin(w);
    ch_json_key(w, "message");
    ch_json_string(w, "Hello, World!");
    ch_json_object_end(w);
    return ch_respond(req, 200);
}

/* Written by hand rather than with ch_raw_respond(): a constant head with the Date spliced in is
 * the least work a response can be, and /plaintext is the benchmark that measures exactly that. */
static int raw_plaintext(struct ch_buf *out, const char *date)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nServer: chopin\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 13\r\nDate: ";
    static const char tail[] = "\r\n\r\nHello, World!";
    if (ch_buf_reserve(out, sizeof(head) + CH_HTTP_DATE_LEN + sizeof(tail)) != 0) return CH_ENOMEM;
    char *p = out->ptr + out->len;
    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;
    memcpy(p, date, CH_HTTP_DATE_LEN);
    p += CH_HTTP_DATE_LEN;
    memcpy(p, tail, sizeof(tail) - 1);
    out->len = (size_t)(p + sizeof(tail) - 1 - out->ptr);
    return 0;
}

/* The TechEmpower rule: the JSON body is serialized for each request, not cached. */
static int raw_json(struct ch_buf *out, const char *date)
{
    size_t mark;
    if (ch_raw_begin(out, 200, date, "application/json", &mark) != 0) return CH_ENOMEM;
    struct ch_json_writer w;
    ch_json_writer_init(&w, out);
    ch_json_object_begin(&w);
    ch_json_key(&w, "message");
    ch_json_string(&w, "Hello, World!");
    ch_json_object_end(&w);
    if (ch_json_writer_finish(&w) != 0) return CH_ENOMEM;
    return ch_raw_end(out, mark);
}

static int welcome(struct ch_request *req)
{
    struct ch_json_writer *w = ch_json_begin(req);
    ch_json_object_begin(w);
    ch_json_key(w, "message");
    ch_json_string(w, "Welcome to Chopin! \xf0\x9f\x8e\xb9");
    ch_json_key(w, "docs");
    ch_json_string(w, "/api-docs");
    ch_json_key(w, "status");
    ch_json_string(w, "running");
    ch_json_object_end(w);
    return ch_respond(req, 200);
}

/* Echoes the body with its Content-Type: handy to check framing by hand (curl --data ...). */
static int echo(struct ch_request *req)
{
    struct ch_str ct = ch_header(req, "Content-Type");
    char *type = ct.ptr ? ch_arena_strndup(&req->arena, ct.ptr, ct.len) : NULL;
    return ch_respond_text(req, 200, type ? type : "application/octet-stream", req->body);
}

int basic_register(struct ch_app *app)
{
    int rc;
    if ((rc = ch_get(app, "/plaintext", plaintext)) || (rc = ch_get(app, "/json", json)) ||
        (rc = ch_get(app, "/", welcome)) || (rc = ch_post(app, "/echo", echo)) ||
        (rc = ch_app_raw_get(app, "/plaintext", raw_plaintext)) ||
        (rc = ch_app_raw_get(app, "/json", raw_json)))
        return rc;
    return 0;
}

int basic_render_docs(struct ch_app *app)
{
    return ch_app_docs(app, "/api-docs", "Chopin", CH_VERSION);
}
