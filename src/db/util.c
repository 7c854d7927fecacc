/* Small helpers shared by the database front end and its drivers. */
#include <stdio.h>
#include <time.h>

#include "db/internal.h"

size_t ch__db_format_time(char *dst, int64_t unix_ms)
{
    int64_t secs = unix_ms / 1000, ms = unix_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return 0;
    int n = snprintf(dst, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
    return n > 0 && n < 32 ? (size_t)n : 0;
}
