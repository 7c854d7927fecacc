/* Password hashing off the event loop: a small pool of threads shared by all workers.
 *
 * Argon2id is deliberately slow (tens of milliseconds of CPU and 19 MiB of memory per hash at
 * the defaults); run inline it would stall every connection of the worker for that long. The
 * shape is the SQLite pool's (src/db/sqlite_pool.c): the loop queues a job under a mutex and a
 * condition variable, a thread computes it, and the finished job comes back to the worker that
 * submitted it through that worker's eventfd, registered on its loop the first time the worker
 * submits. The request stays held meanwhile. A bounded queue turns a flood of logins into
 * quick 503s instead of unbounded memory (each queued job is small; each running one is not). */
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "auth/internal.h"
#include "chopin/error.h"
#include "chopin/log.h"
#include "core/conn.h"
#include "core/worker.h"

enum { MAX_WORKERS = 1024, MAX_PASSWORD = 4096 };
enum { JOB_HASH, JOB_VERIFY, JOB_DUMMY };

struct slot;

struct job {
    struct job *next;
    struct slot *slot;
    struct ch_request *req;
    int kind;
    char *pw;
    size_t pw_len;
    char phc[CH_PHC_MAX]; /* verify: the stored string; hash: the result */
    size_t phc_len;
    int result, needs_rehash;
    ch_auth_hash_fn hash_done;
    ch_auth_verify_fn verify_done;
    void *arg;
};

/* One worker's side: its eventfd on its loop, and the jobs finished for it. */
struct slot {
    struct ch__io io; /* first member: the loop hands us &io */
    struct ch__auth_pool *pool;
    struct job *done_head, *done_tail; /* under pool->mu */
};

struct ch__auth_pool {
    const struct ch_auth *auth;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *qhead, *qtail; /* waiting for a thread */
    int pending;               /* queued or running */
    int quit;
    pthread_t *threads;
    int nthreads;                    /* started */
    struct slot *slots[MAX_WORKERS]; /* each touched only by its worker (and by free) */
};

struct ch__auth_pool *ch__auth_pool_new(const struct ch_auth *auth)
{
    struct ch__auth_pool *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    p->auth = auth;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return p;
}

static void job_free(struct job *j)
{
    if (j->pw) {
        OPENSSL_cleanse(j->pw, j->pw_len);
        free(j->pw);
    }
    OPENSSL_cleanse(j->phc, sizeof(j->phc));
    free(j);
}

static void run(const struct ch_auth *a, struct job *j)
{
    switch (j->kind) {
    case JOB_HASH: {
        int n = ch_password_hash(&a->cfg.argon2, j->pw, j->pw_len, j->phc);
        j->result = n < 0 ? n : 0;
        j->phc_len = n < 0 ? 0 : (size_t)n;
        break;
    }
    case JOB_VERIFY:
        j->result = ch_password_verify(j->phc, j->phc_len, j->pw, j->pw_len, &a->cfg.argon2,
                                       &j->needs_rehash);
        break;
    default: { /* an unknown user: the same work as a real verify, and always a mismatch */
        uint8_t out[64];
        int rc = ch_argon2id(&a->dummy.params, j->pw, j->pw_len, a->dummy.salt,
                             a->dummy.params.salt_len, NULL, 0, NULL, 0, out);
        volatile int sink = CRYPTO_memcmp(out, a->dummy.hash, a->dummy.params.hash_len);
        (void)sink;
        j->result = rc < 0 ? rc : 0;
        j->needs_rehash = 0;
        break;
    }
    }
}

/* Hashing is bulk work and the event loops are latency work: the pool's threads run at a
 * lower priority (nice +10, SCHED_BATCH), so a loop thread that wakes with requests to answer
 * preempts a hash in progress instead of waiting out its time slice. When the cores are not
 * busy with requests, hashes still get all of them. Linux applies both to the calling thread
 * only. Failure (a sandbox refusing the call) leaves the normal priority: not worth a log. */
static void lower_priority(void)
{
    struct sched_param sp = {0};
    (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
    pid_t tid = (pid_t)syscall(SYS_gettid);
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, (id_t)tid);
    if (errno == 0 && nice < 10) (void)setpriority(PRIO_PROCESS, (id_t)tid, nice + 10);
}

static void *thread_main(void *arg)
{
    struct ch__auth_pool *p = arg;
    lower_priority();
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->qhead && !p->quit) pthread_cond_wait(&p->cv, &p->mu);
        if (p->quit) break;
        struct job *j = p->qhead;
        p->qhead = j->next;
        if (!p->qhead) p->qtail = NULL;
        pthread_mutex_unlock(&p->mu);

        run(p->auth, j);

        pthread_mutex_lock(&p->mu);
        p->pending--;
        struct slot *s = j->slot;
        j->next = NULL;
        int was_empty = !s->done_head;
        if (s->done_tail)
            s->done_tail->next = j;
        else
            s->done_head = j;
        s->done_tail = j;
        uint64_t one = 1;
        if (was_empty && write(s->io.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            ch_log(CH_LOG_ERROR, "auth pool: eventfd write: %s", strerror(errno));
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Runs finished jobs' callbacks on the worker's loop, then lets their requests end. */
static void on_done(struct ch__io *io, uint32_t events)
{
    struct slot *s = (struct slot *)io;
    uint64_t n;
    (void)events;
    if (read(io->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        ch_log(CH_LOG_ERROR, "auth pool: eventfd read: %s", strerror(errno));
    pthread_mutex_lock(&s->pool->mu);
    struct job *j = s->done_head;
    s->done_head = s->done_tail = NULL;
    pthread_mutex_unlock(&s->pool->mu);
    while (j) {
        struct job *next = j->next;
        struct ch_request *req = j->req;
        if (j->kind == JOB_HASH)
            j->hash_done(req, j->result, j->result == 0 ? j->phc : NULL, j->arg);
        else
            j->verify_done(req, j->result, j->needs_rehash, j->arg);
        job_free(j);
        ch_request_release(req);
        j = next;
    }
}

/* The slot of the request's worker, created on its first job (on that worker's thread). */
static struct slot *slot_get(struct ch__auth_pool *p, struct ch_request *req)
{
    if (req->worker_id < 0 || req->worker_id >= MAX_WORKERS) return NULL;
    struct slot *s = p->slots[req->worker_id];
    if (s) return s;
    if (!(s = calloc(1, sizeof(*s)))) return NULL;
    s->pool = p;
    s->io.cb = on_done;
    s->io.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    /* The request's connection leads to its worker and loop (the protocol's connection struct
     * starts with struct ch__conn). */
    struct ch__conn *c = req->_conn;
    if (s->io.fd < 0 || ch__loop_add(&c->worker->loop, &s->io, EPOLLIN) != 0) {
        if (s->io.fd >= 0) close(s->io.fd);
        free(s);
        return NULL;
    }
    p->slots[req->worker_id] = s;
    return s;
}

/* Starts the threads on first use, under p->mu. */
static int start_threads(struct ch__auth_pool *p)
{
    int n = p->auth->cfg.hash_threads;
    p->threads = calloc((size_t)n, sizeof(*p->threads));
    if (!p->threads) return CH_ENOMEM;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&p->threads[i], NULL, thread_main, p) != 0) break;
        p->nthreads++;
    }
    return p->nthreads ? 0 : CH_EIO;
}

static int submit(struct ch_auth *a, struct ch_request *req, struct job *j, struct ch_str pw)
{
    struct ch__auth_pool *p = a->pool;
    if (pw.len > MAX_PASSWORD) {
        free(j);
        return CH_EINVAL;
    }
    j->req = req;
    j->slot = slot_get(p, req);
    j->pw = malloc(pw.len ? pw.len : 1);
    if (!j->slot || !j->pw) {
        int rc = j->slot ? CH_ENOMEM : CH_EIO;
        job_free(j);
        return rc;
    }
    if (pw.len) memcpy(j->pw, pw.ptr, pw.len);
    j->pw_len = pw.len;
    pthread_mutex_lock(&p->mu);
    int rc = 0;
    if (!p->threads) rc = start_threads(p);
    if (rc == 0 && p->pending >= a->cfg.hash_queue) rc = CH_EBUSY;
    if (rc == 0) {
        p->pending++;
        if (p->qtail)
            p->qtail->next = j;
        else
            p->qhead = j;
        p->qtail = j;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (rc != 0) {
        job_free(j);
        return rc;
    }
    ch_request_hold(req);
    return 0;
}

int ch_auth_hash_password(struct ch_auth *a, struct ch_request *req, struct ch_str password,
                          ch_auth_hash_fn done, void *arg)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j) return CH_ENOMEM;
    j->kind = JOB_HASH;
    j->hash_done = done;
    j->arg = arg;
    return submit(a, req, j, password);
}

int ch_auth_verify_password(struct ch_auth *a, struct ch_request *req, struct ch_str phc,
                            struct ch_str password, ch_auth_verify_fn done, void *arg)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j) return CH_ENOMEM;
    j->kind = JOB_VERIFY;
    j->verify_done = done;
    j->arg = arg;
    if (phc.len == 0) {
        j->kind = JOB_DUMMY;
    } else if (phc.len < sizeof(j->phc)) {
        memcpy(j->phc, phc.ptr, phc.len);
        j->phc_len = phc.len;
    } else {
        /* Too long to be a PHC string this module accepts: the thread reports CH_EINVAL. */
        memcpy(j->phc, "$", 1);
        j->phc_len = 1;
    }
    return submit(a, req, j, password);
}

void ch__auth_pool_free(struct ch__auth_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    for (struct job *j = p->qhead, *next; j; j = next) {
        next = j->next;
        job_free(j);
    }
    for (int i = 0; i < MAX_WORKERS; i++) {
        struct slot *s = p->slots[i];
        if (!s) continue;
        for (struct job *j = s->done_head, *next; j; j = next) {
            next = j->next;
            job_free(j);
        }
        close(s->io.fd); /* the worker's loop, and its epoll set, are already gone */
        free(s);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
