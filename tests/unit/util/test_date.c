/* The Date cache: format, and copies made while another thread refreshes (run under
 * ThreadSanitizer by tests/run.sh, where a racy cache is reported). */
#include <pthread.h>
#include <stdatomic.h>

#include "../test.h"
#include "util/date.h"

TEST(date_format_imf_fixdate)
{
    char buf[CH__DATE_LEN];
    ch__date_format(buf, 784111777); /* RFC 9110's example */
    ASSERT_MEM_EQ(buf, sizeof(buf), "Sun, 06 Nov 1994 08:49:37 GMT");
    ch__date_format(buf, 951782400);
    ASSERT_MEM_EQ(buf, sizeof(buf), "Tue, 29 Feb 2000 00:00:00 GMT");
}

static _Atomic int stop;

static void *reader(void *arg)
{
    int *bad = arg;
    char buf[CH__DATE_LEN], mine[CH__DATE_LEN];
    int slot = -1;
    while (!atomic_load(&stop)) {
        ch__date_copy(buf);
        if (memcmp(buf + 25, " GMT", 4) != 0) (*bad)++;
        ch__date_sync(mine, &slot); /* what a worker does on each wake-up */
        if (memcmp(mine + 25, " GMT", 4) != 0) (*bad)++;
    }
    return NULL;
}

TEST(date_copies_race_free_with_refresh)
{
    pthread_t t[2];
    int bad[2] = {0, 0};
    atomic_store(&stop, 0);
    ch__date_refresh();
    for (int i = 0; i < 2; i++) ASSERT_EQ(pthread_create(&t[i], NULL, reader, &bad[i]), 0);
    /* Many more refreshes than the server makes, so that every slot is rewritten while
     * readers copy from it. */
    for (int i = 0; i < 20000; i++) ch__date_refresh();
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    ASSERT_EQ(bad[0] + bad[1], 0);
}
