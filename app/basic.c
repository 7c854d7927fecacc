/* The chopin binary's own endpoints: the TechEmpower plaintext and JSON tests (performance mode
 * answers these two before routing; these handlers serve standard mode, HEAD, HTTP/1.0 and
 * Connection: close), the welcome page, the API docs and an echo endpoint. */
#include <stdlib.h>

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
        (rc = ch_get(app, "/", welcome)) ||
        (rc = ch_post(app, "/echo", echo)))
        return rc;
    return 0;
}

int basic_render_docs(struct ch_app *app)
{
    return ch_app_docs(app, "/api-docs", "Chopin", CH_VERSION);
}
