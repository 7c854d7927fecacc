/* Migrations: the registry (from code and from directories), and applying, listing and rolling
 * back on the startup connection, recorded in chopin_migrations. The rules are in chopin/db.h.
 *
 * Concurrency. On PostgreSQL the whole run holds a session advisory lock, so a second process
 * waits, then finds everything applied. On SQLite each migration is one BEGIN EXCLUSIVE
 * transaction that first looks for its own record: the process that gets the lock first
 * applies it, the others see the record and move on. Either way the record and the
 * migration's effects commit together, or not at all. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/error.h"
#include "chopin/log.h"
#include "db/internal.h"

enum { MAX_SETS = 32, PG = 0, SQ = 1 };

/* Any constant will do, as long as nothing else in the database uses it. */
#define ADVISORY_KEY "7325476184"

struct mig {
    int set; /* index in the registry's sets, which is also the order of the sets */
    int64_t version;
    char *name;
    char *up[2], *down[2]; /* by dialect (PG, SQ); NULL: none */
};

struct ch_migrations {
    char *sets[MAX_SETS];
    int nsets;
    struct mig *v;
    size_t n, cap;
};

struct ch_migrations *ch_migrations_new(void)
{
    return calloc(1, sizeof(struct ch_migrations));
}

static void mig_free(struct mig *m)
{
    free(m->name);
    for (int d = 0; d < 2; d++) {
        free(m->up[d]);
        free(m->down[d]);
    }
}

void ch_migrations_free(struct ch_migrations *ms)
{
    if (!ms) return;
    for (size_t i = 0; i < ms->n; i++) mig_free(&ms->v[i]);
    for (int i = 0; i < ms->nsets; i++) free(ms->sets[i]);
    free(ms->v);
    free(ms);
}

static int valid_word(const char *s, int dash)
{
    if (!s || !*s || strlen(s) > 100) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || (dash && *s == '-')))
            return 0;
    return 1;
}

static int set_index(const struct ch_migrations *ms, const char *set)
{
    for (int i = 0; i < ms->nsets; i++)
        if (strcmp(ms->sets[i], set) == 0) return i;
    return -1;
}

static const struct mig *find(const struct ch_migrations *ms, int set, int64_t version)
{
    for (size_t i = 0; ms && i < ms->n; i++)
        if (ms->v[i].set == set && ms->v[i].version == version) return &ms->v[i];
    return NULL;
}

static char *dup_or_null(const char *s, int *oom)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = 1;
    return d;
}

int ch_migrations_add(struct ch_migrations *ms, const char *set, const struct ch_migration *m,
                      size_t n, char *err, size_t errlen)
{
    if (!valid_word(set, 0)) {
        ch__db_errf(err, errlen, "migration set '%s': use letters, digits and '_'",
                    set ? set : "(null)");
        return CH_EINVAL;
    }
    int si = set_index(ms, set);
    for (size_t i = 0; i < n; i++) {
        if (m[i].version <= 0 || !valid_word(m[i].name, 1)) {
            ch__db_errf(err, errlen,
                        "migration %s/%" PRId64 " '%s': the version must be > 0 and the name "
                        "letters, digits, '_' or '-'",
                        set, m[i].version, m[i].name ? m[i].name : "(null)");
            return CH_EINVAL;
        }
        if (!m[i].sql && !m[i].sql_postgres && !m[i].sql_sqlite) {
            ch__db_errf(err, errlen, "migration %s/%04" PRId64 "_%s has no SQL", set,
                        m[i].version, m[i].name);
            return CH_EINVAL;
        }
        int dup = si >= 0 && find(ms, si, m[i].version);
        for (size_t j = 0; j < i && !dup; j++) dup = m[j].version == m[i].version;
        if (dup) {
            ch__db_errf(err, errlen, "migration %s/%04" PRId64 "_%s: version %" PRId64
                        " is declared twice in set '%s'",
                        set, m[i].version, m[i].name, m[i].version, set);
            return CH_EINVAL;
        }
    }
    if (si < 0) {
        if (ms->nsets == MAX_SETS) {
            ch__db_errf(err, errlen, "too many migration sets (at most %d)", MAX_SETS);
            return CH_ERANGE;
        }
        if (!(ms->sets[ms->nsets] = strdup(set))) return CH_ENOMEM;
        si = ms->nsets++;
    }
    if (ms->n + n > ms->cap) {
        size_t cap = ms->cap ? ms->cap : 16;
        while (cap < ms->n + n) cap *= 2;
        struct mig *v = realloc(ms->v, cap * sizeof(*v));
        if (!v) return CH_ENOMEM;
        ms->v = v;
        ms->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        struct mig *g = &ms->v[ms->n];
        int oom = 0;
        memset(g, 0, sizeof(*g));
        g->set = si;
        g->version = m[i].version;
        g->name = dup_or_null(m[i].name, &oom);
        g->up[PG] = dup_or_null(m[i].sql_postgres ? m[i].sql_postgres : m[i].sql, &oom);
        g->up[SQ] = dup_or_null(m[i].sql_sqlite ? m[i].sql_sqlite : m[i].sql, &oom);
        g->down[PG] = dup_or_null(m[i].down_postgres ? m[i].down_postgres : m[i].down, &oom);
        g->down[SQ] = dup_or_null(m[i].down_sqlite ? m[i].down_sqlite : m[i].down, &oom);
        if (oom) {
            mig_free(g);
            ch__db_errf(err, errlen, "out of memory");
            return CH_ENOMEM;
        }
        ms->n++;
    }
    return 0;
}

/* ---- Directories ---------------------------------------------------------------------- */

/* One version's files while a directory is read: texts[up/down][generic/pg/sqlite]. */
struct file_mig {
    int64_t version;
    char name[128];
    char *texts[2][3];
};

static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ch__db_errf(err, errlen, "cannot read migration '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
        if (len + 1 == cap) {
            char *b = cap > ((size_t)64 << 20) ? NULL : realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        ch__db_errf(err, errlen, "cannot read migration '%s'", path);
        return NULL;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        ch__db_errf(err, errlen, "migration '%s' contains a NUL byte", path);
        return NULL;
    }
    return buf;
}

/* "0001_create_posts.down.postgres.sql" -> version 1, name "create_posts", down 1, dialect 1
 * (0 generic, 1 postgres, 2 sqlite). 0 when the name does not follow the convention. */
static int parse_name(const char *f, int64_t *version, char *name, size_t namelen, int *down,
                      int *dialect)
{
    const char *p = f;
    int64_t v = 0;
    if (*p < '0' || *p > '9') return 0;
    while (*p >= '0' && *p <= '9') {
        if (v > INT64_MAX / 10 - 10) return 0;
        v = v * 10 + (*p++ - '0');
    }
    if (*p++ != '_' || v <= 0) return 0;
    const char *dot = strchr(p, '.');
    if (!dot || dot == p || (size_t)(dot - p) >= namelen) return 0;
    memcpy(name, p, (size_t)(dot - p));
    name[dot - p] = '\0';
    if (!valid_word(name, 1)) return 0;
    static const char *const suffixes[6] = {".sql",      ".postgres.sql",      ".sqlite.sql",
                                            ".down.sql", ".down.postgres.sql", ".down.sqlite.sql"};
    for (int i = 0; i < 6; i++) {
        if (strcmp(dot, suffixes[i]) == 0) {
            *version = v;
            *down = i / 3;
            *dialect = i % 3;
            return 1;
        }
    }
    return 0;
}

static void file_migs_free(struct file_mig *fm, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int u = 0; u < 2; u++)
            for (int d = 0; d < 3; d++) free(fm[i].texts[u][d]);
    free(fm);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

int ch_migrations_dir(struct ch_migrations *ms, const char *set, const char *dir, char *err,
                      size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        ch__db_errf(err, errlen, "cannot open migrations directory '%s': %s", dir,
                    strerror(errno));
        return CH_EIO;
    }
    struct file_mig *fm = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    const struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *f = e->d_name;
        if (f[0] == '.' || !ends_with(f, ".sql")) continue;
        int64_t version;
        char name[128];
        int down, variant;
        if (!parse_name(f, &version, name, sizeof(name), &down, &variant)) {
            ch__db_errf(err, errlen,
                        "migration file '%s/%s' is not named "
                        "NNNN_name[.down][.postgres|.sqlite].sql",
                        dir, f);
            rc = CH_EINVAL;
            break;
        }
        size_t i = 0;
        while (i < n && fm[i].version != version) i++;
        if (i == n) {
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 16;
                struct file_mig *b = realloc(fm, nc * sizeof(*b));
                if (!b) {
                    rc = CH_ENOMEM;
                    break;
                }
                fm = b;
                cap = nc;
            }
            memset(&fm[n], 0, sizeof(fm[n]));
            fm[n].version = version;
            snprintf(fm[n].name, sizeof(fm[n].name), "%s", name);
            n++;
        } else if (strcmp(fm[i].name, name) != 0) {
            ch__db_errf(err, errlen, "migrations '%s/%s': version %" PRId64 " has two names, '%s' and '%s'",
                        dir, f, version, fm[i].name, name);
            rc = CH_EINVAL;
            break;
        }
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, f);
        if (fm[i].texts[down][variant]) {
            ch__db_errf(err, errlen, "migrations '%s': two files for %s", dir, f);
            rc = CH_EINVAL;
            break;
        }
        fm[i].texts[down][variant] = read_file(path, err, errlen);
        if (!fm[i].texts[down][variant]) rc = CH_EIO;
    }
    closedir(d);
    struct ch_migration *m = rc == 0 && n ? calloc(n, sizeof(*m)) : NULL;
    if (rc == 0 && n && !m) rc = CH_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *const *up = fm[i].texts[0], *const *dn = fm[i].texts[1];
        if (!up[0] && !up[1] && !up[2]) {
            ch__db_errf(err, errlen, "migrations '%s': version %" PRId64 " (%s) has no up step",
                        dir, fm[i].version, fm[i].name);
            rc = CH_EINVAL;
            break;
        }
        m[i] = (struct ch_migration){fm[i].version, fm[i].name, up[0], up[1], up[2],
                                     dn[0],          dn[1],       dn[2]};
    }
    if (rc == 0) rc = ch_migrations_add(ms, set, m, n, err, errlen);
    free(m);
    file_migs_free(fm, n);
    return rc;
}

/* ---- Running -------------------------------------------------------------------------- */

struct applied {
    int64_t id, version;
    char set[128];
    char name[128];
    char checksum[24];
    char at[40];
};

struct applied_list {
    struct applied *v;
    size_t n, cap;
    int oom;
};

static void on_applied(void *arg, int ncols, const char *const *vals)
{
    struct applied_list *l = arg;
    if (ncols < 6) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        struct applied *v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            l->oom = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    struct applied *a = &l->v[l->n++];
    a->id = vals[0] ? strtoll(vals[0], NULL, 10) : 0;
    snprintf(a->set, sizeof(a->set), "%s", vals[1] ? vals[1] : "");
    a->version = vals[2] ? strtoll(vals[2], NULL, 10) : 0;
    snprintf(a->name, sizeof(a->name), "%s", vals[3] ? vals[3] : "");
    snprintf(a->checksum, sizeof(a->checksum), "%s", vals[4] ? vals[4] : "");
    snprintf(a->at, sizeof(a->at), "%s", vals[5] ? vals[5] : "");
}

static void on_first(void *arg, int ncols, const char *const *vals)
{
    char *out = arg;
    if (ncols > 0 && vals[0] && !out[0]) snprintf(out, 64, "%s", vals[0]);
}

static int dialect(const struct ch_db *db)
{
    return db->drv == &ch__db_pg_driver ? PG : SQ;
}

/* FNV-1a, 64 bits, in hex: detects an edited migration (not a security measure). */
static void checksum(const char *sql, char out[24])
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)(sql ? sql : ""); *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    snprintf(out, 24, "%016" PRIx64, h);
}

static void label(const struct ch_migrations *ms, const struct mig *m, char *out, size_t len)
{
    snprintf(out, len, "%s/%04" PRId64 "_%s", ms->sets[m->set], m->version, m->name);
}

static int cmp_order(const void *a, const void *b)
{
    const struct mig *x = *(const struct mig *const *)a, *y = *(const struct mig *const *)b;
    if (x->set != y->set) return x->set - y->set;
    return (x->version > y->version) - (x->version < y->version);
}

/* The declared migrations, sets in order and versions ascending (NULL on no memory). */
static const struct mig **ordered(const struct ch_migrations *ms, size_t *n)
{
    *n = ms ? ms->n : 0;
    const struct mig **o = malloc((*n ? *n : 1) * sizeof(*o));
    if (!o) return NULL;
    for (size_t i = 0; i < *n; i++) o[i] = &ms->v[i];
    qsort(o, *n, sizeof(*o), cmp_order);
    return o;
}

static int startup_only(struct ch_db *db, char *err, size_t errlen)
{
    pthread_mutex_lock(&db->lock);
    int sealed = db->sealed;
    pthread_mutex_unlock(&db->lock);
    if (sealed) ch__db_errf(err, errlen, "migrations run before the workers start");
    return sealed ? CH_EBUSY : 0;
}

static int table_exists(struct ch_db *db, int *exists, char *err, size_t errlen)
{
    char v[64] = "";
    const char *sql = dialect(db) == PG
                          ? "SELECT to_regclass('chopin_migrations') IS NOT NULL"
                          : "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
                            "'chopin_migrations'";
    if (db->drv->query(db, sql, 0, NULL, on_first, v, err, errlen) != 0) return CH_EIO;
    *exists = strcmp(v, "t") == 0 || strcmp(v, "1") == 0;
    return 0;
}

static int load_applied(struct ch_db *db, struct applied_list *l, const char *order, char *err,
                        size_t errlen)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT id, set_name, version, name, checksum, %s FROM chopin_migrations ORDER BY "
             "id %s",
             dialect(db) == PG
                 ? "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                 : "applied_at",
             order);
    char msg[400];
    if (db->drv->query(db, sql, 0, NULL, on_applied, l, msg, sizeof(msg)) != 0) {
        ch__db_errf(err, errlen, "cannot read chopin_migrations: %s", msg);
        return CH_EIO;
    }
    if (l->oom) {
        ch__db_errf(err, errlen, "out of memory");
        return CH_ENOMEM;
    }
    return 0;
}

static const struct applied *applied_find(const struct applied_list *l, const char *set,
                                          int64_t version)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].version == version && strcmp(l->v[i].set, set) == 0) return &l->v[i];
    return NULL;
}

static void rollback(struct ch_db *db)
{
    char ignored[8];
    db->drv->exec(db, "ROLLBACK", ignored, sizeof(ignored));
}

static int lock(struct ch_db *db, int on, char *err, size_t errlen)
{
    if (dialect(db) != PG) return 0;
    char msg[400];
    if (db->drv->exec(db, on ? "SELECT pg_advisory_lock(" ADVISORY_KEY ")"
                             : "SELECT pg_advisory_unlock(" ADVISORY_KEY ")",
                      msg, sizeof(msg)) == 0)
        return 0;
    ch__db_errf(err, errlen, "cannot take the migrations lock: %s", msg);
    return CH_EIO;
}

static const char pg_table[] =
    "CREATE TABLE IF NOT EXISTS chopin_migrations ("
    " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " set_name text NOT NULL,"
    " version bigint NOT NULL,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now(),"
    " UNIQUE (set_name, version))";

static const char sqlite_table[] =
    "CREATE TABLE IF NOT EXISTS chopin_migrations ("
    " id INTEGER PRIMARY KEY,"
    " set_name TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " checksum TEXT NOT NULL,"
    " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),"
    " UNIQUE (set_name, version))";

/* Applies one migration in its own transaction, unless another process already did. */
static int apply_one(struct ch_db *db, const struct ch_migrations *ms, const struct mig *m,
                     char *err, size_t errlen)
{
    int d = dialect(db);
    char name[300], sum[24], ver[24], found[64] = "", msg[400];
    label(ms, m, name, sizeof(name));
    if (!m->up[d]) {
        ch__db_errf(err, errlen, "migration %s has no SQL for %s", name, db->drv->name);
        return CH_EINVAL;
    }
    checksum(m->up[d], sum);
    snprintf(ver, sizeof(ver), "%" PRId64, m->version);
    const char *key[2] = {ms->sets[m->set], ver};
    if (db->drv->exec(db, d == PG ? "BEGIN" : "BEGIN EXCLUSIVE", msg, sizeof(msg)) != 0) {
        ch__db_errf(err, errlen, "migration %s: cannot begin: %s", name, msg);
        return CH_EIO;
    }
    if (db->drv->query(db,
                       "SELECT checksum FROM chopin_migrations WHERE set_name = $1 AND "
                       "version = $2",
                       2, key, on_first, found, msg, sizeof(msg)) != 0) {
        rollback(db);
        ch__db_errf(err, errlen, "migration %s: %s", name, msg);
        return CH_EIO;
    }
    if (found[0]) { /* another process applied it meanwhile */
        rollback(db);
        if (strcmp(found, sum) == 0) return 0;
        ch__db_errf(err, errlen, "migration %s was applied with a different text", name);
        return CH_EINVAL;
    }
    uint64_t t0 = ch__now_ms();
    if (db->drv->exec(db, m->up[d], msg, sizeof(msg)) != 0) {
        rollback(db);
        ch__db_errf(err, errlen, "migration %s failed: %s", name, msg);
        return CH_EIO;
    }
    const char *rec[4] = {ms->sets[m->set], ver, m->name, sum};
    if (db->drv->query(db,
                       "INSERT INTO chopin_migrations (set_name, version, name, checksum) "
                       "VALUES ($1, $2, $3, $4)",
                       4, rec, NULL, NULL, msg, sizeof(msg)) != 0 ||
        db->drv->exec(db, "COMMIT", msg, sizeof(msg)) != 0) {
        rollback(db);
        ch__db_errf(err, errlen, "migration %s: cannot record it: %s", name, msg);
        return CH_EIO;
    }
    ch_log(CH_LOG_INFO, "migration %s applied (%llu ms)", name,
           (unsigned long long)(ch__now_ms() - t0));
    return 0;
}

int ch_db_migrate(struct ch_db *db, const struct ch_migrations *ms, char *err, size_t errlen)
{
    int rc = startup_only(db, err, errlen);
    if (rc) return rc;
    size_t n;
    const struct mig **o = ordered(ms, &n);
    if (!o) return CH_ENOMEM;
    struct applied_list l = {0};
    char msg[400];
    if ((rc = lock(db, 1, err, errlen)) != 0) {
        free(o);
        return rc;
    }
    /* Created only when missing: on SQLite, CREATE TABLE takes the write lock even when the
     * table exists, which would queue every starting process behind a running migration. */
    int exists = 0;
    if ((rc = table_exists(db, &exists, err, errlen)) != 0) goto out;
    if (!exists &&
        db->drv->exec(db, dialect(db) == PG ? pg_table : sqlite_table, msg, sizeof(msg)) != 0) {
        ch__db_errf(err, errlen, "cannot create chopin_migrations: %s", msg);
        rc = CH_EIO;
        goto out;
    }
    if ((rc = load_applied(db, &l, "ASC", err, errlen)) != 0) goto out;
    /* Every check first: nothing is applied when an applied migration was edited. */
    for (size_t i = 0; i < n; i++) {
        const struct applied *a = applied_find(&l, ms->sets[o[i]->set], o[i]->version);
        char sum[24], name[300];
        if (!a) continue;
        checksum(o[i]->up[dialect(db)], sum);
        if (strcmp(sum, a->checksum) != 0) {
            label(ms, o[i], name, sizeof(name));
            ch__db_errf(err, errlen,
                        "migration %s was changed after it was applied (checksum %s, applied "
                        "%s): restore its text and add a new migration instead",
                        name, sum, a->checksum);
            rc = CH_EINVAL;
            goto out;
        }
    }
    for (size_t i = 0; i < l.n; i++) {
        int si = ms ? set_index(ms, l.v[i].set) : -1;
        if (si >= 0 && !find(ms, si, l.v[i].version))
            ch_log(CH_LOG_WARN,
                   "migration %s/%04" PRId64 "_%s is applied but not declared by this "
                   "program (a newer release applied it?)",
                   l.v[i].set, l.v[i].version, l.v[i].name);
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        if (!applied_find(&l, ms->sets[o[i]->set], o[i]->version))
            rc = apply_one(db, ms, o[i], err, errlen);
out:
    if (lock(db, 0, msg, sizeof(msg)) != 0 && rc == 0) {
        ch__db_errf(err, errlen, "%s", msg);
        rc = CH_EIO;
    }
    free(l.v);
    free(o);
    return rc;
}

int ch_db_migrate_status(struct ch_db *db, const struct ch_migrations *ms, FILE *out, char *err,
                         size_t errlen)
{
    int rc = startup_only(db, err, errlen), exists = 0;
    if (rc || (rc = table_exists(db, &exists, err, errlen)) != 0) return rc;
    struct applied_list l = {0};
    if (exists && (rc = load_applied(db, &l, "ASC", err, errlen)) != 0) {
        free(l.v);
        return rc;
    }
    size_t n;
    const struct mig **o = ordered(ms, &n);
    if (!o) {
        free(l.v);
        return CH_ENOMEM;
    }
    fprintf(out, "%-12s %8s  %-36s %-8s %s\n", "SET", "VERSION", "NAME", "STATUS", "APPLIED");
    for (size_t i = 0; i < n; i++) {
        const struct applied *a = applied_find(&l, ms->sets[o[i]->set], o[i]->version);
        char sum[24];
        checksum(o[i]->up[dialect(db)], sum);
        const char *status = !a ? "pending" : strcmp(a->checksum, sum) ? "changed" : "applied";
        fprintf(out, "%-12s %8" PRId64 "  %-36s %-8s %s\n", ms->sets[o[i]->set], o[i]->version,
                o[i]->name, status, a ? a->at : "-");
    }
    for (size_t i = 0; i < l.n; i++) {
        int si = ms ? set_index(ms, l.v[i].set) : -1;
        if (si < 0 || !find(ms, si, l.v[i].version))
            fprintf(out, "%-12s %8" PRId64 "  %-36s %-8s %s\n", l.v[i].set, l.v[i].version,
                    l.v[i].name, "missing", l.v[i].at);
    }
    fflush(out);
    free(o);
    free(l.v);
    return 0;
}

int ch_db_migrate_down(struct ch_db *db, const struct ch_migrations *ms, int n, char *err,
                       size_t errlen)
{
    int rc = startup_only(db, err, errlen), exists = 0, d = dialect(db);
    if (rc) return rc;
    if (n <= 0) {
        ch__db_errf(err, errlen, "--migrate-down needs a number of migrations >= 1");
        return CH_EINVAL;
    }
    if ((rc = lock(db, 1, err, errlen)) != 0) return rc;
    struct applied_list l = {0};
    const struct mig **todo = calloc((size_t)n, sizeof(*todo));
    char msg[400], name[300];
    if (!todo) {
        rc = CH_ENOMEM;
        goto out;
    }
    if ((rc = table_exists(db, &exists, err, errlen)) != 0) goto out;
    if (exists && (rc = load_applied(db, &l, "DESC", err, errlen)) != 0) goto out;
    if (l.n < (size_t)n) {
        ch__db_errf(err, errlen, "cannot roll back %d migrations: only %zu applied; nothing done",
                    n, l.n);
        rc = CH_EINVAL;
        goto out;
    }
    /* Every check first: either all N can be rolled back, or none is. */
    for (int i = 0; i < n; i++) {
        const struct applied *a = &l.v[i];
        int si = ms ? set_index(ms, a->set) : -1;
        todo[i] = si >= 0 ? find(ms, si, a->version) : NULL;
        snprintf(name, sizeof(name), "%s/%04" PRId64 "_%s", a->set, a->version, a->name);
        if (!todo[i]) {
            ch__db_errf(err, errlen,
                        "cannot roll back migration %s: this program does not declare it; "
                        "nothing done",
                        name);
            rc = CH_EINVAL;
            goto out;
        }
        if (!todo[i]->down[d]) {
            ch__db_errf(err, errlen,
                        "cannot roll back migration %s: it declares no down step for %s; "
                        "nothing done",
                        name, db->drv->name);
            rc = CH_EINVAL;
            goto out;
        }
    }
    for (int i = 0; i < n; i++) {
        char ver[24];
        label(ms, todo[i], name, sizeof(name));
        snprintf(ver, sizeof(ver), "%" PRId64, todo[i]->version);
        const char *key[2] = {ms->sets[todo[i]->set], ver};
        if (db->drv->exec(db, d == PG ? "BEGIN" : "BEGIN EXCLUSIVE", msg, sizeof(msg)) != 0 ||
            db->drv->exec(db, todo[i]->down[d], msg, sizeof(msg)) != 0 ||
            db->drv->query(db, "DELETE FROM chopin_migrations WHERE set_name = $1 AND version = $2",
                           2, key, NULL, NULL, msg, sizeof(msg)) != 0 ||
            db->drv->exec(db, "COMMIT", msg, sizeof(msg)) != 0) {
            rollback(db);
            ch__db_errf(err, errlen, "rolling back migration %s failed: %s (%d of %d rolled back)",
                        name, msg, i, n);
            rc = CH_EIO;
            goto out;
        }
        ch_log(CH_LOG_INFO, "migration %s rolled back", name);
    }
out:
    if (lock(db, 0, msg, sizeof(msg)) != 0 && rc == 0) {
        ch__db_errf(err, errlen, "%s", msg);
        rc = CH_EIO;
    }
    free(todo);
    free(l.v);
    return rc;
}
