/* Status codes: reason phrases and the status for each parse error. */
#include "chopin/error.h"
#include "chopin/http.h"

const char *ch_http_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    }
    return "Unknown";
}

int ch_http_error_status(int err)
{
    switch (err) {
    case CH_EHTTP_METHOD:
    case CH_EHTTP_TE_UNSUPPORTED: return 501;
    case CH_EHTTP_VERSION:
    case CH_EHTTP_H2_PREFACE: return 505;
    case CH_EHTTP_URI_TOO_LONG: return 414;
    case CH_EHTTP_HEAD_TOO_LARGE:
    case CH_EHTTP_TOO_MANY_FIELDS: return 431;
    case CH_EHTTP_BODY_TOO_LARGE: return 413;
    }
    return 400;
}
