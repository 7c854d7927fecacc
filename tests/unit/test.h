/* A tiny test harness: TEST() registers a case, ASSERT_* print both values on failure and end
 * the case; main() runs every case and prints "N passed, N failed". */
#ifndef CHOPIN_TEST_H
#define CHOPIN_TEST_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

typedef void (*ch_test_fn)(void);
void ch_test_register(const char *name, const char *file, ch_test_fn fn);
void ch_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#define TEST(name)                                                                                 \
    static void test_##name(void);                                                                 \
    __attribute__((constructor)) static void register_##name(void)                                 \
    {                                                                                              \
        ch_test_register(#name, __FILE__, test_##name);                                            \
    }                                                                                              \
    static void test_##name(void)

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) ch_test_fail(__FILE__, __LINE__, "assertion failed: %s", #cond);              \
    } while (0)

#define ASSERT_EQ(a, b)                                                                            \
    do {                                                                                           \
        intmax_t a_ = (intmax_t)(a), b_ = (intmax_t)(b);                                           \
        if (a_ != b_)                                                                              \
            ch_test_fail(__FILE__, __LINE__, "%s == %s: %jd != %jd", #a, #b, a_, b_);              \
    } while (0)

#define ASSERT_NE(a, b)                                                                            \
    do {                                                                                           \
        intmax_t a_ = (intmax_t)(a), b_ = (intmax_t)(b);                                           \
        if (a_ == b_) ch_test_fail(__FILE__, __LINE__, "%s != %s: both %jd", #a, #b, a_);          \
    } while (0)

#define ASSERT_UEQ(a, b)                                                                           \
    do {                                                                                           \
        uintmax_t a_ = (uintmax_t)(a), b_ = (uintmax_t)(b);                                        \
        if (a_ != b_)                                                                              \
            ch_test_fail(__FILE__, __LINE__, "%s == %s: %ju != %ju", #a, #b, a_, b_);              \
    } while (0)

/* Compares a (ptr, len) region with a NUL-terminated expectation. */
#define ASSERT_MEM_EQ(ptr, len, expect)                                                            \
    do {                                                                                           \
        const char *p_ = (const char *)(ptr), *e_ = (expect);                                      \
        size_t l_ = (size_t)(len), el_ = strlen(e_);                                               \
        if (l_ != el_ || (l_ && memcmp(p_, e_, l_) != 0))                                          \
            ch_test_fail(__FILE__, __LINE__, "%s: \"%.*s\" != \"%s\"", #ptr, (int)l_, p_, e_);     \
    } while (0)

#define ASSERT_STR_EQ(s, expect) ASSERT_MEM_EQ((s).ptr, (s).len, expect)

#define ASSERT_CSTR_EQ(a, b)                                                                       \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            ch_test_fail(__FILE__, __LINE__, "%s: \"%s\" != \"%s\"", #a, a_ ? a_ : "(null)",       \
                         b_ ? b_ : "(null)");                                                      \
    } while (0)

struct ch_test_counts {
    int passed, failed, skipped;
};

/* Runs the registered cases whose "file:name" contains one of argv[1..] (all without
 * arguments), in registration order, adding to *n; cases for which skip(name) is true are
 * counted as skipped instead. Failures are reported on stderr. */
void ch_test_run(int argc, char **argv, int (*skip)(const char *name), struct ch_test_counts *n);

/* Maps `len` bytes of `src` so that they end exactly at an inaccessible page: reading one
 * byte past the input faults. Returns the copy; release it with ch_test_guard_free(). */
const char *ch_test_guarded(const void *src, size_t len);
void ch_test_guard_free(const char *p, size_t len);

#endif
