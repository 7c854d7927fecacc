/* bench-json: parse and write throughput of Chopin, cJSON and jansson on the same documents in
 * the same run, the exactness of each library's round trip, and the cost of writing the
 * TechEmpower /json object.
 *
 * Method. Every figure is the median of REPS samples; each sample runs an operation enough
 * times to last about SAMPLE_NS, and the libraries take turns within each repetition, in a
 * rotating order, so that drifts in clock speed and load from other processes hit them alike.
 * Parsing is timed alone: trees are built in batches and freed (cJSON_Delete, json_decref, arena
 * reset) outside the timed region. Writing serializes each library's own tree compactly into a
 * preallocated buffer (cJSON_PrintPreallocated, json_dumpb with JSON_COMPACT, a reused struct
 * ch_buf). MB/s counts the input document's bytes (1 MB = 10^6 bytes) for both operations. Time is
 * the thread's CPU time, so that a busy machine's preemptions are not charged to whichever library
 * was running. */
#include <cjson/cJSON.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

enum { REPS = 11, NLIBS = 3, MAXDOCS = 8, MAX_BATCH = 1000 };
static const double SAMPLE_NS = 15e6;

/* The thread's CPU time: on a shared machine, time spent descheduled is not charged to
 * whichever library happened to be running. */
static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- the three libraries behind one interface ---- */

static struct ch_arena arena;

static void *chopin_parse(const char *s, size_t len)
{
    const struct ch_json_value *root;
    if (ch_json_parse(s, len, &arena, &root, NULL) != 0) return NULL;
    return (void *)root;
}
static void chopin_free(void *t)
{
    (void)t;
}
static void chopin_batch_end(void)
{
    ch_arena_reset(&arena);
}
static size_t chopin_write(void *t, char *out, size_t cap)
{
    static struct ch_buf b;
    b.len = 0;
    struct ch_json_writer w;
    ch_json_writer_init(&w, &b);
    ch_json_write_value(&w, t);
    if (ch_json_writer_finish(&w) != 0 || (out && b.len > cap)) abort();
    /* The buffer is reused; the copy out is only for the round-trip check (not timed). */
    if (out) memcpy(out, b.ptr, b.len);
    return b.len;
}

static void *cjson_parse(const char *s, size_t len)
{
    return cJSON_ParseWithLength(s, len);
}
static void cjson_free(void *t)
{
    cJSON_Delete(t);
}
static void no_batch_end(void) {}
static char *scratch;
static size_t scratch_cap;
static size_t cjson_write(void *t, char *out, size_t cap)
{
    char *dst = out ? out : scratch;
    if (!cJSON_PrintPreallocated(t, dst, (int)(out ? cap : scratch_cap), 0)) abort();
    return strlen(dst);
}

static void *jansson_parse(const char *s, size_t len)
{
    json_error_t e;
    return json_loadb(s, len, 0, &e);
}
static void jansson_free(void *t)
{
    json_decref(t);
}
static size_t jansson_write(void *t, char *out, size_t cap)
{
    size_t n = json_dumpb(t, out ? out : scratch, out ? cap : scratch_cap, JSON_COMPACT);
    if (n == 0 || n > (out ? cap : scratch_cap)) abort();
    return n;
}

struct lib {
    const char *name;
    void *(*parse)(const char *s, size_t len);
    void (*free_tree)(void *t);
    void (*batch_end)(void);
    size_t (*write)(void *t, char *out, size_t cap);
};

static const struct lib libs[NLIBS] = {
    {"chopin", chopin_parse, chopin_free, chopin_batch_end, chopin_write},
    {"cJSON", cjson_parse, cjson_free, no_batch_end, cjson_write},
    {"jansson", jansson_parse, jansson_free, no_batch_end, jansson_write},
};

/* ---- timing ---- */

static void *trees[MAX_BATCH];

/* Nanoseconds per parse over `iters` parses. */
static double time_parse(const struct lib *l, const struct doc *d, long iters)
{
    long batch = (long)(8000000 / (d->len + 1)) + 1;
    if (batch > MAX_BATCH) batch = MAX_BATCH;
    double total = 0;
    for (long done = 0; done < iters;) {
        long k = iters - done < batch ? iters - done : batch;
        double t0 = now_ns();
        for (long i = 0; i < k; i++) trees[i] = l->parse(d->text, d->len);
        total += now_ns() - t0;
        for (long i = 0; i < k; i++) {
            if (!trees[i]) abort();
            l->free_tree(trees[i]);
        }
        l->batch_end();
        done += k;
    }
    return total / (double)iters;
}

static volatile size_t sink;

static double time_write(const struct lib *l, void *tree, long iters)
{
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) sink += l->write(tree, NULL, 0);
    return (now_ns() - t0) / (double)iters;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

/* Iterations that make one sample last about SAMPLE_NS, from a short trial. */
static long calibrate(double ns_per_op)
{
    long n = (long)(SAMPLE_NS / (ns_per_op > 1 ? ns_per_op : 1));
    return n < 3 ? 3 : n;
}

/* ---- round-trip exactness ---- */

struct diff {
    long ints, doubles, other;
    char int_example[128], double_example[128], other_example[128];
};

static void note(char *dst, const struct ch_json_value *a, const struct ch_json_value *b)
{
    if (dst[0]) return;
    struct ch_buf x, y;
    ch_buf_init(&x);
    ch_buf_init(&y);
    struct ch_json_writer w;
    ch_json_writer_init(&w, &x);
    ch_json_write_value(&w, a);
    ch_json_writer_init(&w, &y);
    ch_json_write_value(&w, b);
    snprintf(dst, 128, "%.*s -> %.*s", (int)(x.len < 40 ? x.len : 40), x.ptr,
             (int)(y.len < 40 ? y.len : 40), y.ptr);
    ch_buf_cleanup(&x);
    ch_buf_cleanup(&y);
}

/* Compares the original tree `a` with the round-tripped `b`, counting differences by kind. */
static void compare(const struct ch_json_value *a, const struct ch_json_value *b, struct diff *d)
{
    enum ch_json_type ta = ch_json_value_type(a), tb = ch_json_value_type(b);
    if (ta == CH_JSON_INT) {
        if (tb != CH_JSON_INT || ch_json_value_int(b) != ch_json_value_int(a))
            d->ints++, note(d->int_example, a, b);
        return;
    }
    if (ta == CH_JSON_DOUBLE) {
        double x = ch_json_value_double(a), y = ch_json_value_double(b);
        int same = (tb == CH_JSON_DOUBLE || tb == CH_JSON_INT) && memcmp(&x, &y, sizeof(x)) == 0;
        if (!same) d->doubles++, note(d->double_example, a, b);
        return;
    }
    if (ta != tb) {
        d->other++, note(d->other_example, a, b);
        return;
    }
    if (ta == CH_JSON_ARRAY || ta == CH_JSON_OBJECT) {
        if (ch_json_value_count(a) != ch_json_value_count(b)) {
            d->other++, note(d->other_example, a, b);
            return;
        }
        struct ch_json_iter ia, ib;
        struct ch_str ka, kb;
        ch_json_iter_init(&ia, a);
        ch_json_iter_init(&ib, b);
        const struct ch_json_value *x, *y;
        while ((x = ch_json_iter_next(&ia, &ka)) && (y = ch_json_iter_next(&ib, &kb))) {
            if (!ch_str_eq(ka, kb))
                d->other++, note(d->other_example, a, b);
            else
                compare(x, y, d);
        }
        return;
    }
    if (!ch_json_value_equal(a, b)) d->other++, note(d->other_example, a, b);
}

/* Kinds of round-trip failure, as bits. */
enum { RT_INT64 = 1, RT_DOUBLE = 2, RT_OTHER = 4 };

static int check_round_trip(const struct lib *l, const struct doc *d,
                            const struct ch_json_value *orig, struct ch_arena *a)
{
    void *t = l->parse(d->text, d->len);
    if (!t) {
        printf("  %-8s %-10s FAILED TO PARSE\n", l->name, d->name);
        return RT_OTHER;
    }
    size_t cap = d->len * 4 + 4096;
    char *out = malloc(cap);
    size_t n = l->write(t, out, cap);
    l->free_tree(t);
    if (l->batch_end) l->batch_end();
    const struct ch_json_value *back;
    struct ch_json_error e;
    if (ch_json_parse(out, n, a, &back, &e) != 0) {
        /* A double printed too short can overflow to infinity on the way back. */
        size_t at = e.offset > 20 ? e.offset - 20 : 0;
        printf("  %-8s %-10s output does not read back: %s at byte %zu: ...%.*s...\n", l->name,
               d->name, e.reason, e.offset, (int)(n - at < 40 ? n - at : 40), out + at);
        free(out);
        return strcmp(e.reason, "number out of range") == 0 ? RT_DOUBLE : RT_OTHER;
    }
    struct diff df = {0};
    compare(orig, back, &df);
    free(out);
    if (!df.ints && !df.doubles && !df.other) return 0;
    printf("  %-8s %-10s", l->name, d->name);
    if (df.ints) printf(" int64 changed: %ld (e.g. %s);", df.ints, df.int_example);
    if (df.doubles) printf(" doubles changed: %ld (e.g. %s);", df.doubles, df.double_example);
    if (df.other) printf(" other: %ld (e.g. %s)", df.other, df.other_example);
    printf("\n");
    return (df.ints ? RT_INT64 : 0) | (df.doubles ? RT_DOUBLE : 0) | (df.other ? RT_OTHER : 0);
}

/* ---- the TechEmpower /json object into a reused buffer ---- */

static double te_chopin(long iters)
{
    struct ch_buf b;
    ch_buf_init(&b);
    ch_buf_reserve(&b, 256);
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        b.len = 0;
        struct ch_json_writer w;
        ch_json_writer_init(&w, &b);
        ch_json_object_begin(&w);
        ch_json_key(&w, "message");
        ch_json_string(&w, "Hello, World!");
        ch_json_object_end(&w);
        if (ch_json_writer_finish(&w) != 0) abort();
        sink += b.len;
    }
    double ns = (now_ns() - t0) / (double)iters;
    if (b.len != 27 || memcmp(b.ptr, "{\"message\":\"Hello, World!\"}", 27) != 0) abort();
    ch_buf_cleanup(&b);
    return ns;
}

static double te_cjson(long iters)
{
    char out[256];
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "message", "Hello, World!");
        if (!cJSON_PrintPreallocated(o, out, sizeof(out), 0)) abort();
        cJSON_Delete(o);
        sink += out[0];
    }
    return (now_ns() - t0) / (double)iters;
}

static double te_jansson(long iters)
{
    char out[256];
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "message", json_string("Hello, World!"));
        sink += json_dumpb(o, out, sizeof(out), JSON_COMPACT);
        json_decref(o);
    }
    return (now_ns() - t0) / (double)iters;
}

/* ---- main ---- */

int main(void)
{
    struct doc docs[MAXDOCS];
    size_t ndocs = bench_docs(docs, MAXDOCS);
    /* A server gives each worker's request arena storage it reuses; so does the benchmark
     * (64 MB, touched once), so that Chopin's timings do not include page faults of fresh heap
     * blocks, just as cJSON's and jansson's mallocs are served from a warm heap. */
    size_t storage_size = 64u << 20;
    char *storage = malloc(storage_size);
    memset(storage, 0, storage_size);
    ch_arena_init(&arena, storage, storage_size);
    struct ch_arena check_arena, write_arena;
    ch_arena_init(&check_arena, NULL, 0);
    ch_arena_init(&write_arena, NULL, 0);
    for (size_t i = 0; i < ndocs; i++)
        if (docs[i].len * 4 + 4096 > scratch_cap) scratch_cap = docs[i].len * 4 + 4096;
    scratch = malloc(scratch_cap);

    printf("bench-json: %d repetitions per figure, median; MB/s of input document bytes\n\n", REPS);
    printf("round trip (each library parses, writes; Chopin re-parses and compares exactly):\n");
    int failures[NLIBS] = {0};
    for (size_t i = 0; i < ndocs; i++) {
        const struct ch_json_value *orig;
        if (ch_json_parse(docs[i].text, docs[i].len, &check_arena, &orig, NULL) != 0) abort();
        for (int l = 0; l < NLIBS; l++)
            failures[l] |= check_round_trip(&libs[l], &docs[i], orig, &check_arena);
        ch_arena_reset(&check_arena);
    }
    /* Probes: the edge values one at a time, so that one failure does not hide the others. */
    static const struct doc probes[] = {
        {"int 2^53+1", "[9007199254740993]", 18},
        {"int64 min", "[-9223372036854775808]", 22},
        {"int64 max", "[9223372036854775807]", 21},
        {"DBL_MAX", "[1.7976931348623157e308]", 24},
        {"5e-324", "[5e-324]", 8},
        {"0.1", "[0.1]", 5},
        {"pi", "[3.141592653589793]", 19},
        {"2.5e300", "[2.5e+300]", 10},
        {"1e-7", "[1e-7]", 6},
    };
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        const struct ch_json_value *orig;
        if (ch_json_parse(probes[i].text, probes[i].len, &check_arena, &orig, NULL) != 0) abort();
        for (int l = 0; l < NLIBS; l++)
            failures[l] |= check_round_trip(&libs[l], &probes[i], orig, &check_arena);
        ch_arena_reset(&check_arena);
    }
    printf("  exact round trip:");
    for (int l = 0; l < NLIBS; l++)
        printf("  %s: %s%s%s%s;", libs[l].name, failures[l] ? "NO, loses" : "yes",
               failures[l] & RT_INT64 ? " int64" : "", failures[l] & RT_DOUBLE ? " doubles" : "",
               failures[l] & RT_OTHER ? " other values" : "");
    printf("\n");

    printf("\n%-9s %8s %-6s %12s %12s %12s %8s\n", "document", "bytes", "op", "chopin MB/s",
           "cJSON MB/s", "jansson MB/s", "ratio");
    double worst_ratio = 1e9;
    for (size_t i = 0; i < ndocs; i++) {
        const struct doc *d = &docs[i];
        double parse[NLIBS][REPS], write[NLIBS][REPS];
        long parse_iters[NLIBS], write_iters[NLIBS];
        void *tree[NLIBS];
        for (int l = 0; l < NLIBS; l++) {
            parse_iters[l] = calibrate(time_parse(&libs[l], d, 3));
            if (l == 0) {
                /* Not in `arena`, which time_parse resets. */
                const struct ch_json_value *root;
                if (ch_json_parse(d->text, d->len, &write_arena, &root, NULL) != 0) abort();
                tree[l] = (void *)root;
            } else {
                tree[l] = libs[l].parse(d->text, d->len);
            }
            write_iters[l] = calibrate(time_write(&libs[l], tree[l], 3));
        }
        for (int r = 0; r < REPS; r++) {
            for (int k = 0; k < NLIBS; k++) {
                int l = (k + r) % NLIBS;
                parse[l][r] = (double)d->len * 1e3 / time_parse(&libs[l], d, parse_iters[l]);
            }
            for (int k = 0; k < NLIBS; k++) {
                int l = (k + r) % NLIBS;
                write[l][r] = (double)d->len * 1e3 / time_write(&libs[l], tree[l], write_iters[l]);
            }
        }
        for (int op = 0; op < 2; op++) {
            double mb[NLIBS];
            for (int l = 0; l < NLIBS; l++) mb[l] = median(op ? write[l] : parse[l], REPS);
            double best = mb[1] > mb[2] ? mb[1] : mb[2];
            double ratio = mb[0] / best;
            if (ratio < worst_ratio) worst_ratio = ratio;
            char bytes[24] = "";
            if (!op) snprintf(bytes, sizeof(bytes), "%zu", d->len);
            printf("%-9s %8s %-6s %12.1f %12.1f %12.1f %7.2fx\n", op ? "" : d->name, bytes,
                   op ? "write" : "parse", mb[0], mb[1], mb[2], ratio);
        }
        ch_arena_reset(&write_arena);
        libs[1].free_tree(tree[1]);
        libs[2].free_tree(tree[2]);
    }

    double te[NLIBS][REPS];
    double (*te_fn[NLIBS])(long) = {te_chopin, te_cjson, te_jansson};
    for (int r = 0; r < REPS; r++)
        for (int k = 0; k < NLIBS; k++) {
            int l = (k + r) % NLIBS;
            te[l][r] = te_fn[l](l == 0 ? 1000000 : 100000);
        }
    printf("\nTechEmpower /json object built and serialized into a reused buffer (ns/op):\n");
    printf("  chopin %.1f   cJSON %.1f   jansson %.1f\n", median(te[0], REPS), median(te[1], REPS),
           median(te[2], REPS));
    printf("\nlowest Chopin / max(cJSON, jansson) ratio: %.2fx (target 5x); TechEmpower target 20 "
           "ns\n",
           worst_ratio);
    return 0;
}
