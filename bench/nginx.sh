#!/usr/bin/env bash
# Run Debian's nginx in the foreground as the benchmark's reference server.
#
# Usage: bench/nginx.sh PORT WORKERS DIR [KEEPALIVE_TIMEOUT_S]
#
# Writes DIR/nginx.conf and execs nginx on 127.0.0.1:PORT with WORKERS worker
# processes. It answers GET /plaintext and GET /json straight from the config
# (`return 200`), the cheapest way nginx can produce those bytes, so the
# comparison is with nginx's HTTP machinery and not with a file or upstream.
# Everything it writes (config, pid, error log, temp dirs) stays under DIR.
#
# Environment:
#   NGINX_TLS_CERT, NGINX_TLS_KEY  serve HTTPS instead, with the TLS settings chopin has by
#                                  default (protocols, ciphers in its order, groups, tickets)
#   NGINX_MASTER [on]              off: one process, no master (e.g. under valgrind)
#   NGINX_CONF_ONLY=1              write DIR/nginx.conf and exit; run nginx yourself with
#                                  nginx -p DIR -e DIR/logs/error.log -c DIR/nginx.conf
set -euo pipefail

[ $# -ge 3 ] || { sed -n '4p' "$0" >&2; exit 2; }
port=$1 workers=$2 dir=$3 keepalive=${4:-65}
mkdir -p "$dir/logs" "$dir/tmp"

ssl="" tls=""
if [ -n "${NGINX_TLS_CERT:-}" ] || [ -n "${NGINX_TLS_KEY:-}" ]; then
    # The lists chopin uses by default (src/core/config.c), spelled out for nginx. Tickets
    # only, no session cache: chopin resumes statelessly too.
    ssl=" ssl"
    tls="
        ssl_certificate ${NGINX_TLS_CERT:?NGINX_TLS_KEY needs NGINX_TLS_CERT};
        ssl_certificate_key ${NGINX_TLS_KEY:?NGINX_TLS_CERT needs NGINX_TLS_KEY};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305;
        ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;
        ssl_prefer_server_ciphers on;
        ssl_ecdh_curve X25519:prime256v1;
        ssl_session_tickets on;
        ssl_session_cache off;"
fi

# worker_connections must cover the 10,000 idle connections of the memory
# test plus listeners; 20000 open files is this machine's hard limit.
# keepalive_requests is huge so nginx never closes a benchmark connection
# (its default of 1000 would show up as wrk read errors and reconnects).
# reuseport gives each worker its own accept queue, as a tuned server would.
cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process ${NGINX_MASTER:-on};
worker_processes $workers;
worker_rlimit_nofile 20000;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;

events {
    worker_connections 16384;
    use epoll;
}

http {
    access_log off;
    server_tokens off;
    tcp_nodelay on;
    keepalive_timeout ${keepalive}s;
    keepalive_requests 2000000000;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;

    server {
        listen 127.0.0.1:$port$ssl reuseport backlog=4096;$tls
        # Anything else is 404, as from an application without that route.
        location / {
            return 404;
        }
        location = /plaintext {
            default_type text/plain;
            return 200 "Hello, World!";
        }
        location = /json {
            default_type application/json;
            return 200 '{"message":"Hello, World!"}';
        }
    }
}
CONF

[ "${NGINX_CONF_ONLY:-0}" = 1 ] && exit 0

# -e: nginx opens its compiled-in error log before reading the config; point
# it into DIR so a non-root user or a missing /var/log/nginx does not matter.
exec nginx -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf"
