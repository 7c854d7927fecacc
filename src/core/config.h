/* Configuration internals shared with the framework layer. */
#ifndef CH_CORE_CONFIG_H
#define CH_CORE_CONFIG_H

#include <stdio.h>

#include "chopin/config.h"

/* ch_config_load(), with `more_usage` (may be NULL) printing the application's own part of
 * the --help text after the framework's. */
int ch__config_load(struct ch_config *cfg, int argc, char **argv, char *err, size_t errlen,
                    void (*more_usage)(FILE *out, void *arg), void *arg);

/* The program's name for messages: the basename of argv[0], or "chopin" without one. */
const char *ch__config_program(int argc, char **argv);

#endif
