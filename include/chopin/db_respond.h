/* Answering a request straight from a query, and database errors as envelopes.
 *
 * The common database endpoints need no callbacks: a handler checks its input and names a
 * statement, and the row(s) go out as JSON objects keyed by column name (ch_db_write_row):
 *
 *     static int get_note(struct ch_request *req)
 *     {
 *         int64_t id;
 *         if (ch_param_int(req, "id", &id) != 0) return ch_error(req, CH_ERR_BAD_REQUEST, NULL);
 *         struct ch_db_param p = ch_db_param_int(id);
 *         return ch_db_respond(req, CH_DB_ONE, note_by_id, &p, 1, "Note not found");
 *     }
 *
 * The request is held while the database works and released after the answer. Errors answer
 * as ch_db_respond_error() says. For anything else (several statements whose results combine,
 * logic between them), the batch API of db.h stays available, and its done callback can end
 * with ch_db_respond_error(). */
#ifndef CHOPIN_DB_RESPOND_H
#define CHOPIN_DB_RESPOND_H

#include "db.h"
#include "respond.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the statement's result becomes. Every success is the usual envelope
 * {"success":true,"data":...}. */
enum ch_db_answer {
    /* SELECT ... (or UPDATE ... RETURNING) of one row: 200 with the first row as an object;
     * 404 NOT_FOUND when there is none. */
    CH_DB_ONE,
    /* Any number of rows: 200 with an array of objects, [] when there are none. */
    CH_DB_ROWS,
    /* INSERT ... RETURNING: 201 with the first row returned (data null when the statement
     * returns no columns but inserted rows); 404 when it inserted nothing (an
     * INSERT ... SELECT whose parent row is missing). */
    CH_DB_CREATED,
    /* UPDATE or DELETE: 404 when no row was changed; else 200 with the first row returned
     * (RETURNING), or 204 No Content without a body. */
    CH_DB_CHANGED,
};

/* Runs statement `stmt` with `nparams` parameters (copied) on the request's pool
 * (ch_request_db()) and answers the request from its result as `how` says; `not_found` (may
 * be NULL: "Not found") is the 404 message, copied. Always answers, now or from the
 * database's callback: with no pool, 503; a parameter that does not fit its column (an id
 * beyond int4), 422; a wrong statement or parameter count, 500. Returns 0 (so a handler may
 * `return ch_db_respond(...)`), or CH_ECLOSED if the request was already answered. */
int ch_db_respond(struct ch_request *req, enum ch_db_answer how, int stmt,
                  const struct ch_db_param *params, int nparams, const char *not_found);

/* The error kind answering a database error code: CH_ECONFLICT -> CH_ERR_CONFLICT (409),
 * CH_EINVAL and CH_ERANGE -> CH_ERR_VALIDATION (422), CH_EUNAVAILABLE ->
 * CH_ERR_SERVICE_UNAVAILABLE (503), anything else -> CH_ERR_DATABASE (500). */
enum ch_error_kind ch_db_error_kind(int err);

/* Answers the request with the envelope for a failed batch (out->err != 0): 409 and 422 carry
 * the database's message; 503 says "Database unavailable" only; 500 DATABASE_ERROR carries
 * the failing query's index, SQLSTATE and message, which production hides from the client and
 * logs with the request id. Returns 0, or CH_ECLOSED if the request was already answered. */
int ch_db_respond_error(struct ch_request *req, const struct ch_db_outcome *out);

#ifdef __cplusplus
}
#endif

#endif
