// The anomaly catalogue: one row per kind. docs/anomalies.md is generated
// from this table (`pcaplens --list-anomalies --format markdown`) and a test
// checks that the committed file matches.
#include <algorithm>

#include "pcaplens/findings/finding.hpp"

namespace pcaplens {
namespace {

using L = Layer;
using S = Severity;
using K = AnomalyKind;

const std::vector<CatalogueEntry>& table() {
    static const std::vector<CatalogueEntry> t = {
        {K::truncated_packet, "truncated_packet", L::capture, S::info,
         "The capture kept fewer bytes than the packet had on the wire (caplen < wire length, the snaplen cut). Payload bytes that were cut become gaps in the stream.",
         "frame.cap_len < frame.len ([Packet size limited during capture])", "(none; Zeek counts it in capture_loss)", "decoder.ipv4.trunc_pkt / decoder.tcp.trunc_pkt", "tests/unit/test_anomalies.cpp: fires/near miss: truncated_packet"},
        {K::damaged_file, "damaged_file", L::capture, S::error,
         "The capture file could not be read past a record: a truncated last record, a corrupt record header or a bad pcapng block. Everything before it is reported; the file, packet number and byte offset are named.",
         "\"The file appears to be damaged or corrupt\"", "(reader error)", "(pcap read error)", "tests/unit/test_anomalies.cpp: fires/near miss: damaged_file"},
        {K::timestamp_backwards, "timestamp_backwards", L::capture, S::warning,
         "A packet's timestamp is earlier than the previous packet's in the same file.",
         "(none; frame.time_delta < 0)", "(none)", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: timestamp_backwards"},
        {K::unknown_link_type, "unknown_link_type", L::capture, S::warning,
         "A packet on a link type pcaplens does not decode; it is counted and skipped.",
         "(dissector not available)", "(packet_filter / unknown_protocol weird)", "decoder.unknown_linktype (approx.)", "tests/unit/test_anomalies.cpp: fires/near miss: unknown_link_type"},
        {K::malformed_packet, "malformed_packet", L::ip, S::warning,
         "A link, IP or TCP header is invalid or shorter than it claims (bad version or header length, total length below its header, options past the header). A header that claims more than the frame holds (an IP total or payload length beyond the frame) or a TCP option with a bad length is reported too, and that packet is still analysed as far as the wire goes.",
         "_ws.malformed", "truncated_header / bad_IP_checksum family", "decoder.ipv4.hlen_too_small etc.", "tests/unit/test_anomalies.cpp: fires/near miss: malformed_packet"},
        {K::capture_drops, "capture_drops", L::capture, S::warning,
         "libpcap or the kernel dropped packets during a live capture (pcap_stats ps_drop / ps_ifdrop).",
         "(dumpcap drop count)", "capture_loss", "capture.kernel_drops", "tests/e2e/live"},
        {K::bad_checksum, "bad_checksum", L::ip, S::info,
         "IP header or TCP checksum is wrong. Only checked with --verify-checksums, since checksum offload makes sender-side captures carry garbage checksums.",
         "ip.checksum.status / tcp.checksum.status == Bad", "bad_TCP_checksum", "decoder.*.checksum (stream.checksum)", "tests/unit/test_anomalies.cpp: fires/near miss: bad_checksum"},
        {K::ip_fragment_incomplete, "ip_fragment_incomplete", L::ip, S::warning,
         "IP fragments of a datagram that never completed (timeout, end of capture or fragment memory cap).",
         "ip.fragment.error / \"reassembly incomplete\"", "fragment_... (incomplete)", "defrag.*", "tests/unit/test_anomalies.cpp: fires/near miss: ip_fragment_incomplete"},
        {K::ip_fragment_overlap, "ip_fragment_overlap", L::ip, S::warning,
         "Overlapping IP fragments carrying different bytes (first copy kept).",
         "ip.fragment.overlap.conflict", "fragment_inconsistency", "defrag.*overlap", "tests/unit/test_anomalies.cpp: fires/near miss: ip_fragment_overlap"},
        {K::syn_unanswered, "syn_unanswered", L::tcp, S::error,
         "A connection whose SYN (and its retransmissions) got no SYN-ACK and no RST by the end of the capture or eviction. The detail gives the retransmission count.",
         "(none; tcp.analysis.retransmission on SYNs)", "conn_state S0", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: syn_unanswered"},
        {K::connection_refused, "connection_refused", L::tcp, S::error,
         "The server answered the SYN with a RST (nothing listening).",
         "(RST after SYN)", "conn_state REJ", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: connection_refused"},
        {K::syn_retransmission, "syn_retransmission", L::tcp, S::warning,
         "A SYN with the same ISN as an earlier SYN of the same connection.",
         "tcp.analysis.retransmission (on a SYN)", "history letter S repeated", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: syn_retransmission"},
        {K::synack_retransmission, "synack_retransmission", L::tcp, S::warning,
         "A SYN-ACK with the same ISN as an earlier SYN-ACK.",
         "tcp.analysis.retransmission (on a SYN-ACK)", "history letter H repeated", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: synack_retransmission"},
        {K::synack_bad_ack, "synack_bad_ack", L::tcp, S::error,
         "A SYN-ACK whose acknowledgment number is not the client's ISN + 1.",
         "(tcp.ack != 1 on SYN-ACK)", "(none)", "stream.3whs_synack_with_wrong_ack", "tests/unit/test_anomalies.cpp: fires/near miss: synack_bad_ack"},
        {K::handshake_ack_bad_ack, "handshake_ack_bad_ack", L::tcp, S::error,
         "The client's first ACK after the SYN-ACK does not acknowledge the server's ISN + 1.",
         "(none)", "(none)", "stream.3whs_ack_in_wrong_dir / 3whs_wrong_seq_wrong_ack", "tests/unit/test_anomalies.cpp: fires/near miss: handshake_ack_bad_ack"},
        {K::syn_with_data, "syn_with_data", L::tcp, S::info,
         "A SYN or SYN-ACK carrying payload (TCP Fast Open or crafted). The data is delivered to the stream.",
         "(tcp.len > 0 on SYN)", "SYN_with_data", "stream.3whs_syn_with_data (approx.)", "tests/unit/test_anomalies.cpp: fires/near miss: syn_with_data"},
        {K::simultaneous_open, "simultaneous_open", L::tcp, S::info,
         "Both ends sent a bare SYN: RFC 9293 simultaneous open.",
         "(none)", "(history S in both directions)", "stream.* (none)", "tests/unit/test_anomalies.cpp: fires/near miss: simultaneous_open"},
        {K::midstream_pickup, "midstream_pickup", L::tcp, S::info,
         "The first packet of the connection is not a SYN: the capture started after the handshake. Roles are inferred (well-known or lower port is the server; revised by the first payload if it is clearly a request or response).",
         "(no SYN: 'missing segments' in conversation)", "history without S (conn_state OTH)", "stream.midstream (config)", "tests/unit/test_anomalies.cpp: fires/near miss: midstream_pickup"},
        {K::data_before_handshake, "data_before_handshake", L::tcp, S::warning,
         "Payload from either end before the three-way handshake completed (other than data on the SYN).",
         "(none)", "data_before_established", "stream.3whs_* (approx.)", "tests/unit/test_anomalies.cpp: fires/near miss: data_before_handshake"},
        {K::retransmission, "retransmission", L::tcp, S::warning,
         "A segment carrying only bytes already seen in this direction (and not a keep-alive probe).",
         "tcp.analysis.retransmission", "history letter T", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: retransmission"},
        {K::spurious_retransmission, "spurious_retransmission", L::tcp, S::info,
         "A retransmission of bytes the receiver had already acknowledged.",
         "tcp.analysis.spurious_retransmission", "(none)", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: spurious_retransmission"},
        {K::fast_retransmission, "fast_retransmission", L::tcp, S::warning,
         "A retransmission that follows at least two duplicate ACKs for its sequence number.",
         "tcp.analysis.fast_retransmission", "(none)", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: fast_retransmission"},
        {K::out_of_order, "out_of_order", L::tcp, S::info,
         "A segment with new bytes that fills a hole before data already captured.",
         "tcp.analysis.out_of_order", "(none)", "stream.reassembly_* (approx.)", "tests/unit/test_anomalies.cpp: fires/near miss: out_of_order"},
        {K::previous_segment_not_captured, "previous_segment_not_captured", L::tcp, S::warning,
         "A segment that starts beyond the next expected byte: a hole opened in the stream.",
         "tcp.analysis.lost_segment", "history letter (gap)", "stream.reassembly_seq_gap", "tests/unit/test_anomalies.cpp: fires/near miss: previous_segment_not_captured"},
        {K::ack_unseen_segment, "ack_unseen_segment", L::tcp, S::warning,
         "The peer acknowledged bytes beyond anything captured in that direction: the capture missed them. They become a gap -- except a single sequence number beyond all the data, most likely a FIN not captured (or captured after its ACK), which becomes a gap only if data beyond it follows.",
         "tcp.analysis.ack_lost_segment", "ack_above_hole / content_gap", "stream.pkt_* (approx.)", "tests/unit/test_anomalies.cpp: fires/near miss: ack_unseen_segment"},
        {K::duplicate_ack, "duplicate_ack", L::tcp, S::info,
         "A pure ACK repeating the previous ACK number and (non-zero) window while the peer has unacknowledged data, with no data, SYN, FIN or RST. Answers to zero-window probes are not duplicate ACKs.",
         "tcp.analysis.duplicate_ack", "(none)", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: duplicate_ack"},
        {K::triple_duplicate_ack, "triple_duplicate_ack", L::tcp, S::warning,
         "The third duplicate ACK in a row for the same number.",
         "tcp.analysis.duplicate_ack_num >= 3", "(none)", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: triple_duplicate_ack"},
        {K::zero_window, "zero_window", L::tcp, S::warning,
         "A segment advertising a receive window of zero (not SYN, FIN or RST).",
         "tcp.analysis.zero_window", "history letter W", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: zero_window"},
        {K::zero_window_probe, "zero_window_probe", L::tcp, S::info,
         "A 1-byte segment at the next sequence number sent while the peer advertises a zero window, and the same byte sent again while the window stays zero (RFC 9293 3.8.6.1).",
         "tcp.analysis.zero_window_probe", "(none)", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: zero_window_probe"},
        {K::window_full, "window_full", L::tcp, S::info,
         "A segment that fills the peer's advertised window exactly.",
         "tcp.analysis.window_full", "(none)", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: window_full"},
        {K::window_shrink, "window_shrink", L::tcp, S::info,
         "The right edge of the advertised window (ack + window) moved left.",
         "(none)", "(none)", "stream.wrong_thresh (approx.)", "tests/unit/test_anomalies.cpp: fires/near miss: window_shrink"},
        {K::keepalive, "keepalive", L::tcp, S::info,
         "A keep-alive probe: 0 or 1 byte at next sequence - 1, after data or at the ISN of a connection that never carried any (RFC 9293 3.8.4). Counted, never a retransmission.",
         "tcp.analysis.keep_alive", "(none)", "stream.pkt_* (keepalive)", "tests/unit/test_anomalies.cpp: fires/near miss: keepalive"},
        {K::overlap_conflict, "overlap_conflict", L::tcp, S::error,
         "A segment overlapping bytes already captured with different content. Policy: the first copy wins. Not compared once the connection is closed (both FINs acknowledged, so every byte is).",
         "tcp.analysis.reused_ports / (overlap with different data)", "TCP_ack_underflow_or_misorder / rexmit_inconsistency", "stream.reassembly_overlap_different_data", "tests/unit/test_anomalies.cpp: fires/near miss: overlap_conflict"},
        {K::segment_outside_window, "segment_outside_window", L::tcp, S::warning,
         "A segment the receiving end would not accept (RFC 9293 3.10.7): data beyond the receiver's last advertised window; a RST outside the receiver's window (or, to an end in SYN-SENT, one without ACK or not acknowledging the SYN); an ACK to an end in SYN-SENT that does not acknowledge its SYN (an earlier connection's, answered by a RST). Such a RST or ACK changes no state.",
         "(tcp.analysis.window_full exceeded)", "window_recision (approx.)", "stream.pkt_beyond_window / est_packet_out_of_window / stream.rst_invalid", "tests/unit/test_anomalies.cpp: fires/near miss: segment_outside_window; tests/unit/test_tcp_lifecycle.cpp: RST and ACK acceptance"},
        {K::rst_abort, "rst_abort", L::tcp, S::warning,
         "A connection reset (not a refused SYN) that the receiver accepts: inside its window, while the connection is not yet closed by both FINs. The detail names the sender, its state, whether a FIN came before and whether the RST carried data.",
         "(tcp.flags.reset == 1)", "conn_state RSTO/RSTR/RSTOS0/RSTRH", "stream.rst_*", "tests/unit/test_anomalies.cpp: fires/near miss: rst_abort"},
        {K::data_after_fin, "data_after_fin", L::tcp, S::warning,
         "Payload beyond the sender's own FIN.",
         "(none)", "data_after_FIN (approx.)", "stream.fin_*_data (approx.)", "tests/unit/test_anomalies.cpp: fires/near miss: data_after_fin"},
        {K::data_after_rst, "data_after_rst", L::tcp, S::warning,
         "Payload after the connection was reset.",
         "(none)", "data_after_reset", "stream.pkt_after_rst (approx.)", "tests/unit/test_anomalies.cpp: fires/near miss: data_after_rst"},
        {K::fin_retransmission, "fin_retransmission", L::tcp, S::info,
         "A FIN at the same sequence number as an earlier FIN from the same end.",
         "tcp.analysis.retransmission (on a FIN)", "(history F repeated)", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: fin_retransmission"},
        {K::half_closed_open, "half_closed_open", L::tcp, S::info,
         "Only one end had sent a FIN by the end of the capture.",
         "(none)", "conn_state S2/S3/SH", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: half_closed_open"},
        {K::open_at_end, "open_at_end", L::tcp, S::info,
         "The connection was still open (no FIN, no RST) when the capture ended.",
         "(none)", "conn_state S1", "(none)", "tests/unit/test_anomalies.cpp: fires/near miss: open_at_end"},
        {K::time_wait_reuse, "time_wait_reuse", L::tcp, S::warning,
         "A new SYN on a 4-tuple whose previous connection is still within 2 MSL of entering TIME_WAIT.",
         "tcp.analysis.reused_ports", "(none)", "stream.pkt_* (reuse)", "tests/unit/test_anomalies.cpp: fires/near miss: time_wait_reuse"},
        {K::idle_eviction, "idle_eviction", L::tcp, S::info,
         "The connection was idle longer than --idle-timeout and was reported and forgotten.",
         "(none)", "(inactivity timeout)", "(flow timeout)", "tests/unit/test_anomalies.cpp: fires/near miss: idle_eviction"},
        {K::resource_cap, "resource_cap", L::capture, S::warning,
         "A configured memory or count cap was reached (connections, buffered bytes, fragments, HTTP header or pipeline limits); processing continued in degraded mode as described in the detail.",
         "(none)", "(none)", "stream.reassembly_memcap / flow.memcap", "tests/unit/test_anomalies.cpp: fires/near miss: resource_cap"},
        {K::http_response_without_request, "http_response_without_request", L::http, S::warning,
         "A response arrived with no outstanding request to pair it with.",
         "(http.response without request)", "unmatched_HTTP_reply", "http.unable_to_match_response_to_request", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_response_without_request"},
        {K::http_request_without_response, "http_request_without_response", L::http, S::warning,
         "A request never got a response by the end of the connection.",
         "(none)", "(http.log without status)", "(none)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_request_without_response"},
        {K::http_malformed_request, "http_malformed_request", L::http, S::warning,
         "A request line that is not METHOD SP target SP HTTP/x.y.",
         "_ws.expert (malformed request)", "bad_HTTP_request", "http.request_line_invalid (approx.)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_malformed_request"},
        {K::http_malformed_response, "http_malformed_response", L::http, S::warning,
         "A status line that is not HTTP/x.y SP 3DIGIT [SP reason]: any later one, and the server's first one (an attempt at one: \"HTTP/\" seen) once the client has proven the connection HTTP.",
         "_ws.expert (malformed response)", "bad_HTTP_reply", "http.invalid_response_field (approx.)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_malformed_response"},
        {K::http_malformed_header, "http_malformed_header", L::http, S::warning,
         "A header line without a colon, with whitespace before the colon, or an empty name.",
         "(none)", "(none)", "http.invalid_header / http.request_header_invalid", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_malformed_header"},
        {K::http_header_too_large, "http_header_too_large", L::http, S::error,
         "A header block larger than --http-max-header-bytes or with more than --http-max-headers lines. Parsing of that direction stops (the other direction goes on, so a later answer may be reported without its request).",
         "(none)", "(none)", "http.request_field_too_long", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_header_too_large"},
        {K::http_bad_content_length, "http_bad_content_length", L::http, S::error,
         "A Content-Length that is not a number, or several that disagree (RFC 9112 6.3 item 5).",
         "(http.content_length malformed)", "HTTP_bad_content_length (approx.)", "http.invalid_content_length / http.multiple_content_length", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_bad_content_length"},
        {K::http_content_length_with_chunked, "http_content_length_with_chunked", L::http, S::warning,
         "Content-Length together with Transfer-Encoding; Transfer-Encoding wins (RFC 9112 6.3 item 3): chunked framing, or, on a response whose coding does not end in chunked, the body up to the server's close. A request-smuggling or response-splitting sign.",
         "(none)", "(none)", "http.request_with_content_length_and_transfer_encoding (approx.)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_content_length_with_chunked"},
        {K::http_transfer_encoding_in_http10, "http_transfer_encoding_in_http10", L::http, S::error,
         "An HTTP/1.0 message with Transfer-Encoding: its framing is faulty whatever else it says (RFC 9112 6.1), a request-smuggling sign. That direction is not parsed further.",
         "(none)", "(none)", "(none)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_transfer_encoding_in_http10"},
        {K::http_bad_chunk, "http_bad_chunk", L::http, S::error,
         "A chunk-size line that is not hexadecimal, overflows 64 bits, or a chunk not followed by CRLF.",
         "(chunked data malformed)", "HTTP_chunked_transfer_for_multipart_message (approx.)", "http.invalid_transfer_encoding (approx.)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_bad_chunk"},
        {K::http_body_truncated, "http_body_truncated", L::http, S::warning,
         "A message body ended (FIN, RST, end of capture) before the length it announced.",
         "(none)", "(none)", "http.body_too_short (approx.)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_body_truncated"},
        {K::http_header_truncated, "http_header_truncated", L::http, S::warning,
         "A start line or header block ended (FIN, RST, end of capture) before the empty line that completes it. A message whose start line was complete is still reported, marked incomplete (a request answered early, e.g. 431 or 408 while its head was still arriving, is paired with that answer).",
         "(none)", "(none)", "(none)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_header_truncated"},
        {K::http_request_after_close, "http_request_after_close", L::http, S::warning,
         "A request sent after either end announced Connection: close (or an HTTP/1.0 exchange without keep-alive).",
         "(none)", "(none)", "(none)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_request_after_close"},
        {K::http_pipeline_depth, "http_pipeline_depth", L::http, S::warning,
         "More requests outstanding at once than --http-max-pipeline; the oldest is reported unanswered, and every later pairing on the connection is marked uncertain (responses pair first in, first out, so they may now answer the request after theirs).",
         "(none)", "(none)", "http.too_many_pending (approx.)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_pipeline_depth"},
        {K::http_data_after_upgrade_failure, "http_data_after_upgrade_failure", L::http, S::warning,
         "Non-HTTP bytes after an Upgrade or CONNECT request that the server refused.",
         "(none)", "(none)", "(none)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_data_after_upgrade_failure"},
        {K::http_client_error, "http_client_error", L::http, S::info,
         "A response with a 4xx status (the client's request was refused); a fact users filter on.", "http.response.code >= 400", "(status_code in http.log)", "(alert rules)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_client_error"},
        {K::http_server_error, "http_server_error", L::http, S::warning,
         "A response with a 5xx status (the server failed to handle the request).", "http.response.code >= 500", "(status_code in http.log)", "(alert rules)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_server_error"},
        {K::http_slow_response, "http_slow_response", L::http, S::warning,
         "Time from the end of the request to the first response byte exceeded --http-slow-ms.",
         "http.time (threshold filter)", "(none)", "(none)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_slow_response"},
        {K::http_gap, "http_gap", L::http, S::warning,
         "A capture gap in an HTTP direction (before a message, between messages or inside one): inside a body of known length the transaction is marked partial; in a header block whose start line was captured the message ends there (partial, headers incomplete) and still pairs; outside any message the parser resynchronises at the next request or status line and marks the next pairing uncertain. Gaps after an upgrade or tunnel are not HTTP and are not reported.",
         "(none)", "content_gap", "http.* (gap)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_gap"},
        {K::http_obsolete_line_folding, "http_obsolete_line_folding", L::http, S::warning,
         "A header continued on the next line (obs-fold, RFC 9112 5.2); unfolded with a space as a recipient must.",
         "(none)", "(none)", "http.invalid_header (approx.)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_obsolete_line_folding"},
        {K::http_bare_lf, "http_bare_lf", L::http, S::info,
         "A line ending in LF without CR; accepted as most servers do (RFC 9112 2.2).",
         "(none)", "(none)", "(none)", "tests/unit/test_http_anomalies.cpp: fires/near miss: http_bare_lf"},
    };
    return t;
}

}  // namespace

const std::vector<CatalogueEntry>& catalogue_all() { return table(); }

const CatalogueEntry& catalogue(AnomalyKind k) {
    // The table is in enum order; a test checks it.
    return table()[static_cast<size_t>(k)];
}

std::string_view kind_name(AnomalyKind k) { return catalogue(k).name; }

std::optional<AnomalyKind> kind_from_name(std::string_view name) {
    for (const auto& e : table()) {
        if (name == e.name) return e.kind;
    }
    return std::nullopt;
}

std::optional<std::string> parse_kind_list(const std::vector<std::string>& values, std::vector<AnomalyKind>& out) {
    for (const std::string& v : values) {
        std::string_view rest(v);
        while (true) {
            const size_t comma = rest.find(',');
            std::string_view name = rest.substr(0, comma);
            while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
            while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
            if (!name.empty()) {
                const auto kind = kind_from_name(name);
                if (!kind) return std::string(name);
                out.push_back(*kind);
            }
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    return std::nullopt;
}

std::string_view layer_name(Layer l) {
    switch (l) {
        case Layer::capture: return "capture";
        case Layer::ip: return "ip";
        case Layer::tcp: return "tcp";
        case Layer::http: return "http";
    }
    return "?";
}

std::string_view severity_name(Severity s) {
    switch (s) {
        case Severity::info: return "info";
        case Severity::warning: return "warning";
        case Severity::error: return "error";
    }
    return "?";
}

std::optional<Severity> severity_from_name(std::string_view s) {
    if (s == "info") return Severity::info;
    if (s == "warning") return Severity::warning;
    if (s == "error") return Severity::error;
    return std::nullopt;
}

}  // namespace pcaplens
