// CI check rules: what `pcaplens check` evaluates against an analysis. Rules
// come from a JSON rules file (docs/checks.md) or from command-line flags;
// both produce the same plain values, validated on load.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pcaplens/decode/packet.hpp"
#include "pcaplens/findings/finding.hpp"

namespace pcaplens::check {

enum class RuleType : uint8_t {
    // anomalies
    fail_on,                      // any anomaly of these kinds
    fail_on_severity,             // any anomaly at or above a severity, minus an allow-list
    max_anomalies,                // at most N anomalies of one kind
    // TCP
    max_handshake_rtt_ms,         // every completed handshake's RTT <= max
    max_retransmission_rate_pct,  // retransmitted / (unique + retransmitted) payload bytes, %
    no_unanswered_syns,           // no connection whose SYNs got no answer
    no_refused_connections,       // no SYN answered by a RST
    no_resets,                    // no connection reset (optionally: only after establishment)
    all_closed_gracefully,        // every connection closed with FINs
    max_time_wait_reuse,          // at most N SYNs reusing a tuple still in TIME_WAIT
    max_connections,              // at most N connections
    // HTTP
    max_http_5xx,                 // count (max) or rate (max_rate_pct) of 5xx responses
    max_http_4xx,
    max_http_ttfb_ms,             // time to first byte, at a percentile
    max_http_duration_ms,         // first request byte -> last response byte, at a percentile
    http_all_answered,            // every request got a response
    http_transactions,            // expected transaction count (exactly / min / max)
};
inline constexpr int kRuleTypeCount = static_cast<int>(RuleType::http_transactions) + 1;

const char* rule_type_name(RuleType t);
std::optional<RuleType> rule_type_from_name(std::string_view s);
bool is_http_rule(RuleType t);

enum class LatencyStat : uint8_t { p50, p95, p99, max };
const char* latency_stat_name(LatencyStat s);

// Where a rule looks: packets matching a BPF expression (a separate analysis
// run), and/or connections to one server address and/or port.
struct RuleScope {
    std::string bpf;                    // empty: the whole (input-filtered) analysis
    std::optional<IpAddress> server;
    std::string server_text;            // as written
    std::optional<uint16_t> port;       // server port
    bool empty() const { return bpf.empty() && !server && !port; }
};

// HTTP rules only: which transactions count.
struct HttpMatch {
    std::string host;        // exact, case-insensitive (port in Host ignored when host has none)
    std::string uri_prefix;
    std::string method;      // exact, case-sensitive as on the wire
    bool empty() const { return host.empty() && uri_prefix.empty() && method.empty(); }
};

struct Rule {
    RuleType type{};
    std::string name;        // unique within a rule set (JUnit testcase name)
    RuleScope scope;
    HttpMatch http;
    // Parameters (which ones apply depends on the type; docs/checks.md):
    std::vector<AnomalyKind> kinds;        // fail_on
    AnomalyKind kind{};                    // max_anomalies
    Severity severity = Severity::warning; // fail_on_severity
    std::vector<AnomalyKind> allow;        // fail_on_severity
    std::optional<double> max;             // limits (counts are whole numbers)
    std::optional<double> max_rate_pct;    // max_http_5xx/4xx
    std::vector<int> allow_status;         // max_http_5xx/4xx: statuses exempted
    LatencyStat stat = LatencyStat::max;   // max_http_ttfb_ms / max_http_duration_ms
    bool after_established = false;        // no_resets
    bool allow_open = false;               // all_closed_gracefully: open at the end of the capture is fine
    std::optional<uint64_t> exactly, min;  // http_transactions (with max)
};

struct RuleSet {
    std::vector<Rule> rules;
    uint32_t max_evidence = 20;   // evidence items kept per rule
};

// Parses and validates a rules file. Throws UsageError("PATH: rules[3]
// (max_handshake_rtt_ms): 'max' must be a number") on any problem.
RuleSet parse_rules_file(const std::string& path);
// The same from text; `origin` names it in messages.
RuleSet parse_rules_text(const std::string& text, const std::string& origin);

// One-liner rules from command-line flags. Empty strings / nullopt mean "not given".
struct RuleFlags {
    std::vector<std::string> fail_on;       // "KIND[,KIND...]", repeatable
    std::string fail_on_severity;           // "warning" | "error"
    std::vector<std::string> allow;         // "KIND[,KIND...]", repeatable
    std::vector<std::string> max_kind;      // "KIND=N", repeatable
    std::optional<double> max_handshake_rtt_ms;
    std::optional<double> max_retransmission_rate_pct;
    bool no_unanswered_syns = false, no_refused = false, no_resets = false, no_resets_after_established = false;
    bool all_closed_gracefully = false, allow_open = false;
    std::optional<uint64_t> max_time_wait_reuse, max_connections;
    std::optional<uint64_t> max_http_5xx, max_http_4xx;
    std::optional<double> max_http_5xx_rate, max_http_4xx_rate;
    std::vector<std::string> http_allow_status;   // "CODE[,CODE...]"
    std::vector<std::string> max_ttfb_ms;         // "[p50|p95|p99|max=]MS", repeatable
    std::vector<std::string> max_duration_ms;
    bool http_all_answered = false;
    std::optional<uint64_t> expect_transactions;
    // Applied to every flag rule:
    std::string server;                     // address
    std::optional<uint16_t> server_port;
    HttpMatch http;
};
// Throws UsageError naming the flag on a bad value.
std::vector<Rule> rules_from_flags(const RuleFlags& f);

// Gives rules without a name a default one and makes names unique.
void assign_names(std::vector<Rule>& rules);

// Compiles `expr` for Ethernet to validate it; throws UsageError with libpcap's message.
void validate_bpf(const std::string& expr);

// Human text of a rule's limit, e.g. "<= 0", "<= 50 ms", "== 3", "2..5".
std::string limit_text(const Rule& r);
// JSON value of the limit (nullopt: a range, see limit_text).
std::optional<double> limit_value(const Rule& r);
const char* rule_unit(const Rule& r);    // "count", "ms", "%"

}  // namespace pcaplens::check
