// smoke: GET /hello -> 200 "data":"Hello, World!"
#include <chopin/chopin.h>

static int hello(struct ch_request *req)
{
    ch_json_string(ch_json_ok(req), "Hello, World!");
    return ch_respond(req, 200);
}

int main(int argc, char **argv)
{
    struct ch_app *app = ch_app_new();
    ch_app_use_defaults(app);
    ch_get(app, "/hello", hello);
    return ch_app_run(app, argc, argv);
}
