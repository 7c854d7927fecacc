/* The chunked transfer coding decoder (RFC 9112 section 7.1), in place and resumable.
 *
 * Unlike the head parser this one keeps state: a body may be up to max_body bytes and arrive
 * in many reads, and re-scanning it each time would be quadratic. */
#include "chopin/error.h"
#include "chopin/http.h"

enum {
    S_SIZE,       /* chunk-size digits */
    S_SIZE_WS,    /* whitespace after the size, which must lead to ';' */
    S_EXT,        /* chunk extensions, up to CR */
    S_SIZE_LF,    /* LF ending the size line */
    S_DATA,       /* chunk data */
    S_DATA_CR,    /* CRLF after the data */
    S_DATA_LF,
    S_TRAILER,    /* start of a trailer line, or the final CRLF */
    S_TRAILER_NAME,
    S_TRAILER_VALUE,
    S_TRAILER_LF,
    S_END_LF,
};

/* Extensions and trailers are tolerated and ignored, but a sender may not make us scan
 * unbounded amounts of them: these caps are per body. */
enum { MAX_EXT_BYTES = 4096, MAX_TRAILER_BYTES = 8192, MAX_SIZE_DIGITS = 16 };

void ch_http_chunked_init(struct ch_http_chunked *d)
{
    memset(d, 0, sizeof(*d));
    d->_state = S_SIZE;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Bytes allowed in extensions and trailer values: visible, obs-text, SP and HTAB. */
static int is_text(unsigned char c)
{
    return (c >= 0x20 && c != 0x7f) || c == '\t';
}

int ch_http_chunked_decode(struct ch_http_chunked *d, char *buf, size_t len, size_t *src,
                           size_t *dst, uint64_t max_body)
{
    size_t s = *src, o = *dst;
    int rc = CH_INCOMPLETE;

    while (s < len) {
        unsigned char c = (unsigned char)buf[s];
        switch (d->_state) {
        case S_SIZE: {
            int v = hexval(c);
            if (v >= 0) {
                if (++d->_digits > MAX_SIZE_DIGITS) goto bad_size;
                d->_remaining = d->_remaining << 4 | (uint64_t)v;
                s++;
                break;
            }
            if (d->_digits == 0) goto bad_size; /* "", "-1", "x", "0x" start here */
            if (c == '\r') {
                d->_state = S_SIZE_LF;
            } else if (c == ';') {
                d->_state = S_EXT;
            } else if (c == ' ' || c == '\t') {
                d->_state = S_SIZE_WS;
            } else if (c == '\n') {
                goto bad_framing; /* a size line ended by LF alone */
            } else {
                goto bad_size;
            }
            if (d->_remaining > max_body - d->_total) {
                rc = CH_EHTTP_BODY_TOO_LARGE;
                goto out;
            }
            s++;
            break;
        }
        case S_SIZE_WS:
            if (c == ';') d->_state = S_EXT;
            else if (c != ' ' && c != '\t') goto bad_size;
            if (++d->_line > MAX_EXT_BYTES) goto bad_framing;
            s++;
            break;
        case S_EXT:
            if (c == '\r') {
                d->_state = S_SIZE_LF;
            } else if (!is_text(c) || ++d->_line > MAX_EXT_BYTES) {
                goto bad_framing;
            }
            s++;
            break;
        case S_SIZE_LF:
            if (c != '\n') goto bad_framing;
            s++;
            d->_digits = 0;
            d->_state = d->_remaining ? S_DATA : S_TRAILER;
            break;
        case S_DATA: {
            size_t n = len - s;
            if (n > d->_remaining) n = (size_t)d->_remaining;
            if (o != s) memmove(buf + o, buf + s, n);
            o += n;
            s += n;
            d->_remaining -= n;
            d->_total += n;
            if (d->_remaining == 0) d->_state = S_DATA_CR;
            break;
        }
        case S_DATA_CR:
            if (c != '\r') goto bad_framing;
            d->_state = S_DATA_LF;
            s++;
            break;
        case S_DATA_LF:
            if (c != '\n') goto bad_framing;
            d->_state = S_SIZE;
            s++;
            break;
        case S_TRAILER:
            if (c == '\r') {
                d->_state = S_END_LF;
                s++;
                break;
            }
            d->_state = S_TRAILER_NAME;
            /* A trailer line must start with a name: no folding, no empty name. */
            if (!is_tchar(c)) goto bad_framing;
            break;
        case S_TRAILER_NAME:
            if (++d->_line > MAX_TRAILER_BYTES) goto bad_framing;
            if (c == ':') d->_state = S_TRAILER_VALUE;
            else if (!is_tchar(c)) goto bad_framing;
            s++;
            break;
        case S_TRAILER_VALUE:
            if (++d->_line > MAX_TRAILER_BYTES) goto bad_framing;
            if (c == '\r') d->_state = S_TRAILER_LF;
            else if (!is_text(c)) goto bad_framing;
            s++;
            break;
        case S_TRAILER_LF:
            if (c != '\n') goto bad_framing;
            d->_state = S_TRAILER;
            s++;
            break;
        case S_END_LF:
            if (c != '\n') goto bad_framing;
            s++;
            rc = 1;
            goto out;
        }
    }
    goto out;

bad_size:
    rc = CH_EHTTP_CHUNK_SIZE;
    goto out;
bad_framing:
    rc = CH_EHTTP_CHUNK_FRAMING;
out:
    *src = s;
    *dst = o;
    return rc;
}
