/* Built out of tree by tests/install/test_install.py: an app declaring its own settings.
 * GET /greeting answers GREETING; GET /page-max answers PAGE_MAX as an integer, or 500 when
 * the value is not one. Compression is on, so linking it needs the whole pkg-config line. */
#include <chopin/chopin.h>

static struct ch_app *the_app;

static int greeting(struct ch_request *req)
{
    const char *v = ch_app_setting_get(the_app, "GREETING");
    ch_json_string(ch_json_ok(req), v ? v : "(null)");
    return ch_respond(req, 200);
}

static int page_max(struct ch_request *req)
{
    long max = 0;
    int rc = ch_app_setting_int(the_app, "PAGE_MAX", 1, 1000, &max);
    if (rc) return ch_error(req, CH_ERR_INTERNAL, "PAGE_MAX: %s", ch_strerror(rc));
    ch_json_int(ch_json_ok(req), max);
    return ch_respond(req, 200);
}

int main(int argc, char **argv)
{
    struct ch_app *app = the_app = ch_app_new();
    ch_app_use(app, ch_mw_compress(NULL)); /* so the link line must bring zlib and Brotli */
    ch_app_use_defaults(app);
    if (ch_app_setting(app, "GREETING", "hello", "what GET /greeting answers") ||
        ch_app_setting(app, "PAGE_MAX", "100", "largest page") ||
        ch_app_setting(app, "PAGE_MAX", "5", "declared twice") != CH_EINVAL ||
        ch_app_setting_get(app, "UNDECLARED") != NULL)
        return 3;
    ch_get(app, "/greeting", greeting);
    ch_get(app, "/page-max", page_max);
    return ch_app_run(app, argc, argv);
}
