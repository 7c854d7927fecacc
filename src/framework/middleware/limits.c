/* Per-route body limit and the per-request timeout. */
#include <stdint.h>

#include "chopin/middleware.h"
#include "chopin/respond.h"
#include "framework/app.h"

static int body_limit(struct ch_request *req, void *arg)
{
    size_t max = (size_t)(uintptr_t)arg;
    if (req->body.len > max)
        return ch_error(req, CH_ERR_PAYLOAD_TOO_LARGE, "Body exceeds %zu bytes", max);
    return 0;
}

struct ch_middleware ch_mw_body_limit(size_t max_bytes)
{
    return (struct ch_middleware){
        .name = "body_limit", .before = body_limit, .arg = (void *)(uintptr_t)max_bytes};
}

static void on_timeout(struct ch_request *req)
{
    ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "Request timed out");
}

static int timeout(struct ch_request *req, void *arg)
{
    unsigned ms = (unsigned)(uintptr_t)arg;
    if (!ms) ms = ch__app_of(req)->cfg.request_timeout_ms;
    ch_request_set_timeout(req, ms, on_timeout);
    return 0;
}

struct ch_middleware ch_mw_timeout(unsigned ms)
{
    return (struct ch_middleware){.name = "timeout", .before = timeout, .arg = (void *)(uintptr_t)ms};
}
