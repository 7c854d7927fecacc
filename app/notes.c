/* The notes API: an in-memory resource showing path parameters, the JSON extractor,
 * validation errors, 404s and the envelopes. Written only against the public API.
 *
 *   GET    /api/notes?limit=20&offset=0   list (limit 1..100, offset >= 0; else 400)
 *   POST   /api/notes                     create {"title": "...", "body": "..."} -> 201
 *   GET    /api/notes/:id                 one note
 *   PUT    /api/notes/:id                 replace title and body (title required)
 *   PATCH  /api/notes/:id                 change the fields given
 *   DELETE /api/notes/:id                 delete */
/* strdup and gmtime_r are POSIX, not C11. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notes.h"

enum { MAX_TITLE = 200, MAX_BODY = 10000 };

struct note {
    int64_t id;
    char *title;
    char *body;
    char created_at[32];
};

/* One store for all workers: a mutex is plenty for an example resource, and handlers copy what
 * they need into the response before releasing it. */
static struct {
    pthread_mutex_t lock;
    struct note *items; /* ordered by id */
    size_t count, cap;
    int64_t next_id;
} store = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 1};

static void write_note(struct ch_json_writer *w, const struct note *n)
{
    ch_json_object_begin(w);
    ch_json_key(w, "id");
    ch_json_int(w, n->id);
    ch_json_key(w, "title");
    ch_json_string(w, n->title);
    ch_json_key(w, "body");
    ch_json_string(w, n->body);
    ch_json_key(w, "created_at");
    ch_json_string(w, n->created_at);
    ch_json_object_end(w);
}

/* Index of note `id`, or -1. Called with the lock held. */
static long find(int64_t id)
{
    size_t lo = 0, hi = store.count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (store.items[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < store.count && store.items[lo].id == id ? (long)lo : -1;
}

static int list(struct ch_request *req)
{
    struct ch_page page;
    if (ch_paginate(req, &page, 20, 100) != 0) return 0;
    int64_t limit = page.limit, offset = page.offset;
    struct ch_json_writer *w = ch_json_ok(req);
    if (!w) return CH_ENOMEM;
    ch_json_array_begin(w);
    pthread_mutex_lock(&store.lock);
    for (size_t i = (size_t)offset, n = 0; i < store.count && n < (size_t)limit; i++, n++)
        write_note(w, &store.items[i]);
    pthread_mutex_unlock(&store.lock);
    ch_json_array_end(w);
    return ch_respond(req, 200);
}

/* Reads and validates title and body. `need_title`: PUT and POST require it. Returns 0, or
 * answers 4xx and returns 1. */
static int read_input(struct ch_request *req, int need_title, const char **title, const char **body)
{
    const struct ch_json_value *in = ch_json_body(req);
    if (!in) return 1;
    struct ch_json_check chk;
    ch_json_check_init(&chk, &req->arena);
    if (ch_json_value_type(in) != CH_JSON_OBJECT) {
        ch_json_check_fail(&chk, NULL, NULL, "must be a JSON object");
        ch_error_fields(req, &chk);
        return 1;
    }
    *title = ch_json_check_string(&chk, in, "title", need_title ? CH_JSON_REQUIRED : CH_JSON_OPTIONAL);
    *body = ch_json_check_string(&chk, in, "body", CH_JSON_OPTIONAL);
    if (*title) {
        size_t len = strlen(*title);
        size_t blank = strspn(*title, " \t\r\n");
        if (blank == len) ch_json_check_fail(&chk, in, "title", "must not be empty");
        else if (len > MAX_TITLE) ch_json_check_fail(&chk, in, "title", "must be at most 200 bytes");
    }
    if (*body && strlen(*body) > MAX_BODY)
        ch_json_check_fail(&chk, in, "body", "must be at most 10000 bytes");
    if (ch_json_check_result(&chk) != 0) {
        ch_error_fields(req, &chk);
        return 1;
    }
    return 0;
}

static int create(struct ch_request *req)
{
    const char *title = NULL, *body = NULL;
    if (read_input(req, 1, &title, &body)) return 0;
    struct note n = {0};
    n.title = strdup(title);
    n.body = strdup(body ? body : "");
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(n.created_at, sizeof(n.created_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    pthread_mutex_lock(&store.lock);
    if (store.count == store.cap) {
        size_t cap = store.cap ? store.cap * 2 : 64;
        struct note *items = realloc(store.items, cap * sizeof(*items));
        if (!items || !n.title || !n.body) {
            pthread_mutex_unlock(&store.lock);
            free(n.title);
            free(n.body);
            return CH_ENOMEM;
        }
        store.items = items;
        store.cap = cap;
    }
    n.id = store.next_id++;
    store.items[store.count++] = n;
    struct ch_json_writer *w = ch_json_ok(req);
    if (w) write_note(w, &n);
    pthread_mutex_unlock(&store.lock);
    return w ? ch_respond(req, 201) : CH_ENOMEM;
}

/* Reads :id; answers 400 and returns 0 when it is not a positive integer. */
static int note_id(struct ch_request *req, int64_t *id)
{
    if (ch_param_int(req, "id", id) == 0 && *id > 0) return 1;
    ch_error(req, CH_ERR_BAD_REQUEST, "id must be a positive integer");
    return 0;
}

static int get_one(struct ch_request *req)
{
    int64_t id;
    if (!note_id(req, &id)) return 0;
    pthread_mutex_lock(&store.lock);
    long i = find(id);
    if (i >= 0) write_note(ch_json_ok(req), &store.items[i]);
    pthread_mutex_unlock(&store.lock);
    if (i < 0) return ch_error(req, CH_ERR_NOT_FOUND, "Note %lld not found", (long long)id);
    return ch_respond(req, 200);
}

static int update(struct ch_request *req, int replace)
{
    int64_t id;
    const char *title = NULL, *body = NULL;
    if (!note_id(req, &id) || read_input(req, replace, &title, &body)) return 0;
    char *t = title ? strdup(title) : NULL;
    char *b = NULL;
    if (body) b = strdup(body);
    else if (replace) b = strdup(""); /* PUT replaces: an absent body becomes empty */
    pthread_mutex_lock(&store.lock);
    long i = find(id);
    if (i >= 0) {
        struct note *n = &store.items[i];
        if (t) free(n->title), n->title = t, t = NULL;
        if (b) free(n->body), n->body = b, b = NULL;
        write_note(ch_json_ok(req), n);
    }
    pthread_mutex_unlock(&store.lock);
    free(t);
    free(b);
    if (i < 0) return ch_error(req, CH_ERR_NOT_FOUND, "Note %lld not found", (long long)id);
    return ch_respond(req, 200);
}

static int replace(struct ch_request *req)
{
    return update(req, 1);
}

static int modify(struct ch_request *req)
{
    return update(req, 0);
}

static int destroy(struct ch_request *req)
{
    int64_t id;
    if (!note_id(req, &id)) return 0;
    pthread_mutex_lock(&store.lock);
    long i = find(id);
    if (i >= 0) {
        free(store.items[i].title);
        free(store.items[i].body);
        memmove(&store.items[i], &store.items[i + 1], (store.count - (size_t)i - 1) * sizeof(struct note));
        store.count--;
    }
    pthread_mutex_unlock(&store.lock);
    if (i < 0) return ch_error(req, CH_ERR_NOT_FOUND, "Note %lld not found", (long long)id);
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "id");
    ch_json_int(w, id);
    ch_json_key(w, "deleted");
    ch_json_bool(w, 1);
    ch_json_object_end(w);
    return ch_respond(req, 200);
}

int notes_register(struct ch_app *app)
{
    struct ch_group *g = ch_group_new(app, "/api/notes");
    if (!g) return CH_ENOMEM;
    static const struct {
        enum ch_method method;
        const char *pattern;
        ch_handler_fn handler;
    } routes[] = {
        {CH_GET, "", list},          {CH_POST, "", create},        {CH_GET, "/:id", get_one},
        {CH_PUT, "/:id", replace},   {CH_PATCH, "/:id", modify},   {CH_DELETE, "/:id", destroy},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = ch_group_route(g, CH_METHOD_BIT(routes[i].method), routes[i].pattern,
                                routes[i].handler);
        if (rc) return rc;
    }
    return 0;
}
