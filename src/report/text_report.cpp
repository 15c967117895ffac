// Text report for people: input summary, one line per connection (with its
// HTTP transactions and anomalies beneath), optional ladder, final summary.
#include <algorithm>
#include <cinttypes>
#include <charconv>
#include <cstdarg>
#include <cstring>
#include <ctime>

#include "pcaplens/decode/decoder.hpp"
#include "pcaplens/report/fixed_decimal.hpp"
#include "pcaplens/report/reporters.hpp"

namespace pcaplens {

std::string format_ts(int64_t ns) {
    const int64_t sec = ns >= 0 ? ns / 1000000000 : (ns - 999999999) / 1000000000;
    const int64_t frac = ns - sec * 1000000000;
    std::time_t t = static_cast<std::time_t>(sec);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06" PRId64, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, frac / 1000);
    return buf;
}

namespace {
// Text built in a fixed buffer: every append is an inline copy, where
// std::string's is a library call (~25 per connection line, which is -q's
// whole per-connection output). The longest line possible is ~360 bytes
// (two IPv6 endpoints, every optional part); put() cuts at the capacity
// rather than overflow.
class LineBuf {
public:
    void put(const char* s, size_t n) {
        n = std::min(n, sizeof buf_ - n_);
        if (n == 0) return;   // memcpy's pointers must not be null, even for 0 bytes
        std::memcpy(buf_ + n_, s, n);
        n_ += n;
    }
    void put(std::string_view s) { put(s.data(), s.size()); }
    void put(char c) {
        if (n_ < sizeof buf_) buf_[n_++] = c;
    }
    void pad(size_t n) {
        while (n-- > 0) put(' ');
    }
    // Room for `n` bytes written in place (at at()), then committed with
    // done(end); at() is null when they would not fit.
    char* at(size_t n) { return n <= sizeof buf_ - n_ ? buf_ + n_ : nullptr; }
    void done(const char* end) { n_ = static_cast<size_t>(end - buf_); }
    size_t size() const { return n_; }
    const char* data() const { return buf_; }

private:
    char buf_[512];
    size_t n_ = 0;
};

void put_number(LineBuf& out, uint64_t n) {
    if (char* p = out.at(20)) out.done(std::to_chars(p, p + 20, n).ptr);
}
// "<v with `decimals` digits><unit>", the digits printf's %.Nf gives
// without the format machinery.
void put_fixed_unit(LineBuf& out, double v, int decimals, std::string_view unit) {
    char buf[410];
    const char* end = format_fixed(v, decimals, buf, buf + sizeof buf);
    out.put(buf, end != nullptr ? static_cast<size_t>(end - buf) : 0);
    out.put(unit);
}
void put_ms(LineBuf& out, double v) {
    if (v < 1) put_fixed_unit(out, v, 3, " ms");
    else if (v < 1000) put_fixed_unit(out, v, 1, " ms");
    else put_fixed_unit(out, v / 1000, 2, " s");
}
void put_bytes(LineBuf& out, uint64_t n) {   // format_bytes()
    if (n < 1000) {
        put_number(out, n);
        out.put(" B");
    } else if (n < 1000000) {
        put_fixed_unit(out, static_cast<double>(n) / 1e3, 1, " kB");
    } else if (n < 1000000000) {
        put_fixed_unit(out, static_cast<double>(n) / 1e6, 1, " MB");
    } else {
        put_fixed_unit(out, static_cast<double>(n) / 1e9, 2, " GB");
    }
}
void put_endpoint(LineBuf& out, const Endpoint& e) {
    if (char* p = out.at(Endpoint::kMaxText)) out.done(e.format(p));
}
}  // namespace

std::string format_bytes(uint64_t n) {
    LineBuf b;
    put_bytes(b, n);
    return std::string(b.data(), b.size());
}

std::string printable(std::string_view s) {
    // Bytes from the wire must never drive the user's terminal: escape
    // control characters (including ESC) and anything that is not ASCII.
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7F) {
            out += static_cast<char>(c);
        } else {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        }
    }
    return out;
}

std::string fit_width(const std::string& line, unsigned width, const std::string& ellipsis) {
    if (width == 0) return line;
    // Visible columns: every byte but those of ESC [ ... letter sequences.
    auto visible = [](const std::string& s) {
        size_t n = 0;
        for (size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '\033') {
                while (i < s.size() && !(s[i] >= '@' && s[i] <= '~' && s[i] != '[')) ++i;
                continue;
            }
            if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++n;  // UTF-8 continuation bytes take no column
        }
        return n;
    };
    if (visible(line) <= width) return line;
    const size_t ell = visible(ellipsis);
    const size_t keep = width > ell ? width - ell : 0;
    std::string out;
    bool colour = false;
    size_t n = 0;
    for (size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '\033') {
            const size_t start = i;
            while (i < line.size() && !(line[i] >= '@' && line[i] <= '~' && line[i] != '[')) ++i;
            out.append(line, start, i - start + 1);
            colour = true;
            continue;
        }
        if (n >= keep) break;
        out += line[i];
        ++n;
    }
    out += ellipsis;
    if (colour) out += "\033[0m";
    return out;
}

namespace {

std::string ms(double v) {
    LineBuf b;
    put_ms(b, v);
    return std::string(b.data(), b.size());
}

class TextReporter final : public ReportSink {
public:
    TextReporter(std::FILE* out, const ReportOptions& opt) : out_(out), opt_(opt) {}

    void begin(const RunInfo& run) override { run_ = run; }

    // One line per connection, without its transactions, under -q.
    bool wants_http_transactions() const override { return opt_.verbosity >= 0; }
    // Under -q a connection's findings are its line's count (anomalies_total).
    bool wants_findings() const override { return opt_.verbosity >= 0; }

    void connection(const ConnectionRecord& rec) override {
        if (!record_selected(rec, opt_)) return;
        header();
        connection_line(rec);
        end_line();
        if (opt_.verbosity >= 0) {
            for (const HttpTransaction& x : rec.http) http_line(x);
            anomalies(rec.tcp);
        }
        if (opt_.timeline) ladder(rec.tcp);
        if (opt_.flush_each) std::fflush(out_);
    }

    // Under -q (without --timeline) a connection is its one line, which
    // depends on the record alone: rendered ahead of its turn.
    bool render(const ConnectionRecord& rec, std::string& out) override {
        if (opt_.verbosity >= 0 || opt_.timeline) return false;
        out.clear();
        if (!record_selected(rec, opt_)) return true;
        connection_line(rec);
        out = take_line();
        return true;
    }
    void write_rendered(const std::string& text) override {
        if (text.empty()) return;   // not selected
        header();
        std::fwrite(text.data(), 1, text.size(), out_);
        if (opt_.flush_each) std::fflush(out_);
    }

    void end(const FinalReport& rep) override {
        const Summary& s = rep.summary;
        say("%sInput%s\n", bold(), reset());
        for (const FileStats& f : rep.files) {
            std::string lts;
            for (int lt : f.link_types) {
                if (!lts.empty()) lts += ',';
                lts += link_type_name(lt);
            }
            say("  %s (%s, %s): %" PRIu64 " packets, %s", printable(f.path).c_str(), f.format.c_str(), lts.empty() ? "-" : lts.c_str(),
                f.packets, format_bytes(f.bytes).c_str());
            if (f.packets) say(", %s .. %s UTC", format_ts(f.first_ts_ns).c_str(), format_ts(f.last_ts_ns).c_str());
            say("\n");
            if (f.damage) {
                say("  %sdamaged:%s %s at packet %" PRIu64 " (byte %" PRIu64 "): %s; %" PRIu64 " packets read before it\n", red(), reset(),
                    f.damage->kind.c_str(), f.damage->packet, f.damage->offset, printable(f.damage->message).c_str(), f.packets);
            }
        }
        if (!run_.filter.empty()) {
            // Live, the kernel runs the filter: what it rejected is never seen.
            if (s.live) say("  filter: %s (applied in the kernel)\n", printable(run_.filter).c_str());
            else say("  filter: %s (%" PRIu64 " of %" PRIu64 " packets matched)\n", printable(run_.filter).c_str(), s.packets, s.packets_read);
        }
        say("%sSummary%s\n", bold(), reset());
        say("  packets %" PRIu64 ", %s captured (%s on the wire), %.3f s\n", s.packets, format_bytes(s.bytes).c_str(),
            format_bytes(s.wire_bytes).c_str(), s.packets ? static_cast<double>(s.last_ts - s.first_ts) / 1e9 : 0.0);
        const ProtocolCounts& p = s.by_protocol;
        say("  protocols: tcp %" PRIu64 ", udp %" PRIu64 ", icmp %" PRIu64 ", icmpv6 %" PRIu64 ", arp %" PRIu64 ", other %" PRIu64, p.tcp, p.udp,
            p.icmp, p.icmpv6, p.arp, p.other_ip + p.other_link);
        if (p.unknown_link) say(", unknown link %" PRIu64, p.unknown_link);
        if (p.malformed) say(", malformed %" PRIu64, p.malformed);
        if (p.fragments) say(", fragments %" PRIu64, p.fragments);
        say("\n");
        if (s.truncated_packets) say("  truncated by snaplen: %" PRIu64 " packets\n", s.truncated_packets);
        say("  connections %" PRIu64, s.connections);
        for (const auto& [k, n] : s.close_kinds) say(", %s %" PRIu64, k.c_str(), n);
        say("\n");
        if (s.evicted_idle + s.evicted_cap + s.evicted_memory > 0) {
            say("  finished early: idle %" PRIu64 ", connection cap %" PRIu64 ", memory cap %" PRIu64 "\n", s.evicted_idle, s.evicted_cap,
                s.evicted_memory);
        }
        const HttpSummary& h = s.http;
        if (h.transactions) {
            say("  http %" PRIu64 " transactions", h.transactions);
            for (const auto& [k, n] : h.by_method) say(", %s %" PRIu64, printable(k).c_str(), n);
            for (const auto& [k, n] : h.by_status_class) say(", %s %" PRIu64, k.c_str(), n);
            if (h.pipelined) say(", pipelined %" PRIu64, h.pipelined);
            // What the JSON summary also counts, when there is any.
            if (h.requests_without_response) say(", requests without response %" PRIu64, h.requests_without_response);
            if (h.responses_without_request) say(", responses without request %" PRIu64, h.responses_without_request);
            if (h.partial) say(", partial %" PRIu64, h.partial);
            say("\n");
            if (h.ttfb.count()) {
                say("  time to first byte: p50 %s, p95 %s, p99 %s, max %s\n", ms(h.ttfb.percentile_ms(50)).c_str(),
                    ms(h.ttfb.percentile_ms(95)).c_str(), ms(h.ttfb.percentile_ms(99)).c_str(), ms(h.ttfb.max_ms()).c_str());
            }
        }
        bool any = false;
        for (size_t i = 0; i < kAnomalyKindCount; ++i) {
            if (!s.anomalies[i]) continue;
            if (!any) say("  anomalies:");
            const CatalogueEntry& c = catalogue(static_cast<AnomalyKind>(i));
            say("%s %s%s%s %" PRIu64, any ? "," : "", sev_color(c.severity), c.name, reset(), s.anomalies[i]);
            any = true;
        }
        if (any) say("\n");
        for (const Finding& f : s.capture_findings) {
            if (f.connection) continue;
            const CatalogueEntry& c = catalogue(f.kind);
            say("  %s%s%s", sev_color(c.severity), c.name, reset());
            if (f.frame) say(" frame %" PRIu64, f.frame);
            say(": %s\n", printable(f.detail).c_str());
        }
        if (s.live) say("  capture drops: %" PRIu64 " by the kernel, %" PRIu64 " by the interface\n", s.live_drops, s.live_ifdrops);
        const QualityVerdict q = assess_quality(s, rep.files);
        say("%sCapture quality%s\n", bold(), reset());
        // With no connection there is nothing the capture could have missed,
        // and no direction it saw: say so rather than list checks that passed vacuously.
        if (q.capture_complete && s.connections == 0) say("  capture: complete (no TCP connections in it)\n");
        else if (q.capture_complete) say("  capture: complete (no gaps, nothing ACKed unseen, no snaplen cuts, both directions seen)\n");
        else say("  capture: %sincomplete%s, the trace itself missed data:\n", yellow(), reset());
        for (const auto& m : q.capture_missed) say("    - %s\n", m.c_str());
        if (!q.network_loss_seen) say("  network: no loss seen\n");
        else say("  network: loss or delay seen, retransmission rate %.3f%% of payload bytes:\n", q.retransmission_rate_pct);
        for (const auto& m : q.network_lost) say("    - %s\n", m.c_str());
        std::fflush(out_);
    }

private:
    void say(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
        va_list ap;
        va_start(ap, fmt);
        std::vfprintf(out_, fmt, ap);
        va_end(ap);
    }
    // A line built piecewise with add(), written by end_line() cut to the
    // terminal width (when there is one).
    void add(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
        va_list ap;
        va_start(ap, fmt);
        char buf[512];
        va_list ap2;
        va_copy(ap2, ap);
        const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
        if (n >= 0 && static_cast<size_t>(n) < sizeof buf) {
            line_.append(buf, static_cast<size_t>(n));
        } else if (n >= 0) {
            std::string big(static_cast<size_t>(n) + 1, '\0');
            std::vsnprintf(big.data(), big.size(), fmt, ap2);
            big.pop_back();
            line_ += big;
        }
        va_end(ap2);
        va_end(ap);
    }
    void header() {
        if (!header_done_) {
            say("%sConnections%s\n", bold(), reset());
            header_done_ = true;
        }
    }

    // The connection's line, into line_ (see end_line()).
    void connection_line(const ConnectionRecord& rec) {
        const TcpConnectionFacts& t = rec.tcp;
        const auto rtt = t.handshake.rtt_ms();
        const char* col = t.close.kind == CloseKind::fin ? green() : (t.close.kind == CloseKind::open || t.close.kind == CloseKind::half_closed) ? "" : red();
        // "  #<id padded to 4> <client> -> <server>  <duration>  rtt ..."
        LineBuf l;
        l.put("  #");
        const size_t id_at = l.size();
        put_number(l, t.id);
        if (l.size() - id_at < 4) l.pad(4 - (l.size() - id_at));
        l.put(' ');
        put_endpoint(l, t.client);
        l.put(" -> ");
        put_endpoint(l, t.server);
        l.put("  ");
        put_ms(l, static_cast<double>(t.last_ts - t.first_ts) / 1e6);
        l.put("  rtt ");
        if (rtt) put_ms(l, *rtt);
        else l.put('-');
        l.put("  up ");
        put_bytes(l, t.dir[0].payload_bytes);
        l.put("  down ");
        put_bytes(l, t.dir[1].payload_bytes);
        l.put("  ");
        l.put(col);
        l.put(close_kind_name(t.close.kind));
        if (t.close.initiator == CloseInitiator::simultaneous) {
            l.put(" (simultaneous)");
        } else if (t.close.initiator != CloseInitiator::none) {
            l.put(" by ");
            l.put(close_initiator_name(t.close.initiator));
        }
        l.put(reset());
        if (t.midstream) l.put(t.roles_inferred ? "  midstream (roles inferred)" : "  midstream");
        if (rec.http_total) {
            l.put("  http ");
            put_number(l, rec.http_total);
        }
        if (t.anomalies_total) {
            l.put("  anomalies ");
            put_number(l, t.anomalies_total);
        }
        line_.append(l.data(), l.size());
    }

    // The line built so far, cut to the width, with its newline; line_ is emptied.
    std::string take_line() {
        std::string l;
        if (opt_.width == 0) {   // the usual case when not on a terminal: one allocation, newline included
            l.reserve(line_.size() + 1);
            l = line_;
        } else {
            l = fit_width(line_, opt_.width, opt_.ellipsis);
        }
        l += '\n';
        line_.clear();
        return l;
    }
    void end_line() {
        if (opt_.width == 0) {   // written from line_ itself, without take_line()'s copy
            line_ += '\n';
            std::fwrite(line_.data(), 1, line_.size(), out_);
            line_.clear();
            return;
        }
        const std::string l = take_line();
        std::fwrite(l.data(), 1, l.size(), out_);
    }
    const char* bold() const { return opt_.color ? "\033[1m" : ""; }
    const char* red() const { return opt_.color ? "\033[31m" : ""; }
    const char* green() const { return opt_.color ? "\033[32m" : ""; }
    const char* yellow() const { return opt_.color ? "\033[33m" : ""; }
    const char* reset() const { return opt_.color ? "\033[0m" : ""; }
    const char* sev_color(Severity s) const { return s == Severity::error ? red() : s == Severity::warning ? yellow() : ""; }

    void http_line(const HttpTransaction& x) {
        std::string req = x.has_request ? printable(x.method()) + " " + printable(x.uri()) : "(no request)";
        add("        %s -> ", req.c_str());
        if (x.has_response) {
            if (x.status) {
                add("%s%d%s %s, %s", x.status >= 500 ? red() : x.status >= 400 ? yellow() : "", x.status, reset(),
                    printable(x.reason()).c_str(), format_bytes(x.response_body_bytes).c_str());
            } else if (x.response_version().empty()) {
                add("(malformed status line)");
            } else {
                add("(HTTP/0.9 response, no status line), %s", format_bytes(x.response_body_bytes).c_str());
            }
            if (const auto ns = x.ttfb_ns()) add(", ttfb %s", ms(static_cast<double>(*ns) / 1e6).c_str());
            if (const auto ns = x.duration_ns()) add(", %s", ms(static_cast<double>(*ns) / 1e6).c_str());
        } else {
            add("(no response)");
        }
        if (x.pipelined) add(" [pipelined]");
        if (x.partial) add(" [partial]");
        if (x.uncertain) add(" [uncertain]");
        if (x.upgraded) add(" [upgraded]");
        if (x.tunnel) add(" [tunnel]");
        end_line();
    }

    void anomalies(const TcpConnectionFacts& t) {
        // Noisy kinds are summarised: at most N lines, then counts by kind.
        uint32_t shown = 0;
        std::vector<std::pair<AnomalyKind, uint64_t>> rest;
        for (const Finding& f : t.anomalies) {
            const CatalogueEntry& c = catalogue(f.kind);
            if (opt_.verbosity <= 0 && c.severity == Severity::info) continue;
            if (shown < opt_.max_anomalies_text || opt_.verbosity > 1) {
                // (A finding with no frame -- a gap declared at the end -- says so: frames count from 1.)
                if (f.frame) add("        ! %s%s%s frame %" PRIu64 ": %s", sev_color(c.severity), c.name, reset(), f.frame, printable(f.detail).c_str());
                else add("        ! %s%s%s: %s", sev_color(c.severity), c.name, reset(), printable(f.detail).c_str());
                end_line();
                ++shown;
            } else {
                auto it = std::find_if(rest.begin(), rest.end(), [&](const auto& e) { return e.first == f.kind; });
                if (it == rest.end()) rest.emplace_back(f.kind, 1);
                else ++it->second;
            }
        }
        for (const auto& [k, n] : t.anomalies_dropped) rest.emplace_back(k, n);
        for (const auto& [k, n] : rest) say("        ! %s x%" PRIu64 " more\n", catalogue(k).name, n);
    }

    void ladder(const TcpConnectionFacts& t) {
        say("        %-15s %-6s %-30s %-14s %-24s %s\n", "time (s)", "frame", "client          server", "flags", "seq/ack/len", "states");
        const int64_t t0 = t.first_ts;
        for (const LadderRow& r : t.ladder) {
            const bool c2s = r.from == Role::client;
            char arrow[64];
            std::snprintf(arrow, sizeof arrow, "%s", c2s ? "  |------------------->|  " : "  |<-------------------|  ");
            char sq[64];
            std::snprintf(sq, sizeof sq, "seq=%u ack=%u len=%u", r.rel_seq, r.rel_ack, r.len);
            std::string states;
            if (r.client_state) states += std::string("client ") + state_name(*r.client_state);
            if (r.server_state) states += (states.empty() ? "" : ", ") + std::string("server ") + state_name(*r.server_state);
            say("        %-15.6f %-6" PRIu64 " %-30s %-14s %-24s %s\n", static_cast<double>(r.ts_ns - t0) / 1e9, r.frame, arrow,
                tcp_flags_str(r.flags).c_str(), sq, states.c_str());
        }
        if (t.ladder_truncated) say("        (ladder truncated)\n");
    }

    std::FILE* out_;
    ReportOptions opt_;
    RunInfo run_;
    bool header_done_ = false;
    std::string line_;
};

}  // namespace

std::unique_ptr<ReportSink> make_text_reporter(std::FILE* out, const ReportOptions& opt) {
    return std::make_unique<TextReporter>(out, opt);
}

}  // namespace pcaplens
