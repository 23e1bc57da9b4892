// Swift's static runtime calls hypotf, which glibc 2.35 re-versioned (hypotf@GLIBC_2.35). Linked
// as is, the binary would require GLIBC_2.35 and fail to load on Amazon Linux 2023 (glibc 2.34).
// Defining hypotf here, over hypot at its original version, keeps every requirement at 2.34.
#include <math.h>

#if defined(__x86_64__)
__asm__(".symver compat_hypot, hypot@GLIBC_2.2.5");
#elif defined(__aarch64__)
__asm__(".symver compat_hypot, hypot@GLIBC_2.17");
#else
#error "GlibcCompat knows the base glibc symbol version of x86_64 and aarch64 only"
#endif

double compat_hypot(double x, double y);

float hypotf(float x, float y) {
    return (float)compat_hypot((double)x, (double)y);
}

// The static libstdc++ the packaged binaries link (scripts/package) calls arc4random, which glibc
// added in 2.36. This one, over getrandom (glibc 2.25), is what the binary binds to instead.
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

uint32_t arc4random(void) {
    uint32_t value;
    // getrandom blocks only until the kernel's pool is first initialised, and may be interrupted.
    while (getrandom(&value, sizeof value, 0) != (ssize_t)sizeof value) {
        if (errno != EINTR) __builtin_trap();
    }
    return value;
}
