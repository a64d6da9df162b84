/* The CRI validation suite's NoNewPrivs image, rebuilt offline: installed
 * setuid root, it prints the effective uid it runs with. A container started
 * as uid 1000 with no_new_privs prints 1000 (the kernel ignores the setuid
 * bit); without no_new_privs it prints 0. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    printf("Effective uid: %d\n", (int)geteuid());
    return 0;
}
