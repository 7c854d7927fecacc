/* Shared declarations of the JSON benchmark (bench/json/). */
#ifndef CHOPIN_BENCH_JSON_H
#define CHOPIN_BENCH_JSON_H

#include <stddef.h>

#include "chopin/json.h"

struct doc {
    const char *name;
    const char *text;
    size_t len;
};

/* Fills out[] with the benchmark documents (deterministic) and returns their number. */
size_t bench_docs(struct doc *out, size_t cap);

#endif
