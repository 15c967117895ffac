// pcaplens command line: tcpdump's habits (FILE... then a BPF expression,
// -r, -c, -w style options), CLI11 for parsing.
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "pcaplens/capture/source.hpp"
#include "pcaplens/pipeline.hpp"
#include "pcaplens/report/reporters.hpp"
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
    "  1  anomalies found that --fail-on asked to fail on (check failed)\n"
    "  2  usage error (bad option, bad filter expression, unknown anomaly kind)\n"
    "  3  input damaged: a file is truncated or corrupt; everything read before the damage is reported\n"
    "  4  input unreadable (missing file, not a capture) or the report could not be written\n"
    "When several apply, the highest-numbered one but 1 wins over 1 (2 > 4 > 3 > 1).\n";

std::atomic<bool> g_stop{false};  // set by SIGINT/SIGTERM; the only process-wide state
void on_signal(int) { g_stop.store(true); }

bool is_regular_or_fifo(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode));
}

void print_catalogue(const std::string& format) {
    if (format == "markdown") {
        std::printf("| kind | layer | severity | definition | Wireshark | Zeek | Suricata | proven by |\n");
        std::printf("|---|---|---|---|---|---|---|---|\n");
        for (const auto& e : pl::catalogue_all()) {
            std::printf("| `%s` | %s | %s | %s | %s | %s | %s | %s |\n", e.name, std::string(pl::layer_name(e.layer)).c_str(),
                        std::string(pl::severity_name(e.severity)).c_str(), e.definition, e.wireshark, e.zeek, e.suricata, e.fixture);
        }
        return;
    }
    for (const auto& e : pl::catalogue_all()) {
        std::printf("%-34s %-8s %-8s %s\n", e.name, std::string(pl::layer_name(e.layer)).c_str(),
                    std::string(pl::severity_name(e.severity)).c_str(), e.definition);
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"pcaplens — per-connection TCP and HTTP/1.1 analysis of packet captures", "pcaplens"};
    app.footer(std::string("Examples:\n"
                           "  pcaplens capture.pcap                         text report\n"
                           "  pcaplens --format json capture.pcap | jq .     one JSON document\n"
                           "  pcaplens rot-*.pcap 'tcp port 80'              rotated files merged by time, BPF filter\n"
                           "  pcaplens --timeline --conn 3 capture.pcap      ladder of connection 3\n"
                           "  pcaplens --fail-on rst_abort,syn_unanswered capture.pcap\n\n") +
               kExitHelp);
    app.get_formatter()->column_width(34);

    std::vector<std::string> read_files;
    std::vector<std::string> positional;
    std::string format = "text";
    std::string output;
    std::string filter;
    std::string color = "auto";
    std::string fail_on;
    uint64_t count = 0;
    bool version = false, timeline = false, list_anomalies = false, quiet = false, verify_checksums = false, no_http = false;
    int verbose = 0;
    uint64_t only_conn = 0;
    bool only_anomalous = false, http_only = false;
    double idle_timeout_s = 300, msl_s = 30, linger_s = 5;
    uint64_t max_connections = 262144, max_buffer_mb = 512, max_dir_buffer_mb = 8;
    uint32_t http_max_header_bytes = 64 * 1024, http_max_headers = 256, http_max_pipeline = 1024;
    double http_slow_ms = 0;
    uint32_t max_anomalies = 1000;

    app.add_option("-r,--read", read_files, "Read packets from FILE (repeatable; pcap or pcapng)")->group("Input");
    app.add_option("files", positional, "Capture files, then an optional BPF expression (as tcpdump)")->group("Input");
    app.add_option("-f,--filter", filter, "BPF filter expression (alternative to the trailing expression)")->group("Input");
    app.add_option("-c,--count", count, "Stop after N packets (after filtering)")->group("Input");
    app.add_flag("--verify-checksums", verify_checksums, "Verify IP/TCP checksums (off: offload makes them wrong on senders)")->group("Input");

    app.add_option("--format", format, "Report format: text, json, ndjson (markdown with --list-anomalies)")
        ->check(CLI::IsMember({"text", "json", "ndjson", "markdown"}))
        ->group("Output");
    app.add_option("-o,--output", output, "Write the report to FILE instead of standard output")->group("Output");
    app.add_flag("--timeline", timeline, "Ladder diagram per connection (text) / timeline array (JSON)")->group("Output");
    app.add_option("--color", color, "Colour in text output")->check(CLI::IsMember({"auto", "always", "never"}))->group("Output");
    app.add_flag("-q,--quiet", quiet, "Connection lines and summary only")->group("Output");
    app.add_flag("-v,--verbose", verbose, "More detail (repeat for all anomalies)")->group("Output");
    app.add_option("--conn", only_conn, "Report only connection ID")->group("Output");
    app.add_flag("--only-anomalous", only_anomalous, "Report only connections with warning/error anomalies")->group("Output");
    app.add_flag("--http-only", http_only, "Report only connections that carried HTTP")->group("Output");
    app.add_flag("--list-anomalies", list_anomalies, "Print the anomaly catalogue (with --format markdown: the docs table)")->group("Output");

    app.add_option("--fail-on", fail_on, "Exit 1 if any of these anomaly kinds (comma-separated) is found")->group("Checks");

    app.add_option("--idle-timeout", idle_timeout_s, "Evict connections idle this many seconds")->capture_default_str()->group("Limits");
    app.add_option("--msl", msl_s, "Maximum segment lifetime in seconds (TIME_WAIT = 2*MSL)")->capture_default_str()->group("Limits");
    app.add_option("--close-linger", linger_s, "Keep a closed connection this many seconds for late packets")->capture_default_str()->group("Limits");
    app.add_option("--max-connections", max_connections, "Connections tracked at once (least recently active evicted)")->capture_default_str()->group("Limits");
    app.add_option("--max-buffer-mb", max_buffer_mb, "Out-of-order bytes buffered in total, MiB")->capture_default_str()->group("Limits");
    app.add_option("--max-direction-buffer-mb", max_dir_buffer_mb, "Out-of-order bytes buffered per direction, MiB")->capture_default_str()->group("Limits");
    app.add_option("--max-anomalies", max_anomalies, "Anomalies kept per connection (all are counted)")->capture_default_str()->group("Limits");
    app.add_flag("--no-http", no_http, "Do not parse HTTP")->group("HTTP");
    app.add_option("--http-max-header-bytes", http_max_header_bytes, "Largest HTTP header block")->capture_default_str()->group("HTTP");
    app.add_option("--http-max-headers", http_max_headers, "Most header lines in one block")->capture_default_str()->group("HTTP");
    app.add_option("--http-max-pipeline", http_max_pipeline, "Most outstanding requests per connection")->capture_default_str()->group("HTTP");
    app.add_option("--http-slow-ms", http_slow_ms, "Report responses slower than this (time to first byte); 0 = off")->capture_default_str()->group("HTTP");
    app.add_flag("-V,--version", version, "Print version, git revision and libpcap version");

    app.positionals_at_end(false);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "pcaplens: %s\nTry 'pcaplens --help'.\n", e.what());
        return kExitUsage;
    }
    if (version) {
        std::printf("pcaplens %s (git %s)\n%s\n", PCAPLENS_VERSION, PCAPLENS_GIT_REVISION, pcap_lib_version());
        return kExitOk;
    }
    if (list_anomalies) {
        print_catalogue(format == "text" ? "text" : format);
        return kExitOk;
    }

    if (format == "markdown") {
        std::fprintf(stderr, "pcaplens: --format markdown is only for --list-anomalies\n");
        return kExitUsage;
    }

    // Split positionals into files and the trailing BPF expression: leading
    // arguments naming existing files are inputs (unless -r was used).
    std::vector<std::string> files = read_files;
    std::string expr;
    size_t i = 0;
    if (read_files.empty()) {
        for (; i < positional.size() && is_regular_or_fifo(positional[i]); ++i) files.push_back(positional[i]);
    }
    for (; i < positional.size(); ++i) expr += (expr.empty() ? "" : " ") + positional[i];
    if (!expr.empty() && !filter.empty()) {
        std::fprintf(stderr, "pcaplens: both -f '%s' and a trailing expression '%s' given\n", filter.c_str(), expr.c_str());
        return kExitUsage;
    }
    if (filter.empty()) filter = expr;
    if (files.empty()) {
        if (!positional.empty()) {
            std::fprintf(stderr, "pcaplens: %s: no such file\n", positional[0].c_str());
            return kExitUnreadable;
        }
        std::fprintf(stderr, "pcaplens: no capture file given\nTry 'pcaplens --help'.\n");
        return kExitUsage;
    }

    std::vector<pl::AnomalyKind> fail_kinds;
    if (!fail_on.empty()) {
        size_t start = 0;
        while (start <= fail_on.size()) {
            size_t end = fail_on.find(',', start);
            if (end == std::string::npos) end = fail_on.size();
            std::string k = fail_on.substr(start, end - start);
            if (!k.empty()) {
                auto kind = pl::kind_from_name(k);
                if (!kind) {
                    std::fprintf(stderr, "pcaplens: --fail-on: unknown anomaly kind '%s' (see --list-anomalies)\n", k.c_str());
                    return kExitUsage;
                }
                fail_kinds.push_back(*kind);
            }
            start = end + 1;
        }
    }

    pl::AnalysisConfig cfg;
    cfg.decode.verify_checksums = verify_checksums;
    cfg.max_packets = count;
    cfg.http_enabled = !no_http;
    cfg.tcp.idle_timeout_ns = static_cast<int64_t>(idle_timeout_s * 1e9);
    cfg.tcp.msl_ns = static_cast<int64_t>(msl_s * 1e9);
    cfg.tcp.close_linger_ns = static_cast<int64_t>(linger_s * 1e9);
    cfg.tcp.max_connections = std::max<uint64_t>(1, max_connections);
    cfg.tcp.max_buffered_total = max_buffer_mb << 20;
    cfg.tcp.max_buffered_per_direction = max_dir_buffer_mb << 20;
    cfg.tcp.max_anomalies_per_connection = max_anomalies;
    cfg.tcp.timeline = timeline;
    cfg.http.max_header_bytes = http_max_header_bytes;
    cfg.http.max_headers = http_max_headers;
    cfg.http.max_pipeline = http_max_pipeline;
    cfg.http.slow_response_ns = static_cast<int64_t>(http_slow_ms * 1e6);

    std::unique_ptr<pl::MergedFileSource> source;
    try {
        source = std::make_unique<pl::MergedFileSource>(files, filter);
    } catch (const pl::UsageError& e) {
        std::fprintf(stderr, "pcaplens: %s\n", e.what());
        return kExitUsage;
    } catch (const pl::InputError& e) {
        std::fprintf(stderr, "pcaplens: %s\n", e.what());
        return kExitUnreadable;
    }

    std::FILE* out = stdout;
    if (!output.empty() && output != "-") {
        out = std::fopen(output.c_str(), "w");
        if (!out) {
            std::fprintf(stderr, "pcaplens: %s: cannot write: %s\n", output.c_str(), std::strerror(errno));
            return kExitUnreadable;
        }
    }
    pl::ReportOptions ropt;
    ropt.timeline = timeline;
    ropt.tool_version = PCAPLENS_VERSION;
    ropt.verbosity = quiet ? -1 : verbose;
    ropt.only_conn = only_conn;
    ropt.only_anomalous = only_anomalous;
    ropt.http_only = http_only;
    const bool tty = ::isatty(::fileno(out)) != 0;
    ropt.color = color == "always" || (color == "auto" && tty && std::getenv("NO_COLOR") == nullptr);
    std::unique_ptr<pl::ReportSink> sink = format == "json"     ? pl::make_json_reporter(out, ropt)
                                           : format == "ndjson" ? pl::make_ndjson_reporter(out, ropt)
                                                                : pl::make_text_reporter(out, ropt);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    pl::RunInfo run;
    run.inputs = files;
    run.filter = filter;
    pl::Analysis analysis(cfg, *sink);
    const bool progress = ::isatty(STDERR_FILENO) && !quiet;
    try {
        analysis.run(*source, run, &g_stop, [&](const pl::Progress& p) {
            if (!progress) return;
            const double pct = p.bytes_total ? 100.0 * static_cast<double>(p.bytes_read) / static_cast<double>(p.bytes_total) : 0;
            std::fprintf(stderr, "\r%5.1f%%  %llu packets  %llu connections open ", pct, static_cast<unsigned long long>(p.packets),
                         static_cast<unsigned long long>(p.open_connections));
        });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pcaplens: internal error: %s\n", e.what());
        return kExitUnreadable;
    }
    if (progress) std::fprintf(stderr, "\r%60s\r", "");
    if (std::ferror(out) || (out != stdout && std::fclose(out) != 0)) {
        std::fprintf(stderr, "pcaplens: %s: write error\n", output.empty() ? "standard output" : output.c_str());
        return kExitUnreadable;
    }

    int status = kExitOk;
    for (const pl::FileStats& f : source->file_stats()) {
        if (f.damage) {
            std::fprintf(stderr, "pcaplens: %s: %s at packet %llu (byte %llu): %s; reported %llu packets read before it\n", f.path.c_str(),
                         f.damage->kind == "truncated_record" ? "truncated record" : f.damage->kind.c_str(),
                         static_cast<unsigned long long>(f.damage->packet), static_cast<unsigned long long>(f.damage->offset),
                         f.damage->message.c_str(), static_cast<unsigned long long>(f.packets));
            status = kExitDamaged;
        }
    }
    if (status == kExitOk) {
        for (pl::AnomalyKind k : fail_kinds) {
            if (analysis.summary().anomalies[static_cast<size_t>(k)] > 0) {
                std::fprintf(stderr, "pcaplens: --fail-on: %s found %llu times\n", std::string(pl::kind_name(k)).c_str(),
                             static_cast<unsigned long long>(analysis.summary().anomalies[static_cast<size_t>(k)]));
                status = kExitCheckFailed;
            }
        }
    }
    return status;
}
