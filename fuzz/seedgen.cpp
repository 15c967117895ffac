// Seed generator for the fuzz targets: turns real captures into inputs in
// the formats of fuzz_formats.hpp (used by fuzz/make-seeds.sh).
//   pcaplens_seedgen OUT_DIR CAPTURE...
// writes OUT_DIR/fuzz_decode/, OUT_DIR/fuzz_reassembler/, OUT_DIR/fuzz_http/
// (fuzz_capture's seeds are the captures themselves, copied by the script).
// Every seed is kept small (a few kB) so the corpus stays well under 2 MB.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fuzz_formats.hpp"
#include "pcaplens/capture/source.hpp"
#include "pcaplens/decode/decoder.hpp"
#include "pcaplens/tcp/analyzer.hpp"

namespace pl = pcaplens;
namespace pf = pcaplens::fuzz;
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxSeed = 4096;

void write_seed(const fs::path& dir, const std::string& name, const std::string& bytes) {
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string encode_options(const pl::TcpOptions& o) {
    std::string s;
    if (o.mss >= 0) {
        pf::put8(s, 2), pf::put8(s, 4), pf::put16(s, static_cast<uint16_t>(o.mss));
    }
    if (o.wscale >= 0) pf::put8(s, 3), pf::put8(s, 3), pf::put8(s, static_cast<uint8_t>(o.wscale));
    if (o.sack_permitted) pf::put8(s, 4), pf::put8(s, 2);
    if (o.has_timestamps) pf::put8(s, 8), pf::put8(s, 10), pf::put32(s, o.ts_val), pf::put32(s, o.ts_ecr);
    if (o.sack_count) {
        pf::put8(s, 5), pf::put8(s, static_cast<uint8_t>(2 + 8 * o.sack_count));
        for (unsigned i = 0; i < o.sack_count && i < o.sack.size(); ++i) pf::put32(s, o.sack[i].left), pf::put32(s, o.sack[i].right);
    }
    return s;
}

// Records what the TCP layer hands a consumer, as a fuzz_http script.
struct Recorder final : pl::StreamConsumer {
    std::string script = std::string(1, '\0');
    int64_t last_ts = 0;
    bool any_data = false;
    uint8_t step(int64_t ts) {
        int64_t ms = last_ts ? (ts - last_ts) / 1'000'000 : 0;
        last_ts = ts;
        return static_cast<uint8_t>((ms < 0 ? 0 : ms > 15 ? 15 : ms) << 4);
    }
    void on_data(pl::StreamDir d, const uint8_t* p, size_t n, int64_t ts, uint64_t) override {
        any_data = true;
        while (n > 0 && script.size() < kMaxSeed) {
            const size_t k = n > 60000 ? 60000 : n;
            pf::put8(script, static_cast<uint8_t>(static_cast<int>(d) | 0 << 1 | 8 | step(ts)));
            pf::put16(script, static_cast<uint16_t>(k));
            script.append(reinterpret_cast<const char*>(p), k);
            p += k;
            n -= k;
        }
    }
    void on_gap(pl::StreamDir d, uint64_t n, int64_t ts) override {
        if (script.size() >= kMaxSeed) return;
        pf::put8(script, static_cast<uint8_t>(static_cast<int>(d) | 2 << 1 | 8 | step(ts)));
        pf::put64(script, n);
    }
    void on_end(pl::StreamDir d, pl::EndReason why, int64_t ts) override {
        pf::put8(script, static_cast<uint8_t>(static_cast<int>(d) | 3 << 1 | step(ts)));
        pf::put8(script, static_cast<uint8_t>(why));
    }
};

struct Collect final : pl::ConnectionObserver {
    fs::path dir;
    std::string stem;
    int written = 0;
    std::unique_ptr<pl::StreamConsumer> make_consumer(const pl::TcpConnectionFacts&) override {
        return std::make_unique<Recorder>();
    }
    void on_finished(pl::TcpConnectionFacts&& f, std::unique_ptr<pl::StreamConsumer> c) override {
        auto* r = dynamic_cast<Recorder*>(c.get());
        if (!r || !r->any_data || written >= 6) return;
        if (r->script.size() > kMaxSeed) r->script.resize(kMaxSeed);
        write_seed(dir, stem + "-c" + std::to_string(f.id), r->script);
        ++written;
    }
    void on_finding(pl::Finding&&) override {}
};

void one_capture(const fs::path& out, const std::string& path) {
    std::unique_ptr<pl::FileReader> reader;
    try {
        reader = pl::open_capture_file(path);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "seedgen: skip %s: %s\n", path.c_str(), e.what());
        return;
    }
    const std::string stem = fs::path(path).stem().string();
    pl::Decoder dec;
    Collect collect;
    collect.dir = out / "fuzz_http";
    collect.stem = stem;
    pl::TcpAnalyzer tcp(pl::TcpConfig{}, collect);

    std::set<std::pair<int, size_t>> decode_kinds;  // (link type, size bucket) already seeded
    std::string multi;                              // first packets joined, one decode seed
    int multi_n = 0;
    std::map<std::string, unsigned> tuples;         // canonical 4-tuple -> fuzz connection index
    std::string reasm = std::string(1, '\0');
    int64_t last_ts = 0;
    pl::PacketView v;
    uint64_t frame = 0;
    while (reader->next(v)) {
        v.frame = ++frame;
        const size_t bucket = v.caplen < 64 ? 0 : v.caplen < 200 ? 1 : v.caplen < 1000 ? 2 : 3;
        const std::string pkt(reinterpret_cast<const char*>(v.data), v.caplen < 2048 ? v.caplen : 2048);
        if (decode_kinds.insert({v.linktype, bucket}).second) {
            std::string s;
            pf::put16(s, static_cast<uint16_t>(pf::link_selector(v.linktype)));
            pf::put8(s, 0);
            write_seed(out / "fuzz_decode", stem + "-p" + std::to_string(frame), s + pkt);
        }
        if (multi_n < 6 && multi.size() < 4096) {
            if (multi_n == 0) {
                pf::put16(multi, static_cast<uint16_t>(pf::link_selector(v.linktype)));
                pf::put8(multi, 0);
            } else {
                multi.append(reinterpret_cast<const char*>(pf::kPacketSep), sizeof pf::kPacketSep);
            }
            multi += pkt;
            ++multi_n;
        }
        pl::DecodedPacket d;
        dec.decode(v, d);
        if (d.proto != pl::L4Proto::tcp) continue;
        tcp.process(v, d.tcp);
        const pl::TcpSegment& t = d.tcp;
        if (reasm.size() >= kMaxSeed) continue;
        const std::string a = t.src.str() + ":" + std::to_string(t.sport), b = t.dst.str() + ":" + std::to_string(t.dport);
        const std::string key = a < b ? a + "|" + b : b + "|" + a;
        auto it = tuples.find(key);
        if (it == tuples.end()) {
            if (tuples.size() >= 4) continue;
            it = tuples.emplace(key, static_cast<unsigned>(tuples.size())).first;
            it->second |= (a < b ? 0u : 1u) << 8;  // which side spoke first is "A"
        }
        const unsigned conn = it->second & 3;
        const unsigned dir = ((a < b ? 0u : 1u) ^ (it->second >> 8)) & 1;
        const std::string opts = encode_options(t.options);
        const unsigned cls = pf::time_step_class(last_ts ? v.ts_ns - last_ts : 0);
        last_ts = v.ts_ns;
        pf::put8(reasm, static_cast<uint8_t>(dir | conn << 1 | ((t.flags & pl::tcpflag::AE) ? 8 : 0) | (opts.empty() ? 0 : 16) | cls << 5));
        pf::put8(reasm, static_cast<uint8_t>(t.flags));
        pf::put32(reasm, t.seq);
        pf::put32(reasm, t.ack);
        pf::put16(reasm, t.window);
        const uint32_t len = t.payload_len > 65535 ? 65535 : t.payload_len;
        const uint32_t cap = t.captured_len > 512 ? 512 : t.captured_len;  // keep seeds small; the rest is "not captured"
        pf::put16(reasm, static_cast<uint16_t>(len));
        pf::put16(reasm, static_cast<uint16_t>(cap));
        reasm.append(reinterpret_cast<const char*>(t.payload), cap);
        if (!opts.empty()) {
            pf::put8(reasm, static_cast<uint8_t>(opts.size()));
            reasm += opts;
        }
    }
    tcp.finish();
    if (multi_n > 1) write_seed(out / "fuzz_decode", stem + "-multi", multi);
    if (reasm.size() > 1) {
        write_seed(out / "fuzz_reassembler", stem, reasm);
        std::string raw = reasm;
        raw[0] = 1;  // the same segments through one raw Reassembler
        write_seed(out / "fuzz_reassembler", stem + "-raw", raw);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s OUT_DIR CAPTURE...\n", argv[0]);
        return 2;
    }
    const fs::path out = argv[1];
    for (int i = 2; i < argc; ++i) one_capture(out, argv[i]);
    return 0;
}
