// Evaluating check rules while the analysis streams: a ReportSink decorator
// sees every finished connection once (and the final report), keeps only
// counters, latency histograms and a capped evidence list per rule, and
// forwards everything to the real reporter.
#pragma once
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pcaplens/check/rules.hpp"
#include "pcaplens/pipeline.hpp"
#include "pcaplens/report/record.hpp"

namespace pcaplens::check {

// One connection or transaction that broke a rule.
struct Evidence {
    uint64_t connection = 0;            // 0: capture-level (no connection)
    uint64_t transaction = 0;           // 1-based index within the connection; 0: none
    int64_t ts_ns = 0;
    uint64_t frame = 0;
    std::string display_filter;         // Wireshark display filter for the connection
    std::string detail;
    // For mapping ids of a BPF-scoped run back to the main run:
    Endpoint client, server;
    uint64_t first_frame = 0;
};

struct CheckResult {
    const Rule* rule = nullptr;
    bool passed = true;
    std::optional<double> measured;     // nullopt: nothing to measure (e.g. no transactions)
    std::string measured_text;          // human, with unit
    std::string note;                   // extra human explanation (may be empty)
    std::vector<Evidence> evidence;     // capped at RuleSet::max_evidence
    uint64_t evidence_total = 0;        // all offending items (evidence.size() <= this)
};

// Wireshark display filter for one connection:
// "ip.addr==A && tcp.port==P && ip.addr==B && tcp.port==Q" (ipv6.addr for IPv6).
std::string display_filter(const Endpoint& client, const Endpoint& server);

// Evaluates a group of rules (all sharing one analysis run) on a stream of
// connection records. Memory: per rule, counters, at most two histograms and
// `max_evidence` evidence items.
class Evaluator {
public:
    Evaluator(std::vector<const Rule*> rules, uint32_t max_evidence);
    ~Evaluator();
    Evaluator(Evaluator&&) noexcept;
    Evaluator& operator=(Evaluator&&) noexcept;
    void connection(const ConnectionRecord& rec);
    void end(const FinalReport& report);
    // Valid after end(); in the order of the rules given.
    const std::vector<CheckResult>& results() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The ReportSink decorator: forwards to `inner` (may be null) and feeds the evaluator.
class CheckSink final : public ReportSink {
public:
    CheckSink(Evaluator& eval, ReportSink* inner) : eval_(eval), inner_(inner) {}
    void begin(const RunInfo& run) override {
        if (inner_) inner_->begin(run);
    }
    void connection(const ConnectionRecord& rec) override {
        eval_.connection(rec);
        if (inner_) inner_->connection(rec);
    }
    void end(const FinalReport& report) override {
        eval_.end(report);
        if (inner_) inner_->end(report);
    }

private:
    Evaluator& eval_;
    ReportSink* inner_;
};

// Runs every analysis the rule set needs over `files` and evaluates it: one
// run per distinct BPF scope (filter = input filter AND scope), then the main
// run (the input filter alone) whose records also go to `main_sink` (may be
// null). Evidence ids from scoped runs are mapped to the main run's ids.
// Throws UsageError (bad scope BPF, naming the rule) and InputError.
struct CheckRun {
    std::vector<CheckResult> results;   // one per rule, in rule-set order
    std::vector<FileStats> files;       // of the main run
    Summary summary;                    // of the main run
};
// Opens the inputs through each distinct scope BPF once, as run_checks()
// will: a scope that does not compile for an input's link type is a
// UsageError naming the rule -- found before any output file is created.
void validate_scopes(const RuleSet& rules, const std::vector<std::string>& files, const std::string& filter);

CheckRun run_checks(const RuleSet& rules, const std::vector<std::string>& files, const std::string& filter,
                    const AnalysisConfig& cfg, ReportSink* main_sink, const std::atomic<bool>* stop = nullptr);

// ---- output -------------------------------------------------------------

struct CheckTotals {
    size_t rules = 0, passed = 0, failed = 0;
};
CheckTotals totals(const std::vector<CheckResult>& results);

// `damage`: one line per damaged input ("path: truncated record at packet
// 12 (byte 4096): ..."): the rules saw only what was read before it, which
// every output says -- a CI job reading only the JUnit file must not see a
// green run on a truncated capture.
// Human summary: one block per rule (PASS/FAIL, measured, limit, evidence).
void write_text_summary(std::FILE* out, const std::vector<CheckResult>& results, const std::vector<std::string>& inputs,
                        bool color, const std::vector<std::string>& damage = {});
// The "checks" array members for the JSON report (written after "checks":).
std::string checks_json(const std::vector<CheckResult>& results);
// JUnit XML: one <testsuite name="pcaplens">, one <testcase> per rule.
// A damaged input is one more <testcase> with an <error>.
std::string junit_xml(const std::vector<CheckResult>& results, const std::vector<std::string>& inputs,
                      const std::vector<std::string>& damage = {});
// GitHub Actions workflow commands: ::error for failing rules (::notice for
// passing ones when `notice_passing`).
// A damaged input is one more ::error.
std::string github_annotations(const std::vector<CheckResult>& results, bool notice_passing,
                               const std::vector<std::string>& damage = {});

// What the JUnit error and the annotation add to a damaged input's line.
inline constexpr const char* kDamageNote = "the rules saw only what was read before the damage";

// Evidence lines shared by the outputs: "#3 2026-... frame 26: detail".
std::string evidence_line(const Evidence& e);
std::string summary_line(const CheckResult& r);   // "measured 2, limit <= 0"

// XML text/attribute escaping (also replaces invalid UTF-8 and characters XML 1.0 forbids).
std::string xml_escape(std::string_view s);
// GitHub workflow command escaping (data; `property` also escapes ':' and ',').
std::string gh_escape(std::string_view s, bool property);

}  // namespace pcaplens::check
