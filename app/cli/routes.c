/* chopin routes: the project's routes, as its own binary lists them (APP --routes). */
#include <stdio.h>

#include "cli.h"

int cli_routes(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs("Usage: chopin routes\n\nBuilds the project in the current folder and prints its "
              "routes: method, pattern and middleware.\n",
              stdout);
        return 0;
    }
    if (argc > 1) return cli_usage_error("routes", "unexpected argument '%s'", argv[1]);
    char app[4096];
    if (cli_build("routes") != 0 || cli_project_app("routes", app, sizeof(app)) != 0) return 1;
    char *args[] = {app, "--routes", NULL};
    return cli_exec_wait(args);
}
