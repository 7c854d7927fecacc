// smoke: skip needs app/notes.c until rewritten on the public API (issue 9 point 8)
/* The notes API as a program of its own, linked against libchopin.a:
 *   make build/examples/notes && ./build/examples/notes --port 8080 */
#include <chopin/chopin.h>

#include "../app/notes.h"

int main(int argc, char **argv)
{
    struct ch_app *app = ch_app_new();
    ch_app_use_defaults(app);
    notes_register(app);
    return ch_app_run(app, argc, argv);
}
