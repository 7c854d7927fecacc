/* chopin db: the project's migrations, run by the project's own binary, so the command and
 * the app share one migration engine and one DATABASE_URL (from the environment or .env).
 *
 *   chopin db migrate        apply pending migrations         (APP --migrate-only)
 *   chopin db rollback [N]   roll back the last N (1)          (APP --migrate-down N)
 *   chopin db status         applied and pending migrations   (APP --migrate-status)
 *   chopin db new NAME       write migrations/NNNN_NAME.sql, the next number */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "Usage: chopin db COMMAND\n"
    "\n"
    "Commands (run in a project folder; DATABASE_URL comes from the environment or .env):\n"
    "  migrate        build the project and apply its pending migrations\n"
    "  rollback [N]   roll back the last N applied migrations (default 1); each needs a down step\n"
    "  status         list applied and pending migrations\n"
    "  new NAME       create migrations/NNNN_NAME.sql with the next free number\n";

/* Builds the project, then runs its binary with one migration flag. */
static int run_app(const char *flag, const char *arg)
{
    char app[4096];
    if (cli_build("db") != 0) return 1;
    if (cli_project_app("db", app, sizeof(app)) != 0) return 1;
    char *argv[] = {app, (char *)flag, (char *)arg, NULL};
    return cli_exec_wait(argv);
}

static int valid_name(const char *s)
{
    if (!*s || strlen(s) > 100) return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_') return 0;
    return 1;
}

long cli_next_migration(void)
{
    long max = 0;
    DIR *d = opendir("migrations");
    if (!d) return 1;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long v = strtol(e->d_name, &end, 10);
        if (end != e->d_name && *end == '_' && v > max) max = v;
    }
    closedir(d);
    return max + 1;
}

static int new_migration(const char *name)
{
    if (!valid_name(name))
        return cli_usage_error("db new", "NAME must be lower-case letters, digits and _ ('%s')",
                               name);
    if (mkdir("migrations", 0755) != 0 && errno != EEXIST)
        return cli_fail("db new", "cannot create migrations/: %s", strerror(errno));
    char path[256];
    snprintf(path, sizeof(path), "migrations/%04ld_%s.sql", cli_next_migration(), name);
    FILE *f = fopen(path, "wx"); /* never overwrite */
    if (!f) return cli_fail("db new", "cannot create %s: %s", path, strerror(errno));
    fprintf(f, "-- %s: applied once, in its own transaction, by `chopin db migrate` or at start.\n"
               "-- Write SQL both SQLite and PostgreSQL accept, or add %.*s.postgres.sql and\n"
               "-- .sqlite.sql variants beside this file.\n\n",
            name, (int)(strlen(path) - 4), path);
    fclose(f);
    printf("created %s\n", path);
    return 0;
}

int cli_db(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 2)
        return cli_usage_error("db", "missing command: migrate, rollback [N], status or new NAME");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "migrate") || !strcmp(cmd, "status")) {
        if (argc != 2) return cli_usage_error("db", "%s takes no arguments", cmd);
        return run_app(!strcmp(cmd, "migrate") ? "--migrate-only" : "--migrate-status", NULL);
    }
    if (!strcmp(cmd, "rollback")) {
        const char *n = argc > 2 ? argv[2] : "1";
        char *end;
        long v = strtol(n, &end, 10);
        if (argc > 3 || *end || end == n || v < 1 || v > 1000000)
            return cli_usage_error("db", "rollback takes one positive number, not '%s'", n);
        return run_app("--migrate-down", n);
    }
    if (!strcmp(cmd, "new")) {
        if (argc != 3) return cli_usage_error("db", "usage: chopin db new NAME");
        return new_migration(argv[2]);
    }
    return cli_usage_error("db", "unknown command '%s' (migrate, rollback, status, new)", cmd);
}
