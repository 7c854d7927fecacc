/* libFuzzer driver for the JSON parser, using only the public API.
 *
 * Every input is parsed. A rejected input must come with a reason and a position inside it.
 * An accepted one is walked with the accessors, written back, and the text re-parsed: the two
 * trees must be equal, and writing the second must reproduce the first text byte for byte.
 *
 * Build (from the repository root) with clang -fsanitize=fuzzer,address,undefined, the include
 * paths -Iinclude -Isrc, -D_GNU_SOURCE, and every .c file of src/json and src/util; run with
 * -dict=fuzz/json.dict on fuzz/corpus/json. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "json_parse: %s\n", what);
    abort();
}

/* Touches every value through the accessors and iterators. */
static size_t walk(const struct ch_json_value *v, int depth)
{
    size_t n = 1;
    switch (ch_json_value_type(v)) {
    case CH_JSON_ARRAY:
    case CH_JSON_OBJECT: {
        struct ch_json_iter it;
        struct ch_str key;
        size_t count = 0;
        ch_json_iter_init(&it, v);
        for (const struct ch_json_value *c; (c = ch_json_iter_next(&it, &key)); count++) {
            if (ch_json_value_type(v) == CH_JSON_OBJECT &&
                !ch_json_value_getn(v, key.ptr ? key.ptr : "", key.len))
                fail("member not found by its own key");
            if (ch_json_value_type(v) == CH_JSON_ARRAY && ch_json_value_at(v, count) != c)
                fail("element not found by its index");
            n += walk(c, depth + 1);
        }
        if (count != ch_json_value_count(v)) fail("iteration count differs");
        if (depth > CH_JSON_MAX_DEPTH) fail("tree deeper than the limit");
        break;
    }
    case CH_JSON_STRING: (void)ch_json_value_str(v); break;
    case CH_JSON_INT:
        if (ch_json_value_double(v) != (double)ch_json_value_int(v)) fail("int as double");
        break;
    case CH_JSON_DOUBLE:
        if (ch_json_value_double(v) != ch_json_value_double(v)) fail("NaN parsed");
        break;
    case CH_JSON_BOOL:
    case CH_JSON_NULL: break;
    default: fail("unknown type");
    }
    return n;
}

static void write_value(const struct ch_json_value *v, struct ch_buf *out)
{
    struct ch_json_writer w;
    ch_json_writer_init(&w, out);
    ch_json_write_value(&w, v);
    if (ch_json_writer_finish(&w) != 0) fail("writer failed on a parsed value");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ch_arena arena;
    ch_arena_init(&arena, NULL, 0);
    const struct ch_json_value *root = NULL;
    struct ch_json_error err = {0};
    int rc = ch_json_parse((const char *)data, size, &arena, &root, &err);
    if (rc == CH_EINVAL) {
        if (!err.reason || err.line < 1 || err.column < 1 || err.offset > size)
            fail("error without reason or position");
    } else if (rc == 0) {
        walk(root, 0);
        struct ch_buf first, second;
        ch_buf_init(&first);
        ch_buf_init(&second);
        write_value(root, &first);
        const struct ch_json_value *back = NULL;
        if (ch_json_parse(first.ptr, first.len, &arena, &back, &err) != 0)
            fail("written text does not parse");
        if (!ch_json_value_equal(root, back) || !ch_json_value_equal(back, root))
            fail("round trip changed the value");
        write_value(back, &second);
        if (first.len != second.len || memcmp(first.ptr, second.ptr, first.len) != 0)
            fail("writing is not stable");
        ch_buf_cleanup(&first);
        ch_buf_cleanup(&second);
    } else if (rc != CH_ENOMEM) {
        fail("unexpected result code");
    }
    ch_arena_cleanup(&arena);
    return 0;
}
