/* The JSON parser against a corpus of valid (y_) and invalid (n_) documents, each parsed flush
 * against a guard page, whole and cut at every byte; error positions; the depth limit;
 * strings, escapes and UTF-8; numbers. */
#include <math.h>
#include <stdlib.h>

#include "../test.h"
#include "chopin/json.h"

struct sample {
    const char *name;
    const char *text;
    size_t len; /* 0: strlen(text) */
};

#define S(name, text)                \
    {                                \
        name, text, sizeof(text) - 1 \
    }

static const struct sample valid[] = {
    S("y_empty_object", "{}"),
    S("y_empty_array", "[]"),
    S("y_whitespace", " \t\r\n[ \t\r\n1 \t\r\n, \t\r\n{ \"a\" : null } ] \n"),
    S("y_scalars", "[true,false,null,0,-0,1,-1,0.5,-0.5,1e5,1E5,1e+5,1e-5,1.5E-5]"),
    S("y_top_string", "\"top\""),
    S("y_top_number", "42"),
    S("y_top_number_ws", " 42 "),
    S("y_top_true", "true"),
    S("y_top_null", "null"),
    S("y_nested", "{\"a\":{\"b\":{\"c\":[[[[]]]]}},\"d\":[{},{\"e\":[]}]}"),
    S("y_duplicate_keys", "{\"a\":1,\"a\":2}"),
    S("y_empty_key", "{\"\":0}"),
    S("y_escapes", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"\\u0000\\u001f\\u00e9\\u20AC\\uffff\"]"),
    S("y_surrogate_pair", "\"\\ud83d\\ude00\\uD834\\uDD1E\""),
    S("y_utf8", "\"caf\xc3\xa9 \xe6\x9d\xb1 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbf\xbf\""),
    S("y_del_char", "\"\x7f\""),
    S("y_nul_escape_key", "{\"a\\u0000b\":1}"),
    S("y_big_numbers", "[9223372036854775807,-9223372036854775808,9223372036854775808,"
                       "123456789012345678901234567890,1e308,-1e308,1e-400,0e9999]"),
    S("y_long_fraction", "0.1000000000000000055511151231257827021181583404541015625"),
    S("y_many_digits", "[0.00000000000000000000000000000000000000001,100000000000000000000]"),
    S("y_exponent_zeros", "[1e007,1E-0007,0.0e0]"),
    S("y_long_string",
      "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789\""),
};

static const struct sample invalid[] = {
    S("n_empty", ""),
    S("n_ws_only", " \n "),
    S("n_trailing_comma_array", "[1,]"),
    S("n_trailing_comma_object", "{\"a\":1,}"),
    S("n_leading_comma", "[,1]"),
    S("n_double_comma", "[1,,2]"),
    S("n_missing_comma", "[1 2]"),
    S("n_missing_colon", "{\"a\" 1}"),
    S("n_missing_value", "{\"a\":}"),
    S("n_unquoted_key", "{a:1}"),
    S("n_single_quotes", "['a']"),
    S("n_comment_line", "[1]// c"),
    S("n_comment_block", "/* c */[1]"),
    S("n_unclosed_array", "[1"),
    S("n_unclosed_object", "{\"a\":1"),
    S("n_unclosed_string", "\"abc"),
    S("n_open_quote_at_end", "[\"0123456789abcdef\",\""),
    S("n_unclosed_after_16", "[\"0123456789abcdef\",\"abc"),
    S("n_extra_close", "[1]]"),
    S("n_two_values", "1 2"),
    S("n_garbage_after", "{} x"),
    S("n_mismatched", "[1}"),
    S("n_leading_zero", "01"),
    S("n_leading_zero_neg", "-01"),
    S("n_plus", "+1"),
    S("n_dot_start", ".5"),
    S("n_dot_end", "1."),
    S("n_dot_exp", "1.e5"),
    S("n_exp_empty", "1e"),
    S("n_exp_sign_only", "1e+"),
    S("n_minus_only", "-"),
    S("n_minus_space", "- 1"),
    S("n_hex", "0x1"),
    S("n_nan", "NaN"),
    S("n_infinity", "Infinity"),
    S("n_neg_infinity", "-Infinity"),
    S("n_overflow", "1e309"),
    S("n_overflow_neg", "[-1.8e308]"),
    S("n_true_prefix", "tru"),
    S("n_true_caps", "True"),
    S("n_null_suffix", "nullx"),
    S("n_control_in_string", "\"a\x01\""),
    S("n_newline_in_string", "\"a\nb\""),
    S("n_tab_in_string", "\"\t\""),
    S("n_bad_escape", "\"\\x41\""),
    S("n_escape_at_end", "\"\\"),
    S("n_short_u", "\"\\u12\""),
    S("n_bad_hex", "\"\\u12g4\""),
    S("n_lone_high", "\"\\ud800\""),
    S("n_lone_high_then_char", "\"\\ud800x\""),
    S("n_high_high", "\"\\ud800\\ud800\""),
    S("n_lone_low", "\"\\udc00\""),
    S("n_high_then_bmp", "\"\\ud800\\u0041\""),
    S("n_utf8_lone_continuation", "\"\x80\""),
    S("n_utf8_overlong_2", "\"\xc0\xaf\""),
    S("n_utf8_overlong_2b", "\"\xc1\xbf\""),
    S("n_utf8_overlong_3", "\"\xe0\x80\xaf\""),
    S("n_utf8_overlong_4", "\"\xf0\x80\x80\xaf\""),
    S("n_utf8_surrogate", "\"\xed\xa0\x80\""),
    S("n_utf8_surrogate_low", "\"\xed\xbf\xbf\""),
    S("n_utf8_too_big", "\"\xf4\x90\x80\x80\""),
    S("n_utf8_f5", "\"\xf5\x80\x80\x80\""),
    S("n_utf8_ff", "\"\xff\""),
    S("n_utf8_truncated", "\"\xe2\x82\""),
    S("n_utf8_outside_string", "[\xc3\xa9]"),
    S("n_bom", "\xef\xbb\xbf{}"),
    S("n_nul_byte", "[1]\0"),
    S("n_object_key_number", "{1:1}"),
    S("n_array_as_key", "{[]:1}"),
    S("n_vertical_tab_ws", "[\v1]"),
    S("n_form_feed_ws", "[\f1]"),
};

/* Parses text placed flush against a guard page; returns the parser's result. */
static int parse_guarded(const char *text, size_t len, struct ch_arena *a,
                         const struct ch_json_value **root, struct ch_json_error *err)
{
    const char *g = ch_test_guarded(text, len);
    int rc = ch_json_parse(g, len, a, root, err);
    /* Trees may point into the guarded copy: the caller must be done with it before freeing.
     * Here only the result code is used after this point. */
    ch_test_guard_free(g, len);
    return rc;
}

TEST(parser_corpus_valid)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        const struct ch_json_value *root;
        struct ch_json_error err = {0};
        int rc = parse_guarded(valid[i].text, valid[i].len, &a, &root, &err);
        if (rc != 0)
            ch_test_fail(__FILE__, __LINE__, "%s: %d %s at %u:%u", valid[i].name, rc, err.reason,
                         err.line, err.column);
        ch_arena_reset(&a);
    }
    ch_arena_cleanup(&a);
}

TEST(parser_corpus_invalid)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        const struct ch_json_value *root;
        struct ch_json_error err = {0};
        int rc = parse_guarded(invalid[i].text, invalid[i].len, &a, &root, &err);
        if (rc != CH_EINVAL)
            ch_test_fail(__FILE__, __LINE__, "%s: accepted (%d)", invalid[i].name, rc);
        ASSERT(err.reason != NULL);
        ASSERT(err.line >= 1 && err.column >= 1);
        ASSERT(err.offset <= invalid[i].len);
        ch_arena_reset(&a);
    }
    ch_arena_cleanup(&a);
}

/* Every proper prefix of a valid document is either itself valid or rejected; none may read
 * past its end (the guard page faults if one does). */
TEST(parser_every_prefix_against_guard_page)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        for (size_t cut = 0; cut < valid[i].len; cut++) {
            const struct ch_json_value *root;
            int rc = parse_guarded(valid[i].text, cut, &a, &root, NULL);
            ASSERT(rc == 0 || rc == CH_EINVAL);
            ch_arena_reset(&a);
        }
    }
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        for (size_t cut = 0; cut <= invalid[i].len; cut++) {
            const struct ch_json_value *root;
            ASSERT_NE(parse_guarded(invalid[i].text, cut, &a, &root, NULL), CH_ENOMEM);
            ch_arena_reset(&a);
        }
    }
    ch_arena_cleanup(&a);
}

static void expect_error(const char *text, const char *reason, unsigned line, unsigned column)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    const struct ch_json_value *root;
    struct ch_json_error err = {0};
    int rc = parse_guarded(text, strlen(text), &a, &root, &err);
    ch_arena_cleanup(&a);
    if (rc != CH_EINVAL || !err.reason || strcmp(err.reason, reason) != 0 || err.line != line ||
        err.column != column)
        ch_test_fail(__FILE__, __LINE__, "%s: got %d \"%s\" at %u:%u, want \"%s\" at %u:%u", text,
                     rc, err.reason ? err.reason : "(none)", err.line, err.column, reason, line,
                     column);
}

TEST(parser_error_positions)
{
    expect_error("", "unexpected end of input", 1, 1);
    expect_error("[1,]", "expected a value", 1, 4);
    expect_error("{\n  \"a\": 1,\n  \"b\" 2\n}", "expected ':'", 3, 7);
    expect_error("[\n1,\n2\n", "unexpected end of input", 4, 1);
    expect_error("\"caf\xc3\xa9\x01\"", "control character in string", 1, 6);
    expect_error("[\"\xe6\x9d\xb1\xe4\xba\xac\", 01]", "leading zero in number", 1, 8);
    expect_error("{\"a\":1} x", "unexpected data after the value", 1, 9);
    expect_error("[1 2]", "expected ',' or ']'", 1, 4);
    expect_error("{\"a\":1 2}", "expected ',' or '}'", 1, 8);
    expect_error("{1:1}", "expected a string key", 1, 2);
    expect_error("\"\\ud800\"", "lone surrogate in \\u escape", 1, 2);
    expect_error("\"\\q\"", "invalid escape sequence", 1, 2);
    expect_error("\"ab\xc0\xaf\"", "invalid UTF-8", 1, 4);
    expect_error("[1e999]", "number out of range", 1, 2);
    expect_error("[1.]", "digit expected after the decimal point", 1, 4);
    expect_error("[1e+]", "digit expected in exponent", 1, 5);
    expect_error("nul", "invalid literal", 1, 1);
    expect_error("\"abc", "unterminated string", 1, 5);
}

static int parse_depth(int depth, char open, char close)
{
    char text[2 * 200];
    for (int i = 0; i < depth; i++) text[i] = open, text[2 * depth - 1 - i] = close;
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    const struct ch_json_value *root;
    struct ch_json_error err = {0};
    int rc = parse_guarded(text, (size_t)(2 * depth), &a, &root, &err);
    ch_arena_cleanup(&a);
    if (rc == CH_EINVAL && strcmp(err.reason, "nesting too deep") != 0) return -100;
    return rc;
}

TEST(parser_depth_limit)
{
    ASSERT_EQ(parse_depth(CH_JSON_MAX_DEPTH, '[', ']'), 0);
    ASSERT_EQ(parse_depth(CH_JSON_MAX_DEPTH + 1, '[', ']'), CH_EINVAL);
    ASSERT_EQ(parse_depth(190, '[', ']'), CH_EINVAL);

    /* Objects count too: {"a":{"a":...}} with 128 and 129 levels. */
    for (int depth = CH_JSON_MAX_DEPTH; depth <= CH_JSON_MAX_DEPTH + 1; depth++) {
        struct ch_buf b;
        ch_buf_init(&b);
        for (int i = 0; i < depth; i++) ch_buf_append_cstr(&b, "{\"a\":");
        ch_buf_append_cstr(&b, "1");
        for (int i = 0; i < depth; i++) ch_buf_putc(&b, '}');
        struct ch_arena a;
        ch_arena_init(&a, NULL, 0);
        const struct ch_json_value *root;
        int rc = parse_guarded(b.ptr, b.len, &a, &root, NULL);
        ASSERT_EQ(rc, depth <= CH_JSON_MAX_DEPTH ? 0 : CH_EINVAL);
        ch_arena_cleanup(&a);
        ch_buf_cleanup(&b);
    }
}

static const struct ch_json_value *parse_ok(struct ch_arena *a, const char *text)
{
    const struct ch_json_value *root = NULL;
    struct ch_json_error err = {0};
    int rc = ch_json_parse(text, strlen(text), a, &root, &err);
    if (rc != 0)
        ch_test_fail(__FILE__, __LINE__, "%s: %d %s at %u:%u", text, rc, err.reason, err.line,
                     err.column);
    return root;
}

TEST(parser_strings_and_escapes)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    const char *src =
        "[\"plain\",\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"\\u00e9\\u20ac\\ud83d\\ude00\","
        "\"x\\u0000y\",\"caf\xc3\xa9\",\"\"]";
    const struct ch_json_value *r = parse_ok(&a, src);
    ASSERT_EQ(ch_json_value_count(r), 6);
    struct ch_str s = ch_json_value_str(ch_json_value_at(r, 0));
    ASSERT_STR_EQ(s, "plain");
    ASSERT(s.ptr > src && s.ptr < src + strlen(src)); /* zero-copy */
    ASSERT_STR_EQ(ch_json_value_str(ch_json_value_at(r, 1)), "a\"b\\c/d\b\f\n\r\t");
    ASSERT_STR_EQ(ch_json_value_str(ch_json_value_at(r, 2)),
                  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    s = ch_json_value_str(ch_json_value_at(r, 3));
    ASSERT_EQ(s.len, 3);
    ASSERT(memcmp(s.ptr, "x\0y", 3) == 0);
    ASSERT_STR_EQ(ch_json_value_str(ch_json_value_at(r, 4)), "caf\xc3\xa9");
    ASSERT_STR_EQ(ch_json_value_str(ch_json_value_at(r, 5)), "");
    ch_arena_cleanup(&a);
}

TEST(parser_numbers)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    const struct ch_json_value *r =
        parse_ok(&a, "[0,-0,9223372036854775807,-9223372036854775808,9223372036854775808,"
                     "-9223372036854775809,9007199254740993,1.0,1e2,0.1,2.5e+300,1e-7,5e-324,"
                     "2.2250738585072011e-308,1e-400,18446744073709551616,0.30000000000000004]");
    ASSERT_EQ(ch_json_value_type(ch_json_value_at(r, 0)), CH_JSON_INT);
    ASSERT_EQ(ch_json_value_type(ch_json_value_at(r, 1)), CH_JSON_DOUBLE);
    ASSERT(signbit(ch_json_value_double(ch_json_value_at(r, 1))));
    ASSERT_EQ(ch_json_value_int(ch_json_value_at(r, 2)), INT64_MAX);
    ASSERT_EQ(ch_json_value_int(ch_json_value_at(r, 3)), INT64_MIN);
    ASSERT_EQ(ch_json_value_type(ch_json_value_at(r, 4)), CH_JSON_DOUBLE);
    ASSERT(ch_json_value_double(ch_json_value_at(r, 4)) == 9223372036854775808.0);
    ASSERT(ch_json_value_double(ch_json_value_at(r, 5)) == -9223372036854775808.0);
    ASSERT_EQ(ch_json_value_int(ch_json_value_at(r, 6)), 9007199254740993);
    ASSERT(ch_json_value_double(ch_json_value_at(r, 6)) == 9007199254740992.0);
    ASSERT_EQ(ch_json_value_type(ch_json_value_at(r, 7)), CH_JSON_DOUBLE);
    ASSERT(ch_json_value_double(ch_json_value_at(r, 8)) == 100.0);
    ASSERT(ch_json_value_double(ch_json_value_at(r, 9)) == 0.1);
    ASSERT(ch_json_value_double(ch_json_value_at(r, 10)) == 2.5e300);
    ASSERT(ch_json_value_double(ch_json_value_at(r, 11)) == 1e-7);
    ASSERT(ch_json_value_double(ch_json_value_at(r, 12)) == 5e-324);
    ASSERT(ch_json_value_double(ch_json_value_at(r, 13)) == 2.2250738585072011e-308);
    ASSERT(ch_json_value_double(ch_json_value_at(r, 14)) == 0.0);
    ASSERT(ch_json_value_double(ch_json_value_at(r, 15)) == 18446744073709551616.0);
    ASSERT(ch_json_value_double(ch_json_value_at(r, 16)) == 0.30000000000000004);
    ch_arena_cleanup(&a);
}

static uint64_t rng_state = 12345;

static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Random decimal texts of every shape, compared with strtod bit for bit. */
TEST(parser_numbers_match_strtod)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    char text[96];
    for (int i = 0; i < 200000; i++) {
        int n = 0;
        if (rng() & 1) text[n++] = '-';
        int intdigits = 1 + (int)(rng() % 25), fracdigits = (int)(rng() % 25);
        text[n++] = (char)('1' + rng() % 9);
        for (int k = 1; k < intdigits; k++) text[n++] = (char)('0' + rng() % 10);
        if (rng() % 4 == 0 && intdigits == 1) text[n - 1] = '0';
        if (fracdigits) {
            text[n++] = '.';
            for (int k = 0; k < fracdigits; k++)
                text[n++] = (char)('0' + (rng() % 3 ? rng() % 10 : (rng() & 1) * 9));
        }
        if (rng() % 3) n += snprintf(text + n, 16, "e%d", (int)(rng() % 700) - 350);
        text[n] = '\0';
        double want = strtod(text, NULL);
        const struct ch_json_value *root;
        int rc = ch_json_parse(text, (size_t)n, &a, &root, NULL);
        if (isinf(want)) {
            ASSERT_EQ(rc, CH_EINVAL);
        } else {
            if (rc != 0) ch_test_fail(__FILE__, __LINE__, "%s rejected", text);
            double got = ch_json_value_double(root);
            if (memcmp(&got, &want, sizeof(got)) != 0 && !(ch_json_value_type(root) == CH_JSON_INT))
                ch_test_fail(__FILE__, __LINE__, "%s: got %.17g want %.17g", text, got, want);
        }
        if (i % 1024 == 0) ch_arena_reset(&a);
    }
    /* Halfway cases and their neighbours: 2^53 + 1 and friends, written as decimals. */
    static const char *halfway[] = {"9007199254740993.0",
                                    "9007199254740993.00000000000000001",
                                    "9007199254740992.99999999999999999",
                                    "4.9406564584124654e-324",
                                    "2.4703282292062327e-324",
                                    "2.4703282292062328e-324",
                                    "1.00000000000000011102230246251565404236316680908203125",
                                    "1.00000000000000011102230246251565404236316680908203124",
                                    "1.00000000000000011102230246251565404236316680908203126",
                                    "179769313486231570e291",
                                    "2.2250738585072011e-308",
                                    "2.2250738585072012e-308"};
    for (size_t i = 0; i < sizeof(halfway) / sizeof(halfway[0]); i++) {
        const struct ch_json_value *root;
        ASSERT_EQ(ch_json_parse(halfway[i], strlen(halfway[i]), &a, &root, NULL), 0);
        double got = ch_json_value_double(root), want = strtod(halfway[i], NULL);
        if (memcmp(&got, &want, sizeof(got)) != 0)
            ch_test_fail(__FILE__, __LINE__, "%s: got %.17g want %.17g", halfway[i], got, want);
    }
    ch_arena_cleanup(&a);
}

/* Every double printed by ch_json_dtoa parses back to itself. */
TEST(parser_reads_back_dtoa)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = rng();
        if (((bits >> 52) & 0x7ff) == 0x7ff) continue;
        double v;
        memcpy(&v, &bits, sizeof(v));
        char text[CH_JSON_DTOA_SIZE];
        size_t n = ch_json_dtoa(text, v);
        const struct ch_json_value *root;
        ASSERT_EQ(ch_json_parse(text, n, &a, &root, NULL), 0);
        double got = ch_json_value_double(root);
        if (memcmp(&got, &v, sizeof(v)) != 0)
            ch_test_fail(__FILE__, __LINE__, "%.*s read back as %.17g", (int)n, text, got);
        if (i % 1024 == 0) ch_arena_reset(&a);
    }
    ch_arena_cleanup(&a);
}

TEST(parser_rejects_huge_input_length)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    const struct ch_json_value *root;
    /* The length is checked before anything is read. */
    ASSERT_EQ(ch_json_parse("[]", (size_t)UINT32_MAX + 1, &a, &root, NULL), CH_ERANGE);
    ch_arena_cleanup(&a);
}
