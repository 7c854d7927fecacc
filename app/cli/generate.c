/* chopin generate resource NAME field:type[:optional][:unique]...
 *
 * Writes, for `post title:string body:text published:bool`:
 *   migrations/NNNN_create_posts.postgres.sql, .sqlite.sql, .down.sql   the table
 *   src/posts.h, src/posts.c      CRUD handlers with validation derived from the types, their
 *                                 routes under /api/posts with declared schemas (OpenAPI)
 *   tests/test_posts.c            the CRUD through the test client
 * and registers posts_register() in src/app.c at the chopin:register line. It never writes
 * over an existing file: when one of its files exists it writes nothing and says which. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "write.h"

static const char usage[] =
    "Usage: chopin generate resource NAME FIELD:TYPE[:optional][:unique]...\n"
    "\n"
    "Writes a migration (PostgreSQL and SQLite), CRUD handlers under /api/NAMEs with\n"
    "validation derived from the types, their routes and OpenAPI schemas, and tests; and\n"
    "registers the routes in src/app.c. Run it in a project folder (chopin new).\n"
    "\n"
    "NAME and FIELD: lower-case letters, digits and _, starting with a letter (NAME singular).\n"
    "TYPE: string (1-255 characters), text, int, bigint, bool, float, timestamp (ISO 8601),\n"
    "      ref:OTHER (the id of an OTHER row; a foreign key to OTHERs).\n"
    "Modifiers: optional (may be absent or null), unique (409 on a duplicate).\n"
    "Example: chopin generate resource post title:string:unique body:text published:bool\n";

enum ftype { F_STRING, F_TEXT, F_INT, F_BIGINT, F_BOOL, F_FLOAT, F_TIMESTAMP, F_REF };

static const struct {
    const char *name;
    const char *pg, *sqlite; /* column types */
    const char *field;       /* the declaration's type and constraints */
    const char *sample, *sample2; /* JSON values for the generated tests */
} types[] = {
    [F_STRING] = {"string", "text", "TEXT", "CH_STRING, .min_len = 1, .max_len = 255", "\\\"alpha\\\"",
                  "\\\"beta\\\""},
    [F_TEXT] = {"text", "text", "TEXT", "CH_STRING, .max_len = 100000", "\\\"some text\\\"",
                "\\\"more text\\\""},
    [F_INT] = {"int", "integer", "INTEGER", "CH_INT, .min = INT32_MIN, .max = INT32_MAX", "42",
               "7"},
    [F_BIGINT] = {"bigint", "bigint", "INTEGER", "CH_INT, .min = INT64_MIN, .max = INT64_MAX",
                  "9000000000", "-5"},
    [F_BOOL] = {"bool", "boolean", "BOOLEAN", "CH_BOOL", "true", "false"},
    [F_FLOAT] = {"float", "double precision", "REAL", "CH_FLOAT", "1.5", "-2.25"},
    [F_TIMESTAMP] = {"timestamp", "timestamptz", "TIMESTAMP",
                     "CH_STRING, .min_len = 10, .max_len = 40",
                     "\\\"2026-01-02T03:04:05.000Z\\\"", "\\\"2026-02-03T04:05:06.000Z\\\""},
    [F_REF] = {"ref", "bigint", "INTEGER", "CH_INT, .min = 1, .max = INT64_MAX", "1", "1"},
};

enum { MAX_FIELDS = 32 };

struct field {
    char name[64];
    enum ftype type;
    char ref[64]; /* F_REF: the other resource, plural */
    int optional, unique;
};

/* A growing text, for the generated files. */
struct text {
    char *p;
    size_t len, cap;
    int oom;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        int n = vsnprintf(t->p ? t->p + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
}

static int valid_ident(const char *s)
{
    if (!islower((unsigned char)*s) || strlen(s) > 40) return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_') return 0;
    return 1;
}

/* English plural, good enough for table and route names: post -> posts, category ->
 * categories, box -> boxes. */
static void plural(const char *s, char *out, size_t len)
{
    size_t n = strlen(s);
    const char *end = s + n;
    if (n > 1 && end[-1] == 'y' && !strchr("aeiou", end[-2]))
        snprintf(out, len, "%.*sies", (int)n - 1, s);
    else if ((n && (end[-1] == 's' || end[-1] == 'x' || end[-1] == 'z')) ||
             (n > 1 && (end[-1] == 'h') && (end[-2] == 'c' || end[-2] == 's')))
        snprintf(out, len, "%ses", s);
    else snprintf(out, len, "%ss", s);
}

/* Words PostgreSQL or SQLite reserve: a column by that name would need quoting everywhere. */
static int reserved(const char *s)
{
    static const char *const words[] = {
        "all", "and", "any", "as", "asc", "between", "by", "case", "cast", "check", "column",
        "constraint", "create", "cross", "current_date", "current_time", "current_timestamp",
        "current_user", "default", "delete", "desc", "distinct", "do", "drop", "else", "end",
        "except", "exists", "false", "for", "foreign", "from", "full", "grant", "group", "having",
        "in", "index", "inner", "insert", "intersect", "into", "is", "join", "key", "left",
        "like", "limit", "natural", "not", "null", "offset", "on", "or", "order", "outer",
        "primary", "references", "right", "select", "session_user", "set", "table", "then", "to",
        "true", "union", "unique", "update", "user", "using", "values", "when", "where", "with",
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (!strcmp(s, words[i])) return 1;
    return 0;
}

static int parse_field(const char *arg, struct field *f)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", arg);
    memset(f, 0, sizeof(*f));
    char *save = NULL, *part = strtok_r(buf, ":", &save);
    if (!part || !valid_ident(part))
        return cli_usage_error("generate", "field '%s': NAME:TYPE with a lower-case name", arg);
    if (!strcmp(part, "id") || !strcmp(part, "created_at"))
        return cli_usage_error("generate", "field '%s' is implicit (every table has one)", part);
    if (reserved(part))
        return cli_usage_error("generate", "field '%s' is an SQL keyword; pick another name", part);
    snprintf(f->name, sizeof(f->name), "%s", part);
    part = strtok_r(NULL, ":", &save);
    if (!part) return cli_usage_error("generate", "field '%s' has no type (e.g. %s:string)", arg, arg);
    size_t t = 0, nt = sizeof(types) / sizeof(types[0]);
    while (t < nt && strcmp(types[t].name, part)) t++;
    if (t == nt)
        return cli_usage_error("generate", "field '%s': unknown type '%s' (see --help)", arg, part);
    f->type = (enum ftype)t;
    if (f->type == F_REF) {
        part = strtok_r(NULL, ":", &save);
        if (!part || !valid_ident(part))
            return cli_usage_error("generate", "field '%s': ref needs a resource (ref:user)", arg);
        plural(part, f->ref, sizeof(f->ref));
    }
    while ((part = strtok_r(NULL, ":", &save))) {
        if (!strcmp(part, "optional")) f->optional = 1;
        else if (!strcmp(part, "unique")) f->unique = 1;
        else
            return cli_usage_error("generate", "field '%s': unknown modifier '%s' (optional, unique)",
                                   arg, part);
    }
    return 0;
}

struct resource {
    const char *name; /* singular */
    char plural[80];
    char Title[80]; /* "Post", for messages */
    struct field fields[MAX_FIELDS];
    int nfields;
    long version;
};

static void migration(const struct resource *r, struct text *t, int pg)
{
    add(t, "-- The %s table (chopin generate resource %s).\n", r->plural, r->name);
    add(t, "CREATE TABLE %s (\n", r->plural);
    add(t, "    id %s,\n", pg ? "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
                              : "INTEGER PRIMARY KEY AUTOINCREMENT");
    for (int i = 0; i < r->nfields; i++) {
        const struct field *f = &r->fields[i];
        add(t, "    %s %s%s%s", f->name, pg ? types[f->type].pg : types[f->type].sqlite,
            f->optional ? "" : " NOT NULL", f->unique ? " UNIQUE" : "");
        if (f->type == F_REF) add(t, " REFERENCES %s (id)", f->ref);
        add(t, ",\n");
    }
    add(t, "    created_at %s NOT NULL DEFAULT %s\n);\n", pg ? "timestamptz" : "TIMESTAMP",
        pg ? "now()" : "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
}

/* "id, title, body, created_at": what every statement returns. */
static void columns(const struct resource *r, struct text *t)
{
    add(t, "id");
    for (int i = 0; i < r->nfields; i++) add(t, ", %s", r->fields[i].name);
    add(t, ", created_at");
}

static void source_h(const struct resource *r, struct text *t)
{
    char guard[80];
    snprintf(guard, sizeof(guard), "%s", r->plural);
    for (char *p = guard; *p; p++) *p = (char)toupper((unsigned char)*p);
    add(t,
        "/* %s: /api/%s, the CRUD of the %s table. */\n"
        "#ifndef %s_H\n#define %s_H\n\n#include <chopin/chopin.h>\n\n"
        "/* Declares the statements and registers GET/POST /api/%s and GET/PUT/PATCH/DELETE\n"
        " * /api/%s/:id. 0 or a CH_E* code. */\n"
        "int %s_register(struct ch_app *app);\n\n#endif\n",
        r->plural, r->plural, r->plural, guard, guard, r->plural, r->plural, r->plural);
}

/* One declared field: its type and constraints, and whether it is required. gcc's -Wextra
 * wants a named member besides the positional ones, hence `.required = 0`. */
static void field_decl(struct text *t, const struct field *f, int required)
{
    const char *decl = types[f->type].field;
    add(t, "    {\"%s\", %s%s},\n", f->name, decl,
        required ? ", .required = 1" : strchr(decl, '.') ? "" : ", .required = 0");
}

static void source_c(const struct resource *r, struct text *t)
{
    int n = r->nfields;
    add(t,
        "/* %s: /api/%s, the CRUD of the %s table (migrations/%04ld_create_%s.*.sql).\n"
        " * Written by `chopin generate resource %s`; yours to edit.\n"
        " *\n"
        " *   GET    /api/%s?limit=20&offset=0   list, by id\n"
        " *   POST   /api/%s                     create -> 201\n"
        " *   GET    /api/%s/:id                 one, or 404\n"
        " *   PUT    /api/%s/:id                 replace every field\n"
        " *   PATCH  /api/%s/:id                 change the fields given\n"
        " *   DELETE /api/%s/:id                 delete -> 204, or 404 */\n"
        "#include <stdio.h>\n\n#include \"%s.h\"\n\n",
        r->plural, r->plural, r->plural, r->version, r->plural, r->name, r->plural, r->plural,
        r->plural, r->plural, r->plural, r->plural, r->plural);
    add(t, "enum { NFIELDS = %d };\n\n", n);
    add(t, "static int list_stmt, get_stmt, create_stmt, replace_stmt, patch_stmt, delete_stmt;\n\n");
    add(t, "static const struct ch_field fields[NFIELDS] = {\n");
    for (int i = 0; i < n; i++) field_decl(t, &r->fields[i], !r->fields[i].optional);
    add(t, "};\n\n/* PATCH: the same fields, none required. */\n");
    add(t, "static const struct ch_field patch_fields[NFIELDS] = {\n");
    for (int i = 0; i < n; i++) field_decl(t, &r->fields[i], 0);
    add(t, "};\n\n"
           "static const struct ch_field id_param[] = {{\"id\", CH_INT, .min = 1, .max = INT64_MAX}};\n"
           "static const struct ch_field page_query[] = {\n"
           "    {\"limit\", CH_INT, .min = 1, .max = 100, .def = 20},\n"
           "    {\"offset\", CH_INT, .min = 0, .max = INT64_MAX, .def = 0},\n"
           "};\n\n");
    add(t,
        "static const struct ch_route_spec list_spec = {\n"
        "    .summary = \"List %s\", .query = CH_FIELDS(page_query), .statuses = {200}};\n"
        "static const struct ch_route_spec create_spec = {\n"
        "    .summary = \"Create a %s\", .body = CH_FIELDS(fields), .statuses = {201, 409}};\n"
        "static const struct ch_route_spec get_spec = {\n"
        "    .summary = \"Get a %s\", .params = CH_FIELDS(id_param), .statuses = {200, 404}};\n"
        "static const struct ch_route_spec replace_spec = {.summary = \"Replace a %s\",\n"
        "                                                  .params = CH_FIELDS(id_param),\n"
        "                                                  .body = CH_FIELDS(fields),\n"
        "                                                  .statuses = {200, 404, 409}};\n"
        "static const struct ch_route_spec patch_spec = {.summary = \"Change a %s\",\n"
        "                                                .params = CH_FIELDS(id_param),\n"
        "                                                .body = CH_FIELDS(patch_fields),\n"
        "                                                .statuses = {200, 404, 409}};\n"
        "static const struct ch_route_spec delete_spec = {\n"
        "    .summary = \"Delete a %s\", .params = CH_FIELDS(id_param), .statuses = {204, 404}};\n\n",
        r->plural, r->name, r->name, r->name, r->name, r->name);
    add(t,
        "/* The body's fields as statement parameters, in declaration order; an absent or null\n"
        " * member is SQL NULL (for PATCH: keep the column as it is). Floats travel as text. */\n"
        "static void body_params(struct ch_request *req, const struct ch_field *f,\n"
        "                        struct ch_db_param *out)\n"
        "{\n"
        "    for (int i = 0; i < NFIELDS; i++) {\n"
        "        const char *name = f[i].name;\n"
        "        if (!ch_body_has(req, name)) {\n"
        "            out[i] = ch_db_param_null();\n"
        "        } else if (f[i].type == CH_INT) {\n"
        "            out[i] = ch_db_param_int(ch_body_int(req, name, 0));\n"
        "        } else if (f[i].type == CH_BOOL) {\n"
        "            out[i] = ch_db_param_int(ch_body_bool(req, name, 0));\n"
        "        } else if (f[i].type == CH_FLOAT) {\n"
        "            char *s = ch_arena_alloc(&req->arena, 32);\n"
        "            if (s) snprintf(s, 32, \"%%.17g\", ch_body_float(req, name, 0));\n"
        "            out[i] = s ? ch_db_param_text(ch_str_cstr(s)) : ch_db_param_null();\n"
        "        } else {\n"
        "            out[i] = ch_db_param_text(ch_body_str(req, name));\n"
        "        }\n"
        "    }\n"
        "}\n\n");
    add(t,
        "static int list(struct ch_request *req)\n"
        "{\n"
        "    struct ch_db_param p[2] = {ch_db_param_int(ch_arg_int(req, \"limit\")),\n"
        "                               ch_db_param_int(ch_arg_int(req, \"offset\"))};\n"
        "    return ch_db_respond(req, CH_DB_ROWS, list_stmt, p, 2, NULL);\n"
        "}\n\n"
        "static int create(struct ch_request *req)\n"
        "{\n"
        "    struct ch_db_param p[NFIELDS];\n"
        "    body_params(req, fields, p);\n"
        "    return ch_db_respond(req, CH_DB_CREATED, create_stmt, p, NFIELDS, NULL);\n"
        "}\n\n"
        "static int get_one(struct ch_request *req)\n"
        "{\n"
        "    struct ch_db_param id = ch_db_param_int(ch_arg_int(req, \"id\"));\n"
        "    return ch_db_respond(req, CH_DB_ONE, get_stmt, &id, 1, \"%s not found\");\n"
        "}\n\n"
        "/* PUT and PATCH: $1 is the id, the fields follow. */\n"
        "static int change(struct ch_request *req, int stmt, const struct ch_field *f)\n"
        "{\n"
        "    struct ch_db_param p[NFIELDS + 1];\n"
        "    p[0] = ch_db_param_int(ch_arg_int(req, \"id\"));\n"
        "    body_params(req, f, p + 1);\n"
        "    return ch_db_respond(req, CH_DB_CHANGED, stmt, p, NFIELDS + 1, \"%s not found\");\n"
        "}\n\n"
        "static int replace(struct ch_request *req)\n"
        "{\n"
        "    return change(req, replace_stmt, fields);\n"
        "}\n\n"
        "static int patch(struct ch_request *req)\n"
        "{\n"
        "    return change(req, patch_stmt, patch_fields);\n"
        "}\n\n"
        "static int destroy(struct ch_request *req)\n"
        "{\n"
        "    struct ch_db_param id = ch_db_param_int(ch_arg_int(req, \"id\"));\n"
        "    return ch_db_respond(req, CH_DB_CHANGED, delete_stmt, &id, 1, \"%s not found\");\n"
        "}\n\n",
        r->Title, r->Title, r->Title);

    /* The statements: portable SQL, $N parameters on both drivers. */
    struct text cols = {0};
    columns(r, &cols);
    const char *c = cols.p ? cols.p : "id";
    add(t, "int %s_register(struct ch_app *app)\n{\n", r->plural);
    add(t, "    list_stmt = ch_app_statement(app, \"%s_list\",\n"
           "        \"SELECT %s FROM %s ORDER BY id LIMIT $1 OFFSET $2\", NULL);\n",
        r->plural, c, r->plural);
    add(t, "    get_stmt = ch_app_statement(app, \"%s_get\",\n"
           "        \"SELECT %s FROM %s WHERE id = $1\", NULL);\n",
        r->plural, c, r->plural);
    add(t, "    create_stmt = ch_app_statement(app, \"%s_create\",\n        \"INSERT INTO %s (",
        r->plural, r->plural);
    for (int i = 0; i < n; i++) add(t, "%s%s", i ? ", " : "", r->fields[i].name);
    add(t, ") VALUES (");
    for (int i = 0; i < n; i++) add(t, "%s$%d", i ? ", " : "", i + 1);
    add(t, ")\"\n        \" RETURNING %s\", NULL);\n", c);
    add(t, "    replace_stmt = ch_app_statement(app, \"%s_replace\",\n        \"UPDATE %s SET ",
        r->plural, r->plural);
    for (int i = 0; i < n; i++) add(t, "%s%s = $%d", i ? ", " : "", r->fields[i].name, i + 2);
    add(t, "\"\n        \" WHERE id = $1 RETURNING %s\", NULL);\n", c);
    add(t, "    patch_stmt = ch_app_statement(app, \"%s_patch\",\n        \"UPDATE %s SET ",
        r->plural, r->plural);
    for (int i = 0; i < n; i++)
        add(t, "%s%s = COALESCE($%d, %s)", i ? ", " : "", r->fields[i].name, i + 2,
            r->fields[i].name);
    add(t, "\"\n        \" WHERE id = $1 RETURNING %s\", NULL);\n", c);
    add(t, "    delete_stmt = ch_app_statement(app, \"%s_delete\", \"DELETE FROM %s WHERE id = $1\",\n"
           "                                   NULL);\n",
        r->plural, r->plural);
    free(cols.p);
    add(t,
        "\n    struct ch_group *g = ch_group_new(app, \"/api/%s\");\n"
        "    if (!g) return CH_ENOMEM;\n"
        "    int rc;\n"
        "    if ((rc = ch_group_route_with(g, CH_METHOD_BIT(CH_GET), \"\", list, &list_spec)) ||\n"
        "        (rc = ch_group_route_with(g, CH_METHOD_BIT(CH_POST), \"\", create, &create_spec)) ||\n"
        "        (rc = ch_group_route_with(g, CH_METHOD_BIT(CH_GET), \"/:id\", get_one, &get_spec)) ||\n"
        "        (rc = ch_group_route_with(g, CH_METHOD_BIT(CH_PUT), \"/:id\", replace, &replace_spec)) ||\n"
        "        (rc = ch_group_route_with(g, CH_METHOD_BIT(CH_PATCH), \"/:id\", patch, &patch_spec)) ||\n"
        "        (rc = ch_group_route_with(g, CH_METHOD_BIT(CH_DELETE), \"/:id\", destroy, &delete_spec)))\n"
        "        return rc;\n"
        "    return 0;\n}\n",
        r->plural);
}

/* The JSON body of a create (variant 0) or replace (variant 1) with every field. */
static void sample_body(const struct resource *r, struct text *t, int variant)
{
    add(t, "{");
    for (int i = 0; i < r->nfields; i++) {
        const struct field *f = &r->fields[i];
        add(t, "%s\\\"%s\\\":%s", i ? "," : "", f->name,
            variant ? types[f->type].sample2 : types[f->type].sample);
    }
    add(t, "}");
}

static void test_c(const struct resource *r, struct text *t)
{
    int has_ref = 0, has_unique = 0, has_required = 0;
    for (int i = 0; i < r->nfields; i++) {
        has_ref |= r->fields[i].type == F_REF;
        has_unique |= r->fields[i].unique;
        has_required |= !r->fields[i].optional;
    }
    add(t,
        "/* /api/%s through Chopin's test client, on a private in-memory database (or the\n"
        " * DATABASE_URL of the environment). Written by chopin generate; yours to extend. */\n"
        "#define _POSIX_C_SOURCE 200809L /* setenv */\n\n"
        "#include <stdio.h>\n#include <stdlib.h>\n\n#include \"app.h\"\n\n"
        "static int passed, failed;\n\n"
        "#define CHECK(cond)                                                                 \\\n"
        "    do {                                                                            \\\n"
        "        if (cond) passed++;                                                         \\\n"
        "        else failed++, fprintf(stderr, \"%%s:%%d: %%s\\n\", __FILE__, __LINE__, #cond); \\\n"
        "    } while (0)\n\n"
        "int main(int argc, char **argv)\n{\n"
        "    setenv(\"DATABASE_URL\", \"sqlite::memory:\", 0);\n"
        "    struct ch_app *app = app_create();\n"
        "    if (!app || ch_app_configure(app, argc, argv) != 0) return 1;\n"
        "    struct ch_test *t = ch_test_start(app);\n"
        "    if (!t) return 1;\n"
        "    struct ch_test_response res;\n\n",
        r->plural);
    add(t, "    CHECK(ch_test_request(t, \"GET\", \"/api/%s?limit=abc\", NULL, NULL, &res) == 400);\n",
        r->plural);
    add(t, "    CHECK(ch_test_request(t, \"GET\", \"/api/%s/999999999\", NULL, NULL, &res) == 404);\n",
        r->plural);
    add(t, "    CHECK(ch_test_request(t, \"DELETE\", \"/api/%s/999999999\", NULL, NULL, &res) == 404);\n",
        r->plural);
    if (has_required)
        add(t, "    CHECK(ch_test_request(t, \"POST\", \"/api/%s\", NULL, \"{}\", &res) == 422);\n",
            r->plural);
    if (has_ref) {
        /* A required reference needs a parent row the test cannot know how to make: check
         * that a missing parent is refused, and stop there. */
        add(t, "    /* A reference to a row that does not exist is refused. */\n");
        add(t, "    int st = ch_test_request(t, \"POST\", \"/api/%s\", NULL, \"", r->plural);
        struct text b = {0};
        sample_body(r, &b, 0);
        add(t, "%s\", &res);\n", b.p ? b.p : "{}");
        free(b.p);
        add(t, "    CHECK(st == 409 || st == 422);\n");
    } else {
        add(t, "\n    CHECK(ch_test_request(t, \"POST\", \"/api/%s\", NULL, \"", r->plural);
        struct text b = {0};
        sample_body(r, &b, 0);
        add(t, "%s\", &res) == 201);\n", b.p ? b.p : "{}");
        add(t, "    char path[64];\n"
               "    int64_t id = ch_json_value_int(ch_test_json_at(res.json, \"data.id\"));\n"
               "    CHECK(id > 0);\n"
               "    snprintf(path, sizeof(path), \"/api/%s/%%lld\", (long long)id);\n"
               "    CHECK(ch_test_request(t, \"GET\", path, NULL, NULL, &res) == 200);\n"
               "    CHECK(ch_json_value_int(ch_test_json_at(res.json, \"data.id\")) == id);\n"
               "    CHECK(ch_test_request(t, \"GET\", \"/api/%s?limit=10\", NULL, NULL, &res) == 200);\n"
               "    CHECK(ch_json_value_count(ch_test_json_at(res.json, \"data\")) >= 1);\n",
            r->plural, r->plural);
        if (has_unique)
            add(t, "    CHECK(ch_test_request(t, \"POST\", \"/api/%s\", NULL, \"%s\", &res) == 409);\n",
                r->plural, b.p ? b.p : "{}");
        free(b.p);
        struct text b2 = {0};
        sample_body(r, &b2, 1);
        add(t, "    CHECK(ch_test_request(t, \"PUT\", path, NULL, \"%s\", &res) == 200);\n",
            b2.p ? b2.p : "{}");
        free(b2.p);
        const struct field *f0 = &r->fields[0];
        add(t, "    CHECK(ch_test_request(t, \"PATCH\", path, NULL, \"{\\\"%s\\\":%s}\", &res) == 200);\n",
            f0->name, types[f0->type].sample);
        add(t, "    CHECK(ch_test_request(t, \"DELETE\", path, NULL, NULL, &res) == 204);\n"
               "    CHECK(ch_test_request(t, \"GET\", path, NULL, NULL, &res) == 404);\n");
    }
    add(t, "\n    ch_test_stop(t);\n    ch_app_free(app);\n"
           "    printf(\"%%d passed, %%d failed\\n\", passed, failed);\n"
           "    return failed != 0;\n}\n");
}

/* Adds the include and the registration call to src/app.c, at its chopin:register line. */
static int register_in_app(const struct resource *r)
{
    char *src = cli_read_file("src/app.c");
    const char *mark = "    /* chopin:register */";
    char *at = src ? strstr(src, mark) : NULL;
    char *inc = src ? strstr(src, "#include \"app.h\"\n") : NULL;
    if (!at || !inc || inc > at) {
        free(src);
        printf("Add to src/app.c:  #include \"%s.h\"  and, in app_create(),  %s_register(app);\n",
               r->plural, r->plural);
        return 0;
    }
    struct text t = {0};
    size_t inc_end = (size_t)(inc - src) + strlen("#include \"app.h\"\n");
    add(&t, "%.*s#include \"%s.h\"\n%.*s    %s_register(app);\n%s", (int)inc_end, src, r->plural,
        (int)(at - src - (long)inc_end), src + inc_end, r->plural, at);
    free(src);
    int rc = t.oom ? cli_fail("generate", "out of memory") : cli_write_file("generate", "src/app.c", t.p, 1);
    free(t.p);
    if (rc == 0) printf("updated src/app.c\n");
    return rc;
}

static int generate_resource(int argc, char **argv)
{
    if (argc < 3) return cli_usage_error("generate", "usage: chopin generate resource NAME FIELD:TYPE...");
    struct resource r = {.name = argv[1]};
    if (!valid_ident(r.name))
        return cli_usage_error("generate", "NAME must be lower-case letters, digits and _ ('%s')",
                               r.name);
    plural(r.name, r.plural, sizeof(r.plural));
    snprintf(r.Title, sizeof(r.Title), "%s", r.name);
    r.Title[0] = (char)toupper((unsigned char)r.Title[0]);
    for (int i = 2; i < argc; i++) {
        if (r.nfields == MAX_FIELDS) return cli_usage_error("generate", "at most %d fields", MAX_FIELDS);
        if (parse_field(argv[i], &r.fields[r.nfields]) != 0) return 2;
        for (int k = 0; k < r.nfields; k++)
            if (!strcmp(r.fields[k].name, r.fields[r.nfields].name))
                return cli_usage_error("generate", "field '%s' given twice", r.fields[k].name);
        r.nfields++;
    }
    if (access("src/app.c", F_OK) != 0 && access("Makefile", F_OK) != 0)
        return cli_fail("generate", "run it in a project folder (chopin new NAME)");
    r.version = cli_next_migration();

    char paths[6][160];
    snprintf(paths[0], sizeof(paths[0]), "migrations/%04ld_create_%s.postgres.sql", r.version, r.plural);
    snprintf(paths[1], sizeof(paths[1]), "migrations/%04ld_create_%s.sqlite.sql", r.version, r.plural);
    snprintf(paths[2], sizeof(paths[2]), "migrations/%04ld_create_%s.down.sql", r.version, r.plural);
    snprintf(paths[3], sizeof(paths[3]), "src/%s.h", r.plural);
    snprintf(paths[4], sizeof(paths[4]), "src/%s.c", r.plural);
    snprintf(paths[5], sizeof(paths[5]), "tests/test_%s.c", r.plural);
    /* All or nothing: an existing file (the user's, perhaps edited) stops everything. */
    for (int i = 3; i < 6; i++)
        if (access(paths[i], F_OK) == 0)
            return cli_fail("generate", "%s exists; not overwriting it (remove it to regenerate)",
                            paths[i]);

    struct text files[6] = {{0}};
    migration(&r, &files[0], 1);
    migration(&r, &files[1], 0);
    add(&files[2], "DROP TABLE %s;\n", r.plural);
    source_h(&r, &files[3]);
    source_c(&r, &files[4]);
    test_c(&r, &files[5]);
    int rc = 0;
    for (int i = 0; i < 6 && rc == 0; i++) {
        if (files[i].oom) rc = cli_fail("generate", "out of memory");
        else if ((rc = cli_write_file("generate", paths[i], files[i].p, 0)) == 0)
            printf("created %s\n", paths[i]);
    }
    for (int i = 0; i < 6; i++) free(files[i].p);
    if (rc == 0) rc = register_in_app(&r);
    return rc;
}

int cli_generate(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 2) return cli_usage_error("generate", "what? (chopin generate resource NAME FIELD:TYPE...)");
    if (!strcmp(argv[1], "resource")) return generate_resource(argc - 1, argv + 1);
    return cli_usage_error("generate", "unknown generator '%s' (resource)", argv[1]);
}
