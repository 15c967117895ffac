// Internal: the flow table's containers, sized for the per-packet path.
//  - FlowIndex: open-addressing hash index (linear probing, backward-shift
//    deletion) from a flow key to the object that owns it. Each slot holds
//    the full 64-bit hash next to the pointer, so a probe touches one cache
//    line of slots and dereferences an object only on a hash match.
//  - IntrusiveList: doubly linked list threaded through the objects
//    themselves (LRU order); touching a connection is four pointer writes,
//    no node allocation.
// Both are templates over the element type so they can be tested alone.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pcaplens {

// Backward-shift deletion in a linear-probing table of 2^n slots: empties
// slot `hole`, moving later members of its probe run into the hole unless
// their home slot lies in (hole, j]. No tombstone markers, so probe runs
// never lengthen with churn. `empty(slot)` and `home(slot)` read a slot.
template <class Slot, class Empty, class Home>
void backward_shift_erase(std::vector<Slot>& slots, size_t mask, size_t hole, Empty empty, Home home) {
    for (size_t j = (hole + 1) & mask; !empty(slots[j]); j = (j + 1) & mask) {
        const size_t h = home(slots[j]) & mask;
        const bool stays = (hole <= j) ? (hole < h && h <= j) : (hole < h || h <= j);
        if (!stays) {
            slots[hole] = slots[j];
            hole = j;
        }
    }
    slots[hole] = Slot{};
}

// T has a `key` member comparable with ==.
template <class T>
class FlowIndex {
public:
    explicit FlowIndex(size_t initial_capacity = 1024) { rehash(round_up(initial_capacity)); }

    template <class Key>
    T* find(const Key& key, uint64_t hash) const {
        for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.item == nullptr) return nullptr;
            if (s.hash == hash && s.item->key == key) return s.item;
        }
    }

    // Cache hints: the home slot of `hash`, and the first item whose stored
    // hash matches (without comparing keys: the item may be another flow's,
    // which only makes the hint useless). Neither dereferences an item.
    void prefetch(uint64_t hash) const { __builtin_prefetch(&slots_[hash & mask_]); }
    T* peek(uint64_t hash) const {
        for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.item == nullptr || s.hash == hash) return s.item;
        }
    }

    // `item` must not be in the index already (its key not present).
    void insert(T* item, uint64_t hash) {
        if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);  // load factor <= 1/2
        place(item, hash);
        ++size_;
    }

    // Removes `item` (inserted with `hash`); a no-op when absent.
    void erase(const T* item, uint64_t hash) {
        size_t i = hash & mask_;
        for (;; i = (i + 1) & mask_) {
            if (slots_[i].item == nullptr) return;
            if (slots_[i].item == item) break;
        }
        backward_shift_erase(slots_, mask_, i, [](const Slot& s) { return s.item == nullptr; }, [](const Slot& s) { return s.hash; });
        --size_;
    }

    size_t size() const { return size_; }
    size_t capacity() const { return slots_.size(); }

    // Calls f(item) for every item in slot order: a sequential walk of the
    // slots that does not touch the items. `f` must not insert or erase.
    template <class F>
    void for_each(F&& f) const {
        for (const Slot& s : slots_)
            if (s.item != nullptr) f(s.item);
    }
    // Forgets every item, keeping the capacity.
    void clear() {
        std::fill(slots_.begin(), slots_.end(), Slot{});
        size_ = 0;
    }

private:
    struct Slot {
        uint64_t hash = 0;
        T* item = nullptr;
    };

    static size_t round_up(size_t n) {
        size_t c = 16;
        while (c < n) c *= 2;
        return c;
    }
    void place(T* item, uint64_t hash) {
        size_t i = hash & mask_;
        while (slots_[i].item != nullptr) i = (i + 1) & mask_;
        slots_[i] = Slot{hash, item};
    }
    void rehash(size_t capacity) {
        std::vector<Slot> old(capacity);
        old.swap(slots_);
        mask_ = capacity - 1;
        for (const Slot& s : old)
            if (s.item != nullptr) place(s.item, s.hash);
    }

    std::vector<Slot> slots_;
    size_t mask_ = 0;
    size_t size_ = 0;
};

// T has `T* lru_prev` and `T* lru_next` members, null when unlinked.
template <class T>
class IntrusiveList {
public:
    bool empty() const { return head_ == nullptr; }
    T* front() const { return head_; }
    size_t size() const { return size_; }

    void push_back(T* x) {
        x->lru_prev = tail_;
        x->lru_next = nullptr;
        if (tail_ != nullptr) tail_->lru_next = x;
        else head_ = x;
        tail_ = x;
        ++size_;
    }
    void remove(T* x) {
        if (x->lru_prev != nullptr) x->lru_prev->lru_next = x->lru_next;
        else head_ = x->lru_next;
        if (x->lru_next != nullptr) x->lru_next->lru_prev = x->lru_prev;
        else tail_ = x->lru_prev;
        x->lru_prev = x->lru_next = nullptr;
        --size_;
    }
    // Forgets every element at once; their links are left as they are (for
    // when none of them is listed again).
    void clear() {
        head_ = tail_ = nullptr;
        size_ = 0;
    }
    // Walks from the front; `f` must not unlink anything.
    template <class F>
    void for_each(F&& f) const {
        for (T* x = head_; x != nullptr; x = x->lru_next) f(x);
    }

private:
    T* head_ = nullptr;
    T* tail_ = nullptr;
    size_t size_ = 0;
};

}  // namespace pcaplens
