// libFuzzer target: a whole capture file through the full pipeline. The
// input is written to a memfd and opened by path (/proc/self/fd/N), so the
// real readers run (pcaplens's own pcap and pcapng readers, libpcap for what
// they leave to it). The Analysis reports into a tee of a discarding sink
// (which checks what it is given) and the JSON, NDJSON and text reporters
// writing to /dev/null. A classic pcap is then also read by pcaplens's reader
// through a 64-byte buffer and by libpcap's, which must agree.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "pcaplens/pipeline.hpp"
#include "pcaplens/report/reporters.hpp"

namespace pl = pcaplens;

namespace {

volatile size_t g_sink;

class DiscardSink final : public pl::ReportSink {
public:
    void begin(const pl::RunInfo&) override {
        if (begun_) __builtin_trap();
        begun_ = true;
    }
    void connection(const pl::ConnectionRecord& rec) override {
        if (!begun_ || ended_) __builtin_trap();
        if (rec.http.size() > rec.http_total) __builtin_trap();
        if (rec.tcp.anomalies.size() > rec.tcp.anomalies_total) __builtin_trap();
        g_sink = rec.tcp.id + rec.http.size();
    }
    void end(const pl::FinalReport& rep) override {
        if (!begun_ || ended_) __builtin_trap();
        ended_ = true;
        if (rep.files.size() != 1) __builtin_trap();
        g_sink = rep.summary.packets;
    }
    bool ended() const { return ended_; }

private:
    bool begun_ = false, ended_ = false;
};

class Tee final : public pl::ReportSink {
public:
    explicit Tee(std::vector<pl::ReportSink*> s) : sinks_(std::move(s)) {}
    void begin(const pl::RunInfo& r) override {
        for (auto* s : sinks_) s->begin(r);
    }
    void connection(const pl::ConnectionRecord& rec) override {
        for (auto* s : sinks_) s->connection(rec);
    }
    void end(const pl::FinalReport& rep) override {
        for (auto* s : sinks_) s->end(rep);
    }

private:
    std::vector<pl::ReportSink*> sinks_;
};

// pcaplens's pcap reader reads what libpcap reads: packets, stats, damage.
// Byte offsets only where the old reader computed them right (not after a
// record cut to the snaplen, not with Kuznetzov's 24-byte record headers).
void compare_pcap_readers(const std::string& path, const uint8_t* data, size_t size) {
    uint32_t magic = 0;
    if (size < 4) return;
    std::memcpy(&magic, data, 4);
    const bool kuznetzov = magic == 0xa1b2cd34 || magic == 0x34cdb2a1;
    if (!kuznetzov && magic != 0xa1b2c3d4 && magic != 0xd4c3b2a1 && magic != 0xa1b23c4d && magic != 0x4d3cb2a1) return;
    std::unique_ptr<pl::FileReader> ours, ref;
    std::string ours_error, ref_error;
    try {
        ours = pl::open_pcap_file(path, 64);
    } catch (const pl::InputError& e) {
        ours_error = e.what();
    }
    try {
        ref = pl::open_libpcap_file(path);
    } catch (const pl::InputError& e) {
        ref_error = e.what();
    }
    if (!ours != !ref || ours_error != ref_error) __builtin_trap();
    if (!ours) return;
    bool offsets = !kuznetzov;
    pl::PacketView a, b;
    for (;;) {
        const bool more = ours->next(a);
        if (more != ref->next(b)) __builtin_trap();
        if (!more) break;
        if (a.ts_ns != b.ts_ns || a.caplen != b.caplen || a.wirelen != b.wirelen || a.linktype != b.linktype ||
            (a.caplen && std::memcmp(a.data, b.data, a.caplen) != 0))
            __builtin_trap();
        if (a.caplen >= ref->stats().snaplen) offsets = false;
    }
    const pl::FileStats &x = ours->stats(), &y = ref->stats();
    if (x.format != y.format || x.link_types != y.link_types || x.packets != y.packets || x.bytes != y.bytes ||
        x.wire_bytes != y.wire_bytes || x.first_ts_ns != y.first_ts_ns || x.last_ts_ns != y.last_ts_ns ||
        x.snaplen != y.snaplen || x.file_size != y.file_size || !x.damage != !y.damage)
        __builtin_trap();
    if (x.damage && (x.damage->kind != y.damage->kind || x.damage->packet != y.damage->packet ||
                     x.damage->message != y.damage->message || (offsets && x.damage->offset != y.damage->offset)))
        __builtin_trap();
    if (offsets && ours->position() != ref->position()) __builtin_trap();
}

int g_fd = -1;
std::FILE* g_null = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    g_fd = ::memfd_create("pcaplens-fuzz", 0);
    if (g_fd < 0) std::abort();
    g_null = std::fopen("/dev/null", "w");
    if (!g_null) std::abort();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (::ftruncate(g_fd, 0) != 0) std::abort();
    size_t off = 0;
    while (off < size) {
        const ssize_t w = ::pwrite(g_fd, data + off, size - off, static_cast<off_t>(off));
        if (w <= 0) std::abort();
        off += static_cast<size_t>(w);
    }
    const std::string path = "/proc/self/fd/" + std::to_string(g_fd);

    std::unique_ptr<pl::MergedFileSource> source;
    try {
        source = std::make_unique<pl::MergedFileSource>(std::vector<std::string>{path}, "");
    } catch (const pl::InputError&) {
        return 0;  // not a capture at all: exit status 4 in the CLI
    }
    pl::AnalysisConfig cfg;
    cfg.tcp.timeline = size > 0 && (data[size - 1] & 1);
    pl::ReportOptions opt;
    opt.timeline = cfg.tcp.timeline;
    opt.tool_version = "fuzz";
    opt.verbosity = 1;
    DiscardSink discard;
    auto json = pl::make_json_reporter(g_null, opt);
    auto ndjson = pl::make_ndjson_reporter(g_null, opt);
    auto text = pl::make_text_reporter(g_null, opt);
    Tee tee({&discard, json.get(), ndjson.get(), text.get()});
    pl::Analysis analysis(cfg, tee);
    pl::RunInfo run;
    run.inputs = {path};
    analysis.run(*source, run);
    if (!discard.ended()) __builtin_trap();
    // Damage is named: a reader that stopped early says why.
    for (const auto& f : source->file_stats()) {
        if (f.damage && f.damage->kind.empty()) __builtin_trap();
    }
    std::fflush(g_null);
    compare_pcap_readers(path, data, size);
    return 0;
}
