/* Answering requests: JSON bodies, the envelope, errors, and reading inputs.
 *
 * Every JSON answer of the framework has one shape:
 *   success  {"success":true,"data":<value>}
 *   error    {"success":false,"error":{"code":"NOT_FOUND","message":"..."}}
 *            with "fields":[{"field":"title","message":"is required"}] for validation errors.
 * In production (ENVIRONMENT=production) INTERNAL_ERROR and DATABASE_ERROR messages are
 * replaced by a generic text; the details go to the log with the request id. */
#ifndef CHOPIN_RESPOND_H
#define CHOPIN_RESPOND_H

#include "json.h"
#include "request.h"
#include "url.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ch_error_kind {
    CH_ERR_BAD_REQUEST,            /* 400 BAD_REQUEST */
    CH_ERR_UNAUTHORIZED,           /* 401 UNAUTHORIZED */
    CH_ERR_FORBIDDEN,              /* 403 FORBIDDEN */
    CH_ERR_NOT_FOUND,              /* 404 NOT_FOUND */
    CH_ERR_METHOD_NOT_ALLOWED,     /* 405 METHOD_NOT_ALLOWED */
    CH_ERR_CONFLICT,               /* 409 CONFLICT */
    CH_ERR_PAYLOAD_TOO_LARGE,      /* 413 PAYLOAD_TOO_LARGE */
    CH_ERR_UNSUPPORTED_MEDIA_TYPE, /* 415 UNSUPPORTED_MEDIA_TYPE */
    CH_ERR_VALIDATION,             /* 422 VALIDATION_ERROR */
    CH_ERR_INTERNAL,               /* 500 INTERNAL_ERROR */
    CH_ERR_DATABASE,               /* 500 DATABASE_ERROR */
    CH_ERR_SERVICE_UNAVAILABLE,    /* 503 SERVICE_UNAVAILABLE */
    CH_ERR_TOO_MANY_REQUESTS,      /* 429 TOO_MANY_REQUESTS (send Retry-After with it) */
    CH_ERR_KIND_COUNT
};

/* The status and code of an error kind ("NOT_FOUND"). */
int ch_error_status(enum ch_error_kind kind);
const char *ch_error_code(enum ch_error_kind kind);

/* Starts a success envelope and returns the writer for its data value (one value: an object,
 * an array, a scalar). Finish with ch_respond(). NULL only when out of memory. */
struct ch_json_writer *ch_json_ok(struct ch_request *req);

/* Starts a plain JSON body (no envelope), e.g. for fixed formats such as TechEmpower's. */
struct ch_json_writer *ch_json_begin(struct ch_request *req);

/* Closes the envelope or JSON body if one is open, and sends the response with `status`. An
 * unfinished or failed JSON document becomes a 500 INTERNAL_ERROR instead. Returns 0 (so a
 * handler may `return ch_respond(req, 201);`) or CH_ECLOSED when it was already answered. */
int ch_respond(struct ch_request *req, int status);

/* Sends `body` as is with the given status and Content-Type. */
int ch_respond_text(struct ch_request *req, int status, const char *content_type,
                    struct ch_str body);

/* Sends an error envelope of `kind` with a printf-style message (NULL: the kind's default).
 * Returns 0, or CH_ECLOSED when the request was already answered. */
int ch_error(struct ch_request *req, enum ch_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sends 422 VALIDATION_ERROR with the problems collected in `check` as "fields". */
int ch_error_fields(struct ch_request *req, const struct ch_json_check *check);

/* The request body parsed as JSON (parsed once: later calls return the same tree), or NULL
 * after answering: 415 UNSUPPORTED_MEDIA_TYPE unless
 * Content-Type is application/json or application/<subtype>+json (RFC 6839: JSON:API's
 * application/vnd.api+json, application/merge-patch+json...), with or without parameters; 413
 * PAYLOAD_TOO_LARGE over the body limit, 422 VALIDATION_ERROR "Invalid JSON: <reason> at line L
 * column C". A handler simply does const struct ch_json_value *in = ch_json_body(req); if (!in)
 * return 0; */
const struct ch_json_value *ch_json_body(struct ch_request *req);

/* A path parameter, percent-decoded; {NULL, 0} when the route has none by that name. */
struct ch_str ch_param(const struct ch_request *req, const char *name);

/* A path parameter as an integer: 0, or CH_EINVAL when absent or not a decimal integer. */
int ch_param_int(const struct ch_request *req, const char *name, int64_t *out);

/* The query string, parsed and decoded on first use ('+' is a space); NULL when out of memory
 * or malformed (a bad %-escape). */
const struct ch_query *ch_query_all(struct ch_request *req);

/* The first value of query parameter `key`, decoded; {NULL, 0} when absent. */
struct ch_str ch_query(struct ch_request *req, const char *key);

/* Typed query parameters. Each reads the first value of `key`: absent or empty (`limit=`, as
 * an HTML form sends an empty field) gives `def`; a value that does not parse or is out of
 * [min, max] answers 400 BAD_REQUEST naming the parameter ("limit must be an integer between
 * 1 and 100") and returns CH_EINVAL, and the handler then simply returns 0:
 *     int64_t n;
 *     if (ch_query_int(req, "n", 10, 1, 100, &n) != 0) return 0;
 * A malformed query string (a bad %-escape) is 400 too. Integers are decimal with an optional
 * '-'; numbers are decimal or exponent notation (no "inf", "nan" or hex); booleans are true,
 * false, 1 or 0. */
int ch_query_int(struct ch_request *req, const char *key, int64_t def, int64_t min, int64_t max,
                 int64_t *out);
int ch_query_float(struct ch_request *req, const char *key, double def, double min, double max,
                   double *out);
int ch_query_bool(struct ch_request *req, const char *key, int def, int *out);

/* The lenient variant, for fixed protocols that must never refuse (TechEmpower's ?queries=):
 * `def` when absent, empty or not an integer, then clamped to [min, max]. Never answers. */
int64_t ch_query_int_clamp(struct ch_request *req, const char *key, int64_t def, int64_t min,
                           int64_t max);

/* Pagination from ?limit=&offset=: limit in 1..max_limit (def_limit when absent), offset >= 0
 * (0 when absent). 0, or CH_EINVAL after answering 400 as ch_query_int() does. */
struct ch_page {
    int64_t limit;
    int64_t offset;
};
int ch_paginate(struct ch_request *req, struct ch_page *page, int64_t def_limit, int64_t max_limit);

/* A request header (case-insensitive), {NULL, 0} when absent. */
static inline struct ch_str ch_header(const struct ch_request *req, const char *name)
{
    /* Inline, so the length of a literal name is known where it is called. */
    const struct ch_str *v = ch__request_header_str(req, ch_str_cstr(name));
    return v ? *v : ch_str_make(NULL, 0);
}

#ifdef __cplusplus
}
#endif

#endif
