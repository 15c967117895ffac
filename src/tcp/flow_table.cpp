// The flow table: 4-tuple -> live connection, port reuse, idle eviction,
// the connection cap, and TIME_WAIT tombstones for reuse detection.
#include <algorithm>
#include <utility>

#include "connection_impl.hpp"
#include "flow_index.hpp"
#include "time_wait_table.hpp"

namespace pcaplens {

struct TcpAnalyzer::Impl {
    Impl(const TcpConfig& c, ConnectionObserver& o)
        // The hash seed varies per table (ASLR'd address): lookup cost must not
        // be steerable by a crafted capture. Output never depends on it.
        : cfg(c), obs(o), seed(reinterpret_cast<uintptr_t>(this) * 0x9E3779B97F4A7C15ULL), time_wait(cfg.max_connections, 2 * cfg.msl_ns / 8, seed) {
        budget.max_total = cfg.max_buffered_total;
        budget.max_per_direction = cfg.max_buffered_per_direction;
    }
    ~Impl() {
        for (IntrusiveList<Connection>* l : {&active, &closing})
            while (!l->empty()) {
                Connection* c = l->front();
                l->remove(c);
                delete c;
            }
    }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    TcpConfig cfg;
    ConnectionObserver& obs;
    uint64_t seed;
    ReassemblyBudget budget;
    TcpCounters counters;
    // Owns the connections (raw pointers: each is in exactly one LRU list and
    // in the index until finish() deletes it).
    FlowIndex<Connection> table;
    IntrusiveList<Connection> active;   // by last activity
    IntrusiveList<Connection> closing;  // closed connections lingering for stragglers
    TimeWaitTable time_wait;                // TIME_WAIT tombstones, for reuse detection
    uint64_t next_id = 1;
    int64_t now = INT64_MIN;
    // A timestamp more than a day past the clock moves it only when the
    // next one agrees: one corrupt timestamp (a bit flip in the seconds, a
    // pcapng block with a wild one) would otherwise finish every live
    // connection as idle and split it in two. A real pause in the capture
    // is confirmed by its second packet.
    static constexpr int64_t kClockLeap = 86'400'000'000'000LL;
    bool leap_held = false;
    // The connection the held packet touched: stamped with the old clock, so
    // when the leap is confirmed it is touched again at the new one (else
    // the first packet after a real pause would be evicted by its second).
    Connection* leap_conn = nullptr;
    // The lingering connection next to be finished (the front of `closing`)
    // and how many of its prefetch steps were issued (warm_next_to_finish).
    const Connection* warming = nullptr;
    int warm_step = 0;

    // One prefetch step per batch for the connection that lingering will
    // finish next: on the bench trace one finishes every ~90 packets (~6
    // batches), so its lines arrive before and stay in L2 until then.
    void warm_next_to_finish() {
        if (closing.empty()) return;
        const Connection* c = closing.front();
        if (c != warming) {
            warming = c;
            warm_step = 0;
        }
        if (warm_step >= Connection::kFinishPrefetchSteps) return;
        if (warm_step == 1) table.prefetch(c->key_hash);   // its index slot, for the erase
        c->prefetch_finish(warm_step++);
    }

    // Returns true when `t` is held. Timestamps are clamped to
    // +-(2^62-1) ns, so t - now cannot overflow.
    bool advance_clock(int64_t t) {
        const bool leap = now != INT64_MIN && t > now && t - now > kClockLeap;
        if (leap && !leap_held) {
            leap_held = true;
            ++counters.clock_leaps_held;
            return true;
        }
        leap_held = false;
        Connection* held = std::exchange(leap_conn, nullptr);
        if (t > now) {
            now = t;
            if (leap && held != nullptr) touch(*held);
            expire(now);
        }
        return false;
    }

    void touch(Connection& c) {
        const bool closed = c.closed();
        if (closed && !c.in_closing_list) c.release_closed_state();   // it starts lingering
        (c.in_closing_list ? closing : active).remove(&c);
        (closed ? closing : active).push_back(&c);
        c.in_closing_list = closed;
        c.last_active = now;
    }

    // `at_end`: the end of the input (finish_all): no packet will come that
    // a TIME_WAIT tombstone could be matched against, and the lists and the
    // index were emptied already.
    void finish(Connection& c, bool evicted, bool at_end = false) {
        if (&c == leap_conn) leap_conn = nullptr;
        if (&c == warming) warming = nullptr;
        c.finish(now, evicted);
        if (!at_end) {
            if (c.facts.time_wait) remember_time_wait(c);
            (c.in_closing_list ? closing : active).remove(&c);
            table.erase(&c, c.key_hash);
        }
        std::unique_ptr<Connection> owned(&c);
        --counters.open_now;
        obs.on_finished(std::move(owned->facts), std::move(owned->consumer));
    }

    void expire(int64_t t) {
        while (!closing.empty() && closing.front()->last_active + cfg.close_linger_ns <= t) finish(*closing.front(), false);
        while (!active.empty() && active.front()->last_active + cfg.idle_timeout_ns <= t) {
            ++counters.evicted_idle;
            finish(*active.front(), true);
        }
        time_wait.expire(t);
    }

    // A later close of the same 4-tuple renews its tombstone. At most
    // max_connections are kept: beyond that a close leaves none.
    void remember_time_wait(const Connection& c) {
        const auto& tw = *c.facts.time_wait;
        time_wait.remember(c.key, c.key_hash, {c.facts.id, tw.side, tw.end_ns});
    }

    // Finishes the least recently active connection (lingering closed ones
    // first) with a resource_cap finding: "<cap_what> reached; ...".
    void evict_lru(const PacketView& pkt, const std::string& cap_what) {
        IntrusiveList<Connection>& victims = closing.empty() ? active : closing;
        if (victims.empty()) return;
        Connection& v = *victims.front();
        Finding f;
        f.kind = AnomalyKind::resource_cap;
        f.ts_ns = pkt.ts_ns;
        f.frame = pkt.frame;
        f.connection = v.facts.id;
        f.detail = cap_what + " reached; least recently active connection " + std::to_string(v.facts.id) + " evicted";
        v.facts.anomalies.push_back(f);
        ++v.facts.anomalies_total;
        obs.on_finding(std::move(f));
        v.cap_evicted = true;
        finish(v, true);
    }

    void make_room(const PacketView& pkt) {
        if (active.empty() && closing.empty()) return;
        ++counters.evicted_cap;
        evict_lru(pkt, "connection cap (" + std::to_string(cfg.max_connections) + ")");
    }

    uint64_t shed(const PacketView& pkt, const std::string& cap_what) {
        const uint64_t n = std::max<uint64_t>(1, table.size() / 8);
        uint64_t done = 0;
        for (; done < n && !(active.empty() && closing.empty()); ++done) {
            ++counters.evicted_memory;
            evict_lru(pkt, cap_what);
        }
        return done;
    }

    void process(const PacketView& pkt, const TcpSegment& seg, const ConnKey& key, uint64_t hash) {
        ++counters.segments;
        const bool clock_held = advance_clock(pkt.ts_ns);
        if (Connection* found = table.find(key, hash)) {
            Connection& c = *found;
            if (!c.accepts_new_syn(seg)) {
                c.on_segment(pkt, seg);
                touch(c);
                if (clock_held) leap_conn = &c;
                return;
            }
            finish(c, false);  // port reuse: the old connection is over
        }
        if (table.size() >= cfg.max_connections) make_room(pkt);
        // Owned by the lists and the index from here until finish() deletes it.
        Connection& c = *new Connection(next_id++, cfg, budget, obs);
        c.key = key;
        c.key_hash = hash;
        c.last_active = now;
        active.push_back(&c);
        table.insert(&c, hash);
        ++counters.connections;
        counters.peak_open = std::max<uint64_t>(counters.peak_open, ++counters.open_now);
        c.on_segment(pkt, seg);
        if (const auto tomb = time_wait.take(key, hash)) {
            if (seg.has(tcpflag::SYN) && !seg.has(tcpflag::ACK) && pkt.ts_ns < tomb->end_ns) {
                c.note_time_wait_reuse(pkt, tomb->connection, role_name(tomb->side), tomb->end_ns - pkt.ts_ns);
            }
        }
        touch(c);
        if (clock_held) leap_conn = &c;
    }

    // Every connection still open or lingering, in id order. Most are cold
    // (lingering ones were last touched up to close_linger ago), and at the
    // end of a busy capture there are thousands: ~9,000 on the 1 GB bench
    // trace, as long to finish and report as ~20 MB of packets took to
    // analyse. So nothing here walks a chain of cold pointers: the
    // connections are collected from the index's slots (sequential) with
    // their ids loaded ahead, and each is loaded in the three steps of
    // Connection::prefetch_finish, kStepDistance connections apart, before
    // it is finished. The LRU lists and the index are emptied at once
    // instead of one unlink and one erase per connection (each two more
    // cold lines: the list neighbours).
    void finish_all() {
        std::vector<Connection*> found;
        found.reserve(table.size());
        table.for_each([&](Connection* c) {
            __builtin_prefetch(&c->facts.id);
            found.push_back(c);
        });
        std::vector<std::pair<uint64_t, Connection*>> by_id;
        by_id.reserve(found.size());
        for (Connection* c : found) by_id.emplace_back(c->facts.id, c);
        std::sort(by_id.begin(), by_id.end());   // ids are unique
        active.clear();
        closing.clear();
        table.clear();
        constexpr size_t kStepDistance = 2;
        constexpr auto kSteps = static_cast<size_t>(Connection::kFinishPrefetchSteps);
        for (size_t i = 0; i < by_id.size(); ++i) {
            for (size_t step = 0; step < kSteps; ++step) {
                const size_t ahead = i + kStepDistance * (kSteps - step);
                if (ahead < by_id.size()) by_id[ahead].second->prefetch_finish(static_cast<int>(step));
            }
            finish(*by_id[i].second, false, /*at_end=*/true);
        }
    }
};

FlowLookup TcpAnalyzer::prefetch_index(const TcpSegment& seg) const {
    FlowLookup flow{make_key(seg), 0};
    flow.hash = hash_key(flow.key, impl_->seed);
    impl_->table.prefetch(flow.hash);
    return flow;
}
void TcpAnalyzer::prefetch_connection(FlowLookup& flow) const {
    flow.hint = impl_->table.peek(flow.hash);
    if (flow.hint != nullptr) flow.hint->prefetch();
}
void TcpAnalyzer::prefetch_next_to_finish() { impl_->warm_next_to_finish(); }
void TcpAnalyzer::prefetch_consumer(const FlowLookup& flow, const TcpSegment& seg) const {
    if (seg.captured_len != 0 && flow.hint != nullptr) flow.hint->prefetch_consumer(seg);
}
TcpAnalyzer::TcpAnalyzer(const TcpConfig& cfg, ConnectionObserver& observer) : impl_(std::make_unique<Impl>(cfg, observer)) {}
TcpAnalyzer::~TcpAnalyzer() = default;
void TcpAnalyzer::process(const PacketView& pkt, const TcpSegment& seg) {
    const ConnKey key = make_key(seg);
    impl_->process(pkt, seg, key, hash_key(key, impl_->seed));
}
void TcpAnalyzer::process(const PacketView& pkt, const TcpSegment& seg, const FlowLookup& flow) {
    impl_->process(pkt, seg, flow.key, flow.hash);
}
void TcpAnalyzer::expire(int64_t now_ns) { impl_->advance_clock(now_ns); }
void TcpAnalyzer::finish() { impl_->finish_all(); }
uint64_t TcpAnalyzer::shed(const PacketView& pkt, const std::string& cap_what) { return impl_->shed(pkt, cap_what); }
const TcpCounters& TcpAnalyzer::counters() const {
    // Counted where they live, copied when read.
    impl_->counters.reassembly_cap_hits = impl_->budget.cap_hits;
    impl_->counters.tombstones_queued = impl_->time_wait.size();
    return impl_->counters;
}
uint64_t TcpAnalyzer::buffered_bytes() const { return impl_->budget.buffered; }

}  // namespace pcaplens
