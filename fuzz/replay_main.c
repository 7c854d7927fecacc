/* Replays fuzz inputs through one driver without libFuzzer, for `make test`.
 *
 * Usage: replay-DRIVER PATH...  Each PATH is a file or a directory of files (not recursive).
 * Every input runs in a forked child, so a crash or an abort is counted against that input
 * and the rest still run. Ends with "fuzz-replay: N passed, N failed". */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

static int passed, failed;

static int read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len < cap) break;
        uint8_t *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        return -1;
    }
    /* An exact-size copy, so the driver sees the bytes at the end of an allocation as it
     * would under libFuzzer. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact) memcpy(exact, buf, len);
    free(buf);
    if (!exact) return -1;
    *data = exact;
    *size = len;
    return 0;
}

static void run_one(const char *path)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        failed++;
        return;
    }
    if (pid == 0) {
        uint8_t *data;
        size_t size;
        if (read_file(path, &data, &size) != 0) {
            fprintf(stderr, "cannot read %s\n", path);
            _exit(3);
        }
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        exit(0); /* exit, not _exit: LeakSanitizer runs at exit */
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("  FAIL %s\n", path);
        failed++;
    } else {
        passed++;
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return; /* a driver without regressions has no directory: nothing to replay */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **bigger = realloc(names, cap * sizeof(*names));
            if (!bigger) break;
            names = bigger;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        if (names[i] && snprintf(path, sizeof(path), "%s/%s", dir, names[i]) < (int)sizeof(path) &&
            stat(path, &st) == 0 && S_ISREG(st.st_mode))
            run_one(path);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) continue;
        if (S_ISDIR(st.st_mode))
            run_dir(argv[i]);
        else
            run_one(argv[i]);
    }
    printf("fuzz-replay: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
