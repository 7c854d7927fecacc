/* Configuration from defaults, .env, the environment and flags. */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "chopin/config.h"
#include "chopin/error.h"
#include "core/config.h"

static int cpus_available(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void ch_config_defaults(struct ch_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->mode = CH_MODE_STANDARD;
    strcpy(cfg->host, "127.0.0.1");
    cfg->port = 3000;
    cfg->workers = cpus_available();
    cfg->backlog = 8192;
    cfg->max_head_size = 8192;
    cfg->max_headers = 100;
    cfg->max_body_size = 1024 * 1024;
    cfg->max_output = 1024 * 1024;
    cfg->head_timeout_ms = 10000;
    cfg->idle_timeout_ms = 15000;
    cfg->body_timeout_ms = 30000;
    cfg->send_timeout_ms = 10000;
    cfg->request_timeout_ms = 30000;
    cfg->shutdown_timeout_ms = 10000;
    cfg->db_pool_size = 0; /* the database layer's default, see chopin/db.h */
    cfg->access_log = -1;
    /* Mozilla's "intermediate" profile (v5.7): forward secrecy and AEAD only. */
    strcpy(cfg->tls_ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                             "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                             "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                             "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
                             "DHE-RSA-CHACHA20-POLY1305");
    strcpy(cfg->tls_ciphersuites,
           "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
    cfg->tls_port = 8443;
    cfg->tls_handshake_timeout_ms = 10000;
    cfg->tls_ticket_rotate_ms = 3600 * 1000;
}

const char *ch_config_usage(void)
{
    return "Options override the environment (and ./.env):\n"
           "  --mode MODE      SERVER_MODE: standard (default) or performance (perf, fast)\n"
           "  --host ADDR      SERVER_HOST: address to listen on (default 127.0.0.1)\n"
           "  --port N         SERVER_PORT: port (default 3000)\n"
           "  --workers N      WORKERS: worker threads (default: CPUs available)\n"
           "  --takeover       REUSE_PORT=1: join the port of a running chopin (restarts)\n"
           "  --migrate-status print the database migrations and their state, then exit\n"
           "  --migrate-only   apply the pending migrations, then exit\n"
           "  --migrate-down N roll back the last N migrations (with down steps), then exit\n"
           "  --help           print this text\n"
           "  --version        print the version\n"
           "\n"
           "Other settings come from the environment: ENVIRONMENT (development|production),\n"
           "BACKLOG, MAX_HEAD_SIZE, MAX_HEADERS, MAX_BODY_SIZE, MAX_OUTPUT_BUFFER,\n"
           "HEAD_TIMEOUT, IDLE_TIMEOUT, BODY_TIMEOUT, SEND_TIMEOUT, REQUEST_TIMEOUT,\n"
           "SHUTDOWN_TIMEOUT, DATABASE_URL, DB_POOL_SIZE, CORS_ORIGINS, BEHIND_TLS,\n"
           "DRAIN_DELAY, REUSE_PORT, ACCESS_LOG, ACCESS_LOG_FORMAT.\n"
           "HTTPS: TLS_CERT, TLS_KEY, TLS_PORT, TLS_HTTP, TLS_CIPHERS, TLS_CIPHERSUITES,\n"
           "TLS_OCSP, TLS_HANDSHAKE_TIMEOUT, TLS_TICKET_ROTATE, TLS_KTLS.\n";
}

const char *ch__config_program(int argc, char **argv)
{
    if (argc < 1 || !argv[0] || !argv[0][0]) return "chopin";
    const char *slash = strrchr(argv[0], '/');
    return slash && slash[1] ? slash + 1 : argv[0];
}

/* KEY=VALUE lines; '#' comments, blank lines, "export " and matching quotes are allowed. */
static int load_dotenv(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (*p == '\0' || *p == '#') continue;
        if (strncmp(p, "export ", 7) == 0) p += 7;
        char *eq = strchr(p, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected KEY=VALUE", path, lineno);
            fclose(f);
            return CH_EINVAL;
        }
        char *kend = eq;
        while (kend > p && isspace((unsigned char)kend[-1])) kend--;
        *kend = '\0';
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t') v++;
        size_t vl = strcspn(v, "\r\n");
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
        v[vl] = '\0';
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = '\0';
            v++;
        }
        if (*p) setenv(p, v, 0); /* the real environment wins */
    }
    fclose(f);
    return 0;
}

static int bad(char *err, size_t errlen, const char *name, const char *value, const char *want)
{
    snprintf(err, errlen, "invalid %s '%s': expected %s", name, value, want);
    return CH_EINVAL;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || !isdigit((unsigned char)s[0]) || v < lo || v > hi)
        return CH_EINVAL;
    *out = v;
    return 0;
}

static int parse_duration(const char *s, unsigned *ms)
{
    char *end;
    if (!isdigit((unsigned char)s[0])) return CH_EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s) return CH_EINVAL;
    double scale;
    if (*end == '\0' || strcmp(end, "s") == 0) scale = 1000;
    else if (strcmp(end, "ms") == 0) scale = 1;
    else if (strcmp(end, "m") == 0) scale = 60000;
    else return CH_EINVAL;
    double r = v * scale;
    if (r < 1 || r > 86400000.0) return CH_EINVAL;
    *ms = (unsigned)r;
    return 0;
}

static int parse_size(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    if (!isdigit((unsigned char)s[0])) return CH_EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s) return CH_EINVAL;
    uint64_t mul;
    if (*end == '\0') mul = 1;
    else if (!strcasecmp(end, "k") || !strcmp(end, "KiB")) mul = 1024;
    else if (!strcasecmp(end, "m") || !strcmp(end, "MiB")) mul = 1024 * 1024;
    else return CH_EINVAL;
    if (v > hi / mul || v * mul < lo || v * mul > hi) return CH_EINVAL;
    *out = v * mul;
    return 0;
}

static int set_mode(struct ch_config *cfg, const char *v)
{
    if (!strcmp(v, "standard")) cfg->mode = CH_MODE_STANDARD;
    else if (!strcmp(v, "performance") || !strcmp(v, "perf") || !strcmp(v, "fast"))
        cfg->mode = CH_MODE_PERFORMANCE;
    else return CH_EINVAL;
    return 0;
}

static int set_text(char *dst, size_t cap, const char *v)
{
    if (strlen(v) >= cap) return CH_EINVAL;
    strcpy(dst, v);
    return 0;
}

/* The HTTPS settings (TLS_*); files are only opened when the server starts. */
static int apply_tls(struct ch_config *cfg, const char *name, const char *v, char *err,
                     size_t errlen)
{
    long l;
    if (!strcmp(name, "TLS_CERT")) {
        if (set_text(cfg->tls_cert, sizeof(cfg->tls_cert), v)) return bad(err, errlen, name, v, "paths");
    } else if (!strcmp(name, "TLS_KEY")) {
        if (set_text(cfg->tls_key, sizeof(cfg->tls_key), v)) return bad(err, errlen, name, v, "paths");
    } else if (!strcmp(name, "TLS_OCSP")) {
        if (set_text(cfg->tls_ocsp, sizeof(cfg->tls_ocsp), v)) return bad(err, errlen, name, v, "paths");
    } else if (!strcmp(name, "TLS_CIPHERS")) {
        if (!*v || set_text(cfg->tls_ciphers, sizeof(cfg->tls_ciphers), v))
            return bad(err, errlen, name, v, "an OpenSSL cipher list");
    } else if (!strcmp(name, "TLS_CIPHERSUITES")) {
        if (!*v || set_text(cfg->tls_ciphersuites, sizeof(cfg->tls_ciphersuites), v))
            return bad(err, errlen, name, v, "a TLS 1.3 suite list");
    } else if (!strcmp(name, "TLS_PORT")) {
        if (parse_long(v, 1, 65535, &l)) return bad(err, errlen, name, v, "an integer 1-65535");
        cfg->tls_port = (int)l;
    } else if (!strcmp(name, "TLS_HTTP")) {
        if (!strcmp(v, "serve")) cfg->tls_http = CH_TLS_HTTP_SERVE;
        else if (!strcmp(v, "redirect")) cfg->tls_http = CH_TLS_HTTP_REDIRECT;
        else if (!strcmp(v, "off")) cfg->tls_http = CH_TLS_HTTP_OFF;
        else return bad(err, errlen, name, v, "serve, redirect or off");
    } else if (!strcmp(name, "TLS_KTLS")) {
        if (!strcmp(v, "on") || !strcmp(v, "1")) cfg->tls_ktls = 1;
        else if (!strcmp(v, "off") || !strcmp(v, "0")) cfg->tls_ktls = 0;
        else return bad(err, errlen, name, v, "on or off");
    } else if (!strcmp(name, "TLS_HANDSHAKE_TIMEOUT")) {
        if (parse_duration(v, &cfg->tls_handshake_timeout_ms))
            return bad(err, errlen, name, v, "a duration such as 10s or 500ms");
    } else if (!strcmp(name, "TLS_TICKET_ROTATE")) {
        if (parse_duration(v, &cfg->tls_ticket_rotate_ms))
            return bad(err, errlen, name, v, "a duration such as 30m or 3600s");
    }
    return 0;
}

/* Applies one setting by its environment name. */
static int apply(struct ch_config *cfg, const char *name, const char *v, char *err, size_t errlen)
{
    long l;
    uint64_t u;
    if (!strcmp(name, "SERVER_MODE")) {
        if (set_mode(cfg, v)) return bad(err, errlen, name, v, "standard or performance");
    } else if (!strcmp(name, "SERVER_HOST")) {
        if (!*v || strlen(v) >= sizeof(cfg->host)) return bad(err, errlen, name, v, "an address");
        strcpy(cfg->host, v);
    } else if (!strcmp(name, "SERVER_PORT")) {
        if (parse_long(v, 0, 65535, &l)) return bad(err, errlen, name, v, "an integer 0-65535");
        cfg->port = (int)l;
    } else if (!strcmp(name, "WORKERS")) {
        if (parse_long(v, 1, 1024, &l)) return bad(err, errlen, name, v, "an integer 1-1024");
        cfg->workers = (int)l;
    } else if (!strcmp(name, "ENVIRONMENT")) {
        if (!strcmp(v, "production")) cfg->production = 1;
        else if (!strcmp(v, "development")) cfg->production = 0;
        else return bad(err, errlen, name, v, "development or production");
    } else if (!strcmp(name, "BACKLOG")) {
        if (parse_long(v, 1, 1 << 20, &l)) return bad(err, errlen, name, v, "an integer");
        cfg->backlog = (int)l;
    } else if (!strcmp(name, "MAX_HEAD_SIZE")) {
        if (parse_size(v, 256, 1 << 20, &u)) return bad(err, errlen, name, v, "a size 256-1MiB");
        cfg->max_head_size = (size_t)u;
    } else if (!strcmp(name, "MAX_HEADERS")) {
        if (parse_long(v, 1, 10000, &l)) return bad(err, errlen, name, v, "an integer 1-10000");
        cfg->max_headers = (size_t)l;
    } else if (!strcmp(name, "MAX_BODY_SIZE")) {
        if (parse_size(v, 0, 1ull << 32, &u)) return bad(err, errlen, name, v, "a size");
        cfg->max_body_size = u;
    } else if (!strcmp(name, "MAX_OUTPUT_BUFFER")) {
        if (parse_size(v, 4096, 1ull << 32, &u)) return bad(err, errlen, name, v, "a size");
        cfg->max_output = (size_t)u;
    } else if (!strcmp(name, "DATABASE_URL")) {
        if (strlen(v) >= sizeof(cfg->database_url)) return bad(err, errlen, name, v, "a URL");
        strcpy(cfg->database_url, v);
    } else if (!strcmp(name, "DB_POOL_SIZE")) {
        if (parse_long(v, 1, 512, &l)) return bad(err, errlen, name, v, "an integer 1-512");
        cfg->db_pool_size = (int)l;
    } else if (!strcmp(name, "CORS_ORIGINS")) {
        if (strlen(v) >= sizeof(cfg->cors_origins)) return bad(err, errlen, name, v, "origins");
        strcpy(cfg->cors_origins, v);
    } else if (!strcmp(name, "DRAIN_DELAY")) {
        if (strcmp(v, "0") != 0 && parse_duration(v, &cfg->drain_delay_ms))
            return bad(err, errlen, name, v, "a duration such as 5s, or 0");
        if (!strcmp(v, "0")) cfg->drain_delay_ms = 0;
    } else if (!strcmp(name, "REUSE_PORT")) {
        if (strcmp(v, "0") && strcmp(v, "1")) return bad(err, errlen, name, v, "0 or 1");
        cfg->reuse_port = v[0] == '1';
    } else if (!strcmp(name, "ACCESS_LOG")) {
        if (!strcmp(v, "on") || !strcmp(v, "1")) cfg->access_log = 1;
        else if (!strcmp(v, "off") || !strcmp(v, "0")) cfg->access_log = 0;
        else return bad(err, errlen, name, v, "on or off");
    } else if (!strcmp(name, "ACCESS_LOG_FORMAT")) {
        if (!strcmp(v, "logfmt")) cfg->access_log_format = 0;
        else if (!strcmp(v, "json")) cfg->access_log_format = 1;
        else if (!strcmp(v, "combined")) cfg->access_log_format = 2;
        else return bad(err, errlen, name, v, "logfmt, json or combined");
    } else if (!strcmp(name, "BEHIND_TLS")) {
        if (!strcmp(v, "true") || !strcmp(v, "1")) cfg->behind_tls = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "0") || !*v) cfg->behind_tls = 0;
        else return bad(err, errlen, name, v, "true or false");
    } else if (!strncmp(name, "TLS_", 4)) {
        return apply_tls(cfg, name, v, err, errlen);
    } else {
        static const struct {
            const char *name;
            size_t off;
        } durations[] = {
            {"HEAD_TIMEOUT", offsetof(struct ch_config, head_timeout_ms)},
            {"IDLE_TIMEOUT", offsetof(struct ch_config, idle_timeout_ms)},
            {"BODY_TIMEOUT", offsetof(struct ch_config, body_timeout_ms)},
            {"SEND_TIMEOUT", offsetof(struct ch_config, send_timeout_ms)},
            {"REQUEST_TIMEOUT", offsetof(struct ch_config, request_timeout_ms)},
            {"SHUTDOWN_TIMEOUT", offsetof(struct ch_config, shutdown_timeout_ms)},
        };
        for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
            if (strcmp(name, durations[i].name) != 0) continue;
            if (parse_duration(v, (unsigned *)((char *)cfg + durations[i].off)))
                return bad(err, errlen, name, v, "a duration such as 10s or 500ms");
            return 0;
        }
    }
    return 0;
}

static const char *const env_names[] = {
    "SERVER_MODE",     "SERVER_HOST",     "SERVER_PORT",   "WORKERS",         "ENVIRONMENT",
    "BACKLOG",         "MAX_HEAD_SIZE",   "MAX_HEADERS",   "MAX_BODY_SIZE",   "MAX_OUTPUT_BUFFER",
    "HEAD_TIMEOUT",    "IDLE_TIMEOUT",    "BODY_TIMEOUT",  "SEND_TIMEOUT",    "REQUEST_TIMEOUT",
    "SHUTDOWN_TIMEOUT", "DATABASE_URL",   "DB_POOL_SIZE",  "CORS_ORIGINS",
    "BEHIND_TLS",
    "DRAIN_DELAY",     "REUSE_PORT",      "ACCESS_LOG",    "ACCESS_LOG_FORMAT",
    "TLS_CERT", "TLS_KEY", "TLS_OCSP", "TLS_CIPHERS", "TLS_CIPHERSUITES", "TLS_PORT", "TLS_HTTP",
    "TLS_KTLS", "TLS_HANDSHAKE_TIMEOUT", "TLS_TICKET_ROTATE",
};

/* --migrate-status, --migrate-only, --migrate-down N (or =N): 1 when argv[*i] was one of
 * them, 0 when not, CH_EINVAL with the reason. */
static int migrate_flag(struct ch_config *cfg, int argc, char **argv, int *i, char *err,
                        size_t errlen)
{
    const char *a = argv[*i], *value = NULL;
    enum ch_migrate_cmd cmd = CH_MIGRATE_NONE;
    if (!strcmp(a, "--migrate-status")) {
        cmd = CH_MIGRATE_STATUS;
    } else if (!strcmp(a, "--migrate-only")) {
        cmd = CH_MIGRATE_ONLY;
    } else if (!strncmp(a, "--migrate-down", 14) && (a[14] == '\0' || a[14] == '=')) {
        cmd = CH_MIGRATE_DOWN;
        value = a[14] == '=' ? a + 15 : *i + 1 < argc ? argv[++*i] : NULL;
    }
    if (cmd == CH_MIGRATE_NONE) return 0;
    if (cfg->migrate != CH_MIGRATE_NONE) {
        snprintf(err, errlen, "use one of --migrate-status, --migrate-only, --migrate-down");
        return CH_EINVAL;
    }
    if (cmd == CH_MIGRATE_DOWN) {
        char *end = NULL;
        long n = value ? strtol(value, &end, 10) : 0;
        if (!value || !*value || *end || n < 1 || n > 1000000) {
            snprintf(err, errlen, "--migrate-down needs a number of migrations >= 1");
            return CH_EINVAL;
        }
        cfg->migrate_down = (int)n;
    }
    cfg->migrate = cmd;
    return 1;
}

int ch_config_load(struct ch_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    return ch__config_load(cfg, argc, argv, err, errlen, NULL, NULL);
}

int ch__config_load(struct ch_config *cfg, int argc, char **argv, char *err, size_t errlen,
                    void (*more_usage)(FILE *out, void *arg), void *arg)
{
    int rc = load_dotenv(".env", err, errlen);
    if (rc) return rc;
    for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++) {
        const char *v = getenv(env_names[i]);
        if (v && (rc = apply(cfg, env_names[i], v, err, errlen)) != 0) return rc;
    }
    static const struct {
        const char *flag, *name;
    } flags[] = {
        {"--mode", "SERVER_MODE"},
        {"--host", "SERVER_HOST"},
        {"--port", "SERVER_PORT"},
        {"--workers", "WORKERS"},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("Usage: %s [--mode standard|performance] [--host ADDR] [--port N] "
                   "[--workers N]\n\n%s",
                   ch__config_program(argc, argv), ch_config_usage());
            if (more_usage) more_usage(stdout, arg);
            return 1;
        }
        if (!strcmp(a, "--takeover")) {
            cfg->reuse_port = 1;
            continue;
        }
        if (!strcmp(a, "--version")) {
            printf("chopin %s\n", CH_VERSION);
            return 1;
        }
        if ((rc = migrate_flag(cfg, argc, argv, &i, err, errlen)) != 0) {
            if (rc > 0) continue;
            return rc;
        }
        size_t k = 0, n = sizeof(flags) / sizeof(flags[0]);
        const char *value = NULL;
        for (; k < n; k++) {
            size_t fl = strlen(flags[k].flag);
            if (!strncmp(a, flags[k].flag, fl) && a[fl] == '=') {
                value = a + fl + 1;
                break;
            }
            if (!strcmp(a, flags[k].flag)) {
                if (i + 1 >= argc) {
                    snprintf(err, errlen, "option %s needs a value", a);
                    return CH_EINVAL;
                }
                value = argv[++i];
                break;
            }
        }
        if (k == n) {
            snprintf(err, errlen, "unknown option '%s' (try --help)", a);
            return CH_EINVAL;
        }
        if ((rc = apply(cfg, flags[k].name, value, err, errlen)) != 0) return rc;
    }
    return 0;
}
