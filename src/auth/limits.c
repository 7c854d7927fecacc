/* Brute-force limits of the auth routes, kept in the database so that every worker and every
 * instance sees the same counts:
 *
 * - a per-address rate limit on the POST routes: a fixed window per client address
 *   (auth_rate_limits: one row per address, its window's start and hits), counted with one
 *   upsert whose RETURNING gives the new count, so concurrent requests never lose a hit;
 * - a per-login lockout: failed logins in a row lock the login name (auth_login_failures).
 *   The key is the name as typed (lowercased), never the account: an unknown name counts and
 *   locks exactly as a known one does, so the lock says nothing about which accounts exist.
 *   The price: an account reachable by its email and its username gets the attempts once per
 *   spelling; the rate limit bounds the total.
 *
 * Stale rows are swept by the requests themselves, at most once per minute and process. */
#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "auth/routes.h"
#include "chopin/error.h"
#include "chopin/respond.h"
#include "core/conn.h"

enum { SWEEP_EVERY = 60 };

static _Atomic int64_t last_rate_sweep, last_lock_sweep;

/* 1 when this process should sweep now (one caller wins per period). */
static int sweep_due(_Atomic int64_t *last, int64_t now)
{
    int64_t prev = atomic_load_explicit(last, memory_order_relaxed);
    return now - prev >= SWEEP_EVERY &&
           atomic_compare_exchange_strong_explicit(last, &prev, now, memory_order_relaxed,
                                                   memory_order_relaxed);
}

void ch__auth_too_many(struct ch_request *req, int64_t seconds, const char *message)
{
    char v[24];
    int n = snprintf(v, sizeof(v), "%lld", (long long)(seconds < 1 ? 1 : seconds));
    ch_res_header(req, CH_STR("Retry-After"), ch_str_make(v, (size_t)n));
    ch_error(req, CH_ERR_TOO_MANY_REQUESTS, "%s", message);
}

/* An address in its canonical text form; IPv6 as its /64, since one client commonly holds a
 * whole /64 and could otherwise take a fresh address per request. 0, or -1 if not an address. */
static int canonical(const char *s, char *dst, size_t cap)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, s, &a4) == 1) return inet_ntop(AF_INET, &a4, dst, cap) ? 0 : -1;
    if (inet_pton(AF_INET6, s, &a6) != 1) return -1;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        memcpy(&a4, a6.s6_addr + 12, 4);
        return inet_ntop(AF_INET, &a4, dst, cap) ? 0 : -1;
    }
    memset(a6.s6_addr + 8, 0, 8);
    if (!inet_ntop(AF_INET6, &a6, dst, cap)) return -1;
    size_t n = strlen(dst);
    if (n + 4 > cap) return -1;
    memcpy(dst + n, "/64", 4);
    return 0;
}

static void peer(const struct ch_request *req, char *dst, size_t cap)
{
    const struct ch__conn *c = req->_conn;
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    char text[INET6_ADDRSTRLEN];
    snprintf(dst, cap, "unknown");
    if (!c || getpeername(c->io.fd, (struct sockaddr *)&sa, &len) != 0) return;
    const void *addr = sa.ss_family == AF_INET    ? (const void *)&((struct sockaddr_in *)&sa)->sin_addr
                       : sa.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&sa)->sin6_addr
                                                  : NULL;
    if (addr && inet_ntop(sa.ss_family, addr, text, sizeof(text))) canonical(text, dst, cap);
}

/* The `hop`-th entry (1 = rightmost) of all X-Forwarded-For fields taken as one list, or the
 * leftmost when there are fewer; {NULL, 0} without the header. */
static struct ch_str forwarded_for(const struct ch_request *req, uint32_t hop)
{
    struct ch_str found = {NULL, 0};
    uint32_t seen = 0;
    /* Walk the fields and their entries from the right. */
    for (size_t i = req->num_headers; i-- > 0;) {
        if (!ch_str_case_eq(req->headers[i].name, CH_STR("X-Forwarded-For"))) continue;
        struct ch_str v = req->headers[i].value;
        size_t end = v.len;
        while (end > 0) {
            size_t start = end;
            while (start > 0 && v.ptr[start - 1] != ',') start--;
            struct ch_str e = ch_str_trim_ows(ch_str_make(v.ptr + start, end - start));
            if (e.len) {
                found = e;
                if (++seen == hop) return found;
            }
            end = start ? start - 1 : 0;
        }
    }
    return found;
}

void ch__auth_client(const struct ch_request *req, uint32_t trust_proxy, char *dst, size_t cap)
{
    struct ch_str fwd = trust_proxy ? forwarded_for(req, trust_proxy) : (struct ch_str){NULL, 0};
    if (!fwd.len) {
        peer(req, dst, cap);
        return;
    }
    char text[64];
    size_t n = fwd.len < sizeof(text) - 1 ? fwd.len : sizeof(text) - 1;
    memcpy(text, fwd.ptr, n);
    text[n] = '\0';
    /* Not an address (e.g. "unknown" from some proxies): the text itself is the key. */
    if (canonical(text, dst, cap) != 0) snprintf(dst, cap, "%s", text);
}

/* ---- rate limit ---------------------------------------------------------------------------- */

static void rate_row(void *arg, const struct ch_db_result *res)
{
    struct ch__auth_flow *f = arg;
    if (ch_db_error(res) != 0 || ch_db_rows(res) != 1) return;
    f->limit_a = ch_db_int(res, 0, 0);
    f->limit_b = ch_db_int(res, 0, 1);
}

static void rate_done(void *arg, const struct ch_db_outcome *o)
{
    struct ch__auth_flow *f = arg;
    const struct ch_auth_config *cfg = ch_auth_config(ch__auth_mounted);
    if (o->err) {
        ch__auth_db_failed(f->req, o->err);
    } else if (f->limit_a > (int64_t)cfg->rate_limit) {
        int64_t left = f->limit_b + cfg->rate_window_s - (int64_t)time(NULL);
        ch__auth_too_many(f->req, left, "too many requests from this address; try again later");
    } else {
        f->next(f);
    }
    ch_request_release(f->req);
}

void ch__auth_rate_limit(struct ch__auth_flow *f, ch__auth_step next)
{
    const struct ch_auth_config *cfg = ch_auth_config(ch__auth_mounted);
    struct ch_request *req = f->req;
    if (cfg->rate_limit == 0) {
        next(f);
        return;
    }
    char client[80];
    ch__auth_client(req, cfg->trust_proxy, client, sizeof(client));
    int64_t now = (int64_t)time(NULL);
    int64_t window = now - now % cfg->rate_window_s;
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    struct ch_db_param p[2] = {ch_db_param_text(ch__auth_copy(req, ch_str_cstr(client))),
                               ch_db_param_int(window)};
    struct ch_db_param old = ch_db_param_int(window);
    int rc = b ? 0 : CH_ENOMEM;
    if (!rc && sweep_due(&last_rate_sweep, now))
        rc = ch_db_batch_add(b, ch__auth_st.rate_sweep, &old, 1, NULL, NULL);
    if (!rc) rc = ch_db_batch_add(b, ch__auth_st.rate_hit, p, 2, rate_row, f);
    if (rc || !p[0].u.text.ptr) {
        ch_error(req, CH_ERR_INTERNAL, "cannot queue the query");
        return;
    }
    f->limit_a = f->limit_b = 0;
    f->next = next;
    ch_request_hold(req);
    ch_db_batch_submit(b, rate_done, f);
}

/* ---- lockout ------------------------------------------------------------------------------- */

static void lock_row(void *arg, const struct ch_db_result *res)
{
    struct ch__auth_flow *f = arg;
    if (ch_db_error(res) == 0 && ch_db_rows(res) == 1) f->limit_a = ch_db_int(res, 0, 0);
}

int ch__auth_lock_get(struct ch__auth_flow *f, struct ch_db_batch *b)
{
    f->limit_a = 0;
    if (ch_auth_config(ch__auth_mounted)->lockout_attempts == 0) return 0;
    struct ch_db_param p = ch_db_param_text(f->login);
    return ch_db_batch_add(b, ch__auth_st.lock_get, &p, 1, lock_row, f);
}

int ch__auth_lock_fail(struct ch__auth_flow *f, struct ch_db_batch *b)
{
    const struct ch_auth_config *cfg = ch_auth_config(ch__auth_mounted);
    f->limit_a = 0;
    if (cfg->lockout_attempts == 0) return 0;
    int64_t now = (int64_t)time(NULL);
    int rc = 0;
    if (sweep_due(&last_lock_sweep, now)) {
        /* Rows whose last failure is older than a lock: neither counting nor locking. */
        struct ch_db_param old = ch_db_param_int(now - (int64_t)cfg->lockout_s);
        rc = ch_db_batch_add(b, ch__auth_st.lock_sweep, &old, 1, NULL, NULL);
    }
    struct ch_db_param p[5] = {
        ch_db_param_text(f->login), ch_db_param_int(now), ch_db_param_int(cfg->lockout_attempts),
        ch_db_param_int(cfg->lockout_s),
        /* The first failure's lock (a lockout after a single attempt locks at once). */
        ch_db_param_int(cfg->lockout_attempts <= 1 ? now + (int64_t)cfg->lockout_s : 0)};
    return rc ? rc : ch_db_batch_add(b, ch__auth_st.lock_fail, p, 5, lock_row, f);
}

int ch__auth_lock_clear(struct ch__auth_flow *f, struct ch_db_batch *b)
{
    if (ch_auth_config(ch__auth_mounted)->lockout_attempts == 0) return 0;
    struct ch_db_param p = ch_db_param_text(f->login);
    return ch_db_batch_add(b, ch__auth_st.lock_clear, &p, 1, NULL, NULL);
}

int ch__auth_limits_declare(struct ch_app *app)
{
    static const struct {
        int *id;
        const char *name, *sql;
    } st[] = {
        {&ch__auth_st.rate_hit, "auth_rate_hit",
         /* A hit in the current window; an older window starts over. The comparison keeps a
          * window that another instance with a clock slightly ahead already opened. */
         "INSERT INTO auth_rate_limits (client, window_start, hits) VALUES ($1, $2, 1)"
         " ON CONFLICT (client) DO UPDATE SET"
         " hits = CASE WHEN auth_rate_limits.window_start >= excluded.window_start"
         " THEN auth_rate_limits.hits + 1 ELSE 1 END,"
         " window_start = CASE WHEN auth_rate_limits.window_start >= excluded.window_start"
         " THEN auth_rate_limits.window_start ELSE excluded.window_start END"
         " RETURNING hits, window_start"},
        {&ch__auth_st.rate_sweep, "auth_rate_sweep",
         "DELETE FROM auth_rate_limits WHERE window_start < $1"},
        {&ch__auth_st.lock_get, "auth_lock_get",
         "SELECT locked_until FROM auth_login_failures WHERE account = $1"},
        {&ch__auth_st.lock_fail, "auth_lock_fail",
         /* $1 login, $2 now, $3 attempts, $4 lock seconds, $5 the first failure's lock. A
          * failure more than a lock's length after the previous one starts a new count (which
          * also ends an expired lock: attempts are refused, never counted, while locked). */
         "INSERT INTO auth_login_failures (account, failures, locked_until, updated_at)"
         " VALUES ($1, 1, $5, $2) ON CONFLICT (account) DO UPDATE SET"
         " failures = CASE WHEN auth_login_failures.updated_at + $4 <= excluded.updated_at"
         " THEN 1 ELSE auth_login_failures.failures + 1 END,"
         " locked_until = CASE WHEN (CASE WHEN auth_login_failures.updated_at + $4"
         " <= excluded.updated_at THEN 1 ELSE auth_login_failures.failures + 1 END) >= $3"
         " THEN excluded.updated_at + $4 ELSE 0 END,"
         " updated_at = excluded.updated_at"
         " RETURNING locked_until"},
        {&ch__auth_st.lock_clear, "auth_lock_clear",
         "DELETE FROM auth_login_failures WHERE account = $1"},
        {&ch__auth_st.lock_sweep, "auth_lock_sweep",
         "DELETE FROM auth_login_failures WHERE updated_at < $1"},
    };
    for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
        if ((*st[i].id = ch_app_statement(app, st[i].name, st[i].sql, NULL)) < 0) return *st[i].id;
    return 0;
}
