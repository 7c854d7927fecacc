/* Listeners, worker threads, and the main thread: signals, the Date cache, shutdown. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chopin/error.h"
#include "core/server.h"
#include "tls/tls.h"
#include "util/date.h"
#include "chopin/log.h"
#include "core/loop.h"

static pthread_t main_thread;

void ch__server_init(struct ch__server *s, const struct ch_config *cfg,
                    const struct ch__proto *proto, void *proto_ctx)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->proto = proto;
    s->proto_ctx = proto_ctx;
    s->shared_fd = -1;
    s->tls_shared_fd = -1;
}

static int resolve(const struct ch_config *cfg, int portno, struct addrinfo **res)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", portno);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    int rc = getaddrinfo(cfg->host, port, &hints, res);
    if (rc != 0) {
        ch_log(CH_LOG_ERROR, "cannot resolve SERVER_HOST '%s': %s", cfg->host, gai_strerror(rc));
        return CH_EINVAL;
    }
    return 0;
}

/* SO_REUSEPORT lets a second server of the same user bind the port silently and steal half
 * the connections. A probe bound without it fails with EADDRINUSE if anyone holds the port. */
static int probe_port(const struct addrinfo *ai, const struct ch_config *cfg, int port)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc = bind(fd, ai->ai_addr, ai->ai_addrlen);
    int e = errno;
    close(fd);
    if (rc != 0) {
        ch_log(CH_LOG_ERROR, "cannot listen on %s:%d: %s", cfg->host, port, strerror(e));
        return CH_EIO;
    }
    return 0;
}

static int open_listener(const struct addrinfo *ai, const struct ch_config *cfg, int port)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ch_log(CH_LOG_ERROR, "socket: %s", strerror(errno));
        return CH_EIO;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, cfg->backlog) != 0) {
        ch_log(CH_LOG_ERROR, "cannot listen on %s:%d: %s", cfg->host, port, strerror(errno));
        close(fd);
        return CH_EIO;
    }
    return fd;
}

/* Performance mode pins worker i to the i-th CPU this process may run on. */
static void assign_cpus(struct ch__server *s)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return;
    int ncpu = CPU_COUNT(&set);
    if (ncpu <= 0) return;
    for (int i = 0; i < s->nworkers; i++) {
        int want = i % ncpu, seen = 0;
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
            if (!CPU_ISSET(cpu, &set)) continue;
            if (seen++ == want) {
                s->workers[i].cpu = cpu;
                break;
            }
        }
    }
}

/* SERVER_PORT=0 lets the kernel pick a free port: the first listener learns which, and the
 * others (performance mode) bind that same port. */
static void learn_port(struct ch__server *s, int fd, struct addrinfo *ai)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    s->port = s->cfg->port;
    if (s->port != 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return;
    in_port_t port = ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port;
    s->port = ntohs(port);
    if (ai->ai_family == AF_INET6) ((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = port;
    else ((struct sockaddr_in *)ai->ai_addr)->sin_port = port;
}

/* Opens the listener(s) for one port; `tls` picks the workers' HTTPS slot. */
static int open_port(struct ch__server *s, int port, int tls)
{
    struct addrinfo *ai;
    int rc = resolve(s->cfg, port, &ai);
    if (rc) return rc;
    /* REUSE_PORT: joining a port another chopin holds is what the operator asked for. */
    rc = s->cfg->reuse_port || !port ? 0 : probe_port(ai, s->cfg, port);
    if (rc == 0 && s->cfg->mode == CH_MODE_PERFORMANCE) {
        /* One socket per worker: the kernel spreads connections across them. */
        for (int i = 0; i < s->nworkers && rc == 0; i++) {
            int fd = open_listener(ai, s->cfg, port);
            if (fd < 0) {
                rc = fd;
                break;
            }
            if (tls) s->workers[i].tls_listen_io.fd = fd;
            else if (i == 0) learn_port(s, fd, ai);
            if (!tls) s->workers[i].listen_io.fd = fd;
            s->workers[i].own_listener = 1;
        }
    } else if (rc == 0) {
        int fd = open_listener(ai, s->cfg, port);
        if (fd < 0) rc = fd;
        if (fd >= 0 && !tls) learn_port(s, fd, ai);
        if (tls) s->tls_shared_fd = fd;
        else s->shared_fd = fd;
        for (int i = 0; i < s->nworkers; i++) {
            if (tls) s->workers[i].tls_listen_io.fd = fd;
            else s->workers[i].listen_io.fd = fd;
        }
    }
    freeaddrinfo(ai);
    return rc;
}

static int open_listeners(struct ch__server *s)
{
    int rc = 0;
    /* With HTTPS on, the plain port may serve, redirect (tls/redirect.c) or stay closed. */
    if (!s->tls || s->cfg->tls_http != CH_TLS_HTTP_OFF) rc = open_port(s, s->cfg->port, 0);
    if (rc == 0 && s->tls) rc = open_port(s, s->cfg->tls_port, 1);
    if (rc == 0 && s->cfg->mode == CH_MODE_PERFORMANCE) assign_cpus(s);
    return rc;
}

void ch__server_stop(struct ch__server *s)
{
    if (atomic_exchange(&s->stopping, 1) == 0) pthread_kill(main_thread, SIGTERM);
}

static void release(struct ch__server *s, int started)
{
    for (int i = started; i < s->nworkers; i++) {
        struct ch_worker *w = &s->workers[i];
        if (w->own_listener && w->listen_io.fd >= 0) close(w->listen_io.fd);
        if (w->own_listener && w->tls_listen_io.fd >= 0) close(w->tls_listen_io.fd);
        if (w->wake_io.fd > 0) close(w->wake_io.fd);
        free(w->blocks);
        ch__loop_cleanup(&w->loop);
    }
    if (s->shared_fd >= 0) close(s->shared_fd);
    s->shared_fd = -1;
    if (s->tls_shared_fd >= 0) close(s->tls_shared_fd);
    s->tls_shared_fd = -1;
    ch__tls_free(s->tls);
    s->tls = NULL;
    free(s->workers);
    s->workers = NULL;
}

/* Every connection is a descriptor, and the usual soft limit (1024) is far below what one
 * server should hold; the hard limit is what the administrator allows. Like nginx's
 * worker_rlimit_nofile, take all of it, and say what we got: running out shows up only as
 * paused accepts. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t was = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = was;
    }
    if (rl.rlim_cur == RLIM_INFINITY)
        ch_log(CH_LOG_INFO, "open-file limit: unlimited");
    else if (rl.rlim_cur != was)
        ch_log(CH_LOG_INFO, "open-file limit: %llu (raised from %llu)",
               (unsigned long long)rl.rlim_cur, (unsigned long long)was);
    else
        ch_log(CH_LOG_INFO, "open-file limit: %llu", (unsigned long long)rl.rlim_cur);
}

/* SIGINT or SIGTERM delivered to a thread that does not block them (the main thread waits
 * for them with sigtimedwait): noted here and picked up by the main loop. */
/* Atomic: the test client may run several servers at once, each resetting it at start. */
static _Atomic int stray_signal;

static void on_stray_signal(int sig)
{
    atomic_store_explicit(&stray_signal, sig, memory_order_relaxed);
}

static int take_stray(void)
{
    return atomic_exchange_explicit(&stray_signal, 0, memory_order_relaxed);
}

/* systemd's watchdog period in ms (WATCHDOG_USEC, for us when WATCHDOG_PID says so), or 0. */
static uint64_t watchdog_ms(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (!usec || !getenv("NOTIFY_SOCKET")) return 0;
    if (pid && strtol(pid, NULL, 10) != (long)getpid()) return 0;
    unsigned long long us = strtoull(usec, NULL, 10);
    return us >= 1000 ? us / 1000 : 0;
}

/* How long the main thread sleeps: 10 ms until the workers are ready (so READY=1 goes out
 * promptly), then `ms`, but at most a quarter of the watchdog period. */
static long wait_ns(int ready, uint64_t wd, uint64_t ms)
{
    if (!ready) ms = 10;
    if (wd && wd / 4 < ms) ms = wd / 4 ? wd / 4 : 1;
    if (ms == 0) ms = 1;
    return (long)ms * 1000000L;
}

/* Pings the watchdog twice per period, but only while every worker's loop has ticked within
 * the period: a worker stuck in a handler makes systemd restart the service. */
static void feed_watchdog(struct ch__server *s, int started, uint64_t wd, uint64_t *next_ping)
{
    static int warned;
    uint64_t now = ch__now_ms(), limit = wd > 1000 ? wd : 1000;
    if (now < *next_ping) return;
    for (int i = 0; i < started; i++) {
        uint64_t beat = atomic_load_explicit(&s->workers[i].heartbeat, memory_order_relaxed);
        if (now > beat && now - beat > limit) {
            if (!warned++) ch_log(CH_LOG_ERROR, "worker %d has not ticked for %llu ms: "
                                  "not feeding the watchdog", i, (unsigned long long)(now - beat));
            return;
        }
    }
    ch__sd_notify("WATCHDOG=1");
    *next_ping = now + wd / 2;
}

int ch__server_run(struct ch__server *s)
{
    int rc = 0, started = 0;
    main_thread = pthread_self();
    raise_nofile();
    /* Workers inherit this mask; only the main thread takes SIGINT, SIGTERM and SIGHUP
     * (certificate reload). Blocked before the port opens: a SIGTERM that arrives as soon as
     * the port answers (a process manager, a test) must start a drain, not kill the process. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    /* Threads the application started before (a database pool's) do not block them: a
     * signal the kernel hands to one of those must not kill the process. */
    struct sigaction sa = {.sa_handler = on_stray_signal}, old_int, old_term, old_hup;
    sigemptyset(&sa.sa_mask);
    atomic_store_explicit(&stray_signal, 0, memory_order_relaxed);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    s->nworkers = s->cfg->workers;
    s->workers = calloc((size_t)s->nworkers, sizeof(*s->workers));
    if (!s->workers) rc = CH_ENOMEM;
    for (int i = 0; i < s->nworkers && rc == 0; i++) rc = ch__worker_init(&s->workers[i], s, i);
    if (rc == 0 && s->cfg->tls_cert[0] && !(s->tls = ch__tls_new(s->cfg))) rc = CH_EINVAL;
    if (rc == 0) rc = open_listeners(s);
    if (rc != 0) {
        if (s->workers) release(s, 0);
        ch__tls_free(s->tls);
        s->tls = NULL;
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return rc;
    }
    signal(SIGPIPE, SIG_IGN);
    ch__date_refresh();

    for (; started < s->nworkers; started++) {
        int e = pthread_create(&s->workers[started].thread, NULL, ch__worker_main,
                               &s->workers[started]);
        if (e != 0) {
            ch_log(CH_LOG_ERROR, "cannot start worker thread: %s", strerror(e));
            atomic_store(&s->stopping, 1);
            rc = CH_EIO;
            break;
        }
    }

    const char *mode = s->cfg->mode == CH_MODE_PERFORMANCE ? "performance" : "standard";
    if (rc == 0 && (!s->tls || s->cfg->tls_http != CH_TLS_HTTP_OFF))
        ch_log(CH_LOG_INFO, "chopin %s listening on http://%s:%d (%s mode, %d worker%s)%s",
               CH_VERSION, s->cfg->host, s->port, mode, s->nworkers,
               s->nworkers == 1 ? "" : "s",
               s->tls && s->cfg->tls_http == CH_TLS_HTTP_REDIRECT ? ", redirecting to https" : "");
    if (rc == 0 && s->tls)
        ch_log(CH_LOG_INFO, "chopin %s listening on https://%s:%d (%s mode, %d worker%s)",
               CH_VERSION, s->cfg->host, s->cfg->tls_port, mode, s->nworkers,
               s->nworkers == 1 ? "" : "s");
    if (rc == 0 && s->ready) s->ready(s, s->ready_arg);

    /* The main thread waits for signals, refreshing the Date cache every 500 ms (so it is
     * never more than a second stale), tells systemd once every worker is serving, and feeds
     * its watchdog while every worker's loop still ticks. */
    uint64_t wd = watchdog_ms(), next_ping = 0;
    int ready = rc != 0;
    while (!atomic_load(&s->stopping)) {
        int sig = sigtimedwait(&set, NULL, &(struct timespec){0, wait_ns(ready, wd, 500)});
        int stray = take_stray();
        if (sig == SIGINT || sig == SIGTERM || stray == SIGINT || stray == SIGTERM) break;
        if (sig == SIGHUP || stray == SIGHUP) {
            if (s->tls) ch__tls_reload(s->tls);
            else ch_log(CH_LOG_INFO, "SIGHUP: no TLS certificates to reload");
        }
        ch__date_refresh();
        if (s->tls) ch__tls_main_tick(s->tls);
        if (!ready && atomic_load(&s->ready_workers) == s->nworkers) {
            ready = 1;
            char msg[300];
            snprintf(msg, sizeof(msg), "READY=1\nSTATUS=serving on %s:%d\nMAINPID=%d",
                     s->cfg->host, s->port, (int)getpid());
            ch__sd_notify(msg);
        }
        if (wd && ready) feed_watchdog(s, started, wd, &next_ping);
    }

    /* Draining for a load balancer (DRAIN_DELAY) or a successor on the same port
     * (REUSE_PORT): first say so (/health turns 503, responses close their connections,
     * with REUSE_PORT the listeners close), keep serving for DRAIN_DELAY so the balancer's
     * checks see it, then drain. A second signal cuts the delay short. */
    int announce = rc == 0 && !atomic_load(&s->stopping) &&
                   (s->cfg->drain_delay_ms > 0 || s->cfg->reuse_port);
    ch__sd_notify("STOPPING=1\nSTATUS=draining");
    if (announce) {
        atomic_store(&s->draining, 1);
        ch_log(CH_LOG_INFO, "draining: /health answers 503 and connections close after their "
                            "response; stopping in %u ms", s->cfg->drain_delay_ms);
        for (int i = 0; i < started; i++) ch__worker_wake(&s->workers[i]);
        uint64_t until = ch__now_ms() + s->cfg->drain_delay_ms;
        for (uint64_t now = ch__now_ms(); now < until; now = ch__now_ms()) {
            uint64_t left = until - now;
            long ns = wait_ns(1, wd, left < 500 ? left : 500);
            int sig = sigtimedwait(&set, NULL, &(struct timespec){0, ns});
            if (sig == SIGINT || sig == SIGTERM || take_stray()) break;
            ch__date_refresh();
            if (wd) feed_watchdog(s, started, wd, &next_ping);
        }
    }
    atomic_store(&s->stopping, 1);
    if (rc == 0) ch_log(CH_LOG_INFO, "shutting down: draining connections");
    for (int i = 0; i < started; i++) ch__worker_wake(&s->workers[i]);

    /* Keep the Date fresh while workers drain. */
    for (int i = 0; i < started; i++) {
        struct timespec until;
        for (;;) {
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 500 * 1000 * 1000;
            if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
            if (pthread_timedjoin_np(s->workers[i].thread, NULL, &until) == 0) break;
            ch__date_refresh();
            if (wd) ch__sd_notify("WATCHDOG=1"); /* TimeoutStopSec bounds the drain */
        }
    }
    if (atomic_load(&s->failed_workers)) {
        ch_log(CH_LOG_ERROR, "%d worker(s) failed to start", atomic_load(&s->failed_workers));
        rc = CH_EIO;
    }
    release(s, started);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    return rc;
}
