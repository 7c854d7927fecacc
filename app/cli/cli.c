/* The `chopin` command: subcommand dispatch, help, and what the subcommands share. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"new", cli_new, "create a project folder that builds against the installed library"},
    {"generate", cli_generate, "write a resource: migration, CRUD handlers, routes, tests"},
    {"db", cli_db, "migrate | rollback [N] | status | new NAME, against DATABASE_URL"},
    {"run", cli_run, "build and run the project, rebuilding and restarting on changes"},
    {"routes", cli_routes, "print the project's routes (method, pattern, middleware)"},
};

static void print_help(void)
{
    printf("Usage: chopin [COMMAND] [ARGS...]\n"
           "\n"
           "With no command, chopin serves its own endpoints (see chopin serve --help).\n"
           "\n"
           "Commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        printf("  %-10s %s\n", commands[i].name, commands[i].summary);
    printf("  %-10s %s\n", "serve", "serve the chopin binary's own endpoints (the default)");
    printf("\n'chopin COMMAND --help' describes each command.\n");
}

int cli_main(int argc, char **argv, int *shift)
{
    *shift = 0;
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        print_help(); /* then the server's own options, from the caller */
        printf("\n");
        return -1;
    }
    if (argc < 2 || argv[1][0] == '-') return -1;
    const char *name = argv[1];
    if (!strcmp(name, "serve")) {
        *shift = 1;
        return -1;
    }
    if (!strcmp(name, "help")) {
        if (argc > 2) {
            char *sub[] = {argv[2], "--help", NULL};
            for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (!strcmp(commands[i].name, argv[2])) return commands[i].run(2, sub);
            return cli_usage_error("help", "unknown command '%s'", argv[2]);
        }
        print_help();
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(commands[i].name, name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "chopin: unknown command '%s' (see chopin --help)\n", name);
    return 2;
}

static void vreport(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "chopin %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    return 2;
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    return 1;
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    return 0;
}

int cli_exec_wait(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "chopin: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return 1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int cli_build(const char *cmd)
{
    if (access("Makefile", R_OK) != 0)
        return cli_fail(cmd, "no Makefile here: run it in a project folder (chopin new NAME)");
    char *argv[] = {"make", "-s", "--no-print-directory", NULL};
    return cli_exec_wait(argv) == 0 ? 0 : 1;
}

int cli_project_app(const char *cmd, char *path, size_t len)
{
    FILE *p = popen("make -s --no-print-directory print-app 2>/dev/null", "r");
    if (!p) return cli_fail(cmd, "cannot run make: %s", strerror(errno));
    int got = fgets(path, (int)len, p) != NULL;
    int rc = pclose(p);
    if (!got || rc != 0)
        return cli_fail(cmd, "the Makefile has no print-app target (is this a chopin project?)");
    path[strcspn(path, "\r\n")] = '\0';
    if (!*path) return cli_fail(cmd, "make print-app printed nothing");
    return 0;
}
