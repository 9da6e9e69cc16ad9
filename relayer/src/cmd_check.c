#include "bh_cmd.h"

#include <stdio.h>

int bh_cmd_check(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("bulkhead check: not built yet\n", stderr);
    return 2;
}
