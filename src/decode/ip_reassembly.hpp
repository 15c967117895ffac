// Bounded IPv4/IPv6 fragment reassembly (internal to the decoder).
#pragma once
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "pcaplens/decode/decoder.hpp"

namespace pcaplens {

struct FragmentKey {
    IpAddress src, dst;
    uint32_t id = 0;
    uint8_t proto = 0;
    bool operator==(const FragmentKey&) const = default;
};

struct FragmentKeyHash {
    size_t operator()(const FragmentKey& k) const noexcept;
};

class IpReassembler {
public:
    IpReassembler(const DecoderConfig& cfg, DecodeCounters& counters) : cfg_(cfg), counters_(counters) {}
    // Adds a fragment carrying L4 bytes [offset, offset+len); `last` when the
    // more-fragments bit is clear. Returns true and fills `out` with the whole
    // L4 payload when the datagram is complete.
    bool add(const FragmentKey& key, int64_t ts, uint32_t offset, const uint8_t* data, uint32_t len, bool last,
             std::vector<uint8_t>& out);
    uint64_t pending() const { return table_.size(); }

private:
    struct Datagram {
        int64_t first_ts = 0;
        uint64_t generation = 0;
        std::vector<uint8_t> bytes;
        std::vector<std::pair<uint32_t, uint32_t>> have;  // sorted, merged [begin, end)
        uint32_t total = 0;                                // known once the last fragment arrived
        bool total_known = false;
    };
    void expire(int64_t now);
    void drop(const FragmentKey& key, uint64_t& counter);

    const DecoderConfig& cfg_;
    DecodeCounters& counters_;
    std::unordered_map<FragmentKey, Datagram, FragmentKeyHash> table_;
    std::deque<std::pair<FragmentKey, uint64_t>> order_;  // creation order, for expiry and cap eviction
    uint64_t next_generation_ = 0;
    uint64_t buffered_ = 0;
};

}  // namespace pcaplens
