/* GET /health: 200 when this instance can answer from its database, 503 otherwise.
 *
 * A load balancer in front of several instances needs to know which ones can serve. The
 * check runs `SELECT 1` through the pool of the worker that got the request, the path every
 * database request takes, so a lost connection, a full queue or a server that stopped
 * answering all show, and the pool's state comes with the answer:
 *   {"data":{"status":"ok","database":"postgres","worker":0,
 *            "pool":{"connections":8,"ready":8,"in_flight":0,"queued":0}}}
 * Once the server drains (SIGTERM, see DRAIN_DELAY) it answers 503 without asking the
 * database, so a load balancer takes the instance out before it stops. */
#include <stdio.h>

#include <chopin/chopin.h>

#include "health.h"

static struct ch_app *the_app;
static int ping_stmt;

static void on_ping_done(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct ch_request *req = arg;
    struct ch_db_stats st;
    if (err) {
        ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "database unavailable: %s", ch_strerror(err));
        ch_request_release(req);
        return;
    }
    ch_db_worker_stats(ch_request_db(req), &st);
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "status");
    ch_json_string(w, "ok");
    ch_json_key(w, "database");
    ch_json_string(w, ch_db_driver(ch_app_db(the_app)));
    ch_json_key(w, "worker");
    ch_json_int(w, req->worker_id);
    ch_json_key(w, "pool");
    ch_json_object_begin(w);
    ch_json_key(w, "connections");
    ch_json_int(w, st.connections);
    ch_json_key(w, "ready");
    ch_json_int(w, st.ready);
    ch_json_key(w, "in_flight");
    ch_json_int(w, st.in_flight);
    ch_json_key(w, "queued");
    ch_json_int(w, st.queued);
    ch_json_object_end(w);
    ch_json_object_end(w);
    ch_respond(req, 200);
    ch_request_release(req);
}

static int health(struct ch_request *req)
{
    /* After SIGTERM: fail the check first, so balancers stop sending before we stop. */
    if (ch_request_draining(req))
        return ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "draining: this instance is stopping");
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    if (!b) return ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "database unavailable");
    ch_request_hold(req);
    ch_db_batch_add(b, ping_stmt, NULL, 0, NULL, NULL);
    ch_db_batch_submit(b, on_ping_done, req);
    return 0;
}

int health_register(struct ch_app *app, char *err, size_t errlen)
{
    the_app = app;
    ping_stmt = ch_app_statement(app, "ping", "SELECT 1", NULL);
    if (ping_stmt < 0) {
        snprintf(err, errlen, "cannot declare the health check: %s", ch_strerror(ping_stmt));
        return ping_stmt;
    }
    int rc = ch_get(app, "/health", health);
    if (rc) snprintf(err, errlen, "cannot register /health: %s", ch_strerror(rc));
    return rc;
}
