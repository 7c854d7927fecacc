/* Manual AddressSanitizer poisoning, for memory we keep for reuse (pooled connections, cached
 * buffers) or hand out piecemeal (the fuzz drivers' not-yet-received bytes): touching a
 * poisoned byte is reported like a use after free. No-ops without ASan. */
#ifndef CH_UTIL_ASAN_H
#define CH_UTIL_ASAN_H

#if defined(__SANITIZE_ADDRESS__)
#define CH__HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CH__HAVE_ASAN 1
#endif
#endif

#ifdef CH__HAVE_ASAN
#include <sanitizer/asan_interface.h>
#define CH__POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define CH__UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define CH__POISON(p, n)   ((void)(p), (void)(n))
#define CH__UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#endif
