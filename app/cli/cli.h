/* The `chopin` command's subcommands: new, generate, db, run, routes.
 *
 * With no subcommand (or only flags) the binary serves, as it always did; a first argument
 * that is a word selects a subcommand. Every subcommand has --help; bad arguments print one
 * line to stderr and exit with status 2. */
#ifndef CHOPIN_APP_CLI_H
#define CHOPIN_APP_CLI_H

#include <stddef.h>

/* Runs the subcommand named by argv[1] and returns the process exit status, or -1 when argv
 * names no subcommand and the caller should serve; `chopin serve ARGS` is `chopin ARGS`, and
 * *shift is then 1: the caller drops argv[1]. */
int cli_main(int argc, char **argv, int *shift);

/* Subcommands: argv[0] is the subcommand's own name. */
int cli_new(int argc, char **argv);
int cli_generate(int argc, char **argv);
int cli_db(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_routes(int argc, char **argv);

/* Prints "chopin <cmd>: <message>" to stderr and returns 2 (bad usage). */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "chopin <cmd>: <message>" to stderr and returns 1 (the command failed). */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True when argv[1..] asks for help (-h or --help anywhere before "--"). */
int cli_wants_help(int argc, char **argv);

/* The project's application binary, from `make -s print-app` in the current folder (the
 * Makefile `chopin new` writes has that target). 0, or 1 after printing why. */
int cli_project_app(const char *cmd, char *path, size_t len);

/* Builds the project in the current folder with `make` (output shown). 0 on success. */
int cli_build(const char *cmd);

/* The next migration number: one more than the highest NNNN_ prefix in migrations/. */
long cli_next_migration(void);

/* Runs argv[0] with argv and waits: its exit status, or 1 when it could not start. */
int cli_exec_wait(char *const argv[]);

#endif
