/* PostgreSQL: startup (the one blocking connection), statement checks, and the binary wire
 * formats of parameters and results. The pipelined pools are in pg_pool.c.
 *
 * Parameters and results travel in binary: an int4 is four bytes each way instead of being
 * printed and parsed. The statement's parameter types come from the server (a Describe at
 * startup), so each int is encoded at exactly the width the statement expects. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/error.h"
#include "db/pg.h"
#include "chopin/log.h"

/* Type OIDs from the server's pg_type.h, stable across versions. */
enum {
    BOOLOID = 16,
    BYTEAOID = 17,
    NAMEOID = 19,
    INT8OID = 20,
    INT2OID = 21,
    INT4OID = 23,
    TEXTOID = 25,
    OIDOID = 26,
    JSONOID = 114,
    XMLOID = 142,
    FLOAT4OID = 700,
    FLOAT8OID = 701,
    UNKNOWNOID = 705,
    INT2ARRAYOID = 1005,
    INT4ARRAYOID = 1007,
    INT8ARRAYOID = 1016,
    BPCHAROID = 1042,
    VARCHAROID = 1043,
    DATEOID = 1082,
    TIMESTAMPOID = 1114,
    TIMESTAMPTZOID = 1184,
    NUMERICOID = 1700,
    UUIDOID = 2950,
    JSONBOID = 3802,
};

/* Days and microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
#define PG_EPOCH_DAYS 10957
#define PG_EPOCH_MS   INT64_C(946684800000)

void ch__pg_notice(void *arg, const char *message)
{
    (void)arg;
    ch_log(CH_LOG_DEBUG, "postgres: %.*s", (int)strcspn(message, "\n"), message);
}

/* libpq messages end with a newline; ours are one line. */
static void pg_err(char *err, size_t errlen, const char *what, const char *msg)
{
    ch__db_errf(err, errlen, "%s: %.*s", what, (int)strcspn(msg ? msg : "", "\n"),
                msg ? msg : "unknown error");
}

static int exec_ok(PGconn *pg, PGresult *r, const char *what, char *err, size_t errlen)
{
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) pg_err(err, errlen, what, r ? PQresultErrorMessage(r) : PQerrorMessage(pg));
    PQclear(r);
    return ok;
}

static int keep(struct ch__pg_db *p, int *n, const char *key, const char *val)
{
    char *copy = strdup(val);
    if (!copy) return -1;
    p->keys[*n] = key;
    p->vals[*n] = copy;
    p->owned[*n] = copy;
    (*n)++;
    return 0;
}

/* The pool's connection parameters, in libpq's order of precedence (later keywords win):
 * our defaults, then the URL, then the host and address the startup connection actually used.
 * With a list of hosts (failover setups) nothing is pinned.
 *
 * The defaults bound how long a vanished server (no reset, e.g. a dead host) can hold work:
 * unacknowledged writes fail after 10 s (tcp_user_timeout) and an idle connection is probed
 * after 10 s, declared dead 15 s later. A busy backend still answers keepalives from its
 * kernel, so slow queries are not cut; the pool's stall timer is the last resort for those. */
static int pin_params(struct ch__pg_db *p, const char *url)
{
    int n = 0;
    if (keep(p, &n, "fallback_application_name", "chopin") || keep(p, &n, "keepalives", "1") ||
        keep(p, &n, "keepalives_idle", "10") || keep(p, &n, "keepalives_interval", "5") ||
        keep(p, &n, "keepalives_count", "3") || keep(p, &n, "tcp_user_timeout", "10000") ||
        keep(p, &n, "dbname", url))
        return -1;
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    int multi = 0;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "host") == 0 && o->val && strchr(o->val, ',')) multi = 1;
    PQconninfoFree(opts);
    if (!multi) {
        const char *host = PQhost(p->boot), *addr = PQhostaddr(p->boot), *port = PQport(p->boot);
        if (host && *host && keep(p, &n, "host", host)) return -1;
        if (addr && *addr && host && host[0] != '/' && keep(p, &n, "hostaddr", addr)) return -1;
        if (port && *port && keep(p, &n, "port", port)) return -1;
    }
    p->keys[n] = NULL;
    p->vals[n] = NULL;
    return 0;
}

static void pg_close(struct ch_db *db)
{
    struct ch__pg_db *p = db->drv_data;
    if (!p) return;
    if (p->boot) PQfinish(p->boot);
    for (int i = 0; i < 16; i++) free(p->owned[i]);
    free(p->names);
    free(p);
    db->drv_data = NULL;
}

static int pg_open(struct ch_db *db, const char *url, char *err, size_t errlen)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (!opts) {
        pg_err(err, errlen, "invalid DATABASE_URL", perr ? perr : "out of memory");
        PQfreemem(perr);
        return CH_EINVAL;
    }
    PQconninfoFree(opts);
    struct ch__pg_db *p = calloc(1, sizeof(*p));
    if (!p) return CH_ENOMEM;
    db->drv_data = p;

    /* libpq counts connect_timeout in whole seconds, 2 at least; the URL may override it. */
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%u", (db->opt.connect_timeout_ms + 999) / 1000);
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *vals[] = {timeout, "chopin", url, NULL};
    p->boot = PQconnectdbParams(keys, vals, 1);
    if (!p->boot || PQstatus(p->boot) != CONNECTION_OK) {
        pg_err(err, errlen, "cannot connect to PostgreSQL",
               p->boot ? PQerrorMessage(p->boot) : "out of memory");
        pg_close(db);
        return CH_EUNAVAILABLE;
    }
    PQsetNoticeProcessor(p->boot, ch__pg_notice, NULL);
    if (pin_params(p, url) != 0) {
        ch__db_errf(err, errlen, "out of memory");
        pg_close(db);
        return CH_ENOMEM;
    }
    return 0;
}

static int pg_stmt_check(struct ch_db *db, struct ch__db_stmt *st, int id, char *err, size_t errlen)
{
    struct ch__pg_db *p = db->drv_data;
    char(*names)[16] = realloc(p->names, (size_t)(id + 1) * sizeof(*names));
    if (!names) return CH_ENOMEM;
    p->names = names;
    snprintf(names[id], sizeof(names[id]), "s%d", id);
    char what[160];
    snprintf(what, sizeof(what), "statement '%s'", st->name);
    if (!exec_ok(p->boot, PQprepare(p->boot, names[id], st->sql, 0, NULL), what, err, errlen))
        return CH_EINVAL;
    PGresult *d = PQdescribePrepared(p->boot, names[id]);
    if (PQresultStatus(d) != PGRES_COMMAND_OK) {
        exec_ok(p->boot, d, what, err, errlen);
        return CH_EINVAL;
    }
    st->nparams = PQnparams(d);
    st->readonly = 0;
    if (st->nparams > 0) {
        st->ptypes = malloc((size_t)st->nparams * sizeof(*st->ptypes));
        if (!st->ptypes) {
            PQclear(d);
            return CH_ENOMEM;
        }
        for (int i = 0; i < st->nparams; i++) st->ptypes[i] = PQparamtype(d, i);
    }
    PQclear(d);
    return 0;
}

/* Migrations: scripts go through the simple query protocol (several statements at once). */
static int pg_exec(struct ch_db *db, const char *sql, char *err, size_t errlen)
{
    struct ch__pg_db *p = db->drv_data;
    PGresult *r = PQexec(p->boot, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
        PQclear(r);
        return 0;
    }
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(p->boot);
    ch__db_errf(err, errlen, "%.*s", (int)strcspn(msg, "\n"), msg);
    PQclear(r);
    return -1;
}

static int pg_query(struct ch_db *db, const char *sql, int nparams, const char *const *params,
                    void (*row)(void *arg, int ncols, const char *const *vals), void *arg,
                    char *err, size_t errlen)
{
    struct ch__pg_db *p = db->drv_data;
    PGresult *r = PQexecParams(p->boot, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(p->boot);
        ch__db_errf(err, errlen, "%.*s", (int)strcspn(msg, "\n"), msg);
        PQclear(r);
        return -1;
    }
    int ncols = PQnfields(r);
    const char *vals[16];
    if (ncols > 16) ncols = 16;
    for (int i = 0, n = PQntuples(r); row && i < n; i++) {
        for (int c = 0; c < ncols; c++) vals[c] = PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
        row(arg, ncols, vals);
    }
    PQclear(r);
    return 0;
}

/* The startup connection has done its job once the statements are known. */
static void pg_seal(struct ch_db *db)
{
    struct ch__pg_db *p = db->drv_data;
    if (p->boot) PQfinish(p->boot);
    p->boot = NULL;
}

static void put16(char *d, uint16_t v)
{
    d[0] = (char)(v >> 8);
    d[1] = (char)v;
}

static void put32(char *d, uint32_t v)
{
    for (int i = 0; i < 4; i++) d[i] = (char)(v >> (24 - 8 * i));
}

static void put64(char *d, uint64_t v)
{
    for (int i = 0; i < 8; i++) d[i] = (char)(v >> (56 - 8 * i));
}

static int fits(int64_t v, unsigned width)
{
    if (width == 2) return v >= INT16_MIN && v <= INT16_MAX;
    if (width == 4) return v >= INT32_MIN && v <= INT32_MAX;
    return 1;
}

static void put_int(char *d, int64_t v, unsigned width)
{
    if (width == 2)
        put16(d, (uint16_t)v);
    else if (width == 4)
        put32(d, (uint32_t)v);
    else
        put64(d, (uint64_t)v);
}

static unsigned int_width(unsigned oid)
{
    return oid == INT2OID ? 2 : oid == INT4OID ? 4 : oid == INT8OID ? 8 : 0;
}

/* An int array: int2[]/int4[]/int8[] in the binary array format (ndim, flags, element type,
 * length, lower bound, then length-prefixed elements), anything else as text "{1,2,3}". */
static int encode_array(struct ch_arena *a, const struct ch_db_param *pr, unsigned oid,
                        const char **val, int *len, int *fmt)
{
    unsigned elem = oid == INT2ARRAYOID   ? INT2OID
                    : oid == INT4ARRAYOID ? INT4OID
                    : oid == INT8ARRAYOID ? INT8OID
                                          : 0;
    size_t n = pr->u.ints.n;
    if (!elem) {
        char *s = ch_arena_alloc(a, n * 21 + 3), *d = s;
        if (!s) return CH_ENOMEM;
        *d++ = '{';
        for (size_t i = 0; i < n; i++) {
            if (i) *d++ = ',';
            d += ch_i64_to_dec(d, pr->u.ints.v[i]);
        }
        *d++ = '}';
        *d = '\0';
        *val = s;
        *len = 0;
        *fmt = 0;
        return 0;
    }
    unsigned w = int_width(elem);
    if (n > (size_t)INT32_MAX / (4 + w)) return CH_ERANGE;
    size_t size = (n ? 20 : 12) + n * (4 + w);
    char *s = ch_arena_alloc(a, size), *d = s;
    if (!s) return CH_ENOMEM;
    put32(d, n ? 1 : 0);
    put32(d + 4, 0);
    put32(d + 8, elem);
    d += 12;
    if (n) {
        put32(d, (uint32_t)n);
        put32(d + 4, 1);
        d += 8;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t v = pr->u.ints.v[i];
        if (!fits(v, w)) return CH_ERANGE;
        put32(d, w);
        put_int(d + 4, v, w);
        d += 4 + w;
    }
    *val = s;
    *len = (int)size;
    *fmt = 1;
    return 0;
}

static int is_texty(unsigned oid)
{
    return oid == TEXTOID || oid == VARCHAROID || oid == BPCHAROID || oid == NAMEOID ||
           oid == UNKNOWNOID || oid == JSONOID || oid == XMLOID;
}

static int encode_one(struct ch_arena *a, const struct ch_db_param *pr, unsigned oid,
                      const char **val, int *len, int *fmt)
{
    *val = NULL;
    *len = 0;
    *fmt = 1;
    switch (pr->type) {
    case CH_DB_PARAM_NULL: return 0;
    case CH_DB_PARAM_INT: {
        unsigned w = oid == BOOLOID ? 1 : int_width(oid);
        int64_t v = pr->u.i;
        char *d = ch_arena_alloc(a, w ? w : 21);
        if (!d) return CH_ENOMEM;
        if (w == 1) {
            d[0] = v != 0;
        } else if (w) {
            if (!fits(v, w)) return CH_ERANGE;
            put_int(d, v, w);
        } else { /* numeric, float, text...: the server parses the decimal form */
            d[ch_i64_to_dec(d, v)] = '\0';
            *fmt = 0;
        }
        *val = d;
        *len = (int)w;
        return 0;
    }
    case CH_DB_PARAM_TEXT: {
        if (pr->u.text.len > INT32_MAX) return CH_ERANGE;
        /* The binary form of the text types is the bytes themselves; other types get the
         * text form, which libpq sends up to its NUL. */
        char *d = ch_arena_strndup(a, pr->u.text.ptr ? pr->u.text.ptr : "", pr->u.text.len);
        if (!d) return CH_ENOMEM;
        *val = d;
        *len = (int)pr->u.text.len;
        *fmt = is_texty(oid) ? 1 : 0;
        return 0;
    }
    case CH_DB_PARAM_INT_ARRAY: return encode_array(a, pr, oid, val, len, fmt);
    }
    return CH_EINVAL;
}

static int pg_encode(struct ch_db_batch *b, struct ch__db_query *q, const struct ch__db_stmt *st,
                     const struct ch_db_param *params)
{
    int n = st->nparams;
    if (n == 0) return 0;
    size_t size = (size_t)n * (sizeof(char *) + 2 * sizeof(int));
    char *mem = ch_arena_alloc(b->arena, size);
    if (!mem) return CH_ENOMEM;
    const char **values = (const char **)(void *)mem;
    int *lengths = (int *)(void *)(mem + (size_t)n * sizeof(char *));
    int *formats = lengths + n;
    for (int i = 0; i < n; i++) {
        int rc =
            encode_one(b->arena, &params[i], st->ptypes[i], &values[i], &lengths[i], &formats[i]);
        if (rc != 0) return rc;
    }
    q->u.pg.values = values;
    q->u.pg.lengths = lengths;
    q->u.pg.formats = formats;
    return 0;
}

/* SQLSTATE classes to our codes: connection trouble and shutdowns (08, 53, 57) mean the
 * database is unavailable; uniqueness, foreign keys and exclusion (23505, 23503, 23001,
 * 23P01) conflict with data already there; the other integrity errors (not-null 23502, check
 * 23514) and data errors (22) are invalid input; serialization failures and deadlocks (40)
 * and lock timeouts (55P03) are worth a retry. */
static int map_sqlstate(const char *s)
{
    if (!s || strlen(s) != 5) return CH_EIO;
    if (!strncmp(s, "08", 2) || !strncmp(s, "53", 2) || !strncmp(s, "57", 2))
        return CH_EUNAVAILABLE;
    if (!strcmp(s, "23505") || !strcmp(s, "23503") || !strcmp(s, "23001") || !strcmp(s, "23P01"))
        return CH_ECONFLICT;
    if (!strncmp(s, "23", 2) || !strncmp(s, "22", 2)) return CH_EINVAL;
    if (!strncmp(s, "40", 2) || !strcmp(s, "55P03")) return CH_EBUSY;
    return CH_EIO;
}

void ch__pg_view(struct ch_db_result *v, struct ch_arena *arena, const PGresult *res)
{
    memset(v, 0, sizeof(*v));
    v->drv = &ch__db_pg_driver;
    v->arena = arena;
    v->p = res;
    v->sqlstate = "";
    switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK:
        v->nrows = PQntuples(res);
        v->ncols = PQnfields(res);
        /* fall through */
    case PGRES_COMMAND_OK: {
        const char *n = PQcmdTuples((PGresult *)res);
        int64_t affected = 0;
        while (*n >= '0' && *n <= '9') affected = affected * 10 + (*n++ - '0');
        v->affected = affected;
        return;
    }
    case PGRES_PIPELINE_ABORTED:
        v->err = CH_EIO;
        v->msg = CH_STR("aborted: an earlier statement of the batch failed");
        return;
    default: {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        if (!msg) msg = PQresultErrorMessage(res);
        v->err = map_sqlstate(state);
        v->sqlstate = state ? state : "";
        v->msg = ch_str_make(msg, strcspn(msg, "\n"));
        return;
    }
    }
}

static uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

static double be_float4(const unsigned char *v)
{
    uint32_t bits = (uint32_t)get_be(v, 4);
    float f;
    memcpy(&f, &bits, 4);
    return (double)f;
}

static double be_float8(const unsigned char *v)
{
    uint64_t bits = get_be(v, 8);
    double f;
    memcpy(&f, &bits, 8);
    return f;
}

/* A float4 as the double nearest to its shortest decimal form: 0.1f reads back as 0.1, not
 * 0.10000000149011612, so a REAL column (float4 on PostgreSQL, a double on SQLite) prints
 * alike on both drivers for values a float4 holds. */
static double float4_value(const unsigned char *v)
{
    double d = be_float4(v);
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        double back = strtod(buf, NULL);
        if ((float)back == (float)d) return back;
    }
    return d;
}

static int pg_is_null(const struct ch_db_result *r, int row, int col)
{
    return PQgetisnull(r->p, row, col);
}

/* Binary numeric: ndigits, weight (the power of 10000 of the first digit), sign, display
 * scale, then base-10000 digits. Written out as plain decimal with dscale fraction digits. */
static struct ch_str numeric_text(struct ch_arena *a, const unsigned char *p, int len)
{
    if (len < 8) return ch_str_make("", 0);
    int nd = (int16_t)get_be(p, 2), weight = (int16_t)get_be(p + 2, 2);
    int sign = (int)get_be(p + 4, 2), dscale = (int16_t)get_be(p + 6, 2);
    if (sign == 0xC000) return CH_STR("NaN");
    if (sign == 0xD000) return CH_STR("Infinity");
    if (sign == 0xF000) return CH_STR("-Infinity");
    if (nd < 0 || len < 8 + 2 * nd || dscale < 0) return ch_str_make("", 0);
    int intd = weight >= 0 ? weight + 1 : 0;
    char *s = ch_arena_alloc(a, (size_t)intd * 4 + (size_t)dscale + 4), *d = s;
    if (!s) return ch_str_make("", 0);
    if (sign == 0x4000) *d++ = '-';
    static const int pw[4] = {1000, 100, 10, 1};
    int started = 0;
    for (int i = 0; i < intd; i++) {
        int dig = i < nd ? (int)get_be(p + 8 + 2 * i, 2) : 0;
        for (int k = 0; k < 4; k++) {
            int x = dig / pw[k] % 10;
            if (x || started) {
                *d++ = (char)('0' + x);
                started = 1;
            }
        }
    }
    if (!started) *d++ = '0';
    if (dscale > 0) *d++ = '.';
    for (int f = 0; f < dscale; f++) {
        int i = weight + f / 4 + 1; /* the base-10000 digit holding this decimal place */
        int dig = i >= 0 && i < nd ? (int)get_be(p + 8 + 2 * i, 2) : 0;
        *d++ = (char)('0' + dig / pw[f % 4] % 10);
    }
    return ch_str_make(s, (size_t)(d - s));
}

static int64_t pg_get_int(const struct ch_db_result *r, int row, int col)
{
    if (PQgetisnull(r->p, row, col)) return 0;
    const unsigned char *v = (const unsigned char *)PQgetvalue(r->p, row, col);
    int len = PQgetlength(r->p, row, col);
    unsigned oid = PQftype(r->p, col);
    int64_t out = 0;
    switch (oid) {
    case INT2OID: return len == 2 ? (int16_t)get_be(v, 2) : 0;
    case INT4OID: return len == 4 ? (int32_t)get_be(v, 4) : 0;
    case OIDOID: return len == 4 ? (int64_t)get_be(v, 4) : 0;
    case INT8OID: return len == 8 ? (int64_t)get_be(v, 8) : 0;
    case BOOLOID: return len == 1 && v[0];
    case FLOAT4OID: return len == 4 ? (int64_t)be_float4(v) : 0;
    case FLOAT8OID: return len == 8 ? (int64_t)be_float8(v) : 0;
    case NUMERICOID: {
        struct ch_str s = numeric_text(r->arena, v, len);
        size_t dot = 0;
        while (dot < s.len && s.ptr[dot] != '.') dot++;
        return ch_str_to_i64(ch_str_make(s.ptr, dot), &out) == 0 ? out : 0;
    }
    default:
        if (is_texty(oid))
            return ch_str_to_i64(ch_str_make((const char *)v, (size_t)len), &out) == 0 ? out : 0;
        return 0;
    }
}

static enum ch_db_type oid_type(unsigned oid)
{
    switch (oid) {
    case INT2OID:
    case INT4OID:
    case INT8OID:
    case OIDOID: return CH_DB_TYPE_INT;
    case FLOAT4OID:
    case FLOAT8OID: return CH_DB_TYPE_FLOAT;
    case NUMERICOID: return CH_DB_TYPE_NUMERIC;
    case BOOLOID: return CH_DB_TYPE_BOOL;
    case TIMESTAMPOID:
    case TIMESTAMPTZOID: return CH_DB_TYPE_TIMESTAMP;
    case DATEOID: return CH_DB_TYPE_DATE;
    case BYTEAOID: return CH_DB_TYPE_BYTES;
    case JSONOID:
    case JSONBOID: return CH_DB_TYPE_JSON;
    case UUIDOID: return CH_DB_TYPE_TEXT;
    default: return is_texty(oid) ? CH_DB_TYPE_TEXT : CH_DB_TYPE_OTHER;
    }
}

static const char *pg_col_name(const struct ch_db_result *r, int col)
{
    const char *n = PQfname(r->p, col);
    return n ? n : "";
}

static enum ch_db_type pg_col_type(const struct ch_db_result *r, int col)
{
    return oid_type(PQftype(r->p, col));
}

static enum ch_db_type pg_cell_type(const struct ch_db_result *r, int row, int col)
{
    (void)row;
    return oid_type(PQftype(r->p, col));
}

static double pg_get_float(const struct ch_db_result *r, int row, int col)
{
    const unsigned char *v = (const unsigned char *)PQgetvalue(r->p, row, col);
    int len = PQgetlength(r->p, row, col);
    unsigned oid = PQftype(r->p, col);
    switch (oid) {
    case FLOAT4OID: return len == 4 ? float4_value(v) : 0;
    case FLOAT8OID: return len == 8 ? be_float8(v) : 0;
    case NUMERICOID: {
        struct ch_str s = numeric_text(r->arena, v, len);
        return s.len ? strtod(s.ptr, NULL) : 0;
    }
    default:
        if (is_texty(oid)) {
            char buf[64];
            snprintf(buf, sizeof(buf), "%.*s", len, (const char *)v);
            char *end;
            double d = strtod(buf, &end);
            return end != buf && !*end ? d : 0;
        }
        return (double)pg_get_int(r, row, col);
    }
}

static int pg_get_bool(const struct ch_db_result *r, int row, int col)
{
    unsigned oid = PQftype(r->p, col);
    if (oid == FLOAT4OID || oid == FLOAT8OID || oid == NUMERICOID)
        return pg_get_float(r, row, col) != 0;
    if (is_texty(oid)) {
        struct ch_str t =
            ch_str_make(PQgetvalue(r->p, row, col), (size_t)PQgetlength(r->p, row, col));
        static const char *const yes[] = {"t", "true", "y", "yes", "on", "1"};
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
            if (ch_str_case_eq(t, ch_str_cstr(yes[i]))) return 1;
        return 0;
    }
    return pg_get_int(r, row, col) != 0;
}

static struct ch_str fmt_dec(struct ch_arena *a, int64_t v)
{
    char *s = ch_arena_alloc(a, 21);
    return s ? ch_str_make(s, ch_i64_to_dec(s, v)) : ch_str_make("", 0);
}

static struct ch_str fmt_printf(struct ch_arena *a, const char *fmt, double v)
{
    char *s = ch_arena_alloc(a, 32);
    if (!s) return ch_str_make("", 0);
    int n = snprintf(s, 32, fmt, v);
    return ch_str_make(s, n > 0 && n < 32 ? (size_t)n : 0);
}

static struct ch_str pg_get_text(const struct ch_db_result *r, int row, int col)
{
    if (PQgetisnull(r->p, row, col)) return ch_str_make("", 0);
    const char *v = PQgetvalue(r->p, row, col);
    const unsigned char *u = (const unsigned char *)v;
    int len = PQgetlength(r->p, row, col);
    switch (PQftype(r->p, col)) {
    case INT2OID:
    case INT4OID:
    case INT8OID:
    case OIDOID: return fmt_dec(r->arena, pg_get_int(r, row, col));
    case BOOLOID: return len == 1 && v[0] ? CH_STR("true") : CH_STR("false");
    case FLOAT4OID:
        return len == 4 ? fmt_printf(r->arena, "%.17g", float4_value(u)) : ch_str_make("", 0);
    case FLOAT8OID:
        return len == 8 ? fmt_printf(r->arena, "%.17g", be_float8(u)) : ch_str_make("", 0);
    case NUMERICOID: return numeric_text(r->arena, u, len);
    case TIMESTAMPOID:
    case TIMESTAMPTZOID: {
        if (len != 8) return ch_str_make("", 0);
        int64_t us = (int64_t)get_be(u, 8);
        if (us == INT64_MAX) return CH_STR("infinity");
        if (us == INT64_MIN) return CH_STR("-infinity");
        int64_t ms = us / 1000 - (us % 1000 < 0);
        char *s = ch_arena_alloc(r->arena, 32);
        return s ? ch_str_make(s, ch__db_format_time(s, ms + PG_EPOCH_MS)) : ch_str_make("", 0);
    }
    case DATEOID: {
        if (len != 4) return ch_str_make("", 0);
        int64_t days = (int32_t)get_be(u, 4) + (int64_t)PG_EPOCH_DAYS;
        char *s = ch_arena_alloc(r->arena, 32);
        size_t n = s ? ch__db_format_time(s, days * 86400000) : 0;
        return ch_str_make(s, n >= 10 ? 10 : 0);
    }
    case UUIDOID: {
        if (len != 16) return ch_str_make("", 0);
        char *s = ch_arena_alloc(r->arena, 37), *d = s;
        if (!s) return ch_str_make("", 0);
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) *d++ = '-';
            d += snprintf(d, 3, "%02x", u[i]);
        }
        return ch_str_make(s, 36);
    }
    case JSONBOID: return len >= 1 ? ch_str_make(v + 1, (size_t)len - 1) : ch_str_make("", 0);
    default: return ch_str_make(v, (size_t)len);
    }
}

const struct ch__db_driver ch__db_pg_driver = {
    .name = "postgres",
    .pool_per_worker = 1,
    .open = pg_open,
    .stmt_check = pg_stmt_check,
    .exec = pg_exec,
    .query = pg_query,
    .seal = pg_seal,
    .close = pg_close,
    .worker_start = ch__pg_worker_start,
    .worker_stop = ch__pg_worker_stop,
    .encode = pg_encode,
    .submit = ch__pg_submit,
    .stats = ch__pg_stats,
    .is_null = pg_is_null,
    .get_int = pg_get_int,
    .get_text = pg_get_text,
    .get_float = pg_get_float,
    .get_bool = pg_get_bool,
    .col_name = pg_col_name,
    .col_type = pg_col_type,
    .cell_type = pg_cell_type,
};
