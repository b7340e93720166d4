/*
 * A test probe for the clock shim (harness/tests/clock_shim.rs): for each line on stdin it
 * prints one line of readings, as decimal integers separated by spaces:
 *
 *   CLOCK_REALTIME ns, CLOCK_REALTIME_COARSE ns, gettimeofday us, time() s, CLOCK_MONOTONIC ns,
 *   and errno after those calls (set to 0 before them: the shim must not change it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static long long ns(const struct timespec *ts) {
    return (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

int main(void) {
    char line[256];
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin)) {
        struct timespec real, coarse, mono;
        struct timeval tv;
        time_t t_out = 0;
        errno = 0;
        int failed = clock_gettime(CLOCK_REALTIME, &real) != 0;
        failed |= clock_gettime(CLOCK_REALTIME_COARSE, &coarse) != 0;
        failed |= gettimeofday(&tv, NULL) != 0;
        time_t t = time(&t_out);
        failed |= t != t_out;
        failed |= clock_gettime(CLOCK_MONOTONIC, &mono) != 0;
        int err = errno;
        if (failed) {
            printf("failed %d\n", err);
            continue;
        }
        printf("%lld %lld %lld %lld %lld %d\n", ns(&real), ns(&coarse),
               (long long)tv.tv_sec * 1000000LL + tv.tv_usec, (long long)t, ns(&mono), err);
    }
    return 0;
}
