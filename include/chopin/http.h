/* HTTP/1.1 message parsing (RFC 9112): the request head and the chunked body decoder.
 *
 * Both are zero-copy and re-entrant: they hold no global state and never read outside the
 * bytes they are given. The head parser is stateless: give it the whole buffer again when
 * more bytes arrive (a head is at most a few KiB). Slices in the result point into `buf`. */
#ifndef CHOPIN_HTTP_H
#define CHOPIN_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "method.h"
#include "str.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ch_header {
    struct ch_str name;
    struct ch_str value; /* leading and trailing whitespace removed */
};

enum ch_body_kind {
    CH_BODY_NONE,
    CH_BODY_LENGTH, /* Content-Length bytes follow the head */
    CH_BODY_CHUNKED,
};

struct ch_http_limits {
    size_t max_head;    /* bytes of request line plus fields plus the empty line (8192) */
    size_t max_headers; /* header fields (100) */
    uint64_t max_body;  /* bytes of (decoded) body (1 MiB) */
};

struct ch_http_head {
    struct ch_str method; /* the token as sent */
    int method_id;        /* enum ch_method */
    struct ch_str target; /* request-target as sent */
    struct ch_str path;   /* absolute path: "/a/b", "*" for OPTIONS *, authority for CONNECT */
    struct ch_str query;  /* after the first '?', without it; empty when there is none */
    struct ch_str host;   /* Host field, or the authority of an absolute-form target */
    int minor_version;    /* 0 or 1 (HTTP/1.2-1.9 are treated as 1.1) */
    struct ch_header *headers;
    size_t num_headers;
    enum ch_body_kind body_kind;
    uint64_t content_length; /* with CH_BODY_LENGTH */
    unsigned keep_alive : 1; /* the connection may serve another request after this one */
    unsigned expect_continue : 1;
};

/* Parses one request head at the start of buf[0..len). `headers` must have room for
 * lim->max_headers entries. Returns the head's length in bytes (through the empty line),
 * CH_INCOMPLETE when more bytes are needed, or a CH_EHTTP_* code (see ch_http_error_status).
 * A prefix of valid input never yields an error, and any prefix of an invalid head yields
 * either CH_INCOMPLETE or the same error as the whole. Leading empty lines are skipped. */
int ch_http_parse_head(const char *buf, size_t len, struct ch_http_head *h,
                       struct ch_header *headers, const struct ch_http_limits *lim);

/* The response status for a parse error: 400, 413, 414, 431, 501 or 505. */
int ch_http_error_status(int err);

/* Incremental, in-place decoder for a chunked body. */
struct ch_http_chunked {
    uint64_t _remaining; /* data bytes left in the current chunk */
    uint64_t _total;     /* decoded bytes so far */
    size_t _line;        /* extension and trailer bytes seen so far (both are capped) */
    int _state;
    int _digits;
};

/* Prepares a decoder for a new body. */
void ch_http_chunked_init(struct ch_http_chunked *d);

/* Decodes buf[*src..len) in place: data bytes are moved down to buf[*dst..] and both offsets
 * advance. Start with *src == *dst at the first body byte and call again with the same buffer
 * (possibly grown) as bytes arrive. Returns 1 when the last chunk and trailer section are
 * consumed (*src is then just past the body), CH_INCOMPLETE, CH_EHTTP_CHUNK_SIZE,
 * CH_EHTTP_CHUNK_FRAMING or CH_EHTTP_BODY_TOO_LARGE when the data exceed max_body. */
int ch_http_chunked_decode(struct ch_http_chunked *d, char *buf, size_t len, size_t *src,
                           size_t *dst, uint64_t max_body);

/* The reason phrase for a status code ("Not Found"), "Unknown" for codes it does not know. */
const char *ch_http_status_text(int status);

#ifdef __cplusplus
}
#endif

#endif
