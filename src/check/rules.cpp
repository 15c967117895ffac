// Check rules: the JSON rules file (validated with messages that point at the
// bad rule) and the one-liner flags. The format is documented in docs/checks.md.
#include "pcaplens/check/rules.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "pcaplens/capture/source.hpp"

namespace pcaplens::check {

namespace {

struct TypeInfo {
    RuleType type;
    const char* name;
    std::vector<const char*> keys;  // parameters besides rule/name/scope/description
};

const std::vector<TypeInfo>& type_table() {
    static const std::vector<TypeInfo> t = {
        {RuleType::fail_on, "fail_on", {"kinds"}},
        {RuleType::fail_on_severity, "fail_on_severity", {"severity", "allow"}},
        {RuleType::max_anomalies, "max_anomalies", {"kind", "max"}},
        {RuleType::max_handshake_rtt_ms, "max_handshake_rtt_ms", {"max"}},
        {RuleType::max_retransmission_rate_pct, "max_retransmission_rate_pct", {"max"}},
        {RuleType::no_unanswered_syns, "no_unanswered_syns", {}},
        {RuleType::no_refused_connections, "no_refused_connections", {}},
        {RuleType::no_resets, "no_resets", {"after_established"}},
        {RuleType::all_closed_gracefully, "all_closed_gracefully", {"allow_open"}},
        {RuleType::max_time_wait_reuse, "max_time_wait_reuse", {"max"}},
        {RuleType::max_connections, "max_connections", {"max"}},
        {RuleType::max_http_5xx, "max_http_5xx", {"max", "max_rate_pct", "allow_status", "host", "uri_prefix", "method"}},
        {RuleType::max_http_4xx, "max_http_4xx", {"max", "max_rate_pct", "allow_status", "host", "uri_prefix", "method"}},
        {RuleType::max_http_ttfb_ms, "max_http_ttfb_ms", {"max", "percentile", "host", "uri_prefix", "method"}},
        {RuleType::max_http_duration_ms, "max_http_duration_ms", {"max", "percentile", "host", "uri_prefix", "method"}},
        {RuleType::http_all_answered, "http_all_answered", {"host", "uri_prefix", "method"}},
        {RuleType::http_transactions, "http_transactions", {"exactly", "min", "max", "host", "uri_prefix", "method"}},
    };
    return t;
}

const TypeInfo& info(RuleType t) { return type_table()[static_cast<size_t>(t)]; }

std::string fmt_num(double v) {
    // Whole numbers in full where a double holds them exactly (up to 2^53;
    // a limit of 9007199254740991 used to read 9.0072e+15); everything else
    // in the shortest form that reads back to the same double.
    if (std::floor(v) == v && std::fabs(v) <= 9007199254740992.0) return std::to_string(static_cast<int64_t>(v));
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t end = s.find(',', start);
        if (end == std::string::npos) end = s.size();
        std::string p = s.substr(start, end - start);
        // trim spaces
        while (!p.empty() && p.front() == ' ') p.erase(p.begin());
        while (!p.empty() && p.back() == ' ') p.pop_back();
        if (!p.empty()) out.push_back(p);
        start = end + 1;
    }
    return out;
}

std::optional<LatencyStat> stat_from_name(std::string_view s) {
    if (s == "p50") return LatencyStat::p50;
    if (s == "p95") return LatencyStat::p95;
    if (s == "p99") return LatencyStat::p99;
    if (s == "max") return LatencyStat::max;
    return std::nullopt;
}

// ---- JSON rules file --------------------------------------------------

using nlohmann::json;

class FileParser {
public:
    explicit FileParser(std::string origin) : origin_(std::move(origin)) {}

    RuleSet parse(const std::string& text) {
        json doc;
        // JSON allows repeated keys and nlohmann keeps the last: a rules file
        // with {"max": -1, "max": 5} would hide its invalid value. Refused.
        std::vector<std::set<std::string>> open_objects;
        std::string duplicate;
        const json::parser_callback_t note_keys = [&](int, json::parse_event_t ev, json& parsed) {
            if (ev == json::parse_event_t::object_start) {
                open_objects.emplace_back();
            } else if (ev == json::parse_event_t::object_end) {
                if (!open_objects.empty()) open_objects.pop_back();
            } else if (ev == json::parse_event_t::key && !open_objects.empty() && parsed.is_string()) {
                if (!open_objects.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
                    duplicate = parsed.get<std::string>();
                }
            }
            return true;
        };
        try {
            doc = json::parse(text, note_keys);
        } catch (const json::exception& e) {   // parse_error, and out_of_range for a number beyond a double
            std::string m = e.what();
            const size_t p = m.find("] ");
            if (p != std::string::npos && m.rfind("[json.exception", 0) == 0) m = m.substr(p + 2);
            fail("invalid JSON: " + m);
        }
        if (!duplicate.empty()) fail("invalid JSON: key '" + duplicate + "' appears twice in one object");
        if (!doc.is_object()) fail("the document must be a JSON object with a \"rules\" array");
        RuleSet set;
        for (auto it = doc.begin(); it != doc.end(); ++it) {
            const std::string& k = it.key();
            if (k != "rules" && k != "max_evidence" && k != "version" && k != "description" && k != "$schema") {
                fail("unknown top-level key '" + k + "' (expected rules, max_evidence, version, description)");
            }
        }
        if (doc.contains("description") && !doc["description"].is_string()) fail("'description' must be a string");
        if (doc.contains("version")) {
            const json& v = doc["version"];
            if (!v.is_number_integer() || v.get<int64_t>() != 1) fail("'version' must be 1");
        }
        if (doc.contains("max_evidence")) {
            const json& v = doc["max_evidence"];
            if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 1000000) {
                fail("'max_evidence' must be an integer from 0 to 1000000");
            }
            set.max_evidence = static_cast<uint32_t>(v.get<int64_t>());
        }
        if (!doc.contains("rules")) fail("missing \"rules\" array");
        const json& rules = doc["rules"];
        if (!rules.is_array()) fail("\"rules\" must be an array");
        for (size_t i = 0; i < rules.size(); ++i) set.rules.push_back(rule(rules[i], i));
        std::set<std::string> names;
        for (size_t i = 0; i < set.rules.size(); ++i) {
            if (!set.rules[i].name.empty() && !names.insert(set.rules[i].name).second) {
                where_ = "rules[" + std::to_string(i) + "] (" + rule_type_name(set.rules[i].type) + ")";
                fail("duplicate rule name '" + set.rules[i].name + "'");
            }
        }
        assign_names(set.rules);
        return set;
    }

private:
    [[noreturn]] void fail(const std::string& msg) const {
        throw UsageError(origin_ + ": " + (where_.empty() ? "" : where_ + ": ") + msg);
    }

    Rule rule(const json& j, size_t index) {
        where_ = "rules[" + std::to_string(index) + "]";
        if (!j.is_object()) fail("a rule must be a JSON object");
        if (!j.contains("rule")) fail("missing 'rule' (the rule type, e.g. \"no_resets\")");
        if (!j["rule"].is_string()) fail("'rule' must be a string");
        const std::string tname = j["rule"].get<std::string>();
        const auto type = rule_type_from_name(tname);
        if (!type) {
            std::string all;
            for (const auto& t : type_table()) all += std::string(all.empty() ? "" : ", ") + t.name;
            fail("unknown rule '" + tname + "' (known rules: " + all + ")");
        }
        where_ += " (" + tname + ")";
        Rule r;
        r.type = *type;
        const TypeInfo& ti = info(*type);
        for (auto it = j.begin(); it != j.end(); ++it) {
            const std::string& k = it.key();
            if (k == "rule" || k == "name" || k == "scope" || k == "description") continue;
            if (std::find_if(ti.keys.begin(), ti.keys.end(), [&](const char* s) { return k == s; }) == ti.keys.end()) {
                std::string allowed = "rule, name, scope, description";
                for (const char* s : ti.keys) allowed += std::string(", ") + s;
                fail("unknown key '" + k + "' (this rule takes: " + allowed + ")");
            }
        }
        if (j.contains("name")) {
            if (!j["name"].is_string() || j["name"].get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos) {
                fail("'name' must be a non-empty string");
            }
            r.name = j["name"].get<std::string>();
        }
        if (j.contains("description") && !j["description"].is_string()) fail("'description' must be a string");
        if (j.contains("scope")) scope(j["scope"], r.scope);
        if (j.contains("host")) r.http.host = str(j, "host");
        if (j.contains("uri_prefix")) r.http.uri_prefix = str(j, "uri_prefix");
        if (j.contains("method")) r.http.method = str(j, "method");

        switch (r.type) {
            case RuleType::fail_on:
                if (!j.contains("kinds")) fail("missing 'kinds' (an array of anomaly kinds)");
                r.kinds = kinds(j["kinds"], "kinds");
                if (r.kinds.empty()) fail("'kinds' must not be empty");
                break;
            case RuleType::fail_on_severity: {
                if (!j.contains("severity")) fail("missing 'severity' (\"warning\" or \"error\")");
                const std::string s = str(j, "severity");
                if (s != "warning" && s != "error") fail("'severity' must be \"warning\" or \"error\"");
                r.severity = s == "error" ? Severity::error : Severity::warning;
                if (j.contains("allow")) r.allow = kinds(j["allow"], "allow");
                break;
            }
            case RuleType::max_anomalies: {
                if (!j.contains("kind")) fail("missing 'kind' (an anomaly kind)");
                const std::string k = str(j, "kind");
                const auto kind = kind_from_name(k);
                if (!kind) fail("'kind': unknown anomaly kind '" + k + "' (see pcaplens --list-anomalies)");
                r.kind = *kind;
                r.max = count(j, "max", true);
                break;
            }
            case RuleType::max_handshake_rtt_ms:
            case RuleType::max_http_ttfb_ms:
            case RuleType::max_http_duration_ms:
                r.max = number(j, "max", true);
                if (j.contains("percentile")) {
                    if (r.type == RuleType::max_handshake_rtt_ms) fail("unknown key 'percentile'");
                    const std::string s = str(j, "percentile");
                    const auto st = stat_from_name(s);
                    if (!st) fail("'percentile' must be one of \"p50\", \"p95\", \"p99\", \"max\"");
                    r.stat = *st;
                }
                break;
            case RuleType::max_retransmission_rate_pct:
                r.max = number(j, "max", true);
                if (*r.max > 100) fail("'max' must be a percentage from 0 to 100");
                break;
            case RuleType::no_unanswered_syns:
            case RuleType::no_refused_connections:
            case RuleType::http_all_answered: break;
            case RuleType::no_resets: r.after_established = boolean(j, "after_established"); break;
            case RuleType::all_closed_gracefully: r.allow_open = boolean(j, "allow_open"); break;
            case RuleType::max_time_wait_reuse:
            case RuleType::max_connections: r.max = count(j, "max", true); break;
            case RuleType::max_http_5xx:
            case RuleType::max_http_4xx:
                if (j.contains("max") && j.contains("max_rate_pct")) fail("give either 'max' (a count) or 'max_rate_pct', not both");
                if (j.contains("max_rate_pct")) {
                    r.max_rate_pct = number(j, "max_rate_pct", true);
                    if (*r.max_rate_pct > 100) fail("'max_rate_pct' must be a percentage from 0 to 100");
                } else {
                    r.max = j.contains("max") ? count(j, "max", true) : 0.0;
                }
                if (j.contains("allow_status")) {
                    const json& a = j["allow_status"];
                    if (!a.is_array()) fail("'allow_status' must be an array of HTTP status codes");
                    for (const json& s : a) {
                        if (!s.is_number_integer() || s.get<int64_t>() < 100 || s.get<int64_t>() > 599) {
                            fail("'allow_status' must be an array of HTTP status codes (100..599)");
                        }
                        r.allow_status.push_back(static_cast<int>(s.get<int64_t>()));
                    }
                }
                break;
            case RuleType::http_transactions:
                if (j.contains("exactly")) r.exactly = static_cast<uint64_t>(count(j, "exactly", true));
                if (j.contains("min")) r.min = static_cast<uint64_t>(count(j, "min", true));
                if (j.contains("max")) r.max = count(j, "max", true);
                if (!r.exactly && !r.min && !r.max) fail("give 'exactly', 'min' or 'max'");
                if (r.exactly && (r.min || r.max)) fail("'exactly' cannot be combined with 'min' or 'max'");
                if (r.min && r.max && static_cast<double>(*r.min) > *r.max) fail("'min' is greater than 'max'");
                break;
        }
        return r;
    }

    void scope(const json& s, RuleScope& out) {
        if (!s.is_object()) fail("'scope' must be an object with bpf, server and/or port");
        for (auto it = s.begin(); it != s.end(); ++it) {
            const std::string& k = it.key();
            if (k != "bpf" && k != "server" && k != "port") fail("scope: unknown key '" + k + "' (expected bpf, server, port)");
        }
        if (s.contains("bpf")) {
            if (!s["bpf"].is_string()) fail("scope: 'bpf' must be a string (a BPF filter expression)");
            out.bpf = s["bpf"].get<std::string>();
            try {
                validate_bpf(out.bpf);
            } catch (const UsageError& e) {
                fail(std::string("scope: bad BPF expression '") + out.bpf + "': " + e.what());
            }
        }
        if (s.contains("server")) {
            if (!s["server"].is_string()) fail("scope: 'server' must be a string (an IPv4 or IPv6 address)");
            out.server_text = s["server"].get<std::string>();
            out.server = parse_ip_address(out.server_text);
            if (!out.server) fail("scope: 'server' is not an IPv4 or IPv6 address: '" + out.server_text + "'");
        }
        if (s.contains("port")) {
            const json& p = s["port"];
            if (!p.is_number_integer() || p.get<int64_t>() < 0 || p.get<int64_t>() > 65535) fail("scope: 'port' must be an integer from 0 to 65535");
            out.port = static_cast<uint16_t>(p.get<int64_t>());
        }
    }

    std::string str(const json& j, const char* key) {
        const json& v = j[key];
        if (!v.is_string()) fail(std::string("'") + key + "' must be a string");
        return v.get<std::string>();
    }
    bool boolean(const json& j, const char* key) {
        if (!j.contains(key)) return false;
        const json& v = j[key];
        if (!v.is_boolean()) fail(std::string("'") + key + "' must be true or false");
        return v.get<bool>();
    }
    double number(const json& j, const char* key, bool required) {
        if (!j.contains(key)) {
            if (required) fail(std::string("missing '") + key + "'");
            return 0;
        }
        const json& v = j[key];
        if (!v.is_number()) fail(std::string("'") + key + "' must be a number");
        const double d = v.get<double>();
        if (!(d >= 0) || !std::isfinite(d)) fail(std::string("'") + key + "' must not be negative");
        return d;
    }
    double count(const json& j, const char* key, bool required) {
        if (!j.contains(key)) {
            if (required) fail(std::string("missing '") + key + "'");
            return 0;
        }
        const json& v = j[key];
        if (!v.is_number_integer() || v.get<int64_t>() < 0) fail(std::string("'") + key + "' must be a non-negative integer");
        return static_cast<double>(v.get<int64_t>());
    }
    std::vector<AnomalyKind> kinds(const json& v, const char* key) {
        if (!v.is_array()) fail(std::string("'") + key + "' must be an array of anomaly kinds");
        std::vector<AnomalyKind> out;
        for (const json& e : v) {
            if (!e.is_string()) fail(std::string("'") + key + "' must be an array of anomaly kinds (strings)");
            const std::string s = e.get<std::string>();
            const auto k = kind_from_name(s);
            if (!k) fail(std::string("'") + key + "': unknown anomaly kind '" + s + "' (see pcaplens --list-anomalies)");
            out.push_back(*k);
        }
        return out;
    }

    std::string origin_;
    std::string where_;
};

// ---- flags ------------------------------------------------------------

std::vector<AnomalyKind> flag_kinds(const std::vector<std::string>& values, const char* flag) {
    std::vector<AnomalyKind> out;
    if (const auto unknown = parse_kind_list(values, out)) {
        throw UsageError(std::string(flag) + ": unknown anomaly kind '" + *unknown + "' (see --list-anomalies)");
    }
    return out;
}

bool parse_double(const std::string& s, double& out) {
    try {
        size_t used = 0;
        out = std::stod(s, &used);
        return used == s.size() && std::isfinite(out) && out >= 0;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

const char* rule_type_name(RuleType t) { return info(t).name; }

std::optional<RuleType> rule_type_from_name(std::string_view s) {
    for (const auto& t : type_table()) {
        if (s == t.name) return t.type;
    }
    return std::nullopt;
}

bool is_http_rule(RuleType t) {
    return t == RuleType::max_http_5xx || t == RuleType::max_http_4xx || t == RuleType::max_http_ttfb_ms ||
           t == RuleType::max_http_duration_ms || t == RuleType::http_all_answered || t == RuleType::http_transactions;
}

const char* latency_stat_name(LatencyStat s) {
    switch (s) {
        case LatencyStat::p50: return "p50";
        case LatencyStat::p95: return "p95";
        case LatencyStat::p99: return "p99";
        case LatencyStat::max: break;
    }
    return "max";
}

void validate_bpf(const std::string& expr) {
    if (expr.empty()) return;
    BpfFilter f(expr, DLT_EN10MB);
}

RuleSet parse_rules_text(const std::string& text, const std::string& origin) { return FileParser(origin).parse(text); }

RuleSet parse_rules_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError(path + ": cannot read the rules file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_rules_text(ss.str(), path);
}

std::vector<Rule> rules_from_flags(const RuleFlags& f) {
    std::vector<Rule> out;
    RuleScope scope;
    if (!f.server.empty()) {
        scope.server_text = f.server;
        scope.server = parse_ip_address(f.server);
        if (!scope.server) throw UsageError("--server: not an IPv4 or IPv6 address: '" + f.server + "'");
    }
    scope.port = f.server_port;
    auto add = [&](RuleType t) -> Rule& {
        Rule r;
        r.type = t;
        r.scope = scope;
        if (is_http_rule(t)) r.http = f.http;
        out.push_back(std::move(r));
        return out.back();
    };
    const auto allow = flag_kinds(f.allow, "--allow");
    if (!f.fail_on.empty()) {
        auto kinds = flag_kinds(f.fail_on, "--fail-on");
        if (kinds.empty()) throw UsageError("--fail-on: no anomaly kind given (see --list-anomalies)");
        add(RuleType::fail_on).kinds = std::move(kinds);
    }
    if (!f.fail_on_severity.empty()) {
        if (f.fail_on_severity != "warning" && f.fail_on_severity != "error") {
            throw UsageError("--fail-on-severity: must be 'warning' or 'error', not '" + f.fail_on_severity + "'");
        }
        Rule& r = add(RuleType::fail_on_severity);
        r.severity = f.fail_on_severity == "error" ? Severity::error : Severity::warning;
        r.allow = allow;
    } else if (!allow.empty()) {
        throw UsageError("--allow only applies to --fail-on-severity, which was not given");
    }
    for (const std::string& m : f.max_kind) {
        const size_t eq = m.find('=');
        if (eq == std::string::npos) throw UsageError("--max: expected KIND=N, got '" + m + "'");
        const std::string k = m.substr(0, eq), n = m.substr(eq + 1);
        const auto kind = kind_from_name(k);
        if (!kind) throw UsageError("--max: unknown anomaly kind '" + k + "' (see --list-anomalies)");
        uint64_t v = 0;
        const auto res = std::from_chars(n.data(), n.data() + n.size(), v);
        if (n.empty() || res.ec != std::errc() || res.ptr != n.data() + n.size()) {
            throw UsageError("--max " + m + ": N must be a non-negative integer");
        }
        Rule& r = add(RuleType::max_anomalies);
        r.kind = *kind;
        r.max = static_cast<double>(v);
    }
    if (f.max_handshake_rtt_ms) add(RuleType::max_handshake_rtt_ms).max = *f.max_handshake_rtt_ms;
    if (f.max_retransmission_rate_pct) {
        if (*f.max_retransmission_rate_pct < 0 || *f.max_retransmission_rate_pct > 100) {
            throw UsageError("--max-retransmission-rate: must be a percentage from 0 to 100");
        }
        add(RuleType::max_retransmission_rate_pct).max = *f.max_retransmission_rate_pct;
    }
    if (f.no_unanswered_syns) add(RuleType::no_unanswered_syns);
    if (f.no_refused) add(RuleType::no_refused_connections);
    if (f.no_resets || f.no_resets_after_established) add(RuleType::no_resets).after_established = !f.no_resets;
    if (f.all_closed_gracefully) add(RuleType::all_closed_gracefully).allow_open = f.allow_open;
    else if (f.allow_open) throw UsageError("--allow-open only applies to --all-closed-gracefully, which was not given");
    if (f.max_time_wait_reuse) add(RuleType::max_time_wait_reuse).max = static_cast<double>(*f.max_time_wait_reuse);
    if (f.max_connections) add(RuleType::max_connections).max = static_cast<double>(*f.max_connections);

    std::vector<int> allow_status;
    for (const std::string& v : f.http_allow_status) {
        for (const std::string& s : split_commas(v)) {
            int code = 0;
            const auto res = std::from_chars(s.data(), s.data() + s.size(), code);
            if (res.ec != std::errc() || res.ptr != s.data() + s.size() || code < 100 || code > 599) {
                throw UsageError("--http-allow-status: not an HTTP status code: '" + s + "'");
            }
            allow_status.push_back(code);
        }
    }
    bool status_rule = false;
    auto status = [&](RuleType t, const std::optional<uint64_t>& max, const std::optional<double>& rate, const char* flag) {
        if (rate && (*rate < 0 || *rate > 100)) throw UsageError(std::string(flag) + "-rate: must be a percentage from 0 to 100");
        if (max) {
            Rule& r = add(t);
            r.max = static_cast<double>(*max);
            r.allow_status = allow_status;
            status_rule = true;
        }
        if (rate) {
            Rule& r = add(t);
            r.max_rate_pct = *rate;
            r.allow_status = allow_status;
            status_rule = true;
        }
    };
    status(RuleType::max_http_5xx, f.max_http_5xx, f.max_http_5xx_rate, "--max-http-5xx");
    status(RuleType::max_http_4xx, f.max_http_4xx, f.max_http_4xx_rate, "--max-http-4xx");
    if (!allow_status.empty() && !status_rule) {
        throw UsageError("--http-allow-status only applies to --max-http-5xx/--max-http-4xx[-rate], none of which was given");
    }
    auto latency = [&](RuleType t, const std::vector<std::string>& values, const char* flag) {
        for (const std::string& v : values) {
            LatencyStat st = LatencyStat::max;
            std::string num = v;
            const size_t eq = v.find('=');
            if (eq != std::string::npos) {
                const auto s = stat_from_name(v.substr(0, eq));
                if (!s) throw UsageError(std::string(flag) + ": expected [p50|p95|p99|max=]MS, got '" + v + "'");
                st = *s;
                num = v.substr(eq + 1);
            }
            double ms = 0;
            if (!parse_double(num, ms)) throw UsageError(std::string(flag) + ": not a non-negative number of milliseconds: '" + num + "'");
            Rule& r = add(t);
            r.stat = st;
            r.max = ms;
        }
    };
    latency(RuleType::max_http_ttfb_ms, f.max_ttfb_ms, "--max-ttfb-ms");
    latency(RuleType::max_http_duration_ms, f.max_duration_ms, "--max-http-duration-ms");
    if (f.http_all_answered) add(RuleType::http_all_answered);
    if (f.expect_transactions) add(RuleType::http_transactions).exactly = *f.expect_transactions;
    assign_names(out);
    return out;
}

void assign_names(std::vector<Rule>& rules) {
    std::map<std::string, int> used;
    for (const Rule& r : rules) {
        if (!r.name.empty()) used[r.name] = 1;
    }
    for (Rule& r : rules) {
        if (!r.name.empty()) continue;
        std::string n = rule_type_name(r.type);
        switch (r.type) {
            case RuleType::fail_on: {
                // Each kind once, in the order given ("--fail-on a,b,a").
                n += " ";
                for (size_t i = 0; i < r.kinds.size(); ++i) {
                    if (std::find(r.kinds.begin(), r.kinds.begin() + static_cast<std::ptrdiff_t>(i), r.kinds[i]) !=
                        r.kinds.begin() + static_cast<std::ptrdiff_t>(i)) {
                        continue;
                    }
                    n += (n.back() == ' ' ? "" : ",") + std::string(kind_name(r.kinds[i]));
                }
                break;
            }
            case RuleType::fail_on_severity: n += std::string(" ") + std::string(severity_name(r.severity)); break;
            case RuleType::max_anomalies: n += " " + std::string(kind_name(r.kind)); break;
            case RuleType::max_http_ttfb_ms:
            case RuleType::max_http_duration_ms: n += std::string(" ") + latency_stat_name(r.stat); break;
            case RuleType::max_http_5xx:
            case RuleType::max_http_4xx:
                if (r.max_rate_pct) n += " rate";
                break;
            case RuleType::no_resets:
                if (r.after_established) n += " after_established";
                break;
            default: break;
        }
        if (!r.scope.bpf.empty()) n += " [" + r.scope.bpf + "]";
        if (r.scope.server) {
            n += " [server " + r.scope.server_text + (r.scope.port ? " port " + std::to_string(*r.scope.port) : std::string()) + "]";
        } else if (r.scope.port) {
            n += " [port " + std::to_string(*r.scope.port) + "]";
        }
        if (!r.http.empty()) {
            n += " [";
            std::string sep;
            if (!r.http.method.empty()) n += sep + r.http.method, sep = " ";
            if (!r.http.host.empty()) n += sep + "host " + r.http.host, sep = " ";
            if (!r.http.uri_prefix.empty()) n += sep + r.http.uri_prefix + "*";
            n += "]";
        }
        std::string unique = n;
        for (int k = 2; used.count(unique); ++k) unique = n + " (" + std::to_string(k) + ")";
        used[unique] = 1;
        r.name = unique;
    }
}

std::string limit_text(const Rule& r) {
    switch (r.type) {
        case RuleType::fail_on:
        case RuleType::fail_on_severity:
        case RuleType::no_unanswered_syns:
        case RuleType::no_refused_connections:
        case RuleType::no_resets:
        case RuleType::all_closed_gracefully:
        case RuleType::http_all_answered: return "0";
        case RuleType::max_handshake_rtt_ms:
        case RuleType::max_http_ttfb_ms:
        case RuleType::max_http_duration_ms: return "<= " + fmt_num(*r.max) + " ms";
        case RuleType::max_retransmission_rate_pct: return "<= " + fmt_num(*r.max) + "%";
        case RuleType::max_http_5xx:
        case RuleType::max_http_4xx:
            if (r.max_rate_pct) return "<= " + fmt_num(*r.max_rate_pct) + "%";
            return "<= " + fmt_num(r.max.value_or(0));
        case RuleType::http_transactions:
            if (r.exactly) return "== " + std::to_string(*r.exactly);
            if (r.min && r.max) return std::to_string(*r.min) + ".." + fmt_num(*r.max);
            if (r.min) return ">= " + std::to_string(*r.min);
            return "<= " + fmt_num(*r.max);
        default: return "<= " + fmt_num(r.max.value_or(0));
    }
}

std::optional<double> limit_value(const Rule& r) {
    switch (r.type) {
        case RuleType::fail_on:
        case RuleType::fail_on_severity:
        case RuleType::no_unanswered_syns:
        case RuleType::no_refused_connections:
        case RuleType::no_resets:
        case RuleType::all_closed_gracefully:
        case RuleType::http_all_answered: return 0.0;
        case RuleType::max_http_5xx:
        case RuleType::max_http_4xx:
            if (r.max_rate_pct) return *r.max_rate_pct;
            return r.max.value_or(0);
        case RuleType::http_transactions:
            if (r.exactly) return static_cast<double>(*r.exactly);
            if (r.min && r.max) return std::nullopt;
            if (r.min) return static_cast<double>(*r.min);
            return *r.max;
        default: return r.max;
    }
}

const char* rule_unit(const Rule& r) {
    switch (r.type) {
        case RuleType::max_handshake_rtt_ms:
        case RuleType::max_http_ttfb_ms:
        case RuleType::max_http_duration_ms: return "ms";
        case RuleType::max_retransmission_rate_pct: return "%";
        case RuleType::max_http_5xx:
        case RuleType::max_http_4xx: return r.max_rate_pct ? "%" : "count";
        default: return "count";
    }
}

}  // namespace pcaplens::check
