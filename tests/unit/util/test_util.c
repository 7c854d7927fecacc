#include <stdlib.h>

#include "../test.h"
#include "chopin/arena.h"
#include "chopin/buf.h"
#include "chopin/error.h"
#include "chopin/method.h"
#include "chopin/str.h"

TEST(str_to_u64)
{
    uint64_t v = 0;
    ASSERT_EQ(ch_str_to_u64(CH_STR("0"), &v), 0);
    ASSERT_UEQ(v, 0);
    ASSERT_EQ(ch_str_to_u64(CH_STR("18446744073709551615"), &v), 0);
    ASSERT_UEQ(v, UINT64_MAX);
    ASSERT_EQ(ch_str_to_u64(CH_STR("18446744073709551616"), &v), CH_ERANGE);
    ASSERT_EQ(ch_str_to_u64(CH_STR(""), &v), CH_EINVAL);
    ASSERT_EQ(ch_str_to_u64(CH_STR("+5"), &v), CH_EINVAL);
    ASSERT_EQ(ch_str_to_u64(CH_STR("5 "), &v), CH_EINVAL);
    ASSERT_EQ(ch_str_to_u64(CH_STR("0x5"), &v), CH_EINVAL);
}

TEST(str_to_i64)
{
    int64_t v = 0;
    ASSERT_EQ(ch_str_to_i64(CH_STR("-9223372036854775808"), &v), 0);
    ASSERT_EQ(v, INT64_MIN);
    ASSERT_EQ(ch_str_to_i64(CH_STR("9223372036854775807"), &v), 0);
    ASSERT_EQ(v, INT64_MAX);
    ASSERT_EQ(ch_str_to_i64(CH_STR("9223372036854775808"), &v), CH_ERANGE);
    ASSERT_EQ(ch_str_to_i64(CH_STR("-"), &v), CH_EINVAL);
}

TEST(int_to_dec)
{
    char b[24];
    ASSERT_MEM_EQ(b, ch_u64_to_dec(b, 0), "0");
    ASSERT_MEM_EQ(b, ch_u64_to_dec(b, 7), "7");
    ASSERT_MEM_EQ(b, ch_u64_to_dec(b, 10), "10");
    ASSERT_MEM_EQ(b, ch_u64_to_dec(b, 100), "100");
    ASSERT_MEM_EQ(b, ch_u64_to_dec(b, UINT64_MAX), "18446744073709551615");
    ASSERT_MEM_EQ(b, ch_i64_to_dec(b, INT64_MIN), "-9223372036854775808");
    ASSERT_MEM_EQ(b, ch_i64_to_dec(b, -42), "-42");
}

TEST(str_case_and_trim)
{
    ASSERT(ch_str_case_eq(CH_STR("Content-Length"), CH_STR("content-LENGTH")));
    ASSERT(!ch_str_case_eq(CH_STR("Content-Length"), CH_STR("Content-Lengt")));
    /* '@' and '`' differ by 0x20 but are not letters. */
    ASSERT(!ch_str_case_eq(CH_STR("@"), CH_STR("`")));
    ASSERT_STR_EQ(ch_str_trim_ows(CH_STR(" \t a b\t ")), "a b");
    ASSERT_STR_EQ(ch_str_trim_ows(CH_STR("   ")), "");
}

TEST(arena_alignment_and_reset)
{
    char storage[256];
    struct ch_arena a;
    ch_arena_init(&a, storage, sizeof(storage));
    char *p = ch_arena_alloc(&a, 3);
    char *q = ch_arena_alloc(&a, 5);
    ASSERT(p >= storage && q < storage + sizeof(storage));
    ASSERT_EQ((uintptr_t)q % 16, 0);
    ASSERT_EQ(ch_arena_heap_bytes(&a), 0);
    char *big = ch_arena_alloc(&a, 100000);
    ASSERT(big != NULL);
    memset(big, 1, 100000);
    ASSERT(ch_arena_heap_bytes(&a) >= 100000);
    ch_arena_reset(&a);
    ASSERT_EQ(ch_arena_heap_bytes(&a), 0);
    ASSERT(ch_arena_alloc(&a, 8) == (void *)storage);
    ch_arena_cleanup(&a);
}

TEST(arena_without_storage)
{
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    char *s = ch_arena_strndup(&a, "hello", 5);
    ASSERT_CSTR_EQ(s, "hello");
    for (int i = 0; i < 1000; i++) ASSERT(ch_arena_alloc(&a, 100) != NULL);
    ch_arena_cleanup(&a);
}

TEST(buf_heap_and_arena)
{
    struct ch_buf b;
    ch_buf_init(&b);
    for (int i = 0; i < 1000; i++) ASSERT_EQ(ch_buf_append_cstr(&b, "abc"), 0);
    ASSERT_EQ(b.len, 3000);
    ASSERT_EQ(ch_buf_append_i64(&b, -12), 0);
    ASSERT_MEM_EQ(b.ptr + 3000, b.len - 3000, "-12");
    ch_buf_cleanup(&b);

    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    ch_buf_init_arena(&b, &a);
    ASSERT_EQ(ch_buf_printf(&b, "%d-%s", 42, "x"), 0);
    ASSERT_MEM_EQ(b.ptr, b.len, "42-x");
    ch_arena_cleanup(&a);
}

TEST(method_names)
{
    for (int m = 0; m < CH_METHOD_COUNT; m++)
        ASSERT_EQ(ch_method_parse(ch_str_cstr(ch_method_name((enum ch_method)m))), m);
    ASSERT_EQ(ch_method_parse(CH_STR("get")), -1);
    ASSERT_EQ(ch_method_parse(CH_STR("BREW")), -1);
}

TEST(strerror_names_everything)
{
    ASSERT_CSTR_EQ(ch_strerror(CH_EHTTP_CL_AND_TE), "both Content-Length and Transfer-Encoding");
    ASSERT_CSTR_EQ(ch_strerror(12345), "unknown error");
}
