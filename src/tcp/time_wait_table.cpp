// TIME_WAIT tombstones: dense blocks plus an open-addressing index (see the header).
#include "time_wait_table.hpp"

#include <algorithm>

#include "flow_index.hpp"

namespace pcaplens {

namespace {
constexpr size_t kMinIndex = 128;
// Positions and homes are 32-bit in the index, so it may not pass 2^32
// slots: at load 3/4 that is 3 x 2^30 entries, far beyond any cap in use.
constexpr size_t kMaxEntries = size_t{3} << 30;
}  // namespace

template <class Codec>
TombstoneStore<Codec>::TombstoneStore(uint64_t seed) : seed_(seed), index_(kMinIndex), mask_(kMinIndex - 1) {}

template <class Codec>
size_t TombstoneStore<Codec>::find_slot(const Stored& key, uint64_t hash) const {
    const auto h32 = static_cast<uint32_t>(hash);
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
        const Slot& s = index_[i];
        if (s.pos == kEmpty) return SIZE_MAX;
        if (s.hash == h32 && at(s.pos).key == key) return i;
    }
}

template <class Codec>
size_t TombstoneStore<Codec>::slot_of_pos(uint32_t pos) const {
    for (size_t i = hash_of(at(pos).key) & mask_;; i = (i + 1) & mask_)
        if (index_[i].pos == pos) return i;
}

template <class Codec>
void TombstoneStore<Codec>::index_place(uint32_t hash, uint32_t pos) {
    size_t i = hash & mask_;
    while (index_[i].pos != kEmpty) i = (i + 1) & mask_;
    index_[i] = Slot{hash, pos};
}

template <class Codec>
void TombstoneStore<Codec>::erase_slot(size_t i) {
    backward_shift_erase(index_, mask_, i, [](const Slot& s) { return s.pos == kEmpty; }, [](const Slot& s) { return size_t{s.hash}; });
}

// The slots' 32 bits of hash are all a home needs while the index has at
// most 2^32 slots (it has under 2x the entries).
template <class Codec>
void TombstoneStore<Codec>::grow_index() {
    std::vector<Slot> old(index_.size() * 2);
    old.swap(index_);
    mask_ = index_.size() - 1;
    for (const Slot& s : old)
        if (s.pos != kEmpty) index_place(s.hash, s.pos);
}

template <class Codec>
void TombstoneStore<Codec>::remove_at(size_t slot) {
    const uint32_t pos = index_[slot].pos;
    erase_slot(slot);
    const auto last = static_cast<uint32_t>(size_ - 1);
    if (pos != last) {
        index_[slot_of_pos(last)].pos = pos;
        at(pos) = at(last);
    }
    --size_;
    // One spare block beyond those in use, so a size going back and forth
    // across a block boundary does not allocate each time.
    while (blocks_.size() > (size_ + kBlock - 1) / kBlock + 1) blocks_.pop_back();
}

template <class Codec>
void TombstoneStore<Codec>::sweep(int64_t now_ns) {
    for (size_t pos = 0; pos < size_;) {
        const Entry& e = at(pos);
        if (e.end_ns > now_ns) {
            ++pos;
            continue;
        }
        remove_at(slot_of_pos(static_cast<uint32_t>(pos)));   // the last entry moves to pos: look again
    }
}

template <class Codec>
void TombstoneStore<Codec>::remember(const Stored& key, uint64_t hash, const Tombstone& t, bool can_add) {
    size_t pos;
    if (const size_t slot = find_slot(key, hash); slot != SIZE_MAX) {
        pos = index_[slot].pos;
    } else {
        if (!can_add || size_ >= kMaxEntries) return;
        if ((size_ + 1) * 4 > index_.size() * 3) grow_index();   // load factor <= 3/4
        if (size_ == blocks_.size() * kBlock) blocks_.push_back(std::make_unique<Entry[]>(kBlock));
        pos = size_++;
        index_place(static_cast<uint32_t>(hash), static_cast<uint32_t>(pos));
        at(pos).key = key;
    }
    Entry& e = at(pos);
    e.end_ns = t.end_ns;
    e.connection_side = t.connection << 1 | static_cast<uint64_t>(t.side == Role::server);
}

template <class Codec>
std::optional<Tombstone> TombstoneStore<Codec>::take(const Stored& key, uint64_t hash) {
    const size_t slot = find_slot(key, hash);
    if (slot == SIZE_MAX) return std::nullopt;
    const Entry& e = at(index_[slot].pos);
    const Tombstone t{e.connection_side >> 1, (e.connection_side & 1) != 0 ? Role::server : Role::client, e.end_ns};
    remove_at(slot);
    return t;
}

template class TombstoneStore<NarrowKeyCodec>;
template class TombstoneStore<WideKeyCodec>;

TimeWaitTable::TimeWaitTable(size_t max_entries, int64_t sweep_interval_ns, uint64_t seed)
    : max_entries_(max_entries), sweep_interval_ns_(std::max<int64_t>(sweep_interval_ns, 1)), narrow_(seed), wide_(seed) {}

void TimeWaitTable::remember(const ConnKey& key, uint64_t hash, const Tombstone& t) {
    // Full: ended ones may be waiting for the next sweep; one sweep out of
    // turn per interval makes room for them (not one per close while full).
    if (size() >= max_entries_ && now_ >= next_forced_sweep_) sweep(next_forced_sweep_);
    const bool can_add = size() < max_entries_;
    if (NarrowKeyCodec::fits(key)) narrow_.remember(NarrowKeyCodec::pack(key), hash, t, can_add);
    else wide_.remember(key, hash, t, can_add);
}

std::optional<Tombstone> TimeWaitTable::take(const ConnKey& key, uint64_t hash) {
    return NarrowKeyCodec::fits(key) ? narrow_.take(NarrowKeyCodec::pack(key), hash) : wide_.take(key, hash);
}

void TimeWaitTable::expire(int64_t now_ns) {
    now_ = std::max(now_, now_ns);
    if (now_ >= next_sweep_ && size() > 0) sweep(next_sweep_);
}

// Both stores, at the clock; `next_due` (the regular or the out-of-turn
// schedule) moves one interval on.
void TimeWaitTable::sweep(int64_t& next_due) {
    next_due = now_ > INT64_MAX - sweep_interval_ns_ ? INT64_MAX : now_ + sweep_interval_ns_;
    narrow_.sweep(now_);
    wide_.sweep(now_);
}

}  // namespace pcaplens
