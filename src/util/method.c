/* Method names. */
#include "chopin/method.h"

static const char *const names[CH_METHOD_COUNT] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
};

const char *ch_method_name(enum ch_method m)
{
    return (unsigned)m < CH_METHOD_COUNT ? names[m] : "";
}

int ch_method_parse(struct ch_str t)
{
    switch (t.len) {
    case 3:
        if (memcmp(t.ptr, "GET", 3) == 0) return CH_GET;
        if (memcmp(t.ptr, "PUT", 3) == 0) return CH_PUT;
        break;
    case 4:
        if (memcmp(t.ptr, "POST", 4) == 0) return CH_POST;
        if (memcmp(t.ptr, "HEAD", 4) == 0) return CH_HEAD;
        break;
    case 5:
        if (memcmp(t.ptr, "PATCH", 5) == 0) return CH_PATCH;
        if (memcmp(t.ptr, "TRACE", 5) == 0) return CH_TRACE;
        break;
    case 6:
        if (memcmp(t.ptr, "DELETE", 6) == 0) return CH_DELETE;
        break;
    case 7:
        if (memcmp(t.ptr, "OPTIONS", 7) == 0) return CH_OPTIONS;
        if (memcmp(t.ptr, "CONNECT", 7) == 0) return CH_CONNECT;
        break;
    }
    return -1;
}
