/* Logging to stderr: one line per call, written with a single write(2) so lines from
 * different workers never interleave. */
#ifndef CH_UTIL_LOG_H
#define CH_UTIL_LOG_H

enum ch_log_level { CH_LOG_DEBUG, CH_LOG_INFO, CH_LOG_WARN, CH_LOG_ERROR };

void ch_log(enum ch_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Messages below this level are dropped (default CH_LOG_INFO). */
void ch_log_set_level(enum ch_log_level level);

#endif
