#include "../test.h"
#include "util/decay.h"

/* A list used down to 3 entries in every period keeps all but those 3's half. */
TEST(decay_frees_half_of_what_a_period_left_unused)
{
    struct ch__decay d = {0, 0};
    size_t cached = 100;
    d.low = cached;
    ch__decay_took(&d, 90);
    ch__decay_took(&d, 95); /* a later, higher count does not raise the low-water mark */
    for (int i = 0; i < 3; i++) ASSERT_EQ(ch__decay_tick(&d, cached, 10, 4), 0);
    ASSERT_EQ(ch__decay_tick(&d, cached, 10, 4), 40); /* (90 - 10) / 2 */
    cached -= 40;
    /* Nothing taken in the next period: half of what is above the floor goes. */
    for (int i = 0; i < 3; i++) ASSERT_EQ(ch__decay_tick(&d, cached, 10, 4), 0);
    ASSERT_EQ(ch__decay_tick(&d, cached, 10, 4), 25);
}

TEST(decay_keeps_a_list_the_load_empties)
{
    struct ch__decay d = {0, 0};
    size_t cached = 500;
    for (int period = 0; period < 5; period++) {
        d.low = d.low < cached ? d.low : cached;
        ch__decay_took(&d, 0); /* the load took every entry at some point */
        ASSERT_EQ(ch__decay_tick(&d, cached, 64, 1), 0);
    }
}

TEST(decay_never_goes_below_the_floor)
{
    struct ch__decay d = {0, 0};
    size_t cached = 65;
    d.low = cached;
    ASSERT_EQ(ch__decay_tick(&d, cached, 64, 1), 1);
    cached = 64;
    for (int i = 0; i < 10; i++) ASSERT_EQ(ch__decay_tick(&d, cached, 64, 1), 0);
}
