// libFuzzer target: TCP reassembly. Mode bit 0 of the first byte picks
//   0: the whole TcpAnalyzer (flow table, connection state machines,
//      reassembly, HttpStream consumers) on up to four connections, with
//      checks that consumers get each direction's end once and nothing after;
//   1: one raw Reassembler, with a check that delivered data plus declared
//      gaps always add up to the stream offset it reports and that its
//      buffer accounting matches the shared budget.
// The segment script format is in fuzz_formats.hpp.
#include <cstring>
#include <memory>
#include <string>

#include "fuzz_formats.hpp"
#include "pcaplens/decode/decoder.hpp"
#include "pcaplens/http/http.hpp"
#include "pcaplens/report/json_writer.hpp"
#include "pcaplens/report/reporters.hpp"
#include "pcaplens/tcp/analyzer.hpp"

namespace pl = pcaplens;
namespace pf = pcaplens::fuzz;

namespace {

volatile size_t g_sink;

struct Segment {
    unsigned dir = 0, conn = 0, step = 0;
    uint16_t flags = 0;
    uint32_t seq = 0, ack = 0;
    uint16_t window = 0;
    uint32_t len = 0, caplen = 0;
    std::unique_ptr<uint8_t[]> payload;  // exact size: caplen bytes
    pl::TcpOptions options;
};

bool read_segment(pf::Reader& in, Segment& s) {
    if (!in.has(pf::kSegHeader)) return false;
    const uint8_t ctl = in.u8();
    s.dir = ctl & 1;
    s.conn = (ctl >> 1) & 3;
    s.step = ctl >> 5;
    s.flags = in.u8();
    if (ctl & 8) s.flags |= pl::tcpflag::AE;
    s.seq = in.u32();
    s.ack = in.u32();
    s.window = in.u16();
    s.len = in.u16();
    const uint32_t want = in.u16();
    size_t got = 0;
    const uint8_t* p = in.take(want < s.len ? want : s.len, got);
    s.caplen = static_cast<uint32_t>(got);
    s.payload.reset(new uint8_t[got]);
    if (got) std::memcpy(s.payload.get(), p, got);
    s.options = {};
    if (ctl & 16) {
        size_t n = 0;
        const uint8_t* o = in.take(in.u8(), n);
        std::unique_ptr<uint8_t[]> opt(new uint8_t[n]);
        if (n) std::memcpy(opt.get(), o, n);
        pl::parse_tcp_options(opt.get(), n, s.options);
    }
    return true;
}

// Wraps the HttpStream the pipeline would attach and checks the StreamConsumer contract.
class CheckingConsumer final : public pl::StreamConsumer {
public:
    CheckingConsumer(const pl::HttpConfig& cfg, uint64_t id) : http_(cfg, id) {}
    void on_data(pl::StreamDir d, const uint8_t* p, size_t n, int64_t ts, uint64_t frame) override {
        if (ended_[idx(d)]) __builtin_trap();  // data after the end of its direction
        if (n == 0 || p == nullptr) __builtin_trap();
        volatile uint8_t first = p[0], last = p[n - 1];
        (void)first;
        (void)last;
        http_.on_data(d, p, n, ts, frame);
    }
    void on_gap(pl::StreamDir d, uint64_t n, int64_t ts) override {
        if (ended_[idx(d)]) __builtin_trap();
        if (n == 0) __builtin_trap();
        http_.on_gap(d, n, ts);
    }
    void on_end(pl::StreamDir d, pl::EndReason why, int64_t ts) override {
        if (ended_[idx(d)]) __builtin_trap();  // "Called once per direction."
        ended_[idx(d)] = true;
        http_.on_end(d, why, ts);
    }
    bool both_ended() const { return ended_[0] && ended_[1]; }
    pl::HttpStream& http() { return http_; }

private:
    static int idx(pl::StreamDir d) { return static_cast<int>(d); }
    pl::HttpStream http_;
    bool ended_[2] = {false, false};
};

struct Observer final : pl::ConnectionObserver {
    pl::HttpConfig http_cfg;
    size_t finished = 0, consumers = 0;
    pl::JsonBuffer json;

    std::unique_ptr<pl::StreamConsumer> make_consumer(const pl::TcpConnectionFacts& conn) override {
        ++consumers;
        return std::make_unique<CheckingConsumer>(http_cfg, conn.id);
    }
    void on_finished(pl::TcpConnectionFacts&& facts, std::unique_ptr<pl::StreamConsumer> consumer) override {
        ++finished;
        pl::ConnectionRecord rec;
        rec.tcp = std::move(facts);
        if (auto* c = dynamic_cast<CheckingConsumer*>(consumer.get())) {
            if (!c->both_ended()) __builtin_trap();  // a finished connection ends both directions
            rec.http_total = c->http().transactions_total();
            rec.http = c->http().take_transactions();
            for (auto& f : c->http().take_findings()) rec.tcp.anomalies.push_back(std::move(f));
        }
        json.clear();
        pl::JsonWriter w(json);
        pl::ReportOptions opt;
        opt.timeline = true;
        pl::write_connection_json(rec, opt, w);
        g_sink = json.size();
    }
    void on_finding(pl::Finding&& f) override { g_sink = f.detail.size(); }
};

struct CountingSink final : pl::ReassemblySink {
    uint64_t total = 0;
    void data(const uint8_t* p, size_t n, int64_t, uint64_t) override {
        if (n == 0 || p == nullptr) __builtin_trap();
        volatile uint8_t a = p[0], b = p[n - 1];
        (void)a;
        (void)b;
        total += n;
    }
    void gap(uint64_t n, int64_t) override {
        if (n == 0) __builtin_trap();
        total += n;
    }
};

void run_raw(pf::Reader& in, uint8_t mode) {
    pl::ReassemblyBudget budget;
    if (mode & 6) {
        budget.max_total = 64 * 1024;
        budget.max_per_direction = (mode & 4) ? 2048 : 16 * 1024;
    }
    CountingSink sink;
    int64_t ts = 1'700'000'000'000'000'000;
    uint64_t frame = 0;
    {
        pl::Reassembler r(budget);
        Segment s;
        while (read_segment(in, s)) {
            ts += pf::time_step_ns(s.step);
            ++frame;
            if (!r.initialized()) r.init(s.seq + ((s.flags & pl::tcpflag::SYN) ? 1 : 0));
            r.add(s.seq, s.payload.get(), s.caplen, s.len, ts, frame, sink);
            if (s.flags & pl::tcpflag::ACK) {
                const int64_t off = r.offset_of(s.ack);
                if (off > 0) r.advance_to(static_cast<uint64_t>(off), ts, sink);
            }
            if (s.flags & pl::tcpflag::FIN) r.flush(ts, sink);
            if (sink.total != r.delivered()) __builtin_trap();
            if (budget.buffered != r.buffered_bytes()) __builtin_trap();
        }
        r.flush(ts, sink);
        if (sink.total != r.delivered()) __builtin_trap();
        if (r.has_buffered()) __builtin_trap();  // flush leaves nothing behind
    }
    if (budget.buffered != 0) __builtin_trap();  // destruction returns every byte to the budget
}

void run_analyzer(pf::Reader& in, uint8_t mode) {
    pl::TcpConfig cfg;
    switch ((mode >> 1) & 3) {
        case 1:
            cfg.max_buffered_total = 64 * 1024;
            cfg.max_buffered_per_direction = 16 * 1024;
            cfg.max_anomalies_per_connection = 8;
            break;
        case 2:
            cfg.max_buffered_total = 4096;
            cfg.max_buffered_per_direction = 1024;
            cfg.max_ladder_rows = 4;
            break;
        case 3:
            cfg.max_buffered_total = 4096;
            cfg.max_buffered_per_direction = 1024;
            cfg.max_connections = 2;
            break;
        default: break;
    }
    cfg.timeline = (mode & 8) != 0;
    Observer obs;
    if (mode & 16) {
        obs.http_cfg.max_header_bytes = 512;
        obs.http_cfg.max_pipeline = 4;
    }
    pl::TcpAnalyzer tcp(cfg, obs);
    // Four 4-tuples, two of them sharing addresses so port reuse and
    // direction inference get exercised; one is IPv6.
    pl::IpAddress a4, b4, a6, b6;
    a4.family = b4.family = 4;
    a4.bytes = {10, 0, 0, 1};
    b4.bytes = {10, 0, 0, 2};
    a6.family = b6.family = 6;
    a6.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    b6.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    struct Tuple {
        const pl::IpAddress *a, *b;
        uint16_t pa, pb;
    };
    const Tuple tuples[4] = {{&a4, &b4, 40000, 80}, {&a4, &b4, 40001, 80}, {&a6, &b6, 40000, 8080}, {&b4, &a4, 80, 40000}};

    int64_t ts = 1'700'000'000'000'000'000;
    uint64_t frame = 0;
    Segment s;
    while (read_segment(in, s)) {
        ts += pf::time_step_ns(s.step);
        if (s.step == 6) tcp.expire(ts);
        const Tuple& t = tuples[s.conn];
        pl::TcpSegment seg;
        seg.src = s.dir ? *t.b : *t.a;
        seg.dst = s.dir ? *t.a : *t.b;
        seg.sport = s.dir ? t.pb : t.pa;
        seg.dport = s.dir ? t.pa : t.pb;
        seg.seq = s.seq;
        seg.ack = s.ack;
        seg.flags = s.flags;
        seg.window = s.window;
        seg.options = s.options;
        seg.payload = s.payload.get();
        seg.payload_len = s.len;
        seg.captured_len = s.caplen;
        pl::PacketView pkt;
        pkt.ts_ns = ts;
        pkt.frame = ++frame;
        pkt.linktype = 1;
        pkt.caplen = 54 + s.caplen;
        pkt.wirelen = 54 + s.len;
        pkt.data = s.payload.get();
        tcp.process(pkt, seg);
        if (tcp.counters().open_now > cfg.max_connections) __builtin_trap();
        if (tcp.buffered_bytes() > cfg.max_buffered_total + 65535) __builtin_trap();
    }
    tcp.finish();
    if (tcp.counters().open_now != 0) __builtin_trap();
    if (tcp.buffered_bytes() != 0) __builtin_trap();
    if (obs.finished != tcp.counters().connections) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    pf::Reader in{data, size};
    const uint8_t mode = in.u8();
    if (mode & 1) run_raw(in, mode);
    else run_analyzer(in, mode);
    return 0;
}
