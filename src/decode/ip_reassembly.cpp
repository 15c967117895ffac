#include "ip_reassembly.hpp"

#include <algorithm>
#include <cstring>

namespace pcaplens {

size_t FragmentKeyHash::operator()(const FragmentKey& k) const noexcept {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&h](const uint8_t* p, size_t n) {
        for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    };
    mix(k.src.bytes.data(), 16);
    mix(k.dst.bytes.data(), 16);
    mix(reinterpret_cast<const uint8_t*>(&k.id), sizeof k.id);
    mix(&k.proto, 1);
    return static_cast<size_t>(h);
}

void IpReassembler::drop(const FragmentKey& key, uint64_t& counter) {
    auto it = table_.find(key);
    if (it == table_.end()) return;
    buffered_ -= it->second.bytes.size();
    table_.erase(it);
    ++counter;
}

void IpReassembler::expire(int64_t now) {
    while (!order_.empty()) {
        auto it = table_.find(order_.front().first);
        if (it == table_.end() || it->second.generation != order_.front().second) {
            order_.pop_front();  // already completed or dropped
            continue;
        }
        if (now - it->second.first_ts < cfg_.fragment_timeout_ns) break;
        FragmentKey k = order_.front().first;
        order_.pop_front();
        drop(k, counters_.fragments_expired);
    }
}

bool IpReassembler::add(const FragmentKey& key, int64_t ts, uint32_t offset, const uint8_t* data, uint32_t len,
                        bool last, std::vector<uint8_t>& out) {
    ++counters_.fragments;
    expire(ts);
    const uint64_t end64 = uint64_t{offset} + len;
    if (end64 > 65535) {  // cannot belong to a real datagram: the datagram is given up
        if (table_.count(key) != 0) drop(key, counters_.fragments_invalid);
        else ++counters_.fragments_invalid;
        return false;
    }
    const uint32_t end = static_cast<uint32_t>(end64);
    auto it = table_.find(key);
    if (it == table_.end()) {
        // Make room: the oldest datagram goes when a cap would be exceeded.
        while (!order_.empty() && (table_.size() >= cfg_.max_fragment_datagrams || buffered_ + end > cfg_.max_fragment_bytes)) {
            FragmentKey k = order_.front().first;
            auto old = table_.find(k);
            bool live = old != table_.end() && old->second.generation == order_.front().second;
            order_.pop_front();
            if (live) drop(k, counters_.fragments_dropped_cap);
        }
        if (buffered_ + end > cfg_.max_fragment_bytes || cfg_.max_fragment_datagrams == 0) {
            ++counters_.fragments_dropped_cap;
            return false;
        }
        Datagram d;
        d.first_ts = ts;
        d.generation = next_generation_++;
        it = table_.emplace(key, std::move(d)).first;
        order_.emplace_back(key, it->second.generation);
    }
    Datagram& d = it->second;
    if (last) {
        if (d.total_known && d.total != end) {
            drop(key, counters_.fragments_invalid);  // inconsistent ends: give up on it
            return false;
        }
        d.total = end;
        d.total_known = true;
    }
    if (d.bytes.size() < end) {
        if (buffered_ + (end - d.bytes.size()) > cfg_.max_fragment_bytes) {
            drop(key, counters_.fragments_dropped_cap);
            return false;
        }
        buffered_ += end - d.bytes.size();
        d.bytes.resize(end);
    }
    // First copy wins: only fill the holes, and count differing overlaps.
    uint32_t pos = offset;
    bool differed = false;
    for (const auto& [b, e] : d.have) {
        if (e <= pos || b >= end) continue;
        if (b > pos) std::memcpy(d.bytes.data() + pos, data + (pos - offset), b - pos);
        uint32_t ob = std::max(b, pos), oe = std::min(e, end);
        if (std::memcmp(d.bytes.data() + ob, data + (ob - offset), oe - ob) != 0) differed = true;
        pos = std::max(pos, oe);
    }
    if (pos < end) std::memcpy(d.bytes.data() + pos, data + (pos - offset), end - pos);
    if (differed) ++counters_.fragment_overlaps;
    d.have.emplace_back(offset, end);
    std::sort(d.have.begin(), d.have.end());
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (const auto& r : d.have) {
        if (!merged.empty() && r.first <= merged.back().second) merged.back().second = std::max(merged.back().second, r.second);
        else merged.push_back(r);
    }
    d.have = std::move(merged);
    if (d.total_known && d.have.size() == 1 && d.have[0].first == 0 && d.have[0].second >= d.total) {
        out.assign(d.bytes.begin(), d.bytes.begin() + d.total);
        buffered_ -= d.bytes.size();
        table_.erase(it);
        ++counters_.reassembled;
        return true;
    }
    return false;
}

}  // namespace pcaplens
