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
#include "util/date.h"
#include "chopin/log.h"

static pthread_t main_thread;

void ch__server_init(struct ch__server *s, const struct ch_config *cfg,
                    const struct ch__proto *proto, void *proto_ctx)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->proto = proto;
    s->proto_ctx = proto_ctx;
    s->shared_fd = -1;
}

static int resolve(const struct ch_config *cfg, struct addrinfo **res)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", cfg->port);
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
static int probe_port(const struct addrinfo *ai, const struct ch_config *cfg)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc = bind(fd, ai->ai_addr, ai->ai_addrlen);
    int e = errno;
    close(fd);
    if (rc != 0) {
        ch_log(CH_LOG_ERROR, "cannot listen on %s:%d: %s", cfg->host, cfg->port, strerror(e));
        return CH_EIO;
    }
    return 0;
}

static int open_listener(const struct addrinfo *ai, const struct ch_config *cfg)
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
        ch_log(CH_LOG_ERROR, "cannot listen on %s:%d: %s", cfg->host, cfg->port,
               strerror(errno));
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

static int open_listeners(struct ch__server *s)
{
    struct addrinfo *ai;
    int rc = resolve(s->cfg, &ai);
    if (rc) return rc;
    rc = s->cfg->port ? probe_port(ai, s->cfg) : 0;
    if (rc == 0 && s->cfg->mode == CH_MODE_PERFORMANCE) {
        /* One socket per worker: the kernel spreads connections across them. */
        for (int i = 0; i < s->nworkers && rc == 0; i++) {
            int fd = open_listener(ai, s->cfg);
            if (fd < 0) {
                rc = fd;
                break;
            }
            if (i == 0) learn_port(s, fd, ai);
            s->workers[i].listen_io.fd = fd;
            s->workers[i].own_listener = 1;
        }
        assign_cpus(s);
    } else if (rc == 0) {
        int fd = open_listener(ai, s->cfg);
        if (fd < 0) rc = fd;
        else learn_port(s, fd, ai);
        s->shared_fd = fd;
        for (int i = 0; i < s->nworkers; i++) s->workers[i].listen_io.fd = fd;
    }
    freeaddrinfo(ai);
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
        if (w->wake_io.fd > 0) close(w->wake_io.fd);
        free(w->blocks);
        ch__loop_cleanup(&w->loop);
    }
    if (s->shared_fd >= 0) close(s->shared_fd);
    s->shared_fd = -1;
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

int ch__server_run(struct ch__server *s)
{
    int rc = 0, started = 0;
    main_thread = pthread_self();
    raise_nofile();
    s->nworkers = s->cfg->workers;
    s->workers = calloc((size_t)s->nworkers, sizeof(*s->workers));
    if (!s->workers) return CH_ENOMEM;
    for (int i = 0; i < s->nworkers && rc == 0; i++) rc = ch__worker_init(&s->workers[i], s, i);
    if (rc == 0) rc = open_listeners(s);
    if (rc != 0) {
        release(s, 0);
        return rc;
    }

    /* Workers inherit this mask; only the main thread takes SIGINT and SIGTERM. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
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
    if (rc == 0)
        ch_log(CH_LOG_INFO, "chopin %s listening on http://%s:%d (%s mode, %d worker%s)",
               CH_VERSION, s->cfg->host, s->port, mode, s->nworkers,
               s->nworkers == 1 ? "" : "s");
    if (rc == 0 && s->ready) s->ready(s, s->ready_arg);

    /* The Date cache is refreshed every 500 ms, so it is never more than a second stale. */
    const struct timespec half = {0, 500 * 1000 * 1000};
    while (!atomic_load(&s->stopping)) {
        int sig = sigtimedwait(&set, NULL, &half);
        if (sig == SIGINT || sig == SIGTERM) break;
        ch__date_refresh();
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
        }
    }
    if (atomic_load(&s->failed_workers)) {
        ch_log(CH_LOG_ERROR, "%d worker(s) failed to start", atomic_load(&s->failed_workers));
        rc = CH_EIO;
    }
    release(s, started);
    return rc;
}
