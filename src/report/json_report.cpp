// JSON document and NDJSON reporters; the layout is published in
// docs/pcaplens.schema.json and tested against it.
#include <pcap/pcap.h>

#include "pcaplens/decode/decoder.hpp"
#include "pcaplens/pipeline.hpp"
#include "pcaplens/report/json_writer.hpp"
#include "pcaplens/report/reporters.hpp"

namespace pcaplens {

const char* const kSchemaVersion = "pcaplens/1";

namespace {

const char* dir_name(FlowDir d) {
    switch (d) {
        case FlowDir::client_to_server: return "client_to_server";
        case FlowDir::server_to_client: return "server_to_client";
        default: return "none";
    }
}

void endpoint(JsonRaw& r, const Endpoint& e) {
    char ip[IpAddress::kMaxText];
    const char* end = e.ip.format(ip);
    r.put('{').first("ip").str(std::string_view(ip, static_cast<size_t>(end - ip))).key("port").num(static_cast<uint64_t>(e.port)).put('}');
}

// Key parameters are references to literals so the writer copies them
// without an escape scan.
template <size_t N>
void opt_ts(JsonWriter& w, const char (&k)[N], bool present, int64_t ts) {
    w.key(k);
    if (present) w.timestamp(ts);
    else w.null();
}

void options(JsonRaw& r, const NegotiatedOptions& o, bool present) {
    if (!present) {
        r.null();
        return;
    }
    r.put('{').first("mss");
    if (o.mss >= 0) r.num(static_cast<int64_t>(o.mss));
    else r.null();
    r.key("wscale");
    if (o.wscale >= 0) r.num(static_cast<int64_t>(o.wscale));
    else r.null();
    r.key("sack_permitted").boolean(o.sack_permitted).key("timestamps").boolean(o.timestamps).put('}');
}

// [e0,e1,...], each element written by `one`.
template <class V, class F>
void raw_array(JsonRaw& r, const V& v, F one) {
    r.put('[');
    for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) r.put(',');
        one(v[i]);
    }
    r.put(']');
}

template <size_t N, class F>
void per_dir(JsonRaw& r, const char (&k)[N], const TcpConnectionFacts& t, F get) {
    r.key(k).lit("{\"client_to_server\":").num(get(t.dir[0])).lit(",\"server_to_client\":").num(get(t.dir[1])).put('}');
}

void finding_json(JsonRaw& r, const Finding& f) {
    const CatalogueEntry& c = catalogue(f.kind);
    r.put('{').first("kind").name(c.name).key("severity").name(severity_name(c.severity)).key("layer").name(layer_name(c.layer));
    r.key("ts").timestamp_or_null(f.ts_ns != 0, f.ts_ns);
    r.key("frame").num_or_null(f.frame != 0, f.frame);
    if (f.frame2) r.key("related_frame").num(f.frame2);
    if (f.connection) r.key("connection").num(f.connection);
    r.key("direction").name(dir_name(f.dir));
    if (f.rel_seq) r.key("rel_seq").num(static_cast<uint64_t>(*f.rel_seq));
    if (f.rel_ack) r.key("rel_ack").num(static_cast<uint64_t>(*f.rel_ack));
    r.key("detail").str(f.detail).put('}');
}

void finding_json(JsonWriter& w, const Finding& f) {
    JsonRaw r(w, 512);
    finding_json(r, f);
}

void http_json(JsonRaw& r, const HttpTransaction& x) {
    r.put('{');
    if (x.has_request) {
        r.first("method").str(x.method()).key("uri").str(x.uri()).key("version").str(x.version());
        r.key("host").str_or_null(x.host());
    } else {
        r.lit("\"method\":null,\"uri\":null,\"version\":null,\"host\":null");
    }
    r.key("status");
    if (x.status) r.num(static_cast<int64_t>(x.status)).key("reason").str(x.reason());
    else r.lit("null,\"reason\":null");
    r.key("request_ts").timestamp_or_null(x.request_ts != 0, x.request_ts);
    r.key("request_end_ts").timestamp_or_null(x.request_end_ts != 0, x.request_end_ts);
    r.key("response_ts").timestamp_or_null(x.response_ts != 0, x.response_ts);
    r.key("response_end_ts").timestamp_or_null(x.response_end_ts != 0, x.response_end_ts);
    r.key("request_frame").num_or_null(x.request_frame != 0, x.request_frame);
    r.key("response_frame").num_or_null(x.response_frame != 0, x.response_frame);
    std::optional<double> ttfb, dur;
    if (const auto ns = x.ttfb_ns()) ttfb = static_cast<double>(*ns) / 1e6;
    if (const auto ns = x.duration_ns()) dur = static_cast<double>(*ns) / 1e6;
    r.key("ttfb_ms").real_or_null(ttfb).key("duration_ms").real_or_null(dur);
    r.key("request_body_bytes").num(x.request_body_bytes).key("request_wire_body_bytes").num(x.request_wire_body_bytes);
    r.key("response_body_bytes").num(x.response_body_bytes).key("response_wire_body_bytes").num(x.response_wire_body_bytes);
    r.key("request_chunked").boolean(x.request_chunked).key("response_chunked").boolean(x.response_chunked);
    r.key("content_type").str_or_null(x.content_type());
    r.key("user_agent").str_or_null(x.user_agent());
    r.key("interim_statuses");
    raw_array(r, x.interim_statuses, [&](int status) { r.num(static_cast<int64_t>(status)); });
    r.key("pipelined").boolean(x.pipelined).key("partial").boolean(x.partial).key("uncertain").boolean(x.uncertain);
    r.key("upgraded").boolean(x.upgraded).key("tunnel").boolean(x.tunnel);
    r.key("request_complete").boolean(x.request_complete).key("response_complete").boolean(x.response_complete);
    r.put('}');
}

void states_json(JsonRaw& r, const std::vector<StateChange>& v) {
    raw_array(r, v, [&](const StateChange& s) {
        r.put('{').first("state").name(state_name(s.state)).key("ts").timestamp(s.ts_ns).key("frame").num(s.frame).put('}');
    });
}

void file_json(JsonWriter& w, const FileStats& f) {
    w.begin_object().key("path").str(f.path).key("format").str(f.format);
    w.key("link_types").begin_array();
    for (int lt : f.link_types) w.str(link_type_name(lt));
    w.end_array();
    w.key("packets").num(f.packets).key("bytes").num(f.bytes).key("wire_bytes").num(f.wire_bytes);
    opt_ts(w, "first_ts", f.packets > 0, f.first_ts_ns);
    opt_ts(w, "last_ts", f.packets > 0, f.last_ts_ns);
    w.key("snaplen").num(static_cast<uint64_t>(f.snaplen));
    w.key("errors").begin_array();
    if (f.damage) {
        w.begin_object().key("kind").str(f.damage->kind).key("packet").num(f.damage->packet).key("offset").num(f.damage->offset);
        w.key("message").str(f.damage->message).end_object();
    }
    w.end_array().end_object();
}

template <size_t N>
void percentiles(JsonWriter& w, const char (&k)[N], const LatencyHistogram& h) {
    w.key(k);
    if (h.count() == 0) {
        w.null();
        return;
    }
    w.begin_object().key("count").num(h.count());
    w.key("p50").real(h.percentile_ms(50)).key("p95").real(h.percentile_ms(95)).key("p99").real(h.percentile_ms(99));
    w.key("max").real(h.max_ms()).end_object();
}

void summary_json(JsonWriter& w, const FinalReport& rep, const RunInfo& run) {
    const Summary& s = rep.summary;
    w.key("input").begin_object().key("files").begin_array();
    for (const FileStats& f : rep.files) file_json(w, f);
    w.end_array();
    w.key("filter");
    if (!run.filter.empty()) w.str(run.filter);
    else w.null();
    w.key("live").boolean(s.live).end_object();

    w.key("summary").begin_object();
    w.key("packets").num(s.packets).key("bytes").num(s.bytes).key("wire_bytes").num(s.wire_bytes);
    w.key("packets_read").num(s.packets_read).key("filtered_out").num(s.filtered_out);
    opt_ts(w, "first_ts", s.packets > 0, s.first_ts);
    opt_ts(w, "last_ts", s.packets > 0, s.last_ts);
    w.key("duration_s").real(s.packets > 0 ? static_cast<double>(s.last_ts - s.first_ts) / 1e9 : 0.0, 6);
    w.key("truncated_packets").num(s.truncated_packets).key("timestamps_backwards").num(s.timestamps_backwards);
    const ProtocolCounts& p = s.by_protocol;
    w.key("by_protocol").begin_object();
    w.key("tcp").num(p.tcp).key("udp").num(p.udp).key("icmp").num(p.icmp).key("icmpv6").num(p.icmpv6).key("arp").num(p.arp);
    w.key("other_ip").num(p.other_ip).key("other_link").num(p.other_link).key("unknown_link").num(p.unknown_link);
    w.key("malformed").num(p.malformed).key("fragments").num(p.fragments).end_object();
    w.key("by_ip_version").begin_object().key("ipv4").num(p.ipv4).key("ipv6").num(p.ipv6).end_object();
    w.key("link_types").begin_object();
    for (const auto& [lt, n] : s.link_types) w.key(link_type_name(lt)).num(n);
    w.end_object();
    w.key("connections").begin_object().key("total").num(s.connections).key("midstream").num(s.connections_midstream);
    w.key("peak_open").num(s.peak_open_connections).key("evicted_idle").num(s.evicted_idle).key("evicted_cap").num(s.evicted_cap);
    w.key("evicted_memory").num(s.evicted_memory);
    w.key("by_close").begin_object();
    for (const auto& [k, n] : s.close_kinds) w.key(k).num(n);
    w.end_object().end_object();
    w.key("bytes_payload").num(s.payload_bytes).key("bytes_missing").num(s.missing_bytes).key("bytes_retransmitted").num(s.retransmitted_bytes);
    w.key("anomalies").begin_object();
    for (size_t i = 0; i < kAnomalyKindCount; ++i) {
        if (s.anomalies[i]) w.key(kind_name(static_cast<AnomalyKind>(i))).num(s.anomalies[i]);
    }
    w.end_object();
    const HttpSummary& h = s.http;
    w.key("http").begin_object().key("transactions").num(h.transactions);
    w.key("requests_without_response").num(h.requests_without_response).key("responses_without_request").num(h.responses_without_request);
    w.key("pipelined").num(h.pipelined).key("partial").num(h.partial);
    w.key("by_method").begin_object();
    for (const auto& [k, n] : h.by_method) w.key(k).num(n);
    w.end_object().key("by_status_class").begin_object();
    for (const auto& [k, n] : h.by_status_class) w.key(k).num(n);
    w.end_object();
    percentiles(w, "ttfb_ms", h.ttfb);
    percentiles(w, "duration_ms", h.duration);
    w.end_object();
    if (s.live) w.key("live_drops").begin_object().key("kernel").num(s.live_drops).key("interface").num(s.live_ifdrops).end_object();
    const QualityVerdict q = assess_quality(s, rep.files);
    w.key("capture_quality").begin_object();
    w.key("capture").str(q.capture_complete ? "complete" : "incomplete");
    w.key("capture_missed").begin_array();
    for (const auto& m : q.capture_missed) w.str(m);
    w.end_array();
    w.key("network").str(q.network_loss_seen ? "loss_seen" : "no_loss_seen");
    w.key("retransmission_rate_pct").real(q.retransmission_rate_pct, 3);
    w.key("network_lost").begin_array();
    for (const auto& m : q.network_lost) w.str(m);
    w.end_array();
    w.key("one_sided_connections").num(s.one_sided_connections);
    w.end_object();
    w.end_object();

    w.key("anomalies").begin_array();
    for (const Finding& f : s.capture_findings) finding_json(w, f);
    w.end_array();
    w.key("anomalies_total").num(s.capture_findings_total);
}

void tool_json(JsonWriter& w, const ReportOptions& opt) {
    w.key("schema").str(kSchemaVersion);
    w.key("tool").begin_object().key("name").str("pcaplens").key("version").str(opt.tool_version);
    w.key("libpcap").str(pcap_lib_version()).end_object();
}

class JsonReporter final : public ReportSink {
public:
    JsonReporter(std::FILE* out, const ReportOptions& opt, bool ndjson) : out_(out), opt_(opt), ndjson_(ndjson) {}
    void begin(const RunInfo& run) override {
        run_ = run;
        if (ndjson_) return;
        flush();
        JsonWriter w(buf_);
        w.begin_object();
        tool_json(w, opt_);
        buf_ += ",\n\"connections\":[";
        flush();
    }
    void connection(const ConnectionRecord& rec) override {
        if (!record_selected(rec, opt_)) return;
        JsonWriter w(buf_);
        if (ndjson_) {
            w.begin_object().key("type").str("connection");
            write_connection_members(rec, opt_, w);
            w.end_object();
            buf_ += '\n';
        } else {
            if (count_ > 0) buf_ += ',';
            buf_ += '\n';
            write_connection_json(rec, opt_, w);
        }
        ++count_;
        // Connections are written in batches of ~64 KiB (one write(2) for ~9
        // of them instead of one each); live captures (flush_each) at once.
        if (opt_.flush_each) {
            flush();
            std::fflush(out_);
        } else if (buf_.size() >= kBatchBytes) {
            flush();
        }
    }
    void end(const FinalReport& rep) override {
        flush();
        JsonWriter w(buf_);
        if (ndjson_) {
            w.begin_object().key("type").str("summary");
            tool_json(w, opt_);
        } else {
            buf_ += "\n]";
            w.continue_object();  // the top-level object opened in begin()
        }
        summary_json(w, rep, run_);
        w.end_object();
        buf_ += '\n';
        flush();
        std::fflush(out_);
    }

private:
    static constexpr size_t kBatchBytes = 64 * 1024;
    // Hands what is buffered to stdio and empties the buffer.
    void flush() {
        if (!buf_.empty()) std::fwrite(buf_.data(), 1, buf_.size(), out_);
        buf_.clear();
    }
    std::FILE* out_;
    ReportOptions opt_;
    bool ndjson_;
    RunInfo run_;
    JsonBuffer buf_;
    uint64_t count_ = 0;
};

}  // namespace

void write_connection_json(const ConnectionRecord& rec, const ReportOptions& opt, JsonWriter& w) {
    w.begin_object();
    write_connection_members(rec, opt, w);
    w.end_object();
}

void write_connection_members(const ConnectionRecord& rec, const ReportOptions& opt, JsonWriter& w) {
    const TcpConnectionFacts& t = rec.tcp;
    JsonRaw r(w, 8192);
    r.first("id").num(t.id);
    r.key("client");
    endpoint(r, t.client);
    r.key("server");
    endpoint(r, t.server);
    r.key("ip_version").num(static_cast<uint64_t>(t.client.ip.family));
    r.key("first_ts").timestamp(t.first_ts).key("last_ts").timestamp(t.last_ts);
    r.key("first_frame").num(t.first_frame).key("last_frame").num(t.last_frame);
    r.key("duration_ms").real(static_cast<double>(t.last_ts - t.first_ts) / 1e6);
    r.key("midstream").boolean(t.midstream).key("roles_inferred").boolean(t.roles_inferred);
    r.key("one_sided").boolean(is_one_sided(t));
    const HandshakeFacts& hs = t.handshake;
    r.key("handshake").put('{').first("complete").boolean(hs.complete);
    r.key("syn_ts").timestamp_or_null(hs.syn_seen, hs.syn_ts);
    r.key("synack_ts").timestamp_or_null(hs.synack_seen, hs.synack_ts);
    r.key("ack_ts").timestamp_or_null(hs.ack_seen, hs.ack_ts);
    r.key("syn_frame").num_or_null(hs.syn_seen, hs.syn_frame);
    r.key("synack_frame").num_or_null(hs.synack_seen, hs.synack_frame);
    r.key("ack_frame").num_or_null(hs.ack_seen, hs.ack_frame);
    r.key("rtt_ms").real_or_null(hs.rtt_ms());
    r.key("syn_to_synack_ms").real_or_null(hs.syn_to_synack_ms());
    r.key("synack_to_ack_ms").real_or_null(hs.synack_to_ack_ms());
    const bool server_isn_known = hs.synack_seen || hs.simultaneous_open;
    r.key("client_isn").num_or_null(hs.syn_seen, hs.client_isn);
    r.key("server_isn").num_or_null(server_isn_known, hs.server_isn);
    r.key("options").put('{').first("client");
    options(r, hs.client_options, hs.syn_seen);
    r.key("server");
    options(r, hs.server_options, server_isn_known);
    r.put('}');
    r.key("syn_retransmissions").num(hs.syn_retransmissions);
    r.key("synack_retransmissions").num(hs.synack_retransmissions);
    r.key("simultaneous_open").boolean(hs.simultaneous_open);
    r.put('}');
    const CloseFacts& c = t.close;
    r.key("close").put('{').first("kind").name(close_kind_name(c.kind)).key("initiator").name(close_initiator_name(c.initiator));
    r.key("ts").timestamp(c.ts_ns).key("frame").num(c.frame);
    r.key("rst");
    if (c.rst_by) {
        r.put('{').first("by").name(role_name(*c.rst_by)).key("sender_state").name(state_name(c.rst_sender_state));
        r.key("after_fin").boolean(c.rst_after_fin).key("with_data").boolean(c.rst_with_data).put('}');
    } else {
        r.null();
    }
    r.put('}');
    r.key("states").put('{').first("client");
    states_json(r, t.states[0]);
    r.key("server");
    states_json(r, t.states[1]);
    r.put('}');
    r.key("time_wait");
    if (t.time_wait) {
        r.put('{').first("side").name(t.time_wait->both ? "both" : role_name(t.time_wait->side));
        r.key("start_ts").timestamp(t.time_wait->start_ns).key("end_ts").timestamp(t.time_wait->end_ns);
        r.key("frame").num(t.time_wait->frame).put('}');
    } else {
        r.null();
    }
    per_dir(r, "packets", t, [](const DirectionFacts& d) { return d.packets; });
    per_dir(r, "payload_bytes", t, [](const DirectionFacts& d) { return d.payload_bytes; });
    per_dir(r, "wire_payload_bytes", t, [](const DirectionFacts& d) { return d.wire_payload_bytes; });
    per_dir(r, "retransmitted_bytes", t, [](const DirectionFacts& d) { return d.retransmitted_bytes; });
    per_dir(r, "missing_bytes", t, [](const DirectionFacts& d) { return d.missing_bytes; });
    per_dir(r, "retransmissions", t, [](const DirectionFacts& d) { return d.retransmissions; });
    per_dir(r, "out_of_order", t, [](const DirectionFacts& d) { return d.out_of_order; });
    per_dir(r, "keepalives", t, [](const DirectionFacts& d) { return d.keepalives; });
    per_dir(r, "zero_windows", t, [](const DirectionFacts& d) { return d.zero_windows; });
    per_dir(r, "max_window", t, [](const DirectionFacts& d) { return d.max_window; });
    r.key("http");
    raw_array(r, rec.http, [&](const HttpTransaction& x) { http_json(r, x); });
    r.key("http_total").num(rec.http_total);
    r.key("anomalies");
    raw_array(r, t.anomalies, [&](const Finding& f) { finding_json(r, f); });
    r.key("anomalies_total").num(t.anomalies_total);
    if (!t.anomalies_dropped.empty()) {
        r.key("anomalies_dropped").put('{');
        for (size_t i = 0; i < t.anomalies_dropped.size(); ++i) {
            if (i > 0) r.put(',');
            r.name(kind_name(t.anomalies_dropped[i].first)).put(':').num(t.anomalies_dropped[i].second);
        }
        r.put('}');
    }
    if (opt.timeline) {
        r.key("timeline");
        raw_array(r, t.ladder, [&](const LadderRow& row) {
            r.put('{').first("ts").timestamp(row.ts_ns).key("frame").num(row.frame).key("from").name(role_name(row.from));
            r.key("flags").name(tcp_flags_str(row.flags)).key("rel_seq").num(row.rel_seq);
            r.key("rel_ack").num(row.rel_ack).key("len").num(row.len);
            r.key("window").num(row.window);
            if (row.client_state) r.key("client_state").name(state_name(*row.client_state));
            if (row.server_state) r.key("server_state").name(state_name(*row.server_state));
            r.put('}');
        });
        r.key("timeline_truncated").boolean(t.ladder_truncated);
    }
}

bool record_selected(const ConnectionRecord& rec, const ReportOptions& opt) {
    if (opt.only_conn && rec.tcp.id != opt.only_conn) return false;
    if (opt.host && !(rec.tcp.client.ip == *opt.host) && !(rec.tcp.server.ip == *opt.host)) return false;
    if (opt.port && rec.tcp.client.port != *opt.port && rec.tcp.server.port != *opt.port) return false;
    if (opt.http_only && rec.http_total == 0) return false;
    if (opt.only_anomalous) {
        bool any = false;
        for (const Finding& f : rec.tcp.anomalies) {
            if (catalogue(f.kind).severity != Severity::info) any = true;
        }
        if (!any) return false;
    }
    return true;
}

std::unique_ptr<ReportSink> make_json_reporter(std::FILE* out, const ReportOptions& opt) {
    return std::make_unique<JsonReporter>(out, opt, false);
}
std::unique_ptr<ReportSink> make_ndjson_reporter(std::FILE* out, const ReportOptions& opt) {
    return std::make_unique<JsonReporter>(out, opt, true);
}

std::string catalogue_json(bool ndjson, const std::string& tool_version) {
    JsonBuffer buf;
    JsonWriter w(buf);
    auto entry = [&](const CatalogueEntry& e) {
        w.begin_object().key("kind").str(e.name).key("layer").str(layer_name(e.layer));
        w.key("severity").str(severity_name(e.severity)).key("definition").str(e.definition);
        w.key("wireshark").str(e.wireshark).key("zeek").str(e.zeek).key("suricata").str(e.suricata);
        w.key("proven_by").str(e.fixture).end_object();
    };
    if (ndjson) {
        for (const auto& e : catalogue_all()) {
            entry(e);
            w.newline();
        }
        return buf.str();
    }
    ReportOptions opt;
    opt.tool_version = tool_version;
    w.begin_object();
    tool_json(w, opt);
    w.key("anomaly_kinds").begin_array();
    for (const auto& e : catalogue_all()) entry(e);
    w.end_array().end_object().newline();
    return buf.str();
}

}  // namespace pcaplens
