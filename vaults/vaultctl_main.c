/* The vaultctl tool. */
#include "bh_vaultctl.h"

int main(int argc, char **argv)
{
    return bh_vaultctl_main(argc, argv);
}
