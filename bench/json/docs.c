/* The benchmark's documents: small API bodies written out literally, and a ~1 MB document
 * generated from a fixed seed with a realistic mix of nesting, escapes, non-ASCII text, large
 * integers and awkward doubles. Everything is compact, as API traffic is. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

static const char hello[] = "{\"message\":\"Hello, World!\"}";

static const char user[] =
    "{\"id\":1042,\"username\":\"jdoe\",\"email\":\"john.doe@example.com\",\"name\":\"John "
    "Doe\",\"active\":true,\"created_at\":\"2024-01-15T10:30:00Z\",\"roles\":[\"admin\","
    "\"editor\"],\"profile\":{\"bio\":\"Caf\xc3\xa9 owner & \\\"coffee\\\" enthusiast.\\nLoves "
    "\xe2\x98\x95 and M\xc3\xbcnchen.\",\"age\":34,\"score\":98.6,\"website\":null,\"location\":{"
    "\"lat\":48.137154,\"lng\":11.576124}},\"settings\":{\"theme\":\"dark\",\"notifications\":"
    "{\"email\":true,\"push\":false,\"digest\":\"weekly\"},\"language\":\"de-DE\"},"
    "\"last_login\":1718031234567,\"balance\":-12.5}";

struct rng {
    uint64_t s;
};

static uint64_t next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static const char *words[] = {"alpha",
                              "note",
                              "meeting",
                              "groceries",
                              "r\xc3\xa9sum\xc3\xa9",
                              "Stra\xc3\x9f"
                              "e",
                              "\xe6\x9d\xb1\xe4\xba\xac",
                              "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0",
                              "plan",
                              "draft",
                              "idea",
                              "\xf0\x9f\x9a\x80",
                              "todo",
                              "review",
                              "budget",
                              "travel",
                              "Z\xc3\xbcrich",
                              "\xce\xb1\xce\xb2\xce\xb3",
                              "release",
                              "the",
                              "and",
                              "with",
                              "for",
                              "launch",
                              "customer"};
#define NWORDS (sizeof(words) / sizeof(words[0]))

/* A sentence of n random words, sometimes with characters that need escaping. */
static void sentence(struct rng *r, struct ch_buf *b, int n, int escapes)
{
    b->len = 0;
    for (int i = 0; i < n; i++) {
        if (i) ch_buf_putc(b, ' ');
        ch_buf_append_cstr(b, words[next(r) % NWORDS]);
        if (escapes && next(r) % 6 == 0) {
            static const char *specials[] = {"\"quoted\"", "back\\slash",  "line\nbreak",
                                             "tab\there",  "C:\\path\\to", "\x01"};
            ch_buf_putc(b, ' ');
            ch_buf_append_cstr(b, specials[next(r) % 6]);
        }
    }
}

static void text(struct ch_json_writer *w, struct rng *r, struct ch_buf *tmp, int n, int esc)
{
    sentence(r, tmp, n, esc);
    ch_json_str(w, ch_str_make(tmp->ptr, tmp->len));
}

static void notes(struct ch_json_writer *w, struct rng *r, struct ch_buf *tmp, int count)
{
    ch_json_array_begin(w);
    for (int i = 0; i < count; i++) {
        ch_json_object_begin(w);
        ch_json_key(w, "id");
        ch_json_int(w, 1000 + i);
        ch_json_key(w, "title");
        text(w, r, tmp, 3 + (int)(next(r) % 4), 0);
        ch_json_key(w, "body");
        text(w, r, tmp, 15 + (int)(next(r) % 30), 1);
        ch_json_key(w, "tags");
        ch_json_array_begin(w);
        for (int t = 0, nt = (int)(next(r) % 4); t < nt; t++)
            ch_json_string(w, words[next(r) % NWORDS]);
        ch_json_array_end(w);
        ch_json_key(w, "pinned");
        ch_json_bool(w, next(r) % 5 == 0);
        ch_json_key(w, "created_at");
        ch_json_string(w, "2024-05-17T08:12:44.123Z");
        ch_json_key(w, "version");
        ch_json_int(w, (int64_t)(next(r) % 20));
        ch_json_object_end(w);
    }
    ch_json_array_end(w);
}

static void world(struct ch_json_writer *w, struct rng *r, int rows)
{
    ch_json_array_begin(w);
    for (int i = 0; i < rows; i++) {
        ch_json_object_begin(w);
        ch_json_key(w, "id");
        ch_json_int(w, (int64_t)(1 + next(r) % 10000));
        ch_json_key(w, "randomNumber");
        ch_json_int(w, (int64_t)(1 + next(r) % 10000));
        ch_json_object_end(w);
    }
    ch_json_array_end(w);
}

/* Doubles and integers written with the spellings people send, including '+' exponents. */
static const char *odd_doubles[] = {
    "0.1",     "1e-7",   "3.141592653589793",   "2.5e+300", "-0.5",  "6.02214076e23",
    "1.5e308", "5e-324", "0.30000000000000004", "-1.25E-5", "100.0", "2.2250738585072014e-308"};
static const char *big_ints[] = {"9007199254740993",    "-9223372036854775808",
                                 "9223372036854775807", "1234567890123456789",
                                 "-9007199254740993",   "0"};

static void record(struct ch_json_writer *w, struct rng *r, struct ch_buf *tmp, int64_t id)
{
    ch_json_object_begin(w);
    ch_json_key(w, "id");
    ch_json_int(w, id);
    ch_json_key(w, "uuid");
    char uuid[40];
    snprintf(uuid, sizeof(uuid), "%08llx-%04llx-4%03llx-a%03llx-%012llx",
             (unsigned long long)(next(r) & 0xffffffff), (unsigned long long)(next(r) & 0xffff),
             (unsigned long long)(next(r) & 0xfff), (unsigned long long)(next(r) & 0xfff),
             (unsigned long long)(next(r) & 0xffffffffffffull));
    ch_json_string(w, uuid);
    ch_json_key(w, "name");
    text(w, r, tmp, 2, 0);
    ch_json_key(w, "active");
    ch_json_bool(w, next(r) & 1);
    ch_json_key(w, "balance");
    ch_json_double(w, (double)((int64_t)(next(r) % 2000000) - 1000000) / 100.0);
    ch_json_key(w, "ratio");
    const char *d = odd_doubles[next(r) % (sizeof(odd_doubles) / sizeof(odd_doubles[0]))];
    ch_json_raw(w, d, strlen(d));
    ch_json_key(w, "big");
    const char *bi = big_ints[next(r) % (sizeof(big_ints) / sizeof(big_ints[0]))];
    ch_json_raw(w, bi, strlen(bi));
    ch_json_key(w, "random_double");
    uint64_t bits = next(r);
    bits = (bits & 0x800fffffffffffffull) | ((uint64_t)(1023 - 40 + next(r) % 80) << 52);
    double rd;
    memcpy(&rd, &bits, sizeof(rd));
    ch_json_double(w, rd);
    ch_json_key(w, "tags");
    ch_json_array_begin(w);
    for (int t = 0, nt = 1 + (int)(next(r) % 4); t < nt; t++)
        ch_json_string(w, words[next(r) % NWORDS]);
    ch_json_array_end(w);
    ch_json_key(w, "address");
    ch_json_object_begin(w);
    ch_json_key(w, "street");
    text(w, r, tmp, 2, 0);
    ch_json_key(w, "city");
    ch_json_string(w, words[next(r) % NWORDS]);
    ch_json_key(w, "zip");
    ch_json_int(w, (int64_t)(10000 + next(r) % 89999));
    ch_json_key(w, "geo");
    ch_json_object_begin(w);
    ch_json_key(w, "lat");
    ch_json_double(w, (double)((int64_t)(next(r) % 180000000) - 90000000) / 1e6);
    ch_json_key(w, "lng");
    ch_json_double(w, (double)((int64_t)(next(r) % 360000000) - 180000000) / 1e6);
    ch_json_object_end(w);
    ch_json_object_end(w);
    ch_json_key(w, "notes");
    text(w, r, tmp, 5 + (int)(next(r) % 25), 1);
    ch_json_key(w, "history");
    ch_json_array_begin(w);
    for (int h = 0, nh = (int)(next(r) % 5); h < nh; h++) {
        ch_json_object_begin(w);
        ch_json_key(w, "ts");
        ch_json_int(w, 1700000000000 + (int64_t)(next(r) % 100000000000));
        ch_json_key(w, "delta");
        ch_json_double(w, (double)(int64_t)(next(r) % 100000 - 50000) / 1000.0);
        ch_json_key(w, "ok");
        ch_json_bool(w, next(r) % 3 != 0);
        ch_json_object_end(w);
    }
    ch_json_array_end(w);
    ch_json_key(w, "parent");
    if (next(r) % 3)
        ch_json_null(w);
    else
        ch_json_int(w, (int64_t)(next(r) % 100000));
    ch_json_object_end(w);
}

static struct doc make(const char *name, struct ch_buf *b)
{
    return (struct doc){name, b->ptr, b->len};
}

size_t bench_docs(struct doc *out, size_t cap)
{
    size_t n = 0;
    struct rng r = {42};
    struct ch_buf tmp;
    ch_buf_init(&tmp);
    out[n++] = (struct doc){"hello", hello, sizeof(hello) - 1};
    out[n++] = (struct doc){"user", user, sizeof(user) - 1};

    static struct ch_buf bufs[3];
    struct ch_json_writer w;
    ch_buf_init(&bufs[0]);
    ch_json_writer_init(&w, &bufs[0]);
    world(&w, &r, 20);
    if (ch_json_writer_finish(&w) != 0) abort();
    out[n++] = make("world20", &bufs[0]);

    ch_buf_init(&bufs[1]);
    ch_json_writer_init(&w, &bufs[1]);
    notes(&w, &r, &tmp, 20);
    if (ch_json_writer_finish(&w) != 0) abort();
    out[n++] = make("notes20", &bufs[1]);

    ch_buf_init(&bufs[2]);
    ch_json_writer_init(&w, &bufs[2]);
    ch_json_object_begin(&w);
    ch_json_key(&w, "generated");
    ch_json_string(&w, "2024-06-01T00:00:00Z");
    ch_json_key(&w, "items");
    ch_json_array_begin(&w);
    for (int64_t id = 1; bufs[2].len < 1000000; id++) record(&w, &r, &tmp, id);
    ch_json_array_end(&w);
    ch_json_key(&w, "next");
    ch_json_null(&w);
    ch_json_object_end(&w);
    if (ch_json_writer_finish(&w) != 0) abort();
    out[n++] = make("mixed1mb", &bufs[2]);

    ch_buf_cleanup(&tmp);
    (void)cap;
    return n;
}
