// Ethernet frames (tests/support/packet_writer.hpp) fed one by one through
// the Decoder into a TcpAnalyzer, frame numbers counted from 1, as the
// pipeline does (tests/unit/test_tcp_lifecycle.cpp, test_anomalies.cpp).
// `Observer` is the test's ConnectionObserver; it keeps the finished
// connections in `finished`.
#pragma once
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "pcaplens/decode/decoder.hpp"
#include "pcaplens/tcp/analyzer.hpp"
#include "support/packet_writer.hpp"

namespace pcaplens::testing {

template <class Observer>
struct TcpHarness {
    TcpConfig cfg;
    Observer obs;
    std::unique_ptr<TcpAnalyzer> an;
    Decoder dec;
    uint64_t frame = 0;
    std::vector<int64_t> ts_of{0};  // ts_of[frame]; ts_of.back(): the last packet's time

    explicit TcpHarness(TcpConfig c = {}) : cfg(c), an(std::make_unique<TcpAnalyzer>(cfg, obs)) {}

    void feed(int64_t ts, const Bytes& f) {
        PacketView pv;
        pv.ts_ns = ts;
        pv.frame = ++frame;
        pv.caplen = static_cast<uint32_t>(f.size());
        pv.wirelen = static_cast<uint32_t>(f.size());
        pv.linktype = linktype::ethernet;
        pv.data = f.data();
        DecodedPacket d;
        dec.decode(pv, d);
        REQUIRE(d.proto == L4Proto::tcp);
        ts_of.push_back(ts);
        an->process(pv, d.tcp);
    }
    // Feeds the conversation's packets from index `from` on.
    void feed(const TcpConversation& c, size_t from = 0) {
        const auto& p = c.packets();
        for (size_t i = from; i < p.size(); ++i) feed(p[i].first, p[i].second);
    }
    void finish() { an->finish(); }
    int64_t last_ts() const { return ts_of.back(); }
    const TcpConnectionFacts& only() const {
        REQUIRE(obs.finished.size() == 1);
        return obs.finished.front();
    }
    const TcpConnectionFacts& conn(uint64_t id) const {
        for (const auto& f : obs.finished)
            if (f.id == id) return f;
        FAIL("connection " << id << " not finished");
        return obs.finished.front();
    }
};

}  // namespace pcaplens::testing
