/* URL components: percent-decoding, and query strings parsed into decoded key/value pairs.
 *
 * Percent-decoding is strict: '%' must be followed by two hex digits (either case), otherwise the
 * input is rejected with CH_EINVAL rather than passed through, so that "%zz" or a truncated "%4"
 * cannot mean different things to different layers. '+' means a space only in query strings
 * (the application/x-www-form-urlencoded convention); in a path, and so in router parameters, it
 * is a literal '+'. Decoded bytes are not validated further: output may contain any byte,
 * including NUL ("%00") and invalid UTF-8, so results are always (ptr, len) slices. Arena copies
 * are also NUL-terminated for convenience, but a C string view stops at the first "%00".
 *
 * Query strings ("a=1&tag=x&tag=y&flag") are split on '&' only, in order, keeping repeated keys.
 * A piece without '=' has an empty value; empty pieces ("a=1&&b=2", a trailing '&') are skipped;
 * a piece "=x" has an empty key. At most CH_QUERY_MAX_PAIRS pairs are accepted: more is an error,
 * not a silent truncation, so that no handler acts on half a query. */
#ifndef CHOPIN_URL_H
#define CHOPIN_URL_H

#include <stddef.h>

#include "arena.h"
#include "str.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CH_QUERY_MAX_PAIRS 256

/* ch_url_decode() flag: decode '+' as a space (query strings and form bodies). */
#define CH_URL_PLUS_AS_SPACE 1u

struct ch_query_pair {
    struct ch_str key;   /* decoded; NUL-terminated in the arena */
    struct ch_str value; /* decoded; NUL-terminated in the arena; empty (not NULL) without '=' */
};

struct ch_query {
    struct ch_query_pair *pairs; /* in the order they appear; owned by the arena */
    size_t count;
};

/* Percent-decodes `src` into `dst`, which needs room for src.len bytes (decoding never grows)
 * and may be the same memory as src.ptr for in-place decoding. `flags` is 0 or
 * CH_URL_PLUS_AS_SPACE. Returns 0 and sets *out_len, or CH_EINVAL for a malformed escape (dst
 * then holds unspecified bytes). Writes no NUL. */
int ch_url_decode(struct ch_str src, char *dst, size_t *out_len, unsigned flags);

/* Percent-decodes `src` into a NUL-terminated copy in `a` and points *out at it. Returns 0,
 * CH_EINVAL for a malformed escape, or CH_ENOMEM. */
int ch_url_decode_arena(struct ch_arena *a, struct ch_str src, unsigned flags, struct ch_str *out);

/* Parses `query` (the text after '?', without it) into decoded pairs allocated in `a`; keys and
 * values use CH_URL_PLUS_AS_SPACE. Returns 0; CH_EINVAL for a malformed escape; CH_ERANGE for
 * more than CH_QUERY_MAX_PAIRS pairs; CH_ENOMEM. On error *q is left empty. `query` is only read
 * during the call: the result does not point into it. */
int ch_query_parse(struct ch_arena *a, struct ch_str query, struct ch_query *q);

/* Sets *value to the value of the first pair whose decoded key is `key` and returns 0, or
 * returns CH_ENOTFOUND (leaving *value alone). */
int ch_query_get(const struct ch_query *q, struct ch_str key, struct ch_str *value);

/* Returns the next pair with key `key` after `prev` (NULL to start), or NULL when there is none:
 * for (p = ch_query_next(q, k, NULL); p; p = ch_query_next(q, k, p)) visits every value of k. */
const struct ch_query_pair *ch_query_next(const struct ch_query *q, struct ch_str key,
                                          const struct ch_query_pair *prev);

/* The number of pairs whose key is `key`. */
size_t ch_query_count(const struct ch_query *q, struct ch_str key);

#ifdef __cplusplus
}
#endif

#endif
