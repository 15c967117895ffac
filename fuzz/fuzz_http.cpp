// libFuzzer target: HttpStream (the incremental HTTP/1.x parser and pairing)
// on both directions' byte streams. The input is a script of data, gap and
// end events per direction (format in fuzz_formats.hpp), delivered the way
// the TCP layer delivers them: bytes in order, each direction ended once,
// nothing after its end. The transactions and findings are then written
// through the JSON connection writer and the text escaper. A second stream
// without keep_transactions (what -q uses: transactions tallied and dropped
// as they stop changing) gets the same events and must give the same
// tally, total and findings. The two share one HttpHeadScratch, as the
// pipeline's streams do, so a head built in it must not outlive its call.
#include <cstring>
#include <memory>

#include "fuzz_formats.hpp"
#include "pcaplens/http/http.hpp"
#include "pcaplens/report/json_writer.hpp"
#include "pcaplens/report/record.hpp"
#include "pcaplens/report/reporters.hpp"

namespace pl = pcaplens;
namespace pf = pcaplens::fuzz;

namespace {
volatile size_t g_sink;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    pf::Reader in{data, size};
    const uint8_t config = in.u8();
    pl::HttpConfig cfg;
    if (config & 1) {
        cfg.max_header_bytes = 256;
        cfg.max_headers = 8;
        cfg.max_transactions = 4;
        cfg.max_field_bytes = 16;
        cfg.max_findings_per_kind = 2;
    }
    if (config & 2) cfg.slow_response_ns = 1'000'000;
    if (config & 4) cfg.max_pipeline = 2;
    pl::HttpHeadScratch scratch;
    pl::HttpStream http(cfg, 7, &scratch);
    pl::HttpConfig lean_cfg = cfg;
    lean_cfg.keep_transactions = false;
    pl::HttpStream lean(lean_cfg, 7, &scratch);

    bool ended[2] = {false, false};
    int64_t ts = 1'700'000'000'000'000'000;
    uint64_t frame = 0;
    while (!in.empty()) {
        const uint8_t op = in.u8();
        const int dir = op & 1;
        const int kind = (op >> 1) & 3;
        const bool lng = (op & 8) != 0;
        ts += static_cast<int64_t>(op >> 4) * 1'000'000;
        const auto sd = static_cast<pl::StreamDir>(dir);
        if (kind <= 1) {
            const size_t len = lng ? in.u16() : in.u8();
            size_t got = 0;
            const uint8_t* p = in.take(len, got);
            if (ended[dir] || got == 0) continue;
            // Exact-size copy so a read past the chunk is an ASan report.
            std::unique_ptr<uint8_t[]> chunk(new uint8_t[got]);
            std::memcpy(chunk.get(), p, got);
            http.on_data(sd, chunk.get(), got, ts, ++frame);
            lean.on_data(sd, chunk.get(), got, ts, frame);
        } else if (kind == 2) {
            const uint64_t len = lng ? in.u64() : in.u8();
            if (ended[dir] || len == 0) continue;
            http.on_gap(sd, len, ts);
            lean.on_gap(sd, len, ts);
        } else {
            const auto why = static_cast<pl::EndReason>(in.u8() & 3);
            if (ended[dir]) continue;
            ended[dir] = true;
            http.on_end(sd, why, ts);
            lean.on_end(sd, why, ts);
        }
    }
    for (int d = 0; d < 2; ++d) {
        if (!ended[d]) {
            http.on_end(static_cast<pl::StreamDir>(d), pl::EndReason::end_of_capture, ts);
            lean.on_end(static_cast<pl::StreamDir>(d), pl::EndReason::end_of_capture, ts);
        }
    }

    pl::ConnectionRecord rec;
    rec.tcp.id = 7;
    rec.http_total = http.transactions_total();
    pl::HttpTally tally, lean_tally;
    http.take_tally(tally);
    lean.take_tally(lean_tally);
    if (!(tally == lean_tally) || lean.transactions_total() != rec.http_total || !lean.take_transactions().empty()) {
        __builtin_trap();
    }
    rec.http = http.take_transactions();
    if (rec.http.size() > rec.http_total) __builtin_trap();
    if (config & 1 && rec.http.size() > cfg.max_transactions) __builtin_trap();
    rec.tcp.anomalies = http.take_findings();
    {
        const auto lean_findings = lean.take_findings();
        if (lean_findings.size() != rec.tcp.anomalies.size()) __builtin_trap();
        for (size_t i = 0; i < lean_findings.size(); ++i) {
            const auto& a = lean_findings[i];
            const auto& b = rec.tcp.anomalies[i];
            if (a.kind != b.kind || a.frame != b.frame || a.frame2 != b.frame2 || a.ts_ns != b.ts_ns || a.detail != b.detail) __builtin_trap();
        }
    }
    rec.tcp.anomalies_total = rec.tcp.anomalies.size();
    (void)http.is_http();
    (void)http.findings_suppressed();

    pl::JsonBuffer out;
    pl::JsonWriter w(out);
    pl::ReportOptions opt;
    opt.timeline = true;
    pl::write_connection_json(rec, opt, w);
    size_t h = out.size();
    for (const auto& x : rec.http) {
        h += pl::printable(x.method()).size() + pl::printable(x.uri()).size() + pl::printable(x.host()).size() +
             pl::printable(x.reason()).size() + pl::printable(x.user_agent()).size();
    }
    for (const auto& f : rec.tcp.anomalies) h += pl::printable(f.detail).size();
    g_sink = h;
    return 0;
}
