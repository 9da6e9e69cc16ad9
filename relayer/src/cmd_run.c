#include "bh_cmd.h"

#include <stdio.h>

int bh_cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("bulkhead run: not built yet\n", stderr);
    return 2;
}
