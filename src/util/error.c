/* Names for CH_E* codes. */
#include "chopin/error.h"

const char *ch_strerror(int err)
{
    switch (err) {
    case CH_OK: return "success";
    case CH_INCOMPLETE: return "incomplete input";
    case CH_ENOMEM: return "out of memory";
    case CH_EINVAL: return "invalid argument";
    case CH_ERANGE: return "value out of range";
    case CH_EIO: return "input/output error";
    case CH_ETIMEDOUT: return "timed out";
    case CH_EBUSY: return "resource busy";
    case CH_ECLOSED: return "connection closed";
    case CH_ENOTFOUND: return "not found";
    case CH_EUNAVAILABLE: return "service unavailable";
    case CH_ECONFLICT: return "conflict with existing data";
    case CH_EHTTP_REQUEST_LINE: return "malformed request line";
    case CH_EHTTP_METHOD: return "method not implemented";
    case CH_EHTTP_VERSION: return "HTTP version not supported";
    case CH_EHTTP_TARGET: return "malformed request target";
    case CH_EHTTP_URI_TOO_LONG: return "request line too long";
    case CH_EHTTP_HEAD_TOO_LARGE: return "request header fields too large";
    case CH_EHTTP_TOO_MANY_FIELDS: return "too many header fields";
    case CH_EHTTP_FIELD_NAME: return "malformed header field name";
    case CH_EHTTP_FIELD_VALUE: return "invalid character in header field value";
    case CH_EHTTP_OBS_FOLD: return "obsolete line folding";
    case CH_EHTTP_BARE_CR: return "bare CR";
    case CH_EHTTP_LINE_ENDING: return "line not terminated by CRLF";
    case CH_EHTTP_CONTENT_LENGTH: return "invalid Content-Length";
    case CH_EHTTP_TRANSFER_ENCODING: return "unsupported Transfer-Encoding";
    case CH_EHTTP_CL_AND_TE: return "both Content-Length and Transfer-Encoding";
    case CH_EHTTP_HOST: return "missing or invalid Host";
    case CH_EHTTP_CHUNK_SIZE: return "invalid chunk size";
    case CH_EHTTP_CHUNK_FRAMING: return "invalid chunked framing";
    case CH_EHTTP_BODY_TOO_LARGE: return "request body too large";
    case CH_EHTTP_H2_PREFACE: return "HTTP/2 is not supported on this port";
    case CH_EHTTP_HTTP09: return "HTTP/0.9 requests are not supported";
    case CH_EHTTP_TE_UNSUPPORTED: return "transfer coding not implemented";
    }
    return "unknown error";
}
