/* What the PostgreSQL driver's two halves share: pg.c (startup, parameter encoding, result
 * decoding) and pg_pool.c (the per-worker pipelined connections). */
#ifndef CH_DB_PG_H
#define CH_DB_PG_H

#include <libpq-fe.h>

#include "db/internal.h"

/* Process-wide driver state (db->drv_data). */
struct ch__pg_db {
    PGconn *boot; /* the startup connection, until the first worker starts */
    /* Connection parameters for pool connections: the URL, pinned to the address the startup
     * connection reached so that no worker ever resolves a host name (which would block). */
    const char *keys[16];
    const char *vals[16];
    char *owned[16];   /* strdup'ed values to free */
    char (*names)[16]; /* prepared statement names, "s<id>" */
};

/* Fills `v` from a PGresult (any status) for a result callback. */
void ch__pg_view(struct ch_db_result *v, struct ch_arena *arena, const PGresult *res);

/* The notice processor for every connection: notices go to the debug log. */
void ch__pg_notice(void *arg, const char *message);

int ch__pg_worker_start(struct ch_db_worker *dw);
void ch__pg_worker_stop(struct ch_db_worker *dw);
void ch__pg_submit(struct ch_db_batch *b);
void ch__pg_stats(const struct ch_db_worker *dw, struct ch_db_stats *st);

#endif
