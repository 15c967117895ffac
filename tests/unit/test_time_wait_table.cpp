// TIME_WAIT tombstones (src/tcp/time_wait_table.hpp) against a plain model
// -- a map with the same lazy sweep -- under random remember / take /
// expire: few keys (replacements, takes of the last entry and of others),
// many (the index grows, blocks come and go), a small cap (refusals), and
// a clock that sometimes stands still.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>

#include "tcp/time_wait_table.hpp"

using pcaplens::ConnKey;
using pcaplens::hash_key;
using pcaplens::Role;
using pcaplens::TimeWaitTable;

namespace {

constexpr uint64_t kSeed = 0x1234567887654321ULL;

// Mostly IPv4-like keys (kept in 16 bytes), every third one IPv6-like.
ConnKey key_of(uint32_t n) {
    ConnKey k;
    k.a0 = 0x0a000001;
    k.b0 = 0x0a000002 + (n >> 16);
    k.ports_family = uint64_t{n & 0xffff} << 32 | uint64_t{80} << 16 | 4;
    if (n % 3 == 0) {
        k.a1 = 0x20010db8;
        k.b1 = n;
        k.ports_family ^= 4 ^ 6;
    }
    return k;
}

bool same(const TimeWaitTable::Tombstone& a, const TimeWaitTable::Tombstone& b) {
    return a.connection == b.connection && a.side == b.side && a.end_ns == b.end_ns;
}

// What the table promises: a tombstone is kept until a sweep after its end,
// sweeps come once per interval of the clock, and a new key is refused
// while max_entries are kept.
struct Model {
    size_t cap;
    int64_t interval;
    int64_t now = INT64_MIN;
    int64_t next_sweep = INT64_MIN;
    int64_t next_forced_sweep = INT64_MIN;
    std::map<uint32_t, TimeWaitTable::Tombstone> kept;
    void sweep() {
        std::erase_if(kept, [&](const auto& kv) { return kv.second.end_ns <= now; });
    }
    void expire(int64_t t) {
        now = std::max(now, t);
        if (now < next_sweep || kept.empty()) return;
        next_sweep = now + interval;
        sweep();
    }
    // Full: one sweep out of turn per interval.
    void remember(uint32_t k, const TimeWaitTable::Tombstone& t) {
        if (kept.size() >= cap && now >= next_forced_sweep) {
            next_forced_sweep = now + interval;
            sweep();
        }
        if (kept.count(k) != 0 || kept.size() < cap) kept[k] = t;
    }
};

}  // namespace

TEST_CASE("TimeWaitTable matches a model map under random operations") {
    for (const uint32_t keys : {8u, 300u, 5000u}) {
        for (const size_t cap : {size_t{4}, size_t{1000}, size_t{100000}}) {
            CAPTURE(keys);
            CAPTURE(cap);
            std::mt19937_64 rng(keys * 7919 + cap);
            constexpr int64_t kInterval = 60;
            TimeWaitTable table(cap, kInterval, kSeed);
            Model model{cap, kInterval, INT64_MIN, INT64_MIN, INT64_MIN, {}};
            int64_t now = 1'000'000;
            uint64_t next_id = 1;
            size_t peak = 0;
            for (int op = 0; op < 40000; ++op) {
                const uint32_t k = static_cast<uint32_t>(rng() % keys);
                const ConnKey key = key_of(k);
                const uint64_t h = hash_key(key, kSeed);
                const unsigned what = static_cast<unsigned>(rng() % 10);
                if (what < 5) {
                    // 2 MSL of ~480 time units, 8 sweep intervals.
                    const TimeWaitTable::Tombstone t{next_id++, rng() % 2 ? Role::server : Role::client,
                                                     now + 470 + static_cast<int64_t>(rng() % 20)};
                    table.remember(key, h, t);
                    model.remember(k, t);
                } else if (what < 8) {
                    const auto got = table.take(key, h);
                    const auto it = model.kept.find(k);
                    REQUIRE(got.has_value() == (it != model.kept.end()));
                    if (got) {
                        CHECK(same(*got, it->second));
                        model.kept.erase(it);
                    }
                } else {
                    now += static_cast<int64_t>(rng() % 40);   // sometimes standing still
                    table.expire(now);
                    model.expire(now);
                }
                REQUIRE(table.size() == model.kept.size());
                peak = std::max(peak, model.kept.size());
                // Blocks follow the entries kept (one spare per store), not the entries ever made.
                CHECK(table.blocks() <= table.size() / TimeWaitTable::kBlock + 4);
            }
            CHECK(peak <= cap);
            // Everything the model still has, the table gives back exactly once.
            for (uint32_t k = 0; k < keys; ++k) {
                const ConnKey key = key_of(k);
                const auto got = table.take(key, hash_key(key, kSeed));
                const auto it = model.kept.find(k);
                REQUIRE(got.has_value() == (it != model.kept.end()));
                if (got) CHECK(same(*got, it->second));
                CHECK_FALSE(table.take(key, hash_key(key, kSeed)).has_value());
            }
            CHECK(table.size() == 0);
        }
    }
}

TEST_CASE("TimeWaitTable: keys that differ only in the IPv6 words, the high address bits or the family are not confused") {
    TimeWaitTable table(16, 10, kSeed);
    ConnKey v4 = key_of(1);
    ConnKey v6 = v4;
    v6.a1 = 1;
    ConnKey high_a = v4, high_b = v4;   // wide keys that would pack to v4's 16 bytes if truncated
    high_a.a0 |= uint64_t{1} << 32;
    high_b.b0 |= uint64_t{1} << 40;
    ConnKey other_family = v4;
    other_family.ports_family ^= 4 ^ 6;
    table.remember(v4, hash_key(v4, kSeed), {7, Role::client, 100});
    CHECK_FALSE(table.take(v6, hash_key(v6, kSeed)).has_value());
    CHECK_FALSE(table.take(high_a, hash_key(high_a, kSeed)).has_value());
    CHECK_FALSE(table.take(high_b, hash_key(high_b, kSeed)).has_value());
    // Same stored 16 bytes would need the same hash too; force it: the key, not the hash, decides.
    CHECK_FALSE(table.take(high_a, hash_key(v4, kSeed)).has_value());
    CHECK_FALSE(table.take(other_family, hash_key(other_family, kSeed)).has_value());
    const auto got = table.take(v4, hash_key(v4, kSeed));
    REQUIRE(got.has_value());
    CHECK(got->connection == 7);
}

TEST_CASE("TimeWaitTable: a renewed tombstone lasts to its new end; ended ones go at the next sweep") {
    TimeWaitTable table(16, 10, kSeed);
    const ConnKey a = key_of(1), b = key_of(2);
    table.expire(0);
    table.remember(a, hash_key(a, kSeed), {1, Role::client, 100});
    table.remember(b, hash_key(b, kSeed), {2, Role::server, 150});
    table.remember(a, hash_key(a, kSeed), {3, Role::server, 160});   // same tuple closed again
    CHECK(table.size() == 2);
    table.expire(155);                            // sweeps: b ended at 150, a's first end is forgotten
    CHECK(table.size() == 1);
    table.expire(162);                            // a has ended, but the next sweep is due at 165
    CHECK(table.size() == 1);
    auto got = table.take(a, hash_key(a, kSeed));
    REQUIRE(got.has_value());
    CHECK(got->connection == 3);
    CHECK(got->side == Role::server);
    CHECK(got->end_ns == 160);
    table.remember(a, hash_key(a, kSeed), {4, Role::client, 160});
    table.expire(164);
    CHECK(table.size() == 1);
    table.expire(165);
    CHECK(table.size() == 0);
}
