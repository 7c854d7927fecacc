/* Internal glue between the HTTP/1.1 engine and the layer that handles requests.
 *
 * The engine parses, frames, times out and writes; the application layer (router and
 * middleware in standard mode) decides what each request gets. */
#ifndef CH_HTTP_ENGINE_H
#define CH_HTTP_ENGINE_H

#include "chopin/config.h"
#include "chopin/request.h"
#include "core/worker.h"

/* A raw route (see ch_app_raw_get() in chopin/app.h): an exact GET path and its writer. */
struct ch__raw_route {
    const char *path;
    size_t len;
    int (*fn)(struct ch_buf *out, const char *date);
};

struct ch__http_app {
    const struct ch_config *cfg;
    /* Handles a complete request: must call ch_res_send() now or later (after holding it). */
    void (*handle)(struct ch_request *req);
    /* Runs just before a response is serialized (middleware after-hooks); may be NULL. */
    void (*before_send)(struct ch_request *req);
    /* Renders the body of an error the engine answers by itself (400, 413, 431, 408...). */
    void (*render_error)(const struct ch__http_app *app, int status, const char *message,
                         struct ch_buf *body, struct ch_str *content_type);
    /* Runs on each worker's periodic tick (every 250 ms); may be NULL. */
    void (*worker_tick)(struct ch_worker *w);
    void *data;
    /* Performance mode's raw routes, tried in order before a request object exists. */
    const struct ch__raw_route *raw;
    size_t nraw;
};

/* The HTTP/1.1 protocol, for ch__server_init(); its proto_ctx must be a struct ch__http_app. */
extern const struct ch__proto ch__h1_proto;

/* Writes a complete response for `req` into the connection's output (internal to http/). */
int ch__h1_write_response(struct ch_request *req);

/* Performance mode's raw routes, answered without a request object. Returns 1 when one
 * answered `head` into `out` (a connection's output buffer), 0 to route it normally. */
int ch__fast_serve(const struct ch__http_app *app, const struct ch_http_head *head,
                   struct ch_buf *out, const char *date);

/* Appends the status line, Server, Date (`date`: CH__DATE_LEN bytes), Content-Type (when not
 * empty) and, for statuses that have a body, Content-Length. The caller adds any other header
 * and the empty line. 0 or CH_ENOMEM. */
int ch__write_head(struct ch_buf *out, int status, const char *date, struct ch_str content_type,
                   size_t body_len);

#endif
