/* Reading parsed trees (accessors, lookup, iteration, equality), writing them back, and the
 * validating checks with their problem list. */
#include <stdlib.h>

#include "../test.h"
#include "chopin/json.h"

static const struct ch_json_value *parse(struct ch_arena *a, const char *text)
{
    const struct ch_json_value *root = NULL;
    struct ch_json_error err = {0};
    if (ch_json_parse(text, strlen(text), a, &root, &err) != 0)
        ch_test_fail(__FILE__, __LINE__, "%s: %s at %u:%u", text, err.reason, err.line, err.column);
    return root;
}

TEST(value_accessors)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    const struct ch_json_value *r =
        parse(&a, "{\"n\":null,\"t\":true,\"f\":false,\"i\":-12,\"d\":2.5,\"s\":\"x\","
                  "\"arr\":[1,[2,3],{\"k\":4},5],\"o\":{}}");
    ASSERT_EQ(ch_json_value_type(r), CH_JSON_OBJECT);
    ASSERT_EQ(ch_json_value_count(r), 8);
    ASSERT_EQ(ch_json_value_type(NULL), CH_JSON_NONE);
    ASSERT_EQ(ch_json_value_type(ch_json_value_get(r, "n")), CH_JSON_NULL);
    ASSERT_EQ(ch_json_value_bool(ch_json_value_get(r, "t")), 1);
    ASSERT_EQ(ch_json_value_bool(ch_json_value_get(r, "f")), 0);
    ASSERT_EQ(ch_json_value_int(ch_json_value_get(r, "i")), -12);
    ASSERT(ch_json_value_double(ch_json_value_get(r, "i")) == -12.0);
    ASSERT(ch_json_value_double(ch_json_value_get(r, "d")) == 2.5);
    ASSERT_EQ(ch_json_value_int(ch_json_value_get(r, "d")), 0);
    ASSERT_STR_EQ(ch_json_value_str(ch_json_value_get(r, "s")), "x");
    ASSERT_STR_EQ(ch_json_value_str(ch_json_value_get(r, "i")), "");
    ASSERT(ch_json_value_get(r, "missing") == NULL);
    ASSERT(ch_json_value_getn(r, "sx", 1) == ch_json_value_get(r, "s"));

    const struct ch_json_value *arr = ch_json_value_get(r, "arr");
    ASSERT_EQ(ch_json_value_count(arr), 4);
    ASSERT_EQ(ch_json_value_int(ch_json_value_at(arr, 0)), 1);
    ASSERT_EQ(ch_json_value_int(ch_json_value_at(ch_json_value_at(arr, 1), 1)), 3);
    ASSERT_EQ(ch_json_value_int(ch_json_value_get(ch_json_value_at(arr, 2), "k")), 4);
    ASSERT_EQ(ch_json_value_int(ch_json_value_at(arr, 3)), 5);
    ASSERT(ch_json_value_at(arr, 4) == NULL);
    ASSERT(ch_json_value_at(r, 0) == NULL);      /* not an array */
    ASSERT(ch_json_value_get(arr, "k") == NULL); /* not an object */
    ASSERT_EQ(ch_json_value_count(ch_json_value_get(r, "o")), 0);

    /* Flat arrays index directly. */
    const struct ch_json_value *flat = parse(&a, "[10,20,30]");
    ASSERT_EQ(ch_json_value_int(ch_json_value_at(flat, 2)), 30);
    ch_arena_cleanup(&a);
}

TEST(value_iteration)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    const struct ch_json_value *r = parse(&a, "{\"a\":[1,{\"x\":[]},3],\"b\":{\"c\":1},\"d\":4}");
    struct ch_json_iter it;
    struct ch_str key;
    const char *names[] = {"a", "b", "d"};
    int n = 0;
    ch_json_iter_init(&it, r);
    for (const struct ch_json_value *v; (v = ch_json_iter_next(&it, &key)); n++) {
        ASSERT(n < 3);
        ASSERT_STR_EQ(key, names[n]);
        if (n == 2) ASSERT_EQ(ch_json_value_int(v), 4);
    }
    ASSERT_EQ(n, 3);

    n = 0;
    ch_json_iter_init(&it, ch_json_value_get(r, "a"));
    for (const struct ch_json_value *v; (v = ch_json_iter_next(&it, &key)); n++) {
        ASSERT_EQ(key.len, 0);
        if (n == 2) ASSERT_EQ(ch_json_value_int(v), 3);
    }
    ASSERT_EQ(n, 3);

    ch_json_iter_init(&it, ch_json_value_get(r, "d"));
    ASSERT(ch_json_iter_next(&it, NULL) == NULL);
    ch_json_iter_init(&it, NULL);
    ASSERT(ch_json_iter_next(&it, NULL) == NULL);
    ch_arena_cleanup(&a);
}

TEST(value_equality)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
#define EQ(x, y) ch_json_value_equal(parse(&a, x), parse(&a, y))
    ASSERT(EQ("{\"a\":1,\"b\":[true,null,\"s\"]}", "{\"b\":[true,null,\"s\"],\"a\":1}"));
    ASSERT(!EQ("{\"a\":1}", "{\"a\":1,\"b\":2}"));
    ASSERT(!EQ("{\"a\":1,\"c\":2}", "{\"a\":1,\"b\":2}"));
    ASSERT(!EQ("[1,2]", "[2,1]"));
    ASSERT(EQ("1", "1.0"));
    ASSERT(EQ("100", "1e2"));
    ASSERT(!EQ("0", "-0"));
    ASSERT(EQ("-0", "-0.0"));
    ASSERT(!EQ("0.0", "-0.0"));
    ASSERT(!EQ("9007199254740993", "9007199254740993.0")); /* the double is ...992 */
    ASSERT(EQ("0.1", "0.10000000000000000555"));
    ASSERT(!EQ("\"a\"", "\"b\""));
    ASSERT(EQ("\"\\u00e9\"", "\"\xc3\xa9\""));
    ASSERT(!EQ("true", "1"));
    ASSERT(!EQ("null", "false"));
    ASSERT(!EQ("[]", "{}"));
#undef EQ
    ch_arena_cleanup(&a);
}

TEST(value_write_round_trip)
{
    static const char *docs[] = {
        "{\"a\":[1,-2,3.5,-0.0,1e300,5e-324,true,false,null],\"b\":{\"c\":{},\"d\":[]},"
        "\"e\":\"q\\\"b\\\\n\\nt\\tc\\u0001\xc3\xa9\"}",
        "[]",
        "{}",
        "0",
        "\"\"",
        "[[[[{\"x\":[{}]}]]]]",
        "[9223372036854775807,-9223372036854775808]",
    };
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        const struct ch_json_value *v = parse(&a, docs[i]);
        struct ch_buf b;
        ch_buf_init(&b);
        struct ch_json_writer w;
        ch_json_writer_init(&w, &b);
        ch_json_write_value(&w, v);
        ASSERT_EQ(ch_json_writer_finish(&w), 0);
        ASSERT_MEM_EQ(b.ptr, b.len, docs[i]); /* the documents are written canonically */
        ch_buf_cleanup(&b);
    }
    /* Whitespace goes, and a parsed value can be a member of a larger document. */
    const struct ch_json_value *v = parse(&a, " { \"k\" : [ 1 , 2 ] } ");
    struct ch_buf b;
    ch_buf_init(&b);
    struct ch_json_writer w;
    ch_json_writer_init(&w, &b);
    ch_json_array_begin(&w);
    ch_json_write_value(&w, v);
    ch_json_write_value(&w, ch_json_value_get(v, "k"));
    ch_json_array_end(&w);
    ASSERT_EQ(ch_json_writer_finish(&w), 0);
    ASSERT_MEM_EQ(b.ptr, b.len, "[{\"k\":[1,2]},[1,2]]");
    ch_buf_cleanup(&b);
    ch_arena_cleanup(&a);
}

static void expect_problems(const struct ch_json_check *c, const char *expect)
{
    /* Compares with the rendered 422 list. */
    struct ch_buf b;
    ch_buf_init(&b);
    struct ch_json_writer w;
    ch_json_writer_init(&w, &b);
    ch_json_write_problems(&w, c);
    ASSERT_EQ(ch_json_writer_finish(&w), 0);
    ASSERT_MEM_EQ(b.ptr, b.len, expect);
    ch_buf_cleanup(&b);
}

TEST(check_fields)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    const struct ch_json_value *body =
        parse(&a, "{\"title\":\"Hi\",\"limit\":5,\"ratio\":2,\"done\":true,\"big\":1e3,"
                  "\"nul\":null,\"esc\":\"a\\nb\"}");
    struct ch_json_check c;
    ch_json_check_init(&c, &a);
    const char *title = ch_json_check_string(&c, body, "title", CH_JSON_REQUIRED);
    ASSERT_CSTR_EQ(title, "Hi");
    ASSERT_CSTR_EQ(ch_json_check_string(&c, body, "esc", CH_JSON_REQUIRED), "a\nb");
    struct ch_str t = ch_json_check_str(&c, body, "title", CH_JSON_REQUIRED);
    ASSERT_STR_EQ(t, "Hi");
    ASSERT_EQ(ch_json_check_int(&c, body, "limit", CH_JSON_OPTIONAL, 20), 5);
    ASSERT_EQ(ch_json_check_int(&c, body, "offset", CH_JSON_OPTIONAL, 20), 20);
    ASSERT_EQ(ch_json_check_int(&c, body, "nul", CH_JSON_OPTIONAL, 7), 7);
    ASSERT_EQ(ch_json_check_int(&c, body, "big", CH_JSON_REQUIRED, 0), 1000);
    ASSERT(ch_json_check_double(&c, body, "ratio", CH_JSON_REQUIRED, 0) == 2.0);
    ASSERT_EQ(ch_json_check_bool(&c, body, "done", CH_JSON_REQUIRED, 0), 1);
    ASSERT_EQ(ch_json_check_bool(&c, body, "archived", CH_JSON_OPTIONAL, 0), 0);
    ASSERT_EQ(ch_json_check_result(&c), 0);
    size_t n = 99;
    ch_json_check_problems(&c, &n);
    ASSERT_EQ(n, 0);
    expect_problems(&c, "[]");
    ch_arena_cleanup(&a);
}

TEST(check_problems)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    const struct ch_json_value *body =
        parse(&a, "{\"title\":7,\"limit\":\"x\",\"page\":1.5,\"huge\":1e30,\"flag\":\"yes\","
                  "\"author\":{\"name\":null,\"age\":\"old\"},\"tags\":[\"a\",2,{\"k\":{}}],"
                  "\"meta\":[],\"nul\":\"a\\u0000b\",\"ratio\":\"1\",\"nullreq\":null}");
    struct ch_json_check c;
    ch_json_check_init(&c, &a);
    ASSERT(ch_json_check_string(&c, body, "title", CH_JSON_REQUIRED) == NULL);
    ASSERT(ch_json_check_string(&c, body, "missing", CH_JSON_REQUIRED) == NULL);
    ASSERT(ch_json_check_string(&c, body, "nullreq", CH_JSON_REQUIRED) == NULL);
    ASSERT_EQ(ch_json_check_int(&c, body, "limit", CH_JSON_OPTIONAL, 20), 20);
    ASSERT_EQ(ch_json_check_int(&c, body, "page", CH_JSON_OPTIONAL, 1), 1);
    ASSERT_EQ(ch_json_check_int(&c, body, "huge", CH_JSON_OPTIONAL, 1), 1);
    ASSERT_EQ(ch_json_check_bool(&c, body, "flag", CH_JSON_OPTIONAL, 0), 0);
    ASSERT(ch_json_check_double(&c, body, "ratio", CH_JSON_OPTIONAL, 0.5) == 0.5);
    ASSERT(ch_json_check_string(&c, body, "nul", CH_JSON_OPTIONAL) == NULL);
    struct ch_str t = ch_json_check_str(&c, body, "title", CH_JSON_OPTIONAL); /* evaluated once */
    ASSERT_STR_EQ(t, "");

    const struct ch_json_value *author = ch_json_check_object(&c, body, "author", CH_JSON_REQUIRED);
    ASSERT(author != NULL);
    ch_json_check_string(&c, author, "name", CH_JSON_REQUIRED);
    ch_json_check_int(&c, author, "age", CH_JSON_OPTIONAL, 0);
    ch_json_check_fail(&c, author, "email", "must be a valid address");

    const struct ch_json_value *tags = ch_json_check_array(&c, body, "tags", CH_JSON_REQUIRED);
    ASSERT_EQ(ch_json_value_count(tags), 3);
    ASSERT_CSTR_EQ(ch_json_check_string_at(&c, tags, 0, CH_JSON_REQUIRED), "a");
    ASSERT(ch_json_check_string_at(&c, tags, 1, CH_JSON_REQUIRED) == NULL);
    const struct ch_json_value *t2 = ch_json_check_object_at(&c, tags, 2, CH_JSON_REQUIRED);
    ch_json_check_array(&c, t2, "k", CH_JSON_REQUIRED);
    ch_json_check_int(&c, t2, "n", CH_JSON_REQUIRED, 0);
    ch_json_check_int_at(&c, tags, 5, CH_JSON_REQUIRED, 0);
    ch_json_check_int_at(&c, tags, 6, CH_JSON_OPTIONAL, 0);

    ASSERT(ch_json_check_object(&c, body, "meta", CH_JSON_REQUIRED) == NULL);
    ASSERT(ch_json_check_array(&c, body, "title", CH_JSON_OPTIONAL) == NULL);
    /* An absent optional parent: its children are not reported. */
    const struct ch_json_value *opt = ch_json_check_object(&c, body, "options", CH_JSON_OPTIONAL);
    ASSERT(opt == NULL);
    ch_json_check_string(&c, opt, "mode", CH_JSON_REQUIRED);
    ch_json_check_fail(&c, tags, NULL, "must not repeat");
    ch_json_check_fail(&c, body, "limit", "must be between 1 and 100");

    ASSERT_EQ(ch_json_check_result(&c), CH_EINVAL);
    size_t n;
    const struct ch_json_problem *p = ch_json_check_problems(&c, &n);
    ASSERT_EQ(n, 21);
    ASSERT_CSTR_EQ(p[0].field, "title");
    ASSERT_CSTR_EQ(p[0].message, "must be a string");
    expect_problems(&c, "[{\"field\":\"title\",\"message\":\"must be a string\"},"
                        "{\"field\":\"missing\",\"message\":\"is required\"},"
                        "{\"field\":\"nullreq\",\"message\":\"is required\"},"
                        "{\"field\":\"limit\",\"message\":\"must be an integer\"},"
                        "{\"field\":\"page\",\"message\":\"must be an integer\"},"
                        "{\"field\":\"huge\",\"message\":\"is out of range\"},"
                        "{\"field\":\"flag\",\"message\":\"must be a boolean\"},"
                        "{\"field\":\"ratio\",\"message\":\"must be a number\"},"
                        "{\"field\":\"nul\",\"message\":\"must not contain NUL characters\"},"
                        "{\"field\":\"title\",\"message\":\"must be a string\"},"
                        "{\"field\":\"author.name\",\"message\":\"is required\"},"
                        "{\"field\":\"author.age\",\"message\":\"must be an integer\"},"
                        "{\"field\":\"author.email\",\"message\":\"must be a valid address\"},"
                        "{\"field\":\"tags[1]\",\"message\":\"must be a string\"},"
                        "{\"field\":\"tags[2].k\",\"message\":\"must be an array\"},"
                        "{\"field\":\"tags[2].n\",\"message\":\"is required\"},"
                        "{\"field\":\"tags[5]\",\"message\":\"is required\"},"
                        "{\"field\":\"meta\",\"message\":\"must be an object\"},"
                        "{\"field\":\"title\",\"message\":\"must be an array\"},"
                        "{\"field\":\"tags\",\"message\":\"must not repeat\"},"
                        "{\"field\":\"limit\",\"message\":\"must be between 1 and 100\"}]");
    ch_arena_cleanup(&a);
}
