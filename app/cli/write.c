/* Template expansion and careful file writing for the scaffolding commands. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "write.h"

char *cli_expand(const char *tmpl, const struct cli_var *vars, size_t nvars)
{
    size_t cap = strlen(tmpl) * 2 + 256, len = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    for (const char *p = tmpl; *p;) {
        const char *val = NULL;
        size_t skip = 1;
        if (p[0] == '{' && p[1] == '{') {
            for (size_t i = 0; i < nvars && !val; i++) {
                size_t kl = strlen(vars[i].key);
                if (!strncmp(p + 2, vars[i].key, kl) && !strncmp(p + 2 + kl, "}}", 2)) {
                    val = vars[i].value;
                    skip = kl + 4;
                }
            }
        }
        size_t n = val ? strlen(val) : 1;
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *grown = realloc(out, cap);
            if (!grown) {
                free(out);
                return NULL;
            }
            out = grown;
        }
        memcpy(out + len, val ? val : p, n);
        len += n;
        p += skip;
    }
    out[len] = '\0';
    return out;
}

/* mkdir -p of the folders above `path`. */
static int make_parents(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    return 0;
}

int cli_write_file(const char *cmd, const char *path, const char *text, int overwrite)
{
    if (make_parents(path) != 0)
        return cli_fail(cmd, "cannot create the folders of %s: %s", path, strerror(errno));
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL), 0644);
    if (fd < 0) {
        if (errno == EEXIST) return cli_fail(cmd, "%s exists; not overwriting it", path);
        return cli_fail(cmd, "cannot write %s: %s", path, strerror(errno));
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            close(fd);
            return cli_fail(cmd, "cannot write %s: %s", path, strerror(errno));
        }
        off += (size_t)n;
    }
    if (close(fd) != 0) return cli_fail(cmd, "cannot write %s: %s", path, strerror(errno));
    return 0;
}

char *cli_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = (len + 4096 + 1) * 2;
            char *grown = realloc(buf, cap);
            if (!grown) break;
            buf = grown;
        }
        size_t n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n < 4096) {
            fclose(f);
            buf[len] = '\0';
            return buf;
        }
    }
    fclose(f);
    free(buf);
    return NULL;
}
