// libFuzzer target: a whole capture file through the full pipeline. The
// input is written to a memfd and opened by path (/proc/self/fd/N), so the
// real readers run: libpcap for pcap, pcaplens's own reader for pcapng. The
// Analysis reports into a tee of a discarding sink (which checks what it is
// given) and the JSON, NDJSON and text reporters writing to /dev/null.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
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
    return 0;
}
