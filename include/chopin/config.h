/* Server configuration: defaults, then a `.env` file in the working directory, then the
 * environment (which wins over .env), then command-line flags (which win over both).
 *
 *   SERVER_MODE   standard | performance (aliases perf, fast)      default standard
 *   SERVER_HOST   address to bind                                  default 127.0.0.1
 *   SERVER_PORT   0-65535 (0: a free port, logged when listening)  default 3000
 *   WORKERS       worker threads, 1-1024                           default: CPUs available
 *   ENVIRONMENT   development | production                         default development
 *   BACKLOG       listen backlog                                   default 8192
 *   MAX_HEAD_SIZE, MAX_HEADERS, MAX_BODY_SIZE                      8192, 100, 1MiB
 *   HEAD_TIMEOUT, IDLE_TIMEOUT, BODY_TIMEOUT, SEND_TIMEOUT         10s, 15s, 30s, 10s
 *   REQUEST_TIMEOUT, SHUTDOWN_TIMEOUT                              30s, 10s
 *   MAX_OUTPUT_BUFFER  pending output at which a connection stops reading, default 1MiB
 *   DATABASE_URL, DB_POOL_SIZE, CORS_ORIGINS                       see the README
 *   DRAIN_DELAY   after SIGTERM, keep serving (503 on /health) this long first  default 0
 *   REUSE_PORT    0 | 1 (or --takeover): join a port another chopin holds    default 0
 *   ACCESS_LOG    on | off (default: on in development only); ACCESS_LOG_FORMAT
 *                 logfmt | json | combined (nginx's)                      default logfmt
 *   BEHIND_TLS    true | false: clients reach the app over HTTPS    default false
 *   TLS_CERT, TLS_KEY, TLS_PORT, TLS_HTTP, TLS_CIPHERS, TLS_CIPHERSUITES, TLS_OCSP,
 *   TLS_HANDSHAKE_TIMEOUT, TLS_TICKET_ROTATE, TLS_KTLS             HTTPS, see the README
 *
 * Durations take an optional unit (ms, s, m; seconds when none); sizes an optional
 * k/K/KiB, m/M/MiB suffix. */
#ifndef CHOPIN_CONFIG_H
#define CHOPIN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ch_mode {
    CH_MODE_STANDARD,
    CH_MODE_PERFORMANCE,
};

enum ch_migrate_cmd {
    CH_MIGRATE_NONE,
    CH_MIGRATE_STATUS,
    CH_MIGRATE_ONLY,
    CH_MIGRATE_DOWN,
};

struct ch_config {
    enum ch_mode mode;
    char host[256];
    int port;
    int workers;
    int production; /* ENVIRONMENT=production */
    int backlog;
    size_t max_head_size;
    size_t max_headers;
    uint64_t max_body_size;
    size_t max_output;
    unsigned head_timeout_ms;
    unsigned idle_timeout_ms;
    unsigned body_timeout_ms;
    unsigned send_timeout_ms;
    unsigned request_timeout_ms;
    unsigned shutdown_timeout_ms;
    char database_url[1024]; /* empty: the embedded SQLite file chopin.db */
    int db_pool_size; /* 0: the database layer's default (chopin/db.h) */
    char cors_origins[1024]; /* comma-separated; empty or "*": any origin */
    unsigned drain_delay_ms; /* DRAIN_DELAY: announce draining, keep serving, then drain */
    int reuse_port;          /* REUSE_PORT=1 / --takeover: share the port with a running server */
    int access_log;          /* ACCESS_LOG: 1 on, 0 off, -1 (default) development only */
    int access_log_format;   /* ACCESS_LOG_FORMAT: 0 logfmt, 1 json, 2 combined */
    int behind_tls; /* BEHIND_TLS=true: clients reach the app over HTTPS (HSTS is sent) */
    /* --migrate-status, --migrate-only, --migrate-down N (flags only; see chopin/db.h) */
    enum ch_migrate_cmd migrate;
    int migrate_down; /* N of --migrate-down */
    /* HTTPS (off while tls_cert is empty). Certificate, key and OCSP lists are comma-separated
     * and parallel: entry i of each belongs to certificate i; the first is the default. */
    char tls_cert[2048];
    char tls_key[2048];
    char tls_ocsp[2048];       /* DER OCSP responses to staple; empty entries staple nothing */
    char tls_ciphers[1024];    /* TLS 1.2 cipher list (OpenSSL syntax) */
    char tls_ciphersuites[256]; /* TLS 1.3 suites */
    int tls_port;              /* default 8443 */
    int tls_http;              /* CH_TLS_HTTP_*: what the plain SERVER_PORT listener does */
    int tls_ktls;              /* ask OpenSSL to hand the session to kernel TLS */
    unsigned tls_handshake_timeout_ms;
    unsigned tls_ticket_rotate_ms;
};

enum { CH_TLS_HTTP_SERVE, CH_TLS_HTTP_REDIRECT, CH_TLS_HTTP_OFF };

/* Fills every field with its default. */
void ch_config_defaults(struct ch_config *cfg);

/* Loads ./.env (keys not already in the environment are set), then reads the environment and
 * the flags (--mode, --host, --port, --workers, --help, --version). Returns 0 to go on, 1 when
 * --help or --version printed its text (exit 0), or CH_EINVAL with a one-line reason in `err`
 * (the caller prints it and exits with status 2). */
int ch_config_load(struct ch_config *cfg, int argc, char **argv, char *err, size_t errlen);

/* The framework's options and settings as --help prints them, after a usage line naming the
 * program (the basename of argv[0]); an app's declared settings follow (ch_app_setting()). */
const char *ch_config_usage(void);

#ifdef __cplusplus
}
#endif

#endif
