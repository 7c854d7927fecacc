/* chopin generate resource NAME field:type[:optional][:unique]... [--auth]
 *
 * Writes, for `post title:string body:text published:bool`:
 *   migrations/NNNN_create_posts.postgres.sql, .sqlite.sql, .down.sql   the table
 *   src/posts.h, src/posts.c      CRUD handlers with validation derived from the types, their
 *                                 routes under /api/posts with declared schemas (OpenAPI)
 *   tests/test_posts.c            the CRUD through the test client
 * and registers posts_register() in src/app.c at the chopin:register line. It never writes
 * over an existing file: when one of its files exists it writes nothing and says which.
 *
 * With --auth the routes sit behind ch_auth_required() and every row belongs to the user who
 * created it (owner_id, a foreign key to auth_users). A ref:OTHER field whose table is
 * owner-scoped (the CREATE TABLE of OTHERs in migrations/ has owner_id) accepts only the
 * user's own OTHER rows, checked in the same statement (see param()). The first such resource also writes
 * src/auth.h and src/auth.c (the auth object, the account routes at /api/auth) and wires them
 * into src/app.c at its chopin:settings, chopin:configured and chopin:free lines. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "write.h"

static const char usage[] =
    "Usage: chopin generate resource NAME FIELD:TYPE[:optional][:unique]... [--auth]\n"
    "\n"
    "Writes a migration (PostgreSQL and SQLite), CRUD handlers under /api/NAMEs with\n"
    "validation derived from the types, their routes and OpenAPI schemas, and tests; and\n"
    "registers the routes in src/app.c. Run it in a project folder (chopin new).\n"
    "\n"
    "NAME and FIELD: lower-case letters, digits and _, starting with a letter (NAME singular).\n"
    "TYPE: string (1-255 characters), text, int, bigint, bool, float, timestamp (ISO 8601),\n"
    "      ref:OTHER (the id of an OTHER row; a foreign key to OTHERs).\n"
    "Modifiers: optional (may be absent or null), unique (409 on a duplicate).\n"
    "\n"
    "--auth  the routes need a bearer token (401 without one) and each row belongs to the\n"
    "        user who created it (column owner_id): users list, read, change and delete only\n"
    "        their own rows (another user's is 404), and unique holds per user. A ref:OTHER\n"
    "        to an owner-scoped OTHER (its CREATE TABLE in migrations/ has owner_id, as --auth\n"
    "        writes; or OTHER is NAME) must name one of the user's own OTHERs: another user's\n"
    "        answers 409, exactly as a missing one does (null stays allowed when optional);\n"
    "        a shared OTHER (no owner_id) takes any of its rows. Generate OTHER first. The\n"
    "        first --auth resource also writes src/auth.c, which mounts the account routes\n"
    "        (POST /api/auth/signup, /api/auth/login, GET /api/auth/me; table auth_users), and\n"
    "        adds JWT_SECRET to .env.example (required in production, at least 32 bytes).\n"
    "\n"
    "Example: chopin generate resource post title:string:unique body:text published:bool\n"
    "         chopin generate resource note body:text --auth\n";

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
    /* F_REF under --auth: the other table is owner-scoped (it has owner_id), so the row named
     * must be the signed-in user's own. */
    int owned;
    /* F_REF: the JSON body (escaped for a C string) of a new row of the other table, for the
     * generated test; empty when the generator cannot make one. */
    char parent[512];
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
    int auth; /* --auth: owner_id, the guard, rows scoped to their owner */
};

/* Reading the project's migrations, to learn about the table a ref:OTHER field names: whether
 * it is owner-scoped, and how the generated test can make a row of it. Only the CREATE TABLE
 * statements count, as chopin generate and careful hands write them; a column added later
 * (ALTER TABLE) is not seen. */

/* Skips blanks and -- comments. */
static const char *skip_space(const char *s)
{
    for (;;) {
        while (isspace((unsigned char)*s)) s++;
        if (s[0] != '-' || s[1] != '-') return s;
        while (*s && *s != '\n') s++;
    }
}

static int ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* The length of the word at s: letters, digits and _. */
static size_t word_len(const char *s)
{
    size_t n = 0;
    while (ident_char(s[n])) n++;
    return n;
}

/* Whether the word at s is `w`, in any case. */
static int is_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    return word_len(s) == n && !strncasecmp(s, w, n);
}

/* Whether s[0..len) has the word `w` (any case). */
static int has_word(const char *s, size_t len, const char *w)
{
    size_t n = strlen(w);
    for (size_t i = 0; i + n <= len; i++)
        if ((i == 0 || !ident_char(s[i - 1])) && is_word(s + i, w)) return 1;
    return 0;
}

/* Where the column list of "CREATE TABLE [IF NOT EXISTS] table (" starts in `sql` (after the
 * parenthesis), or NULL. */
static const char *find_create(const char *sql, const char *table)
{
    for (const char *p = sql; *p; p++) {
        if ((p > sql && ident_char(p[-1])) || !is_word(p, "create")) continue;
        const char *q = skip_space(p + 6);
        if (!is_word(q, "table")) continue;
        q = skip_space(q + 5);
        if (is_word(q, "if")) {
            q = skip_space(q + 2);
            if (is_word(q, "not")) q = skip_space(q + 3);
            if (is_word(q, "exists")) q = skip_space(q + 6);
        }
        if (!is_word(q, table)) continue;
        q = skip_space(q + strlen(table));
        if (*q == '(') return q + 1;
    }
    return NULL;
}

/* What a migration says about one table. */
struct table_info {
    int found; /* a CREATE TABLE of it */
    int owned; /* it has an owner_id column */
    int makeable; /* every required column has a sample value */
    int unique; /* some column or constraint is UNIQUE: a rerun could not make the row again */
    struct text body; /* the sample row as JSON, escaped for a C string */
};

/* The sample value of a required column of SQL type `type` (PostgreSQL's or SQLite's names,
 * as the migrations chopin generate writes use them), or NULL. */
static const char *sample_for(const char *type)
{
    static const struct {
        const char *sql;
        enum ftype ft;
    } map[] = {
        {"text", F_TEXT},       {"varchar", F_TEXT},  {"integer", F_INT},
        {"int", F_INT},         {"bigint", F_INT},    {"smallint", F_INT},
        {"boolean", F_BOOL},    {"bool", F_BOOL},     {"double", F_FLOAT},
        {"real", F_FLOAT},      {"float", F_FLOAT},   {"timestamptz", F_TIMESTAMP},
        {"timestamp", F_TIMESTAMP},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (is_word(type, map[i].sql)) return types[map[i].ft].sample;
    return NULL;
}

/* Reads the column list at `cols` (after "CREATE TABLE name (") into `info`. */
static void read_columns(const char *cols, struct table_info *info)
{
    info->found = 1;
    info->makeable = 1;
    add(&info->body, "{");
    int n = 0;
    const char *s = cols;
    while (*s) {
        /* One item: up to a comma or the closing parenthesis, outside nested ones. */
        const char *item = skip_space(s), *e = item;
        int depth = 0;
        for (; *e && (depth > 0 || (*e != ',' && *e != ')')); e++) {
            if (*e == '(') depth++;
            else if (*e == ')') depth--;
        }
        size_t len = (size_t)(e - item), name = word_len(item);
        if (has_word(item, len, "unique")) info->unique = 1;
        if (name && !is_word(item, "constraint") && !is_word(item, "unique") &&
            !is_word(item, "primary") && !is_word(item, "foreign") && !is_word(item, "check")) {
            if (is_word(item, "owner_id")) info->owned = 1;
            int required = has_word(item, len, "not") && has_word(item, len, "null") &&
                           !has_word(item, len, "default") && !has_word(item, len, "primary") &&
                           !is_word(item, "owner_id");
            if (required) {
                const char *sample = sample_for(skip_space(item + name));
                if (!sample || has_word(item, len, "references")) info->makeable = 0;
                else add(&info->body, "%s\\\"%.*s\\\":%s", n++ ? "," : "", (int)name, item, sample);
            }
        }
        if (*e != ',') break;
        s = e + 1;
    }
    add(&info->body, "}");
    if (info->body.oom) info->makeable = 0;
}

/* What the migrations in migrations/ (not the down steps) say about table `table`: the first
 * CREATE TABLE of it. The caller frees info->body.p. */
static void table_info(const char *table, struct table_info *info)
{
    memset(info, 0, sizeof(*info));
    DIR *d = opendir("migrations");
    if (!d) return;
    struct dirent *e;
    while (!info->found && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".sql") ||
            (n >= 9 && !strcmp(e->d_name + n - 9, ".down.sql")))
            continue;
        char path[512];
        snprintf(path, sizeof(path), "migrations/%s", e->d_name);
        char *sql = cli_read_file(path);
        const char *cols = sql ? find_create(sql, table) : NULL;
        if (cols) read_columns(cols, info);
        free(sql);
    }
    closedir(d);
}

/* Settles, for each ref:OTHER field of an --auth resource, whether OTHER is owner-scoped and
 * how the generated test makes a row of it, and says so. A reference to the resource itself
 * follows its own --auth. Returns 0, or 1 when memory ran out. */
static int resolve_refs(struct resource *r)
{
    for (int i = 0; i < r->nfields; i++) {
        struct field *f = &r->fields[i];
        if (f->type != F_REF) continue;
        struct table_info info;
        if (!strcmp(f->ref, r->plural)) {
            /* Itself: a row with the required fields, none of them a reference, and the
             * other sample values, so that a unique field does not clash with the rows the
             * test makes from the first ones. */
            memset(&info, 0, sizeof(info));
            info.found = info.makeable = 1;
            info.owned = r->auth;
            add(&info.body, "{");
            for (int k = 0, n = 0; k < r->nfields; k++) {
                const struct field *o = &r->fields[k];
                if (o->optional) continue;
                if (o->type == F_REF) info.makeable = 0;
                else
                    add(&info.body, "%s\\\"%s\\\":%s", n++ ? "," : "", o->name,
                        types[o->type].sample2);
            }
            add(&info.body, "}");
        } else {
            table_info(f->ref, &info);
        }
        if (info.body.oom) {
            free(info.body.p);
            return 1;
        }
        f->owned = r->auth && info.owned;
        /* The test makes a row through the other resource's routes: only a generated
         * resource (src/OTHERs.c) is known to have them. */
        char src[160];
        snprintf(src, sizeof(src), "src/%s.c", f->ref);
        int routes = !strcmp(f->ref, r->plural) || access(src, F_OK) == 0;
        /* Rows of a shared table stay behind, and a unique value would stop the test's
         * next run against a kept database (its users are new each run: owned rows differ). */
        int again = info.owned || !info.unique;
        if (routes && again && info.found && info.makeable && info.body.len < sizeof(f->parent))
            snprintf(f->parent, sizeof(f->parent), "%s", info.body.p);
        free(info.body.p);
        if (!r->auth) continue;
        if (f->owned)
            printf("%s: %s is owner-scoped; only the user's own %s may be named\n", f->name,
                   f->ref, f->ref);
        else
            printf("%s: %s has no owner_id%s; any of its rows may be named\n", f->name, f->ref,
                   info.found ? "" : " (no migration in migrations/ creates it)");
    }
    return 0;
}

static void migration(const struct resource *r, struct text *t, int pg)
{
    add(t, "-- The %s table (chopin generate resource %s%s).\n", r->plural, r->name,
        r->auth ? " --auth" : "");
    add(t, "CREATE TABLE %s (\n", r->plural);
    add(t, "    id %s,\n", pg ? "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
                              : "INTEGER PRIMARY KEY AUTOINCREMENT");
    /* The migration set "auth" is declared before the app's (src/app.c, chopin:configured),
     * and sets apply in declaration order, so auth_users exists when this runs. */
    if (r->auth)
        add(t, "    owner_id %s NOT NULL REFERENCES auth_users (id),\n", pg ? "bigint" : "INTEGER");
    for (int i = 0; i < r->nfields; i++) {
        const struct field *f = &r->fields[i];
        /* Owned rows are unique per owner: a global constraint would let a 409 tell one user
         * what another one stored. */
        add(t, "    %s %s%s%s", f->name, pg ? types[f->type].pg : types[f->type].sqlite,
            f->optional ? "" : " NOT NULL", f->unique && !r->auth ? " UNIQUE" : "");
        if (f->type == F_REF) add(t, " REFERENCES %s (id)", f->ref);
        add(t, ",\n");
    }
    add(t, "    created_at %s NOT NULL DEFAULT %s", pg ? "timestamptz" : "TIMESTAMP",
        pg ? "now()" : "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
    for (int i = 0; r->auth && i < r->nfields; i++)
        if (r->fields[i].unique) add(t, ",\n    UNIQUE (owner_id, %s)", r->fields[i].name);
    add(t, "\n);\n");
    /* Every query of an owned table filters by owner_id; the list also orders by id. */
    if (r->auth) add(t, "CREATE INDEX %s_owner ON %s (owner_id, id);\n", r->plural, r->plural);
}

/* "id, title, body, created_at": what every statement returns (owner_id after id). */
static void columns(const struct resource *r, struct text *t)
{
    add(t, "id");
    if (r->auth) add(t, ", owner_id");
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

/* The handlers. With --auth each one first takes the signed-in user, who becomes a statement
 * parameter: $1 in the list and the create, $2 (after the id) elsewhere. */
static void handlers(const struct resource *r, struct text *t)
{
    const char *who = r->auth ? "    int64_t owner = owner_id(req);\n"
                                "    if (!owner) return ch_error(req, CH_ERR_UNAUTHORIZED, \"not a user token\");\n"
                              : "";
    if (r->auth)
        add(t, "/* The signed-in user: the guard verified the token, whose subject is the auth_users\n"
               " * id that /api/auth/signup and /api/auth/login put there; 0 for any other token. */\n"
               "static int64_t owner_id(struct ch_request *req)\n"
               "{\n"
               "    const struct ch_auth_claims *claims = ch_auth(req);\n"
               "    return claims && claims->user_id > 0 ? claims->user_id : 0;\n"
               "}\n\n");
    add(t, "static int list(struct ch_request *req)\n{\n%s", who);
    if (r->auth)
        add(t, "    struct ch_db_param p[3] = {ch_db_param_int(owner),\n"
               "                               ch_db_param_int(ch_arg_int(req, \"limit\")),\n"
               "                               ch_db_param_int(ch_arg_int(req, \"offset\"))};\n"
               "    return ch_db_respond(req, CH_DB_ROWS, list_stmt, p, 3, NULL);\n}\n\n");
    else
        add(t, "    struct ch_db_param p[2] = {ch_db_param_int(ch_arg_int(req, \"limit\")),\n"
               "                               ch_db_param_int(ch_arg_int(req, \"offset\"))};\n"
               "    return ch_db_respond(req, CH_DB_ROWS, list_stmt, p, 2, NULL);\n}\n\n");

    int k = r->auth; /* parameters before the fields in a create */
    add(t, "static int create(struct ch_request *req)\n{\n%s", who);
    add(t, "    struct ch_db_param p[NFIELDS%s];\n", k ? " + 1" : "");
    if (k) add(t, "    p[0] = ch_db_param_int(owner);\n");
    add(t, "    body_params(req, fields, p%s);\n"
           "    return ch_db_respond(req, CH_DB_CREATED, create_stmt, p, NFIELDS%s, NULL);\n}\n\n",
        k ? " + 1" : "", k ? " + 1" : "");

    /* get and delete: the id, then the owner. */
    const char *key = r->auth ? "    struct ch_db_param p[2] = {ch_db_param_int(ch_arg_int(req, \"id\")),\n"
                                "                               ch_db_param_int(owner)};\n"
                              : "    struct ch_db_param id = ch_db_param_int(ch_arg_int(req, \"id\"));\n";
    const char *keyargs = r->auth ? "p, 2" : "&id, 1";
    add(t, "static int get_one(struct ch_request *req)\n{\n%s%s"
           "    return ch_db_respond(req, CH_DB_ONE, get_stmt, %s, \"%s not found\");\n}\n\n",
        who, key, keyargs, r->Title);

    k = r->auth ? 2 : 1; /* parameters before the fields in an update */
    add(t, "/* PUT and PATCH: $1 is the id, %sthe fields follow. */\n"
           "static int change(struct ch_request *req, int stmt, const struct ch_field *f)\n{\n%s"
           "    struct ch_db_param p[NFIELDS + %d];\n"
           "    p[0] = ch_db_param_int(ch_arg_int(req, \"id\"));\n",
        r->auth ? "$2 the owner, " : "", who, k);
    if (r->auth) add(t, "    p[1] = ch_db_param_int(owner);\n");
    add(t, "    body_params(req, f, p + %d);\n"
           "    return ch_db_respond(req, CH_DB_CHANGED, stmt, p, NFIELDS + %d, \"%s not found\");\n"
           "}\n\n",
        k, k, r->Title);
    add(t, "static int replace(struct ch_request *req)\n{\n"
           "    return change(req, replace_stmt, fields);\n}\n\n"
           "static int patch(struct ch_request *req)\n{\n"
           "    return change(req, patch_stmt, patch_fields);\n}\n\n");
    add(t, "static int destroy(struct ch_request *req)\n{\n%s%s"
           "    return ch_db_respond(req, CH_DB_CHANGED, delete_stmt, %s, \"%s not found\");\n}\n\n",
        who, key, keyargs, r->Title);
}

/* Field f's parameter $k in a statement whose owner is $owner. A reference to an
 * owner-scoped table passes when it is null or names one of the owner's rows, and becomes 0
 * otherwise: no row has id 0 (ids start at 1), so the foreign key refuses it exactly as it
 * refuses a row that does not exist (409 on both drivers, with the same message), in the same
 * statement. Generated rows never change owner, so the check cannot go stale before the
 * insert or update lands. The CAST gives PostgreSQL the parameter's type where it first
 * meets it. */
static void param(struct text *t, const struct field *f, int k, int owner)
{
    if (!f->owned) {
        add(t, "$%d", k);
        return;
    }
    add(t, "\"\n        \"CASE WHEN CAST($%d AS bigint) IS NULL OR EXISTS (SELECT 1 FROM %s\"\n"
           "        \" WHERE id = $%d AND owner_id = $%d) THEN $%d ELSE 0 END",
        k, f->ref, k, owner, k);
}

/* The statements: portable SQL, $N parameters on both drivers. With --auth every one is
 * scoped to the owner, so another user's row is not found (404) rather than forbidden (403):
 * an id tells nothing about the rows of other users. */
static void statements(const struct resource *r, struct text *t)
{
    int n = r->nfields;
    struct text cols = {0};
    columns(r, &cols);
    const char *c = cols.p ? cols.p : "id";
    const char *mine = r->auth ? " AND owner_id = $2" : "";
    int first = r->auth ? 3 : 2; /* the first field's parameter in an update */
    struct text owned = {0};
    for (int i = 0; i < n; i++)
        if (r->fields[i].owned)
            add(&owned, "%s%s: %s", owned.len ? ", " : "", r->fields[i].name, r->fields[i].ref);
    if (owned.len)
        add(t, "    /* A reference to an owner-scoped table (%s) must name one of the user's\n"
               "     * own rows: in the create, replace and patch below, any other id becomes 0,\n"
               "     * which no row has, so the foreign key refuses it with 409, as it refuses an\n"
               "     * id that does not exist. A null optional reference stays allowed. */\n",
            owned.p);
    free(owned.p);
    if (r->auth)
        add(t, "    list_stmt = ch_app_statement(app, \"%s_list\",\n"
               "        \"SELECT %s FROM %s\"\n"
               "        \" WHERE owner_id = $1 ORDER BY id LIMIT $2 OFFSET $3\", NULL);\n",
            r->plural, c, r->plural);
    else
        add(t, "    list_stmt = ch_app_statement(app, \"%s_list\",\n"
               "        \"SELECT %s FROM %s ORDER BY id LIMIT $1 OFFSET $2\", NULL);\n",
            r->plural, c, r->plural);
    add(t, "    get_stmt = ch_app_statement(app, \"%s_get\",\n"
           "        \"SELECT %s FROM %s%s WHERE id = $1%s\", NULL);\n",
        r->plural, c, r->plural, r->auth ? "\"\n        \"" : "", mine);
    add(t, "    create_stmt = ch_app_statement(app, \"%s_create\",\n        \"INSERT INTO %s (%s",
        r->plural, r->plural, r->auth ? "owner_id" : "");
    for (int i = 0; i < n; i++) add(t, "%s%s", i || r->auth ? ", " : "", r->fields[i].name);
    add(t, ") VALUES (");
    if (r->auth) add(t, "$1");
    for (int i = 0; i < n; i++) {
        add(t, "%s", i || r->auth ? ", " : "");
        param(t, &r->fields[i], i + 1 + r->auth, 1);
    }
    add(t, ")\"\n        \" RETURNING %s\", NULL);\n", c);
    add(t, "    replace_stmt = ch_app_statement(app, \"%s_replace\",\n        \"UPDATE %s SET ",
        r->plural, r->plural);
    for (int i = 0; i < n; i++) {
        add(t, "%s%s = ", i ? ", " : "", r->fields[i].name);
        param(t, &r->fields[i], i + first, 2);
    }
    add(t, "\"\n        \" WHERE id = $1%s RETURNING %s\", NULL);\n", mine, c);
    add(t, "    patch_stmt = ch_app_statement(app, \"%s_patch\",\n        \"UPDATE %s SET ",
        r->plural, r->plural);
    for (int i = 0; i < n; i++) {
        add(t, "%s%s = COALESCE(", i ? ", " : "", r->fields[i].name);
        param(t, &r->fields[i], i + first, 2);
        add(t, ", %s)", r->fields[i].name);
    }
    add(t, "\"\n        \" WHERE id = $1%s RETURNING %s\", NULL);\n", mine, c);
    add(t, "    delete_stmt = ch_app_statement(app, \"%s_delete\",\n"
           "        \"DELETE FROM %s WHERE id = $1%s\", NULL);\n",
        r->plural, r->plural, mine);
    free(cols.p);
}

static void source_c(const struct resource *r, struct text *t)
{
    int n = r->nfields;
    add(t,
        "/* %s: /api/%s, the CRUD of the %s table (migrations/%04ld_create_%s.*.sql).\n"
        " * Written by `chopin generate resource %s%s`; yours to edit.\n"
        " *\n",
        r->plural, r->plural, r->plural, r->version, r->plural, r->name, r->auth ? " --auth" : "");
    if (r->auth)
        add(t,
            " * Every route needs a bearer token (from POST /api/auth/signup or /api/auth/login):\n"
            " * 401 without one. Each user lists, reads, changes and deletes only their own %s;\n"
            " * another user's is 404, as a missing one is, so ids tell nothing about them.\n"
            " *\n",
            r->plural);
    add(t,
        " *   GET    /api/%s?limit=20&offset=0   list, by id\n"
        " *   POST   /api/%s                     create -> 201\n"
        " *   GET    /api/%s/:id                 one, or 404\n"
        " *   PUT    /api/%s/:id                 replace every field\n"
        " *   PATCH  /api/%s/:id                 change the fields given\n"
        " *   DELETE /api/%s/:id                 delete -> 204, or 404 */\n"
        "#include <stdio.h>\n\n%s#include \"%s.h\"\n\n",
        r->plural, r->plural, r->plural, r->plural, r->plural, r->plural,
        r->auth ? "#include \"auth.h\"\n" : "", r->plural);
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
    handlers(r, t);

    add(t, "int %s_register(struct ch_app *app)\n{\n", r->plural);
    if (r->auth)
        add(t, "    /* No routes rather than open ones when auth_mount() has not run (src/app.c). */\n"
               "    struct ch_auth *auth = auth_get();\n"
               "    if (!auth) return CH_EINVAL;\n");
    statements(r, t);
    add(t, "\n    struct ch_group *g = ch_group_new(app, \"/api/%s\");\n"
           "    if (!g) return CH_ENOMEM;\n"
           "    int rc;\n", r->plural);
    if (r->auth)
        add(t, "    /* 401 without a valid token, before any handler or validation runs. */\n"
               "    if ((rc = ch_group_use(g, ch_auth_required(auth)))) return rc;\n");
    add(t,
        "    if ((rc = ch_group_route_with(g, CH_METHOD_BIT(CH_GET), \"\", list, &list_spec)) ||\n"
        "        (rc = ch_group_route_with(g, CH_METHOD_BIT(CH_POST), \"\", create, &create_spec)) ||\n"
        "        (rc = ch_group_route_with(g, CH_METHOD_BIT(CH_GET), \"/:id\", get_one, &get_spec)) ||\n"
        "        (rc = ch_group_route_with(g, CH_METHOD_BIT(CH_PUT), \"/:id\", replace, &replace_spec)) ||\n"
        "        (rc = ch_group_route_with(g, CH_METHOD_BIT(CH_PATCH), \"/:id\", patch, &patch_spec)) ||\n"
        "        (rc = ch_group_route_with(g, CH_METHOD_BIT(CH_DELETE), \"/:id\", destroy, &delete_spec)))\n"
        "        return rc;\n"
        "    return 0;\n}\n");
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

/* The generated test's sign-up helper (--auth). */
static const char sign_up_fn[] =
    "/* Signs a new user up through POST /api/auth/signup and copies their access token to\n"
    " * token[len]. Names carry the process id, so that a rerun against a kept database\n"
    " * (DATABASE_URL) signs new users up. 0, or -1. */\n"
    "static int sign_up(struct ch_test *t, const char *name, char *token, size_t len)\n"
    "{\n"
    "    char body[256];\n"
    "    long pid = (long)getpid();\n"
    "    snprintf(body, sizeof(body),\n"
    "             \"{\\\"email\\\":\\\"%s%ld@example.org\\\",\\\"username\\\":\\\"%s%ld\\\",\"\n"
    "             \"\\\"password\\\":\\\"correct horse battery\\\"}\",\n"
    "             name, pid, name, pid);\n"
    "    struct ch_test_response res;\n"
    "    if (ch_test_request(t, \"POST\", \"/api/auth/signup\", NULL, body, &res) != 201) return -1;\n"
    "    struct ch_str tok = ch_json_value_str(ch_test_json_at(res.json, \"data.access_token\"));\n"
    "    if (tok.len == 0 || tok.len >= len) return -1;\n"
    "    memcpy(token, tok.ptr, tok.len);\n"
    "    token[tok.len] = '\\0';\n"
    "    return 0;\n"
    "}\n\n";

/* The generated test's helper for the parents of references (--auth). */
static const char create_row_fn[] =
    "/* Creates a row through POST `path` as the current bearer token's user: its id, or 0. */\n"
    "static int64_t create_row(struct ch_test *t, const char *path, const char *body)\n"
    "{\n"
    "    struct ch_test_response res;\n"
    "    if (ch_test_request(t, \"POST\", path, NULL, body, &res) != 201) return 0;\n"
    "    return ch_json_value_int(ch_test_json_at(res.json, \"data.id\"));\n"
    "}\n\n";

/* Whether the generated test can try references across owners: some reference is
 * owner-scoped, and the test can make a row for every required one. */
static int cross_owner_test(const struct resource *r)
{
    int owned = 0;
    for (int i = 0; i < r->nfields; i++) {
        const struct field *f = &r->fields[i];
        if (f->type != F_REF) continue;
        if (!f->optional && !f->parent[0]) return 0;
        owned |= f->owned && f->parent[0];
    }
    return r->auth && owned;
}

/* A line `snprintf(body, ...)` with every field's sample, each reference naming Bob's row
 * (bob_FIELD) except field `theirs` (-1: none), which names Alice's. A reference the test
 * cannot make a row for is optional (cross_owner_test) and left out. */
static void ref_body(const struct resource *r, struct text *t, int theirs)
{
    struct text fmt = {0}, args = {0};
    for (int i = 0; i < r->nfields; i++) {
        const struct field *f = &r->fields[i];
        if (f->type == F_REF && !f->parent[0]) continue;
        add(&fmt, "%s\\\"%s\\\":%s", fmt.len ? "," : "", f->name,
            f->type == F_REF ? "%lld" : types[f->type].sample);
        if (f->type == F_REF)
            add(&args, ", (long long)%s_%s", i == theirs ? "alice" : "bob", f->name);
    }
    add(t, "    snprintf(body, sizeof(body), \"{%s}\"%s);\n", fmt.p ? fmt.p : "",
        args.p ? args.p : "");
    free(fmt.p);
    free(args.p);
}

/* The generated test's cross-owner section (cross_owner_test): Bob's row cannot name Alice's
 * rows of an owner-scoped table, in a create, a replace or a patch, and can name his own. */
static void cross_owner(const struct resource *r, struct text *t)
{
    add(t, "\n    /* A reference to an owner-scoped table names only the user's own rows: Bob's\n"
           "     * %s cannot name Alice's (409, as for a row that does not exist), and can name\n"
           "     * his own. */\n",
        r->name);
    for (int pass = 0; pass < 2; pass++) {
        const char *who = pass ? "bob" : "alice";
        if (pass) add(t, "    CHECK(ch_test_bearer(t, bob) == 0);\n");
        for (int i = 0; i < r->nfields; i++) {
            const struct field *f = &r->fields[i];
            if (f->type != F_REF || !f->parent[0] || (!pass && !f->owned)) continue;
            add(t, "    int64_t %s_%s = create_row(t, \"/api/%s\", \"%s\");\n"
                   "    CHECK(%s_%s > 0);\n",
                who, f->name, f->ref, f->parent, who, f->name);
        }
    }
    add(t, "    char body[2048], mine[64];\n");
    for (int i = 0; i < r->nfields; i++) {
        if (!r->fields[i].owned || !r->fields[i].parent[0]) continue;
        ref_body(r, t, i);
        add(t, "    CHECK(ch_test_request(t, \"POST\", \"/api/%s\", NULL, body, &res) == 409);\n",
            r->plural);
    }
    ref_body(r, t, -1);
    add(t, "    CHECK(ch_test_request(t, \"POST\", \"/api/%s\", NULL, body, &res) == 201);\n"
           "    snprintf(mine, sizeof(mine), \"/api/%s/%%lld\",\n"
           "             (long long)ch_json_value_int(ch_test_json_at(res.json, \"data.id\")));\n",
        r->plural, r->plural);
    for (int i = 0; i < r->nfields; i++) {
        const struct field *f = &r->fields[i];
        if (!f->owned || !f->parent[0]) continue;
        ref_body(r, t, i);
        add(t, "    CHECK(ch_test_request(t, \"PUT\", mine, NULL, body, &res) == 409);\n"
               "    snprintf(body, sizeof(body), \"{\\\"%s\\\":%%lld}\", (long long)alice_%s);\n"
               "    CHECK(ch_test_request(t, \"PATCH\", mine, NULL, body, &res) == 409);\n"
               "    snprintf(body, sizeof(body), \"{\\\"%s\\\":%%lld}\", (long long)bob_%s);\n"
               "    CHECK(ch_test_request(t, \"PATCH\", mine, NULL, body, &res) == 200);\n",
            f->name, f->name, f->name, f->name);
    }
    ref_body(r, t, -1);
    add(t, "    CHECK(ch_test_request(t, \"PUT\", mine, NULL, body, &res) == 200);\n"
           "    CHECK(ch_test_bearer(t, alice) == 0);\n");
}

static void test_c(const struct resource *r, struct text *t)
{
    int has_ref = 0, has_unique = 0, has_required = 0;
    for (int i = 0; i < r->nfields; i++) {
        has_ref |= r->fields[i].type == F_REF;
        has_unique |= r->fields[i].unique;
        has_required |= !r->fields[i].optional;
    }
    struct text b = {0}, b2 = {0};
    sample_body(r, &b, 0);
    sample_body(r, &b2, 1);
    const char *body = b.p ? b.p : "{}", *body2 = b2.p ? b2.p : "{}";
    const struct field *f0 = &r->fields[0];
    int cross = cross_owner_test(r);
    add(t,
        "/* /api/%s through Chopin's test client, on a private in-memory database (or the\n"
        " * DATABASE_URL of the environment). Written by chopin generate; yours to extend. */\n"
        "#define _POSIX_C_SOURCE 200809L /* setenv%s */\n\n"
        "#include <stdio.h>\n#include <stdlib.h>\n%s\n#include \"app.h\"\n\n"
        "static int passed, failed;\n\n"
        "#define CHECK(cond)                                                                 \\\n"
        "    do {                                                                            \\\n"
        "        if (cond) passed++;                                                         \\\n"
        "        else failed++, fprintf(stderr, \"%%s:%%d: %%s\\n\", __FILE__, __LINE__, #cond); \\\n"
        "    } while (0)\n\n"
        "%s%s"
        "int main(int argc, char **argv)\n{\n"
        "    setenv(\"DATABASE_URL\", \"sqlite::memory:\", 0);\n"
        "    int status;\n"
        "    struct ch_app *app = app_create(argc, argv, &status);\n"
        "    if (!app) return status;\n"
        "    struct ch_test *t = ch_test_start(app);\n"
        "    if (!t) return 1;\n"
        "    struct ch_test_response res;\n\n",
        r->plural, r->auth ? ", getpid" : "",
        r->auth ? "#include <string.h>\n#include <unistd.h>\n" : "", r->auth ? sign_up_fn : "",
        cross ? create_row_fn : "");
    if (r->auth) {
        add(t, "    /* Without a token: 401, before anything else is looked at. */\n"
               "    CHECK(ch_test_request(t, \"GET\", \"/api/%s\", NULL, NULL, &res) == 401);\n"
               "    CHECK(ch_test_request(t, \"POST\", \"/api/%s\", NULL, \"%s\", &res) == 401);\n"
               "    CHECK(ch_test_request(t, \"DELETE\", \"/api/%s/1\", NULL, NULL, &res) == 401);\n\n"
               "    char alice[2048], bob[2048];\n"
               "    CHECK(sign_up(t, \"alice\", alice, sizeof(alice)) == 0);\n"
               "    CHECK(sign_up(t, \"bob\", bob, sizeof(bob)) == 0);\n"
               "    CHECK(ch_test_bearer(t, alice) == 0); /* Alice's requests from here */\n\n",
            r->plural, r->plural, body, r->plural);
    }
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
        /* A required reference needs a parent row the test does not always know how to make:
         * check that a missing parent is refused and, under --auth, references across owners
         * when it can make the parents (from their tables' migrations); and stop there. */
        add(t, "    /* A reference to a row that does not exist is refused. */\n");
        add(t, "    int st = ch_test_request(t, \"POST\", \"/api/%s\", NULL, \"%s\", &res);\n",
            r->plural, body);
        add(t, "    CHECK(st == 409 || st == 422);\n");
        if (cross) cross_owner(r, t);
    } else {
        add(t, "\n    CHECK(ch_test_request(t, \"POST\", \"/api/%s\", NULL, \"%s\", &res) == 201);\n",
            r->plural, body);
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
                r->plural, body);
        add(t, "    CHECK(ch_test_request(t, \"PUT\", path, NULL, \"%s\", &res) == 200);\n", body2);
        add(t, "    CHECK(ch_test_request(t, \"PATCH\", path, NULL, \"{\\\"%s\\\":%s}\", &res) == 200);\n",
            f0->name, types[f0->type].sample);
        if (r->auth) {
            add(t, "\n    /* Bob can neither see nor touch Alice's %s: 404, as for a missing one. */\n"
                   "    CHECK(ch_test_bearer(t, bob) == 0);\n"
                   "    CHECK(ch_test_request(t, \"GET\", path, NULL, NULL, &res) == 404);\n"
                   "    CHECK(ch_test_request(t, \"PUT\", path, NULL, \"%s\", &res) == 404);\n"
                   "    CHECK(ch_test_request(t, \"PATCH\", path, NULL, \"{\\\"%s\\\":%s}\", &res) == 404);\n"
                   "    CHECK(ch_test_request(t, \"DELETE\", path, NULL, NULL, &res) == 404);\n"
                   "    CHECK(ch_test_request(t, \"GET\", \"/api/%s\", NULL, NULL, &res) == 200);\n"
                   "    CHECK(ch_json_value_count(ch_test_json_at(res.json, \"data\")) == 0);\n",
                r->name, body2, f0->name, types[f0->type].sample2, r->plural);
            if (has_unique)
                add(t, "    /* unique holds per user: Bob may reuse Alice's values. */\n"
                       "    CHECK(ch_test_request(t, \"POST\", \"/api/%s\", NULL, \"%s\", &res) == 201);\n",
                    r->plural, body);
            add(t, "\n    /* Alice's %s is still there. */\n"
                   "    CHECK(ch_test_bearer(t, alice) == 0);\n"
                   "    CHECK(ch_test_request(t, \"GET\", path, NULL, NULL, &res) == 200);\n",
                r->name);
        }
        add(t, "    CHECK(ch_test_request(t, \"DELETE\", path, NULL, NULL, &res) == 204);\n"
               "    CHECK(ch_test_request(t, \"GET\", path, NULL, NULL, &res) == 404);\n");
    }
    free(b.p);
    free(b2.p);
    add(t, "\n    ch_test_stop(t);\n    app_free(app);\n"
           "    printf(\"%%d passed, %%d failed\\n\", passed, failed);\n"
           "    return failed != 0;\n}\n");
}

/* src/auth.h and src/auth.c, written with the first --auth resource. */
static const char auth_h[] =
    "/* Accounts at /api/auth and the guard of the resources generated with --auth. */\n"
    "#ifndef AUTH_H\n"
    "#define AUTH_H\n"
    "\n"
    "#include <chopin/chopin.h>\n"
    "\n"
    "/* Makes the auth object from the settings (JWT_SECRET...) and mounts the account routes at\n"
    " * /api/auth with their migrations (set \"auth\": table auth_users). Call it once, after\n"
    " * ch_app_configure() and before the app's own migrations, whose tables reference\n"
    " * auth_users. 0, or the exit status after printing why. */\n"
    "int auth_mount(struct ch_app *app);\n"
    "\n"
    "/* The auth object auth_mount() made, for ch_auth_required(); NULL before it. */\n"
    "struct ch_auth *auth_get(void);\n"
    "\n"
    "/* Frees it; call it after the app was freed. */\n"
    "void auth_free(void);\n"
    "\n"
    "#endif\n";

static const char auth_c[] =
    "/* Accounts and tokens (chopin/auth.h): POST /api/auth/signup, POST /api/auth/login and\n"
    " * GET /api/auth/me over the table auth_users. Written by `chopin generate resource ...\n"
    " * --auth`; yours to edit.\n"
    " *\n"
    " * JWT_SECRET signs the access tokens: production requires it (at least 32 bytes, e.g.\n"
    " * `openssl rand -base64 48`); in development, unset, each process makes a random key and\n"
    " * says so, and its tokens die with it. */\n"
    "#include <stdio.h>\n"
    "\n"
    "#include \"auth.h\"\n"
    "\n"
    "static struct ch_auth *auth;\n"
    "\n"
    "int auth_mount(struct ch_app *app)\n"
    "{\n"
    "    char err[256];\n"
    "    auth = ch_auth_from_app(app, err, sizeof(err));\n"
    "    if (!auth) {\n"
    "        fprintf(stderr, \"%s\\n\", err);\n"
    "        return 2;\n"
    "    }\n"
    "    int rc = ch_auth_mount(app, auth, \"/api/auth\");\n"
    "    if (rc != 0) {\n"
    "        fprintf(stderr, \"cannot mount /api/auth: %s\\n\", ch_strerror(rc));\n"
    "        return 1;\n"
    "    }\n"
    "    return 0;\n"
    "}\n"
    "\n"
    "struct ch_auth *auth_get(void)\n"
    "{\n"
    "    return auth;\n"
    "}\n"
    "\n"
    "void auth_free(void)\n"
    "{\n"
    "    ch_auth_free(auth);\n"
    "    auth = NULL;\n"
    "}\n";

static const char env_jwt[] =
    "# Signs the access tokens of /api/auth. Production requires it: at least 32 random bytes\n"
    "# (openssl rand -base64 48). Empty in development: a random key per process, with a\n"
    "# warning (tokens then die with the process).\n"
    "JWT_SECRET=\n";

/* The lines of src/app.c that chopin generate writes before. */
static const char mark_include[] = "#include \"app.h\"\n";
static const char mark_settings[] = "    /* chopin:settings";
static const char mark_configured[] = "    /* chopin:configured";
static const char mark_register[] = "    /* chopin:register */";
static const char mark_free[] = "    /* chopin:free */";

/* Returns `src` with `text` inserted before `mark` (after it when `after`), or NULL when `src`
 * has no `mark` or memory ran out. */
static char *insert_at(const char *src, const char *mark, int after, const char *text)
{
    const char *at = strstr(src, mark);
    if (!at) return NULL;
    if (after) at += strlen(mark);
    struct text t = {0};
    add(&t, "%.*s%s%s", (int)(at - src), src, text, at);
    if (t.oom) {
        free(t.p);
        return NULL;
    }
    return t.p;
}

/* Applies one insertion to *src in place; 0, or -1 (then *src is unchanged). */
static int edit(char **src, const char *mark, int after, const char *text)
{
    char *next = insert_at(*src, mark, after, text);
    if (!next) return -1;
    free(*src);
    *src = next;
    return 0;
}

/* Whether src/app.c already mounts the auth routes: its chopin:configured line has our call. */
static int auth_wired(const char *app_c)
{
    return strstr(app_c, "auth_mount(app)") != NULL;
}

/* Adds the include and the registration call to src/app.c, at its chopin:register line; with
 * `wire_auth` also src/auth.h's include, the JWT_* settings, auth_mount() and auth_free(). */
static int register_in_app(const struct resource *r, int wire_auth)
{
    char *src = cli_read_file("src/app.c");
    char line[256];
    int ok = src != NULL;
    snprintf(line, sizeof(line), "#include \"%s.h\"\n", r->plural);
    if (ok) ok = !edit(&src, mark_include, 1, line);
    snprintf(line, sizeof(line), "    %s_register(app);\n", r->plural);
    if (ok) ok = !edit(&src, mark_register, 0, line);
    if (ok && wire_auth)
        ok = !edit(&src, mark_include, 1, "#include \"auth.h\"\n") &&
             !edit(&src, mark_settings, 0,
                   "    ch_auth_declare_settings(app); /* JWT_SECRET, JWT_EXPIRY... */\n") &&
             !edit(&src, mark_configured, 0,
                   "    if (rc == 0) rc = auth_mount(app); /* /api/auth: before the migrations */\n") &&
             !edit(&src, mark_free, 0, "    auth_free();\n");
    if (!ok) {
        /* Checked before anything was written when wire_auth is set; otherwise the user's
         * app.c lost its markers and gets told what to add. */
        free(src);
        printf("Add to src/app.c:  #include \"%s.h\"  and, in app_create(),  %s_register(app);\n",
               r->plural, r->plural);
        return 0;
    }
    int rc = cli_write_file("generate", "src/app.c", src, 1);
    free(src);
    if (rc == 0) printf("updated src/app.c\n");
    return rc;
}

/* --auth in a project that does not mount the auth routes yet: src/app.c must have the lines
 * the wiring goes to, and src/auth.[ch] must be free. 0, or 1 after saying why. */
static int check_auth_wiring(const char *app_c)
{
    const char *marks[] = {mark_include, mark_settings, mark_configured, mark_register, mark_free};
    const char *names[] = {"#include \"app.h\"", "chopin:settings", "chopin:configured",
                           "chopin:register", "chopin:free"};
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
        if (!strstr(app_c, marks[i]))
            return cli_fail("generate",
                            "--auth: src/app.c has no %s line to wire the auth routes at "
                            "(see a new project's src/app.c)",
                            names[i]);
    if (access("src/auth.c", F_OK) == 0 || access("src/auth.h", F_OK) == 0)
        return cli_fail("generate", "--auth: src/auth.c or src/auth.h exists but src/app.c does "
                                    "not call auth_mount(app); not overwriting it");
    return 0;
}

/* Appends the JWT_SECRET line to .env.example, unless it names JWT_SECRET already. */
static int env_example_jwt(void)
{
    char *env = cli_read_file(".env.example");
    if (!env) return 0; /* the user removed it */
    int has = strstr(env, "JWT_SECRET") != NULL;
    struct text t = {0};
    if (!has) add(&t, "%s%s%s", env, *env && env[strlen(env) - 1] != '\n' ? "\n" : "", env_jwt);
    free(env);
    if (has) return 0;
    int rc = t.oom ? cli_fail("generate", "out of memory")
                   : cli_write_file("generate", ".env.example", t.p, 1);
    free(t.p);
    if (rc == 0) printf("updated .env.example\n");
    return rc;
}

static int generate_resource(int argc, char **argv)
{
    struct resource r = {0};
    char *args[MAX_FIELDS + 2];
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--auth")) {
            r.auth = 1;
        } else if (argv[i][0] == '-') {
            return cli_usage_error("generate", "unknown option '%s' (see chopin generate --help)",
                                   argv[i]);
        } else if (nargs == MAX_FIELDS + 1) {
            return cli_usage_error("generate", "at most %d fields", MAX_FIELDS);
        } else {
            args[nargs++] = argv[i];
        }
    }
    if (nargs < 2)
        return cli_usage_error("generate", "usage: chopin generate resource NAME FIELD:TYPE... [--auth]");
    r.name = args[0];
    if (!valid_ident(r.name))
        return cli_usage_error("generate", "NAME must be lower-case letters, digits and _ ('%s')",
                               r.name);
    plural(r.name, r.plural, sizeof(r.plural));
    if (r.auth && !strcmp(r.plural, "auth_users"))
        return cli_usage_error("generate", "--auth: auth_users is the accounts' own table");
    snprintf(r.Title, sizeof(r.Title), "%s", r.name);
    r.Title[0] = (char)toupper((unsigned char)r.Title[0]);
    for (int i = 1; i < nargs; i++) {
        if (parse_field(args[i], &r.fields[r.nfields]) != 0) return 2;
        for (int k = 0; k < r.nfields; k++)
            if (!strcmp(r.fields[k].name, r.fields[r.nfields].name))
                return cli_usage_error("generate", "field '%s' given twice", r.fields[k].name);
        if (r.auth && !strcmp(r.fields[r.nfields].name, "owner_id"))
            return cli_usage_error("generate", "field 'owner_id' is implicit with --auth (the "
                                               "signed-in user)");
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
    int wire_auth = 0;
    if (r.auth) {
        char *app_c = cli_read_file("src/app.c");
        if (!app_c) return cli_fail("generate", "--auth needs src/app.c: %s", strerror(errno));
        wire_auth = !auth_wired(app_c);
        int rc = wire_auth ? check_auth_wiring(app_c) : 0;
        free(app_c);
        if (rc) return rc;
    }

    if (r.auth && resolve_refs(&r) != 0) return cli_fail("generate", "out of memory");

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
    if (rc == 0 && wire_auth) {
        if ((rc = cli_write_file("generate", "src/auth.h", auth_h, 0)) == 0)
            printf("created src/auth.h\n");
        if (rc == 0 && (rc = cli_write_file("generate", "src/auth.c", auth_c, 0)) == 0)
            printf("created src/auth.c\n");
        if (rc == 0) rc = env_example_jwt();
    }
    if (rc == 0) rc = register_in_app(&r, wire_auth);
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
