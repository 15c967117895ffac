// Findings (anomalies): one catalogue of kinds, and the evidence each record
// carries. The catalogue table in src/findings/catalogue.cpp is the single
// source of docs/anomalies.md (`pcaplens --list-anomalies --format markdown`).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pcaplens {

enum class Layer : uint8_t { capture, ip, tcp, http };
enum class Severity : uint8_t { info, warning, error };

// X-macro so the enum, its names and the catalogue cannot drift apart.
#define PCAPLENS_ANOMALY_KINDS(X)                \
    X(truncated_packet)                          \
    X(damaged_file)                              \
    X(timestamp_backwards)                       \
    X(unknown_link_type)                         \
    X(malformed_packet)                          \
    X(capture_drops)                             \
    X(bad_checksum)                              \
    X(ip_fragment_incomplete)                    \
    X(ip_fragment_overlap)                       \
    X(syn_unanswered)                            \
    X(connection_refused)                        \
    X(syn_retransmission)                        \
    X(synack_retransmission)                     \
    X(synack_bad_ack)                            \
    X(handshake_ack_bad_ack)                     \
    X(syn_with_data)                             \
    X(simultaneous_open)                         \
    X(midstream_pickup)                          \
    X(data_before_handshake)                     \
    X(retransmission)                            \
    X(spurious_retransmission)                   \
    X(fast_retransmission)                       \
    X(out_of_order)                              \
    X(previous_segment_not_captured)             \
    X(ack_unseen_segment)                        \
    X(duplicate_ack)                             \
    X(triple_duplicate_ack)                      \
    X(zero_window)                               \
    X(zero_window_probe)                         \
    X(window_full)                               \
    X(window_shrink)                             \
    X(keepalive)                                 \
    X(overlap_conflict)                          \
    X(segment_outside_window)                    \
    X(rst_abort)                                 \
    X(data_after_fin)                            \
    X(data_after_rst)                            \
    X(fin_retransmission)                        \
    X(half_closed_open)                          \
    X(open_at_end)                               \
    X(time_wait_reuse)                           \
    X(idle_eviction)                             \
    X(resource_cap)                              \
    X(http_response_without_request)             \
    X(http_request_without_response)            \
    X(http_malformed_request)                    \
    X(http_malformed_response)                   \
    X(http_malformed_header)                     \
    X(http_header_too_large)                     \
    X(http_bad_content_length)                   \
    X(http_content_length_with_chunked)          \
    X(http_transfer_encoding_in_http10)          \
    X(http_bad_chunk)                            \
    X(http_body_truncated)                       \
    X(http_header_truncated)                     \
    X(http_request_after_close)                  \
    X(http_pipeline_depth)                       \
    X(http_data_after_upgrade_failure)           \
    X(http_client_error)                         \
    X(http_server_error)                         \
    X(http_slow_response)                        \
    X(http_gap)                                  \
    X(http_obsolete_line_folding)                \
    X(http_bare_lf)

enum class AnomalyKind : uint16_t {
#define PCAPLENS_X(k) k,
    PCAPLENS_ANOMALY_KINDS(PCAPLENS_X)
#undef PCAPLENS_X
        count_
};
constexpr size_t kAnomalyKindCount = static_cast<size_t>(AnomalyKind::count_);

struct CatalogueEntry {
    AnomalyKind kind;
    const char* name;        // stable snake_case
    Layer layer;
    Severity severity;
    const char* definition;  // the exact rule
    const char* wireshark;   // nearest tcp.analysis.* / expert item
    const char* zeek;        // weird name or history letter
    const char* suricata;    // stream.* / http.* event
    const char* fixture;     // test that proves it fires / near miss
};

const CatalogueEntry& catalogue(AnomalyKind k);
const std::vector<CatalogueEntry>& catalogue_all();
std::string_view kind_name(AnomalyKind k);
std::optional<AnomalyKind> kind_from_name(std::string_view name);
// Kinds from option values, each a comma-separated list ("rst_abort,
// zero_window"; spaces around names and empty items ignored), appended to
// `out` in order. Returns the first unknown name, or nullopt when all are
// known. Used by --fail-on and by check's --allow/--fail-on/--max.
std::optional<std::string> parse_kind_list(const std::vector<std::string>& values, std::vector<AnomalyKind>& out);
std::string_view layer_name(Layer l);
std::string_view severity_name(Severity s);
std::optional<Severity> severity_from_name(std::string_view s);

// Direction of the packet a finding is about, relative to the connection.
enum class FlowDir : uint8_t { none, client_to_server, server_to_client };

struct Finding {
    AnomalyKind kind{};
    int64_t ts_ns = 0;
    uint64_t frame = 0;        // 1-based frame number of the packet involved (0: none)
    uint64_t frame2 = 0;       // a second frame (e.g. the original of a retransmission), 0 if none
    uint64_t connection = 0;   // connection id, 0 for capture-level findings
    FlowDir dir = FlowDir::none;
    std::optional<uint32_t> rel_seq, rel_ack;
    std::string detail;
};

}  // namespace pcaplens
