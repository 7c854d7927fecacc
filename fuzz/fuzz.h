/* What every fuzz driver provides. The build force-includes this header (-include), so a
 * driver needs no boilerplate and still compiles cleanly with -Wmissing-prototypes. */
#ifndef CHOPIN_FUZZ_H
#define CHOPIN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry point: handles one input; returns 0. A driver reports a broken
 * invariant by aborting, which libFuzzer and the replay runner both count as a finding. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
