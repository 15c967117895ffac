// Heap in use, for the memory cap (AnalysisConfig::max_memory_bytes).
//
// Measured rather than estimated: every stage (flow table, reassembly
// buffers, HTTP state, reports waiting to be written) allocates through the
// C library, so its own count bounds them all without each keeping books.
// glibc's mallinfo2 walks the arenas' free lists (up to ~100 us on a
// fragmented heap), so the pipeline calls it only after every 1024 new
// connections or 65536 packets (AnalysisConfig::memory_check_*).
#include <malloc.h>

#include "pcaplens/pipeline.hpp"

namespace pcaplens {

uint64_t heap_in_use_bytes() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    const struct mallinfo2 m = mallinfo2();
    // uordblks: in-use bytes of the main heap and arenas; hblkhd: mmap'd blocks.
    return static_cast<uint64_t>(m.uordblks) + static_cast<uint64_t>(m.hblkhd);
#else
    return 0;
#endif
}

}  // namespace pcaplens
