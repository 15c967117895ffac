// A conversation as a script of StreamConsumer events, fed to an HttpStream
// the way the TCP layer feeds it (tests/unit/test_http_*.cpp). Event i is
// frame i + 1 at (i + 1) * step_ns unless it names its own time.
#pragma once
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pcaplens/http/http.hpp"

namespace pcaplens::testing::http_script {

inline constexpr auto C2S = StreamDir::client_to_server;
inline constexpr auto S2C = StreamDir::server_to_client;

struct Ev {
    enum class K { data, gap, end };
    K k = K::data;
    StreamDir dir = C2S;
    std::string bytes;
    uint64_t gap = 0;
    EndReason why = EndReason::fin;
    int64_t ts = 0;  // 0: (index + 1) * step
};
inline Ev C(std::string s, int64_t ts = 0) { return {Ev::K::data, C2S, std::move(s), 0, EndReason::fin, ts}; }
inline Ev S(std::string s, int64_t ts = 0) { return {Ev::K::data, S2C, std::move(s), 0, EndReason::fin, ts}; }
inline Ev GapC(uint64_t n) { return {Ev::K::gap, C2S, {}, n, EndReason::fin, 0}; }
inline Ev GapS(uint64_t n) { return {Ev::K::gap, S2C, {}, n, EndReason::fin, 0}; }
inline Ev EndC(EndReason why = EndReason::fin) { return {Ev::K::end, C2S, {}, 0, why, 0}; }
inline Ev EndS(EndReason why = EndReason::fin) { return {Ev::K::end, S2C, {}, 0, why, 0}; }

// What the stream reported at the end.
struct Result {
    std::vector<HttpTransaction> txs;
    HttpTally tally;
    std::vector<Finding> fs;
    bool http = false;
    uint64_t total = 0;
    uint64_t suppressed = 0;
};

// Piece sizes for data event `i` of length `len` (empty: whole); the rest of
// the event, if the pieces fall short, goes as one last piece.
using Splitter = std::function<std::vector<size_t>(size_t i, size_t len)>;

// Feeds event `i` of `evs` to `h`.
inline void feed_event(HttpStream& h, const std::vector<Ev>& evs, size_t i, int64_t step_ns, const Splitter& split = nullptr) {
    const Ev& e = evs[i];
    const int64_t ts = e.ts != 0 ? e.ts : static_cast<int64_t>(i + 1) * step_ns;
    switch (e.k) {
        case Ev::K::data: {
            const auto* p = reinterpret_cast<const uint8_t*>(e.bytes.data());
            size_t off = 0;
            if (split) {
                for (const size_t piece : split(i, e.bytes.size())) {
                    h.on_data(e.dir, p + off, piece, ts, i + 1);
                    off += piece;
                }
            }
            if (off < e.bytes.size()) h.on_data(e.dir, p + off, e.bytes.size() - off, ts, i + 1);
            break;
        }
        case Ev::K::gap:
            h.on_gap(e.dir, e.gap, ts);
            break;
        case Ev::K::end:
            h.on_end(e.dir, e.why, ts);
            break;
    }
}

// What `h` reports once its events are fed.
inline Result take_result(HttpStream& h) {
    Result r;
    h.take_tally(r.tally);
    r.txs = h.take_transactions();
    r.fs = h.take_findings();
    r.http = h.is_http();
    r.total = h.transactions_total();
    r.suppressed = h.findings_suppressed();
    return r;
}

inline Result run_script(const std::vector<Ev>& evs, const HttpConfig& cfg, uint64_t connection, int64_t step_ns,
                         const Splitter& split = nullptr) {
    HttpStream h(cfg, connection);
    for (size_t i = 0; i < evs.size(); ++i) feed_event(h, evs, i, step_ns, split);
    return take_result(h);
}

inline size_t count(const Result& r, AnomalyKind k) {
    size_t n = 0;
    for (const auto& f : r.fs) n += f.kind == k;
    return n;
}
inline const Finding* find(const Result& r, AnomalyKind k) {
    for (const auto& f : r.fs) {
        if (f.kind == k) return &f;
    }
    return nullptr;
}
// The first finding of kind k; the test case stops (fails) when there is
// none, instead of dereferencing a null pointer and crashing the run.
inline const Finding& first(const Result& r, AnomalyKind k) {
    const Finding* f = find(r, k);
    REQUIRE_MESSAGE(f != nullptr, "no finding of this kind");
    return *f;
}

}  // namespace pcaplens::testing::http_script
