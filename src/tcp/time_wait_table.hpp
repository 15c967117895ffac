// Internal: TIME_WAIT tombstones -- what a connection that ended in
// TIME_WAIT leaves behind, so that a new SYN on its 4-tuple within 2 MSL is
// reported as reuse (time_wait_reuse).
//
// Compact, because on a busy trace tombstones outnumber live connections:
// one lives 2 MSL (60 s by default), a closed connection lingers seconds.
// The entries are packed densely in fixed blocks (a removal moves the last
// entry into the hole), found through an open-addressing index of 8-byte
// slots (load <= 3/4): 32 bytes per IPv4 tombstone, 56 per IPv6 one, plus
// 11-21 of index; no allocation per close and no copy of the whole store as
// it grows (a heap node in a pointer index with a linked expiry list took
// ~140 bytes). Keys are exact -- an IPv4 tuple is 16 bytes without loss --
// so no two flows can ever be confused.
//
// Expiry is lazy: a tombstone past its end is harmless (the reuse check
// compares the SYN's time with the end), so instead of an expiry order the
// table sweeps out everything ended once per `sweep_interval` of capture
// time (the flow table uses 2 MSL / 8: at most an eighth more entries than
// exact expiry, and each entry is looked at ~8 times in its life). At most
// `max_entries` are kept; when that many are, the table sweeps out of turn
// (at most once per interval) and, still full, refuses a new one.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "flow_key.hpp"
#include "pcaplens/tcp/connection.hpp"

namespace pcaplens {

// A tuple's tombstone: who left it and until when.
struct Tombstone {
    uint64_t connection = 0;   // the connection that left it
    Role side = Role::client;  // its endpoint that was in TIME_WAIT
    int64_t end_ns = 0;        // when its 2 MSL ends
};

// The store, for one way of keeping keys exactly (see TimeWaitTable).
// `Codec` has `Stored pack(const ConnKey&)` and `ConnKey unpack(const Stored&)`.
template <class Codec>
class TombstoneStore {
public:
    using Stored = decltype(Codec::pack(ConnKey{}));
    explicit TombstoneStore(uint64_t seed);
    // `can_add`: whether a key without a tombstone may get one (the cap is
    // the two stores' together).
    void remember(const Stored& key, uint64_t hash, const Tombstone& t, bool can_add);
    std::optional<Tombstone> take(const Stored& key, uint64_t hash);
    void sweep(int64_t now_ns);                                 // forgets those ended at now_ns
    size_t size() const { return size_; }
    size_t blocks() const { return blocks_.size(); }
    static constexpr size_t kBlock = 1024;

private:
    struct Entry {
        Stored key;
        int64_t end_ns = 0;
        uint64_t connection_side = 0;  // connection << 1 | side: no padding byte to a wider entry
    };
    struct Slot {
        uint32_t hash = 0;             // low bits of the key's hash
        uint32_t pos = kEmpty;         // the entry's position
    };
    static constexpr uint32_t kEmpty = UINT32_MAX;

    Entry& at(size_t pos) const { return blocks_[pos / kBlock][pos % kBlock]; }
    uint64_t hash_of(const Stored& key) const { return hash_key(Codec::unpack(key), seed_); }
    size_t find_slot(const Stored& key, uint64_t hash) const;  // index of key's slot, or SIZE_MAX
    size_t slot_of_pos(uint32_t pos) const;                     // the slot pointing at pos
    void erase_slot(size_t i);                                  // backward-shift deletion
    void index_place(uint32_t hash, uint32_t pos);
    void grow_index();
    void remove_at(size_t slot);                                // entry and slot; the last entry fills the hole

    uint64_t seed_;
    std::vector<std::unique_ptr<Entry[]>> blocks_;
    size_t size_ = 0;
    std::vector<Slot> index_;
    size_t mask_ = 0;
};

// Keys whose addresses both fit in 32 bits (IPv4), in 16 bytes, exactly.
struct NarrowKeyCodec {
    struct Key {
        uint64_t addrs = 0;            // a0 << 32 | b0
        uint64_t ports_family = 0;
        bool operator==(const Key&) const = default;
    };
    static bool fits(const ConnKey& k) { return k.a1 == 0 && k.b1 == 0 && (k.a0 >> 32) == 0 && (k.b0 >> 32) == 0; }
    static Key pack(const ConnKey& k) { return Key{k.a0 << 32 | k.b0, k.ports_family}; }
    static ConnKey unpack(const Key& n) {
        ConnKey k;
        k.a0 = n.addrs >> 32;
        k.b0 = n.addrs & UINT32_MAX;
        k.ports_family = n.ports_family;
        return k;
    }
};
struct WideKeyCodec {
    static ConnKey pack(const ConnKey& k) { return k; }
    static ConnKey unpack(const ConnKey& k) { return k; }
};

class TimeWaitTable {
public:
    using Tombstone = pcaplens::Tombstone;

    // `seed`: the flow table's hash seed; `hash` arguments are
    // hash_key(key, seed), which the caller has at hand already.
    // `max_entries` bounds IPv4 and IPv6 tuples together.
    TimeWaitTable(size_t max_entries, int64_t sweep_interval_ns, uint64_t seed);

    // Remembers the key's tombstone, replacing the one it had. With
    // max_entries kept, a new key is not kept.
    void remember(const ConnKey& key, uint64_t hash, const Tombstone& t);
    // Removes and returns the key's tombstone, if it has one (possibly one
    // already ended: the caller compares end_ns).
    std::optional<Tombstone> take(const ConnKey& key, uint64_t hash);
    // The capture's clock (never going back): sweeps when due.
    void expire(int64_t now_ns);

    size_t size() const { return narrow_.size() + wide_.size(); }
    // For tests: entry blocks allocated (kBlock entries each), both stores.
    size_t blocks() const { return narrow_.blocks() + wide_.blocks(); }
    static constexpr size_t kBlock = TombstoneStore<WideKeyCodec>::kBlock;

private:
    void sweep(int64_t& next_due);

    size_t max_entries_;
    int64_t sweep_interval_ns_;
    int64_t now_ = INT64_MIN;
    int64_t next_sweep_ = INT64_MIN;
    int64_t next_forced_sweep_ = INT64_MIN;   // when full (see remember)
    TombstoneStore<NarrowKeyCodec> narrow_;   // 32-byte entries
    TombstoneStore<WideKeyCodec> wide_;       // 56-byte entries
};

}  // namespace pcaplens
