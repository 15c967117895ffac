// Internal: TIME_WAIT tombstones -- what a connection that ended in
// TIME_WAIT leaves behind, so that a new SYN on its 4-tuple within 2 MSL is
// reported as reuse (time_wait_reuse).
//
// Compact, because on a busy trace tombstones outnumber live connections:
// one lives 2 MSL (60 s by default), a closed connection lingers seconds.
// The entries are packed densely in fixed blocks (a removal moves the last
// entry into the hole), found through an open-addressing index of 8-byte
// slots: 56 bytes per tombstone plus 16-32 of index, no allocation per
// close and no copy of the whole store as it grows (a heap node in a
// pointer index with a linked expiry list took ~140 bytes). Keys are
// exact, so no two flows can ever be confused.
//
// Expiry is lazy: a tombstone past its end is harmless (the reuse check
// compares the SYN's time with the end), so instead of an expiry order the
// table sweeps out everything ended once per `sweep_interval` of capture
// time (the flow table uses 2 MSL / 8: at most an eighth more entries than
// exact expiry, and each entry is looked at ~8 times in its life). At most
// `max_entries` are kept; when that many are, a new one is refused until
// the next sweep makes room.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "flow_key.hpp"
#include "pcaplens/tcp/connection.hpp"

namespace pcaplens {

class TimeWaitTable {
public:
    struct Tombstone {
        uint64_t connection = 0;   // the connection that left it
        Role side = Role::client;  // its endpoint that was in TIME_WAIT
        int64_t end_ns = 0;        // when its 2 MSL ends
    };

    // `seed`: the flow table's hash seed; `hash` arguments are
    // hash_key(key, seed), which the caller has at hand already.
    TimeWaitTable(size_t max_entries, int64_t sweep_interval_ns, uint64_t seed);

    // Remembers the key's tombstone, replacing the one it had. With
    // max_entries kept after a sweep, a new key is not kept.
    void remember(const ConnKey& key, uint64_t hash, const Tombstone& t);
    // Removes and returns the key's tombstone, if it has one (possibly one
    // already ended: the caller compares end_ns).
    std::optional<Tombstone> take(const ConnKey& key, uint64_t hash);
    // The capture's clock (never going back): sweeps when due.
    void expire(int64_t now_ns);

    size_t size() const { return size_; }
    // For tests: entry blocks allocated (kBlock entries each).
    size_t blocks() const { return blocks_.size(); }
    static constexpr size_t kBlock = 1024;

private:
    struct Entry {
        ConnKey key;
        int64_t end_ns = 0;
        uint64_t connection_side = 0;  // connection << 1 | side: 56 bytes, not 64
    };
    struct Slot {
        uint32_t hash = 0;             // low bits of the key's hash
        uint32_t pos = kEmpty;         // the entry's position
    };
    static constexpr uint32_t kEmpty = UINT32_MAX;

    Entry& at(size_t pos) const { return blocks_[pos / kBlock][pos % kBlock]; }
    size_t find_slot(const ConnKey& key, uint64_t hash) const;  // index of key's slot, or SIZE_MAX
    size_t slot_of_pos(uint32_t pos) const;                      // the slot pointing at pos
    void erase_slot(size_t i);                                   // backward-shift deletion
    void index_place(uint32_t hash, uint32_t pos);
    void grow_index();
    void remove_at(size_t slot);                                 // entry and slot; the last entry fills the hole
    void sweep(int64_t now_ns);

    size_t max_entries_;
    int64_t sweep_interval_ns_;
    uint64_t seed_;
    int64_t now_ = INT64_MIN;
    int64_t next_sweep_ = INT64_MIN;
    std::vector<std::unique_ptr<Entry[]>> blocks_;
    size_t size_ = 0;
    std::vector<Slot> index_;
    size_t mask_ = 0;
};

}  // namespace pcaplens
