// Adversarial trace generator (docs/robustness.md, fuzz/adversarial.sh).
// Writes pcap files built with the test packet writer
// (tests/support/packet_writer.hpp), streamed record by record so even the
// million-packet traces need no memory here.
//   pcaplens_adversarial OUT_DIR [TRACE...]     (no TRACE: all of them)
// Traces:
//   syn-flood          1,000,000 SYNs, each from a distinct client address/port
//   request-flood      300,000 connections, each one GET request, never closed
//   seq-holes          100,000 connections, each leaving a 1 GiB sequence hole
//                      then sending 1,400 bytes beyond it
//   overlap-storm      1,000 connections x 200 segments overlapping one range
//                      with conflicting bytes (behind a hole, so all buffered)
//   chunk-2p64         chunked bodies announcing 2^64-1, 2^64-16, 2^64 and
//                      larger chunk sizes, then data
//   header-10mb        a request whose header block is 10 MB and never ends,
//                      and a response doing the same
//   pipeline-100k      100,000 pipelined requests on one connection, no responses
//   ts-backwards       200,000 packets of 2,000 connections with timestamps
//                      stepping backwards (and jumping forward past timeouts)
//   frag-never-complete 300,000 IPv4 first fragments of distinct datagrams
//                      whose other fragments never come
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "support/packet_writer.hpp"

namespace pw = pcaplens::testing;

namespace {

class StreamingPcap {
public:
    StreamingPcap(const std::string& path, int linktype) : f_(std::fopen(path.c_str(), "wb")) {
        if (!f_) throw std::runtime_error("cannot write " + path);
        pw::Bytes h;
        pw::put_le32(h, 0xA1B23C4Du);  // nanosecond pcap
        pw::put_le16(h, 2);
        pw::put_le16(h, 4);
        pw::put_le32(h, 0);
        pw::put_le32(h, 0);
        pw::put_le32(h, 262144);
        pw::put_le32(h, static_cast<uint32_t>(linktype));
        std::fwrite(h.data(), 1, h.size(), f_);
    }
    ~StreamingPcap() {
        if (f_) std::fclose(f_);
    }
    void add(int64_t ts_ns, const pw::Bytes& frame) {
        pw::Bytes r;
        int64_t s = 0, ns = 0;
        pw::detail::split_ns(ts_ns, s, ns);
        pw::put_le32(r, static_cast<uint32_t>(s));
        pw::put_le32(r, static_cast<uint32_t>(ns));
        pw::put_le32(r, static_cast<uint32_t>(frame.size()));
        pw::put_le32(r, static_cast<uint32_t>(frame.size()));
        std::fwrite(r.data(), 1, r.size(), f_);
        std::fwrite(frame.data(), 1, frame.size(), f_);
        ++packets_;
    }
    uint64_t packets() const { return packets_; }

private:
    std::FILE* f_;
    uint64_t packets_ = 0;
};

constexpr int64_t kStart = 1'700'000'000'000'000'000;
constexpr int64_t kUs = 1'000, kMs = 1'000'000, kS = 1'000'000'000;

pw::Ipv4Addr client_addr(uint32_t i) {
    // 10.x.y.z, distinct per i (up to 2^24).
    return {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
}
const pw::Ipv4Addr kServer{192, 0, 2, 80};

pw::Bytes frame4(const pw::Ipv4Addr& src, uint16_t sport, const pw::Ipv4Addr& dst, uint16_t dport, uint32_t seq,
                 uint32_t ack, uint16_t flags, const pw::Bytes& payload = {}) {
    pw::Ipv4Spec ip;
    ip.src = src;
    ip.dst = dst;
    pw::TcpSpec t;
    t.sport = sport;
    t.dport = dport;
    t.seq = seq;
    t.ack = ack;
    t.flags = flags;
    t.payload = payload;
    return pw::ethernet(pw::kServerMac, pw::kClientMac, pw::ethertype::ipv4, pw::ipv4(ip, pw::tcp_segment(t, ip.src, ip.dst)));
}

using namespace pw::tcpflag;

void syn_flood(StreamingPcap& w) {
    int64_t ts = kStart;
    for (uint32_t i = 0; i < 1'000'000; ++i) {
        w.add(ts, frame4(client_addr(i / 16), static_cast<uint16_t>(20000 + i % 16), kServer, 80, i * 7919u, 0, SYN));
        ts += kUs;
    }
}

// One handshake on a TcpConversation-like script; returns the next client/server seq.
void handshake(StreamingPcap& w, int64_t& ts, const pw::Ipv4Addr& c, uint16_t cport, uint32_t cisn, uint32_t sisn) {
    w.add(ts, frame4(c, cport, kServer, 80, cisn, 0, SYN));
    ts += 10 * kUs;
    w.add(ts, frame4(kServer, 80, c, cport, sisn, cisn + 1, SYN | ACK));
    ts += 10 * kUs;
    w.add(ts, frame4(c, cport, kServer, 80, cisn + 1, sisn + 1, ACK));
    ts += 10 * kUs;
}

void seq_holes(StreamingPcap& w) {
    int64_t ts = kStart;
    const pw::Bytes data(1400, 'h');
    for (uint32_t i = 0; i < 100'000; ++i) {
        const pw::Ipv4Addr c = client_addr(i);
        handshake(w, ts, c, 30000, 1000, 5000);
        w.add(ts, frame4(c, 30000, kServer, 80, 1001u + (1u << 30), 5001, PSH | ACK, data));
        ts += 10 * kUs;
    }
}

// Many connections that each send one request and stay open: every one holds
// connection state and an HTTP parser until the end (or the connection cap).
void request_flood(StreamingPcap& w) {
    int64_t ts = kStart;
    const std::string req = "GET /index.html HTTP/1.1\r\nHost: example\r\nUser-Agent: flood\r\n\r\n";
    const pw::Bytes data(req.begin(), req.end());
    for (uint32_t i = 0; i < 300'000; ++i) {
        const pw::Ipv4Addr c = client_addr(i);
        handshake(w, ts, c, 35000, 1000, 5000);
        w.add(ts, frame4(c, 35000, kServer, 80, 1001, 5001, PSH | ACK, data));
        ts += 10 * kUs;
    }
}

void overlap_storm(StreamingPcap& w) {
    int64_t ts = kStart;
    std::mt19937 rng(7);
    for (uint32_t i = 0; i < 1'000; ++i) {
        const pw::Ipv4Addr c = client_addr(i);
        handshake(w, ts, c, 31000, 1000, 5000);
        for (int k = 0; k < 200; ++k) {
            // Bytes 1000..2400 of the stream, behind a 1000-byte hole, each copy different.
            pw::Bytes data(1400);
            for (auto& b : data) b = static_cast<uint8_t>(rng());
            const uint32_t shift = static_cast<uint32_t>(rng() % 200);
            w.add(ts, frame4(c, 31000, kServer, 80, 1001u + 1000u + shift, 5001, PSH | ACK, data));
            ts += kUs;
        }
    }
}

void http_conn(StreamingPcap& w, int64_t& ts, uint32_t idx, const std::vector<std::string>& client,
               const std::vector<std::string>& server) {
    const pw::Ipv4Addr c = client_addr(idx);
    uint32_t cs = 1001, ss = 5001;
    handshake(w, ts, c, 32000, 1000, 5000);
    auto send = [&](bool from_client, const std::string& s) {
        for (size_t off = 0; off < s.size(); off += 1400) {
            const std::string part = s.substr(off, 1400);
            const pw::Bytes b(part.begin(), part.end());
            if (from_client) {
                w.add(ts, frame4(c, 32000, kServer, 80, cs, ss, PSH | ACK, b));
                cs += static_cast<uint32_t>(b.size());
            } else {
                w.add(ts, frame4(kServer, 80, c, 32000, ss, cs, PSH | ACK, b));
                ss += static_cast<uint32_t>(b.size());
            }
            ts += 10 * kUs;
        }
    };
    for (const auto& s : client) send(true, s);
    for (const auto& s : server) send(false, s);
    w.add(ts, frame4(c, 32000, kServer, 80, cs, ss, FIN | ACK));
    ts += 10 * kUs;
    w.add(ts, frame4(kServer, 80, c, 32000, ss, cs + 1, FIN | ACK));
    ts += 10 * kUs;
    w.add(ts, frame4(c, 32000, kServer, 80, cs + 1, ss + 1, ACK));
    ts += 10 * kUs;
}

void chunk_2p64(StreamingPcap& w) {
    int64_t ts = kStart;
    const std::string req = "GET /big HTTP/1.1\r\nHost: example\r\n\r\n";
    const char* sizes[] = {"ffffffffffffffff", "fffffffffffffff0", "10000000000000000", "7fffffffffffffff",
                           "ffffffffffffffffffffffffffffffff", "0000000000000000000000001", "ffffffffffffffff;ext=1"};
    uint32_t idx = 0;
    for (const char* sz : sizes) {
        std::string resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        resp += std::string(sz) + "\r\n" + std::string(200'000, 'c');
        http_conn(w, ts, idx++, {req}, {resp});
        // The same on a request body.
        std::string post = "POST /up HTTP/1.1\r\nHost: example\r\nTransfer-Encoding: chunked\r\n\r\n";
        post += std::string(sz) + "\r\n" + std::string(200'000, 'u');
        http_conn(w, ts, idx++, {post}, {});
    }
    // Content-Length near 2^64 too.
    http_conn(w, ts, idx++, {req}, {"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n" + std::string(100'000, 'l')});
    http_conn(w, ts, idx++, {req}, {"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n" + std::string(100'000, 'l')});
}

void header_10mb(StreamingPcap& w) {
    int64_t ts = kStart;
    std::string req = "GET / HTTP/1.1\r\nHost: example\r\n";
    while (req.size() < 10'000'000) req += "X-Fill: " + std::string(90, 'a') + "\r\n";
    std::string one_line = "GET / HTTP/1.1\r\nX-Long: " + std::string(10'000'000, 'b');  // one 10 MB header line
    std::string resp = "HTTP/1.1 200 OK\r\n";
    while (resp.size() < 10'000'000) resp += "Set-Cookie: " + std::string(90, 'z') + "\r\n";
    http_conn(w, ts, 0, {req}, {});
    http_conn(w, ts, 1, {one_line}, {});
    http_conn(w, ts, 2, {"GET / HTTP/1.1\r\nHost: e\r\n\r\n"}, {resp});
}

void pipeline_100k(StreamingPcap& w) {
    int64_t ts = kStart;
    std::string all;
    for (int i = 0; i < 100'000; ++i) all += "GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: example\r\n\r\n";
    http_conn(w, ts, 0, {all}, {});
}

void ts_backwards(StreamingPcap& w) {
    int64_t ts = kStart + 1'000'000 * kS;
    std::mt19937 rng(11);
    for (uint32_t i = 0; i < 200'000; ++i) {
        const uint32_t conn = i % 2'000;
        const pw::Ipv4Addr c = client_addr(conn);
        const uint32_t n = i / 2'000;
        const pw::Bytes data(100, 'd');
        uint16_t flags = n == 0 ? SYN : PSH | ACK;
        w.add(ts, frame4(c, 33000, kServer, 80, 1000 + (n ? 1 + (n - 1) * 100 : 0), 0, flags, n ? data : pw::Bytes{}));
        // Mostly backwards by up to a second; sometimes far forward (past the
        // idle timeout) or far back (before the first packet).
        const uint32_t r = rng() % 1000;
        if (r == 0) ts += 400 * kS;
        else if (r == 1) ts -= 100'000 * kS;
        else ts -= static_cast<int64_t>(rng() % 1000) * kMs;
    }
}

void frag_never_complete(StreamingPcap& w) {
    int64_t ts = kStart;
    for (uint32_t i = 0; i < 300'000; ++i) {
        pw::Ipv4Spec ip;
        ip.src = client_addr(i % 65536);
        ip.dst = kServer;
        ip.id = static_cast<uint16_t>(i);
        ip.df = false;
        ip.mf = true;
        ip.frag_offset_bytes = 0;
        pw::TcpSpec t;
        t.sport = 34000;
        t.dport = 80;
        t.seq = i;
        t.flags = PSH | ACK;
        t.payload = pw::Bytes(1400, 'f');
        w.add(ts, pw::ethernet(pw::kServerMac, pw::kClientMac, pw::ethertype::ipv4, pw::ipv4(ip, pw::tcp_segment(t, ip.src, ip.dst))));
        ts += 10 * kUs;  // 3 s in all: well inside the 30 s fragment timeout
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR [TRACE...]\n", argv[0]);
        return 2;
    }
    const std::string out = argv[1];
    const std::vector<std::pair<std::string, std::function<void(StreamingPcap&)>>> traces = {
        {"syn-flood", syn_flood},         {"request-flood", request_flood}, {"seq-holes", seq_holes},         {"overlap-storm", overlap_storm},
        {"chunk-2p64", chunk_2p64},       {"header-10mb", header_10mb},     {"pipeline-100k", pipeline_100k},
        {"ts-backwards", ts_backwards},   {"frag-never-complete", frag_never_complete},
    };
    std::vector<std::string> want(argv + 2, argv + argc);
    for (const auto& [name, gen] : traces) {
        if (!want.empty() && std::find(want.begin(), want.end(), name) == want.end()) continue;
        StreamingPcap w(out + "/" + name + ".pcap", pw::linktype::ethernet);
        gen(w);
        std::printf("%s %llu\n", name.c_str(), static_cast<unsigned long long>(w.packets()));
    }
    return 0;
}
