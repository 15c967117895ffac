// Check rules: the rules file is validated with messages that point at the
// bad rule; flags build the same rules; output escaping.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "pcaplens/capture/source.hpp"
#include "pcaplens/check/evaluator.hpp"
#include "pcaplens/check/rules.hpp"

using namespace pcaplens;
using namespace pcaplens::check;

namespace {

std::string parse_error(const std::string& text) {
    try {
        parse_rules_text(text, "rules.json");
    } catch (const UsageError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("check rules file: a valid file parses into typed rules") {
    const RuleSet s = parse_rules_text(R"({"max_evidence": 5, "rules": [
        {"rule": "fail_on", "kinds": ["rst_abort", "syn_unanswered"]},
        {"rule": "fail_on_severity", "severity": "error", "allow": ["overlap_conflict"]},
        {"rule": "max_anomalies", "kind": "retransmission", "max": 3},
        {"rule": "max_handshake_rtt_ms", "max": 12.5, "scope": {"bpf": "tcp port 80", "server": "10.0.0.2", "port": 80}},
        {"rule": "max_http_ttfb_ms", "percentile": "p95", "max": 200, "host": "example.com", "uri_prefix": "/api", "method": "GET"},
        {"rule": "max_http_5xx", "max_rate_pct": 1.5, "allow_status": [503]},
        {"rule": "http_transactions", "min": 2, "max": 5},
        {"rule": "no_resets", "after_established": true, "name": "mine"}
    ]})",
                                       "r.json");
    REQUIRE(s.rules.size() == 8);
    CHECK(s.max_evidence == 5);
    CHECK(s.rules[0].type == RuleType::fail_on);
    CHECK(s.rules[0].kinds.size() == 2);
    CHECK(s.rules[0].name == "fail_on rst_abort,syn_unanswered");
    CHECK(s.rules[1].severity == Severity::error);
    CHECK(s.rules[1].allow == std::vector<AnomalyKind>{AnomalyKind::overlap_conflict});
    CHECK(s.rules[2].kind == AnomalyKind::retransmission);
    CHECK(*s.rules[2].max == 3);
    CHECK(*s.rules[3].max == 12.5);
    CHECK(s.rules[3].scope.bpf == "tcp port 80");
    CHECK(s.rules[3].scope.server->str() == "10.0.0.2");
    CHECK(*s.rules[3].scope.port == 80);
    CHECK(s.rules[4].stat == LatencyStat::p95);
    CHECK(s.rules[4].http.host == "example.com");
    CHECK(s.rules[4].http.uri_prefix == "/api");
    CHECK(s.rules[5].max_rate_pct == 1.5);
    CHECK(s.rules[5].allow_status == std::vector<int>{503});
    CHECK(limit_text(s.rules[6]) == "2..5");
    CHECK(!limit_value(s.rules[6]));
    CHECK(s.rules[7].name == "mine");
    CHECK(s.rules[7].after_established);
}

TEST_CASE("check rules file: errors name the file, the rule and the problem") {
    CHECK(parse_error(R"({"rules": [{"rule": "no_resets"}, {"rule": "no_resets"}, {"rule": "no_resets"},
        {"rule": "max_handshake_rtt_ms", "max": "50"}]})") ==
          "rules.json: rules[3] (max_handshake_rtt_ms): 'max' must be a number");
    CHECK(parse_error(R"({"rules": [{"rule": "no_such_rule"}]})").find("rules.json: rules[0]: unknown rule 'no_such_rule' (known rules: fail_on,") == 0);
    CHECK(parse_error(R"({"rules": [{"rule": "fail_on", "kinds": ["rst_abort", "rst_abrot"]}]})") ==
          "rules.json: rules[0] (fail_on): 'kinds': unknown anomaly kind 'rst_abrot' (see pcaplens --list-anomalies)");
    CHECK(parse_error(R"({"rules": [{"rule": "max_anomalies", "kind": "nope", "max": 1}]})").find("unknown anomaly kind 'nope'") != std::string::npos);
    const std::string bpf = parse_error(R"({"rules": [{"rule": "no_resets", "scope": {"bpf": "tcp prot 80"}}]})");
    CHECK(bpf.find("rules.json: rules[0] (no_resets): scope: bad BPF expression 'tcp prot 80': ") == 0);
    CHECK(parse_error("{\"rules\": [\n  {\"rule\": \"no_resets\",}\n]}").find("rules.json: invalid JSON: parse error at line 2") == 0);
    CHECK(parse_error(R"({"rules": [{"rule": "no_resets", "max": 3}]})") ==
          "rules.json: rules[0] (no_resets): unknown key 'max' (this rule takes: rule, name, scope, description, after_established)");
    CHECK(parse_error(R"({"rules": [{"rule": "max_connections", "max": 1.5}]})") ==
          "rules.json: rules[0] (max_connections): 'max' must be a non-negative integer");
    CHECK(parse_error(R"({"rules": [{"rule": "max_connections"}]})") == "rules.json: rules[0] (max_connections): missing 'max'");
    CHECK(parse_error(R"({"rules": [{"max": 1}]})") == "rules.json: rules[0]: missing 'rule' (the rule type, e.g. \"no_resets\")");
    CHECK(parse_error(R"({"rules": {}})") == "rules.json: \"rules\" must be an array");
    CHECK(parse_error(R"({"rule": []})").find("rules.json: unknown top-level key 'rule'") == 0);
    CHECK(parse_error(R"([1])") == "rules.json: the document must be a JSON object with a \"rules\" array");
    CHECK(parse_error(R"({"rules": [{"rule": "no_resets", "scope": {"server": "10.0.0.300"}}]})") ==
          "rules.json: rules[0] (no_resets): scope: 'server' is not an IPv4 or IPv6 address: '10.0.0.300'");
    CHECK(parse_error(R"({"rules": [{"rule": "no_resets", "scope": {"port": 70000}}]})") ==
          "rules.json: rules[0] (no_resets): scope: 'port' must be an integer from 0 to 65535");
    CHECK(parse_error(R"({"rules": [{"rule": "max_http_ttfb_ms", "max": 5, "percentile": "p90"}]})") ==
          "rules.json: rules[0] (max_http_ttfb_ms): 'percentile' must be one of \"p50\", \"p95\", \"p99\", \"max\"");
    CHECK(parse_error(R"({"rules": [{"rule": "fail_on_severity", "severity": "info"}]})") ==
          "rules.json: rules[0] (fail_on_severity): 'severity' must be \"warning\" or \"error\"");
    CHECK(parse_error(R"({"rules": [{"rule": "no_resets", "name": "a"}, {"rule": "no_refused_connections", "name": "a"}]})") ==
          "rules.json: rules[1] (no_refused_connections): duplicate rule name 'a'");
    CHECK(parse_error(R"({"rules": [{"rule": "http_transactions"}]})") ==
          "rules.json: rules[0] (http_transactions): give 'exactly', 'min' or 'max'");
    CHECK(parse_error(R"({"rules": [{"rule": "max_http_5xx", "max": 1, "max_rate_pct": 2}]})") ==
          "rules.json: rules[0] (max_http_5xx): give either 'max' (a count) or 'max_rate_pct', not both");
}

TEST_CASE("check rules file: hostile JSON is refused with a message, never a crash") {
    // A number beyond a double threw nlohmann's out_of_range, which nothing
    // caught: the program aborted (status 134).
    CHECK(parse_error(R"({"rules": [{"rule": "max_handshake_rtt_ms", "max": 1e400}]})") ==
          "rules.json: invalid JSON: number overflow parsing '1e400'");
    CHECK(parse_error(R"({"description": -1e999, "rules": [{"rule": "no_resets"}]})") ==
          "rules.json: invalid JSON: number overflow parsing '-1e999'");
    // JSON lets a key repeat and the parser keeps the last: the invalid -1
    // would never have been seen. Any object, any depth.
    CHECK(parse_error(R"({"rules": [{"rule": "max_connections", "max": -1, "max": 5}]})") ==
          "rules.json: invalid JSON: key 'max' appears twice in one object");
    CHECK(parse_error(R"({"rules": [{"rule": "no_resets", "rule": "max_connections", "max": 0}]})") ==
          "rules.json: invalid JSON: key 'rule' appears twice in one object");
    CHECK(parse_error(R"({"rules": [{"rule": "no_resets", "scope": {"port": 80, "port": 81}}]})") ==
          "rules.json: invalid JSON: key 'port' appears twice in one object");
    CHECK(parse_error(R"({"rules": [{"rule": "no_resets", "name": "a"}, {"rule": "no_refused_connections", "name": "b"}]})") ==
          "(no error)");   // the same key in two objects is fine
    CHECK(parse_error(R"({"rules": [{"rule": "no_resets", "name": "   "}]})") ==
          "rules.json: rules[0] (no_resets): 'name' must be a non-empty string");
    CHECK(parse_error(R"({"description": 5, "rules": [{"rule": "no_resets"}]})") == "rules.json: 'description' must be a string");
}

TEST_CASE("check flags: --fail-on with no kind at all is a usage error, not a rule that checks nothing") {
    RuleFlags f;
    f.fail_on = {""};
    CHECK_THROWS_WITH_AS(rules_from_flags(f), "--fail-on: no anomaly kind given (see --list-anomalies)", UsageError);
    f.fail_on = {" , ,"};
    CHECK_THROWS_AS(rules_from_flags(f), UsageError);
    f.fail_on = {"rst_abort"};
    CHECK(rules_from_flags(f).size() == 1);
}

TEST_CASE("check rules file: a missing file is a usage error naming it") {
    try {
        parse_rules_file("/nonexistent/rules.json");
        FAIL("no error");
    } catch (const UsageError& e) {
        CHECK(std::string(e.what()) == "/nonexistent/rules.json: cannot read the rules file");
    }
}

TEST_CASE("check rules file: the shipped example parses") {
    const RuleSet s = parse_rules_file(std::string(PCAPLENS_SOURCE_DIR) + "/samples/rules-example.json");
    CHECK(s.rules.size() == 17);
    // Every rule type appears in the example.
    std::set<RuleType> types;
    for (const Rule& r : s.rules) types.insert(r.type);
    CHECK(types.size() == static_cast<size_t>(kRuleTypeCount));
}

TEST_CASE("check flags: one-liner rules") {
    RuleFlags f;
    f.fail_on = {"rst_abort,syn_unanswered"};
    f.fail_on_severity = "warning";
    f.allow = {"rst_abort", "http_server_error"};
    f.max_kind = {"retransmission=5"};
    f.max_http_5xx = 0;
    f.http_allow_status = {"500,503"};
    f.max_ttfb_ms = {"p95=200", "1000"};
    f.no_resets_after_established = true;
    f.server = "fd99::2";
    f.server_port = 80;
    const auto rules = rules_from_flags(f);
    REQUIRE(rules.size() == 7);
    CHECK(rules[0].type == RuleType::fail_on);
    CHECK(rules[1].type == RuleType::fail_on_severity);
    CHECK(rules[1].allow.size() == 2);
    CHECK(rules[2].type == RuleType::max_anomalies);
    CHECK(*rules[2].max == 5);
    CHECK(rules[3].type == RuleType::no_resets);
    CHECK(rules[3].after_established);
    CHECK(rules[4].type == RuleType::max_http_5xx);
    CHECK(rules[4].allow_status == std::vector<int>{500, 503});
    CHECK(rules[5].stat == LatencyStat::p95);
    CHECK(*rules[5].max == 200);
    CHECK(rules[6].stat == LatencyStat::max);
    for (const Rule& r : rules) {
        CHECK(r.scope.server->family == 6);
        CHECK(*r.scope.port == 80);
    }

    auto err = [](RuleFlags g) {
        try {
            rules_from_flags(g);
        } catch (const UsageError& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    RuleFlags g;
    g.max_kind = {"retransmision=5"};
    CHECK(err(g) == "--max: unknown anomaly kind 'retransmision' (see --list-anomalies)");
    g = {};
    g.max_kind = {"retransmission"};
    CHECK(err(g) == "--max: expected KIND=N, got 'retransmission'");
    g = {};
    g.allow = {"rst_abort"};
    CHECK(err(g) == "--allow only applies to --fail-on-severity, which was not given");
    g = {};
    g.max_ttfb_ms = {"p90=3"};
    CHECK(err(g) == "--max-ttfb-ms: expected [p50|p95|p99|max=]MS, got 'p90=3'");
    g = {};
    g.no_resets = true;
    g.server = "host.example";
    CHECK(err(g) == "--server: not an IPv4 or IPv6 address: 'host.example'");
}

TEST_CASE("check output: display filters, XML and GitHub escaping") {
    Endpoint c, s;
    c.ip.family = 4;
    c.ip.bytes = {10, 0, 0, 1};
    c.port = 40001;
    s.ip.family = 4;
    s.ip.bytes = {10, 0, 0, 2};
    s.port = 80;
    CHECK(display_filter(c, s) == "ip.addr==10.0.0.1 && tcp.port==40001 && ip.addr==10.0.0.2 && tcp.port==80");
    c.ip.family = s.ip.family = 6;
    c.ip.bytes = {0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    s.ip.bytes = {0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    CHECK(display_filter(c, s) == "ipv6.addr==fd99::1 && tcp.port==40001 && ipv6.addr==fd99::2 && tcp.port==80");

    CHECK(xml_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&apos;");
    CHECK(xml_escape(std::string("x\x01y\xff", 4)) == "x\xEF\xBF\xBDy\xEF\xBF\xBD");
    CHECK(xml_escape("caf\xC3\xA9") == "caf\xC3\xA9");
    CHECK(gh_escape("a:b,c%\n", true) == "a%3Ab%2Cc%25%0A");
    CHECK(gh_escape("a:b,c%\n", false) == "a:b,c%25%0A");
    // Other control bytes are encoded too, not written raw to the runner's log.
    CHECK(gh_escape(std::string("a\0b\x1b[31mc\x7f", 10), false) == "a%00b%1B[31mc%7F");
    CHECK(gh_escape("\t", true) == "%09");
}
