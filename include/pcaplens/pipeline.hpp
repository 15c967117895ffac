// The analysis pipeline: PacketSource -> Decoder -> TcpAnalyzer -> HTTP ->
// findings -> ReportSink. A live capture and a file analysis differ only in
// the source.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "pcaplens/capture/source.hpp"
#include "pcaplens/decode/decoder.hpp"
#include "pcaplens/http/http.hpp"
#include "pcaplens/report/follow.hpp"
#include "pcaplens/report/record.hpp"
#include "pcaplens/tcp/analyzer.hpp"

namespace pcaplens {

struct AnalysisConfig {
    DecoderConfig decode;
    TcpConfig tcp;
    HttpConfig http;
    bool http_enabled = true;
    uint64_t max_packets = 0;              // -c: 0 = all
    uint32_t max_capture_findings = 1000;  // kept in the report; all are counted
    uint32_t reorder_window = 4096;        // finished connections held to report in id order...
    uint64_t reorder_window_bytes = 64ull << 20;  // ...and the heap they may hold (estimated); beyond either, the lowest id goes out early
    // Memory cap on the heap in use (0 = none): above it, the least recently
    // active connections are finished early. The heap is measured (see
    // heap_in_use_bytes; tests substitute their own probe) after every
    // memory_check_connections new connections, memory_check_packets
    // packets or memory_check_bytes captured bytes, whichever comes first:
    // with glibc the measurement walks the free lists, too slow for every
    // packet. The byte count bounds what a few large packets can add between
    // two measurements (a 64 KiB segment of pipelined requests is ~3,000
    // kept transactions, ~1.5 MB).
    uint64_t max_memory_bytes = 512ull << 20;
    uint64_t memory_check_packets = 65536;
    uint64_t memory_check_connections = 1024;
    uint64_t memory_check_bytes = 2ull << 20;
    std::function<uint64_t()> heap_in_use;
    // --follow: the reassembled bytes of this connection (0 = none) go to
    // follow_writer as they are delivered, formatted by follow_options.
    uint64_t follow_connection = 0;
    FollowWriter follow_writer;
    FollowOptions follow_options;
};

struct Progress {
    uint64_t packets = 0;
    uint64_t bytes_read = 0, bytes_total = 0;
    uint64_t open_connections = 0;
};

// Bytes the C library allocator has handed out and not yet had back (glibc's
// mallinfo2); 0 where that is not available, which disables the memory cap.
uint64_t heap_in_use_bytes();
// Gives the allocator's free pages back to the system now (after the memory
// cap has shed connections); a no-op where the allocator does that itself.
void release_free_heap();
// The heap allocator linked in ("jemalloc 5.3.0-...", "system malloc"), for --version.
std::string heap_allocator_name();

// Only one direction of the connection was captured (asymmetric routing, a
// one-sided tap): used by the capture-quality verdict.
bool is_one_sided(const TcpConnectionFacts& t);

class Analysis {
public:
    Analysis(const AnalysisConfig& cfg, ReportSink& sink);
    ~Analysis();
    Analysis(const Analysis&) = delete;
    Analysis& operator=(const Analysis&) = delete;

    // Reads `source` to its end (or -c, or `stop` set), then finishes every
    // connection and calls sink.end(). `on_progress` is called every ~64k packets.
    void run(PacketSource& source, const RunInfo& run, const std::atomic<bool>* stop = nullptr,
             const std::function<void(const Progress&)>& on_progress = {});
    const Summary& summary() const;
    // With follow_connection: whether that connection was in the capture.
    bool follow_found() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pcaplens
