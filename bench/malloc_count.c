/* LD_PRELOAD shim counting heap allocations, for bench/run --allocs:
 *
 *   LD_PRELOAD=build-bench/bench/libpcaplens_malloc_count.so pcaplens -q F.pcap
 *
 * prints, at exit, on standard error:
 *   malloc_count: N allocations (malloc M, calloc C, realloc R, aligned A), B bytes requested, F frees
 *
 * Wraps malloc/calloc/realloc/posix_memalign/aligned_alloc/memalign/free via
 * RTLD_NEXT; operator new ends in malloc with glibc's libstdc++, so C++
 * allocations are counted. Counters are relaxed atomics: cheap, thread-safe.
 * malloc/calloc are served from a static arena while dlsym itself is
 * resolving (dlsym allocates on first use). The C++ operators are wrapped
 * too, for allocators (jemalloc) whose operator new does not call malloc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void* (*real_malloc)(size_t);
static void* (*real_calloc)(size_t, size_t);
static void* (*real_realloc)(void*, size_t);
static void (*real_free)(void*);
static int (*real_posix_memalign)(void**, size_t, size_t);
static void* (*real_aligned_alloc)(size_t, size_t);
static void* (*real_memalign)(size_t, size_t);

static atomic_ulong n_malloc, n_calloc, n_realloc, n_aligned, n_free, n_bytes;

static __thread int inner; /* inside a counted C++ operator (see below) */
static char boot_arena[4096];
static size_t boot_used;
static int resolving;

static void resolve(void) {
    if (real_malloc || resolving) return;
    resolving = 1;
    *(void**)&real_calloc = dlsym(RTLD_NEXT, "calloc");  /* POSIX-sanctioned function-pointer cast */
    *(void**)&real_malloc = dlsym(RTLD_NEXT, "malloc");
    *(void**)&real_realloc = dlsym(RTLD_NEXT, "realloc");
    *(void**)&real_free = dlsym(RTLD_NEXT, "free");
    *(void**)&real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    *(void**)&real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    *(void**)&real_memalign = dlsym(RTLD_NEXT, "memalign");
    resolving = 0;
}

static int from_boot(const void* p) { return (const char*)p >= boot_arena && (const char*)p < boot_arena + sizeof boot_arena; }

static void* boot_alloc(size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (boot_used + n > sizeof boot_arena) return NULL;
    void* p = boot_arena + boot_used;
    boot_used += n;
    memset(p, 0, n);
    return p;
}

void* malloc(size_t n) {
    if (!real_malloc && resolving) return boot_alloc(n);
    resolve();
    if (inner) return real_malloc(n);
    atomic_fetch_add_explicit(&n_malloc, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_bytes, n, memory_order_relaxed);
    return real_malloc(n);
}

void* calloc(size_t a, size_t b) {
    if (!real_calloc) {
        if (resolving) return boot_alloc(a * b); /* dlsym's own allocation */
        resolve();
    }
    atomic_fetch_add_explicit(&n_calloc, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_bytes, a * b, memory_order_relaxed);
    return real_calloc(a, b);
}

void* realloc(void* p, size_t n) {
    resolve();
    atomic_fetch_add_explicit(&n_realloc, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_bytes, n, memory_order_relaxed);
    return real_realloc(p, n);
}

int posix_memalign(void** out, size_t al, size_t n) {
    resolve();
    atomic_fetch_add_explicit(&n_aligned, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_bytes, n, memory_order_relaxed);
    return real_posix_memalign(out, al, n);
}

void* aligned_alloc(size_t al, size_t n) {
    resolve();
    atomic_fetch_add_explicit(&n_aligned, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_bytes, n, memory_order_relaxed);
    return real_aligned_alloc(al, n);
}

void* memalign(size_t al, size_t n) {
    resolve();
    atomic_fetch_add_explicit(&n_aligned, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_bytes, n, memory_order_relaxed);
    return real_memalign(al, n);
}

void free(void* p) {
    if (!p || from_boot(p)) return;
    resolve();
    if (!inner) atomic_fetch_add_explicit(&n_free, 1, memory_order_relaxed);
    real_free(p);
}

/* C++ operators. libstdc++'s operator new calls malloc, but an allocator
 * that defines its own (jemalloc does) never does: count the operators here,
 * and let nothing count again while one of them forwards (inner): glibc's
 * operators call malloc/free, its sized delete calls the unsized one. */
#define COUNT_NEW(name, counter, params, args)                                    \
    void* name params {                                                           \
        static void* (*real) params;                                              \
        if (!real) *(void**)&real = dlsym(RTLD_NEXT, #name);                      \
        if (!inner) {                                                             \
            atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);         \
            atomic_fetch_add_explicit(&n_bytes, n, memory_order_relaxed);         \
        }                                                                         \
        ++inner;                                                                  \
        void* p = real args;                                                      \
        --inner;                                                                  \
        return p;                                                                 \
    }
#define COUNT_DELETE(name, params, args)                                          \
    void name params {                                                            \
        static void (*real) params;                                               \
        if (!real) *(void**)&real = dlsym(RTLD_NEXT, #name);                      \
        if (p && !inner) atomic_fetch_add_explicit(&n_free, 1, memory_order_relaxed); \
        ++inner;                                                                  \
        real args;                                                                \
        --inner;                                                                  \
    }
/* operator new(size_t), new[](size_t), their nothrow and aligned forms */
COUNT_NEW(_Znwm, n_malloc, (size_t n), (n))
COUNT_NEW(_Znam, n_malloc, (size_t n), (n))
COUNT_NEW(_ZnwmRKSt9nothrow_t, n_malloc, (size_t n, const void* t), (n, t))
COUNT_NEW(_ZnamRKSt9nothrow_t, n_malloc, (size_t n, const void* t), (n, t))
COUNT_NEW(_ZnwmSt11align_val_t, n_aligned, (size_t n, size_t al), (n, al))
COUNT_NEW(_ZnamSt11align_val_t, n_aligned, (size_t n, size_t al), (n, al))
/* operator delete(void*), sized, array, aligned */
COUNT_DELETE(_ZdlPv, (void* p), (p))
COUNT_DELETE(_ZdaPv, (void* p), (p))
COUNT_DELETE(_ZdlPvm, (void* p, size_t n), (p, n))
COUNT_DELETE(_ZdaPvm, (void* p, size_t n), (p, n))
COUNT_DELETE(_ZdlPvSt11align_val_t, (void* p, size_t al), (p, al))
COUNT_DELETE(_ZdaPvSt11align_val_t, (void* p, size_t al), (p, al))
COUNT_DELETE(_ZdlPvmSt11align_val_t, (void* p, size_t n, size_t al), (p, n, al))
COUNT_DELETE(_ZdaPvmSt11align_val_t, (void* p, size_t n, size_t al), (p, n, al))

__attribute__((destructor)) static void report(void) {
    char buf[256];
    unsigned long m = atomic_load(&n_malloc), c = atomic_load(&n_calloc), r = atomic_load(&n_realloc), a = atomic_load(&n_aligned);
    int len = snprintf(buf, sizeof buf, "malloc_count: %lu allocations (malloc %lu, calloc %lu, realloc %lu, aligned %lu), %lu bytes requested, %lu frees\n",
                       m + c + r + a, m, c, r, a, atomic_load(&n_bytes), atomic_load(&n_free));
    if (len > 0) {
        ssize_t w = write(2, buf, (size_t)len);
        (void)w;
    }
}
