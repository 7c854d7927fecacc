/* The files `chopin new` and `chopin generate` write, as templates ({{name}} etc.). */
#ifndef CHOPIN_APP_CLI_TEMPLATES_H
#define CHOPIN_APP_CLI_TEMPLATES_H

#include <stddef.h>

struct cli_template {
    const char *path; /* relative to the project folder */
    const char *text;
};

/* A new project's files. Variables: name, ident (name as a C identifier), database_url,
 * version. */
extern const struct cli_template cli_project_files[];
extern const size_t cli_project_files_count;

#endif
