/* Reading a parsed tree: scalar accessors, member lookup, iteration and deep equality. */
#include "json/internal.h"

enum ch_json_type ch_json_value_type(const struct ch_json_value *v)
{
    return v ? (enum ch_json_type)ch__json_type(v) : CH_JSON_NONE;
}

int ch_json_value_bool(const struct ch_json_value *v)
{
    return v && ch__json_type(v) == CH_JSON_BOOL && v->u.i;
}

int64_t ch_json_value_int(const struct ch_json_value *v)
{
    return v && ch__json_type(v) == CH_JSON_INT ? v->u.i : 0;
}

double ch_json_value_double(const struct ch_json_value *v)
{
    if (!v) return 0.0;
    if (ch__json_type(v) == CH_JSON_DOUBLE) return v->u.d;
    /* An int64 to double conversion rounds to nearest in the default rounding mode. */
    if (ch__json_type(v) == CH_JSON_INT) return (double)v->u.i;
    return 0.0;
}

struct ch_str ch_json_value_str(const struct ch_json_value *v)
{
    if (!v || ch__json_type(v) != CH_JSON_STRING) return ch_str_make("", 0);
    return ch_str_make(v->u.s, v->len);
}

size_t ch_json_value_count(const struct ch_json_value *v)
{
    if (!v) return 0;
    unsigned t = ch__json_type(v);
    return t == CH_JSON_ARRAY || t == CH_JSON_OBJECT ? v->len : 0;
}

const struct ch_json_value *ch_json_value_at(const struct ch_json_value *arr, size_t index)
{
    if (!arr || ch__json_type(arr) != CH_JSON_ARRAY || index >= arr->len) return NULL;
    /* When the subtree spans one node per element, no element is a container: index directly. */
    if (arr->u.span == (uint64_t)arr->len + 1) return arr + 1 + index;
    const struct ch_json_value *v = arr + 1;
    while (index--) v = ch__json_skip(v);
    return v;
}

const struct ch_json_value *ch_json_value_getn(const struct ch_json_value *obj, const char *key,
                                               size_t len)
{
    if (!obj || ch__json_type(obj) != CH_JSON_OBJECT) return NULL;
    const struct ch_json_value *k = obj + 1;
    for (uint32_t i = 0; i < obj->len; i++) {
        if (k->len == len && (len == 0 || memcmp(k->u.s, key, len) == 0)) return k + 1;
        k = ch__json_skip(k + 1);
    }
    return NULL;
}

const struct ch_json_value *ch_json_value_get(const struct ch_json_value *obj, const char *key)
{
    return ch_json_value_getn(obj, key, strlen(key));
}

void ch_json_iter_init(struct ch_json_iter *it, const struct ch_json_value *container)
{
    unsigned t = container ? ch__json_type(container) : CH_JSON_NONE;
    int ok = t == CH_JSON_ARRAY || t == CH_JSON_OBJECT;
    it->_next = ok ? container + 1 : NULL;
    it->_left = ok ? container->len : 0;
    it->_object = t == CH_JSON_OBJECT;
}

const struct ch_json_value *ch_json_iter_next(struct ch_json_iter *it, struct ch_str *key)
{
    if (it->_left == 0) return NULL;
    it->_left--;
    const struct ch_json_value *v = it->_next;
    if (it->_object) {
        if (key) *key = ch_str_make(v->u.s, v->len);
        v++;
    } else if (key) {
        *key = ch_str_make("", 0);
    }
    it->_next = ch__json_skip(v);
    return v;
}

/* Does double d hold exactly the integer i? (-0.0 holds none.) */
static int double_is_int(double d, int64_t i)
{
    /* 2^63 is the first double beyond int64; the cast is exact below it. */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return 0;
    if ((int64_t)d != i) return 0;
    return !(d == 0 && __builtin_signbit(d));
}

static int numbers_equal(const struct ch_json_value *a, const struct ch_json_value *b)
{
    unsigned ta = ch__json_type(a), tb = ch__json_type(b);
    if (ta == CH_JSON_INT && tb == CH_JSON_INT) return a->u.i == b->u.i;
    if (ta == CH_JSON_DOUBLE && tb == CH_JSON_DOUBLE) return memcmp(&a->u.d, &b->u.d, 8) == 0;
    if (ta == CH_JSON_INT) return double_is_int(b->u.d, a->u.i);
    return double_is_int(a->u.d, b->u.i);
}

int ch_json_value_equal(const struct ch_json_value *a, const struct ch_json_value *b)
{
    if (!a || !b) return a == b;
    unsigned ta = ch__json_type(a), tb = ch__json_type(b);
    int na = ta == CH_JSON_INT || ta == CH_JSON_DOUBLE;
    int nb = tb == CH_JSON_INT || tb == CH_JSON_DOUBLE;
    if (na && nb) return numbers_equal(a, b);
    if (ta != tb) return 0;
    switch (ta) {
    case CH_JSON_NULL: return 1;
    case CH_JSON_BOOL: return a->u.i == b->u.i;
    case CH_JSON_STRING: return a->len == b->len && (!a->len || !memcmp(a->u.s, b->u.s, a->len));
    case CH_JSON_ARRAY: {
        if (a->len != b->len) return 0;
        const struct ch_json_value *x = a + 1, *y = b + 1;
        for (uint32_t i = 0; i < a->len; i++) {
            if (!ch_json_value_equal(x, y)) return 0;
            x = ch__json_skip(x);
            y = ch__json_skip(y);
        }
        return 1;
    }
    case CH_JSON_OBJECT: {
        if (a->len != b->len) return 0;
        const struct ch_json_value *ka = a + 1, *kb = b + 1;
        for (uint32_t i = 0; i < a->len; i++) {
            const struct ch_json_value *vb;
            /* Same order is the usual case; otherwise look the key up. */
            if (ka->len == kb->len && (!ka->len || !memcmp(ka->u.s, kb->u.s, ka->len)))
                vb = kb + 1;
            else
                vb = ch_json_value_getn(b, ka->u.s, ka->len);
            if (!vb || !ch_json_value_equal(ka + 1, vb)) return 0;
            ka = ch__json_skip(ka + 1);
            if (i + 1 < b->len) kb = ch__json_skip(kb + 1);
        }
        return 1;
    }
    }
    return 0;
}
