/* The request context handed to handlers, and the response they build in it.
 *
 * A request lives from the moment its head and body are complete until its response is sent
 * and every hold on it is released. Its slices (path, headers, body) point into the
 * connection's input buffer and its allocations come from its arena; all of them stay valid
 * for that whole lifetime, including across asynchronous work on the same worker thread.
 * Handlers never free anything: the arena is reset when the request ends. */
#ifndef CHOPIN_REQUEST_H
#define CHOPIN_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "http.h"
#include "method.h"
#include "str.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CH_MAX_PARAMS 16

struct ch_json_writer;
struct ch_json_value;

struct ch_param {
    struct ch_str name;
    struct ch_str value; /* percent-decoded (path parameters) or as sent */
};

struct ch_response {
    int status;                /* 200 unless set */
    struct ch_str content_type; /* empty: no Content-Type header */
    struct ch_header *headers; /* extra headers, in the arena */
    size_t num_headers;
    size_t _cap_headers;
    struct ch_buf body;
    unsigned close : 1; /* send Connection: close and end the connection after this */
};

struct ch_request {
    enum ch_method method;
    struct ch_str target; /* the request-target as sent */
    struct ch_str path;   /* the path, not percent-decoded */
    struct ch_str query;  /* after '?', not decoded; empty when absent */
    struct ch_str host;
    int minor_version; /* HTTP/1.<minor> */
    const struct ch_header *headers;
    size_t num_headers;
    struct ch_str body; /* the whole body (chunked bodies are already decoded) */
    struct ch_arena arena;
    struct ch_response res;
    int worker_id; /* 0..WORKERS-1: index for per-worker state */

    /* Filled by the router (standard mode and non-fast routes). */
    struct ch_param params[CH_MAX_PARAMS];
    size_t num_params;
    struct ch_str route;      /* the matched route pattern, e.g. "/users/:id" */
    struct ch_str request_id; /* set by the request-id middleware */
    void *state;              /* the application state given to the app */
    void *user;               /* free for middleware and handlers; the framework never reads it */

    /* Private. */
    void *_conn;
    struct ch_request *_next;
    struct ch_header *_header_store;
    uint64_t _start_ms;
    uint64_t _deadline_ms; /* 0: none */
    void (*_on_timeout)(struct ch_request *req);
    unsigned _holds;
    unsigned _sent : 1;
    unsigned _keep_alive : 1;
    void *_app;
    const void *_route;  /* the framework's route (handler and middleware chain) */
    unsigned _mw_ran;    /* middleware whose before() ran, so their after() runs too */
    unsigned _allowed;   /* 404/405: the methods the path allows (0: none), for the fallback */
    const struct ch_json_value *_body; /* the parsed JSON body, once ch_json_body() read it */
    void *_query;        /* parsed query string, on first use */
    struct ch_json_writer *_json; /* an open body writer, see chopin/respond.h */
    int _envelope;       /* the body is a success envelope to close before sending */
    int _failure;        /* what a failed handler returned, for the recovery middleware */
    void *_log_t0;       /* the access log's start time */
    uint64_t _metrics_t0; /* when the app got the request (metrics), in ns */
    void *_auth;         /* the verified token's claims (chopin/auth.h) */
};

/* The first header named `name` (case-insensitive), or NULL. */
const struct ch_str *ch_request_header(const struct ch_request *req, const char *name);

/* Private: ch_request_header() with the name's length given (see ch_header()). */
const struct ch_str *ch__request_header_str(const struct ch_request *req, struct ch_str name);

/* Keeps the request alive across asynchronous work (e.g. a database query). Every hold must be
 * matched by exactly one ch_request_release(), on the same worker thread. */
void ch_request_hold(struct ch_request *req);
void ch_request_release(struct ch_request *req);

/* True once the response was sent or the client went away: further output is discarded. */
int ch_request_done(const struct ch_request *req);

/* Arms the request's deadline: if no response is sent within `ms`, `on_timeout` runs (once)
 * and must send a response; the connection is then closed after it. */
void ch_request_set_timeout(struct ch_request *req, unsigned ms,
                            void (*on_timeout)(struct ch_request *req));

/* Sets the status code (100-599). */
static inline void ch_res_status(struct ch_request *req, int status)
{
    req->res.status = status;
}

/* Adds a header; name and value are copied into the arena. 0 or CH_ENOMEM. */
int ch_res_header(struct ch_request *req, struct ch_str name, struct ch_str value);

/* The first response header named `name` (case-insensitive), or NULL. */
struct ch_header *ch_res_find_header(struct ch_request *req, const char *name);

/* Sets Content-Type (the string must outlive the request, e.g. a literal). */
static inline void ch_res_content_type(struct ch_request *req, const char *type)
{
    req->res.content_type = ch_str_cstr(type);
}

/* The body buffer to append to. */
static inline struct ch_buf *ch_res_body(struct ch_request *req)
{
    return &req->res.body;
}

/* Finishes the response: status line, headers, Content-Length and body go to the connection.
 * Returns 0, or CH_ECLOSED when the response was already sent or the client is gone (the
 * output is then dropped). May be called from the handler or later, from asynchronous work
 * on the same worker; HEAD requests get the headers only. */
int ch_res_send(struct ch_request *req);

/* Convenience: status, content type and body in one call, then ch_res_send(). */
int ch_res_send_text(struct ch_request *req, int status, const char *content_type,
                     struct ch_str body);

#ifdef __cplusplus
}
#endif

#endif
