/* x-request-id: taken from the client when well-formed, generated otherwise, and echoed. */
#include <stdint.h>
#include <sys/random.h>
#include <time.h>

#include "chopin/middleware.h"
#include "chopin/respond.h"

enum { MAX_ID = 128 };

static int valid_id(struct ch_str id)
{
    if (id.len == 0 || id.len > MAX_ID) return 0;
    for (size_t i = 0; i < id.len; i++) {
        unsigned char c = (unsigned char)id.ptr[i];
        int ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok) return 0;
    }
    return 1;
}

/* xorshift128+ per thread, seeded from the kernel: ids must be unique, not secret. */
static _Thread_local uint64_t s0, s1;

static uint64_t next64(void)
{
    if (!(s0 | s1)) {
        uint64_t seed[2] = {0, 0};
        if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
            seed[0] = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&s0;
            seed[1] = seed[0] * 0x9E3779B97F4A7C15ull;
        }
        s0 = seed[0] | 1;
        s1 = seed[1];
    }
    uint64_t x = s0, y = s1;
    s0 = y;
    x ^= x << 23;
    s1 = x ^ y ^ (x >> 17) ^ (y >> 26);
    return s1 + y;
}

static int before(struct ch_request *req, void *arg)
{
    (void)arg;
    struct ch_str given = ch_header(req, "x-request-id");
    if (valid_id(given)) {
        req->request_id = given;
        return 0;
    }
    static const char hex[] = "0123456789abcdef";
    char *id = ch_arena_alloc(&req->arena, 33);
    if (!id) return CH_ENOMEM;
    uint64_t a = next64(), b = next64();
    for (int i = 0; i < 16; i++) {
        id[i] = hex[(a >> (60 - 4 * i)) & 15];
        id[16 + i] = hex[(b >> (60 - 4 * i)) & 15];
    }
    id[32] = '\0';
    req->request_id = ch_str_make(id, 32);
    return 0;
}

static void after(struct ch_request *req, void *arg)
{
    (void)arg;
    if (req->request_id.len) ch_res_header(req, CH_STR("x-request-id"), req->request_id);
}

struct ch_middleware ch_mw_request_id(void)
{
    return (struct ch_middleware){.name = "request_id", .before = before, .after = after};
}
