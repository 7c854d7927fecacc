/* JSON: a writer into a struct ch_buf, a strict parser into a struct ch_arena, and typed,
 * validating accessors for request handlers.
 *
 * Writer. Values are appended to a caller-owned buffer (a response buffer or an arena-backed
 * buffer); commas and colons are placed automatically from a small nesting stack:
 *
 *     struct ch_json_writer w;
 *     ch_json_writer_init(&w, &buf);
 *     ch_json_object_begin(&w);
 *     ch_json_key(&w, "id");
 *     ch_json_int(&w, 5);
 *     ch_json_object_end(&w);
 *     int rc = ch_json_writer_finish(&w);   // 0, or the first error
 *
 * Every writer call returns 0 or the writer's first error, which is sticky: after a misuse
 * (CH_EINVAL: a key outside an object, a value where a key is expected, an unmatched end, a
 * second top-level value), too deep a nesting (CH_ERANGE) or a failed allocation (CH_ENOMEM)
 * nothing more is written and the buffer holds a truncated document to be discarded. The
 * writer never emits invalid JSON for any input:
 *   - strings: '"', '\\' and control characters are escaped (\b \f \n \r \t, others as
 *     \u00XX); well-formed UTF-8 passes through unchanged; every byte that is not part of a
 *     well-formed UTF-8 sequence (overlongs, surrogates, > U+10FFFF, truncated sequences) is
 *     replaced by U+FFFD.
 *   - doubles: the shortest text that reads back as the same double (ch_json_dtoa()); NaN and
 *     infinities, which JSON cannot express, are written as null.
 *
 * Parser. ch_json_parse() accepts exactly RFC 8259 JSON texts (UTF-8, no comments, no trailing
 * commas, nesting depth at most CH_JSON_MAX_DEPTH) and builds a read-only tree in an arena.
 * Strings without escapes point into the source, which must therefore outlive the tree.
 *
 * Checks. struct ch_json_check reads typed fields from a parsed object and collects problems
 * ({field: "title", message: "is required"}) for a 422 response. */
#ifndef CHOPIN_JSON_H
#define CHOPIN_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "error.h"
#include "str.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Deepest nesting of arrays and objects the writer and the parser accept. */
#define CH_JSON_MAX_DEPTH 128

/* ---------------------------------------------------------------------------------------- */
/* Writer                                                                                   */

/* Writer states; private, used by the inline functions below. */
enum {
    CH__JSON_W_TOP,       /* nothing written yet */
    CH__JSON_W_ARR_FIRST, /* in an array, no element yet */
    CH__JSON_W_OBJ_VALUE, /* in an object, after a key */
    CH__JSON_W_ARR_NEXT,  /* in an array, after an element */
    CH__JSON_W_OBJ_FIRST, /* in an object, no member yet */
    CH__JSON_W_OBJ_NEXT,  /* in an object, after a member */
    CH__JSON_W_DONE,      /* the top-level value is complete */
    CH__JSON_W_ERROR,
};

/* The state after a value written in state s (TOP, ARR_FIRST, OBJ_VALUE or ARR_NEXT), packed
 * one nibble per state: DONE, ARR_NEXT, OBJ_NEXT, ARR_NEXT. */
#define CH__JSON_W_AFTER(s) ((unsigned)(0x3536u >> (4 * (s))) & 15u)

struct ch_json_writer {
    struct ch_buf *_buf;
    int _err;
    uint8_t _state;
    uint8_t _depth;
    uint8_t _stack[CH_JSON_MAX_DEPTH]; /* each open container's parent state after it ends */
};

/* Prepares `w` to append one JSON value to `buf`, which must outlive the writer. The buffer's
 * existing contents are kept. */
static inline void ch_json_writer_init(struct ch_json_writer *w, struct ch_buf *buf)
{
    w->_buf = buf;
    w->_err = 0;
    w->_state = CH__JSON_W_TOP;
    w->_depth = 0;
}

/* Returns 0 when exactly one complete value was written, the writer's first error otherwise
 * (CH_EINVAL when the value is unfinished). The buffer is not released. */
int ch_json_writer_finish(struct ch_json_writer *w);

/* Private: records a misuse and returns NULL. */
char *ch__json_fail(struct ch_json_writer *w, int err);

/* Private: reserves `n` bytes for a value, writes the separating comma, advances the state and
 * returns where the value goes; NULL after an error. */
static inline char *ch__json_value_start(struct ch_json_writer *w, size_t n)
{
    unsigned s = w->_state;
    if (s > CH__JSON_W_ARR_NEXT) return ch__json_fail(w, CH_EINVAL);
    size_t comma = s == CH__JSON_W_ARR_NEXT;
    struct ch_buf *b = w->_buf;
    if (b->cap - b->len < n + 1 && ch__buf_grow(b, n + 1) != 0) return ch__json_fail(w, CH_ENOMEM);
    char *p = b->ptr + b->len;
    *p = ','; /* overwritten by the value when no comma is due */
    w->_state = (uint8_t)CH__JSON_W_AFTER(s);
    return p + comma;
}

/* Private: the buffer length after a value that ends at p. */
static inline int ch__json_value_end(struct ch_json_writer *w, const char *p)
{
    w->_buf->len = (size_t)(p - w->_buf->ptr);
    return 0;
}

static inline int ch__json_open(struct ch_json_writer *w, char c, uint8_t state)
{
    if (w->_depth == CH_JSON_MAX_DEPTH) return ch__json_fail(w, CH_ERANGE), w->_err;
    char *p = ch__json_value_start(w, 1);
    if (!p) return w->_err;
    *p++ = c;
    w->_stack[w->_depth++] = w->_state;
    w->_state = state;
    return ch__json_value_end(w, p);
}

static inline int ch__json_close(struct ch_json_writer *w, char c, unsigned first, unsigned next)
{
    if (w->_state != first && w->_state != next) return ch__json_fail(w, CH_EINVAL), w->_err;
    if (ch_buf_putc(w->_buf, c) != 0) return ch__json_fail(w, CH_ENOMEM), w->_err;
    w->_state = w->_stack[--w->_depth];
    return 0;
}

/* Opens an object ('{') as the next value. 0 or the writer's error. */
static inline int ch_json_object_begin(struct ch_json_writer *w)
{
    return ch__json_open(w, '{', CH__JSON_W_OBJ_FIRST);
}

/* Closes the innermost object; CH_EINVAL if it is not an object or a key awaits its value. */
static inline int ch_json_object_end(struct ch_json_writer *w)
{
    return ch__json_close(w, '}', CH__JSON_W_OBJ_FIRST, CH__JSON_W_OBJ_NEXT);
}

/* Opens an array ('[') as the next value. 0 or the writer's error. */
static inline int ch_json_array_begin(struct ch_json_writer *w)
{
    return ch__json_open(w, '[', CH__JSON_W_ARR_FIRST);
}

/* Closes the innermost array; CH_EINVAL if the innermost container is not an array. */
static inline int ch_json_array_end(struct ch_json_writer *w)
{
    return ch__json_close(w, ']', CH__JSON_W_ARR_FIRST, CH__JSON_W_ARR_NEXT);
}

/* Writes an object member's key (escaped like a string) and the colon; the next call must
 * write its value. CH_EINVAL outside an object or right after another key. */
int ch_json_key_str(struct ch_json_writer *w, struct ch_str key);

/* ch_json_key_str() for a NUL-terminated key. */
static inline int ch_json_key(struct ch_json_writer *w, const char *key)
{
    return ch_json_key_str(w, ch_str_cstr(key));
}

/* Writes a string value, escaped as described above (invalid UTF-8 becomes U+FFFD). */
int ch_json_str(struct ch_json_writer *w, struct ch_str s);

/* Writes `null`. */
static inline int ch_json_null(struct ch_json_writer *w)
{
    char *p = ch__json_value_start(w, 4);
    if (!p) return w->_err;
    memcpy(p, "null", 4);
    return ch__json_value_end(w, p + 4);
}

/* ch_json_str() for a NUL-terminated string; NULL writes null. */
static inline int ch_json_string(struct ch_json_writer *w, const char *s)
{
    return s ? ch_json_str(w, ch_str_cstr(s)) : ch_json_null(w);
}

/* Private: writes v in decimal at dst (20 bytes) and returns the length. */
size_t ch__json_itoa(char *dst, int64_t v);

/* Writes an integer in decimal. */
static inline int ch_json_int(struct ch_json_writer *w, int64_t v)
{
    char *p = ch__json_value_start(w, 20);
    if (!p) return w->_err;
    return ch__json_value_end(w, p + ch__json_itoa(p, v));
}

/* Writes `true` or `false` (any non-zero `v` is true). */
static inline int ch_json_bool(struct ch_json_writer *w, int v)
{
    char *p = ch__json_value_start(w, 5);
    if (!p) return w->_err;
    memcpy(p, v ? "true" : "false", 5);
    return ch__json_value_end(w, p + (v ? 4 : 5));
}

/* Writes a double in shortest round-trip form (see ch_json_dtoa()); NaN and infinities are
 * written as null because JSON has no spelling for them. */
int ch_json_double(struct ch_json_writer *w, double v);

/* Appends `len` bytes of already-serialized JSON as the next value. The fragment is trusted:
 * the caller guarantees it is exactly one valid JSON value. */
int ch_json_raw(struct ch_json_writer *w, const char *json, size_t len);

struct ch_json_value;

/* Writes a parsed value (and its whole subtree) compactly as the next value. */
int ch_json_write_value(struct ch_json_writer *w, const struct ch_json_value *v);

/* Size of a buffer that holds any ch_json_dtoa() result. */
#define CH_JSON_DTOA_SIZE 32

/* Formats a finite double into dst (CH_JSON_DTOA_SIZE bytes, no NUL) and returns the length.
 * The text is the shortest decimal that strtod reads back as exactly `v`, nearest to `v` when
 * several are as short. Layout, as Python's repr: plain notation with at least one fraction
 * digit when the decimal exponent E satisfies -4 <= E < 16 ("3.0", "0.1", "0.0001",
 * "1234567890123456.0", "-0.0"), scientific otherwise, with no '+' and no leading zeros in
 * the exponent ("1e16", "2.5e300", "1e-7", "5e-324"). Not for NaN or infinities. */
size_t ch_json_dtoa(char *dst, double v);

/* ---------------------------------------------------------------------------------------- */
/* Parser and tree                                                                          */

enum ch_json_type {
    CH_JSON_NONE = 0, /* no value: the type of a NULL pointer */
    CH_JSON_NULL,
    CH_JSON_BOOL,
    CH_JSON_INT,    /* an integer literal that fits int64_t */
    CH_JSON_DOUBLE, /* any other number, correctly rounded */
    CH_JSON_STRING,
    CH_JSON_ARRAY,
    CH_JSON_OBJECT,
};

/* Where and why a parse failed. `reason` is a static English phrase ("unexpected end of
 * input"); line and column are 1-based, the column counting characters (code points). */
struct ch_json_error {
    const char *reason;
    uint32_t line;
    uint32_t column;
    size_t offset; /* bytes before the offending one */
};

/* Parses the JSON text src[0..len) into a tree allocated in `arena` and stores its root in
 * *root. Returns 0; CH_EINVAL for input that is not a JSON text (with *err filled when `err`
 * is not NULL); CH_ERANGE for a document of 4 GiB or more; CH_ENOMEM. Never reads outside
 * src[0..len). Unescaped strings point into `src`, which must outlive the tree; numbers whose
 * magnitude overflows a double are rejected as "number out of range"; duplicate keys are kept
 * (lookups find the first). The tree takes about 3 bytes of arena per input byte for typical
 * documents (at most about 19 for the densest, arrays of one-digit numbers), plus up to `len`
 * when strings have escapes. Rare numbers (exact halfway cases, subnormals) go through strtod,
 * which assumes the "C" LC_NUMERIC locale that a program starts in. */
int ch_json_parse(const char *src, size_t len, struct ch_arena *arena,
                  const struct ch_json_value **root, struct ch_json_error *err);

/* The value's type; CH_JSON_NONE for NULL. */
enum ch_json_type ch_json_value_type(const struct ch_json_value *v);

/* A boolean's value; 0 for anything else. */
int ch_json_value_bool(const struct ch_json_value *v);

/* A CH_JSON_INT's value; 0 for anything else (use the checks below to convert and validate). */
int64_t ch_json_value_int(const struct ch_json_value *v);

/* A number's value as a double (an integer converted with correct rounding); 0.0 otherwise. */
double ch_json_value_double(const struct ch_json_value *v);

/* A string's bytes (valid UTF-8, may contain NUL); the empty slice for anything else. The
 * bytes live in the source text or the arena. */
struct ch_str ch_json_value_str(const struct ch_json_value *v);

/* The number of elements of an array or members of an object; 0 for anything else. */
size_t ch_json_value_count(const struct ch_json_value *v);

/* An array's element `index` (O(index) for arrays of containers, O(1) otherwise), or NULL when
 * `arr` is not an array or too short. */
const struct ch_json_value *ch_json_value_at(const struct ch_json_value *arr, size_t index);

/* The value of the first member of `obj` named `key` (`len` bytes), by linear search; NULL when
 * absent or when `obj` is not an object. */
const struct ch_json_value *ch_json_value_getn(const struct ch_json_value *obj, const char *key,
                                               size_t len);

/* ch_json_value_getn() for a NUL-terminated key. */
const struct ch_json_value *ch_json_value_get(const struct ch_json_value *obj, const char *key);

/* Deep equality. Objects are equal when they have the same number of members and each member
 * of `a` has an equal counterpart in `b`: the member at the same position when the keys match
 * there, otherwise the first member of `b` with that key (so order is ignored). Numbers compare by
 * exact value: two doubles by bit pattern (so -0.0 != 0.0), an integer and a double when the
 * double holds exactly that integer. Returns 1 or 0. */
int ch_json_value_equal(const struct ch_json_value *a, const struct ch_json_value *b);

/* Iteration over an array's elements or an object's members, in document order:
 *
 *     struct ch_json_iter it;
 *     struct ch_str key;
 *     ch_json_iter_init(&it, obj);
 *     for (const struct ch_json_value *v; (v = ch_json_iter_next(&it, &key));) ...
 */
struct ch_json_iter {
    const struct ch_json_value *_next;
    size_t _left;
    int _object;
};

/* Starts iterating over `container`; a scalar or NULL yields nothing. */
void ch_json_iter_init(struct ch_json_iter *it, const struct ch_json_value *container);

/* The next element or member value, or NULL at the end. For an object's member, *key (when
 * `key` is not NULL) receives the member's name; for an array element it is emptied. */
const struct ch_json_value *ch_json_iter_next(struct ch_json_iter *it, struct ch_str *key);

/* ---------------------------------------------------------------------------------------- */
/* Checks: typed accessors that collect validation problems                                 */

/* Presence flags for the checks. A member whose value is null counts as absent. */
#define CH_JSON_OPTIONAL 0
#define CH_JSON_REQUIRED 1

/* One problem: `field` is a path such as "title", "author.name" or "tags[2]". */
struct ch_json_problem {
    const char *field;
    const char *message;
};

struct ch__json_name;

struct ch_json_check {
    struct ch_arena *_arena;
    struct ch_json_problem *_items;
    size_t _count, _cap;
    struct ch__json_name *_names; /* how containers handed out were reached, for paths */
    int _err;
};

/* Prepares an empty problem list whose strings and storage live in `arena`. */
void ch_json_check_init(struct ch_json_check *c, struct ch_arena *arena);

/* Each check reads member `key` of object `obj`. When the member is absent (or null) it records
 * "is required" if `flags` is CH_JSON_REQUIRED, and returns the fallback (NULL, the empty
 * slice, or `def`); a value of the wrong type records "must be a string" (resp. "must be an
 * integer", "must be a number", "must be a boolean", "must be an object", "must be an array")
 * and also returns the fallback. When `obj` itself is NULL (an optional parent that was
 * absent, or one already reported) nothing is recorded. Field paths include the path of `obj`
 * when it came from an earlier check_object/check_array call. */

/* A NUL-terminated string, copied into the arena unless the parser already stored it with a
 * terminator; strings containing U+0000 are reported ("must not contain NUL characters"). */
const char *ch_json_check_string(struct ch_json_check *c, const struct ch_json_value *obj,
                                 const char *key, int flags);

/* A string as a slice (may contain NUL), without copying. */
struct ch_str ch_json_check_str(struct ch_json_check *c, const struct ch_json_value *obj,
                                const char *key, int flags);

/* An integer. Numbers with a fraction record "must be an integer", integers beyond int64_t
 * "is out of range"; a double holding an exact integer (2.0, 1e3) is accepted. */
int64_t ch_json_check_int(struct ch_json_check *c, const struct ch_json_value *obj, const char *key,
                          int flags, int64_t def);

/* Any number, as a double. */
double ch_json_check_double(struct ch_json_check *c, const struct ch_json_value *obj,
                            const char *key, int flags, double def);

/* A boolean, as 0 or 1. */
int ch_json_check_bool(struct ch_json_check *c, const struct ch_json_value *obj, const char *key,
                       int flags, int def);

/* A nested object, or NULL; its fields are then named "key.field". */
const struct ch_json_value *ch_json_check_object(struct ch_json_check *c,
                                                 const struct ch_json_value *obj, const char *key,
                                                 int flags);

/* A nested array, or NULL; its elements are then named "key[i]". */
const struct ch_json_value *ch_json_check_array(struct ch_json_check *c,
                                                const struct ch_json_value *obj, const char *key,
                                                int flags);

/* The same checks for element `index` of array `arr` (a missing element is "is required"). */
const char *ch_json_check_string_at(struct ch_json_check *c, const struct ch_json_value *arr,
                                    size_t index, int flags);
struct ch_str ch_json_check_str_at(struct ch_json_check *c, const struct ch_json_value *arr,
                                   size_t index, int flags);
int64_t ch_json_check_int_at(struct ch_json_check *c, const struct ch_json_value *arr, size_t index,
                             int flags, int64_t def);
double ch_json_check_double_at(struct ch_json_check *c, const struct ch_json_value *arr,
                               size_t index, int flags, double def);
int ch_json_check_bool_at(struct ch_json_check *c, const struct ch_json_value *arr, size_t index,
                          int flags, int def);
const struct ch_json_value *ch_json_check_object_at(struct ch_json_check *c,
                                                    const struct ch_json_value *arr, size_t index,
                                                    int flags);
const struct ch_json_value *ch_json_check_array_at(struct ch_json_check *c,
                                                   const struct ch_json_value *arr, size_t index,
                                                   int flags);

/* Records a handler's own problem for member `key` of `obj`, e.g. "must be between 1 and 100";
 * a NULL `key` names `obj` itself. `message` is copied into the arena. */
void ch_json_check_fail(struct ch_json_check *c, const struct ch_json_value *obj, const char *key,
                        const char *message);

/* 0 when no problem was recorded, CH_EINVAL when some were, CH_ENOMEM when the arena ran out
 * (the list may then be incomplete). */
int ch_json_check_result(const struct ch_json_check *c);

/* The recorded problems in the order they were found; *count receives their number. The
 * array lives in the arena and is invalidated by the next recorded problem. */
const struct ch_json_problem *ch_json_check_problems(const struct ch_json_check *c, size_t *count);

/* Writes the problems as an array of {"field": ..., "message": ...} objects, the "fields"
 * member of a 422 response. */
int ch_json_write_problems(struct ch_json_writer *w, const struct ch_json_check *c);

#ifdef __cplusplus
}
#endif

#endif
