// Heap in use, for the memory cap (AnalysisConfig::max_memory_bytes).
//
// Measured rather than estimated: every stage (flow table, reassembly
// buffers, HTTP state, reports waiting to be written) allocates through the
// C library, so its own count bounds them all without each keeping books.
// glibc's mallinfo2 walks the arenas' free lists (up to ~100 us on a
// fragmented heap), so the pipeline calls it only after every 1024 new
// connections, 65536 packets or 2 MiB of captured bytes
// (AnalysisConfig::memory_check_*).
// With jemalloc (PCAPLENS_ALLOCATOR=jemalloc, the default) its own counts
// are read instead (glibc's mallinfo2 would see an empty heap): the bytes
// the calling thread allocated minus those it freed. The analysis is one
// thread, which allocates and frees everything it holds. (stats.allocated,
// read before, needs an "epoch" refresh of every arena's statistics first:
// ~100,000 instructions a call, 2% of the instructions of a bench run.)
#include <malloc.h>

#include "pcaplens/pipeline.hpp"
#if PCAPLENS_JEMALLOC
#include <jemalloc/jemalloc.h>
#define PCAPLENS_STRINGIFY_(x) #x
#define PCAPLENS_STRINGIFY(x) PCAPLENS_STRINGIFY_(x)
#endif

#if PCAPLENS_JEMALLOC
// jemalloc's start-up options, read before the first allocation (MALLOC_CONF
// in the environment still overrides them). Transparent huge pages: every
// packet touches its connection's TCP, reassembly and HTTP state, spread
// over a heap of ~80 MB for 2,000 live connections; with 4 KiB pages most of
// those touches also miss the TLB, and in a virtual machine each miss is a
// two-level page walk. 2 MiB pages cut user time 20-25% on the 1 GB bench
// trace; on the benchmark VM zeroing fresh huge pages adds some system
// time back, net 8-15% less wall time (bench/RESULTS.md), for ~5% more
// resident memory. jemalloc declares the pointer non-const; nothing writes it.
const char* malloc_conf = "thp:always,metadata_thp:always";
#endif

namespace pcaplens {

uint64_t heap_in_use_bytes() {
#if PCAPLENS_JEMALLOC
    // Running totals kept per thread on every allocation and free: reading
    // them refreshes nothing.
    uint64_t allocated = 0, freed = 0;
    size_t len = sizeof allocated;
    if (mallctl("thread.allocated", &allocated, &len, nullptr, 0) != 0) return 0;
    len = sizeof freed;
    if (mallctl("thread.deallocated", &freed, &len, nullptr, 0) != 0) return 0;
    return allocated > freed ? allocated - freed : 0;
#elif defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    const struct mallinfo2 m = mallinfo2();
    // uordblks: in-use bytes of the main heap and arenas; hblkhd: mmap'd blocks.
    return static_cast<uint64_t>(m.uordblks) + static_cast<uint64_t>(m.hblkhd);
#else
    return 0;
#endif
}

void release_free_heap() {
#if PCAPLENS_JEMALLOC
    // jemalloc keeps freed pages resident for its decay time (10 s): right
    // after the memory cap has shed connections that would leave the
    // process well above the cap (request-flood: 830 MiB resident for a
    // 512 MiB cap). Purging all arenas now returns them.
    (void)mallctl("arena." PCAPLENS_STRINGIFY(MALLCTL_ARENAS_ALL) ".purge", nullptr, nullptr, nullptr, 0);
#endif
}

std::string heap_allocator_name() {
#if PCAPLENS_JEMALLOC
    const char* version = nullptr;
    size_t len = sizeof version;
    std::string name = "jemalloc";
    if (mallctl("version", &version, &len, nullptr, 0) == 0 && version != nullptr) name += std::string(" ") + version;
    // Which page policy is in force (MALLOC_CONF may have changed it).
    const char* thp = nullptr;
    len = sizeof thp;
    if (mallctl("opt.thp", &thp, &len, nullptr, 0) == 0 && thp != nullptr) name += std::string(", transparent huge pages: ") + thp;
    return name;
#else
    return "system malloc";
#endif
}

}  // namespace pcaplens
