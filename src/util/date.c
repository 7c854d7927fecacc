/* The shared Date header cache: four slots and an atomic index. */
#include <stdatomic.h>
#include <string.h>

#include "util/date.h"

static char slots[4][CH_DATE_LEN + 3];
static _Atomic int current = -1;

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void ch_date_format(char *dst, time_t t)
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

void ch_date_refresh(void)
{
    int next = (atomic_load_explicit(&current, memory_order_relaxed) + 1) & 3;
    ch_date_format(slots[next], time(NULL));
    slots[next][CH_DATE_LEN] = '\0';
    atomic_store_explicit(&current, next, memory_order_release);
}

const char *ch_date_get(void)
{
    int i = atomic_load_explicit(&current, memory_order_acquire);
    if (i < 0) {
        /* Only reached by tools and tests that never started a server. */
        static _Atomic int once;
        if (atomic_exchange(&once, 1) == 0) ch_date_refresh();
        while ((i = atomic_load_explicit(&current, memory_order_acquire)) < 0) {
        }
    }
    return slots[i];
}
