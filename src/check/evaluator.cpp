// Streaming rule evaluation (counters, histograms, capped evidence) and the
// runner that analyses once per distinct BPF scope.
#include "pcaplens/check/evaluator.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <set>

#include "pcaplens/capture/source.hpp"
#include "pcaplens/report/reporters.hpp"

namespace pcaplens::check {

namespace {

std::string ms_text(double ms) {
    char b[64];
    std::snprintf(b, sizeof b, "%.3f ms", ms);
    return b;
}

std::string pct_text(double p) {
    char b[64];
    std::snprintf(b, sizeof b, "%.3f%%", p);
    return b;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    }
    return true;
}

bool host_matches(const std::string& want, std::string_view host) {
    if (iequals(want, host)) return true;
    // "example.com" matches "Host: example.com:8080"; IPv6 literals keep their brackets.
    if (want.find(':') == std::string::npos || (want.front() == '[' && want.back() == ']')) {
        const size_t colon = host.rfind(':');
        if (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos) {
            return iequals(want, host.substr(0, colon));
        }
    }
    return false;
}

bool http_matches(const HttpMatch& m, const HttpTransaction& x) {
    if (m.empty()) return true;
    if (!x.has_request) return false;
    if (!m.method.empty() && x.method() != m.method) return false;
    if (!m.host.empty() && !host_matches(m.host, x.host())) return false;
    if (!m.uri_prefix.empty() && x.uri().compare(0, m.uri_prefix.size(), m.uri_prefix) != 0) return false;
    return true;
}

std::string request_text(const HttpTransaction& x) {
    if (!x.has_request) return "(no request)";
    std::string s(x.method());
    s += ' ';
    s += x.uri();
    return s;
}

std::string response_text(const HttpTransaction& x) {
    if (!x.has_response) return "no response";
    if (!x.status) return "raw response (HTTP/0.9)";
    std::string s = std::to_string(x.status);
    if (!x.reason().empty()) (s += ' ') += x.reason();
    return s;
}


double stat_percent(LatencyStat s) {
    switch (s) {
        case LatencyStat::p50: return 50;
        case LatencyStat::p95: return 95;
        case LatencyStat::p99: return 99;
        case LatencyStat::max: break;
    }
    return 100;
}

bool is_anomaly_rule(RuleType t) {
    return t == RuleType::fail_on || t == RuleType::fail_on_severity || t == RuleType::max_anomalies || t == RuleType::max_time_wait_reuse;
}

}  // namespace

std::string display_filter(const Endpoint& client, const Endpoint& server) {
    const char* ip = client.ip.family == 6 ? "ipv6.addr" : "ip.addr";
    return std::string(ip) + "==" + client.ip.str() + " && tcp.port==" + std::to_string(client.port) + " && " + ip + "==" +
           server.ip.str() + " && tcp.port==" + std::to_string(server.port);
}

struct Evaluator::Impl {
    struct State {
        const Rule* rule = nullptr;
        CheckResult res;
        std::array<bool, kAnomalyKindCount> kinds{};  // anomaly rules: which kinds count
        std::array<uint64_t, kAnomalyKindCount> conn_counts{};  // per kind, seen on connections
        uint64_t count = 0;        // offending items
        uint64_t total = 0;        // denominator (transactions) / connections
        uint64_t in_scope = 0;     // connections the rule's scope selected
        uint64_t unique_bytes = 0, retx_bytes = 0;
        std::optional<double> max_seen;
        std::unique_ptr<LatencyHistogram> hist;
    };
    std::vector<State> states;
    std::vector<CheckResult> results;
    uint32_t cap = 20;

    void add(State& s, Evidence e) {
        ++s.res.evidence_total;
        if (s.res.evidence.size() < cap) s.res.evidence.push_back(std::move(e));
    }

    static Evidence conn_evidence(const TcpConnectionFacts& t, int64_t ts, uint64_t frame, std::string detail) {
        Evidence e;
        e.connection = t.id;
        e.ts_ns = ts;
        e.frame = frame;
        e.display_filter = display_filter(t.client, t.server);
        e.detail = std::move(detail);
        e.client = t.client;
        e.server = t.server;
        e.first_frame = t.first_frame;
        return e;
    }

    static bool in_scope(const Rule& r, const TcpConnectionFacts& t) {
        if (r.scope.server && !(t.server.ip == *r.scope.server)) return false;
        if (r.scope.port && t.server.port != *r.scope.port) return false;
        return true;
    }

    void connection(State& s, const ConnectionRecord& rec) {
        const Rule& r = *s.rule;
        const TcpConnectionFacts& t = rec.tcp;
        if (!in_scope(r, t)) return;
        ++s.in_scope;
        ++s.total;
        switch (r.type) {
            case RuleType::fail_on:
            case RuleType::fail_on_severity:
            case RuleType::max_anomalies:
            case RuleType::max_time_wait_reuse:
                for (const Finding& f : t.anomalies) {
                    if (!s.kinds[static_cast<size_t>(f.kind)]) continue;
                    ++s.count;
                    ++s.conn_counts[static_cast<size_t>(f.kind)];
                    add(s, conn_evidence(t, f.ts_ns, f.frame, std::string(kind_name(f.kind)) + (f.detail.empty() ? "" : ": " + f.detail)));
                }
                for (const auto& [k, n] : t.anomalies_dropped) {
                    if (!s.kinds[static_cast<size_t>(k)]) continue;
                    s.count += n;
                    s.conn_counts[static_cast<size_t>(k)] += n;
                    s.res.evidence_total += n;  // counted; beyond --max-anomalies, so no record to show
                }
                break;
            case RuleType::max_handshake_rtt_ms: {
                const auto rtt = t.handshake.rtt_ms();
                if (!rtt) break;
                s.max_seen = std::max(s.max_seen.value_or(0.0), *rtt);
                if (*rtt > *r.max) {
                    ++s.count;
                    std::string d = "handshake rtt " + ms_text(*rtt);
                    const auto a = t.handshake.syn_to_synack_ms(), b = t.handshake.synack_to_ack_ms();
                    if (a && b) d += " (SYN->SYN-ACK " + ms_text(*a) + ", SYN-ACK->ACK " + ms_text(*b) + ")";
                    add(s, conn_evidence(t, t.handshake.ack_ts, t.handshake.ack_frame, d));
                }
                break;
            }
            case RuleType::max_retransmission_rate_pct: {
                uint64_t uniq = 0, retx = 0;
                for (const auto& d : t.dir) {
                    uniq += d.payload_bytes;
                    retx += d.retransmitted_bytes;
                }
                s.unique_bytes += uniq;
                s.retx_bytes += retx;
                if (retx == 0) break;
                const double rate = 100.0 * static_cast<double>(retx) / static_cast<double>(uniq + retx);
                if (rate > *r.max) {
                    int64_t ts = t.first_ts;
                    uint64_t frame = t.first_frame;
                    for (const Finding& f : t.anomalies) {
                        if (f.kind == AnomalyKind::retransmission || f.kind == AnomalyKind::fast_retransmission ||
                            f.kind == AnomalyKind::spurious_retransmission) {
                            ts = f.ts_ns;
                            frame = f.frame;
                            break;
                        }
                    }
                    add(s, conn_evidence(t, ts, frame,
                                         "retransmission rate " + pct_text(rate) + " (" + std::to_string(retx) + " of " +
                                             std::to_string(uniq + retx) + " payload bytes retransmitted; first retransmission at this frame)"));
                }
                break;
            }
            case RuleType::no_unanswered_syns:
                if (t.close.kind == CloseKind::unanswered) {
                    ++s.count;
                    add(s, conn_evidence(t, t.handshake.syn_ts, t.handshake.syn_frame,
                                         "SYN unanswered (" + std::to_string(t.handshake.syn_retransmissions) + " retransmissions)"));
                }
                break;
            case RuleType::no_refused_connections:
                if (t.close.kind == CloseKind::refused) {
                    ++s.count;
                    add(s, conn_evidence(t, t.close.ts_ns, t.close.frame, "connection refused: the server answered the SYN with a RST"));
                }
                break;
            case RuleType::no_resets: {
                if (!t.close.rst_by) break;
                const bool established = t.handshake.complete || t.midstream;
                if (r.after_established && (!established || t.close.kind == CloseKind::refused)) break;
                ++s.count;
                int64_t ts = t.close.ts_ns;
                uint64_t frame = t.close.frame;
                for (const Finding& f : t.anomalies) {
                    if (f.kind == AnomalyKind::rst_abort || f.kind == AnomalyKind::connection_refused) {
                        ts = f.ts_ns;
                        frame = f.frame;
                        break;
                    }
                }
                std::string d = std::string("RST by ") + role_name(*t.close.rst_by) + " in " + state_name(t.close.rst_sender_state);
                if (t.close.kind == CloseKind::refused) d += " (connection refused)";
                if (t.close.rst_after_fin) d += ", after a FIN";
                if (t.close.rst_with_data) d += ", carrying data";
                add(s, conn_evidence(t, ts, frame, d));
                break;
            }
            case RuleType::all_closed_gracefully: {
                const CloseKind k = t.close.kind;
                if (k == CloseKind::fin) break;
                if (r.allow_open && (k == CloseKind::open || k == CloseKind::half_closed)) break;
                ++s.count;
                std::string d = std::string("close: ") + close_kind_name(k);
                if (t.close.rst_by) d += std::string(" by ") + role_name(*t.close.rst_by);
                if (k == CloseKind::open || k == CloseKind::half_closed) d += " (still open at the end of the capture)";
                add(s, conn_evidence(t, t.close.ts_ns ? t.close.ts_ns : t.last_ts, t.close.frame ? t.close.frame : t.last_frame, d));
                break;
            }
            case RuleType::max_connections:
                ++s.count;
                if (static_cast<double>(s.count) > *r.max) {
                    add(s, conn_evidence(t, t.first_ts, t.first_frame, "connection number " + std::to_string(s.count) + " in scope"));
                }
                break;
            case RuleType::max_http_5xx:
            case RuleType::max_http_4xx: {
                const int cls = r.type == RuleType::max_http_5xx ? 5 : 4;
                --s.total;  // counts transactions, not connections
                for (size_t i = 0; i < rec.http.size(); ++i) {
                    const HttpTransaction& x = rec.http[i];
                    if (!x.status || !http_matches(r.http, x)) continue;
                    ++s.total;
                    if (x.status / 100 != cls) continue;
                    if (std::find(r.allow_status.begin(), r.allow_status.end(), x.status) != r.allow_status.end()) continue;
                    ++s.count;
                    Evidence e = conn_evidence(t, x.response_ts, x.response_frame, request_text(x) + " -> " + response_text(x));
                    e.transaction = i + 1;
                    add(s, std::move(e));
                }
                break;
            }
            case RuleType::max_http_ttfb_ms:
            case RuleType::max_http_duration_ms: {
                const bool ttfb = r.type == RuleType::max_http_ttfb_ms;
                for (size_t i = 0; i < rec.http.size(); ++i) {
                    const HttpTransaction& x = rec.http[i];
                    if (!http_matches(r.http, x)) continue;
                    const auto ns = ttfb ? x.ttfb_ns() : x.duration_ns();
                    if (!ns) continue;
                    s.hist->add(*ns);
                    const double ms = static_cast<double>(*ns) / 1e6;
                    if (ms > *r.max) {
                        ++s.count;
                        Evidence e = conn_evidence(t, ttfb ? x.response_ts : x.response_end_ts, x.response_frame,
                                                   request_text(x) + " -> " + response_text(x) + ": " +
                                                       (ttfb ? "time to first byte " : "duration ") + ms_text(ms));
                        e.transaction = i + 1;
                        add(s, std::move(e));
                    }
                }
                break;
            }
            case RuleType::http_all_answered:
                for (size_t i = 0; i < rec.http.size(); ++i) {
                    const HttpTransaction& x = rec.http[i];
                    if (!x.has_request || x.has_response || !http_matches(r.http, x)) continue;
                    ++s.count;
                    Evidence e = conn_evidence(t, x.request_ts, x.request_frame,
                                               request_text(x) + ": no response (connection close: " + close_kind_name(t.close.kind) + ")");
                    e.transaction = i + 1;
                    add(s, std::move(e));
                }
                break;
            case RuleType::http_transactions:
                if (r.http.empty()) {
                    s.count += rec.http_total;
                } else {
                    for (const HttpTransaction& x : rec.http) {
                        if (http_matches(r.http, x)) ++s.count;
                    }
                }
                break;
        }
    }

    void finish(State& s, const FinalReport& rep) {
        const Rule& r = *s.rule;
        CheckResult& res = s.res;
        res.rule = &r;
        const bool unscoped_conns = !r.scope.server && !r.scope.port;
        if (is_anomaly_rule(r.type) && unscoped_conns) {
            // Capture-level findings (not tied to a connection) count too.
            for (size_t k = 0; k < kAnomalyKindCount; ++k) {
                if (!s.kinds[k]) continue;
                const uint64_t all = rep.summary.anomalies[k];
                if (all > s.conn_counts[k]) {
                    const uint64_t extra = all - s.conn_counts[k];
                    s.count += extra;
                    uint64_t shown = 0;
                    for (const Finding& f : rep.summary.capture_findings) {
                        if (f.connection != 0 || static_cast<size_t>(f.kind) != k) continue;
                        Evidence e;
                        e.ts_ns = f.ts_ns;
                        e.frame = f.frame;
                        e.display_filter = f.frame ? "frame.number==" + std::to_string(f.frame) : "";
                        e.detail = std::string(kind_name(f.kind)) + (f.detail.empty() ? "" : ": " + f.detail);
                        add(s, std::move(e));
                        ++shown;
                    }
                    if (extra > shown) res.evidence_total += extra - shown;
                }
            }
        }
        switch (r.type) {
            case RuleType::fail_on:
            case RuleType::fail_on_severity:
            case RuleType::no_unanswered_syns:
            case RuleType::no_refused_connections:
            case RuleType::no_resets:
            case RuleType::all_closed_gracefully:
            case RuleType::http_all_answered:
                res.measured = static_cast<double>(s.count);
                res.passed = s.count == 0;
                res.measured_text = std::to_string(s.count);
                break;
            case RuleType::max_anomalies:
            case RuleType::max_time_wait_reuse:
            case RuleType::max_connections:
                res.measured = static_cast<double>(s.count);
                res.passed = static_cast<double>(s.count) <= *r.max;
                res.measured_text = std::to_string(s.count);
                break;
            case RuleType::max_handshake_rtt_ms:
                res.measured = s.max_seen;
                res.passed = s.count == 0;
                res.measured_text = s.max_seen ? "max " + ms_text(*s.max_seen) : "no completed handshake";
                if (s.count) res.note = std::to_string(s.count) + " handshake(s) over the limit";
                break;
            case RuleType::max_retransmission_rate_pct: {
                const uint64_t denom = s.unique_bytes + s.retx_bytes;
                const double rate = denom ? 100.0 * static_cast<double>(s.retx_bytes) / static_cast<double>(denom) : 0.0;
                res.measured = rate;
                res.passed = rate <= *r.max;
                res.measured_text = pct_text(rate) + " (" + std::to_string(s.retx_bytes) + " of " + std::to_string(denom) +
                                    " payload bytes retransmitted)";
                break;
            }
            case RuleType::max_http_5xx:
            case RuleType::max_http_4xx:
                if (r.max_rate_pct) {
                    const double rate = s.total ? 100.0 * static_cast<double>(s.count) / static_cast<double>(s.total) : 0.0;
                    res.measured = rate;
                    res.passed = rate <= *r.max_rate_pct;
                    res.measured_text = pct_text(rate) + " (" + std::to_string(s.count) + " of " + std::to_string(s.total) + " responses)";
                } else {
                    res.measured = static_cast<double>(s.count);
                    res.passed = static_cast<double>(s.count) <= r.max.value_or(0);
                    res.measured_text = std::to_string(s.count) + " of " + std::to_string(s.total) + " responses";
                }
                break;
            case RuleType::max_http_ttfb_ms:
            case RuleType::max_http_duration_ms:
                if (s.hist->count() == 0) {
                    res.measured.reset();
                    res.passed = true;
                    res.measured_text = "no matching transactions";
                } else {
                    const double v = r.stat == LatencyStat::max ? s.hist->max_ms() : s.hist->percentile_ms(stat_percent(r.stat));
                    res.measured = v;
                    res.passed = v <= *r.max;
                    res.measured_text = std::string(latency_stat_name(r.stat)) + " " + ms_text(v) + " over " +
                                        std::to_string(s.hist->count()) + " transactions";
                    if (s.count) res.note = std::to_string(s.count) + " transaction(s) over the limit";
                }
                break;
            case RuleType::http_transactions: {
                const auto n = s.count;
                res.measured = static_cast<double>(n);
                bool ok = true;
                if (r.exactly) ok = n == *r.exactly;
                if (r.min && n < *r.min) ok = false;
                if (r.max && static_cast<double>(n) > *r.max) ok = false;
                res.passed = ok;
                res.measured_text = std::to_string(n) + " transactions";
                break;
            }
        }
        if (res.passed) {
            res.evidence.clear();
            res.evidence_total = 0;
        }
        // A scope that selects nothing passes every rule: say so, so that a
        // mistyped server address or port does not read as a clean result.
        if (!r.scope.empty() && s.in_scope == 0) {
            res.note += res.note.empty() ? "" : "; ";
            res.note += "the scope matched no connection";
        }
    }
};

Evaluator::Evaluator(std::vector<const Rule*> rules, uint32_t max_evidence) : impl_(std::make_unique<Impl>()) {
    impl_->cap = max_evidence;
    for (const Rule* r : rules) {
        Impl::State s;
        s.rule = r;
        s.res.rule = r;
        switch (r->type) {
            case RuleType::fail_on:
                for (AnomalyKind k : r->kinds) s.kinds[static_cast<size_t>(k)] = true;
                break;
            case RuleType::fail_on_severity:
                for (const CatalogueEntry& e : catalogue_all()) {
                    if (e.severity >= r->severity) s.kinds[static_cast<size_t>(e.kind)] = true;
                }
                for (AnomalyKind k : r->allow) s.kinds[static_cast<size_t>(k)] = false;
                break;
            case RuleType::max_anomalies: s.kinds[static_cast<size_t>(r->kind)] = true; break;
            case RuleType::max_time_wait_reuse: s.kinds[static_cast<size_t>(AnomalyKind::time_wait_reuse)] = true; break;
            case RuleType::max_http_ttfb_ms:
            case RuleType::max_http_duration_ms: s.hist = std::make_unique<LatencyHistogram>(); break;
            default: break;
        }
        impl_->states.push_back(std::move(s));
    }
}
Evaluator::~Evaluator() = default;
Evaluator::Evaluator(Evaluator&&) noexcept = default;
Evaluator& Evaluator::operator=(Evaluator&&) noexcept = default;

void Evaluator::connection(const ConnectionRecord& rec) {
    for (auto& s : impl_->states) impl_->connection(s, rec);
}

void Evaluator::end(const FinalReport& report) {
    impl_->results.clear();
    for (auto& s : impl_->states) {
        impl_->finish(s, report);
        impl_->results.push_back(s.res);
    }
}

const std::vector<CheckResult>& Evaluator::results() const { return impl_->results; }

// ---- runner -------------------------------------------------------------

namespace {

std::pair<Endpoint, Endpoint> ordered(const Endpoint& a, const Endpoint& b) {
    auto key = [](const Endpoint& e) { return std::make_pair(e.ip, e.port); };
    return key(a) <= key(b) ? std::make_pair(a, b) : std::make_pair(b, a);
}

struct TupleKey {
    IpAddress a, b;
    uint16_t pa = 0, pb = 0;
    auto operator<=>(const TupleKey&) const = default;
};

TupleKey tuple_key(const Endpoint& c, const Endpoint& s) {
    auto [x, y] = ordered(c, s);
    return TupleKey{x.ip, y.ip, x.port, y.port};
}

// Main-run sink: maps evidence of BPF-scoped runs to the main run's ids,
// feeds the unscoped evaluator, forwards to the reporter.
class MainSink final : public ReportSink {
public:
    MainSink(Evaluator& eval, ReportSink* inner, std::multimap<TupleKey, Evidence*> pending)
        : eval_(eval), inner_(inner), pending_(std::move(pending)) {}
    void begin(const RunInfo& run) override {
        if (inner_) inner_->begin(run);
    }
    void connection(const ConnectionRecord& rec) override {
        if (!pending_.empty()) {
            const auto range = pending_.equal_range(tuple_key(rec.tcp.client, rec.tcp.server));
            for (auto it = range.first; it != range.second;) {
                Evidence& e = *it->second;
                if (e.first_frame >= rec.tcp.first_frame && e.first_frame <= rec.tcp.last_frame) {
                    e.connection = rec.tcp.id;
                    e.display_filter = display_filter(rec.tcp.client, rec.tcp.server);
                    it = pending_.erase(it);
                } else {
                    ++it;
                }
            }
        }
        eval_.connection(rec);
        if (inner_) inner_->connection(rec);
    }
    void end(const FinalReport& report) override {
        files_ = report.files;
        summary_ = report.summary;
        eval_.end(report);
        if (inner_) inner_->end(report);
    }
    // Evidence of a scoped run whose connection the main run never reported
    // (it read fewer packets, e.g. -c counts after each run's own filter, or
    // split the 4-tuple differently): its scoped-run id would name a
    // different connection of the main report, so it names none.
    void unmatched_evidence() {
        for (auto& [key, e] : pending_) {
            e->connection = 0;
            e->detail = "a connection the main report does not list: " + e->detail;
        }
        pending_.clear();
    }
    std::vector<FileStats> files_;
    Summary summary_;

private:
    Evaluator& eval_;
    ReportSink* inner_;
    std::multimap<TupleKey, Evidence*> pending_;
};

}  // namespace

namespace {
std::string scope_filter(const std::string& filter, const std::string& bpf) {
    return filter.empty() ? bpf : "(" + filter + ") and (" + bpf + ")";
}
// The inputs read through one rule's scope; a scope BPF that does not compile
// for an input's link type is a usage error naming the rule.
std::unique_ptr<MergedFileSource> open_scope(const Rule& r, const std::vector<std::string>& files, const std::string& combined) {
    try {
        return std::make_unique<MergedFileSource>(files, combined);
    } catch (const UsageError& e) {
        throw UsageError("rule '" + r.name + "': scope bpf '" + r.scope.bpf + "': " + e.what());
    }
}
}  // namespace

void validate_scopes(const RuleSet& set, const std::vector<std::string>& files, const std::string& filter) {
    std::set<std::string> done;
    for (const Rule& r : set.rules) {
        if (r.scope.bpf.empty() || !done.insert(r.scope.bpf).second) continue;
        open_scope(r, files, scope_filter(filter, r.scope.bpf));
    }
}

CheckRun run_checks(const RuleSet& set, const std::vector<std::string>& files, const std::string& filter, const AnalysisConfig& cfg,
                    ReportSink* main_sink, const std::atomic<bool>* stop) {
    // Group rules by BPF scope, in order of first appearance.
    std::vector<std::string> scopes;
    std::map<std::string, std::vector<size_t>> by_scope;
    for (size_t i = 0; i < set.rules.size(); ++i) {
        const std::string& b = set.rules[i].scope.bpf;
        if (!b.empty() && !by_scope.count(b)) scopes.push_back(b);
        by_scope[b].push_back(i);
    }
    std::vector<CheckResult> results(set.rules.size());
    std::multimap<TupleKey, Evidence*> pending;
    for (const std::string& bpf : scopes) {
        const auto& idx = by_scope[bpf];
        const std::string combined = scope_filter(filter, bpf);
        std::unique_ptr<MergedFileSource> source = open_scope(set.rules[idx.front()], files, combined);
        std::vector<const Rule*> rules;
        for (size_t i : idx) rules.push_back(&set.rules[i]);
        Evaluator eval(rules, set.max_evidence);
        CheckSink sink(eval, nullptr);
        Analysis analysis(cfg, sink);
        RunInfo run;
        run.inputs = files;
        run.filter = combined;
        analysis.run(*source, run, stop);
        if (const auto e = source->filter_error()) {
            throw UsageError("rule '" + set.rules[idx.front()].name + "': scope bpf '" + bpf + "': " + *e);
        }
        for (size_t k = 0; k < idx.size(); ++k) results[idx[k]] = eval.results()[k];
    }
    for (const std::string& bpf : scopes) {
        for (size_t i : by_scope[bpf]) {
            for (Evidence& e : results[i].evidence) {
                if (e.connection) pending.emplace(tuple_key(e.client, e.server), &e);
            }
        }
    }
    std::vector<const Rule*> main_rules;
    const auto& unscoped = by_scope[""];
    for (size_t i : unscoped) main_rules.push_back(&set.rules[i]);
    Evaluator eval(main_rules, set.max_evidence);
    MainSink sink(eval, main_sink, std::move(pending));
    auto source = std::make_unique<MergedFileSource>(files, filter);
    Analysis analysis(cfg, sink);
    RunInfo run;
    run.inputs = files;
    run.filter = filter;
    analysis.run(*source, run, stop);
    if (const auto e = source->filter_error()) throw UsageError(*e);
    sink.unmatched_evidence();
    for (size_t k = 0; k < unscoped.size(); ++k) results[unscoped[k]] = eval.results()[k];
    CheckRun out;
    out.results = std::move(results);
    out.files = source->file_stats();
    out.summary = sink.summary_;
    return out;
}

}  // namespace pcaplens::check
