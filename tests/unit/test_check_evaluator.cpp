// Check rules evaluated on real captures (tests/captures, samples) and on a
// few crafted ones: for every rule type one capture where it passes and one
// where it fails, with the measured value and the evidence ids.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "pcaplens/capture/source.hpp"
#include "pcaplens/check/evaluator.hpp"
#include "pcaplens/check/rules.hpp"
#include "support/packet_writer.hpp"

using namespace pcaplens;
using namespace pcaplens::check;
namespace pw = pcaplens::testing;

namespace {

std::string cap(const std::string& rel) { return std::string(PCAPLENS_SOURCE_DIR) + "/" + rel; }

struct Outcome {
    RuleSet set;  // owns the rules the results point at
    CheckResult r;
};

// Evaluates one rule (JSON text of the rule object) on a capture.
Outcome eval1(const std::string& capture, const std::string& rule_json, const std::string& filter = "") {
    Outcome o;
    o.set = parse_rules_text("{\"rules\": [" + rule_json + "]}", "test");
    AnalysisConfig cfg;
    CheckRun run = run_checks(o.set, {capture}, filter, cfg, nullptr);
    REQUIRE(run.results.size() == 1);
    o.r = run.results[0];
    return o;
}

std::vector<uint64_t> ids(const CheckResult& r) {
    std::vector<uint64_t> v;
    for (const Evidence& e : r.evidence) v.push_back(e.connection);
    return v;
}

std::string temp_path(const std::string& name) {
    const auto d = std::filesystem::temp_directory_path() / ("pcaplens-check-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return (d / name).string();
}

// A connection that sends 1000 bytes, retransmits all of them once, and closes.
std::string retransmitting_capture() {
    pw::TcpConversation c("10.0.0.1", 40001, "10.0.0.2", 9000);
    c.syn();
    c.synack();
    c.ack();
    const uint32_t seq = c.client_seq();
    const pw::Bytes data(1000, 'x');
    c.client_data(data);
    c.packet(true, seq, c.client_ack_no(), pw::tcpflag::PSH | pw::tcpflag::ACK, data);  // retransmission
    c.server_ack();
    c.client_fin();
    c.server_fin();
    c.client_ack();
    const std::string p = temp_path("retx.pcap");
    c.write_pcap(p);
    return p;
}

// Two HTTP requests on one connection; only the first is answered.
std::string unanswered_request_capture() {
    pw::TcpConversation c("10.0.0.1", 40002, "10.0.0.2", 80);
    c.syn();
    c.synack();
    c.ack();
    c.client_data("GET /one HTTP/1.1\r\nHost: example.com\r\n\r\n");
    c.server_data("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    c.client_data("GET /two HTTP/1.1\r\nHost: example.com\r\n\r\n");
    c.server_ack();
    c.client_fin();
    c.server_fin();
    c.client_ack();
    const std::string p = temp_path("unanswered.pcap");
    c.write_pcap(p);
    return p;
}

}  // namespace

TEST_CASE("check fail_on: rst_abort in tcp-rst-abort fails, http-keepalive passes") {
    auto o = eval1(cap("tests/captures/tcp-rst-abort.pcap"), R"({"rule": "fail_on", "kinds": ["rst_abort"]})");
    CHECK(!o.r.passed);
    CHECK(*o.r.measured == 1);
    CHECK(ids(o.r) == std::vector<uint64_t>{1});
    CHECK(o.r.evidence[0].frame == 11);
    CHECK(o.r.evidence[0].display_filter == "ip.addr==10.99.0.1 && tcp.port==40061 && ip.addr==10.99.0.2 && tcp.port==9003");
    auto p = eval1(cap("samples/http-keepalive.pcap"), R"({"rule": "fail_on", "kinds": ["rst_abort"]})");
    CHECK(p.r.passed);
    CHECK(*p.r.measured == 0);
    CHECK(p.r.evidence.empty());
}

TEST_CASE("check fail_on_severity: warnings in http-mixed (connections 3 and 4), none at error; allow-list") {
    auto o = eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "fail_on_severity", "severity": "warning"})");
    CHECK(!o.r.passed);
    CHECK(*o.r.measured == 2);
    CHECK(ids(o.r) == std::vector<uint64_t>{3, 4});
    CHECK(o.r.evidence[0].frame == 26);  // the 500
    CHECK(o.r.evidence[1].frame == 42);  // the RST
    auto e = eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "fail_on_severity", "severity": "error"})");
    CHECK(e.r.passed);
    CHECK(*e.r.measured == 0);
    auto a = eval1(cap("samples/http-mixed.pcapng"),
                   R"({"rule": "fail_on_severity", "severity": "warning", "allow": ["rst_abort", "http_server_error"]})");
    CHECK(a.r.passed);
}

TEST_CASE("check max_anomalies: SYN retransmissions in tcp-unanswered") {
    auto o = eval1(cap("tests/captures/tcp-unanswered.pcap"), R"({"rule": "max_anomalies", "kind": "syn_retransmission", "max": 2})");
    CHECK(!o.r.passed);
    CHECK(*o.r.measured == 3);  // 4 SYNs: 3 retransmissions
    CHECK(o.r.evidence_total == 3);
    CHECK(ids(o.r) == std::vector<uint64_t>{1, 1, 1});
    auto p = eval1(cap("tests/captures/tcp-unanswered.pcap"), R"({"rule": "max_anomalies", "kind": "syn_retransmission", "max": 3})");
    CHECK(p.r.passed);
    CHECK(*p.r.measured == 3);
}

TEST_CASE("check max_handshake_rtt_ms: tcp-rst-abort's 0.069 ms handshake") {
    auto o = eval1(cap("tests/captures/tcp-rst-abort.pcap"), R"({"rule": "max_handshake_rtt_ms", "max": 0.05})");
    CHECK(!o.r.passed);
    CHECK(*o.r.measured == doctest::Approx(0.069).epsilon(0.02));
    CHECK(ids(o.r) == std::vector<uint64_t>{1});
    CHECK(o.r.evidence[0].frame == 3);  // the handshake-completing ACK
    auto p = eval1(cap("tests/captures/tcp-rst-abort.pcap"), R"({"rule": "max_handshake_rtt_ms", "max": 1})");
    CHECK(p.r.passed);
    // Unanswered SYNs have no RTT: nothing measured, passes.
    auto n = eval1(cap("tests/captures/tcp-unanswered.pcap"), R"({"rule": "max_handshake_rtt_ms", "max": 0})");
    CHECK(n.r.passed);
    CHECK(!n.r.measured);
}

TEST_CASE("check max_retransmission_rate_pct: crafted 50% retransmission vs a clean real transfer") {
    const std::string retx = retransmitting_capture();
    auto o = eval1(retx, R"({"rule": "max_retransmission_rate_pct", "max": 10})");
    CHECK(!o.r.passed);
    CHECK(*o.r.measured == doctest::Approx(50.0));
    CHECK(ids(o.r) == std::vector<uint64_t>{1});
    CHECK(o.r.evidence[0].frame == 5);  // the retransmitted segment
    auto hi = eval1(retx, R"({"rule": "max_retransmission_rate_pct", "max": 60})");
    CHECK(hi.r.passed);
    auto p = eval1(cap("tests/captures/tcp-bulk.pcap"), R"({"rule": "max_retransmission_rate_pct", "max": 0})");
    CHECK(p.r.passed);
    CHECK(*p.r.measured == 0);
}

TEST_CASE("check no_unanswered_syns: tcp-unanswered fails, tcp-refused passes") {
    auto o = eval1(cap("tests/captures/tcp-unanswered.pcap"), R"({"rule": "no_unanswered_syns"})");
    CHECK(!o.r.passed);
    CHECK(*o.r.measured == 1);
    CHECK(ids(o.r) == std::vector<uint64_t>{1});
    CHECK(o.r.evidence[0].frame == 1);
    CHECK(o.r.evidence[0].display_filter == "ip.addr==10.99.0.1 && tcp.port==40081 && ip.addr==10.99.0.2 && tcp.port==81");
    CHECK(eval1(cap("tests/captures/tcp-refused.pcap"), R"({"rule": "no_unanswered_syns"})").r.passed);
}

TEST_CASE("check no_refused_connections: tcp-refused fails, tcp-unanswered passes") {
    auto o = eval1(cap("tests/captures/tcp-refused.pcap"), R"({"rule": "no_refused_connections"})");
    CHECK(!o.r.passed);
    CHECK(*o.r.measured == 1);
    CHECK(ids(o.r) == std::vector<uint64_t>{1});
    CHECK(o.r.evidence[0].frame == 2);
    CHECK(eval1(cap("tests/captures/tcp-unanswered.pcap"), R"({"rule": "no_refused_connections"})").r.passed);
}

TEST_CASE("check no_resets: aborts fail; a refusal only without after_established") {
    auto o = eval1(cap("tests/captures/tcp-rst-abort.pcap"), R"({"rule": "no_resets", "after_established": true})");
    CHECK(!o.r.passed);
    CHECK(ids(o.r) == std::vector<uint64_t>{1});
    CHECK(o.r.evidence[0].frame == 11);
    auto r = eval1(cap("tests/captures/tcp-refused.pcap"), R"({"rule": "no_resets"})");
    CHECK(!r.r.passed);
    CHECK(*r.r.measured == 1);
    auto ra = eval1(cap("tests/captures/tcp-refused.pcap"), R"({"rule": "no_resets", "after_established": true})");
    CHECK(ra.r.passed);
    CHECK(*ra.r.measured == 0);
    CHECK(eval1(cap("samples/http-keepalive.pcap"), R"({"rule": "no_resets"})").r.passed);
}

TEST_CASE("check all_closed_gracefully: RST fails, simultaneous close passes") {
    auto o = eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "all_closed_gracefully"})");
    CHECK(!o.r.passed);
    CHECK(*o.r.measured == 1);
    CHECK(ids(o.r) == std::vector<uint64_t>{4});
    CHECK(o.r.evidence[0].detail == "close: rst by client");
    CHECK(eval1(cap("tests/captures/tcp-simultaneous-close.pcap"), R"({"rule": "all_closed_gracefully"})").r.passed);
    auto u = eval1(cap("tests/captures/tcp-unanswered.pcap"), R"({"rule": "all_closed_gracefully", "allow_open": true})");
    CHECK(!u.r.passed);  // unanswered is not "open"
}

TEST_CASE("check max_time_wait_reuse: tcp-port-reuse reuses the tuple once (connection 2)") {
    auto o = eval1(cap("tests/captures/tcp-port-reuse.pcap"), R"({"rule": "max_time_wait_reuse", "max": 0})");
    CHECK(!o.r.passed);
    CHECK(*o.r.measured == 1);
    CHECK(ids(o.r) == std::vector<uint64_t>{2});
    CHECK(eval1(cap("tests/captures/tcp-port-reuse.pcap"), R"({"rule": "max_time_wait_reuse", "max": 1})").r.passed);
}

TEST_CASE("check max_connections: http-mixed has 4") {
    auto o = eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "max_connections", "max": 3})");
    CHECK(!o.r.passed);
    CHECK(*o.r.measured == 4);
    CHECK(ids(o.r) == std::vector<uint64_t>{4});
    CHECK(eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "max_connections", "max": 4})").r.passed);
}

TEST_CASE("check max_http_5xx / max_http_4xx: the 500 (connection 3) and the 404 (connection 2) in http-mixed") {
    auto o = eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "max_http_5xx", "max": 0})");
    CHECK(!o.r.passed);
    CHECK(*o.r.measured == 1);
    REQUIRE(o.r.evidence.size() == 1);
    CHECK(o.r.evidence[0].connection == 3);
    CHECK(o.r.evidence[0].transaction == 1);
    CHECK(o.r.evidence[0].frame == 26);
    CHECK(o.r.evidence[0].detail == "GET /error -> 500 Internal Server Error");
    CHECK(eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "max_http_5xx", "max": 0, "allow_status": [500]})").r.passed);
    CHECK(eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "max_http_5xx", "max": 1})").r.passed);
    auto rate = eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "max_http_5xx", "max_rate_pct": 20})");
    CHECK(!rate.r.passed);
    CHECK(*rate.r.measured == doctest::Approx(25.0));
    CHECK(eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "max_http_5xx", "max_rate_pct": 25})").r.passed);
    // HTTP filters: only /error requests -> 100%; only GET / -> 0.
    auto f = eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "max_http_5xx", "max_rate_pct": 99, "uri_prefix": "/err"})");
    CHECK(*f.r.measured == doctest::Approx(100.0));
    CHECK(eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "max_http_5xx", "max": 0, "uri_prefix": "/b"})").r.passed);

    auto four = eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "max_http_4xx", "max": 0})");
    CHECK(!four.r.passed);
    CHECK(ids(four.r) == std::vector<uint64_t>{2});
    CHECK(four.r.evidence[0].frame == 16);
    CHECK(eval1(cap("samples/http-keepalive.pcap"), R"({"rule": "max_http_4xx", "max": 0})").r.passed);
}

TEST_CASE("check max_http_ttfb_ms / max_http_duration_ms: real slow responses") {
    // http-100-continue: the POST's time to first byte is 4.104 ms.
    auto o = eval1(cap("tests/captures/http-100-continue.pcap"), R"({"rule": "max_http_ttfb_ms", "max": 1})");
    CHECK(!o.r.passed);
    CHECK(*o.r.measured == doctest::Approx(4.104).epsilon(0.01));
    REQUIRE(o.r.evidence.size() == 1);
    CHECK(o.r.evidence[0].connection == 1);
    CHECK(o.r.evidence[0].transaction == 1);
    CHECK(eval1(cap("tests/captures/http-100-continue.pcap"), R"({"rule": "max_http_ttfb_ms", "max": 10})").r.passed);
    // http-chunked: 201.951 ms from request to last chunk.
    auto d = eval1(cap("tests/captures/http-chunked.pcap"), R"({"rule": "max_http_duration_ms", "percentile": "p50", "max": 100})");
    CHECK(!d.r.passed);
    CHECK(*d.r.measured == doctest::Approx(201.951).epsilon(0.01));
    CHECK(ids(d.r) == std::vector<uint64_t>{1});
    CHECK(eval1(cap("tests/captures/http-chunked.pcap"), R"({"rule": "max_http_duration_ms", "percentile": "p99", "max": 250})").r.passed);
    // http-head-304-204: the HEAD took 3.91 ms, the others < 0.1 ms: p50 passes at 1 ms, max fails.
    CHECK(eval1(cap("tests/captures/http-head-304-204.pcap"), R"({"rule": "max_http_ttfb_ms", "percentile": "p50", "max": 1})").r.passed);
    auto mx = eval1(cap("tests/captures/http-head-304-204.pcap"), R"({"rule": "max_http_ttfb_ms", "max": 1})");
    CHECK(!mx.r.passed);
    CHECK(mx.r.evidence_total == 1);
    // Method filter: only the GETs.
    CHECK(eval1(cap("tests/captures/http-head-304-204.pcap"), R"({"rule": "max_http_ttfb_ms", "max": 1, "method": "GET"})").r.passed);
}

TEST_CASE("check http_all_answered: a crafted unanswered request fails, http-pipelined passes") {
    const std::string p = unanswered_request_capture();
    auto o = eval1(p, R"({"rule": "http_all_answered"})");
    CHECK(!o.r.passed);
    CHECK(*o.r.measured == 1);
    REQUIRE(o.r.evidence.size() == 1);
    CHECK(o.r.evidence[0].connection == 1);
    CHECK(o.r.evidence[0].transaction == 2);
    CHECK(o.r.evidence[0].frame == 6);
    CHECK(eval1(p, R"({"rule": "http_all_answered", "uri_prefix": "/one"})").r.passed);
    CHECK(eval1(p, R"({"rule": "http_all_answered", "host": "other.example"})").r.passed);
    CHECK(!eval1(p, R"({"rule": "http_all_answered", "host": "EXAMPLE.com"})").r.passed);
    CHECK(eval1(cap("tests/captures/http-pipelined.pcap"), R"({"rule": "http_all_answered"})").r.passed);
}

TEST_CASE("check http_transactions: http-pipelined has exactly 3") {
    auto o = eval1(cap("tests/captures/http-pipelined.pcap"), R"({"rule": "http_transactions", "exactly": 3})");
    CHECK(o.r.passed);
    CHECK(*o.r.measured == 3);
    auto f = eval1(cap("tests/captures/http-pipelined.pcap"), R"({"rule": "http_transactions", "exactly": 2})");
    CHECK(!f.r.passed);
    CHECK(*f.r.measured == 3);
    CHECK(eval1(cap("tests/captures/http-pipelined.pcap"), R"({"rule": "http_transactions", "exactly": 1, "uri_prefix": "/b"})").r.passed);
    CHECK(!eval1(cap("tests/captures/http-pipelined.pcap"), R"({"rule": "http_transactions", "min": 4})").r.passed);
}

TEST_CASE("check scopes: server address/port filter connections; a BPF scope runs separately and keeps the main ids") {
    // Server port scope: no resets on port 8080 in http-mixed (all to :80).
    auto p = eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "no_resets", "scope": {"port": 8080}})");
    CHECK(p.r.passed);
    auto s = eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "no_resets", "scope": {"server": "10.99.0.2", "port": 80}})");
    CHECK(!s.r.passed);
    CHECK(eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "max_connections", "max": 0, "scope": {"server": "10.99.0.1"}})").r.passed);
    // BPF scope: only the RST client's port. In that run the connection is the
    // first one; the evidence carries the main run's id, 4.
    auto b = eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "no_resets", "scope": {"bpf": "tcp port 40014"}})");
    CHECK(!b.r.passed);
    CHECK(ids(b.r) == std::vector<uint64_t>{4});
    CHECK(b.r.evidence[0].frame == 42);
    auto bc = eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "max_connections", "max": 0, "scope": {"bpf": "tcp port 40012 or tcp port 40013"}})");
    CHECK(*bc.r.measured == 2);
    CHECK(ids(bc.r) == std::vector<uint64_t>{2, 3});
    CHECK(eval1(cap("samples/http-mixed.pcapng"), R"({"rule": "no_resets", "scope": {"bpf": "tcp port 40011"}})").r.passed);
    // IPv6 display filter.
    auto v6 = eval1(cap("tests/captures/tcp-ipv6.pcap"), R"({"rule": "max_connections", "max": 0})");
    REQUIRE(v6.r.evidence.size() == 1);
    CHECK(v6.r.evidence[0].display_filter == "ipv6.addr==fd99::1 && tcp.port==40191 && ipv6.addr==fd99::2 && tcp.port==80");
}

TEST_CASE("check evidence is capped per rule with a count of the rest") {
    RuleSet set = parse_rules_text(R"({"max_evidence": 1, "rules": [{"rule": "max_connections", "max": 0}]})", "t");
    CheckRun run = run_checks(set, {cap("samples/http-mixed.pcapng")}, "", AnalysisConfig{}, nullptr);
    CHECK(run.results[0].evidence.size() == 1);
    CHECK(run.results[0].evidence_total == 4);
    const std::string j = junit_xml(run.results, {"x"});
    CHECK(j.find("... and 3 more") != std::string::npos);
}
