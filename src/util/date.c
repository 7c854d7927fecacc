/* The shared Date header cache: four slots of relaxed atomic words and an atomic index.
 *
 * Slots are words rather than chars so that the copy a worker makes while the main thread
 * may be writing another slot is race-free in the C11 model (ThreadSanitizer checks that
 * model, not timing). Relaxed word loads and stores are plain moves on the usual targets. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "util/date.h"

enum { WORDS = (CH__DATE_LEN + 7) / 8 };

static _Atomic uint64_t slots[4][WORDS];
static _Atomic int current = -1;

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void ch__date_format(char *dst, time_t t)
{
    static const char days[] = "SunMonTueWedThuFriSat";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm;
    gmtime_r(&t, &tm);
    memcpy(dst, days + 3 * tm.tm_wday, 3);
    memcpy(dst + 3, ", ", 2);
    put2(dst + 5, tm.tm_mday);
    dst[7] = ' ';
    memcpy(dst + 8, months + 3 * tm.tm_mon, 3);
    dst[11] = ' ';
    int year = tm.tm_year + 1900;
    put2(dst + 12, year / 100);
    put2(dst + 14, year % 100);
    dst[16] = ' ';
    put2(dst + 17, tm.tm_hour);
    dst[19] = ':';
    put2(dst + 20, tm.tm_min);
    dst[22] = ':';
    put2(dst + 23, tm.tm_sec);
    memcpy(dst + 25, " GMT", 4);
}

void ch__date_refresh(void)
{
    int next = (atomic_load_explicit(&current, memory_order_relaxed) + 1) & 3;
    uint64_t w[WORDS] = {0};
    ch__date_format((char *)w, time(NULL));
    for (int i = 0; i < WORDS; i++)
        atomic_store_explicit(&slots[next][i], w[i], memory_order_relaxed);
    atomic_store_explicit(&current, next, memory_order_release);
}

void ch__date_copy(char *dst)
{
    int i = atomic_load_explicit(&current, memory_order_acquire);
    if (i < 0) {
        /* Only reached by tools and tests that never started a server. */
        static _Atomic int once;
        if (atomic_exchange(&once, 1) == 0) ch__date_refresh();
        while ((i = atomic_load_explicit(&current, memory_order_acquire)) < 0) {
        }
    }
    uint64_t w[WORDS];
    for (int k = 0; k < WORDS; k++) w[k] = atomic_load_explicit(&slots[i][k], memory_order_relaxed);
    memcpy(dst, w, CH__DATE_LEN);
}

void ch__date_sync(char *dst, int *slot)
{
    int i = atomic_load_explicit(&current, memory_order_acquire);
    if (i == *slot && i >= 0) return;
    ch__date_copy(dst);
    *slot = atomic_load_explicit(&current, memory_order_acquire);
}
