/* Settings an application declares for itself (ch_app_setting()), listed by --help. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/error.h"
#include "framework/app.h"

struct ch__app_setting {
    char *name, *def, *description;
    struct ch__app_setting *next;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void setting_free(struct ch__app_setting *s)
{
    free(s->name);
    free(s->def);
    free(s->description);
    free(s);
}

static const struct ch__app_setting *find(const struct ch_app *app, const char *name)
{
    for (const struct ch__app_setting *s = app->settings; s; s = s->next)
        if (!strcmp(s->name, name)) return s;
    return NULL;
}

int ch_app_setting(struct ch_app *app, const char *name, const char *def, const char *description)
{
    if (!app || !name || !*name || find(app, name)) return CH_EINVAL;
    struct ch__app_setting *s = calloc(1, sizeof(*s));
    if (!s) return CH_ENOMEM;
    s->name = strdup(name);
    s->def = dup_or_null(def);
    s->description = dup_or_null(description ? description : "");
    if (!s->name || (def && !s->def) || !s->description) {
        setting_free(s);
        return CH_ENOMEM;
    }
    struct ch__app_setting **tail = &app->settings; /* --help lists them in declaration order */
    while (*tail) tail = &(*tail)->next;
    *tail = s;
    return 0;
}

const char *ch_app_setting_get(const struct ch_app *app, const char *name)
{
    const struct ch__app_setting *s = app && name ? find(app, name) : NULL;
    if (!s) return NULL;
    const char *v = getenv(name);
    return v ? v : s->def;
}

int ch_app_setting_int(const struct ch_app *app, const char *name, long min, long max, long *out)
{
    const char *v = ch_app_setting_get(app, name);
    if (!v) return CH_ENOTFOUND;
    const char *p = v + (*v == '-');
    if (!isdigit((unsigned char)*p)) return CH_EINVAL;
    char *end;
    errno = 0;
    long l = strtol(v, &end, 10);
    if (errno || *end || l < min || l > max) return CH_EINVAL;
    *out = l;
    return 0;
}

void ch__app_settings_usage(FILE *out, void *arg)
{
    const struct ch_app *app = arg;
    if (!app->settings) return;
    fputs("\nSettings of this application (environment):\n", out);
    for (const struct ch__app_setting *s = app->settings; s; s = s->next) {
        fprintf(out, "  %-16s %s", s->name, s->description);
        if (s->def) fprintf(out, " (default %s)", *s->def ? s->def : "empty");
        fputc('\n', out);
    }
}

void ch__app_settings_free(struct ch_app *app)
{
    while (app->settings) {
        struct ch__app_setting *s = app->settings;
        app->settings = s->next;
        setting_free(s);
    }
}
