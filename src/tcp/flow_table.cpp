// The flow table: 4-tuple -> live connection, port reuse, idle eviction,
// the connection cap, and TIME_WAIT tombstones for reuse detection.
#include <algorithm>
#include <deque>
#include <unordered_map>

#include "connection_impl.hpp"

namespace pcaplens {

struct TcpAnalyzer::Impl {
    struct Tombstone {
        int64_t time_wait_end = 0;
        uint64_t connection = 0;
        Role side = Role::client;
    };

    Impl(const TcpConfig& c, ConnectionObserver& o) : cfg(c), obs(o) {
        budget.max_total = cfg.max_buffered_total;
        budget.max_per_direction = cfg.max_buffered_per_direction;
        table.reserve(1024);
    }

    TcpConfig cfg;
    ConnectionObserver& obs;
    ReassemblyBudget budget;
    TcpCounters counters;
    std::unordered_map<ConnKey, std::unique_ptr<Connection>, ConnKeyHash> table;
    LruList active;   // by last activity
    LruList closing;  // closed connections lingering for stragglers
    std::unordered_map<ConnKey, Tombstone, ConnKeyHash> tombs;
    std::deque<std::pair<ConnKey, int64_t>> tomb_order;
    uint64_t next_id = 1;
    int64_t now = INT64_MIN;

    void touch(Connection& c) {
        LruList& from = c.in_closing_list ? closing : active;
        const bool closed = c.closed();
        LruList& to = closed ? closing : active;
        to.splice(to.end(), from, c.lru_pos);
        c.in_closing_list = closed;
        c.last_active = now;
    }

    void finish(Connection& c, bool evicted) {
        c.finish(now, evicted);
        if (c.facts.time_wait && tombs.size() < cfg.max_connections) {
            const auto& tw = *c.facts.time_wait;
            tombs[c.key] = Tombstone{tw.end_ns, c.facts.id, tw.side};
            tomb_order.emplace_back(c.key, tw.end_ns);
        }
        (c.in_closing_list ? closing : active).erase(c.lru_pos);
        ConnKey key = c.key;
        auto it = table.find(key);
        std::unique_ptr<Connection> owned = std::move(it->second);
        table.erase(it);
        --counters.open_now;
        obs.on_finished(std::move(owned->facts), std::move(owned->consumer));
    }

    void expire(int64_t t) {
        while (!closing.empty() && closing.front()->last_active + cfg.close_linger_ns <= t) finish(*closing.front(), false);
        while (!active.empty() && active.front()->last_active + cfg.idle_timeout_ns <= t) {
            ++counters.evicted_idle;
            finish(*active.front(), true);
        }
        while (!tomb_order.empty() && tomb_order.front().second <= t) {
            auto it = tombs.find(tomb_order.front().first);
            if (it != tombs.end() && it->second.time_wait_end <= t) tombs.erase(it);
            tomb_order.pop_front();
        }
    }

    void make_room(const PacketView& pkt) {
        LruList& victims = closing.empty() ? active : closing;
        if (victims.empty()) return;
        Connection& v = *victims.front();
        ++counters.evicted_cap;
        Finding f;
        f.kind = AnomalyKind::resource_cap;
        f.ts_ns = pkt.ts_ns;
        f.frame = pkt.frame;
        f.connection = v.facts.id;
        f.detail = "connection cap (" + std::to_string(cfg.max_connections) + ") reached; least recently active connection " +
                   std::to_string(v.facts.id) + " evicted";
        v.facts.anomalies.push_back(f);
        ++v.facts.anomalies_total;
        obs.on_finding(std::move(f));
        v.cap_evicted = true;
        finish(v, true);
    }

    void process(const PacketView& pkt, const TcpSegment& seg) {
        ++counters.segments;
        if (pkt.ts_ns > now) {
            now = pkt.ts_ns;
            expire(now);
        }
        const ConnKey key = make_key(seg);
        auto it = table.find(key);
        if (it != table.end()) {
            Connection& c = *it->second;
            if (!c.accepts_new_syn(seg)) {
                c.on_segment(pkt, seg);
                touch(c);
                return;
            }
            finish(c, false);  // port reuse: the old connection is over
        }
        if (table.size() >= cfg.max_connections) make_room(pkt);
        auto conn = std::make_unique<Connection>(next_id++, cfg, budget, obs);
        Connection& c = *conn;
        c.key = key;
        c.last_active = now;
        active.push_back(&c);
        c.lru_pos = std::prev(active.end());
        table.emplace(key, std::move(conn));
        ++counters.connections;
        counters.peak_open = std::max<uint64_t>(counters.peak_open, ++counters.open_now);
        c.on_segment(pkt, seg);
        auto tomb = tombs.find(key);
        if (tomb != tombs.end()) {
            if (seg.has(tcpflag::SYN) && !seg.has(tcpflag::ACK) && pkt.ts_ns < tomb->second.time_wait_end) {
                c.note_time_wait_reuse(pkt, tomb->second.connection, role_name(tomb->second.side),
                                       tomb->second.time_wait_end - pkt.ts_ns);
            }
            tombs.erase(tomb);
        }
        touch(c);
    }

    void finish_all() {
        std::vector<Connection*> all;
        all.reserve(table.size());
        for (auto& [k, c] : table) all.push_back(c.get());
        std::sort(all.begin(), all.end(), [](const Connection* a, const Connection* b) { return a->facts.id < b->facts.id; });
        for (Connection* c : all) finish(*c, false);
    }
};

TcpAnalyzer::TcpAnalyzer(const TcpConfig& cfg, ConnectionObserver& observer) : impl_(std::make_unique<Impl>(cfg, observer)) {}
TcpAnalyzer::~TcpAnalyzer() = default;
void TcpAnalyzer::process(const PacketView& pkt, const TcpSegment& seg) { impl_->process(pkt, seg); }
void TcpAnalyzer::expire(int64_t now_ns) {
    if (now_ns > impl_->now) {
        impl_->now = now_ns;
        impl_->expire(now_ns);
    }
}
void TcpAnalyzer::finish() { impl_->finish_all(); }
const TcpCounters& TcpAnalyzer::counters() const {
    impl_->counters.reassembly_cap_hits = impl_->budget.cap_hits;
    return impl_->counters;
}
uint64_t TcpAnalyzer::buffered_bytes() const { return impl_->budget.buffered; }

}  // namespace pcaplens
