// The flow table's containers (src/tcp/flow_index.hpp): the open-addressing
// index against std::unordered_map under random insert/find/erase, with a
// deliberately weak hash so probe runs collide, wrap around the end of the
// slot array and are repaired by backward-shift deletion; and the intrusive
// LRU list against std::list.
#include <doctest/doctest.h>

#include <algorithm>
#include <list>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

#include "tcp/flow_index.hpp"
#include "tcp/flow_key.hpp"

namespace {

struct Item {
    uint64_t key = 0;
    Item* lru_prev = nullptr;
    Item* lru_next = nullptr;
};

}  // namespace

TEST_CASE("FlowIndex matches std::unordered_map under random operations, with colliding hashes") {
    for (const uint64_t hash_bits : {uint64_t{3}, uint64_t{64}}) {
        CAPTURE(hash_bits);
        // hash_bits 3: only 8 distinct hashes, so long shared probe runs.
        auto hash_of = [&](uint64_t k) {
            const uint64_t h = k * 0x9E3779B97F4A7C15ULL;
            return hash_bits == 64 ? h : (h >> 61);
        };
        pcaplens::FlowIndex<Item> index(16);
        std::unordered_map<uint64_t, std::unique_ptr<Item>> ref;
        std::mt19937_64 rng(42);
        size_t max_capacity = 0;
        for (int op = 0; op < 20000; ++op) {
            const uint64_t k = rng() % 300;
            const uint64_t h = hash_of(k);
            Item* found = index.find(k, h);
            auto it = ref.find(k);
            REQUIRE((found != nullptr) == (it != ref.end()));
            if (found) CHECK(found == it->second.get());
            if (rng() % 3 != 0) {
                if (!found) {
                    auto item = std::make_unique<Item>();
                    item->key = k;
                    index.insert(item.get(), h);
                    ref.emplace(k, std::move(item));
                }
            } else if (found) {
                index.erase(found, h);
                ref.erase(it);
            }
            REQUIRE(index.size() == ref.size());
            max_capacity = std::max(max_capacity, index.capacity());
        }
        // Every member is still reachable, and nothing else is.
        for (uint64_t k = 0; k < 300; ++k) {
            Item* found = index.find(k, hash_of(k));
            auto it = ref.find(k);
            REQUIRE((found != nullptr) == (it != ref.end()));
        }
        CHECK(index.capacity() >= 2 * index.size());  // load factor kept <= 1/2
        CHECK(max_capacity <= 1024);                   // grew with the population (<= 300), not with operations
    }
}

TEST_CASE("FlowIndex: erase of an absent item and wrap-around at the end of the slots") {
    pcaplens::FlowIndex<Item> index(16);
    Item a{1}, b{2}, c{3}, absent{4};
    // All three hash to the last slot: the run wraps to slots 0 and 1.
    index.insert(&a, 15);
    index.insert(&b, 15);
    index.insert(&c, 15);
    index.erase(&absent, 15);
    CHECK(index.size() == 3);
    index.erase(&a, 15);  // hole at 15: b and c shift back across the wrap
    CHECK(index.find(uint64_t{2}, 15) == &b);
    CHECK(index.find(uint64_t{3}, 15) == &c);
    CHECK(index.find(uint64_t{1}, 15) == nullptr);
    index.erase(&b, 15);
    index.erase(&c, 15);
    CHECK(index.size() == 0);
    CHECK(index.find(uint64_t{3}, 15) == nullptr);
}

TEST_CASE("IntrusiveList keeps order like std::list under random push/remove") {
    std::vector<Item> items(50);
    pcaplens::IntrusiveList<Item> list;
    std::list<Item*> ref;
    std::vector<bool> linked(items.size(), false);
    std::mt19937 rng(7);
    for (int op = 0; op < 5000; ++op) {
        const size_t i = rng() % items.size();
        Item* x = &items[i];
        if (linked[i]) {
            list.remove(x);
            ref.remove(x);
            CHECK(x->lru_prev == nullptr);
            CHECK(x->lru_next == nullptr);
        }
        if (rng() % 4 != 0) {  // touch: move to the back
            list.push_back(x);
            ref.push_back(x);
            linked[i] = true;
        } else {
            linked[i] = false;
        }
        REQUIRE(list.size() == ref.size());
        REQUIRE(list.empty() == ref.empty());
        if (!ref.empty()) REQUIRE(list.front() == ref.front());
    }
    std::vector<Item*> walked;
    list.for_each([&](Item* x) { walked.push_back(x); });
    CHECK(walked == std::vector<Item*>(ref.begin(), ref.end()));
}

// The end of the input (TcpAnalyzer finishes every connection left) walks
// the index's slots instead of the LRU lists, then empties both at once.
TEST_CASE("FlowIndex::for_each visits each item once; clear() empties the index and a list, both reusable") {
    std::vector<Item> items(300);
    pcaplens::FlowIndex<Item> index(16);
    pcaplens::IntrusiveList<Item> list;
    auto hash_of = [](uint64_t k) { return (k * 0x9E3779B97F4A7C15ULL) >> 62; };   // 4 hashes: long probe runs
    for (size_t i = 0; i < items.size(); ++i) {
        items[i].key = i + 1;
        index.insert(&items[i], hash_of(items[i].key));
        list.push_back(&items[i]);
    }
    for (size_t i = 0; i < items.size(); i += 3) index.erase(&items[i], hash_of(items[i].key));   // a third gone
    std::vector<Item*> seen;
    index.for_each([&](Item* x) { seen.push_back(x); });
    std::sort(seen.begin(), seen.end());
    std::vector<Item*> want;
    for (size_t i = 0; i < items.size(); ++i)
        if (i % 3 != 0) want.push_back(&items[i]);
    CHECK(seen == want);
    CHECK(index.size() == want.size());

    const size_t capacity = index.capacity();
    index.clear();
    list.clear();
    CHECK(index.size() == 0);
    CHECK(index.capacity() == capacity);
    CHECK(list.empty());
    CHECK(list.size() == 0);
    size_t visits = 0;
    index.for_each([&](Item*) { ++visits; });
    list.for_each([&](Item*) { ++visits; });
    CHECK(visits == 0);
    for (const Item* x : want) CHECK(index.find(x->key, hash_of(x->key)) == nullptr);
    // Usable again: an item inserted after clear() is found, and only it.
    items[1].lru_prev = items[1].lru_next = nullptr;
    index.insert(&items[1], hash_of(items[1].key));
    list.push_back(&items[1]);
    CHECK(index.find(items[1].key, hash_of(items[1].key)) == &items[1]);
    CHECK(index.find(items[2].key, hash_of(items[2].key)) == nullptr);
    CHECK(list.front() == &items[1]);
    CHECK(list.size() == 1);
}

// The flow hash as the table uses it: its low bits pick the home slot. Keys
// as a load generator makes them -- one client address, consecutive
// ephemeral ports, a handful of servers on 80 and 8080, some over IPv6 (the
// bench generator's pattern) -- must spread over the slots like random ones
// for every seed shaped like the table's (a heap address times the golden
// ratio): linear probing at load ~0.34 averages ~1.26 probes for a present
// key. Without the final xorshift-multiply round the worst seed here
// averaged 29 probes.
TEST_CASE("flow hash: low bits spread structured keys for every seed") {
    std::vector<pcaplens::ConnKey> keys;
    for (uint64_t k = 0; k < 2800; ++k) {
        const uint64_t srv = k * 7 % 8, sport = 1024 + k, dport = srv == 7 ? 8080 : 80;
        pcaplens::ConnKey key;   // as make_key() builds it: lower address first, little-endian words
        if (k % 7 == 3) {        // IPv6: 2001:db8:1::1 -> 2001:db8:ffff::<srv>
            key.a0 = 0x0100b80d0120ULL;
            key.a1 = 0x0100000000000000ULL;
            key.b0 = 0xffffb80d0120ULL;
            key.b1 = (1 + srv) << 56;
            key.ports_family = sport << 32 | dport << 16 | 6;
        } else {                 // 10.1.0.0 -> 10.250.0.<srv>
            key.a0 = 10 | 1 << 8;
            key.b0 = 10 | 250 << 8 | (1 + srv) << 24;
            key.ports_family = sport << 32 | dport << 16 | 4;
        }
        keys.push_back(key);
    }
    constexpr size_t kSlots = 8192;   // load 0.34
    double worst = 0;
    for (uint64_t n = 0; n < 512; ++n) {
        // 256-aligned addresses, as the allocator hands out the table
        const uint64_t address = (n < 256 ? 0x7f0000000000ULL : 0x5000000ULL) + ((n * 0x9E3779B97F4A7C15ULL) >> 28 << 8 & 0xFFFFFFFFFFULL);
        const uint64_t seed = address * 0x9E3779B97F4A7C15ULL;   // as TcpAnalyzer::Impl derives it
        std::vector<uint8_t> used(kSlots, 0);
        uint64_t probes = 0;
        for (const auto& key : keys) {
            size_t i = pcaplens::hash_key(key, seed) & (kSlots - 1);
            uint64_t p = 1;
            while (used[i]) {
                i = (i + 1) & (kSlots - 1);
                ++p;
            }
            used[i] = 1;
            probes += p;   // what finding this key later costs
        }
        worst = std::max(worst, static_cast<double>(probes) / static_cast<double>(keys.size()));
    }
    CAPTURE(worst);
    CHECK(worst < 1.4);
}
