// What reporters receive: finished connections and the final summary. Plain
// values; reporters never see packets or live analysis state.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pcaplens/capture/source.hpp"
#include "pcaplens/http/http.hpp"
#include "pcaplens/tcp/connection.hpp"

namespace pcaplens {

struct ConnectionRecord {
    TcpConnectionFacts tcp;
    std::vector<HttpTransaction> http;
    uint64_t http_total = 0;   // transactions including those beyond the cap
};

// Latency distribution with bounded memory: log-spaced buckets (~1% wide).
class LatencyHistogram {
public:
    void add(int64_t ns);
    uint64_t count() const { return count_; }
    // Percentile in milliseconds (upper edge of the bucket holding it); p in [0,100].
    double percentile_ms(double p) const;
    double max_ms() const { return static_cast<double>(max_) / 1e6; }

private:
    static constexpr int kPerDecade = 230;  // 10^(1/230) ~ 1.0% bucket width
    static constexpr int kDecades = 12;     // 1 ns .. 1000 s
    std::array<uint64_t, kPerDecade * kDecades + 1> buckets_{};
    uint64_t count_ = 0;
    int64_t max_ = 0;
};

struct HttpSummary {
    uint64_t transactions = 0;
    uint64_t requests_without_response = 0;
    uint64_t responses_without_request = 0;
    uint64_t pipelined = 0;
    uint64_t partial = 0;
    std::map<std::string, uint64_t> by_method;
    std::map<std::string, uint64_t> by_status_class;  // "1xx".."5xx"
    LatencyHistogram ttfb;      // request end -> first response byte
    LatencyHistogram duration;  // first request byte -> last response byte
};

struct ProtocolCounts {
    uint64_t tcp = 0, udp = 0, icmp = 0, icmpv6 = 0, arp = 0, other_ip = 0, other_link = 0, unknown_link = 0,
             malformed = 0, fragments = 0, ipv4 = 0, ipv6 = 0;
};

struct Summary {
    uint64_t packets = 0;           // packets analysed (after the filter and -c)
    uint64_t bytes = 0;             // captured bytes of those
    uint64_t wire_bytes = 0;
    uint64_t packets_read = 0;      // read from the files before filtering
    uint64_t filtered_out = 0;
    int64_t first_ts = 0, last_ts = 0;
    uint64_t truncated_packets = 0;
    uint64_t timestamps_backwards = 0;
    ProtocolCounts by_protocol;
    std::map<int, uint64_t> link_types;              // DLT -> packets
    std::map<std::string, uint64_t> close_kinds;     // close.kind -> connections
    uint64_t connections = 0;
    uint64_t connections_midstream = 0;
    uint64_t peak_open_connections = 0;
    uint64_t evicted_idle = 0, evicted_cap = 0, evicted_memory = 0;
    std::array<uint64_t, kAnomalyKindCount> anomalies{};  // by kind, all of them
    std::vector<Finding> capture_findings;           // not tied to a connection (capped)
    uint64_t capture_findings_total = 0;
    HttpSummary http;
    // Capture quality: what the capture missed vs what the network lost.
    uint64_t missing_bytes = 0, retransmitted_bytes = 0, payload_bytes = 0;
    uint64_t live_drops = 0, live_ifdrops = 0;
    uint64_t one_sided_connections = 0;     // only one direction was captured
    uint64_t retransmissions = 0;           // segments
    bool live = false;
};

struct RunInfo {
    std::vector<std::string> inputs;  // file paths, or "live:IFACE"
    std::string filter;
};

struct FinalReport {
    std::vector<FileStats> files;
    Summary summary;
};

class ReportSink {
public:
    virtual ~ReportSink() = default;
    virtual void begin(const RunInfo& run) = 0;
    virtual void connection(const ConnectionRecord& rec) = 0;
    virtual void end(const FinalReport& report) = 0;
    // false when connection() never reads ConnectionRecord::http: the
    // analysis then frees each connection's transactions as it closes
    // (HttpConfig::keep_transactions) and leaves `http` empty; http_total
    // and the summary are the same either way.
    virtual bool wants_http_transactions() const { return true; }
    // false when connection() never reads ConnectionRecord::tcp.anomalies
    // (only anomalies_total, and the summary's counts): the analysis then
    // keeps no finding on a connection but counts them by kind in
    // tcp.anomalies_dropped, as beyond TcpConfig::max_anomalies_per_connection;
    // anomalies_total and the summary are the same either way. (The text
    // summary under -q prints a count per connection; ~2 findings per
    // connection on the bench traces, 96 bytes and a detail text each.)
    virtual bool wants_findings() const { return true; }
    // A connection that finishes before a lower id waits in the analysis's
    // id-order window. A reporter whose output for it depends on the record
    // alone may render it right away: render() returns true and leaves in
    // `out` what connection() would have written (possibly nothing), the
    // window keeps that text instead of the record (a text line is ~100
    // bytes; a record with its vectors ~1 kB), and write_rendered() is
    // called with it in id order. The default renders nothing ahead.
    virtual bool render(const ConnectionRecord& /*rec*/, std::string& /*out*/) { return false; }
    virtual void write_rendered(const std::string& /*text*/) {}
};

}  // namespace pcaplens

namespace pcaplens {

// Whether to trust the trace before blaming the network: what the capture
// missed (gaps, ACKed-but-unseen data, snaplen cuts, one-sided connections,
// drops) kept apart from what the network lost (retransmissions, dup ACKs).
struct QualityVerdict {
    bool capture_complete = true;
    std::vector<std::string> capture_missed;   // one human line per reason
    bool network_loss_seen = false;
    double retransmission_rate_pct = 0;       // retransmitted / (unique + retransmitted) payload bytes
    std::vector<std::string> network_lost;
};
QualityVerdict assess_quality(const Summary& s, const std::vector<FileStats>& files);

}  // namespace pcaplens
