#include <stdio.h>
int main(void)
{
    puts("chopin " CH_VERSION);
    return 0;
}
