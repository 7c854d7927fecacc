/* SQLite: startup (open, WAL, the query threads, the migrations' SQL), statement checks,
 * parameters and result values. The threads and the per-worker queues are in sqlite_pool.c,
 * which also explains why SQLite runs on threads rather than on the workers' loops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chopin/error.h"
#include "db/sqlite.h"
#include "chopin/log.h"

enum { BUSY_TIMEOUT_MS = 5000, MIGRATE_BUSY_TIMEOUT_MS = 600000 };

static int open_conn(const char *path, sqlite3 **out, char *err, size_t errlen)
{
    sqlite3 *c = NULL;
    /* NOMUTEX: each connection is used by one thread at a time, so SQLite's own per-connection
     * locking would be pure overhead. */
    int rc = sqlite3_open_v2(
        path, &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ch__db_errf(err, errlen, "cannot open SQLite database '%s': %s", path,
                    c ? sqlite3_errmsg(c) : sqlite3_errstr(rc));
        sqlite3_close(c);
        return -1;
    }
    sqlite3_busy_timeout(c, BUSY_TIMEOUT_MS);
    /* Extended codes tell a unique from a NOT NULL violation (409 against 422); foreign keys
     * are enforced, as on PostgreSQL. */
    sqlite3_extended_result_codes(c, 1);
    sqlite3_exec(c, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    sqlite3_exec(c, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    *out = c;
    return 0;
}

static void sq_close(struct ch_db *db)
{
    struct ch__sq_db *s = db->drv_data;
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->quit = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->started; i++) pthread_join(s->threads[i].tid, NULL);
    for (int i = 0; s->threads && i < s->nthreads; i++) sqlite3_close(s->threads[i].conn);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->threads);
    free(s);
    db->drv_data = NULL;
}

/* Threads: pool_size, but no more than twice the CPUs (queries on cached pages are CPU-bound,
 * so more threads only add lock traffic) and at least 2 so one slow batch never holds up the
 * others. An in-memory database lives in its one connection, hence one thread. */
static int thread_count(const struct ch_db *db, int memory)
{
    if (memory) return 1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int cap = cpus > 1 ? (int)(cpus * 2) : 2, n = db->opt.pool_size;
    if (n > cap) n = cap;
    return n < 2 ? 2 : n;
}

static int sq_open(struct ch_db *db, const char *path, char *err, size_t errlen)
{
    struct ch__sq_db *s = calloc(1, sizeof(*s));
    if (!s) return CH_ENOMEM;
    s->db = db;
    s->memory = strcmp(path, ":memory:") == 0;
    s->nthreads = thread_count(db, s->memory);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    db->drv_data = s;
    s->threads = calloc((size_t)s->nthreads, sizeof(*s->threads));
    if (!s->threads) {
        sq_close(db);
        return CH_ENOMEM;
    }
    sqlite3 *boot;
    if (open_conn(path, &boot, err, errlen) != 0) {
        sq_close(db);
        return CH_EIO;
    }
    s->threads[0].conn = boot;
    if (!s->memory) {
        /* WAL is a property of the file: set once, every later connection inherits it. */
        sqlite3_stmt *st = NULL;
        const unsigned char *mode = NULL;
        if (sqlite3_prepare_v2(boot, "PRAGMA journal_mode=WAL", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            mode = sqlite3_column_text(st, 0);
        if (!mode || strcmp((const char *)mode, "wal") != 0)
            ch_log(CH_LOG_WARN,
                   "SQLite '%s': WAL mode unavailable (%s); writers will block "
                   "readers",
                   path, mode ? (const char *)mode : sqlite3_errmsg(boot));
        sqlite3_finalize(st);
    }
    for (int i = 1; i < s->nthreads; i++) {
        if (open_conn(path, &s->threads[i].conn, err, errlen) != 0) {
            sq_close(db);
            return CH_EIO;
        }
    }
    for (int i = 0; i < s->nthreads; i++) {
        s->threads[i].s = s;
        int e = pthread_create(&s->threads[i].tid, NULL, ch__sq_thread_main, &s->threads[i]);
        if (e != 0) {
            ch__db_errf(err, errlen, "cannot start SQLite threads: %s", strerror(e));
            sq_close(db);
            return CH_EIO;
        }
        s->started++;
    }
    return 0;
}

/* Parameters numbered $1..$N (PostgreSQL's style) are named parameters to SQLite, indexed in
 * order of first appearance: "$2 ... $1" gives $2 index 1. They are bound by name, through a
 * map from N to SQLite's index, so one SQL text serves both drivers. ? and ?NNN stay
 * positional; mixing the two styles is refused, as is any other named parameter with $N. */
static int dollar_number(const char *name)
{
    if (!name || name[0] != '$' || name[1] < '1' || name[1] > '9') return 0;
    long v = 0;
    for (const char *c = name + 1; *c; c++) {
        if (*c < '0' || *c > '9' || v > 100000) return 0;
        v = v * 10 + (*c - '0');
    }
    return (int)v;
}

int ch__sq_param_map(sqlite3_stmt *p, int *nparams, int **index)
{
    int count = sqlite3_bind_parameter_count(p), numbered = 0, max = 0;
    *index = NULL;
    for (int i = 1; i <= count; i++) {
        int v = dollar_number(sqlite3_bind_parameter_name(p, i));
        if (v) numbered++;
        if (v > max) max = v;
    }
    if (!numbered) {
        *nparams = count;
        return 0;
    }
    if (numbered != count || max > 32767) return -1;
    int *map = calloc((size_t)max, sizeof(*map));
    if (!map) return -1;
    for (int k = 1; k <= max; k++) {
        char name[16];
        snprintf(name, sizeof(name), "$%d", k);
        map[k - 1] = sqlite3_bind_parameter_index(p, name);
    }
    *nparams = max;
    *index = map;
    return 0;
}

/* Checked on the startup connection, which query thread 0 only uses once batches arrive,
 * and batches only arrive after the statements are sealed. */
static int sq_stmt_check(struct ch_db *db, struct ch__db_stmt *st, int id, char *err, size_t errlen)
{
    struct ch__sq_db *s = db->drv_data;
    sqlite3_stmt *p = NULL;
    (void)id;
    if (sqlite3_prepare_v2(s->threads[0].conn, st->sql, -1, &p, NULL) != SQLITE_OK || !p) {
        ch__db_errf(err, errlen, "statement '%s': %s", st->name,
                    p ? sqlite3_errmsg(s->threads[0].conn)
                      : (sqlite3_errcode(s->threads[0].conn) == SQLITE_OK
                             ? "empty SQL"
                             : sqlite3_errmsg(s->threads[0].conn)));
        sqlite3_finalize(p);
        return CH_EINVAL;
    }
    if (ch__sq_param_map(p, &st->nparams, &st->sq_index) != 0) {
        ch__db_errf(err, errlen,
                    "statement '%s': parameters must be all $1..$N or all ? / ?NNN, not a mix",
                    st->name);
        sqlite3_finalize(p);
        return CH_EINVAL;
    }
    st->readonly = sqlite3_stmt_readonly(p);
    sqlite3_finalize(p);
    return 0;
}

/* Migrations run on the startup connection, with a long busy timeout: another process may
 * hold the write lock for the whole of a long migration. */
static int sq_exec(struct ch_db *db, const char *sql, char *err, size_t errlen)
{
    struct ch__sq_db *s = db->drv_data;
    sqlite3 *c = s->threads[0].conn;
    char *msg = NULL;
    sqlite3_busy_timeout(c, MIGRATE_BUSY_TIMEOUT_MS);
    int rc = sqlite3_exec(c, sql, NULL, NULL, &msg);
    sqlite3_busy_timeout(c, BUSY_TIMEOUT_MS);
    if (rc == SQLITE_OK) return 0;
    ch__db_errf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(c));
    sqlite3_free(msg);
    return -1;
}

static int sq_query(struct ch_db *db, const char *sql, int nparams, const char *const *params,
                    void (*row)(void *arg, int ncols, const char *const *vals), void *arg,
                    char *err, size_t errlen)
{
    struct ch__sq_db *s = db->drv_data;
    sqlite3 *c = s->threads[0].conn;
    sqlite3_stmt *p = NULL;
    int n = 0, *map = NULL, rc = sqlite3_prepare_v2(c, sql, -1, &p, NULL);
    if (rc == SQLITE_OK && ch__sq_param_map(p, &n, &map) != 0) rc = SQLITE_MISUSE;
    for (int i = 0; rc == SQLITE_OK && i < nparams && i < n; i++) {
        int at = map ? map[i] : i + 1;
        if (at) rc = sqlite3_bind_text(p, at, params[i], -1, SQLITE_STATIC);
    }
    sqlite3_busy_timeout(c, MIGRATE_BUSY_TIMEOUT_MS);
    while (rc == SQLITE_OK && (rc = sqlite3_step(p)) == SQLITE_ROW) {
        const char *vals[16];
        int ncols = sqlite3_column_count(p);
        if (ncols > 16) ncols = 16;
        for (int k = 0; k < ncols; k++) vals[k] = (const char *)sqlite3_column_text(p, k);
        if (row) row(arg, ncols, vals);
        rc = SQLITE_OK;
    }
    sqlite3_busy_timeout(c, BUSY_TIMEOUT_MS);
    free(map);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(p);
        return 0;
    }
    ch__db_errf(err, errlen, "%s", rc == SQLITE_MISUSE ? "bad parameters" : sqlite3_errmsg(c));
    sqlite3_finalize(p);
    return -1;
}

static void sq_seal(struct ch_db *db)
{
    (void)db;
}

/* Parameters are copied into the arena (the query thread reads them there, untouched by the
 * worker meanwhile); int arrays become JSON text, for json_each(). */
static int sq_encode(struct ch_db_batch *b, struct ch__db_query *q, const struct ch__db_stmt *st,
                     const struct ch_db_param *params)
{
    int n = st->nparams;
    if (n == 0) return 0;
    struct ch_db_param *copy = ch_arena_alloc(b->arena, (size_t)n * sizeof(*copy));
    if (!copy) return CH_ENOMEM;
    for (int i = 0; i < n; i++) {
        copy[i] = params[i];
        if (params[i].type == CH_DB_PARAM_TEXT) {
            const struct ch_str t = params[i].u.text;
            char *d = ch_arena_strndup(b->arena, t.ptr ? t.ptr : "", t.len);
            if (!d) return CH_ENOMEM;
            copy[i].u.text = ch_str_make(d, t.len);
        } else if (params[i].type == CH_DB_PARAM_INT_ARRAY) {
            size_t cnt = params[i].u.ints.n;
            char *s = ch_arena_alloc(b->arena, cnt * 21 + 3), *d = s;
            if (!s) return CH_ENOMEM;
            *d++ = '[';
            for (size_t k = 0; k < cnt; k++) {
                if (k) *d++ = ',';
                d += ch_i64_to_dec(d, params[i].u.ints.v[k]);
            }
            *d++ = ']';
            copy[i].type = CH_DB_PARAM_TEXT;
            copy[i].u.text = ch_str_make(s, (size_t)(d - s));
        }
    }
    q->u.sq.params = copy;
    return 0;
}

static const struct ch__sq_cell *cell_at(const struct ch_db_result *r, int row, int col)
{
    return (const struct ch__sq_cell *)r->p + (size_t)row * (size_t)r->ncols + (size_t)col;
}

static const struct ch__sq_cell *meta_at(const struct ch_db_result *r, int col)
{
    return (const struct ch__sq_cell *)r->meta + col;
}

static int sq_is_null(const struct ch_db_result *r, int row, int col)
{
    return cell_at(r, row, col)->type == SQLITE_NULL;
}

static int sq_get_bool(const struct ch_db_result *r, int row, int col);

static int64_t sq_get_int(const struct ch_db_result *r, int row, int col)
{
    const struct ch__sq_cell *c = cell_at(r, row, col);
    int64_t v = 0;
    if (c->type == SQLITE_TEXT && meta_at(r, col)->type == CH_DB_TYPE_BOOL)
        return sq_get_bool(r, row, col);
    switch (c->type) {
    case SQLITE_INTEGER: return c->u.i;
    case SQLITE_FLOAT: return (int64_t)c->u.d;
    case SQLITE_TEXT:
        return ch_str_to_i64(ch_str_make(r->heap + c->u.bytes.off, c->u.bytes.len), &v) == 0 ? v
                                                                                             : 0;
    default: return 0;
    }
}

static struct ch_str cell_bytes(const struct ch_db_result *r, const struct ch__sq_cell *c)
{
    return ch_str_make(r->heap + c->u.bytes.off, c->u.bytes.len);
}

static int text_bool(struct ch_str t, int *out)
{
    static const char *const yes[] = {"t", "true", "y", "yes", "on", "1"};
    static const char *const no[] = {"f", "false", "n", "no", "off", "0"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (ch_str_case_eq(t, ch_str_cstr(yes[i]))) return *out = 1, 1;
        if (ch_str_case_eq(t, ch_str_cstr(no[i]))) return *out = 0, 1;
    }
    return 0;
}

/* A time column's value in milliseconds since the epoch: text as SQLite's date functions
 * write it, integers as unix seconds, reals as Julian days (SQLite's own numeric form). */
static int cell_time(const struct ch_db_result *r, const struct ch__sq_cell *c, int64_t *ms)
{
    switch (c->type) {
    case SQLITE_TEXT: return ch__db_parse_time(cell_bytes(r, c), ms) == 0;
    case SQLITE_INTEGER:
        if (c->u.i > INT64_MAX / 1000 || c->u.i < INT64_MIN / 1000) return 0;
        *ms = c->u.i * 1000;
        return 1;
    case SQLITE_FLOAT: {
        double v = (c->u.d - 2440587.5) * 86400000.0;
        if (!(v > -9.0e15 && v < 9.0e15)) return 0;
        *ms = (int64_t)(v < 0 ? v - 0.5 : v + 0.5);
        return 1;
    }
    default: return 0;
    }
}

static enum ch_db_type storage_type(int t)
{
    switch (t) {
    case SQLITE_INTEGER: return CH_DB_TYPE_INT;
    case SQLITE_FLOAT: return CH_DB_TYPE_FLOAT;
    case SQLITE_TEXT: return CH_DB_TYPE_TEXT;
    case SQLITE_BLOB: return CH_DB_TYPE_BYTES;
    default: return CH_DB_TYPE_NULL;
    }
}

static enum ch_db_type sq_cell_type(const struct ch_db_result *r, int row, int col)
{
    const struct ch__sq_cell *c = cell_at(r, row, col);
    enum ch_db_type kind = (enum ch_db_type)meta_at(r, col)->type;
    int64_t ms;
    int b;
    switch (kind) {
    case CH_DB_TYPE_BOOL:
        if (c->type == SQLITE_INTEGER || c->type == SQLITE_FLOAT) return kind;
        if (c->type == SQLITE_TEXT && text_bool(cell_bytes(r, c), &b)) return kind;
        break;
    case CH_DB_TYPE_TIMESTAMP:
    case CH_DB_TYPE_DATE:
        if (cell_time(r, c, &ms)) return kind;
        break;
    case CH_DB_TYPE_JSON:
        if (c->type == SQLITE_TEXT) return kind;
        break;
    default: break;
    }
    return storage_type(c->type);
}

static const char *sq_col_name(const struct ch_db_result *r, int col)
{
    return r->heap + meta_at(r, col)->u.bytes.off;
}

static enum ch_db_type sq_col_type(const struct ch_db_result *r, int col)
{
    enum ch_db_type kind = (enum ch_db_type)meta_at(r, col)->type;
    if (kind != CH_DB_TYPE_NULL) return kind;
    for (int row = 0; row < r->nrows; row++) {
        int t = cell_at(r, row, col)->type;
        if (t != SQLITE_NULL) return storage_type(t);
    }
    return CH_DB_TYPE_NULL;
}

static double sq_get_float(const struct ch_db_result *r, int row, int col)
{
    const struct ch__sq_cell *c = cell_at(r, row, col);
    switch (c->type) {
    case SQLITE_INTEGER: return (double)c->u.i;
    case SQLITE_FLOAT: return c->u.d;
    case SQLITE_TEXT: {
        char buf[64];
        snprintf(buf, sizeof(buf), "%.*s", (int)(c->u.bytes.len < 63 ? c->u.bytes.len : 63),
                 r->heap + c->u.bytes.off);
        char *end;
        double d = strtod(buf, &end);
        return end != buf && !*end ? d : 0;
    }
    default: return 0;
    }
}

static int sq_get_bool(const struct ch_db_result *r, int row, int col)
{
    const struct ch__sq_cell *c = cell_at(r, row, col);
    int b = 0;
    switch (c->type) {
    case SQLITE_INTEGER: return c->u.i != 0;
    case SQLITE_FLOAT: return c->u.d != 0;
    case SQLITE_TEXT: return text_bool(cell_bytes(r, c), &b) && b;
    default: return 0;
    }
}

static struct ch_str sq_get_text(const struct ch_db_result *r, int row, int col)
{
    const struct ch__sq_cell *c = cell_at(r, row, col);
    enum ch_db_type t = sq_cell_type(r, row, col);
    if (t == CH_DB_TYPE_BOOL) return sq_get_bool(r, row, col) ? CH_STR("true") : CH_STR("false");
    if (t == CH_DB_TYPE_TIMESTAMP || t == CH_DB_TYPE_DATE) {
        int64_t ms = 0;
        char *s = ch_arena_alloc(r->arena, 32);
        size_t n = s && cell_time(r, c, &ms) ? ch__db_format_time(s, ms) : 0;
        if (t == CH_DB_TYPE_DATE && n >= 10) n = 10;
        return ch_str_make(s ? s : "", n);
    }
    switch (c->type) {
    case SQLITE_TEXT:
    case SQLITE_BLOB: return ch_str_make(r->heap + c->u.bytes.off, c->u.bytes.len);
    case SQLITE_INTEGER: {
        char *s = ch_arena_alloc(r->arena, 21);
        return s ? ch_str_make(s, ch_i64_to_dec(s, c->u.i)) : ch_str_make("", 0);
    }
    case SQLITE_FLOAT: {
        char *s = ch_arena_alloc(r->arena, 32);
        int n = s ? snprintf(s, 32, "%.17g", c->u.d) : 0;
        return ch_str_make(s ? s : "", n > 0 && n < 32 ? (size_t)n : 0);
    }
    default: return ch_str_make("", 0);
    }
}

const struct ch__db_driver ch__db_sqlite_driver = {
    .name = "sqlite",
    .open = sq_open,
    .stmt_check = sq_stmt_check,
    .exec = sq_exec,
    .query = sq_query,
    .seal = sq_seal,
    .close = sq_close,
    .worker_start = ch__sq_worker_start,
    .worker_stop = ch__sq_worker_stop,
    .encode = sq_encode,
    .submit = ch__sq_submit,
    .stats = ch__sq_stats,
    .is_null = sq_is_null,
    .get_int = sq_get_int,
    .get_text = sq_get_text,
    .get_float = sq_get_float,
    .get_bool = sq_get_bool,
    .col_name = sq_col_name,
    .col_type = sq_col_type,
    .cell_type = sq_cell_type,
};
