// pcaplens command line: tcpdump's habits (FILE... then a BPF expression,
// -r, -c, -w style options), CLI11 for parsing.
#include <pcap/pcap.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>

#include "pcaplens/capture/source.hpp"
#include "pcaplens/check/evaluator.hpp"
#include "pcaplens/check/rules.hpp"
#include "pcaplens/pipeline.hpp"
#include "pcaplens/report/reporters.hpp"
#include "live_cli.hpp"
#include "pcaplens/capture/live.hpp"
#include "pcaplens/version.hpp"

namespace pl = pcaplens;

namespace {

// Exit statuses (documented in --help and man/pcaplens.1).
constexpr int kExitOk = 0;
constexpr int kExitCheckFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDamaged = 3;
constexpr int kExitUnreadable = 4;

const char* kExitHelp =
    "Exit status:\n"
    "  0  success\n"
    "  1  anomalies found that --fail-on asked to fail on, or a rule of `pcaplens check` failed (check failed)\n"
    "  2  usage error (bad option, bad filter expression, unknown anomaly kind, bad rules file)\n"
    "  3  input damaged: a file is truncated or corrupt; everything read before the damage is reported\n"
    "  4  input unreadable (missing file, not a capture) or the report could not be written\n"
    "When several apply, the first of 2, 4, 3, 1 wins.\n";

std::atomic<bool> g_stop{false};  // set by SIGINT/SIGTERM; the only process-wide state
void on_signal(int) { g_stop.store(true); }

// A capture input: a file, a pipe or FIFO (`<(zcat f.pcap.gz)`), or "-" for
// standard input, as tcpdump -r -.
bool is_capture_input(const std::string& p) {
    struct stat st {};
    return p == "-" || (::stat(p.c_str(), &st) == 0 && (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)));
}

// Whether two paths name one file: the same device and inode when both
// exist, else the same path once made absolute and normal.
bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {}, sb {};
    if (::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    std::error_code ec1, ec2;
    const auto pa = std::filesystem::weakly_canonical(a, ec1), pb = std::filesystem::weakly_canonical(b, ec2);
    return !ec1 && !ec2 && pa == pb;
}

// True when the report would be written over one of the inputs (same device
// and inode): opening it for writing would destroy the capture being read.
bool output_is_an_input(const std::string& output, const std::vector<std::string>& inputs) {
    struct stat out {};
    if (output.empty() || output == "-" || ::stat(output.c_str(), &out) != 0) return false;
    return std::any_of(inputs.begin(), inputs.end(), [&output](const std::string& in) { return in != "-" && same_file(in, output); });
}

// Columns of the terminal `fd` is, or 0 when it is not one: COLUMNS if set,
// else TIOCGWINSZ.
unsigned terminal_width(int fd) {
    if (!::isatty(fd)) return 0;
    if (const char* c = std::getenv("COLUMNS")) {
        char* end = nullptr;
        const long v = std::strtol(c, &end, 10);
        if (end && *end == '\0' && v > 0 && v < 100000) return static_cast<unsigned>(v);
    }
    struct winsize ws {};
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 0;
}

bool utf8_locale() {
    for (const char* v : {"LC_ALL", "LC_CTYPE", "LANG"}) {
        const char* s = std::getenv(v);
        if (s && *s) {
            std::string l(s);
            for (char& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            return l.find("utf-8") != std::string::npos || l.find("utf8") != std::string::npos;
        }
    }
    return false;
}

// --follow replaces the report: connections are analysed, not listed.
class NullSink final : public pl::ReportSink {
public:
    void begin(const pl::RunInfo&) override {}
    void connection(const pl::ConnectionRecord&) override {}
    void end(const pl::FinalReport&) override {}
    bool wants_http_transactions() const override { return false; }
    bool wants_findings() const override { return false; }
};

// The report and the status line on one terminal: the line is erased before
// the report writes there, and drawn again at the next progress tick
// (otherwise a record starts in the middle of "12 packets  1 connections open").
class StatusLineSink final : public pl::ReportSink {
public:
    StatusLineSink(std::unique_ptr<pl::ReportSink> inner, bool& shown) : inner_(std::move(inner)), shown_(shown) {}
    void begin(const pl::RunInfo& run) override {
        erase();
        inner_->begin(run);
    }
    void connection(const pl::ConnectionRecord& rec) override {
        erase();
        inner_->connection(rec);
    }
    void end(const pl::FinalReport& report) override {
        erase();
        inner_->end(report);
    }
    bool wants_http_transactions() const override { return inner_->wants_http_transactions(); }
    bool wants_findings() const override { return inner_->wants_findings(); }
    bool render(const pl::ConnectionRecord& rec, std::string& out) override { return inner_->render(rec, out); }
    void write_rendered(const std::string& text) override {
        erase();
        inner_->write_rendered(text);
    }

private:
    void erase() {
        if (!shown_) return;
        std::fputs("\r\033[K", stderr);
        shown_ = false;
    }
    std::unique_ptr<pl::ReportSink> inner_;
    bool& shown_;
};

void print_catalogue(std::FILE* out, const std::string& format) {
    if (format == "markdown") {
        std::fprintf(out, "| kind | layer | severity | definition | Wireshark | Zeek | Suricata | proven by |\n");
        std::fprintf(out, "|---|---|---|---|---|---|---|---|\n");
        for (const auto& e : pl::catalogue_all()) {
            std::fprintf(out, "| `%s` | %s | %s | %s | %s | %s | %s | %s |\n", e.name, std::string(pl::layer_name(e.layer)).c_str(),
                         std::string(pl::severity_name(e.severity)).c_str(), e.definition, e.wireshark, e.zeek, e.suricata, e.fixture);
        }
        return;
    }
    if (format == "json" || format == "ndjson") {
        const std::string doc = pl::catalogue_json(format == "ndjson", PCAPLENS_VERSION);
        std::fwrite(doc.data(), 1, doc.size(), out);
        return;
    }
    for (const auto& e : pl::catalogue_all()) {
        std::fprintf(out, "%-34s %-8s %-8s %s\n", e.name, std::string(pl::layer_name(e.layer)).c_str(),
                     std::string(pl::severity_name(e.severity)).c_str(), e.definition);
    }
}

// After a short answer on standard output (--version, --list-anomalies):
// a write that failed (a full disk, a closed pipe) is status 4, not 0.
int finish_output(std::FILE* out, const std::string& path) {
    const bool failed = std::fflush(out) != 0 || std::ferror(out) || (out != stdout && std::fclose(out) != 0);
    if (!failed) return kExitOk;
    std::fprintf(stderr, "pcaplens: %s: write error\n", path.empty() || path == "-" ? "standard output" : path.c_str());
    return kExitUnreadable;
}

// CLI11 reads 64-bit unsigned options with strtoull, which takes "-5" as
// 2^64-5; counts and limits refuse a sign instead of wrapping.
void refuse_negative(CLI::App& app, std::initializer_list<const char*> names) {
    const CLI::Validator non_negative(
        [](std::string& v) {
            const size_t i = v.find_first_not_of(" \t");
            return i != std::string::npos && v[i] == '-' ? std::string("must not be negative") : std::string();
        },
        "", "non-negative");
    for (const char* n : names) app.get_option(n)->check(non_negative);
}

// Limits that are real numbers: NaN would make a rule that never fails (or
// always does), infinity one that never fails, and strtod's hex ("0x10")
// is no way to write milliseconds or percent.
void refuse_nonfinite(CLI::App& app, std::initializer_list<const char*> names) {
    const CLI::Validator finite(
        [](std::string& v) {
            const bool decimal = !v.empty() && v.find_first_not_of("0123456789.eE+- \t") == std::string::npos;
            char* end = nullptr;
            const double d = std::strtod(v.c_str(), &end);
            return decimal && std::isfinite(d) ? std::string() : std::string("must be a finite decimal number");
        },
        "", "finite");
    for (const char* n : names) app.get_option(n)->check(finite);
}

// Options shared by the report mode and `pcaplens check`.
struct CommonOptions {
    std::vector<std::string> read_files;
    std::vector<std::string> positional;
    std::string filter;
    uint64_t count = 0;
    bool verify_checksums = false, no_http = false, timeline = false;
    double idle_timeout_s = 300, msl_s = 30, linger_s = 5;
    uint64_t max_connections = 262144, max_buffer_mb = 256, max_dir_buffer_mb = 8, max_memory_mb = 512;
    uint32_t http_max_header_bytes = 64 * 1024, http_max_headers = 256, http_max_pipeline = 1024;
    double http_slow_ms = 0;
    uint32_t max_anomalies = 1000;
};

void add_input_options(CLI::App& app, CommonOptions& o) {
    // One FILE per -r: a vector option would otherwise swallow the filter
    // expression after it ("-r f.pcap tcp port 80", as tcpdump).
    app.add_option("-r,--read", o.read_files, "Read packets from FILE (repeatable; pcap or pcapng)")
        ->type_name("FILE")->allow_extra_args(false)->group("Input");
    app.add_option("files", o.positional, "Capture files, then an optional BPF expression (as tcpdump)")->type_name("FILE [EXPR]")->group("Input");
    app.add_option("-f,--filter", o.filter, "BPF filter expression (alternative to the trailing expression)")->type_name("EXPR")->group("Input");
    app.add_option("-c,--count", o.count, "Stop after N packets (after filtering)")->type_name("N")->group("Input");
    app.add_flag("--verify-checksums", o.verify_checksums, "Verify IP/TCP checksums (off: offload makes them wrong on senders)")->group("Input");
    refuse_negative(app, {"--count"});
}

void add_limit_options(CLI::App& app, CommonOptions& o) {
    // Durations are bounded (about three years) so that timestamp + duration
    // cannot overflow; see kMaxTimestampNs.
    const auto seconds = CLI::Range(0.0, 1e8);
    app.add_option("--idle-timeout", o.idle_timeout_s, "Evict connections idle this many seconds")->capture_default_str()->check(seconds)->group("Limits");
    app.add_option("--msl", o.msl_s, "Maximum segment lifetime in seconds (TIME_WAIT = 2*MSL)")->capture_default_str()->check(seconds)->group("Limits");
    app.add_option("--close-linger", o.linger_s, "Keep a closed connection this many seconds for late packets")->capture_default_str()->check(seconds)->group("Limits");
    app.add_option("--max-connections", o.max_connections, "Connections tracked at once (least recently active evicted)")->capture_default_str()->group("Limits");
    app.add_option("--max-memory-mb", o.max_memory_mb,
                   "Heap cap, MiB: above it the least recently active connections are finished early; 0 = none")
        ->capture_default_str()->check(CLI::Range(uint64_t{0}, uint64_t{1} << 24))->group("Limits");
    app.add_option("--max-buffer-mb", o.max_buffer_mb, "Out-of-order bytes buffered in total, MiB")->capture_default_str()->check(CLI::Range(uint64_t{0}, uint64_t{1} << 24))->group("Limits");
    app.add_option("--max-direction-buffer-mb", o.max_dir_buffer_mb, "Out-of-order bytes buffered per direction, MiB")->capture_default_str()->check(CLI::Range(uint64_t{0}, uint64_t{1} << 24))->group("Limits");
    app.add_option("--max-anomalies", o.max_anomalies, "Anomalies kept per connection (all are counted)")->capture_default_str()->group("Limits");
    app.add_flag("--no-http", o.no_http, "Do not parse HTTP")->group("HTTP");
    app.add_option("--http-max-header-bytes", o.http_max_header_bytes, "Largest HTTP header block")->capture_default_str()->group("HTTP");
    app.add_option("--http-max-headers", o.http_max_headers, "Most header lines in one block")->capture_default_str()->group("HTTP");
    app.add_option("--http-max-pipeline", o.http_max_pipeline, "Most outstanding requests per connection")->capture_default_str()->group("HTTP");
    app.add_option("--http-slow-ms", o.http_slow_ms, "Report responses slower than this (time to first byte); 0 = off")->capture_default_str()->check(CLI::Range(0.0, 1e11))->group("HTTP");
    refuse_negative(app, {"--max-connections"});
}

pl::AnalysisConfig make_config(const CommonOptions& o) {
    pl::AnalysisConfig cfg;
    cfg.decode.verify_checksums = o.verify_checksums;
    cfg.max_packets = o.count;
    cfg.http_enabled = !o.no_http;
    cfg.tcp.idle_timeout_ns = static_cast<int64_t>(o.idle_timeout_s * 1e9);
    cfg.tcp.msl_ns = static_cast<int64_t>(o.msl_s * 1e9);
    cfg.tcp.close_linger_ns = static_cast<int64_t>(o.linger_s * 1e9);
    cfg.tcp.max_connections = std::max<uint64_t>(1, o.max_connections);
    cfg.tcp.max_buffered_total = o.max_buffer_mb << 20;
    cfg.max_memory_bytes = o.max_memory_mb << 20;
    cfg.tcp.max_buffered_per_direction = o.max_dir_buffer_mb << 20;
    cfg.tcp.max_anomalies_per_connection = o.max_anomalies;
    cfg.tcp.timeline = o.timeline;
    cfg.http.max_header_bytes = o.http_max_header_bytes;
    cfg.http.max_headers = o.http_max_headers;
    cfg.http.max_pipeline = o.http_max_pipeline;
    cfg.http.slow_response_ns = static_cast<int64_t>(o.http_slow_ms * 1e6);
    return cfg;
}

// The command a help hint names, as messages start: "pcaplens check --help"
// -> "pcaplens check".
std::string command_of(const char* help_cmd) {
    const std::string_view cmd(help_cmd);
    return std::string(cmd.substr(0, cmd.rfind(" --help")));
}

// Why `path`, given as a capture file, cannot be read; on stderr, prefixed
// with the command it was given to.
void complain_unreadable(const std::string& path, const char* help_cmd) {
    const std::string who = command_of(help_cmd);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        std::fprintf(stderr, "%s: %s: %s (try %s)\n", who.c_str(), path.c_str(), errno == ENOENT ? "no such file" : std::strerror(errno),
                     help_cmd);
    } else if (S_ISDIR(st.st_mode)) {
        std::fprintf(stderr, "%s: %s: is a directory, not a capture file (give the .pcap/.pcapng files in it)\n", who.c_str(), path.c_str());
    } else {
        std::fprintf(stderr, "%s: %s: not a regular file (try %s)\n", who.c_str(), path.c_str(), help_cmd);
    }
}

// Why `expr` does not compile as a filter for Ethernet (the link type every
// capture tool supports), or nothing when it does. The filter is compiled
// per link type once a file is open; this is the check before any is.
std::optional<std::string> filter_problem(const std::string& expr) {
    try {
        pl::BpfFilter probe(expr, 1 /* DLT_EN10MB */);
    } catch (const pl::UsageError& e) {
        return std::string(e.what());
    }
    return std::nullopt;
}

// A name ending in a capture suffix or holding a '/': meant as a file, as a
// filter word never is (filters with a '/' -- 'net 10.0.0.0/8' -- are told
// apart by compiling them).
bool looks_like_capture_path(const std::string& p) {
    auto ends = [&p](const char* suf) {
        const size_t n = std::strlen(suf);
        return p.size() > n && p.compare(p.size() - n, n, suf) == 0;
    };
    return ends(".pcap") || ends(".pcapng") || ends(".cap") || p.find('/') != std::string::npos;
}

// Splits positionals into files and the trailing BPF expression: leading
// arguments naming existing files are inputs (unless -r was used). With -f
// and no -r every positional is a file. Returns an exit status (kExitOk when
// fine).
int unreadable_unless_bad_filter(const std::string& filter, const char* who);

int split_inputs(const CommonOptions& o, const char* help_cmd, std::vector<std::string>& files, std::string& filter) {
    files = o.read_files;
    std::string expr;
    size_t i = 0;
    if (o.read_files.empty()) {
        for (; i < o.positional.size() && is_capture_input(o.positional[i]); ++i) files.push_back(o.positional[i]);
    }
    if (i < o.positional.size() && o.read_files.empty() && !o.filter.empty()) {
        // "pcaplens -f tcp missing.pcap": the filter is given, so this names a
        // file. A bad filter is still a usage error (2 wins over 4).
        complain_unreadable(o.positional[i], help_cmd);
        return unreadable_unless_bad_filter(o.filter, command_of(help_cmd).c_str());
    }
    if (!o.read_files.empty()) {
        // With -r every positional is the filter; an existing capture file
        // among them is an -r forgotten ("pcaplens -r a.pcap b.pcap").
        for (const std::string& p : o.positional) {
            if (looks_like_capture_path(p) && is_capture_input(p)) {
                std::fprintf(stderr, "%s: %s: with -r, each capture file needs its own -r (the other arguments form the filter)\n",
                             command_of(help_cmd).c_str(), p.c_str());
                return kExitUsage;
            }
        }
    } else if (i < o.positional.size() && !files.empty()) {
        // "pcaplens a.pcap typo.pcap": a capture file name, not a filter --
        // unless the rest is a filter that has a '/' of its own ('net
        // 10.0.0.0/8', quoted as one argument).
        const std::string& p = o.positional[i];
        if (looks_like_capture_path(p)) {
            std::string rest;
            for (size_t j = i; j < o.positional.size(); ++j) rest += (rest.empty() ? "" : " ") + o.positional[j];
            if (filter_problem(rest)) {
                complain_unreadable(p, help_cmd);
                return kExitUnreadable;
            }
        }
    }
    for (; i < o.positional.size(); ++i) expr += (expr.empty() ? "" : " ") + o.positional[i];
    if (!expr.empty() && !o.filter.empty()) {
        std::fprintf(stderr, "%s: both -f '%s' and a trailing expression '%s' given\n", command_of(help_cmd).c_str(), o.filter.c_str(),
                     expr.c_str());
        return kExitUsage;
    }
    filter = o.filter.empty() ? expr : o.filter;
    if (files.empty()) {
        if (!o.positional.empty()) {
            complain_unreadable(o.positional[0], help_cmd);
            return kExitUnreadable;
        }
        std::fprintf(stderr, "%s: no capture file given (try %s)\n", command_of(help_cmd).c_str(), help_cmd);
        return kExitUsage;
    }
    return kExitOk;
}

// An input could not be opened (status 4); a filter that does not even
// compile for Ethernet is a usage error too, and 2 wins over 4. (The filter
// is otherwise compiled per link type once a file is open.)
int unreadable_unless_bad_filter(const std::string& filter, const char* who) {
    if (filter.empty()) return kExitUnreadable;
    if (const auto why = filter_problem(filter)) {
        std::fprintf(stderr, "%s: %s\n", who, why->c_str());
        return kExitUsage;
    }
    return kExitUnreadable;
}

// "<path>: truncated record at packet 12 (byte 4096): <message>": what is
// wrong with each damaged input, for stderr and check's outputs.
std::vector<std::string> damage_lines(const std::vector<pl::FileStats>& stats) {
    std::vector<std::string> out;
    for (const pl::FileStats& f : stats) {
        if (!f.damage) continue;
        out.push_back(f.path + ": " + (f.damage->kind == "truncated_record" ? std::string("truncated record") : f.damage->kind) +
                      " at packet " + std::to_string(f.damage->packet) + " (byte " + std::to_string(f.damage->offset) +
                      "): " + f.damage->message + "; reported " + std::to_string(f.packets) + " packets read before it");
    }
    return out;
}

// Names damaged inputs on stderr; kExitDamaged if any.
int report_damage(const std::vector<pl::FileStats>& stats) {
    const std::vector<std::string> lines = damage_lines(stats);
    for (const std::string& l : lines) std::fprintf(stderr, "pcaplens: %s\n", l.c_str());
    return lines.empty() ? kExitOk : kExitDamaged;
}

// A stdio stream that passes everything through to `out` except the last two
// bytes, so a finished JSON document's closing "}\n" can be replaced by more
// members (the check mode's "checks" section) without buffering the report.
struct Holdback {
    std::FILE* out = nullptr;
    std::string tail;
    bool error = false;
};

ssize_t holdback_write(void* cookie, const char* buf, size_t n) {
    auto* h = static_cast<Holdback*>(cookie);
    h->tail.append(buf, n);
    if (h->tail.size() > 2) {
        const size_t emit = h->tail.size() - 2;
        if (std::fwrite(h->tail.data(), 1, emit, h->out) != emit) h->error = true;
        h->tail.erase(0, emit);
    }
    return static_cast<ssize_t>(n);
}

// Standard output for "" or "-", else the file (created or truncated); null
// after saying on stderr why it cannot be written.
std::FILE* open_output(const std::string& path, const char* who, const std::vector<std::string>& inputs) {
    if (path.empty() || path == "-") return stdout;
    if (output_is_an_input(path, inputs)) {
        std::fprintf(stderr, "%s: %s: is one of the input captures; not writing over it\n", who, path.c_str());
        return nullptr;
    }
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) std::fprintf(stderr, "%s: %s: cannot write: %s\n", who, path.c_str(), std::strerror(errno));
    return f;
}

int run_check(int argc, char** argv) {
    CLI::App app{"pcaplens check — evaluate CI rules against the analysis of packet captures; exit 1 when a rule fails",
                 "pcaplens check"};
    app.footer(std::string("Rules come from a JSON rules file (--rules, format in docs/checks.md and man pcaplens) and/or\n"
                           "the rule flags; flag rules are scoped by --server/--server-port and the HTTP ones by\n"
                           "--http-host/--http-uri-prefix/--http-method. Every rule is reported with its measured value, its\n"
                           "limit and the connections/transactions that broke it (with a Wireshark display filter).\n\n"
                           "Examples:\n"
                           "  pcaplens check run.pcap --rules ci-rules.json --junit pcaplens.xml\n"
                           "  pcaplens check run.pcap --no-resets --max-http-5xx 0 --max-ttfb-ms p95=200\n"
                           "  pcaplens check run.pcap --fail-on-severity warning --allow rst_abort --annotations github\n"
                           "  pcaplens check run.pcap 'tcp port 443' --max-handshake-rtt-ms 50 --server 10.0.0.2\n\n") +
               kExitHelp);
    app.get_formatter()->column_width(40);
    CommonOptions o;
    pl::check::RuleFlags rf;
    std::string rules_file, format = "text", output, junit, annotations = "none", color = "auto";
    bool annotate_passing = false;
    uint32_t max_evidence = 0;
    std::string server_port_text;
    add_input_options(app, o);

    app.add_option("--rules", rules_file, "JSON rules file (docs/checks.md)")->group("Rules");
    // The repeatable rule options take one value per occurrence, so that
    // "--fail-on rst_abort capture.pcap" leaves the file a file.
    app.add_option("--fail-on", rf.fail_on, "Fail if any anomaly of these kinds (KIND[,KIND...]) is found")->allow_extra_args(false)->group("Rules");
    app.add_option("--fail-on-severity", rf.fail_on_severity, "Fail on any anomaly of this severity or worse: warning|error")
        ->check(CLI::IsMember({"warning", "error"}))
        ->group("Rules");
    app.add_option("--allow", rf.allow, "Exempt these anomaly kinds (KIND[,KIND...]) from --fail-on-severity")->allow_extra_args(false)->group("Rules");
    app.add_option("--max", rf.max_kind, "At most N anomalies of KIND (KIND=N; repeatable)")->allow_extra_args(false)->group("Rules");
    app.add_option("--max-handshake-rtt-ms", rf.max_handshake_rtt_ms, "Every handshake RTT at most MS")->group("Rules");
    app.add_option("--max-retransmission-rate", rf.max_retransmission_rate_pct, "Retransmitted payload bytes at most PCT % of all")->group("Rules");
    app.add_flag("--no-unanswered-syns", rf.no_unanswered_syns, "Fail on SYNs that got no answer")->group("Rules");
    app.add_flag("--no-refused", rf.no_refused, "Fail on connections refused with a RST")->group("Rules");
    app.add_flag("--no-resets", rf.no_resets, "Fail on any connection reset (refused ones included)")->group("Rules");
    app.add_flag("--no-resets-after-established", rf.no_resets_after_established, "Fail on resets of established connections only")->group("Rules");
    app.add_flag("--all-closed-gracefully", rf.all_closed_gracefully, "Fail on any connection not closed with FINs")->group("Rules");
    app.add_flag("--allow-open", rf.allow_open, "With --all-closed-gracefully: connections still open at the end are fine")->group("Rules");
    app.add_option("--max-time-wait-reuse", rf.max_time_wait_reuse, "At most N SYNs reusing a tuple in TIME_WAIT")->group("Rules");
    app.add_option("--max-total-connections", rf.max_connections, "At most N connections in the capture")->group("Rules");
    app.add_option("--max-http-5xx", rf.max_http_5xx, "At most N HTTP 5xx responses")->group("Rules");
    app.add_option("--max-http-5xx-rate", rf.max_http_5xx_rate, "HTTP 5xx responses at most PCT % of responses")->group("Rules");
    app.add_option("--max-http-4xx", rf.max_http_4xx, "At most N HTTP 4xx responses")->group("Rules");
    app.add_option("--max-http-4xx-rate", rf.max_http_4xx_rate, "HTTP 4xx responses at most PCT % of responses")->group("Rules");
    app.add_option("--http-allow-status", rf.http_allow_status, "Statuses (CODE[,CODE...]) the 4xx/5xx rules ignore")->allow_extra_args(false)->group("Rules");
    app.add_option("--max-ttfb-ms", rf.max_ttfb_ms, "HTTP time to first byte at most MS ([p50|p95|p99|max=]MS; repeatable)")->allow_extra_args(false)->group("Rules");
    app.add_option("--max-http-duration-ms", rf.max_duration_ms, "HTTP transaction duration at most MS ([p50|p95|p99|max=]MS)")->allow_extra_args(false)->group("Rules");
    app.add_flag("--all-requests-answered", rf.http_all_answered, "Fail on HTTP requests without a response")->group("Rules");
    app.add_option("--expect-transactions", rf.expect_transactions, "Exactly N HTTP transactions")->group("Rules");
    refuse_negative(app, {"--max-handshake-rtt-ms", "--max-retransmission-rate", "--max-time-wait-reuse", "--max-total-connections",
                          "--max-http-5xx", "--max-http-5xx-rate", "--max-http-4xx", "--max-http-4xx-rate", "--expect-transactions"});
    refuse_nonfinite(app, {"--max-handshake-rtt-ms", "--max-retransmission-rate", "--max-http-5xx-rate", "--max-http-4xx-rate"});
    app.add_option("--server", rf.server, "Flag rules: only connections to this server address")->group("Rule scope");
    app.add_option("--server-port", server_port_text, "Flag rules: only connections to this server port")->group("Rule scope");
    app.add_option("--http-host", rf.http.host, "HTTP flag rules: only requests with this Host")->group("Rule scope");
    app.add_option("--http-uri-prefix", rf.http.uri_prefix, "HTTP flag rules: only URIs starting with this")->group("Rule scope");
    app.add_option("--http-method", rf.http.method, "HTTP flag rules: only this request method")->group("Rule scope");

    app.add_option("--format", format, "Output: text (the rule summary) or json (the JSON report plus \"checks\")")
        ->check(CLI::IsMember({"text", "json"}))
        ->group("Output");
    app.add_option("-o,--output", output, "Write the summary/report to FILE instead of standard output")->group("Output");
    app.add_option("--junit", junit, "Also write JUnit XML to FILE (one testcase per rule)")->group("Output");
    app.add_option("--annotations", annotations, "Print CI annotations on standard output: github|none")
        ->check(CLI::IsMember({"github", "none"}))
        ->group("Output");
    app.add_flag("--annotate-passing", annotate_passing, "With --annotations github: ::notice lines for passing rules too")->group("Output");
    auto* max_evidence_opt = app.add_option("--max-evidence", max_evidence, "Offending connections/transactions listed per rule (default 20)")->group("Output");
    app.add_option("--color", color, "Colour in text output: auto (only a terminal, unless NO_COLOR is set), always, never")->type_name("WHEN")->check(CLI::IsMember({"auto", "always", "never"}))->group("Output");
    add_limit_options(app, o);

    app.positionals_at_end(false);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "pcaplens check: %s (try pcaplens check --help)\n", e.what());
        return kExitUsage;
    }
    if (!server_port_text.empty()) {
        unsigned long v = 0;
        char* end = nullptr;
        v = std::strtoul(server_port_text.c_str(), &end, 10);
        if (!end || *end || v > 65535 || server_port_text[0] == '-') {
            std::fprintf(stderr, "pcaplens check: --server-port: not a port number: '%s'\n", server_port_text.c_str());
            return kExitUsage;
        }
        rf.server_port = static_cast<uint16_t>(v);
    }

    std::vector<std::string> files;
    std::string filter;
    pl::check::RuleSet set;
    try {
        if (!rules_file.empty()) set = pl::check::parse_rules_file(rules_file);
        auto flag_rules = pl::check::rules_from_flags(rf);
        for (auto& r : flag_rules) set.rules.push_back(std::move(r));
        // Names are unique within the file and within the flags; make them unique across both.
        std::set<std::string> seen;
        for (auto& r : set.rules) {
            std::string n = r.name;
            for (int k = 2; seen.count(n); ++k) n = r.name + " (" + std::to_string(k) + ")";
            r.name = n;
            seen.insert(n);
        }
    } catch (const pl::UsageError& e) {
        std::fprintf(stderr, "pcaplens check: %s\n", e.what());
        return kExitUsage;
    }
    if (max_evidence_opt->count() > 0) set.max_evidence = max_evidence;  // 0 too: count only
    if (set.rules.empty()) {
        std::fprintf(stderr, "pcaplens check: no rules: give --rules FILE and/or rule options (try pcaplens check --help)\n");
        return kExitUsage;
    }
    const bool to_stdout = output.empty() || output == "-";
    if (annotations == "github" && format == "json" && to_stdout) {
        std::fprintf(stderr, "pcaplens check: --annotations github writes to standard output; with --format json use -o FILE for the report\n");
        return kExitUsage;
    }
    if (int st = split_inputs(o, "pcaplens check --help", files, filter); st != kExitOk) return st;
    for (const auto& f : files) {
        if (pl::is_read_once_input(f)) {
            // A scoped rule is a second run over the input; the probe below is one too.
            std::fprintf(stderr, "pcaplens check: %s: can be read only once (standard input, a pipe or a FIFO) and check reads its "
                                 "input more than once; save the capture to a file first\n", f.c_str());
            return kExitUsage;
        }
    }
    if (output_is_an_input(junit, files)) {
        std::fprintf(stderr, "pcaplens check: %s: is one of the input captures; not writing the JUnit file over it\n", junit.c_str());
        return unreadable_unless_bad_filter(filter, "pcaplens check");   // 2 wins over 4
    }
    if (junit == "-") {   // a file literally named "-" is not what anyone means
        std::fprintf(stderr, "pcaplens check: --junit needs a file path (standard output carries the report)\n");
        return kExitUsage;
    }
    if (!junit.empty() && !output.empty() && output != "-" && same_file(junit, output)) {
        std::fprintf(stderr, "pcaplens check: --junit and -o name the same file '%s'\n", junit.c_str());
        return kExitUsage;
    }
    // Validate the input filter and the rules' scope filters before the
    // (possibly several) runs -- and before -o truncates anything.
    try {
        pl::MergedFileSource probe(files, filter);
        pl::check::validate_scopes(set, files, filter);
    } catch (const pl::UsageError& e) {
        std::fprintf(stderr, "pcaplens check: %s\n", e.what());
        return kExitUsage;
    } catch (const pl::InputError& e) {
        std::fprintf(stderr, "pcaplens check: %s\n", e.what());
        return unreadable_unless_bad_filter(filter, "pcaplens check");
    }

    std::FILE* out = open_output(output, "pcaplens check", files);
    if (out == nullptr) return kExitUnreadable;
    const bool tty = ::isatty(::fileno(out)) != 0;
    const bool use_color = format == "text" && (color == "always" || (color == "auto" && tty && std::getenv("NO_COLOR") == nullptr));

    // --format json: the normal report streams through a hold-back stream so
    // the "checks" section can join the top-level object.
    Holdback hb;
    hb.out = out;
    std::FILE* json_out = nullptr;
    std::unique_ptr<pl::ReportSink> reporter;
    if (format == "json") {
        cookie_io_functions_t fns{};
        fns.write = holdback_write;
        json_out = fopencookie(&hb, "w", fns);
        if (!json_out) {
            std::fprintf(stderr, "pcaplens check: cannot set up the JSON stream\n");
            return kExitUnreadable;
        }
        pl::ReportOptions ropt;
        ropt.tool_version = PCAPLENS_VERSION;
        reporter = pl::make_json_reporter(json_out, ropt);
    }

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    pl::check::CheckRun result;
    try {
        result = pl::check::run_checks(set, files, filter, make_config(o), reporter.get(), &g_stop);
    } catch (const pl::UsageError& e) {
        std::fprintf(stderr, "pcaplens check: %s\n", e.what());
        return kExitUsage;
    } catch (const pl::InputError& e) {
        std::fprintf(stderr, "pcaplens check: %s\n", e.what());
        return kExitUnreadable;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pcaplens check: internal error: %s\n", e.what());
        return kExitUnreadable;
    }

    int status = kExitOk;
    bool write_error = false;
    if (format == "json") {
        std::fclose(json_out);
        std::string tail = hb.tail;
        while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
        if (tail != "}" || hb.error) {
            write_error = true;
        } else {
            const std::string rest = ",\n\"checks\":" + pl::check::checks_json(result.results) + "}\n";
            if (std::fwrite(rest.data(), 1, rest.size(), out) != rest.size()) write_error = true;
        }
    } else {
        pl::check::write_text_summary(out, result.results, files, use_color, damage_lines(result.files));
    }
    if (annotations == "github") {
        const std::string a = pl::check::github_annotations(result.results, annotate_passing, damage_lines(result.files));
        if (std::fwrite(a.data(), 1, a.size(), stdout) != a.size() || std::fflush(stdout) != 0 || std::ferror(stdout)) {
            std::fprintf(stderr, "pcaplens check: standard output: write error (annotations)\n");
            status = kExitUnreadable;
        }
    }
    if (std::fflush(out) != 0 || std::ferror(out) || (out != stdout && std::fclose(out) != 0)) write_error = true;
    if (write_error) {
        std::fprintf(stderr, "pcaplens check: %s: write error\n", to_stdout ? "standard output" : output.c_str());
        status = kExitUnreadable;
    }
    if (!junit.empty()) {
        const std::string xml = pl::check::junit_xml(result.results, files, damage_lines(result.files));
        std::FILE* j = std::fopen(junit.c_str(), "w");
        if (!j || std::fwrite(xml.data(), 1, xml.size(), j) != xml.size() || std::fclose(j) != 0) {
            std::fprintf(stderr, "pcaplens check: %s: cannot write the JUnit file: %s\n", junit.c_str(), std::strerror(errno));
            status = kExitUnreadable;
        }
    }
    if (status == kExitOk) status = report_damage(result.files);
    else report_damage(result.files);
    const auto t = pl::check::totals(result.results);
    if (status == kExitOk && t.failed > 0) {
        std::fprintf(stderr, "pcaplens check: %zu of %zu rules failed\n", t.failed, t.rules);
        status = kExitCheckFailed;
    }
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "check") == 0) return run_check(argc - 1, argv + 1);

    CLI::App app{"pcaplens — per-connection TCP and HTTP/1.1 analysis of packet captures", "pcaplens"};
    app.footer(std::string("Examples:\n"
                           "  Look at a capture\n"
                           "    pcaplens capture.pcap                            text report\n"
                           "    pcaplens rot-*.pcap 'tcp port 80'                rotated files merged by time, BPF filter\n"
                           "  Narrow the report down\n"
                           "    pcaplens --host 10.0.0.2 --port 443 capture.pcap connections to/from that host and port\n"
                           "    pcaplens --only-anomalous capture.pcap           only connections with warnings or errors\n"
                           "    pcaplens --timeline --conn 3 capture.pcap        ladder diagram of connection 3\n"
                           "  Read what was said\n"
                           "    pcaplens --follow 3 capture.pcap                 both directions of connection 3, escaped\n"
                           "    pcaplens --follow 3 --follow-format raw capture.pcap > conn3.bin\n"
                           "  Feed other tools\n"
                           "    pcaplens --format json capture.pcap | jq .       one JSON document\n"
                           "    pcaplens --format ndjson capture.pcap            a line per connection, then a summary\n"
                           "  Fail a pipeline\n"
                           "    pcaplens --fail-on rst_abort,syn_unanswered capture.pcap\n\n"
                           "CI check mode (rules, JUnit XML, GitHub annotations): pcaplens check FILE... [RULES]\n"
                           "  pcaplens check capture.pcap --rules ci-rules.json --junit pcaplens.xml\n"
                           "  see 'pcaplens check --help'\n\n") +
               kExitHelp);
    app.get_formatter()->column_width(34);

    CommonOptions o;
    std::string format = "text";
    std::string output;
    std::string color = "auto";
    std::vector<std::string> fail_on_args;  // repeatable, as in check mode
    bool version = false, list_anomalies = false, quiet = false;
    int verbose = 0;
    uint64_t only_conn = 0, follow = 0;
    bool only_anomalous = false, http_only = false;
    std::string host, follow_format = "ascii";
    uint16_t port = 0;

    add_input_options(app, o);
    app.add_option("--format", format, "Report format: text, json, ndjson (also markdown with --list-anomalies)")
        ->type_name("FORMAT")
        ->check(CLI::IsMember({"text", "json", "ndjson", "markdown"}))
        ->group("Output");
    app.add_option("-o,--output", output, "Write the report (or the followed stream) to FILE instead of standard output")->type_name("FILE")->group("Output");
    app.add_flag("--timeline", o.timeline, "Ladder diagram per connection (text) / timeline array (JSON)")->group("Output");
    app.add_option("--color", color, "Colour in text output: auto (only a terminal, unless NO_COLOR is set), always, never")->type_name("WHEN")->check(CLI::IsMember({"auto", "always", "never"}))->group("Output");
    app.add_flag("-q,--quiet", quiet, "Connection lines and summary only")->group("Output");
    app.add_flag("-v,--verbose", verbose, "More detail (repeat for all anomalies)")->group("Output");
    app.add_flag("--list-anomalies", list_anomalies, "Print the anomaly catalogue (--format json/ndjson: for programs; markdown: the docs table)")->group("Output");
    // Connection ids start at 1; 0 would quietly mean "not given".
    const CLI::Validator connection_id(
        [](std::string& v) {
            const bool zero = !v.empty() && v.find_first_not_of('0') == std::string::npos;
            return zero || v.find('-') != std::string::npos ? std::string("connection ids start at 1 (#1 in the report)") : std::string();
        },
        "", "connection id");
    app.add_option("--conn", only_conn, "Report only connection ID")->type_name("ID")->check(connection_id)->group("Select connections (in the report)");
    app.add_option("--host", host, "Report only connections whose client or server is ADDR")->type_name("ADDR")->group("Select connections (in the report)");
    auto* port_opt = app.add_option("--port", port, "Report only connections whose client or server port is N")
                         ->type_name("N")
                         ->group("Select connections (in the report)");
    app.add_flag("--only-anomalous", only_anomalous, "Report only connections with warning/error anomalies")->group("Select connections (in the report)");
    app.add_flag("--http-only", http_only, "Report only connections that carried HTTP")->group("Select connections (in the report)");
    app.add_option("--follow", follow, "Print the reassembled bytes of connection ID instead of the report")->type_name("ID")->check(connection_id)->group("Follow a stream");
    auto* follow_format_opt = app.add_option("--follow-format", follow_format, "ascii (escaped text), hex (dump), raw (bytes as they are; not to a terminal)")
                                  ->type_name("FORMAT")
                                  ->check(CLI::IsMember({"ascii", "hex", "raw"}))
                                  ->capture_default_str()
                                  ->group("Follow a stream");

    app.add_option("--fail-on", fail_on_args, "Exit 1 if any of these anomaly kinds (comma-separated; repeatable) is found")
        ->type_name("KIND,...")->allow_extra_args(false)->group("Checks");

    add_limit_options(app, o);
    pl::cli::LiveCli live;
    pl::cli::add_live_options(app, live);
    app.add_flag("-V,--version", version, "Print version, git revision, libpcap version, heap allocator and build flavour");

    app.positionals_at_end(false);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "pcaplens: %s (try pcaplens --help)\n", e.what());
        return kExitUsage;
    }
    if (live.list) return pl::cli::print_interfaces();
    if (version) {
        std::printf("pcaplens %s (git %s)\n%s\nheap allocator: %s\nbuild: %s\n", PCAPLENS_VERSION, PCAPLENS_GIT_REVISION,
                    pcap_lib_version(), pl::heap_allocator_name().c_str(), PCAPLENS_BUILD_FLAVOUR);
        return finish_output(stdout, "");
    }
    if (list_anomalies) {
        std::FILE* cat = open_output(output, "pcaplens", {});
        if (cat == nullptr) return kExitUnreadable;
        print_catalogue(cat, format);
        return finish_output(cat, output);
    }

    if (format == "markdown") {
        std::fprintf(stderr, "pcaplens: --format markdown is only for --list-anomalies\n");
        return kExitUsage;
    }
    std::optional<pl::IpAddress> host_addr;
    if (!host.empty()) {
        host_addr = pl::parse_ip_address(host);
        if (!host_addr) {
            std::fprintf(stderr, "pcaplens: --host '%s': not an IP address (give an IPv4 or IPv6 address, e.g. --host 10.0.0.2)\n", host.c_str());
            return kExitUsage;
        }
    }
    if (follow_format_opt->count() > 0 && follow == 0) {
        std::fprintf(stderr, "pcaplens: --follow-format needs --follow ID (the connection id from the report)\n");
        return kExitUsage;
    }
    if (follow != 0) {
        if (app.get_option("--format")->count() > 0) {
            std::fprintf(stderr, "pcaplens: --follow prints the stream, not a report; use --follow-format ascii|hex|raw instead of --format\n");
            return kExitUsage;
        }
        if (!live.interface.empty()) {
            std::fprintf(stderr, "pcaplens: --follow reads capture files, not a live interface (capture with -w FILE, then follow in the file)\n");
            return kExitUsage;
        }
        const bool to_terminal = (output.empty() || output == "-") && ::isatty(STDOUT_FILENO);
        if (follow_format == "raw" && to_terminal) {
            std::fprintf(stderr, "pcaplens: --follow-format raw writes the bytes as they are and standard output is a terminal; "
                                 "redirect it, use -o FILE, or --follow-format ascii\n");
            return kExitUsage;
        }
    }

    // Usage errors before the inputs are opened: 2 wins over 4.
    std::vector<pl::AnomalyKind> fail_kinds;
    if (const auto unknown = pl::parse_kind_list(fail_on_args, fail_kinds)) {
        std::fprintf(stderr, "pcaplens: --fail-on: unknown anomaly kind '%s' (see --list-anomalies)\n", unknown->c_str());
        return kExitUsage;
    }
    if (!fail_on_args.empty() && fail_kinds.empty()) {   // --fail-on "" would silently check nothing
        std::fprintf(stderr, "pcaplens: --fail-on: no anomaly kind given (see --list-anomalies)\n");
        return kExitUsage;
    }

    std::vector<std::string> files;
    std::string filter;
    if (live.interface.empty()) {
        if (int st = split_inputs(o, "pcaplens --help", files, filter); st != kExitOk) return st;
    } else {
        // Live: every positional argument is part of the filter expression.
        if (!o.read_files.empty()) {
            std::fprintf(stderr, "pcaplens: -i and -r cannot be used together\n");
            return kExitUsage;
        }
        for (const auto& a : o.positional) filter += (filter.empty() ? "" : " ") + a;
        if (!o.filter.empty()) filter = filter.empty() ? o.filter : o.filter + " and (" + filter + ")";
    }

    pl::AnalysisConfig cfg = make_config(o);

    // Usage errors of the live options, before -w or -o truncate anything.
    if (!live.interface.empty()) {
        if (!live.user.empty()) {
            try {
                pl::check_user(live.user);
            } catch (const pl::UsageError& e) {
                std::fprintf(stderr, "pcaplens: %s\n", e.what());
                return kExitUsage;
            }
        }
        const bool report_to_stdout = output.empty() || output == "-";
        if (live.write_file == "-" && report_to_stdout) {
            std::fprintf(stderr, "pcaplens: -w -: standard output carries the report; give the report a file with -o FILE\n");
            return kExitUsage;
        }
        if (!live.write_file.empty() && !report_to_stdout && same_file(live.write_file, output)) {
            std::fprintf(stderr, "pcaplens: -w and -o name the same file '%s'\n", output.c_str());
            return kExitUsage;
        }
    }

    std::unique_ptr<pl::PacketSource> source;
    try {
        if (!live.interface.empty()) {
            source = std::make_unique<pl::LiveSource>(pl::cli::to_live_options(live, filter), &g_stop);
            // Stream each connection as it finishes, in finish order.
            cfg.reorder_window = 0;
        } else {
            source = std::make_unique<pl::MergedFileSource>(files, filter);
        }
    } catch (const pl::UsageError& e) {
        std::fprintf(stderr, "pcaplens: %s\n", e.what());
        return kExitUsage;
    } catch (const pl::InputError& e) {
        std::fprintf(stderr, "pcaplens: %s\n", e.what());
        return unreadable_unless_bad_filter(filter, "pcaplens");
    }

    std::FILE* out = open_output(output, "pcaplens", files);
    if (out == nullptr) return kExitUnreadable;
    if (!live.user.empty()) {
        // After the device and every output file are open, as tcpdump -Z.
        try {
            pl::drop_privileges(live.user);
        } catch (const pl::UsageError& e) {
            std::fprintf(stderr, "pcaplens: %s\n", e.what());
            return kExitUsage;
        }
    }
    pl::ReportOptions ropt;
    ropt.timeline = o.timeline;
    ropt.tool_version = PCAPLENS_VERSION;
    ropt.verbosity = quiet ? -1 : verbose;
    ropt.only_conn = only_conn;
    ropt.only_anomalous = only_anomalous;
    ropt.http_only = http_only;
    ropt.host = host_addr;
    if (port_opt->count() > 0) ropt.port = port;
    ropt.flush_each = source->is_live();
    const bool tty = ::isatty(::fileno(out)) != 0;
    ropt.color = color == "always" || (color == "auto" && tty && std::getenv("NO_COLOR") == nullptr);
    // Fit the terminal; a file or a pipe gets every line whole.
    ropt.width = terminal_width(::fileno(out));
    if (utf8_locale()) ropt.ellipsis = "\u2026";
    if (follow != 0) {
        cfg.follow_connection = follow;
        cfg.follow_options.format = follow_format == "hex" ? pl::FollowFormat::hex : follow_format == "raw" ? pl::FollowFormat::raw : pl::FollowFormat::ascii;
        cfg.follow_options.color = ropt.color;
        cfg.follow_writer = [out](std::string_view b) { std::fwrite(b.data(), 1, b.size(), out); };
    }
    std::unique_ptr<pl::ReportSink> sink = follow != 0          ? std::make_unique<NullSink>()
                                           : format == "json"   ? pl::make_json_reporter(out, ropt)
                                           : format == "ndjson" ? pl::make_ndjson_reporter(out, ropt)
                                                                : pl::make_text_reporter(out, ropt);
    const bool progress = ::isatty(STDERR_FILENO) && !quiet;
    bool status_shown = false;
    if (progress && tty) sink = std::make_unique<StatusLineSink>(std::move(sink), status_shown);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    pl::RunInfo run;
    run.inputs = live.interface.empty() ? files : std::vector<std::string>{"live:" + live.interface};
    run.filter = filter;
    pl::Analysis analysis(cfg, *sink);
    try {
        analysis.run(*source, run, &g_stop, [&](const pl::Progress& p) {
            if (!progress) return;
            status_shown = true;
            if (source->is_live()) {
                std::fprintf(stderr, "\r%llu packets  %llu connections open  %llu dropped ", static_cast<unsigned long long>(p.packets),
                             static_cast<unsigned long long>(p.open_connections), static_cast<unsigned long long>(source->drops()));
                return;
            }
            const double pct = p.bytes_total ? 100.0 * static_cast<double>(p.bytes_read) / static_cast<double>(p.bytes_total) : 0;
            std::fprintf(stderr, "\r%5.1f%%  %llu packets  %llu connections open ", pct, static_cast<unsigned long long>(p.packets),
                         static_cast<unsigned long long>(p.open_connections));
        });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pcaplens: internal error: %s\n", e.what());
        return kExitUnreadable;
    }
    if (progress) std::fprintf(stderr, "\r%60s\r", "");
    // Flushed here: a short --follow output still sits in stdio's buffer, and
    // a failure at exit would go unseen.
    if (std::fflush(out) != 0 || std::ferror(out) || (out != stdout && std::fclose(out) != 0)) {
        std::fprintf(stderr, "pcaplens: %s: write error\n", output.empty() ? "standard output" : output.c_str());
        return kExitUnreadable;
    }

    int status = report_damage(source->file_stats());
    if (const auto e = source->write_error()) {
        std::fprintf(stderr, "pcaplens: %s; the capture stopped there (the report covers the packets before it)\n", e->c_str());
        status = kExitUnreadable;
    }
    if (const auto e = source->filter_error()) {
        std::fprintf(stderr, "pcaplens: %s (the report covers the packets before it)\n", e->c_str());
        status = kExitUsage;  // a usage error wins over damage (2 > 4 > 3 > 1)
    }
    if (follow != 0 && !analysis.follow_found()) {
        std::fprintf(stderr, "pcaplens: --follow %llu: no connection %llu in the capture (it has %llu; the report lists their ids)\n",
                     static_cast<unsigned long long>(follow), static_cast<unsigned long long>(follow),
                     static_cast<unsigned long long>(analysis.summary().connections));
        status = kExitUsage;  // a usage error wins over damage (2 > 4 > 3 > 1)
    }
    if (status == kExitOk) {
        std::vector<bool> named(pl::kAnomalyKindCount, false);  // a kind given twice is reported once
        for (pl::AnomalyKind k : fail_kinds) {
            const uint64_t n = analysis.summary().anomalies[static_cast<size_t>(k)];
            if (n > 0 && !named[static_cast<size_t>(k)]) {
                named[static_cast<size_t>(k)] = true;
                std::fprintf(stderr, "pcaplens: --fail-on: %s found %llu time%s\n", std::string(pl::kind_name(k)).c_str(),
                             static_cast<unsigned long long>(n), n == 1 ? "" : "s");
                status = kExitCheckFailed;
            }
        }
    }
    return status;
}
