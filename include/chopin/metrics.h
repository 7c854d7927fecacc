/* Operations: Prometheus metrics, and the server's draining state for health checks.
 *
 *     ch_app_metrics(app, NULL);   // GET /metrics, configured from the environment
 *
 * The exposition is Prometheus' text format 0.0.4:
 *   chopin_http_requests_total{route,method,status}   route is the matched pattern
 *                                                     ("/users/:id"), or "unmatched" for a
 *                                                     404/405; status the class ("2xx")
 *   chopin_http_request_duration_seconds{route}       histogram, request complete to response
 *                                                     written
 *   chopin_http_requests_in_flight, chopin_http_connections_open, _idle (gauges),
 *   chopin_http_connections_accepted_total, chopin_http_received_bytes_total,
 *   chopin_http_sent_bytes_total
 *   chopin_db_pool_connections, _ready, _in_flight, _queued (gauges, every worker's pool
 *   summed), chopin_db_reconnects_total, chopin_db_unavailable_total, chopin_db_queries_total,
 *   chopin_db_query_failures_total (when the app has a database, ch_app_set_db())
 *   chopin_workers, chopin_draining, chopin_build_info{version}
 *   process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
 *   process_open_fds, process_max_fds, process_start_time_seconds
 *
 * Counting costs a few array increments per request on the worker that served it: each worker
 * has its own counters, written only by its thread without locks or atomics; a scrape sums
 * them (reading another thread's 64-bit counters with relaxed atomic loads, so a sum may be a
 * request behind, never torn). Requests the engine refuses before routing (400, 413, 431,
 * 408, 501) are not in chopin_http_requests_total. */
#ifndef CHOPIN_METRICS_H
#define CHOPIN_METRICS_H

#include "app.h"
#include "request.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ch_metrics_options {
    int off;           /* nothing is counted or mounted */
    const char *path;  /* default "/metrics" */
    int port;          /* > 0: served on this port of SERVER_HOST by a small thread of its own,
                        * and not on the application's port */
    const char *token; /* non-empty: scrapes must send "Authorization: Bearer <token>" (the
                        * comparison takes constant time); others get 401 */
};

/* Mounts the metrics endpoint; call before ch_app_serve() (after ch_app_configure() when the
 * options come from the environment). NULL options read the environment: METRICS=off,
 * METRICS_PATH, METRICS_PORT and METRICS_TOKEN. Returns 0 or a CH_E* code (CH_EINVAL for a
 * malformed METRICS_PORT or a path not starting with '/'). */
int ch_app_metrics(struct ch_app *app, const struct ch_metrics_options *opts);

/* True once the server received SIGTERM and drains: a health check should then fail (503) so
 * that load balancers stop sending new requests during DRAIN_DELAY. */
int ch_request_draining(const struct ch_request *req);

#ifdef __cplusplus
}
#endif

#endif
