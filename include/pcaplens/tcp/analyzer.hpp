// TcpAnalyzer: the flow table and each connection's lifecycle. Takes decoded
// TCP segments in capture order; hands reassembled bytes to stream consumers
// and finished connections (as plain facts) to an observer.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "pcaplens/capture/packet.hpp"
#include "pcaplens/decode/packet.hpp"
#include "pcaplens/findings/finding.hpp"
#include "pcaplens/tcp/connection.hpp"
#include "pcaplens/tcp/reassembler.hpp"
#include "pcaplens/tcp/stream.hpp"

namespace pcaplens {

struct TcpConfig {
    int64_t idle_timeout_ns = 300'000'000'000LL;  // evict after 5 min without packets (Zeek's tcp_inactivity_timeout)
    int64_t close_linger_ns = 5'000'000'000LL;    // keep a closed connection this long for stragglers
    int64_t msl_ns = 30'000'000'000LL;            // TIME_WAIT = 2 MSL = 60 s, as Linux holds it
    uint64_t max_connections = 262'144;           // tracked at once; the least recently active is evicted
    uint64_t max_buffered_total = 256ull << 20;   // out-of-order bytes buffered, all connections
    uint64_t max_buffered_per_direction = 8ull << 20;
    uint32_t max_anomalies_per_connection = 1000; // beyond this only counts are kept
    bool timeline = false;                        // record the per-packet ladder
    uint32_t max_ladder_rows = 100'000;
};

class ConnectionObserver {
public:
    virtual ~ConnectionObserver() = default;
    // Roles are known and stream bytes are about to flow; return a consumer or null.
    virtual std::unique_ptr<StreamConsumer> make_consumer(const TcpConnectionFacts& conn) = 0;
    // The connection is over (closed and lingered, evicted, or end of capture).
    virtual void on_finished(TcpConnectionFacts&& facts, std::unique_ptr<StreamConsumer> consumer) = 0;
    // A finding not tied to one connection (e.g. a cap hit).
    virtual void on_finding(Finding&& f) = 0;
};

struct TcpCounters {
    uint64_t segments = 0;
    uint64_t connections = 0;          // created
    uint64_t open_now = 0;
    uint64_t peak_open = 0;
    uint64_t evicted_idle = 0;
    uint64_t evicted_cap = 0;
    uint64_t evicted_memory = 0;       // finished early because the memory cap was reached
    uint64_t reassembly_cap_hits = 0;
    uint64_t clock_leaps_held = 0;     // timestamps > 1 day past the clock, held until the next one agreed (or did not)
    uint64_t tombstones_queued = 0;    // TIME_WAIT tombstones held, ended ones until the next sweep (at most max_connections)
};

// A flow's 4-tuple in canonical endpoint order, packed into words so that
// comparing keys is five integer compares (no memcmp). Address bytes are
// loaded as two native-order 64-bit words each; IPv4 uses the first four
// bytes of the first word (the rest are zero).
struct ConnKey {
    uint64_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
    uint64_t ports_family = 0;  // pa << 32 | pb << 16 | family
    bool operator==(const ConnKey&) const = default;
};
class Connection;   // the flow table's own; opaque here

// What the flow table looks a segment up by: its flow's key and that key's
// hash in this table (TcpAnalyzer::prefetch_index computes both once), and
// the connection prefetch_connection() found at that hash, for
// prefetch_consumer() (a hint, valid until the next process(); process()
// looks the key up itself).
struct FlowLookup {
    ConnKey key;
    uint64_t hash = 0;
    const Connection* hint = nullptr;
};

class TcpAnalyzer {
public:
    TcpAnalyzer(const TcpConfig& cfg, ConnectionObserver& observer);
    ~TcpAnalyzer();
    TcpAnalyzer(const TcpAnalyzer&) = delete;
    TcpAnalyzer& operator=(const TcpAnalyzer&) = delete;

    void process(const PacketView& pkt, const TcpSegment& seg);
    // Cache hints for a batch of decoded packets (see Analysis::run): start
    // loading the index slot of this segment's flow (returns the lookup for
    // the second step and for process()), later the connection that slot
    // points at, then what its stream consumer reads for this segment's
    // payload (nothing for a segment without). They change no state;
    // skipping them changes nothing but speed.
    FlowLookup prefetch_index(const TcpSegment& seg) const;
    void prefetch_connection(FlowLookup& flow) const;
    void prefetch_consumer(const FlowLookup& flow, const TcpSegment& seg) const;
    // Once per batch: one step of loading the closed connection that
    // lingering will finish next (its object, then its vectors and
    // consumer, then the consumer's results), which was last touched
    // seconds ago. Changes nothing but which lines are in cache.
    void prefetch_next_to_finish();
    // process() with the lookup prefetch_index() returned for this segment.
    void process(const PacketView& pkt, const TcpSegment& seg, const FlowLookup& flow);
    // Evict what has been idle or lingering too long as of `now` (a leap of
    // more than a day past the clock waits for the next timestamp to agree).
    void expire(int64_t now_ns);
    // The memory cap was reached: finish the least recently active eighth of
    // the tracked connections (at least one), each with a resource_cap
    // finding naming `cap_what`. Returns how many were finished.
    uint64_t shed(const PacketView& pkt, const std::string& cap_what);
    // End of input: every connection still tracked is finished.
    void finish();
    const TcpCounters& counters() const;
    uint64_t buffered_bytes() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pcaplens
