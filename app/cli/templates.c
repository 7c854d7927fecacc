/* The files of a new project. Kept as plain text so that what a user gets is easy to read
 * here; `chopin new` expands {{name}}, {{ident}}, {{database_url}} and {{version}}. */
#include "templates.h"

static const char makefile[] =
    "# {{name}}: a Chopin application.\n"
    "#   make          build build/{{name}}\n"
    "#   make run      build and serve on http://127.0.0.1:3000 (chopin run reloads on changes)\n"
    "#   make test     build and run every tests/test_*.c\n"
    "#   make debug    ASan + UBSan build under build/debug/\n"
    "APP      ?= build/{{name}}\n"
    "CC       ?= cc\n"
    "CFLAGS   ?= -O2 -g\n"
    "WARN     := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla\n"
    "CHOPIN   := $(shell pkg-config --cflags chopin)\n"
    "LIBS     := $(shell pkg-config --libs --static chopin)\n"
    "SRC      := $(filter-out src/main.c,$(wildcard src/*.c))\n"
    "HDR      := $(wildcard src/*.h)\n"
    "TESTS    := $(patsubst tests/%.c,$(dir $(APP))tests/%,$(wildcard tests/test_*.c))\n"
    "\n"
    "all: $(APP)\n"
    "\n"
    "$(APP): src/main.c $(SRC) $(HDR)\n"
    "\t@mkdir -p $(dir $@)\n"
    "\t$(CC) $(CFLAGS) $(WARN) $(CHOPIN) -o $@ src/main.c $(SRC) $(LIBS)\n"
    "\n"
    "$(dir $(APP))tests/%: tests/%.c $(SRC) $(HDR)\n"
    "\t@mkdir -p $(dir $@)\n"
    "\t$(CC) $(CFLAGS) $(WARN) $(CHOPIN) -Isrc -o $@ $< $(SRC) $(LIBS)\n"
    "\n"
    "run: $(APP)\n"
    "\t./$(APP)\n"
    "\n"
    "test: $(TESTS)\n"
    "\t@set -e; for t in $(TESTS); do echo \"== $$t\"; ./$$t; done\n"
    "\n"
    "debug:\n"
    "\t$(MAKE) APP=build/debug/{{name}} \\\n"
    "\t    CFLAGS=\"-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined\" all test\n"
    "\n"
    "# For chopin run, chopin db and chopin routes: the binary this Makefile builds.\n"
    "print-app:\n"
    "\t@echo $(APP)\n"
    "\n"
    "clean:\n"
    "\trm -rf build\n"
    "\n"
    ".PHONY: all run test debug print-app clean\n";

static const char app_h[] =
    "/* {{name}}: the application, built by one function that main() and the tests share. */\n"
    "#ifndef APP_H\n"
    "#define APP_H\n"
    "\n"
    "#include <chopin/chopin.h>\n"
    "\n"
    "/* The application, configured from .env, the environment and the command line (argc,\n"
    " * argv), with its routes, middleware and database. NULL when it must not serve: *status is\n"
    " * then the exit status (0 after --help or --version, 2 after a bad setting, 1 out of\n"
    " * memory). */\n"
    "struct ch_app *app_create(int argc, char **argv, int *status);\n"
    "\n"
    "/* Frees the application and what app_create() made for it, once it stopped serving. */\n"
    "void app_free(struct ch_app *app);\n"
    "\n"
    "#endif\n";

/* The chopin: lines are where `chopin generate` adds its own: settings are declared before
 * ch_app_configure() so that --help lists them; what needs the settings (the auth routes)
 * comes after it and before the app's migrations, whose tables may reference its tables. */
static const char app_c[] =
    "/* {{name}}: settings, routes and middleware. `chopin generate resource` adds its lines\n"
    " * at the chopin: markers below. */\n"
    "#include \"app.h\"\n"
    "\n"
    "static int welcome(struct ch_request *req)\n"
    "{\n"
    "    struct ch_json_writer *w = ch_json_ok(req);\n"
    "    ch_json_object_begin(w);\n"
    "    ch_json_key(w, \"message\");\n"
    "    ch_json_string(w, \"Welcome to {{name}}!\");\n"
    "    ch_json_key(w, \"docs\");\n"
    "    ch_json_string(w, \"/api-docs\");\n"
    "    ch_json_object_end(w);\n"
    "    return ch_respond(req, 200);\n"
    "}\n"
    "\n"
    "struct ch_app *app_create(int argc, char **argv, int *status)\n"
    "{\n"
    "    struct ch_app *app = ch_app_new();\n"
    "    if (!app) {\n"
    "        *status = 1;\n"
    "        return NULL;\n"
    "    }\n"
    "    ch_app_use_defaults(app);\n"
    "    ch_app_use_database(app, NULL);\n"
    "    /* chopin:settings (declared before ch_app_configure(): --help lists them) */\n"
    "    int rc = ch_app_configure(app, argc, argv); /* .env, the environment, the flags */\n"
    "    /* chopin:configured (what needs the settings) */\n"
    "    if (rc != 0) {\n"
    "        *status = rc == 1 ? 0 : rc; /* 1: --help or --version was printed */\n"
    "        app_free(app);\n"
    "        return NULL;\n"
    "    }\n"
    "    ch_app_migrations_dir(app, \"app\", \"migrations\");\n"
    "    ch_app_docs(app, \"/api-docs\", \"{{name}}\", \"0.1.0\");\n"
    "    ch_get(app, \"/\", welcome);\n"
    "    /* chopin:register */\n"
    "    *status = 0;\n"
    "    return app;\n"
    "}\n"
    "\n"
    "void app_free(struct ch_app *app)\n"
    "{\n"
    "    ch_app_free(app);\n"
    "    /* chopin:free */\n"
    "}\n";

static const char main_c[] = "#include \"app.h\"\n"
                             "\n"
                             "int main(int argc, char **argv)\n"
                             "{\n"
                             "    int status;\n"
                             "    struct ch_app *app = app_create(argc, argv, &status);\n"
                             "    if (!app) return status;\n"
                             "    status = ch_app_serve(app);\n"
                             "    app_free(app);\n"
                             "    return status;\n"
                             "}\n";

static const char test_c[] =
    "/* The welcome route, through Chopin's test client: the app runs in this process on a\n"
    " * free port, with a private in-memory database. */\n"
    "#define _POSIX_C_SOURCE 200809L /* setenv */\n"
    "\n"
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "\n"
    "#include \"app.h\"\n"
    "\n"
    "static int passed, failed;\n"
    "\n"
    "#define CHECK(cond)                                                                 \\\n"
    "    do {                                                                            \\\n"
    "        if (cond) passed++;                                                         \\\n"
    "        else failed++, fprintf(stderr, \"%s:%d: %s\\n\", __FILE__, __LINE__, #cond); \\\n"
    "    } while (0)\n"
    "\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    setenv(\"DATABASE_URL\", \"sqlite::memory:\", 1);\n"
    "    int status;\n"
    "    struct ch_app *app = app_create(argc, argv, &status);\n"
    "    if (!app) return status;\n"
    "    struct ch_test *t = ch_test_start(app);\n"
    "    if (!t) return 1;\n"
    "    struct ch_test_response res;\n"
    "\n"
    "    CHECK(ch_test_request(t, \"GET\", \"/\", NULL, NULL, &res) == 200);\n"
    "    struct ch_str msg = ch_json_value_str(ch_test_json_at(res.json, \"data.message\"));\n"
    "    CHECK(ch_str_eq_cstr(msg, \"Welcome to {{name}}!\"));\n"
    "    CHECK(ch_test_request(t, \"GET\", \"/nowhere\", NULL, NULL, &res) == 404);\n"
    "\n"
    "    ch_test_stop(t);\n"
    "    app_free(app);\n"
    "    printf(\"%d passed, %d failed\\n\", passed, failed);\n"
    "    return failed != 0;\n"
    "}\n";

static const char env_example[] =
    "# Copy to .env: the app reads it at start (the real environment wins).\n"
    "DATABASE_URL={{database_url}}\n"
    "SERVER_PORT=3000\n"
    "ENVIRONMENT=development\n";

static const char gitignore[] = "build/\n.env\n*.db\n*.db-shm\n*.db-wal\n";

static const char readme[] =
    "# {{name}}\n"
    "\n"
    "A Chopin {{version}} application.\n"
    "\n"
    "```sh\n"
    "make test        # build and run the tests\n"
    "make run         # serve on http://127.0.0.1:3000\n"
    "chopin run       # the same, rebuilt and restarted on every change\n"
    "chopin generate resource post title:string body:text published:bool\n"
    "chopin generate resource note body:text --auth   # a token needed, rows per user\n"
    "chopin db migrate | rollback [N] | status | new NAME\n"
    "chopin routes    # the routes this app serves\n"
    "```\n"
    "\n"
    "Settings come from the environment and `.env` (see `.env.example`); `build/{{name}} --help`\n"
    "lists them. Migrations live in `migrations/` and are applied at start.\n";

const struct cli_template cli_project_files[] = {
    {"Makefile", makefile},
    {"src/app.h", app_h},
    {"src/app.c", app_c},
    {"src/main.c", main_c},
    {"tests/test_app.c", test_c},
    {"migrations/.keep", ""},
    {".env.example", env_example},
    {".gitignore", gitignore},
    {"README.md", readme},
};

const size_t cli_project_files_count = sizeof(cli_project_files) / sizeof(cli_project_files[0]);
