/* Response compression: gzip (zlib) or Brotli, chosen by Accept-Encoding, in after(). */
#include <brotli/encode.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "chopin/middleware.h"
#include "chopin/respond.h"
#include "framework/app.h"

enum { DEFAULT_MIN_SIZE = 1024, DEFAULT_GZIP_LEVEL = 5, DEFAULT_BROTLI_QUALITY = 4 };

struct compress {
    size_t min_size;
    int gzip_level;     /* 0: gzip off */
    int brotli_quality; /* -1: Brotli off */
};

/* ---- Accept-Encoding ---------------------------------------------------------------------- */

/* q-values in thousandths; -1: the coding is not named. */
struct accept {
    int br, gzip, identity, star;
};

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static struct ch_str trim(const char *s, const char *e)
{
    while (s < e && is_space(*s)) s++;
    while (e > s && is_space(e[-1])) e--;
    return ch_str_make(s, (size_t)(e - s));
}

static int str_ieq(struct ch_str a, const char *b)
{
    size_t n = strlen(b);
    return a.len == n && strncasecmp(a.ptr, b, n) == 0;
}

/* A qvalue (RFC 9110 12.4.2): "0" ["." 0-3 digits] or "1" ["." 0-3 zeros]. -1 when malformed. */
static int parse_q(struct ch_str v)
{
    if (v.len == 0 || (v.ptr[0] != '0' && v.ptr[0] != '1')) return -1;
    int q = (v.ptr[0] - '0') * 1000;
    if (v.len == 1) return q;
    if (v.ptr[1] != '.' || v.len > 5) return -1;
    int scale = 100;
    for (size_t i = 2; i < v.len; i++, scale /= 10) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9') return -1;
        q += (v.ptr[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* One list member "coding *( ; param )". A malformed q makes the member count as absent. */
static void accept_member(struct accept *a, struct ch_str m)
{
    const char *semi = memchr(m.ptr, ';', m.len);
    const char *end = m.ptr + m.len;
    struct ch_str coding = trim(m.ptr, semi ? semi : end);
    int q = 1000;
    while (semi) {
        const char *next = memchr(semi + 1, ';', (size_t)(end - semi - 1));
        struct ch_str p = trim(semi + 1, next ? next : end);
        if (p.len >= 2 && (p.ptr[0] == 'q' || p.ptr[0] == 'Q') && p.ptr[1] == '=') {
            q = parse_q(trim(p.ptr + 2, p.ptr + p.len));
            if (q < 0) return;
        }
        semi = next;
    }
    int *slot = NULL;
    if (str_ieq(coding, "br")) slot = &a->br;
    else if (str_ieq(coding, "gzip") || str_ieq(coding, "x-gzip")) slot = &a->gzip;
    else if (str_ieq(coding, "identity")) slot = &a->identity;
    else if (str_ieq(coding, "*")) slot = &a->star;
    if (slot && q > *slot) *slot = q; /* named twice: the more favourable one */
}

/* Every Accept-Encoding field of the request, as one list. Returns 0 when there is none. */
static int parse_accept(const struct ch_request *req, struct accept *a)
{
    a->br = a->gzip = a->identity = a->star = -1;
    int seen = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct ch_header *h = &req->headers[i];
        if (!str_ieq(h->name, "Accept-Encoding")) continue;
        seen = 1;
        const char *p = h->value.ptr, *end = p + h->value.len;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *e = comma ? comma : end;
            struct ch_str m = trim(p, e);
            if (m.len) accept_member(a, m);
            p = e + 1;
        }
    }
    return seen;
}

enum coding { IDENTITY, GZIP, BROTLI };

/* The coding to send: the acceptable one (q > 0) with the highest q, Brotli on a tie. A coding
 * not named takes the q of "*", if any. Identity otherwise (also when identity itself is
 * refused: sending it beats a 406 for an API). */
static enum coding choose(const struct compress *c, const struct accept *a)
{
    int br = c->brotli_quality >= 0 ? (a->br >= 0 ? a->br : a->star) : -1;
    int gz = c->gzip_level > 0 ? (a->gzip >= 0 ? a->gzip : a->star) : -1;
    if (br <= 0 && gz <= 0) return IDENTITY;
    return br >= gz ? BROTLI : GZIP;
}

/* ---- What may be compressed --------------------------------------------------------------- */

/* Types whose bodies are already compressed, or opaque. */
static int already_compressed(struct ch_str type)
{
    static const char *const prefixes[] = {"image/", "video/", "audio/", "font/woff"};
    static const char *const exact[] = {
        "application/zip",      "application/gzip",       "application/x-gzip",
        "application/x-bzip2",  "application/x-xz",       "application/zstd",
        "application/x-7z-compressed", "application/x-rar-compressed", "application/pdf",
        "application/octet-stream", "application/x-brotli", "application/vnd.rar",
    };
    const char *semi = memchr(type.ptr, ';', type.len);
    struct ch_str t = trim(type.ptr, semi ? semi : type.ptr + type.len);
    if (str_ieq(t, "image/svg+xml")) return 0; /* text */
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t n = strlen(prefixes[i]);
        if (t.len >= n && strncasecmp(t.ptr, prefixes[i], n) == 0) return 1;
    }
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (str_ieq(t, exact[i])) return 1;
    return 0;
}

/* Whether `list` (a comma-separated header value) has the member `token`. */
static int list_has(struct ch_str list, const char *token)
{
    const char *p = list.ptr, *end = p + list.len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        if (str_ieq(trim(p, e), token)) return 1;
        p = e + 1;
    }
    return 0;
}

/* Adds "Accept-Encoding" to Vary (a new field, or appended to the app's own). */
static void add_vary(struct ch_request *req)
{
    struct ch_header *v = ch_res_find_header(req, "Vary");
    if (!v) {
        ch_res_header(req, CH_STR("Vary"), CH_STR("Accept-Encoding"));
        return;
    }
    if (list_has(v->value, "Accept-Encoding") || list_has(v->value, "*")) return;
    static const char more[] = ", Accept-Encoding";
    char *s = ch_arena_alloc(&req->arena, v->value.len + sizeof(more));
    if (!s) return;
    memcpy(s, v->value.ptr, v->value.len);
    memcpy(s + v->value.len, more, sizeof(more));
    v->value = ch_str_make(s, v->value.len + sizeof(more) - 1);
}

/* A strong ETag names the identity bytes; the encoded ones get the weak form (RFC 9110 8.8.3). */
static void weaken_etag(struct ch_request *req)
{
    struct ch_header *e = ch_res_find_header(req, "ETag");
    if (!e || e->value.len == 0 || e->value.ptr[0] != '"') return;
    char *s = ch_arena_alloc(&req->arena, e->value.len + 2);
    if (!s) return;
    s[0] = 'W';
    s[1] = '/';
    memcpy(s + 2, e->value.ptr, e->value.len);
    e->value = ch_str_make(s, e->value.len + 2);
}

/* ---- Encoders ----------------------------------------------------------------------------- */

/* One deflate state per worker thread, reset between responses (deflateInit allocates about
 * 256 KiB: too much to redo per response). Freed when the thread exits. */
static pthread_key_t gzip_key;
static pthread_once_t gzip_once = PTHREAD_ONCE_INIT;

struct gzip_state {
    z_stream z;
    int level;
};

static void gzip_free(void *p)
{
    struct gzip_state *g = p;
    deflateEnd(&g->z);
    free(g);
}

static void gzip_key_init(void)
{
    if (pthread_key_create(&gzip_key, gzip_free) != 0) abort();
}

static z_stream *gzip_stream(int level)
{
    pthread_once(&gzip_once, gzip_key_init);
    struct gzip_state *g = pthread_getspecific(gzip_key);
    if (g && g->level == level) {
        if (deflateReset(&g->z) == Z_OK) return &g->z;
        gzip_free(g);
        g = NULL;
        pthread_setspecific(gzip_key, NULL);
    }
    if (g) { /* another middleware instance with another level: make this one's */
        gzip_free(g);
        pthread_setspecific(gzip_key, NULL);
    }
    g = calloc(1, sizeof(*g));
    if (!g) return NULL;
    /* windowBits 15 + 16: a gzip wrapper (RFC 1952) rather than zlib's. */
    if (deflateInit2(&g->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(g);
        return NULL;
    }
    g->level = level;
    if (pthread_setspecific(gzip_key, g) != 0) {
        gzip_free(g);
        return NULL;
    }
    return &g->z;
}

/* Compresses into out[0..cap); the size, or 0 when it does not fit (not worth it) or failed. */
static size_t gzip_encode(int level, const char *in, size_t len, char *out, size_t cap)
{
    z_stream *z = gzip_stream(level);
    if (!z || len > UINT32_MAX || cap > UINT32_MAX) return 0;
    z->next_in = (Bytef *)in;
    z->avail_in = (uInt)len;
    z->next_out = (Bytef *)out;
    z->avail_out = (uInt)cap;
    int rc = deflate(z, Z_FINISH);
    return rc == Z_STREAM_END ? cap - z->avail_out : 0;
}

/* Brotli allocates its window and hash tables per encoder (hundreds of KiB to MiBs), and the
 * output buffer is as large as the body. Fresh blocks that size come from mmap and cost a page
 * fault per page on every response, more than the compression itself, so each worker thread
 * keeps the blocks it freed last and hands them out again (an exact or close size). Freed
 * when the thread exits. */
enum { CACHE_BLOCKS = 16, CACHE_MAX_BYTES = 8 << 20, BLOCK_HEADER = 16 };

struct block_cache {
    void *block[CACHE_BLOCKS]; /* each starts with its size, BLOCK_HEADER bytes before use */
    size_t size[CACHE_BLOCKS];
    int n;
    size_t bytes;
};

static pthread_key_t brotli_key;
static pthread_once_t brotli_once = PTHREAD_ONCE_INIT;

static void cache_free(void *p)
{
    struct block_cache *c = p;
    for (int i = 0; i < c->n; i++) free(c->block[i]);
    free(c);
}

static void brotli_key_init(void)
{
    if (pthread_key_create(&brotli_key, cache_free) != 0) abort();
}

static struct block_cache *block_cache(void)
{
    pthread_once(&brotli_once, brotli_key_init);
    struct block_cache *c = pthread_getspecific(brotli_key);
    if (c) return c;
    c = calloc(1, sizeof(*c));
    if (c && pthread_setspecific(brotli_key, c) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

static void cache_take(struct block_cache *c, int i)
{
    c->bytes -= c->size[i];
    c->n--;
    c->block[i] = c->block[c->n];
    c->size[i] = c->size[c->n];
}

static void *block_alloc(void *opaque, size_t size)
{
    struct block_cache *c = opaque;
    int best = -1;
    for (int i = 0; i < c->n; i++) /* the smallest block that fits, at most twice the size */
        if (c->size[i] >= size && c->size[i] <= 2 * size &&
            (best < 0 || c->size[i] < c->size[best]))
            best = i;
    char *b;
    if (best >= 0) {
        b = c->block[best];
        cache_take(c, best);
    } else {
        if (size > SIZE_MAX - BLOCK_HEADER || !(b = malloc(size + BLOCK_HEADER))) return NULL;
        memcpy(b, &size, sizeof(size));
    }
    return b + BLOCK_HEADER;
}

static void block_free(void *opaque, void *p)
{
    struct block_cache *c = opaque;
    if (!p) return;
    char *b = (char *)p - BLOCK_HEADER;
    size_t size;
    memcpy(&size, b, sizeof(size));
    if (size > CACHE_MAX_BYTES) {
        free(b);
        return;
    }
    /* Full (by count or bytes): make room by dropping the smallest blocks. */
    while (c->n > 0 && (c->n == CACHE_BLOCKS || c->bytes + size > CACHE_MAX_BYTES)) {
        int small = 0;
        for (int i = 1; i < c->n; i++)
            if (c->size[i] < c->size[small]) small = i;
        free(c->block[small]);
        cache_take(c, small);
    }
    c->block[c->n] = b;
    c->size[c->n] = size;
    c->n++;
    c->bytes += size;
}

static size_t brotli_encode(struct block_cache *c, int quality, const char *in, size_t len,
                            char *out, size_t cap)
{
    BrotliEncoderState *st = BrotliEncoderCreateInstance(block_alloc, block_free, c);
    if (!st) return 0;
    /* The smallest window that holds the whole body: less memory for small responses. */
    int lgwin = BROTLI_MIN_WINDOW_BITS;
    while (lgwin < BROTLI_DEFAULT_WINDOW && ((size_t)1 << lgwin) - 16 < len) lgwin++;
    BrotliEncoderSetParameter(st, BROTLI_PARAM_QUALITY, (uint32_t)quality);
    BrotliEncoderSetParameter(st, BROTLI_PARAM_LGWIN, (uint32_t)lgwin);
    BrotliEncoderSetParameter(st, BROTLI_PARAM_SIZE_HINT, len > UINT32_MAX ? UINT32_MAX
                                                                            : (uint32_t)len);
    const uint8_t *next_in = (const uint8_t *)in;
    uint8_t *next_out = (uint8_t *)out;
    size_t avail_in = len, avail_out = cap;
    /* One call: it stops when the output (one byte short of the body) is full. */
    int ok = BrotliEncoderCompressStream(st, BROTLI_OPERATION_FINISH, &avail_in, &next_in,
                                         &avail_out, &next_out, NULL) &&
             BrotliEncoderIsFinished(st);
    BrotliEncoderDestroyInstance(st);
    return ok ? cap - avail_out : 0;
}

/* ---- The middleware ----------------------------------------------------------------------- */

static void after(struct ch_request *req, void *arg)
{
    const struct compress *c = arg;
    struct ch_response *res = &req->res;
    if (req->method == CH_HEAD) return;
    if (res->status < 200 || res->status == 204 || res->status == 206 || res->status == 304)
        return;
    if (res->content_type.len == 0 || already_compressed(res->content_type)) return;
    if (ch_res_find_header(req, "Content-Encoding")) return;
    struct ch_header *cc = ch_res_find_header(req, "Cache-Control");
    if (cc && list_has(cc->value, "no-transform")) return;

    /* From here the representation depends on Accept-Encoding, whatever this request got. */
    add_vary(req);
    struct accept a;
    if (res->body.len < c->min_size || !parse_accept(req, &a)) return;
    enum coding coding = choose(c, &a);
    if (coding == IDENTITY) return;

    /* Output only when smaller: a buffer one byte short of the body. */
    struct block_cache *bc = block_cache();
    size_t cap = res->body.len - 1;
    char *out = bc ? block_alloc(bc, cap) : NULL;
    if (!out) return;
    size_t n = coding == GZIP ? gzip_encode(c->gzip_level, res->body.ptr, res->body.len, out, cap)
                              : brotli_encode(bc, c->brotli_quality, res->body.ptr, res->body.len,
                                              out, cap);
    if (n > 0 && ch_res_header(req, CH_STR("Content-Encoding"),
                               coding == GZIP ? CH_STR("gzip") : CH_STR("br")) == 0) {
        memcpy(res->body.ptr, out, n);
        res->body.len = n;
    } else {
        n = 0;
    }
    block_free(bc, out);
    if (n == 0) return;
    weaken_etag(req);
}

struct ch_middleware ch_mw_compress(const struct ch_compress_options *opts)
{
    struct compress *c = malloc(sizeof(*c));
    if (c) {
        c->min_size = opts && opts->min_size ? opts->min_size : DEFAULT_MIN_SIZE;
        c->gzip_level = DEFAULT_GZIP_LEVEL;
        c->brotli_quality = DEFAULT_BROTLI_QUALITY;
        if (opts && opts->gzip_level) c->gzip_level = opts->gzip_level < 0 ? 0 : opts->gzip_level;
        if (c->gzip_level > 9) c->gzip_level = 9;
        if (opts && opts->brotli_quality)
            c->brotli_quality = opts->brotli_quality < 0 ? -1 : opts->brotli_quality;
        if (c->brotli_quality > BROTLI_MAX_QUALITY) c->brotli_quality = BROTLI_MAX_QUALITY;
    }
    /* Out of memory at registration: a middleware that does nothing. */
    return (struct ch_middleware){.name = "compress",
                                  .after = c ? after : NULL,
                                  .arg = c,
                                  .cleanup = free};
}
