/* Error codes. Library calls return 0 (or a count) on success and a negative CH_E* code on
 * failure; ch_strerror() names the code. Parsers may also return CH_INCOMPLETE. */
#ifndef CHOPIN_ERROR_H
#define CHOPIN_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum ch_error_code {
    CH_OK = 0,
    CH_INCOMPLETE = -1, /* a parser needs more input */
    CH_ENOMEM = -2,
    CH_EINVAL = -3,
    CH_ERANGE = -4,
    CH_EIO = -5,
    CH_ETIMEDOUT = -6,
    CH_EBUSY = -7,
    CH_ECLOSED = -8,
    CH_ENOTFOUND = -9,
    CH_EUNAVAILABLE = -10,
    CH_ECONFLICT = -11, /* a unique or foreign-key constraint refused the change */

    /* HTTP/1.1 request parsing; ch_http_error_status() maps each to its response status. */
    CH_EHTTP_REQUEST_LINE = -100,   /* malformed request line */
    CH_EHTTP_METHOD = -101,         /* unknown method: 501 */
    CH_EHTTP_VERSION = -102,        /* HTTP/2.0 and other versions: 505 */
    CH_EHTTP_TARGET = -103,         /* malformed request target */
    CH_EHTTP_URI_TOO_LONG = -104,   /* request line over the head limit: 414 */
    CH_EHTTP_HEAD_TOO_LARGE = -105, /* request head over the limit: 431 */
    CH_EHTTP_TOO_MANY_FIELDS = -106,
    CH_EHTTP_FIELD_NAME = -107,     /* empty name, non-token byte, or whitespace before ':' */
    CH_EHTTP_FIELD_VALUE = -108,    /* NUL, bare CR or another control character */
    CH_EHTTP_OBS_FOLD = -109,       /* a field line starting with whitespace */
    CH_EHTTP_BARE_CR = -110,        /* CR not followed by LF */
    CH_EHTTP_LINE_ENDING = -111,    /* LF without CR */
    CH_EHTTP_CONTENT_LENGTH = -112, /* malformed, duplicate or overflowing Content-Length */
    CH_EHTTP_TRANSFER_ENCODING = -113, /* framing in doubt: chunked absent, not last, twice */
    CH_EHTTP_CL_AND_TE = -114,      /* Content-Length together with Transfer-Encoding */
    CH_EHTTP_HOST = -115,           /* missing (HTTP/1.1), duplicate or malformed Host */
    CH_EHTTP_CHUNK_SIZE = -116,     /* invalid or overflowing chunk size */
    CH_EHTTP_CHUNK_FRAMING = -117,  /* missing CRLF after chunk data, bad extension or trailer */
    CH_EHTTP_BODY_TOO_LARGE = -118, /* 413 */
    CH_EHTTP_H2_PREFACE = -119,     /* "PRI * HTTP/2.0": 505 */
    CH_EHTTP_HTTP09 = -120,         /* a request line without a version: 400 */
    CH_EHTTP_TE_UNSUPPORTED = -121, /* codings before a final "chunked" (e.g. gzip): 501 */
};

/* A static English description of any CH_E* code; never NULL. */
const char *ch_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
