/* Recovery: a failed handler becomes the 500 envelope (done by the dispatcher) and is logged
 * here with its request id, so the failure is visible to operators. */
#include "chopin/error.h"
#include "chopin/middleware.h"
#include "chopin/log.h"

static void after(struct ch_request *req, void *arg)
{
    (void)arg;
    if (!req->_failure) return;
    ch_log(CH_LOG_ERROR, "recovered: %s %.*s (route %.*s, request %.*s) failed: %s",
           ch_method_name(req->method), (int)req->path.len, req->path.ptr, (int)req->route.len,
           req->route.ptr ? req->route.ptr : "", (int)req->request_id.len,
           req->request_id.ptr ? req->request_id.ptr : "", ch_strerror(req->_failure));
}

struct ch_middleware ch_mw_recovery(void)
{
    return (struct ch_middleware){.name = "recovery", .after = after};
}
