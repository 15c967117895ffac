// Reporters: text for people, one JSON document, NDJSON (one connection per
// line as it finishes, then a summary line). All stream: a finished
// connection is written and forgotten.
#pragma once
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "pcaplens/report/record.hpp"

namespace pcaplens {

struct ReportOptions {
    bool timeline = false;        // ladder per connection (text) / "timeline" array (JSON)
    bool flush_each = false;      // fflush after each record (live)
    bool color = false;           // ANSI colour in text
    int verbosity = 0;            // -q = -1, -v = 1
    uint32_t max_anomalies_text = 20;  // per connection in text; the rest summarised
    std::string tool_version;
    // Post-filters on the report (not on packets).
    uint64_t only_conn = 0;       // --conn ID
    bool only_anomalous = false;
    bool http_only = false;
    std::optional<IpAddress> host;  // --host ADDR: the client's or the server's address
    std::optional<uint16_t> port;   // --port N: the client's or the server's port
    // Text: lines wider than this are cut with `ellipsis` (0 = never; set
    // only when standard output is a terminal).
    unsigned width = 0;
    std::string ellipsis = "...";
};

extern const char* const kSchemaVersion;

std::unique_ptr<ReportSink> make_text_reporter(std::FILE* out, const ReportOptions& opt);
std::unique_ptr<ReportSink> make_json_reporter(std::FILE* out, const ReportOptions& opt);
std::unique_ptr<ReportSink> make_ndjson_reporter(std::FILE* out, const ReportOptions& opt);

// Shared helpers (also used by tests and the check mode).
void write_connection_json(const ConnectionRecord& rec, const ReportOptions& opt, class JsonWriter& w);
void write_connection_members(const ConnectionRecord& rec, const ReportOptions& opt, class JsonWriter& w);
std::string format_ts(int64_t ns);          // "2026-11-25 13:20:01.123456" UTC
std::string format_bytes(uint64_t n);       // "15.2 kB"
std::string printable(std::string_view s);  // terminal-safe: control and non-UTF-8 bytes escaped
// Cuts `line` (ASCII text with ANSI SGR colour sequences) to `width` visible
// columns, ending with `ellipsis` when cut; colour is reset after a cut.
std::string fit_width(const std::string& line, unsigned width, const std::string& ellipsis);

// The anomaly catalogue (`--list-anomalies --format json|ndjson`): one
// #/definitions/catalogue document, or one #/definitions/catalogue_entry per
// line when `ndjson`. Same rows, same order as the text and markdown forms.
std::string catalogue_json(bool ndjson, const std::string& tool_version);

// Whether a record passes the report post-filters.
bool record_selected(const ConnectionRecord& rec, const ReportOptions& opt);

}  // namespace pcaplens
