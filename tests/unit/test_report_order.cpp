// The analysis reports connections in id order although they finish in
// another: one that finishes before a lower id waits in the id-order window
// (src/pipeline.cpp). A reporter may render such a connection ahead of its
// turn (ReportSink::render); the window then holds the text and hands it to
// write_rendered() in id order. Written as a pcap with the project's packet
// writer and read by pcaplens::Analysis over a MergedFileSource, as the CLI
// does.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "pcaplens/capture/source.hpp"
#include "pcaplens/pipeline.hpp"
#include "support/packet_writer.hpp"

namespace pt = pcaplens::testing;

namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

// Logs what the analysis asks of it; renders ahead only when `renders`.
class OrderSink : public pcaplens::ReportSink {
public:
    explicit OrderSink(bool renders) : renders_(renders) {}
    std::vector<std::string> log;
    void begin(const pcaplens::RunInfo&) override {}
    void connection(const pcaplens::ConnectionRecord& rec) override { log.push_back("connection " + std::to_string(rec.tcp.id)); }
    bool render(const pcaplens::ConnectionRecord& rec, std::string& out) override {
        if (!renders_) return false;
        log.push_back("render " + std::to_string(rec.tcp.id));
        out = "text of " + std::to_string(rec.tcp.id) + " port " + std::to_string(rec.tcp.client.port);
        return true;
    }
    void write_rendered(const std::string& text) override { log.push_back("write " + text); }
    void end(const pcaplens::FinalReport&) override { log.push_back("end"); }

private:
    bool renders_;
};

// Connection 1 (port 40001) opens first and stays open to the end of the
// capture; 2 (40002) and 3 (40003) open after it and are reset early, so
// they finish first and must wait for 1.
std::string write_capture() {
    auto a = pt::TcpConversation("10.0.0.1", 40001, "10.0.0.2", 80, 1000, 5000, kT0);
    auto b = pt::TcpConversation("10.0.0.1", 40002, "10.0.0.2", 80, 2000, 6000, kT0 + 10 * kMs);
    auto c = pt::TcpConversation("10.0.0.1", 40003, "10.0.0.2", 80, 3000, 7000, kT0 + 20 * kMs);
    a.syn(), a.synack(), a.ack();
    b.syn(), b.synack(), b.ack(), b.client_rst();
    c.syn(), c.synack(), c.ack(), c.client_rst();
    a.advance_time(100 * kMs);
    a.client_data("hello");   // after both resets
    pt::PcapWriter w(pt::linktype::ethernet);
    const auto& ap = a.packets();
    for (size_t i = 0; i < 3; ++i) w.add(ap[i].first, ap[i].second);
    for (const auto& [ts, frame] : b.packets()) w.add(ts, frame);
    for (const auto& [ts, frame] : c.packets()) w.add(ts, frame);
    w.add(ap[3].first, ap[3].second);
    const auto path = std::filesystem::temp_directory_path() / ("pcaplens_order_test_" + std::to_string(::getpid()) + ".pcap");
    pt::detail::write_bytes_to_file(w.bytes(), path.string());
    return path.string();
}

std::vector<std::string> run(bool renders, uint32_t window, uint64_t window_bytes = 64ull << 20) {
    const std::string path = write_capture();
    OrderSink sink(renders);
    pcaplens::AnalysisConfig cfg;
    cfg.tcp.close_linger_ns = 0;   // a reset connection finishes at the next packet
    cfg.reorder_window = window;
    cfg.reorder_window_bytes = window_bytes;
    pcaplens::MergedFileSource src({path}, "");
    pcaplens::Analysis analysis(cfg, sink);
    pcaplens::RunInfo info;
    info.inputs = {path};
    analysis.run(src, info);
    std::filesystem::remove(path);
    return sink.log;
}

}  // namespace

TEST_CASE("id-order window: connections that finish early wait for lower ids, as records or rendered text") {
    // Without rendering: the records wait and connection() sees 1, 2, 3.
    CHECK(run(false, 4096) == std::vector<std::string>{"connection 1", "connection 2", "connection 3", "end"});
    // With rendering: 2 and 3 are rendered when they finish, 1 when it does
    // (others wait), and the texts are written in id order.
    CHECK(run(true, 4096) == std::vector<std::string>{"render 2", "render 3", "render 1", "write text of 1 port 40001",
                                                      "write text of 2 port 40002", "write text of 3 port 40003", "end"});
}

TEST_CASE("id-order window: when more wait than it holds, the oldest is released out of order, rendered or not") {
    // Window of one: 3 finishing makes two wait, so 2 goes out at once and 3
    // follows in order; 1 comes last.
    CHECK(run(false, 1) == std::vector<std::string>{"connection 2", "connection 3", "connection 1", "end"});
    CHECK(run(true, 1) == std::vector<std::string>{"render 2", "render 3", "write text of 2 port 40002",
                                                   "write text of 3 port 40003", "render 1", "write text of 1 port 40001",
                                                   "end"});
}

TEST_CASE("latency histogram: percentiles within a bucket, the max exact (0 stays 0)") {
    pcaplens::LatencyHistogram h;
    CHECK(h.count() == 0);
    CHECK(h.max_ms() == 0);
    h.add(0);
    CHECK(h.count() == 1);
    CHECK(h.max_ms() == 0);              // not the first bucket's 1 ns
    CHECK(h.percentile_ms(50) == 0);
    for (int i = 1; i <= 100; ++i) h.add(int64_t{i} * 1'000'000);  // 1..100 ms
    CHECK(h.count() == 101);
    CHECK(h.max_ms() == doctest::Approx(100.0));
    // Buckets are 1/230 of a decade (~1%) wide: the p50 (50 ms) reads
    // within one bucket above it.
    const double p50 = h.percentile_ms(50);
    CHECK(p50 >= 50.0);
    CHECK(p50 <= 50.0 * std::pow(10.0, 1.0 / 230) + 1e-9);
    CHECK(h.percentile_ms(100) == doctest::Approx(100.0));
    h.add(-5);                           // clock steps: counted as 0
    CHECK(h.count() == 102);
}

TEST_CASE("latency histogram: times beyond its last bucket (1000 s) read as the exact maximum, not 1000 s") {
    // A 5000 s time to first byte read as p50 = 1000 s and passed a 2000 s limit.
    pcaplens::LatencyHistogram h;
    h.add(int64_t{5000} * 1'000'000'000);
    CHECK(h.percentile_ms(50) == doctest::Approx(5'000'000.0));
    CHECK(h.percentile_ms(99) == doctest::Approx(5'000'000.0));
    h.add(int64_t{3000} * 1'000'000'000);
    h.add(1'000'000);                    // 1 ms
    CHECK(h.percentile_ms(30) == doctest::Approx(1.0).epsilon(0.011));
    CHECK(h.percentile_ms(99) == doctest::Approx(5'000'000.0));   // an upper bound of the 3000 s and 5000 s ones
}

TEST_CASE("id-order window: when what waits holds more than its byte budget, the oldest is released out of order") {
    // Room for 4,096 connections but not for the bytes of one: each waiting
    // record or text goes out as soon as it finishes. (Connections of
    // 100,000 kept transactions waiting behind a long-lived one grew the
    // process by their size times up to 4,096.)
    CHECK(run(false, 4096, 1) == std::vector<std::string>{"connection 2", "connection 3", "connection 1", "end"});
    // (Once 2 is out, 3 is next in line and goes straight to the sink.)
    CHECK(run(true, 4096, 1) == std::vector<std::string>{"render 2", "write text of 2 port 40002", "connection 3", "render 1",
                                                         "write text of 1 port 40001", "end"});
    // A budget both fit in: in id order, as before.
    CHECK(run(false, 4096, 1 << 20) == std::vector<std::string>{"connection 1", "connection 2", "connection 3", "end"});
}
