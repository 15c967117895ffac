// TIME_WAIT tombstones: dense blocks plus an open-addressing index (see the header).
#include "time_wait_table.hpp"

#include <algorithm>

namespace pcaplens {

namespace {
constexpr size_t kMinIndex = 128;
// Positions are 32-bit in the index: far beyond any cap in use.
constexpr size_t kMaxEntries = size_t{UINT32_MAX} - 1;
}  // namespace

TimeWaitTable::TimeWaitTable(size_t max_entries, int64_t sweep_interval_ns, uint64_t seed)
    : max_entries_(std::min(max_entries, kMaxEntries)), sweep_interval_ns_(std::max<int64_t>(sweep_interval_ns, 1)),
      seed_(seed), index_(kMinIndex), mask_(kMinIndex - 1) {}

size_t TimeWaitTable::find_slot(const ConnKey& key, uint64_t hash) const {
    const auto h32 = static_cast<uint32_t>(hash);
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
        const Slot& s = index_[i];
        if (s.pos == kEmpty) return SIZE_MAX;
        if (s.hash == h32 && at(s.pos).key == key) return i;
    }
}

size_t TimeWaitTable::slot_of_pos(uint32_t pos) const {
    for (size_t i = hash_key(at(pos).key, seed_) & mask_;; i = (i + 1) & mask_)
        if (index_[i].pos == pos) return i;
}

void TimeWaitTable::index_place(uint32_t hash, uint32_t pos) {
    size_t i = hash & mask_;
    while (index_[i].pos != kEmpty) i = (i + 1) & mask_;
    index_[i] = Slot{hash, pos};
}

// Backward-shift deletion, as in FlowIndex: later members of the probe run
// move into the hole unless their home lies in (hole, j].
void TimeWaitTable::erase_slot(size_t i) {
    size_t hole = i;
    for (size_t j = (hole + 1) & mask_; index_[j].pos != kEmpty; j = (j + 1) & mask_) {
        const size_t home = index_[j].hash & mask_;
        const bool stays = (hole <= j) ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            index_[hole] = index_[j];
            hole = j;
        }
    }
    index_[hole] = Slot{};
}

// The slots' 32 bits of hash are all a home needs while the index has at
// most 2^32 slots (it has at most 2x max_entries).
void TimeWaitTable::grow_index() {
    std::vector<Slot> old(index_.size() * 2);
    old.swap(index_);
    mask_ = index_.size() - 1;
    for (const Slot& s : old)
        if (s.pos != kEmpty) index_place(s.hash, s.pos);
}

void TimeWaitTable::remove_at(size_t slot) {
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

void TimeWaitTable::sweep(int64_t now_ns) {
    next_sweep_ = now_ns > INT64_MAX - sweep_interval_ns_ ? INT64_MAX : now_ns + sweep_interval_ns_;
    for (size_t pos = 0; pos < size_;) {
        const Entry& e = at(pos);
        if (e.end_ns > now_ns) {
            ++pos;
            continue;
        }
        remove_at(find_slot(e.key, hash_key(e.key, seed_)));   // the last entry moves to pos: look again
    }
}

void TimeWaitTable::expire(int64_t now_ns) {
    now_ = std::max(now_, now_ns);
    if (now_ >= next_sweep_ && size_ > 0) sweep(now_);
}

void TimeWaitTable::remember(const ConnKey& key, uint64_t hash, const Tombstone& t) {
    const size_t slot = find_slot(key, hash);
    if (slot == SIZE_MAX) {
        if (size_ >= max_entries_) return;   // (no sweep out of turn: a full table of live ones would sweep at every close)
        if ((size_ + 1) * 2 > index_.size()) grow_index();   // load factor <= 1/2
        if (size_ == blocks_.size() * kBlock) blocks_.push_back(std::make_unique<Entry[]>(kBlock));
        index_place(static_cast<uint32_t>(hash), static_cast<uint32_t>(size_));
        at(size_).key = key;
        ++size_;
    }
    Entry& e = at(slot == SIZE_MAX ? size_ - 1 : index_[slot].pos);
    e.end_ns = t.end_ns;
    e.connection_side = t.connection << 1 | static_cast<uint64_t>(t.side == Role::server);
}

std::optional<TimeWaitTable::Tombstone> TimeWaitTable::take(const ConnKey& key, uint64_t hash) {
    const size_t slot = find_slot(key, hash);
    if (slot == SIZE_MAX) return std::nullopt;
    const Entry& e = at(index_[slot].pos);
    const Tombstone t{e.connection_side >> 1, (e.connection_side & 1) != 0 ? Role::server : Role::client, e.end_ns};
    remove_at(slot);
    return t;
}

}  // namespace pcaplens
