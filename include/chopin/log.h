/* Logging to stderr: one line per call ("2026-12-06T10:00:00.000Z error message"), written
 * with a single write(2) so lines from different workers never interleave. */
#ifndef CHOPIN_LOG_H
#define CHOPIN_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

enum ch_log_level { CH_LOG_DEBUG, CH_LOG_INFO, CH_LOG_WARN, CH_LOG_ERROR };

/* Logs a printf-style message at `level`; messages below the current level are dropped. */
void ch_log(enum ch_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Messages below this level are dropped (default CH_LOG_INFO). */
void ch_log_set_level(enum ch_log_level level);

#ifdef __cplusplus
}
#endif

#endif
