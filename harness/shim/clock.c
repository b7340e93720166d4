/*
 * faultline's clock shim: an LD_PRELOAD library that adds a node's clock offset to the wall
 * clock of an external process (DESIGN.md, "Faults: Clock"; README.md beside this file).
 *
 * The offset file (path in $FAULTLINE_CLOCK_FILE) holds 8 bytes: a little-endian int64 of
 * nanoseconds. The harness rewrites it in place; the shim maps it read-only and shared, so a
 * write is seen by the very next call. CLOCK_REALTIME and CLOCK_REALTIME_COARSE (through
 * clock_gettime), gettimeofday and time get the offset; every other clock passes through.
 *
 * Rules this file keeps, so that it is safe in any process (Debian's redis-server hangs at
 * start under libfaketime: jemalloc reads the clock while it initialises, and libfaketime's
 * dlsym then allocates):
 *   - no allocation, no dlsym, no locks, no stdio: only raw system calls (through syscall(2),
 *     every argument passed as a long) and atomics. Every overridden function is
 *     async-signal-safe and thread-safe.
 *   - errno is left as the caller had it unless the call itself fails, as libc does.
 *   - only the overridden functions are exported (built with -fvisibility=hidden).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

#define ENV_NAME "FAULTLINE_CLOCK_FILE"
#define NSEC_PER_SEC 1000000000LL
/* While the offset file is not mapped, try again at most this often (real wall time). */
#define RETRY_NS 10000000LL /* 10 ms */

#if defined(__GLIBC__) && !__GLIBC_PREREQ(2, 31)
typedef struct timezone *tz_arg;
#else
typedef void *tz_arg;
#endif

/* The raw system calls below pass 64-bit arguments in single registers. */
_Static_assert(sizeof(long) == 8 && sizeof(time_t) == 8, "the clock shim is for 64-bit Linux");

extern char **environ;

/* The offset file's path, copied from the environment once (redis-server and others rewrite
 * their environment's memory for the process title, so the original string cannot be kept). */
static char clock_path[4096];

enum { PATH_UNKNOWN, PATH_CAPTURING, PATH_SET, PATH_NONE };
static int path_state = PATH_UNKNOWN;

/* The mapped offset, NULL until mapped; once set it never changes. */
static const int64_t *offset_map;
/* 1 while one caller tries to map the file; the others (and signal handlers) use offset 0. */
static int mapping;
/* Raw (un-offset) wall time of the last try, in nanoseconds. */
static int64_t last_try_ns;

/* Copies $FAULTLINE_CLOCK_FILE into clock_path, once. An unset or empty variable, or a path
 * that does not fit, means no offset file at all: the offset is 0 for good. */
static void capture_path(void) {
    int expected = PATH_UNKNOWN;
    if (!__atomic_compare_exchange_n(&path_state, &expected, PATH_CAPTURING, 0,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    int state = PATH_NONE;
    for (char **env = environ; env && *env; env++) {
        const char *e = *env;
        const char *n = ENV_NAME;
        while (*n && *e == *n) {
            e++;
            n++;
        }
        if (*n || *e != '=')
            continue;
        e++;
        size_t len = 0;
        while (len < sizeof clock_path && e[len])
            len++;
        if (len > 0 && len < sizeof clock_path) {
            for (size_t i = 0; i <= len; i++)
                clock_path[i] = e[i];
            state = PATH_SET;
        }
        break; /* the first definition wins, as with getenv */
    }
    __atomic_store_n(&path_state, state, __ATOMIC_RELEASE);
}

/* Maps the offset file if it exists and holds at least 8 bytes. `now` is the raw wall time,
 * for the retry limit: one try per RETRY_NS, and one whenever the system clock went back. */
static void try_map(int64_t now) {
    if (__atomic_load_n(&path_state, __ATOMIC_ACQUIRE) != PATH_SET)
        return;
    int64_t last = __atomic_load_n(&last_try_ns, __ATOMIC_RELAXED);
    if (last != 0 && (uint64_t)now - (uint64_t)last < (uint64_t)RETRY_NS)
        return;
    if (__atomic_exchange_n(&mapping, 1, __ATOMIC_ACQUIRE))
        return; /* another thread, or the code this signal handler interrupted, is trying */
    __atomic_store_n(&last_try_ns, now == 0 ? 1 : now, __ATOMIC_RELAXED);
    if (!__atomic_load_n(&offset_map, __ATOMIC_ACQUIRE)) {
        int saved = errno;
        long fd = syscall(SYS_openat, (long)AT_FDCWD, clock_path,
                          (long)(O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
        if (fd >= 0) {
            unsigned char head[8];
            /* A file shorter than 8 bytes is not mapped: reading past its end would fault. */
            if (syscall(SYS_pread64, fd, head, (long)sizeof head, 0L) == (long)sizeof head) {
                long p = syscall(SYS_mmap, 0L, (long)sizeof(int64_t), (long)PROT_READ,
                                 (long)MAP_SHARED, fd, 0L);
                if (p != -1)
                    __atomic_store_n(&offset_map, (const int64_t *)(uintptr_t)p, __ATOMIC_RELEASE);
            }
            syscall(SYS_close, fd);
        }
        errno = saved;
    }
    __atomic_store_n(&mapping, 0, __ATOMIC_RELEASE);
}

/* The current offset in nanoseconds; `now` is the raw wall time (see try_map). */
static int64_t offset_ns(int64_t now) {
    const int64_t *p = __atomic_load_n(&offset_map, __ATOMIC_ACQUIRE);
    if (!p) {
        if (__atomic_load_n(&path_state, __ATOMIC_ACQUIRE) == PATH_UNKNOWN)
            capture_path();
        try_map(now);
        p = __atomic_load_n(&offset_map, __ATOMIC_ACQUIRE);
        if (!p)
            return 0;
    }
    /* One aligned 8-byte atomic load. The harness writes the 8 bytes with one write(2), which
     * the kernel need not copy atomically: load until two loads agree, so a torn value is
     * (almost surely) never used. */
    int64_t v = __atomic_load_n(p, __ATOMIC_RELAXED);
    for (int i = 0; i < 4; i++) {
        int64_t again = __atomic_load_n(p, __ATOMIC_RELAXED);
        if (again == v)
            break;
        v = again;
    }
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = (int64_t)__builtin_bswap64((uint64_t)v);
#endif
    return v;
}

static int64_t to_ns(const struct timespec *ts) {
    return (int64_t)ts->tv_sec * NSEC_PER_SEC + ts->tv_nsec;
}

static void add_offset(struct timespec *ts, int64_t offset) {
    int64_t sec = (int64_t)ts->tv_sec + offset / NSEC_PER_SEC;
    int64_t nsec = (int64_t)ts->tv_nsec + offset % NSEC_PER_SEC;
    if (nsec < 0) {
        nsec += NSEC_PER_SEC;
        sec -= 1;
    } else if (nsec >= NSEC_PER_SEC) {
        nsec -= NSEC_PER_SEC;
        sec += 1;
    }
    ts->tv_sec = (time_t)sec;
    ts->tv_nsec = (long)nsec;
}

/* The wall clock `clock` (CLOCK_REALTIME or CLOCK_REALTIME_COARSE) with the offset added. */
static int skewed(clockid_t clock, struct timespec *ts) {
    if (syscall(SYS_clock_gettime, (long)clock, ts) != 0)
        return -1;
    int64_t offset = offset_ns(to_ns(ts));
    if (offset != 0)
        add_offset(ts, offset);
    return 0;
}

__attribute__((constructor)) static void faultline_clock_init(void) {
    struct timespec ts;
    capture_path();
    if (syscall(SYS_clock_gettime, (long)CLOCK_REALTIME, &ts) == 0)
        try_map(to_ns(&ts));
}

EXPORT int clock_gettime(clockid_t clock, struct timespec *ts) {
    if (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)
        return skewed(clock, ts);
    return (int)syscall(SYS_clock_gettime, (long)clock, ts);
}

EXPORT int gettimeofday(struct timeval *restrict tv, tz_arg restrict tz) {
    if (tz) {
        /* As glibc does: the kernel's timezone is obsolete, report none. */
        struct timezone *z = (struct timezone *)tz;
        z->tz_minuteswest = 0;
        z->tz_dsttime = 0;
    }
    /* glibc declares tv nonnull, yet the kernel (and the vDSO glibc calls) accept NULL: hide
     * the declaration from the optimiser so that the check stays. */
    __asm__("" : "+r"(tv));
    if (!tv)
        return 0;
    struct timespec ts;
    if (skewed(CLOCK_REALTIME, &ts) != 0)
        return -1;
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = (suseconds_t)(ts.tv_nsec / 1000);
    return 0;
}

EXPORT time_t time(time_t *out) {
    struct timespec ts;
    /* The kernel's time() reads the coarse clock; so does this. */
    if (skewed(CLOCK_REALTIME_COARSE, &ts) != 0)
        return (time_t)-1;
    if (out)
        *out = ts.tv_sec;
    return ts.tv_sec;
}
