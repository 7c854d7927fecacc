/* The test harness shared by the unit and database test programs: registration, failure,
 * guard pages, and the runner. */
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

/* setjmp lives in its own frame so no local of the caller can be clobbered by longjmp. */
static int run_one(const struct test_case *t)
{
    if (setjmp(on_fail) != 0) return 0;
    t->fn();
    return 1;
}

void ch_test_run(int argc, char **argv, int (*skip)(const char *name), struct ch_test_counts *n)
{
    for (size_t i = 0; i < ncases; i++) {
        const struct test_case *t = &cases[i];
        if (!selected(t, argc, argv)) continue;
        if (skip && skip(t->name)) {
            n->skipped++;
            continue;
        }
        if (run_one(t)) {
            n->passed++;
        } else {
            fprintf(stderr, "FAIL %s (%s)\n", t->name, t->file);
            n->failed++;
        }
    }
}
