/* String slices: a pointer and a length, never NUL-terminated by contract.
 *
 * Slices point into memory owned by someone else (usually a connection's read buffer or a
 * request arena); they are valid as long as that owner is, which for request data means until
 * the response is finished. */
#ifndef CHOPIN_STR_H
#define CHOPIN_STR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ch_str {
    const char *ptr;
    size_t len;
};

/* A slice of a string literal, without its terminating NUL. */
#ifdef __cplusplus
#define CH_STR(lit) (ch_str{(lit), sizeof(lit) - 1})
#else
#define CH_STR(lit) ((struct ch_str){(lit), sizeof(lit) - 1})
#endif

static inline struct ch_str ch_str_make(const char *ptr, size_t len)
{
    struct ch_str s = {ptr, len};
    return s;
}

/* A slice of a NUL-terminated string (NULL gives the empty slice). */
static inline struct ch_str ch_str_cstr(const char *s)
{
    struct ch_str r = {s, s ? strlen(s) : 0};
    return r;
}

static inline int ch_str_eq(struct ch_str a, struct ch_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline int ch_str_eq_cstr(struct ch_str a, const char *b)
{
    return ch_str_eq(a, ch_str_cstr(b));
}

/* ASCII case-insensitive equality, as HTTP field names and tokens compare. */
int ch_str_case_eq(struct ch_str a, struct ch_str b);

/* Parses a non-empty run of decimal digits, with nothing else, into *out. Returns 0, or
 * CH_EINVAL for any other character or an empty slice, or CH_ERANGE on overflow. */
int ch_str_to_u64(struct ch_str s, uint64_t *out);

/* Parses an optional '-' and decimal digits into *out; 0, CH_EINVAL or CH_ERANGE. */
int ch_str_to_i64(struct ch_str s, int64_t *out);

/* Removes leading and trailing spaces and horizontal tabs (HTTP's optional whitespace). */
struct ch_str ch_str_trim_ows(struct ch_str s);

/* Writes v in decimal to dst (at least 20 bytes) and returns the number of bytes written. */
size_t ch_u64_to_dec(char *dst, uint64_t v);

/* Writes v in decimal, with a leading '-' when negative (at least 21 bytes); returns the length. */
size_t ch_i64_to_dec(char *dst, int64_t v);

#ifdef __cplusplus
}
#endif

#endif
