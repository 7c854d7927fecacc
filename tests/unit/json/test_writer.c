/* The JSON writer: separators, nesting, escaping, UTF-8 handling, numbers and misuse. */
#include <math.h>
#include <stdlib.h>

#include "../test.h"
#include "chopin/json.h"

struct out {
    struct ch_buf buf;
    struct ch_json_writer w;
};

static struct ch_json_writer *start(struct out *o)
{
    ch_buf_init(&o->buf);
    ch_json_writer_init(&o->w, &o->buf);
    return &o->w;
}

#define ASSERT_OUT(o, expect)                              \
    do {                                                   \
        ASSERT_EQ(ch_json_writer_finish(&(o)->w), 0);      \
        ASSERT_MEM_EQ((o)->buf.ptr, (o)->buf.len, expect); \
        ch_buf_cleanup(&(o)->buf);                         \
    } while (0)

/* Writes one string value and returns the output (static storage). */
static const char *str_json(const char *s, size_t len)
{
    static char text[1024];
    struct out o;
    ch_json_str(start(&o), ch_str_make(s, len));
    if (ch_json_writer_finish(&o.w) != 0 || o.buf.len >= sizeof(text)) abort();
    memcpy(text, o.buf.ptr, o.buf.len);
    text[o.buf.len] = '\0';
    ch_buf_cleanup(&o.buf);
    return text;
}

TEST(writer_object_commas)
{
    struct out o;
    struct ch_json_writer *w = start(&o);
    ch_json_object_begin(w);
    ch_json_key(w, "id");
    ch_json_int(w, 5);
    ch_json_key(w, "tags");
    ch_json_array_begin(w);
    ch_json_string(w, "a");
    ch_json_string(w, "b");
    ch_json_array_begin(w);
    ch_json_array_end(w);
    ch_json_object_begin(w);
    ch_json_object_end(w);
    ch_json_array_end(w);
    ch_json_key(w, "ok");
    ch_json_bool(w, 1);
    ch_json_key(w, "no");
    ch_json_bool(w, 0);
    ch_json_key(w, "nothing");
    ch_json_null(w);
    ch_json_key(w, "s");
    ch_json_string(w, NULL);
    ch_json_key(w, "raw");
    ch_json_raw(w, "{\"x\":[1,2]}", 11);
    ch_json_key(w, "d");
    ch_json_double(w, 0.5);
    ch_json_object_end(w);
    ASSERT_OUT(&o,
               "{\"id\":5,\"tags\":[\"a\",\"b\",[],{}],\"ok\":true,\"no\":false,\"nothing\":null,"
               "\"s\":null,\"raw\":{\"x\":[1,2]},\"d\":0.5}");
}

TEST(writer_scalars_at_top_level)
{
    struct out o;
    ch_json_int(start(&o), -7);
    ASSERT_OUT(&o, "-7");
    ch_json_string(start(&o), "");
    ASSERT_OUT(&o, "\"\"");
    ch_json_null(start(&o));
    ASSERT_OUT(&o, "null");
}

TEST(writer_keeps_existing_buffer_contents)
{
    struct out o;
    ch_buf_init(&o.buf);
    ch_buf_append_cstr(&o.buf, "data: ");
    ch_json_writer_init(&o.w, &o.buf);
    ch_json_array_begin(&o.w);
    ch_json_array_end(&o.w);
    ASSERT_OUT(&o, "data: []");
}

TEST(writer_int64_extremes)
{
    struct out o;
    struct ch_json_writer *w = start(&o);
    ch_json_array_begin(w);
    ch_json_int(w, INT64_MIN);
    ch_json_int(w, INT64_MAX);
    ch_json_int(w, 0);
    ch_json_int(w, -1);
    ch_json_int(w, 9007199254740993);
    ch_json_array_end(w);
    ASSERT_OUT(&o, "[-9223372036854775808,9223372036854775807,0,-1,9007199254740993]");
}

TEST(writer_doubles)
{
    struct out o;
    struct ch_json_writer *w = start(&o);
    ch_json_array_begin(w);
    ch_json_double(w, 1.5);
    ch_json_double(w, 3.0);
    ch_json_double(w, -0.0);
    ch_json_double(w, 1e300);
    ch_json_double(w, NAN);
    ch_json_double(w, INFINITY);
    ch_json_double(w, -INFINITY);
    ch_json_double(w, 5e-324);
    ch_json_array_end(w);
    ASSERT_OUT(&o, "[1.5,3.0,-0.0,1e300,null,null,null,5e-324]");
}

TEST(writer_escapes_every_control_character)
{
    static const char *expect[32] = {
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
        "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
        "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
        "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"};
    for (int c = 0; c < 32; c++) {
        char in[20], want[40];
        /* Alone, and inside a run long enough for the 8-byte path. */
        in[0] = (char)c;
        snprintf(want, sizeof(want), "\"%s\"", expect[c]);
        ASSERT_CSTR_EQ(str_json(in, 1), want);
        memcpy(in, "abcdefghij", 10);
        in[5] = (char)c;
        snprintf(want, sizeof(want), "\"abcde%sghij\"", expect[c]);
        ASSERT_CSTR_EQ(str_json(in, 10), want);
    }
    ASSERT_CSTR_EQ(str_json("\x7f", 1), "\"\x7f\"");
}

TEST(writer_escapes_quotes_and_backslashes)
{
    ASSERT_CSTR_EQ(str_json("\"", 1), "\"\\\"\"");
    ASSERT_CSTR_EQ(str_json("\\", 1), "\"\\\\\"");
    ASSERT_CSTR_EQ(str_json("say \"hi\" to C:\\dir\\file now", 27),
                   "\"say \\\"hi\\\" to C:\\\\dir\\\\file now\"");
    ASSERT_CSTR_EQ(str_json("/<>&'", 5), "\"/<>&'\"");
}

TEST(writer_utf8_passes_through)
{
    const char *s = "caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf "
                    "\xed\x9f\xbf \xee\x80\x80";
    char want[128];
    snprintf(want, sizeof(want), "\"%s\"", s);
    ASSERT_CSTR_EQ(str_json(s, strlen(s)), want);
    ASSERT_CSTR_EQ(str_json("\xc3\xa9", 2), "\"\xc3\xa9\"");
}

TEST(writer_invalid_utf8_becomes_replacement)
{
#define FFFD "\xef\xbf\xbd"
    ASSERT_CSTR_EQ(str_json("a\x80z", 3), "\"a" FFFD "z\"");               /* lone continuation */
    ASSERT_CSTR_EQ(str_json("\xc0\xaf", 2), "\"" FFFD FFFD "\"");          /* overlong '/' */
    ASSERT_CSTR_EQ(str_json("\xe0\x80\xaf", 3), "\"" FFFD FFFD FFFD "\""); /* overlong */
    ASSERT_CSTR_EQ(str_json("\xed\xa0\x80", 3), "\"" FFFD FFFD FFFD "\""); /* surrogate */
    ASSERT_CSTR_EQ(str_json("\xf4\x90\x80\x80", 4), "\"" FFFD FFFD FFFD FFFD "\""); /* >10FFFF */
    ASSERT_CSTR_EQ(str_json("\xf5\x80", 2), "\"" FFFD FFFD "\"");
    ASSERT_CSTR_EQ(str_json("\xff", 1), "\"" FFFD "\"");
    ASSERT_CSTR_EQ(str_json("ab\xe2\x82", 4), "\"ab" FFFD FFFD "\""); /* truncated at the end */
    ASSERT_CSTR_EQ(str_json("\xe2\x82x", 3), "\"" FFFD FFFD "x\"");   /* truncated inside */
    ASSERT_CSTR_EQ(str_json("0123456789\xe2\x82x0123456789", 23),
                   "\"0123456789" FFFD FFFD "x0123456789\"");
#undef FFFD
}

TEST(writer_long_strings_grow_the_buffer)
{
    /* Escapes that expand sixfold must grow the buffer mid-string. */
    static char in[5000];
    for (size_t i = 0; i < sizeof(in); i++) in[i] = (char)(i % 3 == 0 ? 1 : 'x');
    struct out o;
    ch_json_str(start(&o), ch_str_make(in, sizeof(in)));
    ASSERT_EQ(ch_json_writer_finish(&o.w), 0);
    size_t ones = (sizeof(in) + 2) / 3;
    ASSERT_EQ(o.buf.len, 2 + ones * 6 + (sizeof(in) - ones));
    ch_buf_cleanup(&o.buf);
}

TEST(writer_depth_limit)
{
    struct out o;
    struct ch_json_writer *w = start(&o);
    for (int i = 0; i < CH_JSON_MAX_DEPTH; i++) ASSERT_EQ(ch_json_array_begin(w), 0);
    for (int i = 0; i < CH_JSON_MAX_DEPTH; i++) ASSERT_EQ(ch_json_array_end(w), 0);
    ASSERT_EQ(ch_json_writer_finish(w), 0);
    ch_buf_cleanup(&o.buf);

    w = start(&o);
    for (int i = 0; i < CH_JSON_MAX_DEPTH; i++) ch_json_array_begin(w);
    ASSERT_EQ(ch_json_array_begin(w), CH_ERANGE);
    ASSERT_EQ(ch_json_int(w, 1), CH_ERANGE); /* sticky */
    ASSERT_EQ(ch_json_writer_finish(w), CH_ERANGE);
    ch_buf_cleanup(&o.buf);
}

TEST(writer_misuse_is_sticky)
{
    struct out o;
    struct ch_json_writer *w = start(&o);
    ch_json_object_begin(w);
    ASSERT_EQ(ch_json_int(w, 1), CH_EINVAL); /* value without a key */
    ASSERT_EQ(ch_json_key(w, "a"), CH_EINVAL);
    ASSERT_EQ(ch_json_writer_finish(w), CH_EINVAL);
    ch_buf_cleanup(&o.buf);

    w = start(&o);
    ASSERT_EQ(ch_json_key(w, "a"), CH_EINVAL); /* key outside an object */
    ch_buf_cleanup(&o.buf);

    w = start(&o);
    ch_json_array_begin(w);
    ASSERT_EQ(ch_json_object_end(w), CH_EINVAL); /* mismatched end */
    ch_buf_cleanup(&o.buf);

    w = start(&o);
    ch_json_object_begin(w);
    ch_json_key(w, "a");
    ASSERT_EQ(ch_json_key(w, "b"), CH_EINVAL); /* two keys in a row */
    ch_buf_cleanup(&o.buf);

    w = start(&o);
    ch_json_object_begin(w);
    ch_json_key(w, "a");
    ASSERT_EQ(ch_json_object_end(w), CH_EINVAL); /* key without value */
    ch_buf_cleanup(&o.buf);

    w = start(&o);
    ch_json_int(w, 1);
    ASSERT_EQ(ch_json_int(w, 2), CH_EINVAL); /* second top-level value */
    ch_buf_cleanup(&o.buf);

    w = start(&o);
    ch_json_array_begin(w);
    ASSERT_EQ(ch_json_writer_finish(w), CH_EINVAL); /* unfinished */
    ch_buf_cleanup(&o.buf);

    w = start(&o);
    ASSERT_EQ(ch_json_writer_finish(w), CH_EINVAL); /* nothing written */
    ASSERT_EQ(ch_json_array_end(w), CH_EINVAL);
    ch_buf_cleanup(&o.buf);
}

TEST(writer_into_arena_buffer)
{
    char storage[256];
    struct ch_arena a;
    ch_arena_init(&a, storage, sizeof(storage));
    struct ch_buf b;
    ch_buf_init_arena(&b, &a);
    struct ch_json_writer w;
    ch_json_writer_init(&w, &b);
    ch_json_array_begin(&w);
    for (int i = 0; i < 1000; i++) ch_json_int(&w, i);
    ch_json_array_end(&w);
    ASSERT_EQ(ch_json_writer_finish(&w), 0);
    ASSERT_EQ(b.ptr[0], '[');
    ASSERT_MEM_EQ(b.ptr + b.len - 5, 5, ",999]");
    ch_arena_cleanup(&a);
}
