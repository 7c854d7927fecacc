/* Declared routes: a route states once what it reads (path parameters, query parameters, a
 * JSON body) and what it answers; the framework validates requests against that declaration
 * before the handler runs, and the OpenAPI document (chopin/openapi.h) describes the route
 * from the same declaration.
 *
 *     static const struct ch_field note_fields[] = {
 *         {"title", CH_STRING, .required = 1, .min_len = 1, .max_len = 200},
 *         {"body", CH_STRING, .max_len = 10000},
 *         {"priority", CH_STRING, .one_of = "low|normal|high"},
 *         {"stars", CH_INT, .min = 0, .max = 5},
 *     };
 *     static const struct ch_field id_param[] = {{"id", CH_INT, .min = 1, .max = INT64_MAX}};
 *     static const struct ch_route_spec update_note = {
 *         .summary = "Replace a note",
 *         .params = CH_FIELDS(id_param),
 *         .body = CH_FIELDS(note_fields),
 *         .statuses = {200, 404, 422},
 *     };
 *     ch_route_with(app, CH_METHOD_BIT(CH_PUT), "/notes/:id", update, &update_note);
 *
 *     static int update(struct ch_request *req)
 *     {
 *         int64_t id = ch_arg_int(req, "id");          // validated: 1..INT64_MAX
 *         struct ch_str title = ch_body_str(req, "title");
 *         ...
 *     }
 *
 * Validation runs after the route's middleware (so a guard answers 401 first) and before the
 * handler, in this order: path parameters, then query parameters (each 400 BAD_REQUEST naming
 * the first bad parameter: "limit must be an integer between 1 and 100"), then the body. The
 * body must be JSON (Content-Type application/json or application/<anything>+json, else 415),
 * parse (else 422 "Invalid JSON ..."), and be an object (else one 422 "Request body must be a
 * JSON object"). Then every declared field is checked in declaration order and all problems
 * are answered at once: 422 VALIDATION_ERROR with "fields": [{"field":..., "message":...}] in
 * field order, one problem per field (the first it fails). Fields the declaration does not name
 * are ignored, as serde, pydantic and Django REST framework do by default; set .reject_unknown
 * to report each as "is not an allowed field" (after the declared fields' problems). A member
 * whose value is null counts as absent. A route without a body declaration reads no body.
 *
 * Every declaration must outlive the app (make them static const). Mistakes in a declaration
 * (a range with min > max, an unknown type) make the registration fail, and so the start. */
#ifndef CHOPIN_SCHEMA_H
#define CHOPIN_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "json.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ch_type {
    CH_STRING = 1, /* a JSON string; in a path or query: any text */
    CH_INT,        /* an integer (int64); 2.0 and 1e3 count as integers in a body */
    CH_FLOAT,      /* any number, as a double */
    CH_BOOL,       /* true/false; in a path or query: true, false, 1 or 0 */
    CH_OBJECT,     /* a JSON object (body fields only; its members are not checked) */
    CH_ARRAY,      /* a JSON array (body fields only; min_len/max_len bound its length) */
};

/* One declared field of a body, or one path or query parameter. Unset members (0, NULL) put
 * no constraint. Write the name and type in order and the rest by name; a field with no
 * constraint still names one member ({"done", CH_BOOL, .required = 0}), since gcc's
 * -Wextra warns about a purely positional initializer that leaves members out. */
struct ch_field {
    const char *name;
    enum ch_type type;
    int required;       /* body and query: absent (or null) is "is required"; path: always */
    size_t min_len;     /* strings: at least this many characters (code points); arrays: items */
    size_t max_len;     /* strings: at most this many characters; arrays: items; 0: no limit */
    double min, max;    /* numbers: the inclusive range, checked when either is non-zero; use
                           INT64_MAX or INFINITY for an open end */
    const char *prefix; /* strings: must start with this */
    const char *one_of; /* strings: one of these values, separated by '|': "low|normal|high" */
    double def;         /* query parameters: the value ch_arg_int/float/bool give when absent */
    const char *description; /* for the OpenAPI document */
};

/* A counted array of fields: CH_FIELDS(my_array). */
struct ch_fields {
    const struct ch_field *items;
    size_t count;
};
#define CH_FIELDS(array)                            \
    {                                               \
        (array), sizeof(array) / sizeof((array)[0]) \
    }

#define CH_ROUTE_MAX_STATUSES 12

/* Everything a route declares besides its method, pattern and handler. */
struct ch_route_spec {
    const char *summary;     /* one line for the OpenAPI document */
    struct ch_fields params; /* typed path parameters, by name (undeclared ones are strings) */
    struct ch_fields query;  /* query parameters */
    struct ch_fields body;   /* the fields of a JSON object body; none: no body is read */
    int reject_unknown;      /* body members not declared are 422 instead of ignored */
    /* The statuses the route answers, success first (0 ends the list early): each becomes a
     * response in the OpenAPI document. Empty: {200}. 400, 415 and 422 are added when the
     * route declares parameters or a body, 401 when a guard covers it. */
    int statuses[CH_ROUTE_MAX_STATUSES];
    /* Middleware for this route only, run after the global and group middleware (copied at
     * registration; `arg` is not released by the app unless `cleanup` says so). */
    const struct ch_middleware *middleware;
    size_t nmiddleware;
};

/* ch_route() with a declaration (which must outlive the app). 0 or a CH_E* code (CH_EINVAL for
 * a malformed declaration, such as a path parameter the pattern does not have). */
int ch_route_with(struct ch_app *app, unsigned methods, const char *pattern, ch_handler_fn handler,
                  const struct ch_route_spec *spec);
int ch_group_route_with(struct ch_group *g, unsigned methods, const char *pattern,
                        ch_handler_fn handler, const struct ch_route_spec *spec);

/* Reading validated values in a handler of a declared route. */

/* A declared path or query parameter: its value (validated, so it parses), or the field's `def`
 * when an optional query parameter is absent. An undeclared name gives 0 (false, empty). */
int64_t ch_arg_int(struct ch_request *req, const char *name);
double ch_arg_float(struct ch_request *req, const char *name);
int ch_arg_bool(struct ch_request *req, const char *name);
struct ch_str ch_arg_str(struct ch_request *req, const char *name); /* decoded; {NULL,0} absent */

/* The validated body (a JSON object), or NULL when the route declares none. */
const struct ch_json_value *ch_body(const struct ch_request *req);

/* Member `name` of the validated body: whether it is present and not null, and its value as
 * each type (the fallback - {NULL, 0}, `def` - when absent, null or of another type). Strings
 * are valid UTF-8 and may contain NUL; an integer field sent as 2.0 reads as 2. */
int ch_body_has(const struct ch_request *req, const char *name);
struct ch_str ch_body_str(const struct ch_request *req, const char *name);
int64_t ch_body_int(const struct ch_request *req, const char *name, int64_t def);
double ch_body_float(const struct ch_request *req, const char *name, double def);
int ch_body_bool(const struct ch_request *req, const char *name, int def);

/* The declaration a route was registered with, or NULL (for documentation generators). */
const struct ch_route_spec *ch_app_route_spec(const struct ch_app *app, size_t i);

#ifdef __cplusplus
}
#endif

#endif
