#ifndef GLIBC_COMPAT_H
#define GLIBC_COMPAT_H
// Nothing to call: this target only defines symbols that keep the Lambda binaries loadable on
// Amazon Linux 2023's glibc 2.34. See GlibcCompat.c.
#endif
