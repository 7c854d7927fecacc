/* Replays fuzz/regression/json_parse/ (inputs that once broke the parser, kept forever) through the
 * fuzz driver's checks: a parse flush against a guard page, and for accepted inputs a write,
 * re-parse, equality and stable output. Runs from the repository root, as `make unit` does. */
#include <dirent.h>
#include <stdlib.h>

#include "../test.h"
#include "chopin/json.h"

#define REGRESSION_DIR "fuzz/regression/json_parse"

static void replay(const char *name, const char *data, size_t len)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    const char *g = ch_test_guarded(data, len);
    const struct ch_json_value *root;
    struct ch_json_error err = {0};
    int rc = ch_json_parse(g, len, &a, &root, &err);
    if (rc == CH_EINVAL) {
        ASSERT(err.reason != NULL && err.line >= 1 && err.column >= 1 && err.offset <= len);
    } else if (rc == 0) {
        struct ch_buf first, second;
        ch_buf_init(&first);
        ch_buf_init(&second);
        struct ch_json_writer w;
        ch_json_writer_init(&w, &first);
        ch_json_write_value(&w, root);
        ASSERT_EQ(ch_json_writer_finish(&w), 0);
        const struct ch_json_value *back;
        if (ch_json_parse(first.ptr, first.len, &a, &back, NULL) != 0)
            ch_test_fail(__FILE__, __LINE__, "%s: written text does not parse", name);
        if (!ch_json_value_equal(root, back))
            ch_test_fail(__FILE__, __LINE__, "%s: round trip changed the value", name);
        ch_json_writer_init(&w, &second);
        ch_json_write_value(&w, back);
        ASSERT_EQ(ch_json_writer_finish(&w), 0);
        if (first.len != second.len || memcmp(first.ptr, second.ptr, first.len) != 0)
            ch_test_fail(__FILE__, __LINE__, "%s: writing is not stable", name);
        ch_buf_cleanup(&first);
        ch_buf_cleanup(&second);
    } else {
        ch_test_fail(__FILE__, __LINE__, "%s: unexpected result %d", name, rc);
    }
    ch_test_guard_free(g, len);
    ch_arena_cleanup(&a);
}

TEST(json_fuzz_regressions)
{
    DIR *dir = opendir(REGRESSION_DIR);
    if (!dir) return; /* not run from the repository root: nothing to replay */
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", REGRESSION_DIR, e->d_name);
        FILE *f = fopen(path, "rb");
        ASSERT(f != NULL);
        static char data[1 << 20];
        size_t len = fread(data, 1, sizeof(data), f);
        fclose(f);
        replay(e->d_name, data, len);
    }
    closedir(dir);
}
