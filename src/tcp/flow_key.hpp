// Internal: a segment's flow key and the flow table's hash of it.
#pragma once
#include <cstdint>

#include "pcaplens/tcp/analyzer.hpp"

namespace pcaplens {

// The flow hash, keyed per table (`seed`) so a crafted capture cannot aim
// many flows at one probe run: wyhash's multiply-and-fold (the halves of the
// 128-bit product xored) on the address words, then on the ports. Three
// multiplies per packet instead of four rounds of murmur3's finalizer.
__extension__ typedef unsigned __int128 FlowHashWide;  // GCC/Clang; __extension__: not ISO C++ (-Wpedantic)
inline uint64_t mum(uint64_t a, uint64_t b) {
    const FlowHashWide r = static_cast<FlowHashWide>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
inline uint64_t hash_key(const ConnKey& k, uint64_t seed) {
    const uint64_t h = mum(k.a0 ^ seed, k.b0 ^ 0xe7037ed1a0b428dbULL) ^ mum(k.a1 ^ 0x8ebc6af09c88c6e3ULL, k.b1 ^ seed);
    return mum(h ^ k.ports_family, seed ^ 0x589965cc75374cc3ULL);
}
ConnKey make_key(const TcpSegment& s);

}  // namespace pcaplens
