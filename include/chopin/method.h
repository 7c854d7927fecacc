/* HTTP request methods known to Chopin. Any other method token is answered with 501. */
#ifndef CHOPIN_METHOD_H
#define CHOPIN_METHOD_H

#include "str.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ch_method {
    CH_GET = 0,
    CH_HEAD,
    CH_POST,
    CH_PUT,
    CH_PATCH,
    CH_DELETE,
    CH_OPTIONS,
    CH_CONNECT,
    CH_TRACE,
    CH_METHOD_COUNT
};

/* Bit masks of methods, for routes that accept several (CH_ANY accepts all). */
#define CH_METHOD_BIT(m) (1u << (m))
#define CH_ANY           ((1u << CH_METHOD_COUNT) - 1)

/* The method's token ("GET"); "" for an out-of-range value. */
const char *ch_method_name(enum ch_method m);

/* The method named by `token` (case-sensitive, as RFC 9110 requires), or -1 if unknown. */
int ch_method_parse(struct ch_str token);

#ifdef __cplusplus
}
#endif

#endif
