/* Typed field access for handlers, collecting validation problems for a 422 response.
 *
 * A problem's field is a path. Containers handed out by check_object/check_array (and their
 * _at forms) are remembered with the parent and key or index they came from, so a later
 * problem inside them can be named "author.name" or "tags[2]"; the path is only built when a
 * problem is recorded. */
#include "json/internal.h"

struct ch__json_name {
    struct ch__json_name *next;
    const struct ch_json_value *value;
    const struct ch_json_value *parent;
    const char *key; /* NULL: reached by index */
    size_t index;
};

void ch_json_check_init(struct ch_json_check *c, struct ch_arena *arena)
{
    c->_arena = arena;
    c->_items = NULL;
    c->_count = c->_cap = 0;
    c->_names = NULL;
    c->_err = 0;
}

int ch_json_check_result(const struct ch_json_check *c)
{
    if (c->_err) return c->_err;
    return c->_count ? CH_EINVAL : 0;
}

const struct ch_json_problem *ch_json_check_problems(const struct ch_json_check *c, size_t *count)
{
    *count = c->_count;
    return c->_items;
}

static const struct ch__json_name *find_name(const struct ch_json_check *c,
                                             const struct ch_json_value *v)
{
    for (const struct ch__json_name *n = c->_names; n; n = n->next)
        if (n->value == v) return n;
    return NULL;
}

/* Appends the path of field (parent, key or index). Depth is bounded by the nesting limit; the
 * guard only protects against a caller that hands in unrelated values. */
static int append_path(struct ch_buf *b, const struct ch_json_check *c,
                       const struct ch_json_value *parent, const char *key, size_t index, int depth)
{
    const struct ch__json_name *n = parent ? find_name(c, parent) : NULL;
    int rc = 0;
    if (n && depth <= CH_JSON_MAX_DEPTH)
        rc = append_path(b, c, n->parent, n->key, n->index, depth + 1);
    if (key) {
        if (b->len) rc |= ch_buf_putc(b, '.');
        rc |= ch_buf_append_cstr(b, key);
    } else {
        rc |= ch_buf_putc(b, '[');
        rc |= ch_buf_append_u64(b, index);
        rc |= ch_buf_putc(b, ']');
    }
    return rc;
}

static void add(struct ch_json_check *c, const char *field, const char *message)
{
    if (c->_count == c->_cap) {
        size_t cap = c->_cap ? c->_cap * 2 : 8;
        struct ch_json_problem *items = ch_arena_alloc(c->_arena, cap * sizeof(*items));
        if (!items) {
            c->_err = CH_ENOMEM;
            return;
        }
        if (c->_count) memcpy(items, c->_items, c->_count * sizeof(*items));
        c->_items = items;
        c->_cap = cap;
    }
    c->_items[c->_count++] = (struct ch_json_problem){field, message};
}

static void record(struct ch_json_check *c, const struct ch_json_value *parent, const char *key,
                   size_t index, const char *message)
{
    struct ch_buf b;
    ch_buf_init_arena(&b, c->_arena);
    if (append_path(&b, c, parent, key, index, 0) != 0 || ch_buf_putc(&b, '\0') != 0) {
        c->_err = CH_ENOMEM;
        return;
    }
    add(c, b.ptr, message);
}

/* The field's value when present and not null; otherwise NULL, after recording "is required"
 * when the field must be there. */
static const struct ch_json_value *field(struct ch_json_check *c,
                                         const struct ch_json_value *parent, const char *key,
                                         size_t index, int flags)
{
    if (!parent) return NULL;
    const struct ch_json_value *v =
        key ? ch_json_value_get(parent, key) : ch_json_value_at(parent, index);
    if (v && ch__json_type(v) != CH_JSON_NULL) return v;
    if (flags & CH_JSON_REQUIRED) record(c, parent, key, index, "is required");
    return NULL;
}

static const struct ch_json_value *typed(struct ch_json_check *c,
                                         const struct ch_json_value *parent, const char *key,
                                         size_t index, int flags, unsigned type,
                                         const char *message)
{
    const struct ch_json_value *v = field(c, parent, key, index, flags);
    if (v && ch__json_type(v) != type) {
        record(c, parent, key, index, message);
        return NULL;
    }
    return v;
}

static struct ch_str get_str(struct ch_json_check *c, const struct ch_json_value *parent,
                             const char *key, size_t index, int flags)
{
    const struct ch_json_value *v =
        typed(c, parent, key, index, flags, CH_JSON_STRING, "must be a string");
    return v ? ch_str_make(v->u.s, v->len) : ch_str_make("", 0);
}

static const char *get_string(struct ch_json_check *c, const struct ch_json_value *parent,
                              const char *key, size_t index, int flags)
{
    const struct ch_json_value *v =
        typed(c, parent, key, index, flags, CH_JSON_STRING, "must be a string");
    if (!v) return NULL;
    if (v->len && memchr(v->u.s, '\0', v->len)) {
        record(c, parent, key, index, "must not contain NUL characters");
        return NULL;
    }
    if (v->tag & CH__JSON_NUL_TERM) return v->u.s;
    char *s = ch_arena_strndup(c->_arena, v->u.s, v->len);
    if (!s) c->_err = CH_ENOMEM;
    return s;
}

static int64_t get_int(struct ch_json_check *c, const struct ch_json_value *parent, const char *key,
                       size_t index, int flags, int64_t def)
{
    const struct ch_json_value *v = field(c, parent, key, index, flags);
    if (!v) return def;
    if (ch__json_type(v) == CH_JSON_INT) return v->u.i;
    if (ch__json_type(v) == CH_JSON_DOUBLE) {
        double d = v->u.d;
        /* Every double beyond 2^53 is an integer, so the range test comes first. */
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
            record(c, parent, key, index, "is out of range");
            return def;
        }
        if ((double)(int64_t)d == d) return (int64_t)d;
    }
    record(c, parent, key, index, "must be an integer");
    return def;
}

static double get_double(struct ch_json_check *c, const struct ch_json_value *parent,
                         const char *key, size_t index, int flags, double def)
{
    const struct ch_json_value *v = field(c, parent, key, index, flags);
    if (!v) return def;
    unsigned t = ch__json_type(v);
    if (t == CH_JSON_DOUBLE) return v->u.d;
    if (t == CH_JSON_INT) return (double)v->u.i;
    record(c, parent, key, index, "must be a number");
    return def;
}

static int get_bool(struct ch_json_check *c, const struct ch_json_value *parent, const char *key,
                    size_t index, int flags, int def)
{
    const struct ch_json_value *v =
        typed(c, parent, key, index, flags, CH_JSON_BOOL, "must be a boolean");
    return v ? v->u.i != 0 : def;
}

/* A container, remembered with where it came from so that problems inside it get a path. */
static const struct ch_json_value *get_container(struct ch_json_check *c,
                                                 const struct ch_json_value *parent,
                                                 const char *key, size_t index, int flags,
                                                 unsigned type, const char *message)
{
    const struct ch_json_value *v = typed(c, parent, key, index, flags, type, message);
    if (!v || find_name(c, v)) return v;
    struct ch__json_name *n = ch_arena_alloc(c->_arena, sizeof(*n));
    if (!n) {
        c->_err = CH_ENOMEM;
        return v;
    }
    *n = (struct ch__json_name){c->_names, v, parent, key, index};
    c->_names = n;
    return v;
}

const char *ch_json_check_string(struct ch_json_check *c, const struct ch_json_value *obj,
                                 const char *key, int flags)
{
    return get_string(c, obj, key, 0, flags);
}

struct ch_str ch_json_check_str(struct ch_json_check *c, const struct ch_json_value *obj,
                                const char *key, int flags)
{
    return get_str(c, obj, key, 0, flags);
}

int64_t ch_json_check_int(struct ch_json_check *c, const struct ch_json_value *obj, const char *key,
                          int flags, int64_t def)
{
    return get_int(c, obj, key, 0, flags, def);
}

double ch_json_check_double(struct ch_json_check *c, const struct ch_json_value *obj,
                            const char *key, int flags, double def)
{
    return get_double(c, obj, key, 0, flags, def);
}

int ch_json_check_bool(struct ch_json_check *c, const struct ch_json_value *obj, const char *key,
                       int flags, int def)
{
    return get_bool(c, obj, key, 0, flags, def);
}

const struct ch_json_value *ch_json_check_object(struct ch_json_check *c,
                                                 const struct ch_json_value *obj, const char *key,
                                                 int flags)
{
    return get_container(c, obj, key, 0, flags, CH_JSON_OBJECT, "must be an object");
}

const struct ch_json_value *ch_json_check_array(struct ch_json_check *c,
                                                const struct ch_json_value *obj, const char *key,
                                                int flags)
{
    return get_container(c, obj, key, 0, flags, CH_JSON_ARRAY, "must be an array");
}

const char *ch_json_check_string_at(struct ch_json_check *c, const struct ch_json_value *arr,
                                    size_t index, int flags)
{
    return get_string(c, arr, NULL, index, flags);
}

struct ch_str ch_json_check_str_at(struct ch_json_check *c, const struct ch_json_value *arr,
                                   size_t index, int flags)
{
    return get_str(c, arr, NULL, index, flags);
}

int64_t ch_json_check_int_at(struct ch_json_check *c, const struct ch_json_value *arr, size_t index,
                             int flags, int64_t def)
{
    return get_int(c, arr, NULL, index, flags, def);
}

double ch_json_check_double_at(struct ch_json_check *c, const struct ch_json_value *arr,
                               size_t index, int flags, double def)
{
    return get_double(c, arr, NULL, index, flags, def);
}

int ch_json_check_bool_at(struct ch_json_check *c, const struct ch_json_value *arr, size_t index,
                          int flags, int def)
{
    return get_bool(c, arr, NULL, index, flags, def);
}

const struct ch_json_value *ch_json_check_object_at(struct ch_json_check *c,
                                                    const struct ch_json_value *arr, size_t index,
                                                    int flags)
{
    return get_container(c, arr, NULL, index, flags, CH_JSON_OBJECT, "must be an object");
}

const struct ch_json_value *ch_json_check_array_at(struct ch_json_check *c,
                                                   const struct ch_json_value *arr, size_t index,
                                                   int flags)
{
    return get_container(c, arr, NULL, index, flags, CH_JSON_ARRAY, "must be an array");
}

void ch_json_check_fail(struct ch_json_check *c, const struct ch_json_value *obj, const char *key,
                        const char *message)
{
    char *m = ch_arena_strndup(c->_arena, message, strlen(message));
    if (!m) {
        c->_err = CH_ENOMEM;
        return;
    }
    if (key) {
        record(c, obj, key, 0, m);
        return;
    }
    /* No key: the problem is about `obj` itself. */
    const struct ch__json_name *n = obj ? find_name(c, obj) : NULL;
    if (n)
        record(c, n->parent, n->key, n->index, m);
    else
        record(c, NULL, "", 0, m);
}

int ch_json_write_problems(struct ch_json_writer *w, const struct ch_json_check *c)
{
    ch_json_array_begin(w);
    for (size_t i = 0; i < c->_count; i++) {
        ch_json_object_begin(w);
        ch_json_key(w, "field");
        ch_json_string(w, c->_items[i].field);
        ch_json_key(w, "message");
        ch_json_string(w, c->_items[i].message);
        ch_json_object_end(w);
    }
    return ch_json_array_end(w);
}
