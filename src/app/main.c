/* Temporary entry point: the engine with a minimal handler, until the framework lands. */
#include <stdio.h>
#include <stdlib.h>

#include "chopin/config.h"
#include "chopin/error.h"
#include "core/server.h"
#include "http/engine.h"

static void handle(struct ch_request *req)
{
    if (ch_str_eq_cstr(req->path, "/plaintext") && (req->method == CH_GET || req->method == CH_HEAD))
        ch_res_send_text(req, 200, "text/plain", CH_STR("Hello, World!"));
    else if (ch_str_eq_cstr(req->path, "/json") && (req->method == CH_GET || req->method == CH_HEAD))
        ch_res_send_text(req, 200, "application/json", CH_STR("{\"message\":\"Hello, World!\"}"));
    else if (ch_str_eq_cstr(req->path, "/echo"))
        ch_res_send_text(req, 200, "application/octet-stream", req->body);
    else
        ch_res_send_text(req, 404, "text/plain", CH_STR("not found\n"));
}

int main(int argc, char **argv)
{
    static struct ch_config cfg;
    char err[512];
    ch_config_defaults(&cfg);
    int rc = ch_config_load(&cfg, argc, argv, err, sizeof(err));
    if (rc == 1) return 0;
    if (rc != 0) {
        fprintf(stderr, "chopin: %s\n", err);
        return 2;
    }
    static struct ch_http_app app;
    app.cfg = &cfg;
    app.handle = handle;
    static struct ch_server server;
    ch_server_init(&server, &cfg, &ch_h1_proto, &app);
    rc = ch_server_run(&server);
    return rc == 0 ? 0 : 1;
}
