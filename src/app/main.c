/* The chopin binary: the framework with its example endpoints. */
#include <chopin/chopin.h>

#include "basic.h"
#include "notes.h"

int main(int argc, char **argv)
{
    struct ch_app *app = ch_app_new();
    if (!app) return 1;
    int rc = ch_app_configure(app, argc, argv);
    if (rc != 0) {
        ch_app_free(app);
        return rc == 1 ? 0 : rc;
    }
    ch_app_use_defaults(app);
    basic_register(app);
    notes_register(app);
    if (basic_render_docs(app) != 0) return 1;
    rc = ch_app_serve(app);
    ch_app_free(app);
    return rc;
}
