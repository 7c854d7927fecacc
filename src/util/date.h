/* The cached HTTP Date header value, shared by every worker.
 *
 * One thread (the server's main thread) calls ch_date_refresh() every 500 ms; workers copy the
 * current string into responses. The value rotates through four slots, so a reader that loaded
 * the pointer keeps a stable string for at least 1.5 s, longer than any copy takes. */
#ifndef CH_UTIL_DATE_H
#define CH_UTIL_DATE_H

#include <stddef.h>
#include <time.h>

#define CH_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Formats `t` as an IMF-fixdate into dst (CH_DATE_LEN bytes, not NUL-terminated). */
void ch_date_format(char *dst, time_t t);

/* Publishes the current time as the cached Date value. Call from one thread only. */
void ch_date_refresh(void);

/* The cached Date value: CH_DATE_LEN bytes followed by a NUL. Refreshes once if never set. */
const char *ch_date_get(void);

#endif
