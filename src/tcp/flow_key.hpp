// Internal: a segment's flow key and the flow table's hash of it.
#pragma once
#include <cstdint>

#include "pcaplens/tcp/analyzer.hpp"

namespace pcaplens {

// The flow hash, keyed per table (`seed`) so a crafted capture cannot aim
// many flows at one probe run: wyhash's multiply-and-fold (the halves of the
// 128-bit product xored) on the address words, then on the ports, then one
// xorshift-multiply-xorshift round. The index takes the low bits, and the
// last fold alone left them a linear function of the client port: with
// consecutive ports (a load generator, the bench trace) their home slots
// advanced by a seed-dependent step, and a step with a large power of two in
// it piled them up -- 29 probes a lookup at load 0.34 for the worst of 512
// seeds in tests/unit/test_flow_index.cpp, 2.5 for a seed the 100 MB bench
// trace met (random keys: 1.26). With the round: at most 1.30 in that
// test, and 1.39 on average, 1.54 at most over 30 seeds on the bench trace.
__extension__ typedef unsigned __int128 FlowHashWide;  // GCC/Clang; __extension__: not ISO C++ (-Wpedantic)
inline uint64_t mum(uint64_t a, uint64_t b) {
    const FlowHashWide r = static_cast<FlowHashWide>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
inline uint64_t hash_key(const ConnKey& k, uint64_t seed) {
    const uint64_t h = mum(k.a0 ^ seed, k.b0 ^ 0xe7037ed1a0b428dbULL) ^ mum(k.a1 ^ 0x8ebc6af09c88c6e3ULL, k.b1 ^ seed);
    uint64_t x = mum(h ^ k.ports_family, seed ^ 0x589965cc75374cc3ULL);
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    return x ^ (x >> 32);
}
ConnKey make_key(const TcpSegment& s);

}  // namespace pcaplens
