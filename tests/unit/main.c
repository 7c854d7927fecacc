/* Runs every registered unit test; arguments filter by substring of "file:name". */
#include "test.h"

int main(int argc, char **argv)
{
    struct ch_test_counts n = {0, 0, 0};
    ch_test_run(argc, argv, NULL, &n);
    printf("unit: %d passed, %d failed\n", n.passed, n.failed);
    return n.failed ? 1 : 0;
}
