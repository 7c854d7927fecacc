/* Runs every registered unit test; arguments filter by substring of "file:name". */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"

struct test_case {
    const char *name, *file;
    ch_test_fn fn;
};

static struct test_case cases[4096];
static size_t ncases;
static jmp_buf on_fail;

void ch_test_register(const char *name, const char *file, ch_test_fn fn)
{
    if (ncases == sizeof(cases) / sizeof(cases[0])) {
        fprintf(stderr, "too many tests\n");
        exit(2);
    }
    cases[ncases++] = (struct test_case){name, file, fn};
}

void ch_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    longjmp(on_fail, 1);
}

const char *ch_test_guarded(const void *src, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t span = (len + page - 1) / page * page + page;
    char *base = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) abort();
    if (mprotect(base + span - page, page, PROT_NONE) != 0) abort();
    char *p = base + span - page - len;
    if (len) memcpy(p, src, len);
    return p;
}

void ch_test_guard_free(const char *p, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t span = (len + page - 1) / page * page + page;
    char *base = (char *)p + len + page - span;
    munmap(base, span);
}

static int selected(const struct test_case *t, int argc, char **argv)
{
    if (argc < 2) return 1;
    char full[512];
    snprintf(full, sizeof(full), "%s:%s", t->file, t->name);
    for (int i = 1; i < argc; i++)
        if (strstr(full, argv[i])) return 1;
    return 0;
}

int main(int argc, char **argv)
{
    /* volatile: live across setjmp, which gcc -O1 (the SAN build) warns about otherwise. */
    volatile int passed = 0, failed = 0;
    for (volatile size_t i = 0; i < ncases; i++) {
        /* volatile: read after longjmp. */
        volatile size_t idx = i;
        const struct test_case *t = &cases[idx];
        if (!selected(t, argc, argv)) continue;
        if (setjmp(on_fail) == 0) {
            t->fn();
            passed++;
        } else {
            fprintf(stderr, "FAIL %s (%s)\n", cases[idx].name, cases[idx].file);
            failed++;
        }
    }
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
