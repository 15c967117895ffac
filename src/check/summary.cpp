// Check results for people (text) and for the JSON report's "checks" section.
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "pcaplens/check/evaluator.hpp"
#include "pcaplens/report/json_writer.hpp"
#include "pcaplens/report/reporters.hpp"

namespace pcaplens::check {

namespace {

std::string scope_text(const Rule& r) {
    std::string s;
    auto part = [&](const std::string& p) { s += (s.empty() ? "" : ", ") + p; };
    if (!r.scope.bpf.empty()) part("bpf '" + r.scope.bpf + "'");
    if (r.scope.server) part("server " + r.scope.server_text);
    if (r.scope.port) part("server port " + std::to_string(*r.scope.port));
    if (!r.http.method.empty()) part("method " + r.http.method);
    if (!r.http.host.empty()) part("host " + r.http.host);
    if (!r.http.uri_prefix.empty()) part("uri prefix " + r.http.uri_prefix);
    return s;
}

}  // namespace

CheckTotals totals(const std::vector<CheckResult>& results) {
    CheckTotals t;
    for (const CheckResult& r : results) {
        ++t.rules;
        if (r.passed) ++t.passed;
        else ++t.failed;
    }
    return t;
}

std::string evidence_line(const Evidence& e) {
    std::string s = e.connection ? "#" + std::to_string(e.connection) : std::string("capture");
    if (e.transaction) s += " transaction " + std::to_string(e.transaction);
    if (e.ts_ns) s += "  " + format_ts(e.ts_ns);
    if (e.frame) s += "  frame " + std::to_string(e.frame);
    s += "  " + e.detail;
    return s;
}

std::string summary_line(const CheckResult& r) {
    return "measured " + (r.measured_text.empty() ? std::string("-") : r.measured_text) + ", limit " + limit_text(*r.rule);
}

void write_text_summary(std::FILE* out, const std::vector<CheckResult>& results, const std::vector<std::string>& inputs, bool color,
                        const std::vector<std::string>& damage) {
    const char* green = color ? "\033[32m" : "";
    const char* red = color ? "\033[31m" : "";
    const char* bold = color ? "\033[1m" : "";
    const char* reset = color ? "\033[0m" : "";
    std::string in;
    for (const auto& f : inputs) in += (in.empty() ? "" : ", ") + printable(f);
    std::fprintf(out, "%sChecks%s (%s)\n", bold, reset, in.c_str());
    for (const CheckResult& r : results) {
        std::fprintf(out, "  %s%s%s  %s: %s\n", r.passed ? green : red, r.passed ? "PASS" : "FAIL", reset, printable(r.rule->name).c_str(),
                     printable(summary_line(r)).c_str());
        const std::string sc = scope_text(*r.rule);
        if (!sc.empty() && r.rule->name.find('[') == std::string::npos) std::fprintf(out, "        scope: %s\n", printable(sc).c_str());
        if (!r.note.empty()) std::fprintf(out, "        %s\n", printable(r.note).c_str());
        for (const Evidence& e : r.evidence) {
            std::fprintf(out, "        %s\n", printable(evidence_line(e)).c_str());
            if (!e.display_filter.empty()) std::fprintf(out, "            wireshark: %s\n", e.display_filter.c_str());
        }
        if (r.evidence_total > r.evidence.size()) {
            std::fprintf(out, "        ... and %" PRIu64 " more\n", r.evidence_total - static_cast<uint64_t>(r.evidence.size()));
        }
    }
    for (const std::string& d : damage) std::fprintf(out, "  %sDAMAGED%s  input %s\n", red, reset, printable(d).c_str());
    const CheckTotals t = totals(results);
    if (damage.empty()) {
        std::fprintf(out, "%s%zu rules: %zu passed, %zu failed%s\n", t.failed ? red : green, t.rules, t.passed, t.failed, reset);
    } else {
        std::fprintf(out, "%s%zu rules: %zu passed, %zu failed; %zu input%s damaged: the rules saw only what was read before it%s\n", red,
                     t.rules, t.passed, t.failed, damage.size(), damage.size() == 1 ? "" : "s", reset);
    }
}

std::string checks_json(const std::vector<CheckResult>& results) {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.begin_array();
    for (const CheckResult& r : results) {
        const Rule& rule = *r.rule;
        w.begin_object().key("name").str(rule.name).key("rule").str(rule_type_name(rule.type));
        w.key("scope").begin_object();
        if (!rule.scope.bpf.empty()) w.key("bpf").str(rule.scope.bpf);
        if (rule.scope.server) w.key("server").str(rule.scope.server->str());
        if (rule.scope.port) w.key("port").num(static_cast<uint64_t>(*rule.scope.port));
        if (!rule.http.host.empty()) w.key("host").str(rule.http.host);
        if (!rule.http.uri_prefix.empty()) w.key("uri_prefix").str(rule.http.uri_prefix);
        if (!rule.http.method.empty()) w.key("method").str(rule.http.method);
        w.end_object();
        w.key("passed").boolean(r.passed);
        w.key("measured");
        if (r.measured) w.real(*r.measured, 6);
        else w.null();
        w.key("measured_text").str(r.measured_text);
        w.key("limit");
        const auto lim = limit_value(rule);
        if (lim) w.real(*lim, 6);
        else w.null();
        w.key("limit_text").str(limit_text(rule)).key("unit").str(rule_unit(rule));
        w.key("evidence").begin_array();
        for (const Evidence& e : r.evidence) {
            w.begin_object().key("connection");
            if (e.connection) w.num(e.connection);
            else w.null();
            if (e.transaction) w.key("transaction").num(e.transaction);
            w.key("ts");
            if (e.ts_ns) w.timestamp(e.ts_ns);
            else w.null();
            w.key("frame");
            if (e.frame) w.num(e.frame);
            else w.null();
            w.key("display_filter");
            if (!e.display_filter.empty()) w.str(e.display_filter);
            else w.null();
            w.key("detail").str(e.detail).end_object();
        }
        w.end_array();
        w.key("evidence_total").num(r.evidence_total);
        w.key("note");
        if (!r.note.empty()) w.str(r.note);
        else w.null();
        w.end_object();
    }
    w.end_array();
    return buf.str();
}

}  // namespace pcaplens::check
