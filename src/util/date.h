/* The cached HTTP Date header value, shared by every worker.
 *
 * One thread (the server's main thread) calls ch__date_refresh() every 500 ms; each worker keeps
 * its own copy current with ch__date_sync() and copies that into responses. The value rotates through four slots, so
 * a copy never meets the slot being written unless the copier stalls for 1.5 s mid-copy, and
 * the slots are atomic words so that even then it is no data race. */
#ifndef CH_UTIL_DATE_H
#define CH_UTIL_DATE_H

#include <stddef.h>
#include <time.h>

#define CH__DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Formats `t` as an IMF-fixdate into dst (CH__DATE_LEN bytes, not NUL-terminated). */
void ch__date_format(char *dst, time_t t);

/* Publishes the current time as the cached Date value. Call from one thread only. */
void ch__date_refresh(void);

/* Copies the cached Date value (CH__DATE_LEN bytes, no NUL) to dst. Refreshes once if the
 * cache was never set. */
void ch__date_copy(char *dst);

/* Keeps a per-thread copy current: when the shared value changed since *slot, copies it into
 * dst (CH__DATE_LEN bytes) and updates *slot (start with -1). One atomic load when unchanged,
 * so a worker can call it on every wake-up and copy from its own cache line afterwards. */
void ch__date_sync(char *dst, int *slot);

#endif
