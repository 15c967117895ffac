// pcaplens benchmark trace generator.
//
// Writes a deterministic (seeded) classic pcap of HTTP/1.1 traffic, as seen by
// a capture point next to the clients, and its ground truth as JSON:
//
//   * thousands of concurrent keep-alive connections (--concurrency), each with
//     a geometric number of request/response transactions; some pipeline 2-4
//     requests; responses with Content-Length or chunked bodies, HEAD/304/204
//     without bodies, POST/PUT request bodies;
//   * MSS-sized segments (1448 payload bytes over IPv4 with TCP timestamps,
//     1428 over IPv6), client ACKs after every segment (85% of connections) or
//     every second one, server ACKs during uploads and before slow responses;
//   * loss and retransmission (a segment captured, then sent again), reordering
//     (a segment held back and captured 1-3 segments late, with duplicate ACKs),
//     client and server resets, refused connections (SYN -> RST), unanswered
//     SYNs with their retransmissions;
//   * ~15% IPv6, ~20% 802.1Q VLAN-tagged; correct IP and TCP checksums;
//   * each connection uses its own 4-tuple (no port reuse), so the connection
//     count is unambiguous.
//
// The truth file records what any correct analyzer must find: connections,
// HTTP transactions, and unique TCP payload bytes per direction (each stream
// byte once: retransmitted copies are not counted again).
//
// It streams: memory is O(concurrency) (one fixed-size state per connection
// slot, a binary heap of slot wake-up times, one 8 MiB output buffer). Frames
// are assembled in place in the output buffer and written with fwrite; the
// per-packet path performs no heap allocation.
//
// Usage: gen_trace --size 1G --out trace.pcap [--truth trace.truth.json]
//                  [--seed N] [--concurrency N]
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

// Bump whenever the traffic a given seed produces changes: bench/run puts it
// in trace file names so stale traces are not reused.
constexpr int kGeneratorVersion = 1;

// ---------------------------------------------------------------------------
// Random numbers: xoshiro256** seeded by splitmix64 (fast, deterministic
// across platforms, unlike std::uniform_*_distribution).
// ---------------------------------------------------------------------------
struct Rng {
    uint64_t s[4];
    explicit Rng(uint64_t seed) {
        for (auto& v : s) {
            seed += 0x9E3779B97F4A7C15ull;
            uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            v = z ^ (z >> 31);
        }
    }
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t next() {
        const uint64_t r = rotl(s[1] * 5, 7) * 9;
        const uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return r;
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0,1)
    bool chance(double p) { return uniform() < p; }
    uint64_t range(uint64_t lo, uint64_t hi) { return lo + next() % (hi - lo + 1); }  // [lo,hi]
    int64_t expo(double mean) { return static_cast<int64_t>(-mean * std::log(1.0 - uniform())); }
    uint64_t log_uniform(double lo, double hi) { return static_cast<uint64_t>(lo * std::pow(hi / lo, uniform())); }
};

// ---------------------------------------------------------------------------
// Output: one big buffer, frames built in place, flushed with fwrite.
// ---------------------------------------------------------------------------
class Out {
public:
    static constexpr size_t kCap = 8u << 20;
    explicit Out(std::FILE* f) : f_(f), buf_(new uint8_t[kCap]) {}
    ~Out() { delete[] buf_; }
    // Room for n bytes at the returned pointer; commit() what was used.
    uint8_t* reserve(size_t n) {
        if (len_ + n > kCap) flush();
        return buf_ + len_;
    }
    void commit(size_t n) {
        len_ += n;
        total_ += n;
    }
    void flush() {
        if (len_ && std::fwrite(buf_, 1, len_, f_) != len_) {
            std::fprintf(stderr, "gen_trace: write error: %s\n", std::strerror(errno));
            std::exit(1);
        }
        len_ = 0;
    }
    uint64_t total() const { return total_; }

private:
    std::FILE* f_;
    uint8_t* buf_;
    size_t len_ = 0;
    uint64_t total_ = 0;
};

inline void be16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline void be32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}
inline void le32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }  // pcap header: host (little-endian) order

// One's-complement sum in little-endian word space (the folded result,
// stored with memcpy, lands in network order on a little-endian host).
inline uint64_t csum_add(const uint8_t* p, size_t n, uint64_t s) {
    while (n >= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        s += (v & 0xFFFFFFFFu) + (v >> 32);
        p += 8;
        n -= 8;
    }
    while (n >= 2) {
        uint16_t v;
        std::memcpy(&v, p, 2);
        s += v;
        p += 2;
        n -= 2;
    }
    if (n) s += p[0];
    return s;
}
inline uint16_t csum_fold(uint64_t s) {
    while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
    return static_cast<uint16_t>(~s & 0xFFFF);
}

// ---------------------------------------------------------------------------
// HTTP message bytes: header block then body (identity or chunked), produced
// incrementally so a multi-megabyte body never exists in memory.
// ---------------------------------------------------------------------------
constexpr size_t kPatternSize = 1 << 16;
uint8_t g_pattern[kPatternSize + 2048];  // body filler; +2048 so any MSS-sized copy is contiguous

struct Msg {
    char hdr[1024];
    uint32_t hdr_len = 0, hdr_off = 0;
    uint64_t body_left = 0;      // decoded body bytes still to produce
    bool chunked = false;
    bool split_header = false;   // header block in a segment of its own (sendfile-style servers)
    bool active = false;
    uint8_t cstate = 0;          // chunked: 0 size line pending, 1 data, 2 after data, 3 final, 4 done
    uint32_t chunk_left = 0;
    char line[24];
    uint8_t line_len = 0, line_off = 0;
    uint32_t pat = 0;            // position in g_pattern

    bool done() const {
        if (hdr_off < hdr_len) return false;
        if (!chunked) return body_left == 0;
        return cstate == 4;
    }
    size_t take_line(uint8_t* dst, size_t max) {
        const size_t k = std::min<size_t>(max, line_len - line_off);
        std::memcpy(dst, line + line_off, k);
        line_off = static_cast<uint8_t>(line_off + k);
        return k;
    }
    size_t take_body(uint8_t* dst, size_t k) {
        std::memcpy(dst, g_pattern + pat, k);
        pat = static_cast<uint32_t>((pat + k) & (kPatternSize - 1));
        return k;
    }
    void set_line(const char* s) {
        line_len = static_cast<uint8_t>(std::strlen(s));
        std::memcpy(line, s, line_len);
        line_off = 0;
    }
    // Next bytes of the message, at most max; 0 when the message is complete.
    size_t fill(uint8_t* dst, size_t max, Rng& rng) {
        size_t n = 0;
        if (hdr_off < hdr_len) {
            const size_t k = std::min<size_t>(max, hdr_len - hdr_off);
            std::memcpy(dst, hdr + hdr_off, k);
            hdr_off += static_cast<uint32_t>(k);
            n += k;
            if (split_header) return n;
        }
        if (!chunked) {
            const size_t k = static_cast<size_t>(std::min<uint64_t>(max - n, body_left));
            take_body(dst + n, k);
            body_left -= k;
            return n + k;
        }
        while (n < max && cstate != 4) {
            if (line_off < line_len) {
                n += take_line(dst + n, max - n);
                continue;
            }
            switch (cstate) {
                case 0: {  // start a chunk (or the last one)
                    if (body_left == 0) {
                        set_line("0\r\n\r\n");
                        cstate = 3;
                        break;
                    }
                    chunk_left = static_cast<uint32_t>(std::min<uint64_t>(body_left, rng.range(256, 16384)));
                    char tmp[24];
                    std::snprintf(tmp, sizeof tmp, "%x\r\n", chunk_left);
                    set_line(tmp);
                    cstate = 1;
                    break;
                }
                case 1: {
                    const size_t k = std::min<size_t>(max - n, chunk_left);
                    take_body(dst + n, k);
                    n += k;
                    chunk_left -= static_cast<uint32_t>(k);
                    body_left -= k;
                    if (chunk_left == 0) {
                        set_line("\r\n");
                        cstate = 2;
                    }
                    break;
                }
                case 2: cstate = 0; break;  // the CRLF after the data went out
                case 3: cstate = 4; break;  // the last-chunk went out
                default: break;
            }
        }
        return n;
    }
};

// ---------------------------------------------------------------------------
// Ground truth
// ---------------------------------------------------------------------------
struct Truth {
    uint64_t packets = 0, frame_bytes = 0;
    uint64_t connections = 0, ipv4 = 0, ipv6 = 0, vlan = 0;
    uint64_t close_fin = 0, close_rst = 0, refused = 0, unanswered = 0;
    uint64_t requests = 0, transactions = 0, pipelined_requests = 0, chunked_responses = 0;
    uint64_t head_requests = 0, bodyless_responses = 0;
    uint64_t status_class[6] = {0, 0, 0, 0, 0, 0};
    uint64_t methods[5] = {0, 0, 0, 0, 0};
    uint64_t c2s = 0, s2c = 0;
    uint64_t retransmitted_segments = 0, retransmitted_bytes = 0, reordered_segments = 0;
    uint64_t syn_retransmissions = 0;
    int64_t first_ts = 0, last_ts = 0;
};

const char* const kMethods[5] = {"GET", "POST", "HEAD", "PUT", "DELETE"};
const char* const kHosts[8] = {"www.example.com", "api.example.com", "static.example.net", "img.example.org",
                               "shop.example.com", "cdn.example.net", "auth.example.com", "m.example.com"};
const char* const kAgents[4] = {
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "curl/7.88.1",
    "okhttp/4.12.0"};
// Bodies are filler text, so no type whose dissector would try to parse them (JSON, JavaScript).
const char* const kTypes[5] = {"text/html; charset=utf-8", "text/plain", "image/jpeg", "application/octet-stream",
                               "text/css"};

// ---------------------------------------------------------------------------
// One connection slot. Each step emits at most one packet, then the slot is
// rescheduled; the heap orders all slots by time, so the file is in time order.
// ---------------------------------------------------------------------------
enum Phase : uint8_t {
    P_SYN, P_SYN_RETX, P_REFUSE, P_SYNACK, P_ACK3, P_REQ, P_SRV_ACK, P_UPLOAD_ACK, P_RESP, P_CACK,
    P_C_FIN, P_S_FINACK, P_C_LASTACK, P_S_FIN, P_C_FINACK, P_S_LASTACK, P_C_RST, P_S_RST, P_DONE
};
enum Fate : uint8_t { F_NORMAL, F_UNANSWERED, F_REFUSED };
enum CloseMode : uint8_t { C_CLIENT_FIN, C_SERVER_FIN, C_CLIENT_RST, C_SERVER_RST };

struct PendingResp {
    uint8_t method;
    uint16_t status;
};

struct Conn {
    // identity
    bool v6 = false, vlan = false;
    uint16_t vlan_id = 0;
    uint8_t cip[16], sip[16];
    uint16_t cport = 0, sport = 80;
    uint8_t cmac[6], smac[6];
    uint16_t mss = 1448;
    // TCP
    uint32_t cseq = 0, sseq = 0;  // next sequence number each side sends
    uint32_t cts = 0, sts = 0;    // timestamp-option clocks (base)
    uint16_t cid = 0, sid = 0;    // IPv4 ids
    int64_t rtt = 0, gap = 0;     // round-trip time; spacing of back-to-back segments
    Phase phase = P_DONE;
    Fate fate = F_NORMAL;
    CloseMode close = C_CLIENT_FIN;
    uint8_t syn_retx_left = 0;
    bool pipelining = false;
    uint8_t ack_every = 2;        // client ACKs every 1 or 2 full segments
    uint32_t tx_left = 0;         // requests still to send
    uint32_t batch_left = 0;      // requests left in the current pipelined burst
    uint32_t segs_unacked = 0, segs_in_burst = 0;
    bool resp_complete_unacked = false;
    // HTTP
    Msg req, resp;
    PendingResp queue[8];
    uint8_t q_head = 0, q_len = 0;
    uint32_t obj = 0;
    uint8_t host = 0, agent = 0;
    uint64_t cookie = 0;
    // hold-back of one segment (reordering, or a copy for a retransmission)
    bool hold = false, hold_dup = false;
    uint8_t hold_countdown = 0;
    uint8_t hold_passed = 0;      // later segments captured while this one was held
    uint32_t hold_seq = 0;
    uint16_t hold_len = 0;
    uint8_t hold_buf[1448];
};

struct Event {
    int64_t t;
    uint32_t slot;
    bool operator>(const Event& o) const { return t != o.t ? t > o.t : slot > o.slot; }
};

class Generator {
public:
    Generator(uint64_t seed, uint64_t target, uint32_t concurrency, std::FILE* f)
        : rng_(seed), target_(target), out_(f), slots_(concurrency) {
        heap_.reserve(concurrency + 1);
        // Pattern: printable, compressible-looking text.
        static const char kWords[] = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ";
        for (size_t i = 0; i < sizeof g_pattern; ++i) {
            g_pattern[i] = rng_.chance(0.02) ? static_cast<uint8_t>('A' + rng_.range(0, 25))
                                             : static_cast<uint8_t>(kWords[i % (sizeof kWords - 1)]);
        }
        // pcap global header: microsecond resolution, Ethernet.
        uint8_t* p = out_.reserve(24);
        le32(p, 0xA1B2C3D4u);
        p[4] = 2, p[5] = 0, p[6] = 4, p[7] = 0;
        le32(p + 8, 0);
        le32(p + 12, 0);
        le32(p + 16, 262144);
        le32(p + 20, 1);
        out_.commit(24);
        const int64_t t0 = 1'764'000'000LL * 1'000'000'000LL;  // 2025-11-24
        for (uint32_t i = 0; i < concurrency; ++i) {
            start_connection(slots_[i]);
            push(t0 + static_cast<int64_t>(rng_.range(0, 200'000'000)), i);  // ramp up over 200 ms
        }
    }

    void run() {
        while (!heap_.empty()) {
            std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
            const Event e = heap_.back();
            heap_.pop_back();
            now_ = e.t;
            if (!draining_ && out_.total() >= next_drain_check_) check_drain();
            Conn& c = slots_[e.slot];
            const int64_t next = step(c);
            if (c.phase == P_DONE) {
                if (draining_) continue;  // slot retires
                start_connection(c);
                push(now_ + 1000 + rng_.expo(2e6), e.slot);
            } else {
                push(now_ + std::max<int64_t>(next, 1000), e.slot);
            }
        }
        out_.flush();
    }

    const Truth& truth() const { return t_; }
    uint64_t bytes() const { return out_.total(); }

private:
    // Stop opening connections and requests once the bytes the open
    // connections have yet to send (known response bodies, estimated queued
    // responses, closes) would carry the file to the target size.
    void check_drain() {
        uint64_t pending = 0;
        for (const Conn& c : slots_) {
            if (c.phase == P_DONE) continue;
            if (c.resp.active) pending += (c.resp.hdr_len - c.resp.hdr_off) + c.resp.body_left * 1515 / 1448;
            pending += static_cast<uint64_t>(c.q_len) * 11'000 + (c.phase == P_REQ ? 11'000 : 0) + 300;
        }
        if (out_.total() + pending >= target_) draining_ = true;
        else next_drain_check_ = out_.total() + std::max<uint64_t>(256 << 10, (target_ - out_.total() - pending) / 4);
    }

    void push(int64_t t, uint32_t slot) {
        heap_.push_back(Event{t, slot});
        std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
    }

    void start_connection(Conn& c) {
        const uint64_t k = conn_counter_++;
        ++t_.connections;
        c.v6 = rng_.chance(0.15);
        c.vlan = rng_.chance(0.20);
        (c.v6 ? t_.ipv6 : t_.ipv4)++;
        if (c.vlan) ++t_.vlan;
        const uint32_t srv = static_cast<uint32_t>(rng_.range(0, 7));
        c.vlan_id = static_cast<uint16_t>(100 + srv);
        // Unique client tuple per connection: 60000 ports per client address.
        const uint32_t ipidx = static_cast<uint32_t>(k / 60000);
        c.cport = static_cast<uint16_t>(1024 + k % 60000);
        c.sport = srv == 7 ? 8080 : 80;
        std::memset(c.cip, 0, 16);
        std::memset(c.sip, 0, 16);
        if (c.v6) {
            const uint8_t pre[6] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01};
            std::memcpy(c.cip, pre, 6);
            be32(c.cip + 12, ipidx + 1);
            const uint8_t spre[6] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff};
            std::memcpy(c.sip, spre, 6);
            c.sip[15] = static_cast<uint8_t>(1 + srv);
            c.mss = 1428;  // 1500 - 40 (IPv6) - 20 (TCP) - 12 (timestamps)
        } else {
            c.cip[0] = 10;
            c.cip[1] = static_cast<uint8_t>(1 + (ipidx >> 16));
            c.cip[2] = static_cast<uint8_t>(ipidx >> 8);
            c.cip[3] = static_cast<uint8_t>(ipidx);
            c.sip[0] = 10, c.sip[1] = 250, c.sip[2] = 0, c.sip[3] = static_cast<uint8_t>(1 + srv);
            c.mss = 1448;  // 1500 - 20 - 20 - 12
        }
        const uint8_t cm[6] = {0x02, 0x42, static_cast<uint8_t>(ipidx >> 8), static_cast<uint8_t>(ipidx),
                               static_cast<uint8_t>(k >> 8), static_cast<uint8_t>(k)};
        const uint8_t sm[6] = {0x00, 0x1b, 0x21, 0x3a, 0x4c, static_cast<uint8_t>(0x10 + srv)};
        std::memcpy(c.cmac, cm, 6);
        std::memcpy(c.smac, sm, 6);
        c.cseq = static_cast<uint32_t>(rng_.next());
        c.sseq = static_cast<uint32_t>(rng_.next());
        c.cts = static_cast<uint32_t>(rng_.next());
        c.sts = static_cast<uint32_t>(rng_.next());
        c.cid = static_cast<uint16_t>(rng_.next());
        c.sid = static_cast<uint16_t>(rng_.next());
        c.rtt = 200'000 + static_cast<int64_t>(rng_.log_uniform(1, 200)) * 200'000;  // 0.4 .. 40 ms
        c.gap = 12'000 * static_cast<int64_t>(rng_.range(1, 8));                         // 1 Gb/s .. 125 Mb/s
        const double f = rng_.uniform();
        c.fate = f < 0.015 ? F_UNANSWERED : f < 0.025 ? F_REFUSED : F_NORMAL;
        const double cm2 = rng_.uniform();
        c.close = cm2 < 0.62 ? C_CLIENT_FIN : cm2 < 0.85 ? C_SERVER_FIN : cm2 < 0.96 ? C_CLIENT_RST : C_SERVER_RST;
        c.pipelining = rng_.chance(0.10);
        c.ack_every = rng_.chance(0.85) ? 1 : 2;
        c.tx_left = 1 + static_cast<uint32_t>(std::min<int64_t>(rng_.expo(6.0), 150));
        c.batch_left = 0;
        c.segs_unacked = c.segs_in_burst = 0;
        c.resp_complete_unacked = false;
        c.req.active = c.resp.active = false;
        c.q_head = c.q_len = 0;
        c.obj = static_cast<uint32_t>(rng_.range(1, 99999));
        c.host = static_cast<uint8_t>(srv);
        c.agent = static_cast<uint8_t>(rng_.range(0, 3));
        c.cookie = rng_.next();
        c.hold = false;
        c.syn_retx_left = 2;
        c.phase = P_SYN;
    }

    // --- packet assembly --------------------------------------------------
    static constexpr uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

    size_t l3_offset(const Conn& c) const { return c.vlan ? 18 : 14; }
    size_t tcp_offset(const Conn& c) const { return l3_offset(c) + (c.v6 ? 40 : 20); }
    size_t tcp_hlen(uint8_t flags, bool opts) const { return (flags & SYN) ? 40 : opts ? 32 : 20; }

    // Buffer for a frame whose payload (up to 1448 bytes) the caller writes at
    // frame + payload_offset() before calling finish().
    uint8_t* begin(const Conn&) { return out_.reserve(16 + 18 + 40 + 40 + 1448) + 16; }
    size_t payload_offset(const Conn& c, uint8_t flags, bool opts) const { return tcp_offset(c) + tcp_hlen(flags, opts); }

    uint32_t tsval(const Conn& c, bool from_client) const {
        const uint32_t ms = static_cast<uint32_t>(now_ / 1'000'000);
        return from_client ? c.cts + ms : c.sts + ms;
    }

    void finish(Conn& c, uint8_t* f, bool from_client, uint8_t flags, uint32_t seq, uint32_t ack, size_t plen, bool opts) {
        const size_t l3 = l3_offset(c), l4 = tcp_offset(c), th = tcp_hlen(flags, opts);
        const size_t seglen = th + plen;
        const size_t frame_len = l4 + seglen;
        // Ethernet (+ 802.1Q)
        std::memcpy(f, from_client ? c.smac : c.cmac, 6);
        std::memcpy(f + 6, from_client ? c.cmac : c.smac, 6);
        const uint16_t et = c.v6 ? 0x86DD : 0x0800;
        if (c.vlan) {
            be16(f + 12, 0x8100);
            be16(f + 14, c.vlan_id);
            be16(f + 16, et);
        } else {
            be16(f + 12, et);
        }
        const uint8_t* src = from_client ? c.cip : c.sip;
        const uint8_t* dst = from_client ? c.sip : c.cip;
        uint8_t* ip = f + l3;
        uint64_t pseudo = 0;
        if (c.v6) {
            be32(ip, 0x60000000u);
            be16(ip + 4, static_cast<uint16_t>(seglen));
            ip[6] = 6;
            ip[7] = 64;
            std::memcpy(ip + 8, src, 16);
            std::memcpy(ip + 24, dst, 16);
            pseudo = csum_add(ip + 8, 32, 0);
            uint8_t ph[8] = {0, 0, 0, 0, 0, 0, 0, 6};
            be32(ph, static_cast<uint32_t>(seglen));
            pseudo = csum_add(ph, 8, pseudo);
        } else {
            ip[0] = 0x45;
            ip[1] = 0;
            be16(ip + 2, static_cast<uint16_t>(20 + seglen));
            uint16_t& id = from_client ? c.cid : c.sid;
            be16(ip + 4, id++);
            be16(ip + 6, 0x4000);  // DF
            ip[8] = from_client ? 64 : 57;
            ip[9] = 6;
            ip[10] = ip[11] = 0;
            std::memcpy(ip + 12, src, 4);
            std::memcpy(ip + 16, dst, 4);
            const uint16_t ck = csum_fold(csum_add(ip, 20, 0));
            std::memcpy(ip + 10, &ck, 2);
            pseudo = csum_add(ip + 12, 8, 0);
            uint8_t ph[4] = {0, 6, 0, 0};
            be16(ph + 2, static_cast<uint16_t>(seglen));
            pseudo = csum_add(ph, 4, pseudo);
        }
        uint8_t* t = f + l4;
        be16(t, from_client ? c.cport : c.sport);
        be16(t + 2, from_client ? c.sport : c.cport);
        be32(t + 4, seq);
        be32(t + 8, (flags & ACK) ? ack : 0);
        t[12] = static_cast<uint8_t>((th / 4) << 4);
        t[13] = flags;
        be16(t + 14, (flags & SYN) ? (c.v6 ? 64800 : 64240) : 502);  // scaled by 2^7 after the handshake
        t[16] = t[17] = 0;
        be16(t + 18, 0);
        if (flags & SYN) {
            uint8_t* o = t + 20;
            o[0] = 2, o[1] = 4;
            be16(o + 2, static_cast<uint16_t>(c.mss + 12));
            o[4] = 4, o[5] = 2;  // SACK permitted
            o[6] = 8, o[7] = 10;
            be32(o + 8, tsval(c, from_client));
            be32(o + 12, from_client ? 0 : tsval(c, true) - static_cast<uint32_t>(c.rtt / 1'000'000));
            o[16] = 1;  // NOP
            o[17] = 3, o[18] = 3, o[19] = 7;  // window scale 7
        } else if (opts) {
            uint8_t* o = t + 20;
            o[0] = 1, o[1] = 1, o[2] = 8, o[3] = 10;
            be32(o + 4, tsval(c, from_client));
            be32(o + 8, tsval(c, !from_client) - static_cast<uint32_t>(c.rtt / 2'000'000));
        }
        const uint16_t ck = csum_fold(csum_add(t, seglen, pseudo));
        std::memcpy(t + 16, &ck, 2);
        // pcap record header
        uint8_t* r = f - 16;
        le32(r, static_cast<uint32_t>(now_ / 1'000'000'000));
        le32(r + 4, static_cast<uint32_t>((now_ % 1'000'000'000) / 1000));
        le32(r + 8, static_cast<uint32_t>(frame_len));
        le32(r + 12, static_cast<uint32_t>(frame_len));
        out_.commit(16 + frame_len);
        ++t_.packets;
        t_.frame_bytes += frame_len;
        if (t_.first_ts == 0) t_.first_ts = now_;
        t_.last_ts = now_;
    }

    void control(Conn& c, bool from_client, uint8_t flags, bool opts = true) {
        uint8_t* f = begin(c);
        const uint32_t seq = from_client ? c.cseq : c.sseq;
        const uint32_t ack = from_client ? client_ack_value(c) : c.cseq;
        finish(c, f, from_client, flags, seq, ack, 0, opts);
    }

    // The client acknowledges up to the first byte it is missing (a segment
    // held back, or one captured here but lost before reaching the client).
    uint32_t client_ack_value(const Conn& c) const { return c.hold ? c.hold_seq : c.sseq; }

    // --- HTTP content -----------------------------------------------------
    void start_request(Conn& c) {
        const double m = rng_.uniform();
        const uint8_t method = m < 0.86 ? 0 : m < 0.94 ? 1 : m < 0.96 ? 2 : m < 0.99 ? 3 : 4;
        ++t_.methods[method];
        ++t_.requests;
        if (method == 2) ++t_.head_requests;
        uint64_t body = 0;
        if (method == 1 || method == 3) body = rng_.log_uniform(20, method == 1 ? 20000 : 200000);
        ++c.obj;
        char path[96];
        switch (rng_.range(0, 5)) {
            case 0: std::snprintf(path, sizeof path, "/api/v1/items/%u?fields=id,name,price&page=%u", c.obj, c.obj % 17); break;
            case 1: std::snprintf(path, sizeof path, "/static/js/app.%08x.js", c.obj * 2654435761u); break;
            case 2: std::snprintf(path, sizeof path, "/img/products/%u/large.jpg", c.obj); break;
            case 3: std::snprintf(path, sizeof path, "/search?q=item%u&sort=relevance", c.obj); break;
            case 4: std::snprintf(path, sizeof path, "/"); break;
            default: std::snprintf(path, sizeof path, "/css/site.%04x.css", c.obj & 0xFFFF); break;
        }
        Msg& r = c.req;
        int n = std::snprintf(r.hdr, sizeof r.hdr,
                              "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n"
                              "Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n"
                              "Cookie: session=%016" PRIx64 "; theme=dark; consent=1\r\n",
                              kMethods[method], path, kHosts[c.host], kAgents[c.agent], c.cookie);
        if (body) n += std::snprintf(r.hdr + n, sizeof r.hdr - n, "Content-Type: application/octet-stream\r\nContent-Length: %" PRIu64 "\r\n", body);
        n += std::snprintf(r.hdr + n, sizeof r.hdr - n, "Connection: keep-alive\r\n\r\n");
        r.hdr_len = static_cast<uint32_t>(n);
        r.hdr_off = 0;
        r.body_left = body;
        r.chunked = false;
        r.split_header = false;
        r.pat = static_cast<uint32_t>(rng_.range(0, kPatternSize - 1));
        r.active = true;
        // What the server will answer.
        uint16_t status = 200;
        const double s = rng_.uniform();
        if (method == 0 && s < 0.07) status = 304;
        else if (s < 0.11) status = 404;
        else if (s < 0.13) status = 301;
        else if (s < 0.15) status = 500;
        else if (method == 4 || (method == 3 && s < 0.5)) status = 204;
        c.queue[(c.q_head + c.q_len) & 7] = PendingResp{method, status};
        ++c.q_len;
    }

    void start_response(Conn& c, bool last) {
        const PendingResp pr = c.queue[c.q_head];
        c.q_head = static_cast<uint8_t>((c.q_head + 1) & 7);
        --c.q_len;
        Msg& r = c.resp;
        const char* reason = pr.status == 200 ? "OK" : pr.status == 304 ? "Not Modified" : pr.status == 404 ? "Not Found"
                             : pr.status == 301 ? "Moved Permanently" : pr.status == 204 ? "No Content" : "Internal Server Error";
        uint64_t body = 0;
        const bool no_body_status = pr.status == 304 || pr.status == 204;
        if (!no_body_status) {
            const double b = rng_.uniform();
            body = b < 0.70 ? rng_.log_uniform(60, 1500)
                 : b < 0.935 ? rng_.log_uniform(1500, 15000)
                 : b < 0.992 ? rng_.log_uniform(15000, 150000)
                            : rng_.log_uniform(150000, 2000000);
            if (pr.status != 200) body = rng_.log_uniform(100, 600);
        }
        const bool chunked = !no_body_status && pr.method != 2 && rng_.chance(0.22);
        const int64_t secs = now_ / 1'000'000'000;
        int n = std::snprintf(r.hdr, sizeof r.hdr,
                              "HTTP/1.1 %u %s\r\nServer: nginx/1.24.0\r\nDate: Mon, 24 Nov 2025 %02d:%02d:%02d GMT\r\n",
                              pr.status, reason, static_cast<int>(secs / 3600 % 24), static_cast<int>(secs / 60 % 60),
                              static_cast<int>(secs % 60));
        if (!no_body_status) {
            n += std::snprintf(r.hdr + n, sizeof r.hdr - n, "Content-Type: %s\r\n", kTypes[c.obj % 5]);
            if (chunked) n += std::snprintf(r.hdr + n, sizeof r.hdr - n, "Transfer-Encoding: chunked\r\n");
            else n += std::snprintf(r.hdr + n, sizeof r.hdr - n, "Content-Length: %" PRIu64 "\r\n", body);
        }
        if (pr.status == 301) n += std::snprintf(r.hdr + n, sizeof r.hdr - n, "Location: https://%s/\r\n", kHosts[c.host]);
        n += std::snprintf(r.hdr + n, sizeof r.hdr - n, "Cache-Control: max-age=3600\r\nETag: \"%08x\"\r\nConnection: %s\r\n\r\n",
                           c.obj * 2246822519u, last && c.close == C_SERVER_FIN ? "close" : "keep-alive");
        r.hdr_len = static_cast<uint32_t>(n);
        r.hdr_off = 0;
        if (pr.method == 2 || no_body_status) {
            body = 0;
            ++t_.bodyless_responses;
        }
        r.body_left = body;
        r.chunked = chunked;
        r.split_header = body > 4000 && rng_.chance(0.5);
        r.cstate = 0;
        r.line_len = r.line_off = 0;
        r.pat = static_cast<uint32_t>(rng_.range(0, kPatternSize - 1));
        r.active = true;
        if (chunked) ++t_.chunked_responses;
        ++t_.status_class[pr.status / 100];
    }

    bool more_requests(const Conn& c) const { return c.tx_left > 0 && !draining_; }

    int64_t close_now(Conn& c) {
        switch (c.close) {
            case C_CLIENT_FIN: c.phase = P_C_FIN; break;
            case C_SERVER_FIN: c.phase = P_S_FIN; break;
            case C_CLIENT_RST: c.phase = P_C_RST; break;
            case C_SERVER_RST: c.phase = P_S_RST; break;
        }
        return c.close == C_SERVER_FIN ? 2000 + rng_.expo(200'000) : 1000 + rng_.expo(5'000'000);
    }

    // After the client has acknowledged: more data, the next response, the
    // next request after an idle period, or the close.
    int64_t after_ack(Conn& c) {
        if (c.resp.active || c.hold || c.q_len > 0) {
            c.phase = P_RESP;
            return c.gap;
        }
        if (more_requests(c)) {
            c.phase = P_REQ;
            c.batch_left = c.pipelining ? static_cast<uint32_t>(rng_.range(2, 4)) : 1;
            return 20'000 + std::min<int64_t>(rng_.expo(250'000'000), 3'000'000'000);
        }
        return close_now(c);
    }

    // --- the state machine --------------------------------------------------
    // Emits at most one packet; returns the delay to the slot's next step.
    int64_t step(Conn& c) {
        switch (c.phase) {
            case P_SYN:
                control(c, true, SYN);
                if (c.fate == F_UNANSWERED) {
                    c.phase = P_SYN_RETX;
                    return 1'000'000'000;
                }
                c.cseq += 1;
                if (c.fate == F_REFUSED) {
                    c.phase = P_REFUSE;
                    return c.rtt;
                }
                c.phase = P_SYNACK;
                return c.rtt;
            case P_SYN_RETX:
                if (draining_) {
                    ++t_.unanswered;
                    c.phase = P_DONE;
                    return 0;
                }
                control(c, true, SYN);
                ++t_.syn_retransmissions;
                if (--c.syn_retx_left == 0) {
                    ++t_.unanswered;
                    c.phase = P_DONE;
                    return 0;
                }
                return 2'000'000'000;
            case P_REFUSE:
                control(c, false, RST | ACK, false);
                ++t_.refused;
                c.phase = P_DONE;
                return 0;
            case P_SYNACK:
                control(c, false, SYN | ACK);
                c.sseq += 1;
                c.phase = P_ACK3;
                return 15'000 + rng_.expo(20'000);
            case P_ACK3:
                control(c, true, ACK);
                if (!more_requests(c)) return close_now(c);
                c.phase = P_REQ;
                c.batch_left = c.pipelining ? static_cast<uint32_t>(rng_.range(2, 4)) : 1;
                return 10'000 + rng_.expo(50'000);
            case P_REQ: return step_request(c);
            case P_SRV_ACK:
                control(c, false, ACK);
                c.phase = P_RESP;
                return rng_.expo(4'000'000);
            case P_UPLOAD_ACK:
                control(c, false, ACK);
                c.segs_unacked = 0;
                c.phase = P_REQ;
                return c.gap;
            case P_RESP: return step_response(c);
            case P_CACK:
                control(c, true, ACK);
                c.segs_unacked = 0;
                if (c.resp_complete_unacked) {
                    c.resp_complete_unacked = false;
                    return after_ack(c);
                }
                c.phase = P_RESP;
                return c.gap;
            case P_C_FIN:
                control(c, true, FIN | ACK);
                c.cseq += 1;
                c.phase = P_S_FINACK;
                return c.rtt;
            case P_S_FINACK:
                control(c, false, FIN | ACK);
                c.sseq += 1;
                c.phase = P_C_LASTACK;
                return 10'000;
            case P_C_LASTACK:
                control(c, true, ACK);
                ++t_.close_fin;
                c.phase = P_DONE;
                return 0;
            case P_S_FIN:
                control(c, false, FIN | ACK);
                c.sseq += 1;
                c.phase = P_C_FINACK;
                return 20'000 + rng_.expo(30'000);
            case P_C_FINACK:
                control(c, true, FIN | ACK);
                c.cseq += 1;
                c.phase = P_S_LASTACK;
                return c.rtt;
            case P_S_LASTACK:
                control(c, false, ACK);
                ++t_.close_fin;
                c.phase = P_DONE;
                return 0;
            case P_C_RST:
                control(c, true, RST | ACK, false);
                ++t_.close_rst;
                c.phase = P_DONE;
                return 0;
            case P_S_RST:
                control(c, false, RST | ACK, false);
                ++t_.close_rst;
                c.phase = P_DONE;
                return 0;
            case P_DONE: return 0;
        }
        return 0;
    }

    int64_t step_request(Conn& c) {
        if (!c.req.active) {
            start_request(c);
            if (c.q_len > 1) ++t_.pipelined_requests;
        }
        uint8_t* f = begin(c);
        const size_t off = payload_offset(c, PSH | ACK, true);
        const size_t n = c.req.fill(f + off, c.mss, rng_);
        t_.c2s += n;
        const bool done = c.req.done();
        finish(c, f, true, done ? PSH | ACK : ACK, c.cseq, c.sseq, n, true);
        c.cseq += static_cast<uint32_t>(n);
        if (!done) {  // a request body spanning segments; the server ACKs every second one
            if (++c.segs_unacked >= 2) {
                c.phase = P_UPLOAD_ACK;
                return c.rtt / 2;
            }
            return c.gap;
        }
        c.segs_unacked = 0;
        c.req.active = false;
        --c.tx_left;
        --c.batch_left;
        if (c.batch_left > 0 && more_requests(c)) return 30'000 + rng_.expo(30'000);  // pipelined
        const int64_t think = 50'000 + rng_.expo(3'000'000);
        c.segs_in_burst = 0;
        if (rng_.chance(0.25)) {  // delayed ACK from the server before a slow response
            c.phase = P_SRV_ACK;
            return c.rtt;
        }
        c.phase = P_RESP;
        return c.rtt + think;
    }

    int64_t step_response(Conn& c) {
        if (c.hold && c.hold_countdown == 0) {
            uint8_t* f = begin(c);
            const size_t off = payload_offset(c, ACK, true);
            std::memcpy(f + off, c.hold_buf, c.hold_len);
            const bool dup = c.hold_dup;
            c.hold = false;  // before finish(): the client acks everything now
            finish(c, f, false, PSH | ACK, c.hold_seq, c.cseq, c.hold_len, true);
            if (dup) {
                ++t_.retransmitted_segments;
                t_.retransmitted_bytes += c.hold_len;
            } else if (c.hold_passed > 0) {  // held back as the last segment, nothing overtook it: in order
                ++t_.reordered_segments;
            }
            return after_data(c);
        }
        if (!c.resp.active) {
            if (c.q_len == 0) return after_ack(c);  // only a held segment was left
            start_response(c, c.q_len == 1 && !more_requests(c));
        }
        uint8_t* f = begin(c);
        const size_t off = payload_offset(c, ACK, true);
        const size_t n = c.resp.fill(f + off, c.mss, rng_);
        t_.s2c += n;
        const uint32_t seq = c.sseq;
        c.sseq += static_cast<uint32_t>(n);
        const bool done = c.resp.done();
        if (done) c.resp.active = false;
        const bool was_holding = c.hold;
        bool emitted = true;
        if (!c.hold && n > 0 && rng_.chance(0.003)) {
            // Reordered: captured 1-3 segments later; the client sends duplicate ACKs meanwhile.
            std::memcpy(c.hold_buf, f + off, n);
            c.hold = true;
            c.hold_dup = false;
            c.hold_seq = seq;
            c.hold_len = static_cast<uint16_t>(n);
            c.hold_countdown = static_cast<uint8_t>(rng_.range(1, 3));
            c.hold_passed = 0;
            emitted = false;
        } else {
            finish(c, f, false, done ? PSH | ACK : ACK, seq, c.cseq, n, true);
            if (!c.hold && n > 0 && rng_.chance(0.005)) {
                // Lost after the capture point: the same segment again later.
                std::memcpy(c.hold_buf, f + off, n);
                c.hold = true;
                c.hold_dup = true;
                c.hold_seq = seq;
                c.hold_len = static_cast<uint16_t>(n);
                c.hold_countdown = static_cast<uint8_t>(rng_.range(2, 6));
                c.hold_passed = 0;
            }
        }
        if (was_holding && emitted) {
            if (c.hold_countdown > 0) --c.hold_countdown;
            if (c.hold_passed < 255) ++c.hold_passed;
        }
        if (done) {
            ++t_.transactions;
            if (c.hold) c.hold_countdown = 0;  // the held segment goes out before the response is over
        }
        return after_data(c);
    }

    int64_t after_data(Conn& c) {
        ++c.segs_unacked;
        ++c.segs_in_burst;
        if (!c.resp.active && !c.hold) {  // the response is complete on the wire
            c.resp_complete_unacked = true;
            c.phase = P_CACK;
            return 8'000 + rng_.expo(20'000);
        }
        if (c.segs_unacked >= c.ack_every) {
            c.phase = P_CACK;
            return 5'000 + rng_.expo(10'000);
        }
        c.phase = P_RESP;
        if (c.segs_in_burst % 40 == 0) return c.rtt / 2;  // window-limited pause
        return c.gap;
    }

    Rng rng_;
    uint64_t target_;
    Out out_;
    std::vector<Conn> slots_;
    std::vector<Event> heap_;
    Truth t_;
    int64_t now_ = 0;
    uint64_t conn_counter_ = 0;
    bool draining_ = false;
    uint64_t next_drain_check_ = 0;
};

}  // namespace

namespace {

bool parse_size(const char* s, uint64_t& out) {
    char* end = nullptr;
    const double v = std::strtod(s, &end);
    if (end == s || v <= 0) return false;
    double mul = 1;
    switch (*end) {
        case 'k': case 'K': mul = 1024.0; ++end; break;
        case 'm': case 'M': mul = 1024.0 * 1024; ++end; break;
        case 'g': case 'G': mul = 1024.0 * 1024 * 1024; ++end; break;
        case '\0': break;
        default: return false;
    }
    if (*end == 'B' || *end == 'b') ++end;
    if (*end) return false;
    out = static_cast<uint64_t>(v * mul);
    return true;
}

void usage() {
    std::fprintf(stderr,
                 "usage: gen_trace --size SIZE --out FILE.pcap [--truth FILE.json] [--seed N] [--concurrency N]\n"
                 "  SIZE: bytes, or with K/M/G suffix (binary: 1G = 2^30); the file ends a little past it,\n"
                 "        once every open connection has finished cleanly\n"
                 "  --truth defaults to FILE with .pcap replaced by .truth.json\n");
}

// Only deterministic facts: the same seed, size and concurrency give a
// byte-identical pcap and truth file.
void write_truth(const char* path, const Truth& t, uint64_t seed, uint64_t target, uint32_t conc, uint64_t file_bytes) {
    std::FILE* f = std::fopen(path, "w");
    if (!f) {
        std::fprintf(stderr, "gen_trace: %s: %s\n", path, std::strerror(errno));
        std::exit(1);
    }
    const double dur = static_cast<double>(t.last_ts - t.first_ts) / 1e9;
    std::fprintf(f, "{\n");
    std::fprintf(f, "  \"generator\": \"pcaplens bench/gen_trace v%d\",\n", kGeneratorVersion);
    std::fprintf(f, "  \"seed\": %" PRIu64 ",\n  \"target_bytes\": %" PRIu64 ",\n  \"concurrency\": %u,\n", seed, target, conc);
    std::fprintf(f, "  \"file_bytes\": %" PRIu64 ",\n  \"packets\": %" PRIu64 ",\n  \"frame_bytes\": %" PRIu64 ",\n", file_bytes,
                 t.packets, t.frame_bytes);
    std::fprintf(f, "  \"avg_frame_bytes\": %.1f,\n  \"duration_s\": %.6f,\n",
                 t.packets ? static_cast<double>(t.frame_bytes) / static_cast<double>(t.packets) : 0.0, dur);
    std::fprintf(f,
                 "  \"connections\": {\"total\": %" PRIu64 ", \"ipv4\": %" PRIu64 ", \"ipv6\": %" PRIu64 ", \"vlan\": %" PRIu64
                 ",\n                  \"by_close\": {\"fin\": %" PRIu64 ", \"rst\": %" PRIu64 ", \"refused\": %" PRIu64
                 ", \"unanswered\": %" PRIu64 "}},\n",
                 t.connections, t.ipv4, t.ipv6, t.vlan, t.close_fin, t.close_rst, t.refused, t.unanswered);
    std::fprintf(f, "  \"http\": {\"transactions\": %" PRIu64 ", \"requests\": %" PRIu64 ", \"pipelined_requests\": %" PRIu64
                    ", \"chunked_responses\": %" PRIu64 ", \"head_requests\": %" PRIu64 ", \"bodyless_responses\": %" PRIu64 ",\n",
                 t.transactions, t.requests, t.pipelined_requests, t.chunked_responses, t.head_requests, t.bodyless_responses);
    std::fprintf(f, "           \"by_method\": {");
    for (int i = 0; i < 5; ++i) std::fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", kMethods[i], t.methods[i]);
    std::fprintf(f, "},\n           \"by_status_class\": {");
    bool first = true;
    for (int i = 1; i < 6; ++i) {
        if (!t.status_class[i]) continue;
        std::fprintf(f, "%s\"%dxx\": %" PRIu64, first ? "" : ", ", i, t.status_class[i]);
        first = false;
    }
    std::fprintf(f, "}},\n");
    std::fprintf(f, "  \"payload_bytes\": {\"client_to_server\": %" PRIu64 ", \"server_to_client\": %" PRIu64 ", \"total\": %" PRIu64 "},\n",
                 t.c2s, t.s2c, t.c2s + t.s2c);
    std::fprintf(f, "  \"tcp\": {\"retransmitted_segments\": %" PRIu64 ", \"retransmitted_bytes\": %" PRIu64
                    ", \"reordered_segments\": %" PRIu64 ", \"syn_retransmissions\": %" PRIu64 "}\n",
                 t.retransmitted_segments, t.retransmitted_bytes, t.reordered_segments, t.syn_retransmissions);
    std::fprintf(f, "}\n");
    if (std::fclose(f) != 0) {
        std::fprintf(stderr, "gen_trace: %s: write error\n", path);
        std::exit(1);
    }
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t size = 0, seed = 1;
    uint32_t concurrency = 2000;
    std::string out, truth;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto val = [&]() -> const char* {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--size") {
            if (!parse_size(val(), size)) {
                std::fprintf(stderr, "gen_trace: bad --size\n");
                return 2;
            }
        } else if (a == "--out") {
            out = val();
        } else if (a == "--truth") {
            truth = val();
        } else if (a == "--seed") {
            seed = std::strtoull(val(), nullptr, 10);
        } else if (a == "--concurrency") {
            concurrency = static_cast<uint32_t>(std::strtoul(val(), nullptr, 10));
        } else if (a == "--version") {
            std::printf("%d\n", kGeneratorVersion);  // bench/run names traces by it
            return 0;
        } else if (a == "-h" || a == "--help") {
            usage();
            return 0;
        } else {
            usage();
            return 2;
        }
    }
    if (!size || out.empty() || concurrency == 0) {
        usage();
        return 2;
    }
    if (truth.empty()) {
        truth = out;
        if (truth.size() > 5 && truth.compare(truth.size() - 5, 5, ".pcap") == 0) truth.resize(truth.size() - 5);
        truth += ".truth.json";
    }
    const std::string tmp = out + ".part";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) {
        std::fprintf(stderr, "gen_trace: %s: %s\n", tmp.c_str(), std::strerror(errno));
        return 1;
    }
    std::setvbuf(f, nullptr, _IONBF, 0);  // Out already buffers 8 MiB at a time
    const auto t0 = std::chrono::steady_clock::now();
    auto gen = std::make_unique<Generator>(seed, size, concurrency, f);
    gen->run();
    if (std::fclose(f) != 0) {
        std::fprintf(stderr, "gen_trace: %s: write error\n", tmp.c_str());
        return 1;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    write_truth(truth.c_str(), gen->truth(), seed, size, concurrency, gen->bytes());
    if (std::rename(tmp.c_str(), out.c_str()) != 0) {
        std::fprintf(stderr, "gen_trace: rename %s: %s\n", out.c_str(), std::strerror(errno));
        return 1;
    }
    const Truth& t = gen->truth();
    std::fprintf(stderr,
                 "gen_trace: %s: %.1f MB, %" PRIu64 " packets (avg frame %.0f B), %" PRIu64 " connections, %" PRIu64
                 " HTTP transactions, %.1f s of traffic; %.2f s (%.0f MB/s)\n",
                 out.c_str(), static_cast<double>(gen->bytes()) / 1e6, t.packets,
                 static_cast<double>(t.frame_bytes) / static_cast<double>(std::max<uint64_t>(t.packets, 1)), t.connections,
                 t.transactions, static_cast<double>(t.last_ts - t.first_ts) / 1e9, secs,
                 static_cast<double>(gen->bytes()) / 1e6 / secs);
    return 0;
}
