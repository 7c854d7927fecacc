/* chopin new NAME [--db sqlite|postgres]: a project folder that builds against the installed
 * library with pkg-config, passes its own tests right away and serves a welcome route. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "templates.h"
#include "write.h"

static const char usage[] =
    "Usage: chopin new NAME [--db sqlite|postgres]\n"
    "\n"
    "Creates the folder NAME with a Chopin application: Makefile (make, make run, make test,\n"
    "make debug), src/, migrations/, tests/, .env.example, .gitignore and README.md. It builds\n"
    "against the installed library through pkg-config. NAME: letters, digits, - and _; the\n"
    "folder must not exist. --db picks the DATABASE_URL written to .env.example (default\n"
    "sqlite: a file in the project folder, no server needed).\n";

static int valid_name(const char *s)
{
    if (!isalpha((unsigned char)*s) || strlen(s) > 64) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_') return 0;
    return 1;
}

int cli_new(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *name = NULL, *db = "sqlite";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--db")) {
            if (++i == argc) return cli_usage_error("new", "--db needs sqlite or postgres");
            db = argv[i];
        } else if (!strncmp(argv[i], "--db=", 5)) {
            db = argv[i] + 5;
        } else if (argv[i][0] == '-') {
            return cli_usage_error("new", "unknown option '%s' (see chopin new --help)", argv[i]);
        } else if (name) {
            return cli_usage_error("new", "one NAME only ('%s' and '%s')", name, argv[i]);
        } else {
            name = argv[i];
        }
    }
    if (!name) return cli_usage_error("new", "missing NAME (chopin new my-api)");
    if (!valid_name(name))
        return cli_usage_error("new", "NAME must start with a letter and hold only letters, "
                                      "digits, - and _ ('%s')",
                               name);
    if (strcmp(db, "sqlite") && strcmp(db, "postgres"))
        return cli_usage_error("new", "--db must be sqlite or postgres, not '%s'", db);
    if (mkdir(name, 0755) != 0) {
        if (errno == EEXIST) return cli_fail("new", "'%s' already exists; not touching it", name);
        return cli_fail("new", "cannot create '%s': %s", name, strerror(errno));
    }

    /* The C identifier form of the name, for symbols ("my-api" -> "my_api"). */
    char ident[80];
    snprintf(ident, sizeof(ident), "%s", name);
    for (char *p = ident; *p; p++)
        if (*p == '-') *p = '_';
    const char *url = !strcmp(db, "postgres") ? "postgres://postgres@127.0.0.1:5432/" : "sqlite:";
    char dburl[256];
    snprintf(dburl, sizeof(dburl), "%s%s%s", url, ident, !strcmp(db, "postgres") ? "" : ".db");
    const struct cli_var vars[] = {
        {"name", name},
        {"ident", ident},
        {"database_url", dburl},
        {"version", CH_VERSION},
    };
    for (size_t i = 0; i < cli_project_files_count; i++) {
        const struct cli_template *t = &cli_project_files[i];
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", name, t->path);
        char *text = cli_expand(t->text, vars, sizeof(vars) / sizeof(vars[0]));
        if (!text) return cli_fail("new", "out of memory");
        int rc = cli_write_file("new", path, text, 0);
        free(text);
        if (rc) return rc;
    }
    printf("Created %s/ (%s). Next:\n  cd %s && make test && make run\n", name, db, name);
    return 0;
}
