/* Writing the files of a project from templates, for chopin new and chopin generate. */
#ifndef CHOPIN_APP_CLI_WRITE_H
#define CHOPIN_APP_CLI_WRITE_H

#include <stddef.h>

/* One substitution: every "{{key}}" in a template becomes `value`. */
struct cli_var {
    const char *key;
    const char *value;
};

/* Expands `tmpl` with `vars` into a new heap string (NULL when out of memory). An unknown
 * {{key}} is left as it is. */
char *cli_expand(const char *tmpl, const struct cli_var *vars, size_t nvars);

/* Writes `text` to `path`, creating parent folders. Refuses (returns 1 and says so) when the
 * file exists and `overwrite` is 0; 0 on success, 1 on an error (printed). */
int cli_write_file(const char *cmd, const char *path, const char *text, int overwrite);

/* Reads a whole file into a heap string; NULL when it cannot be read. */
char *cli_read_file(const char *path);

#endif
