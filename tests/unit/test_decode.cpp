// Decoders (src/decode/*): packets built byte by byte with the test writer,
// decoded, and every field of DecodedPacket / TcpSegment checked exactly.
// Covers every link layer, IPv4 (options, TSO, padding, fragments), IPv6
// (extension headers, fragments), TCP (flags, options, truncation),
// classification of non-TCP traffic, checksums, address formatting, and a
// seeded random-input robustness loop (meant to run under ASan/UBSan).
#include <doctest/doctest.h>
#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "pcaplens/decode/checksum.hpp"
#include "pcaplens/decode/decoder.hpp"
#include "pcaplens/tcp/connection.hpp"
#include "pcaplens/decode/packet.hpp"
#include "support/packet_writer.hpp"

using namespace pcaplens;
namespace tw = pcaplens::testing;
using tw::Bytes;

namespace {

constexpr int kEth = 1, kNull = 0, kPpp = 9, kDltRaw = 12, kRawObsd = 14, kPppSerial = 50, kLinktypeRaw = 101,
              kLoop = 108, kSll = 113, kIpv4Only = 228, kIpv6Only = 229, kSll2 = 276;

const char* const kSrc4 = "10.1.2.3";
const char* const kDst4 = "192.168.100.200";
const char* const kSrc6 = "2001:db8::10";
const char* const kDst6 = "2001:db8:1::20";

std::string what(const DecodedPacket& d) { return d.malformed_what ? d.malformed_what : ""; }

Bytes pattern(size_t n, uint8_t seed = 0) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 3));
    return b;
}

Bytes payload_of(const DecodedPacket& d) {
    if (!d.tcp.payload) return {};
    return Bytes(d.tcp.payload, d.tcp.payload + d.tcp.captured_len);
}

// A decoder plus the last result; lvalue frames must outlive the result.
struct Dec {
    Decoder dec;
    DecodedPacket out;
    explicit Dec(DecoderConfig c = {}) : dec(c) {}
    // caplen: bytes of `f` handed over (default all); wirelen: 0 = caplen's frame size.
    const DecodedPacket& run(int linktype, const Bytes& f, uint32_t wirelen = 0, int64_t ts = 0,
                             uint32_t caplen = UINT32_MAX) {
        PacketView v;
        v.linktype = linktype;
        v.data = f.data();
        v.caplen = std::min<uint32_t>(caplen, static_cast<uint32_t>(f.size()));
        v.wirelen = wirelen ? wirelen : static_cast<uint32_t>(f.size());
        v.ts_ns = ts;
        v.frame = 1;
        dec.decode(v, out);
        return out;
    }
    // A temporary frame is kept until the next call so `out` may point into it.
    const DecodedPacket& run(int linktype, Bytes&& f, uint32_t wirelen = 0, int64_t ts = 0,
                             uint32_t caplen = UINT32_MAX) {
        held = std::move(f);
        return run(linktype, held, wirelen, ts, caplen);
    }
    Bytes held;
};

Bytes eth(uint16_t type, const Bytes& payload, const std::vector<std::pair<uint16_t, uint16_t>>& tags = {}) {
    return tw::ethernet(tw::kServerMac, tw::kClientMac, type, payload, tags);
}

// The standard IPv4 TCP packet used by the link-layer tests.
Bytes std_ip4() {
    return tw::ipv4_tcp(kSrc4, 40000, kDst4, 443, 0x11223344u, 0x55667788u, tcpflag::PSH | tcpflag::ACK,
                        tw::to_bytes("hello"), 1234);
}
Bytes std_ip6() {
    return tw::ipv6_tcp(kSrc6, 40001, kDst6, 8080, 0xDEADBEEFu, 0x01020304u, tcpflag::ACK, tw::to_bytes("abcdefg"), 4321);
}

// Asserts that `d` is std_ip4() found at `ip_off` in `frame`.
void check_std4(const DecodedPacket& d, const Bytes& frame, size_t ip_off, uint8_t vlan_depth = 0) {
    REQUIRE(d.proto == L4Proto::tcp);
    CHECK(d.ip_version == 4);
    CHECK(d.ip_proto == 6);
    CHECK(d.vlan_depth == vlan_depth);
    CHECK_FALSE(d.truncated);
    CHECK_FALSE(d.fragment_pending);
    CHECK_FALSE(d.reassembled);
    CHECK_FALSE(d.bad_checksum);
    CHECK(d.malformed_what == nullptr);
    CHECK(d.tcp.src.family == 4);
    CHECK(d.tcp.src.str() == kSrc4);
    CHECK(d.tcp.dst.str() == kDst4);
    CHECK(d.tcp.sport == 40000);
    CHECK(d.tcp.dport == 443);
    CHECK(d.tcp.seq == 0x11223344u);
    CHECK(d.tcp.ack == 0x55667788u);
    CHECK(d.tcp.flags == (tcpflag::PSH | tcpflag::ACK));
    CHECK(d.tcp.window == 1234);
    CHECK(d.tcp.urgent == 0);
    CHECK(d.tcp.options.mss == -1);
    CHECK(d.tcp.options.wscale == -1);
    CHECK_FALSE(d.tcp.options.malformed);
    CHECK(d.tcp.payload_len == 5u);
    CHECK(d.tcp.captured_len == 5u);
    CHECK(d.tcp.payload == frame.data() + ip_off + 40);
    CHECK(payload_of(d) == tw::to_bytes("hello"));
}

void check_std6(const DecodedPacket& d, const Bytes& frame, size_t ip_off) {
    REQUIRE(d.proto == L4Proto::tcp);
    CHECK(d.ip_version == 6);
    CHECK(d.ip_proto == 6);
    CHECK_FALSE(d.truncated);
    CHECK(d.malformed_what == nullptr);
    CHECK(d.tcp.src.family == 6);
    CHECK(d.tcp.src.str() == kSrc6);
    CHECK(d.tcp.dst.str() == kDst6);
    CHECK(d.tcp.sport == 40001);
    CHECK(d.tcp.dport == 8080);
    CHECK(d.tcp.seq == 0xDEADBEEFu);
    CHECK(d.tcp.ack == 0x01020304u);
    CHECK(d.tcp.flags == tcpflag::ACK);
    CHECK(d.tcp.window == 4321);
    CHECK(d.tcp.payload_len == 7u);
    CHECK(d.tcp.captured_len == 7u);
    CHECK(d.tcp.payload == frame.data() + ip_off + 60);
    CHECK(payload_of(d) == tw::to_bytes("abcdefg"));
}

}  // namespace

// ---------------------------------------------------------------------------
// Link layers
// ---------------------------------------------------------------------------

TEST_CASE("decode: Ethernet II carrying IPv4 and IPv6 TCP") {
    Dec d;
    const Bytes f4 = eth(0x0800, std_ip4());
    check_std4(d.run(kEth, f4), f4, 14);
    const Bytes f6 = eth(0x86DD, std_ip6());
    check_std6(d.run(kEth, f6), f6, 14);

    LinkResult lr;
    DecodedPacket pkt;
    REQUIRE(decode_link(kEth, f4.data(), f4.size(), lr, pkt));
    CHECK(lr.ethertype == 0x0800);
    CHECK(lr.offset == 14u);
    CHECK(lr.vlan_depth == 0);
}

TEST_CASE("decode: 802.1Q single tag") {
    Dec d;
    const Bytes f = eth(0x0800, std_ip4(), {{0x8100, 100}});
    check_std4(d.run(kEth, f), f, 18, 1);
    LinkResult lr;
    DecodedPacket pkt;
    REQUIRE(decode_link(kEth, f.data(), f.size(), lr, pkt));
    CHECK(lr.offset == 18u);
    CHECK(lr.vlan_depth == 1);
}

TEST_CASE("decode: stacked 802.1ad + 802.1Q (QinQ)") {
    Dec d;
    const Bytes f = eth(0x0800, std_ip4(), {{0x88A8, 100}, {0x8100, 200}});
    check_std4(d.run(kEth, f), f, 22, 2);
    const Bytes f6 = eth(0x86DD, std_ip6(), {{0x88A8, 7}, {0x8100, 8}});
    check_std6(d.run(kEth, f6), f6, 22);
    CHECK(d.out.vlan_depth == 2);
    // The pre-standard 0x9100 outer tag too.
    const Bytes old = eth(0x0800, std_ip4(), {{0x9100, 1}, {0x8100, 2}});
    check_std4(d.run(kEth, old), old, 22, 2);
}

TEST_CASE("decode: VLAN stacks too deep or cut") {
    Dec d;
    std::vector<std::pair<uint16_t, uint16_t>> tags(9, {0x8100, 1});
    const Bytes deep = eth(0x0800, std_ip4(), tags);
    const auto& r = d.run(kEth, deep);
    CHECK(r.proto == L4Proto::malformed);
    CHECK(what(r) == "too many VLAN tags");
    CHECK_FALSE(r.truncated);  // the whole frame was captured

    tags.resize(8);
    const Bytes eight = eth(0x0800, std_ip4(), tags);
    check_std4(d.run(kEth, eight), eight, 14 + 32, 8);

    // Cut inside the second tag.
    const Bytes two = eth(0x0800, std_ip4(), {{0x88A8, 1}, {0x8100, 2}});
    const auto& c = d.run(kEth, two, static_cast<uint32_t>(two.size()), 0, 20);
    CHECK(c.proto == L4Proto::malformed);
    CHECK(c.truncated);
    CHECK(what(c) == "link-layer header cut short");
}

TEST_CASE("decode: Ethernet header shorter than 14 bytes") {
    Dec d;
    const Bytes f = eth(0x0800, std_ip4());
    // Snaplen cut: truncated.
    const auto& r = d.run(kEth, f, static_cast<uint32_t>(f.size()), 0, 10);
    CHECK(r.proto == L4Proto::malformed);
    CHECK(r.truncated);
    CHECK(what(r) == "link-layer header cut short");
    // A runt frame that was captured whole is malformed but not truncated.
    const Bytes runt(f.begin(), f.begin() + 10);
    const auto& r2 = d.run(kEth, runt);
    CHECK(r2.proto == L4Proto::malformed);
    CHECK_FALSE(r2.truncated);
    // Empty frame.
    const Bytes empty;
    CHECK(d.run(kEth, empty).proto == L4Proto::malformed);
}

TEST_CASE("decode: 802.3 with LLC/SNAP") {
    Dec d;
    const Bytes ip = std_ip4();
    const Bytes snap = tw::cat(Bytes{0xAA, 0xAA, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00}, ip);
    const Bytes f = eth(static_cast<uint16_t>(snap.size()), snap);
    check_std4(d.run(kEth, f), f, 22);
    LinkResult lr;
    DecodedPacket pkt;
    REQUIRE(decode_link(kEth, f.data(), f.size(), lr, pkt));
    CHECK(lr.ethertype == 0x0800);
    CHECK(lr.offset == 22u);

    // SNAP carrying ARP.
    const Bytes arp_snap = tw::cat(Bytes{0xAA, 0xAA, 0x03, 0x00, 0x00, 0x00, 0x08, 0x06}, pattern(28));
    CHECK(d.run(kEth, eth(static_cast<uint16_t>(arp_snap.size()), arp_snap)).proto == L4Proto::arp);

    // Plain LLC (spanning tree): not IP.
    const Bytes stp = tw::cat(Bytes{0x42, 0x42, 0x03}, pattern(35));
    const auto& r = d.run(kEth, eth(static_cast<uint16_t>(stp.size()), stp));
    CHECK(r.proto == L4Proto::other_link);
    CHECK(r.ethertype == 0);

    // SNAP header cut short.
    const Bytes cut = eth(0x0010, Bytes{0xAA, 0xAA, 0x03, 0x00, 0x00});
    CHECK(d.run(kEth, cut).proto == L4Proto::malformed);
}

TEST_CASE("decode: Linux cooked SLL (113)") {
    Dec d;
    const Bytes f = tw::linux_sll(4, 0x0800, std_ip4());
    check_std4(d.run(kSll, f), f, 16);
    const Bytes f6 = tw::linux_sll(0, 0x86DD, std_ip6());
    check_std6(d.run(kSll, f6), f6, 16);
    LinkResult lr;
    DecodedPacket pkt;
    REQUIRE(decode_link(kSll, f.data(), f.size(), lr, pkt));
    CHECK(lr.offset == 16u);
    CHECK(lr.ethertype == 0x0800);
    // 15 bytes: header cut.
    const Bytes cut(f.begin(), f.begin() + 15);
    CHECK(d.run(kSll, cut).proto == L4Proto::malformed);
}

TEST_CASE("decode: Linux cooked SLL2 (276)") {
    Dec d;
    const Bytes f = tw::linux_sll2(0x86DD, 3, std_ip6());
    check_std6(d.run(kSll2, f), f, 20);
    const Bytes f4 = tw::linux_sll2(0x0800, 7, std_ip4(), 4);
    check_std4(d.run(kSll2, f4), f4, 20);
    const Bytes arp = tw::linux_sll2(0x0806, 1, pattern(28));
    CHECK(d.run(kSll2, arp).proto == L4Proto::arp);
    const Bytes cut(f.begin(), f.begin() + 19);
    CHECK(d.run(kSll2, cut).proto == L4Proto::malformed);
}

TEST_CASE("decode: raw IP link types 12, 14, 101, 228, 229") {
    Dec d;
    const Bytes ip4 = tw::raw_ip(std_ip4());
    const Bytes ip6 = tw::raw_ip(std_ip6());
    for (int lt : {kDltRaw, kRawObsd, kLinktypeRaw}) {
        CAPTURE(lt);
        check_std4(d.run(lt, ip4), ip4, 0);
        check_std6(d.run(lt, ip6), ip6, 0);
    }
    check_std4(d.run(kIpv4Only, ip4), ip4, 0);
    check_std6(d.run(kIpv6Only, ip6), ip6, 0);
    // A version nibble that is neither 4 nor 6 is not IP.
    Bytes junk = ip4;
    junk[0] = 0x55;
    CHECK(d.run(kLinktypeRaw, junk).proto == L4Proto::other_link);
}

TEST_CASE("decode: DLT_NULL in both host byte orders") {
    Dec d;
    const Bytes ip4 = std_ip4();
    const Bytes ip6 = std_ip6();
    for (bool be : {false, true}) {
        CAPTURE(be);
        const Bytes f4 = tw::null_loopback(tw::af::inet, ip4, be);
        check_std4(d.run(kNull, f4), f4, 4);
        for (uint32_t af : {tw::af::inet6_linux, tw::af::inet6_bsd, tw::af::inet6_freebsd, tw::af::inet6_darwin}) {
            CAPTURE(af);
            const Bytes f6 = tw::null_loopback(af, ip6, be);
            check_std6(d.run(kNull, f6), f6, 4);
        }
        // An unknown family (AF_APPLETALK-ish) is not IP.
        const auto& r = d.run(kNull, tw::null_loopback(7, ip4, be));
        CHECK(r.proto == L4Proto::other_link);
        CHECK(r.ethertype == 0);
    }
    const Bytes cut{2, 0, 0};
    CHECK(d.run(kNull, cut).proto == L4Proto::malformed);
}

TEST_CASE("decode: DLT_LOOP (108) is network byte order") {
    Dec d;
    const Bytes f4 = tw::null_loopback(tw::af::inet, std_ip4(), true);
    check_std4(d.run(kLoop, f4), f4, 4);
    for (uint32_t af : {tw::af::inet6_bsd, tw::af::inet6_freebsd, tw::af::inet6_darwin}) {
        CAPTURE(af);
        const Bytes f6 = tw::null_loopback(af, std_ip6(), true);
        check_std6(d.run(kLoop, f6), f6, 4);
    }
    // Host (little-endian) order is not guessed for LOOP.
    const auto& r = d.run(kLoop, tw::null_loopback(tw::af::inet, std_ip4(), false));
    CHECK(r.proto == L4Proto::other_link);
}

TEST_CASE("decode: PPP with and without address/control") {
    Dec d;
    const Bytes ip4 = std_ip4();
    const Bytes with = tw::cat(Bytes{0xFF, 0x03, 0x00, 0x21}, ip4);
    check_std4(d.run(kPpp, with), with, 4);
    check_std4(d.run(kPppSerial, with), with, 4);
    const Bytes without = tw::cat(Bytes{0x00, 0x21}, ip4);
    check_std4(d.run(kPpp, without), without, 2);
    const Bytes compressed = tw::cat(Bytes{0x21}, ip4);  // protocol-field compression
    check_std4(d.run(kPpp, compressed), compressed, 1);
    const Bytes v6 = tw::cat(Bytes{0xFF, 0x03, 0x00, 0x57}, std_ip6());
    check_std6(d.run(kPpp, v6), v6, 4);
    const Bytes lcp = tw::cat(Bytes{0xFF, 0x03, 0xC0, 0x21}, pattern(12));
    CHECK(d.run(kPpp, lcp).proto == L4Proto::other_link);
    const Bytes cut{0xFF, 0x03, 0x00};
    CHECK(d.run(kPpp, cut).proto == L4Proto::malformed);
}

TEST_CASE("decode: unknown link type") {
    Dec d;
    const Bytes f = eth(0x0800, std_ip4());
    for (int lt : {147, 105, 9999, -1}) {
        CAPTURE(lt);
        const auto& r = d.run(lt, f);
        CHECK(r.proto == L4Proto::unknown_link);
        CHECK(r.ip_version == 0);
        CHECK_FALSE(link_type_supported(lt));
    }
    for (int lt : {kEth, kNull, kPpp, kDltRaw, kRawObsd, kPppSerial, kLinktypeRaw, kLoop, kSll, kIpv4Only, kIpv6Only, kSll2})
        CHECK(link_type_supported(lt));
    CHECK(link_type_name(kLinktypeRaw) == "RAW");
    CHECK(link_type_name(kSll2) == "LINUX_SLL2");
    CHECK(link_type_name(kEth) == "EN10MB");
}

// ---------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------

TEST_CASE("decode: UDP, ICMP, ICMPv6, ARP, other IP, other link") {
    Dec d;
    const auto a4 = tw::ipv4_addr(kSrc4), b4 = tw::ipv4_addr(kDst4);
    const auto a6 = tw::ipv6_addr(kSrc6), b6 = tw::ipv6_addr(kDst6);

    tw::Ipv4Spec s4;
    s4.src = a4;
    s4.dst = b4;
    s4.proto = tw::ipproto::udp;
    const auto& u = d.run(kEth, eth(0x0800, tw::ipv4(s4, tw::udp_datagram(5353, 53, pattern(20), a4, b4))));
    CHECK(u.proto == L4Proto::udp);
    CHECK(u.ip_version == 4);
    CHECK(u.ip_proto == 17);
    CHECK(u.tcp.src.str() == kSrc4);

    s4.proto = 1;
    const auto& i = d.run(kEth, eth(0x0800, tw::ipv4(s4, Bytes{8, 0, 0xF7, 0xFF, 0, 0, 0, 0})));
    CHECK(i.proto == L4Proto::icmp);
    CHECK(i.ip_proto == 1);

    s4.proto = 47;  // GRE
    const auto& g = d.run(kEth, eth(0x0800, tw::ipv4(s4, pattern(8))));
    CHECK(g.proto == L4Proto::other_ip);
    CHECK(g.ip_proto == 47);

    tw::Ipv6Spec s6;
    s6.src = a6;
    s6.dst = b6;
    s6.next_header = tw::ipproto::icmpv6;
    const auto& i6 = d.run(kEth, eth(0x86DD, tw::ipv6(s6, Bytes{128, 0, 0, 0, 0, 1, 0, 1})));
    CHECK(i6.proto == L4Proto::icmpv6);
    CHECK(i6.ip_version == 6);
    CHECK(i6.ip_proto == 58);
    CHECK(i6.tcp.dst.str() == kDst6);

    // ICMPv6 behind a hop-by-hop header (MLD style).
    s6.ext_headers = {{tw::ipproto::hopopts, tw::ipv6_hop_by_hop(Bytes{5, 2, 0, 0})}};
    const auto& mld = d.run(kEth, eth(0x86DD, tw::ipv6(s6, pattern(24))));
    CHECK(mld.proto == L4Proto::icmpv6);
    CHECK(mld.ip_proto == 58);

    s6.ext_headers.clear();
    s6.next_header = tw::ipproto::udp;
    CHECK(d.run(kEth, eth(0x86DD, tw::ipv6(s6, tw::udp_datagram(1, 2, {}, a6, b6)))).proto == L4Proto::udp);
    s6.next_header = tw::ipproto::none;
    const auto& nn = d.run(kEth, eth(0x86DD, tw::ipv6(s6, {})));
    CHECK(nn.proto == L4Proto::other_ip);
    CHECK(nn.ip_proto == 59);

    const auto& arp = d.run(kEth, eth(0x0806, pattern(28)));
    CHECK(arp.proto == L4Proto::arp);
    CHECK(arp.ip_version == 0);

    const auto& lldp = d.run(kEth, eth(0x88CC, pattern(30)));
    CHECK(lldp.proto == L4Proto::other_link);
    CHECK(lldp.ethertype == 0x88CC);
}

// ---------------------------------------------------------------------------
// IPv4
// ---------------------------------------------------------------------------

namespace {
Bytes tcp4(const tw::TcpSpec& t, tw::Ipv4Spec s = {}) { return tw::ipv4(s, tw::tcp_segment(t, s.src, s.dst)); }
Bytes tcp6(const tw::TcpSpec& t, tw::Ipv6Spec s = {}) { return tw::ipv6(s, tw::tcp_segment(t, s.src, s.dst)); }
tw::TcpSpec spec(uint16_t sport, uint16_t dport, uint32_t seq, Bytes payload = {}) {
    tw::TcpSpec t;
    t.sport = sport;
    t.dport = dport;
    t.seq = seq;
    t.ack = 77;
    t.flags = tcpflag::ACK;
    t.payload = std::move(payload);
    return t;
}
}  // namespace

TEST_CASE("decode: IPv4 with options (ihl > 5)") {
    Dec d;
    tw::Ipv4Spec s;
    s.options = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};  // router alert, NOPs, EOL
    const Bytes ip = tcp4(spec(1000, 2000, 42, tw::to_bytes("xyz")), s);
    REQUIRE((ip[0] & 0x0F) == 7);
    const Bytes f = eth(0x0800, ip);
    const auto& r = d.run(kEth, f);
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.tcp.sport == 1000);
    CHECK(r.tcp.dport == 2000);
    CHECK(r.tcp.seq == 42u);
    CHECK(r.tcp.payload == f.data() + 14 + 28 + 20);
    CHECK(r.tcp.payload_len == 3u);
    CHECK(payload_of(r) == tw::to_bytes("xyz"));

    // Maximal header: 40 option bytes.
    s.options = Bytes(40, 0x01);
    const Bytes f2 = eth(0x0800, tcp4(spec(1, 2, 3, tw::to_bytes("q")), s));
    const auto& r2 = d.run(kEth, f2);
    REQUIRE(r2.proto == L4Proto::tcp);
    CHECK(r2.tcp.payload == f2.data() + 14 + 60 + 20);
    CHECK(r2.tcp.payload_len == 1u);

    // Options cut by the snaplen.
    const auto& r3 = d.run(kEth, f2, static_cast<uint32_t>(f2.size()), 0, 14 + 30);
    CHECK(r3.proto == L4Proto::malformed);
    CHECK(r3.truncated);
    CHECK(what(r3) == "IPv4 options cut short");
}

TEST_CASE("decode: IPv4 header errors") {
    Dec d;
    tw::Ipv4Spec s;
    s.ihl_override = 4;
    auto r = d.run(kLinktypeRaw, tcp4(spec(1, 2, 3), s));
    CHECK(r.proto == L4Proto::malformed);
    CHECK(what(r) == "bad IPv4 version or header length");

    // Version 5 behind an IPv4 ethertype.
    Bytes v5 = tcp4(spec(1, 2, 3));
    v5[0] = 0x55;
    CHECK(d.run(kEth, eth(0x0800, v5)).proto == L4Proto::malformed);

    // Header cut.
    const Bytes f = eth(0x0800, tcp4(spec(1, 2, 3)));
    r = d.run(kEth, f, static_cast<uint32_t>(f.size()), 0, 14 + 19);
    CHECK(r.proto == L4Proto::malformed);
    CHECK(r.truncated);
    CHECK(what(r) == "IPv4 header cut short");
    // A 19-byte IPv4 packet captured whole: malformed, not truncated.
    const Bytes shortp(f.begin(), f.begin() + 14 + 19);
    r = d.run(kEth, shortp);
    CHECK(r.proto == L4Proto::malformed);
    CHECK_FALSE(r.truncated);

    // Total length smaller than the header.
    s = {};
    s.total_length_override = 19;
    r = d.run(kEth, eth(0x0800, tcp4(spec(1, 2, 3), s)));
    CHECK(r.proto == L4Proto::malformed);
    CHECK(what(r) == "IPv4 total length shorter than its header");
}

TEST_CASE("decode: IPv4 total length 0 (TSO) takes the length from the frame") {
    Dec d;
    tw::Ipv4Spec s;
    s.total_length_override = 0;
    const Bytes body = pattern(1000);
    const Bytes f = eth(0x0800, tcp4(spec(5, 6, 7, body), s));
    auto r = d.run(kEth, f);
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.tcp.payload_len == 1000u);
    CHECK(r.tcp.captured_len == 1000u);
    CHECK(payload_of(r) == body);
    CHECK(r.malformed_what == nullptr);

    // Combined with a snaplen cut, the wire length still counts.
    r = d.run(kEth, f, static_cast<uint32_t>(f.size()), 0, 96);
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.tcp.payload_len == 1000u);
    CHECK(r.tcp.captured_len == 96u - 54u);
    CHECK(r.truncated);
}

TEST_CASE("decode: IPv4 total length beyond the frame is clamped to the frame") {
    Dec d;
    tw::Ipv4Spec s;
    s.total_length_override = 20 + 20 + 10 + 50;
    const Bytes f = eth(0x0800, tcp4(spec(5, 6, 7, pattern(10)), s));
    const auto& r = d.run(kEth, f);
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.tcp.payload_len == 10u);
    CHECK(r.tcp.captured_len == 10u);
    CHECK(what(r) == "IPv4 total length beyond the frame");
    CHECK_FALSE(r.truncated);
}

TEST_CASE("decode: Ethernet padding is not payload") {
    Dec d(DecoderConfig{true});
    // 40-byte IP packet padded to the 60-byte Ethernet minimum.
    Bytes f = eth(0x0800, tcp4(spec(80, 1234, 9)));
    REQUIRE(f.size() == 54u);
    tw::put_zeros(f, 6);
    auto r = d.run(kEth, f);
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.tcp.payload_len == 0u);
    CHECK(r.tcp.captured_len == 0u);
    CHECK_FALSE(r.bad_checksum);  // padding excluded from the checksum
    CHECK_FALSE(r.truncated);

    // One payload byte, five of padding (non-zero padding too).
    Bytes g = eth(0x0800, tcp4(spec(80, 1234, 9, Bytes{0x42})));
    for (int i = 0; i < 5; ++i) g.push_back(0xEE);
    r = d.run(kEth, g);
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.tcp.payload_len == 1u);
    CHECK(r.tcp.captured_len == 1u);
    CHECK(r.tcp.payload[0] == 0x42);
    CHECK_FALSE(r.bad_checksum);

    // IPv6 with padding: payload length decides.
    Bytes h = eth(0x86DD, tcp6(spec(80, 1234, 9, Bytes{1, 2})));
    tw::put_zeros(h, 8);
    r = d.run(kEth, h);
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.tcp.payload_len == 2u);
    CHECK(r.tcp.captured_len == 2u);
    CHECK_FALSE(r.bad_checksum);
}

// ---------------------------------------------------------------------------
// IPv4 fragments
// ---------------------------------------------------------------------------

namespace {
struct Frag4 {
    tw::Ipv4Spec ip;
    Bytes l4;
    Bytes body;
    std::vector<Bytes> frames;  // Ethernet frames, in order
};
// 20-byte TCP header + 64 bytes payload = 84 bytes in fragments of 24, 24, 24, 12.
Frag4 make_frag4(uint16_t id, size_t chunk = 24, uint8_t seed = 1) {
    Frag4 f;
    f.ip.src = tw::ipv4_addr(kSrc4);
    f.ip.dst = tw::ipv4_addr(kDst4);
    f.ip.id = id;
    f.body = pattern(64, seed);
    tw::TcpSpec t = spec(3333, 80, 1000u + id, f.body);
    t.flags = tcpflag::PSH | tcpflag::ACK;
    f.l4 = tw::tcp_segment(t, f.ip.src, f.ip.dst);
    for (const Bytes& ip : tw::ipv4_fragments(f.ip, f.l4, chunk)) f.frames.push_back(eth(0x0800, ip));
    return f;
}
void check_reassembled4(const DecodedPacket& r, const Frag4& f) {
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.reassembled);
    CHECK_FALSE(r.fragment_pending);
    CHECK(r.ip_version == 4);
    CHECK(r.ip_proto == 6);
    CHECK(r.tcp.src.str() == kSrc4);
    CHECK(r.tcp.dst.str() == kDst4);
    CHECK(r.tcp.sport == 3333);
    CHECK(r.tcp.dport == 80);
    CHECK(r.tcp.seq == 1000u + f.ip.id);
    CHECK(r.tcp.flags == (tcpflag::PSH | tcpflag::ACK));
    CHECK(r.tcp.payload_len == 64u);
    CHECK(r.tcp.captured_len == 64u);
    CHECK(payload_of(r) == f.body);
}
void check_pending(const DecodedPacket& r) {
    CHECK(r.proto == L4Proto::none);
    CHECK(r.fragment_pending);
    CHECK_FALSE(r.reassembled);
}
}  // namespace

TEST_CASE("decode: IPv4 fragments reassembled in order") {
    Dec d(DecoderConfig{true});
    const Frag4 f = make_frag4(0x4242);
    REQUIRE(f.frames.size() == 4u);
    for (size_t i = 0; i + 1 < f.frames.size(); ++i) {
        CAPTURE(i);
        const auto& r = d.run(kEth, f.frames[i], 0, static_cast<int64_t>(i));
        check_pending(r);
        CHECK(r.ip_version == 4);
        CHECK(r.ip_proto == 6);
        CHECK(d.dec.fragments_pending() == 1u);
    }
    check_reassembled4(d.run(kEth, f.frames.back(), 0, 3), f);
    CHECK_FALSE(d.out.bad_checksum);
    CHECK(d.dec.counters().fragments == 4u);
    CHECK(d.dec.counters().reassembled == 1u);
    CHECK(d.dec.counters().fragment_overlaps == 0u);
    CHECK(d.dec.fragments_pending() == 0u);
}

TEST_CASE("decode: IPv4 fragments reassembled out of order and with duplicates") {
    Dec d;
    const Frag4 f = make_frag4(7);
    check_pending(d.run(kEth, f.frames[3]));  // last first: total known, holes remain
    check_pending(d.run(kEth, f.frames[1]));
    check_pending(d.run(kEth, f.frames[1]));  // exact duplicate
    check_pending(d.run(kEth, f.frames[0]));
    check_pending(d.run(kEth, f.frames[3]));  // duplicate of the last one
    check_reassembled4(d.run(kEth, f.frames[2]), f);
    CHECK(d.dec.counters().fragments == 6u);
    CHECK(d.dec.counters().reassembled == 1u);
    CHECK(d.dec.counters().fragment_overlaps == 0u);
    CHECK(d.dec.counters().fragments_dropped_cap == 0u);

    // Two datagrams interleaved; each completes on its own.
    Dec e;
    const Frag4 a = make_frag4(1, 24, 10), b = make_frag4(2, 40, 20);
    REQUIRE(b.frames.size() == 3u);
    check_pending(e.run(kEth, a.frames[0]));
    check_pending(e.run(kEth, b.frames[2]));
    check_pending(e.run(kEth, a.frames[2]));
    check_pending(e.run(kEth, b.frames[0]));
    check_pending(e.run(kEth, a.frames[1]));
    CHECK(e.dec.fragments_pending() == 2u);
    check_reassembled4(e.run(kEth, b.frames[1]), b);
    check_reassembled4(e.run(kEth, a.frames[3]), a);
    CHECK(e.dec.counters().reassembled == 2u);
    CHECK(e.dec.fragments_pending() == 0u);
}

TEST_CASE("decode: IPv4 fragment overlaps") {
    const Frag4 f = make_frag4(99);
    // Overlapping fragment covering [16, 40) with different bytes.
    Bytes bad(f.l4.begin() + 16, f.l4.begin() + 40);
    for (auto& c : bad) c ^= 0xFF;
    tw::Ipv4Spec o = f.ip;
    o.df = false;
    o.mf = true;
    o.frag_offset_bytes = 16;
    const Bytes overlap = eth(0x0800, tw::ipv4(o, bad));
    const Bytes same = eth(0x0800, tw::ipv4(o, Bytes(f.l4.begin() + 16, f.l4.begin() + 40)));

    SUBCASE("different bytes are counted, first copy wins") {
        Dec d(DecoderConfig{true});
        check_pending(d.run(kEth, f.frames[0]));
        check_pending(d.run(kEth, f.frames[1]));
        check_pending(d.run(kEth, overlap));
        CHECK(d.dec.counters().fragment_overlaps == 1u);
        check_pending(d.run(kEth, f.frames[2]));
        check_reassembled4(d.run(kEth, f.frames[3]), f);
        CHECK_FALSE(d.out.bad_checksum);  // the original bytes survived
        CHECK(d.dec.counters().fragment_overlaps == 1u);
    }
    SUBCASE("identical bytes are not an overlap conflict") {
        Dec d;
        check_pending(d.run(kEth, f.frames[0]));
        check_pending(d.run(kEth, f.frames[1]));
        check_pending(d.run(kEth, same));
        check_pending(d.run(kEth, f.frames[2]));
        check_reassembled4(d.run(kEth, f.frames[3]), f);
        CHECK(d.dec.counters().fragment_overlaps == 0u);
    }
    SUBCASE("an overlap filling a hole only adds its new bytes") {
        Dec d;
        check_pending(d.run(kEth, f.frames[0]));   // [0,24)
        check_pending(d.run(kEth, same));          // [16,40): 16..24 equal, 24..40 new
        check_pending(d.run(kEth, f.frames[1]));   // [24,48): equal
        check_pending(d.run(kEth, f.frames[2]));
        check_reassembled4(d.run(kEth, f.frames[3]), f);
        CHECK(d.dec.counters().fragment_overlaps == 0u);
    }
}

TEST_CASE("decode: IPv4 fragment datagram cap drops the oldest") {
    DecoderConfig cfg;
    cfg.max_fragment_datagrams = 2;
    Dec d(cfg);
    const Frag4 a = make_frag4(1, 48, 1), b = make_frag4(2, 48, 2), c = make_frag4(3, 48, 3);
    REQUIRE(a.frames.size() == 2u);
    check_pending(d.run(kEth, a.frames[0], 0, 1));
    check_pending(d.run(kEth, b.frames[0], 0, 2));
    CHECK(d.dec.counters().fragments_dropped_cap == 0u);
    check_pending(d.run(kEth, c.frames[0], 0, 3));  // evicts a
    CHECK(d.dec.counters().fragments_dropped_cap == 1u);
    CHECK(d.dec.fragments_pending() == 2u);
    check_reassembled4(d.run(kEth, c.frames[1], 0, 4), c);
    check_reassembled4(d.run(kEth, b.frames[1], 0, 5), b);
    // a's first half is gone: its second half waits alone.
    check_pending(d.run(kEth, a.frames[1], 0, 6));
    CHECK(d.dec.fragments_pending() == 1u);
    CHECK(d.dec.counters().reassembled == 2u);
    CHECK(d.dec.counters().fragments_dropped_cap == 1u);
}

TEST_CASE("decode: IPv4 fragment byte cap") {
    const Frag4 a = make_frag4(1, 48, 1), b = make_frag4(2, 48, 2), c = make_frag4(3, 48, 3);
    REQUIRE(a.frames.size() == 2u);  // [0,48) and [48,84)
    SUBCASE("a new datagram evicts the oldest") {
        DecoderConfig cfg;
        cfg.max_fragment_bytes = 140;
        Dec d(cfg);
        check_pending(d.run(kEth, a.frames[0]));  // 48 buffered
        check_pending(d.run(kEth, b.frames[0]));  // 96 buffered
        CHECK(d.dec.counters().fragments_dropped_cap == 0u);
        check_pending(d.run(kEth, c.frames[0]));  // 144 > 140: a goes
        CHECK(d.dec.counters().fragments_dropped_cap == 1u);
        CHECK(d.dec.fragments_pending() == 2u);
        check_reassembled4(d.run(kEth, b.frames[1]), b);  // 96 + 36 fits
        check_reassembled4(d.run(kEth, c.frames[1]), c);
        CHECK(d.dec.fragments_pending() == 0u);
    }
    SUBCASE("a datagram that would grow past the cap is dropped itself") {
        DecoderConfig cfg;
        cfg.max_fragment_bytes = 100;
        Dec d(cfg);
        check_pending(d.run(kEth, a.frames[0]));
        check_pending(d.run(kEth, b.frames[0]));  // 96 buffered
        check_pending(d.run(kEth, b.frames[1]));  // 96 + 36 > 100: b dropped
        CHECK(d.dec.counters().fragments_dropped_cap == 1u);
        CHECK(d.dec.fragments_pending() == 1u);
        check_reassembled4(d.run(kEth, a.frames[1]), a);  // 48 + 36 fits
        CHECK(d.dec.counters().reassembled == 1u);
    }
}

TEST_CASE("decode: IPv4 fragment timeout") {
    constexpr int64_t kS = 1'000'000'000;
    const int64_t t0 = 1'700'000'000 * kS;
    SUBCASE("default 30 s") {
        Dec d;
        const Frag4 a = make_frag4(1), b = make_frag4(2);
        check_pending(d.run(kEth, a.frames[0], 0, t0));
        check_pending(d.run(kEth, b.frames[0], 0, t0 + 30 * kS - 1));
        CHECK(d.dec.counters().fragments_expired == 0u);
        CHECK(d.dec.fragments_pending() == 2u);
        check_pending(d.run(kEth, b.frames[1], 0, t0 + 30 * kS));  // a expires now
        CHECK(d.dec.counters().fragments_expired == 1u);
        CHECK(d.dec.fragments_pending() == 1u);
        // a's remaining fragments cannot complete it any more.
        check_pending(d.run(kEth, a.frames[1], 0, t0 + 30 * kS));
        check_pending(d.run(kEth, a.frames[2], 0, t0 + 30 * kS));
        check_pending(d.run(kEth, a.frames[3], 0, t0 + 30 * kS));
        CHECK(d.dec.counters().reassembled == 0u);
        check_pending(d.run(kEth, b.frames[2], 0, t0 + 31 * kS));
        check_reassembled4(d.run(kEth, b.frames[3], 0, t0 + 31 * kS), b);
    }
    SUBCASE("custom timeout, within it completes") {
        DecoderConfig cfg;
        cfg.fragment_timeout_ns = 2 * kS;
        Dec d(cfg);
        const Frag4 a = make_frag4(1), b = make_frag4(2);
        check_pending(d.run(kEth, a.frames[0], 0, t0));
        check_pending(d.run(kEth, a.frames[1], 0, t0 + kS));
        check_pending(d.run(kEth, a.frames[2], 0, t0 + kS));
        check_reassembled4(d.run(kEth, a.frames[3], 0, t0 + 2 * kS - 1), a);
        check_pending(d.run(kEth, b.frames[0], 0, t0 + 3 * kS));
        check_pending(d.run(kEth, b.frames[1], 0, t0 + 5 * kS));  // b is 2 s old: expires first
        CHECK(d.dec.counters().fragments_expired == 1u);
        CHECK(d.dec.counters().reassembled == 1u);
    }
}

TEST_CASE("decode: IPv4 fragment cut by snaplen cannot be reassembled") {
    Dec d;
    const Frag4 f = make_frag4(5);
    const auto& r = d.run(kEth, f.frames[0], static_cast<uint32_t>(f.frames[0].size()), 0,
                          static_cast<uint32_t>(f.frames[0].size() - 4));
    CHECK(r.proto == L4Proto::malformed);
    CHECK(r.truncated);
    CHECK(d.dec.fragments_pending() == 0u);
}

// ---------------------------------------------------------------------------
// IPv6
// ---------------------------------------------------------------------------

TEST_CASE("decode: IPv6 with hop-by-hop, routing, destination options and atomic fragment headers") {
    Dec d;
    tw::Ipv6Spec s;
    s.src = tw::ipv6_addr(kSrc6);
    s.dst = tw::ipv6_addr(kDst6);
    s.ext_headers = {
        {tw::ipproto::hopopts, tw::ipv6_hop_by_hop(Bytes{5, 2, 0, 0})},                 // 8
        {tw::ipproto::routing, tw::ipv6_routing(0, 0, {tw::ipv6_addr("2001:db8::99")})},  // 24
        {tw::ipproto::dstopts, tw::ipv6_dest_options(Bytes(10, 0))},                     // 16
        {tw::ipproto::fragment, tw::ipv6_fragment_header(0, false, 0x1234)},             // 8, atomic
    };
    tw::TcpSpec t = spec(555, 666, 0xABCDEF01u, tw::to_bytes("ext!"));
    const Bytes f = eth(0x86DD, tcp6(t, s));
    const auto& r = d.run(kEth, f);
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.ip_version == 6);
    CHECK(r.ip_proto == 6);
    CHECK_FALSE(r.fragment_pending);
    CHECK_FALSE(r.reassembled);
    CHECK(r.tcp.sport == 555);
    CHECK(r.tcp.dport == 666);
    CHECK(r.tcp.seq == 0xABCDEF01u);
    CHECK(r.tcp.payload == f.data() + 14 + 40 + 8 + 24 + 16 + 8 + 20);
    CHECK(r.tcp.payload_len == 4u);
    CHECK(payload_of(r) == tw::to_bytes("ext!"));
    CHECK(d.dec.counters().fragments == 0u);

    // AH (length in 4-octet units minus 2).
    tw::Ipv6Spec ah = s;
    ah.ext_headers = {{51, Bytes{0, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}};  // 24 bytes
    const Bytes fa = eth(0x86DD, tcp6(t, ah));
    const auto& ra = d.run(kEth, fa);
    REQUIRE(ra.proto == L4Proto::tcp);
    CHECK(ra.tcp.payload == fa.data() + 14 + 40 + 24 + 20);
    CHECK(ra.tcp.dport == 666);
}

TEST_CASE("decode: IPv6 extension header chain limits") {
    Dec d;
    tw::Ipv6Spec s;
    const tw::TcpSpec t = spec(1, 2, 3, tw::to_bytes("z"));
    for (int i = 0; i < 16; ++i) s.ext_headers.emplace_back(tw::ipproto::dstopts, tw::ipv6_dest_options());
    const Bytes ok = eth(0x86DD, tcp6(t, s));
    const auto& r = d.run(kEth, ok);
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.tcp.payload == ok.data() + 14 + 40 + 16 * 8 + 20);

    s.ext_headers.emplace_back(tw::ipproto::dstopts, tw::ipv6_dest_options());
    const auto& r2 = d.run(kEth, eth(0x86DD, tcp6(t, s)));
    CHECK(r2.proto == L4Proto::malformed);
    CHECK(what(r2) == "IPv6 extension header chain too long");

    // A header claiming more than the packet holds.
    tw::Ipv6Spec l;
    Bytes hbh = tw::ipv6_hop_by_hop();
    hbh[1] = 10;  // 88 bytes
    l.ext_headers = {{tw::ipproto::hopopts, hbh}};
    const auto& r3 = d.run(kEth, eth(0x86DD, tcp6(t, l)));
    CHECK(r3.proto == L4Proto::malformed);
    CHECK(what(r3) == "IPv6 extension header longer than the packet");
    CHECK_FALSE(r3.truncated);

    // Cut by the snaplen inside the extension headers.
    const Bytes f = eth(0x86DD, tcp6(t, s));
    const auto& r4 = d.run(kEth, f, static_cast<uint32_t>(f.size()), 0, 14 + 40 + 20);
    CHECK(r4.proto == L4Proto::malformed);
    CHECK(r4.truncated);
}

TEST_CASE("decode: IPv6 header errors and payload length") {
    Dec d;
    const tw::TcpSpec t = spec(1, 2, 3, pattern(30));
    const Bytes f = eth(0x86DD, tcp6(t));
    auto r = d.run(kEth, f, static_cast<uint32_t>(f.size()), 0, 14 + 39);
    CHECK(r.proto == L4Proto::malformed);
    CHECK(r.truncated);
    CHECK(what(r) == "IPv6 header cut short");

    Bytes v4 = f;
    v4[14] = 0x45;
    r = d.run(kEth, v4);
    CHECK(r.proto == L4Proto::malformed);
    CHECK(what(r) == "bad IPv6 version");

    tw::Ipv6Spec s;
    s.payload_length_override = 0;  // jumbogram / TSO: the frame decides
    r = d.run(kEth, eth(0x86DD, tcp6(t, s)));
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.tcp.payload_len == 30u);
    CHECK(r.malformed_what == nullptr);

    s.payload_length_override = 50 + 500;
    r = d.run(kEth, eth(0x86DD, tcp6(t, s)));
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.tcp.payload_len == 30u);
    CHECK(what(r) == "IPv6 payload length beyond the frame");
}

namespace {
struct Frag6 {
    tw::Ipv6Spec ip;
    Bytes body;
    std::vector<Bytes> frames;
};
}  // namespace

TEST_CASE("decode: IPv6 fragments reassembled") {
    Frag6 f;
    f.ip.src = tw::ipv6_addr(kSrc6);
    f.ip.dst = tw::ipv6_addr(kDst6);
    f.ip.ext_headers = {{tw::ipproto::hopopts, tw::ipv6_hop_by_hop()}};  // unfragmentable part
    f.body = pattern(100, 5);
    const Bytes l4 = tw::tcp_segment(spec(4444, 443, 0x01000000u, f.body), f.ip.src, f.ip.dst);
    for (const Bytes& ip : tw::ipv6_fragments(f.ip, l4, 32, 0xABCDEF)) f.frames.push_back(eth(0x86DD, ip));
    REQUIRE(f.frames.size() == 4u);  // 120 bytes: 32 32 32 24

    auto check = [&](const DecodedPacket& r) {
        REQUIRE(r.proto == L4Proto::tcp);
        CHECK(r.reassembled);
        CHECK(r.ip_version == 6);
        CHECK(r.ip_proto == 6);
        CHECK(r.tcp.src.str() == kSrc6);
        CHECK(r.tcp.sport == 4444);
        CHECK(r.tcp.dport == 443);
        CHECK(r.tcp.seq == 0x01000000u);
        CHECK(r.tcp.payload_len == 100u);
        CHECK(r.tcp.captured_len == 100u);
        CHECK(payload_of(r) == f.body);
        CHECK_FALSE(r.bad_checksum);
    };
    SUBCASE("in order") {
        Dec d(DecoderConfig{true});
        for (size_t i = 0; i < 3; ++i) check_pending(d.run(kEth, f.frames[i]));
        CHECK(d.out.ip_version == 6);
        check(d.run(kEth, f.frames[3]));
        CHECK(d.dec.counters().fragments == 4u);
        CHECK(d.dec.counters().reassembled == 1u);
    }
    SUBCASE("reversed") {
        Dec d(DecoderConfig{true});
        for (size_t i = 3; i > 0; --i) check_pending(d.run(kEth, f.frames[i]));
        check(d.run(kEth, f.frames[0]));
        CHECK(d.dec.fragments_pending() == 0u);
    }
    SUBCASE("different ids do not mix") {
        Dec d;
        std::vector<Bytes> other;
        for (const Bytes& ip : tw::ipv6_fragments(f.ip, l4, 32, 0xABCDEE)) other.push_back(eth(0x86DD, ip));
        check_pending(d.run(kEth, f.frames[0]));
        check_pending(d.run(kEth, other[1]));
        check_pending(d.run(kEth, f.frames[2]));
        check_pending(d.run(kEth, other[3]));
        check_pending(d.run(kEth, f.frames[1]));
        check(d.run(kEth, f.frames[3]));
        CHECK(d.dec.fragments_pending() == 1u);
    }
}

TEST_CASE("decode: IPv6 fragments whose fragmentable part starts with destination options") {
    // RFC 8200: headers after the Fragment header belong to the fragmentable
    // part; they only exist in the reassembled datagram.
    tw::Ipv6Spec ip;
    ip.next_header = tw::ipproto::dstopts;  // the Fragment header's Next Header
    Bytes dst = tw::ipv6_dest_options(Bytes(4, 0));
    dst[0] = tw::ipproto::tcp;
    const Bytes body = pattern(60, 9);
    const Bytes l4 = tw::cat(dst, tw::tcp_segment(spec(7, 8, 9, body), ip.src, ip.dst));
    std::vector<Bytes> frames;
    for (const Bytes& p : tw::ipv6_fragments(ip, l4, 24, 77)) frames.push_back(eth(0x86DD, p));
    REQUIRE(frames.size() == 4u);  // 88 bytes: 24 24 24 16
    Dec d(DecoderConfig{true});
    for (size_t i = 0; i < 3; ++i) check_pending(d.run(kEth, frames[i]));
    const auto& r = d.run(kEth, frames[3]);
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.reassembled);
    CHECK(r.ip_proto == 6);
    CHECK(r.tcp.sport == 7);
    CHECK(r.tcp.dport == 8);
    CHECK(r.tcp.seq == 9u);
    CHECK(r.tcp.payload_len == 60u);
    CHECK(payload_of(r) == body);
    CHECK(d.dec.counters().reassembled == 1u);
}

// ---------------------------------------------------------------------------
// TCP
// ---------------------------------------------------------------------------

TEST_CASE("decode: TCP flags including AE, window, urgent") {
    Dec d;
    tw::TcpSpec t = spec(1, 2, 3);
    t.flags = 0x1FF;
    t.window = 0xBEEF;
    t.urg = 0x1234;
    const auto& r = d.run(kLinktypeRaw, tcp4(t));
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.tcp.flags == 0x1FF);
    for (uint16_t f : {tcpflag::FIN, tcpflag::SYN, tcpflag::RST, tcpflag::PSH, tcpflag::ACK, tcpflag::URG, tcpflag::ECE,
                       tcpflag::CWR, tcpflag::AE})
        CHECK(r.tcp.has(f));
    CHECK(r.tcp.window == 0xBEEF);
    CHECK(r.tcp.urgent == 0x1234);

    // Each flag alone, through the writer's encoding.
    for (uint16_t f : {tcpflag::FIN, tcpflag::SYN, tcpflag::RST, tcpflag::PSH, tcpflag::ACK, tcpflag::URG, tcpflag::ECE,
                       tcpflag::CWR, tcpflag::AE}) {
        CAPTURE(f);
        t.flags = f;
        const auto& x = d.run(kLinktypeRaw, tcp4(t));
        REQUIRE(x.proto == L4Proto::tcp);
        CHECK(x.tcp.flags == f);
    }
    // Reserved bits (0x0E00 in the data-offset byte) are not flags.
    t.flags = 0x0E00 | tcpflag::SYN;
    const auto& y = d.run(kLinktypeRaw, tcp4(t));
    REQUIRE(y.proto == L4Proto::tcp);
    CHECK(y.tcp.flags == tcpflag::SYN);
}

TEST_CASE("decode: TCP options MSS, wscale, SACK-permitted, timestamps, NOP") {
    Dec d;
    tw::TcpSpec t = spec(1, 2, 3);
    t.flags = tcpflag::SYN;
    t.options = tw::cat(tw::opt_mss(1460), tw::opt_nop(), tw::opt_wscale(7), tw::opt_sack_permitted(),
                        tw::opt_timestamps(0xA1B2C3D4u, 0x01020304u));
    const Bytes f = eth(0x0800, tcp4(t));
    const auto& r = d.run(kEth, f);
    REQUIRE(r.proto == L4Proto::tcp);
    const TcpOptions& o = r.tcp.options;
    CHECK(o.mss == 1460);
    CHECK(o.wscale == 7);
    CHECK(o.sack_permitted);
    CHECK(o.has_timestamps);
    CHECK(o.ts_val == 0xA1B2C3D4u);
    CHECK(o.ts_ecr == 0x01020304u);
    CHECK(o.sack_count == 0);
    CHECK_FALSE(o.malformed);
    CHECK(r.tcp.payload == f.data() + 14 + 20 + 40);
    CHECK(r.tcp.payload_len == 0u);

    // wscale is reported as sent, even above 14.
    t.options = tw::opt_wscale(15);
    CHECK(d.run(kEth, eth(0x0800, tcp4(t))).tcp.options.wscale == 15);
}

TEST_CASE("decode: TCP SACK blocks 1..4") {
    Dec d;
    for (size_t n = 1; n <= 4; ++n) {
        CAPTURE(n);
        std::vector<std::pair<uint32_t, uint32_t>> blocks;
        for (size_t k = 0; k < n; ++k)
            blocks.emplace_back(static_cast<uint32_t>(1000 * (k + 1)), static_cast<uint32_t>(1000 * (k + 1) + 500));
        blocks[0].first = 0xFFFFFF00u;  // wraps
        tw::TcpSpec t = spec(1, 2, 3, tw::to_bytes("p"));
        t.options = tw::cat(tw::opt_nop(), tw::opt_nop(), tw::opt_sack(blocks));
        const auto& r = d.run(kLinktypeRaw, tcp6(t));
        REQUIRE(r.proto == L4Proto::tcp);
        const TcpOptions& o = r.tcp.options;
        CHECK_FALSE(o.malformed);
        REQUIRE(o.sack_count == n);
        for (size_t k = 0; k < n; ++k) {
            CHECK(o.sack[k].left == blocks[k].first);
            CHECK(o.sack[k].right == blocks[k].second);
        }
        CHECK(r.tcp.payload_len == 1u);
        CHECK(r.tcp.payload[0] == 'p');
    }
    // SACK together with timestamps (the common Linux layout).
    tw::TcpSpec t = spec(1, 2, 3);
    t.options = tw::cat(tw::opt_nop(), tw::opt_nop(), tw::opt_timestamps(5, 6), tw::opt_nop(), tw::opt_nop(),
                        tw::opt_sack({{10, 20}, {30, 40}}));
    const auto& r = d.run(kLinktypeRaw, tcp4(t));
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.tcp.options.has_timestamps);
    CHECK(r.tcp.options.ts_val == 5u);
    CHECK(r.tcp.options.sack_count == 2);
    CHECK(r.tcp.options.sack[1].right == 40u);
}

TEST_CASE("decode: TCP options EOL, unknown and malformed") {
    auto parse = [](const Bytes& b) {
        TcpOptions o;
        parse_tcp_options(b.data(), b.size(), o);
        return o;
    };
    // EOL ends the list: what follows is ignored.
    TcpOptions o = parse(tw::cat(tw::opt_mss(1400), tw::opt_eol(), tw::opt_wscale(3)));
    CHECK(o.mss == 1400);
    CHECK(o.wscale == -1);
    CHECK_FALSE(o.malformed);

    // Unknown kinds are skipped by their length.
    o = parse(tw::cat(Bytes{30, 6, 1, 2, 3, 4}, Bytes{254, 2}, tw::opt_mss(1200), tw::opt_wscale(2)));
    CHECK(o.mss == 1200);
    CHECK(o.wscale == 2);
    CHECK_FALSE(o.malformed);

    // Length past the end of the header.
    o = parse(tw::cat(tw::opt_mss(1000), Bytes{8, 10, 0, 0}));
    CHECK(o.malformed);
    CHECK(o.mss == 1000);
    CHECK_FALSE(o.has_timestamps);

    // Length < 2 (0 and 1).
    o = parse(Bytes{3, 1, 0, 0});
    CHECK(o.malformed);
    CHECK(o.wscale == -1);
    o = parse(Bytes{30, 0, 2, 4, 5, 0xB4});
    CHECK(o.malformed);
    CHECK(o.mss == -1);

    // Kind as the very last byte.
    o = parse(Bytes{1, 1, 1, 2});
    CHECK(o.malformed);

    // Known kind with the wrong length.
    o = parse(Bytes{2, 3, 5, 1});
    CHECK(o.malformed);
    CHECK(o.mss == -1);
    o = parse(Bytes{5, 7, 0, 0, 0, 1, 0, 0});
    CHECK(o.malformed);
    CHECK(o.sack_count == 0);

    // Nothing at all.
    o = parse(Bytes{});
    CHECK(o.mss == -1);
    CHECK_FALSE(o.malformed);
    o = TcpOptions{};
    parse_tcp_options(nullptr, 0, o);
    CHECK_FALSE(o.malformed);

    // Through the decoder: a malformed option does not make the segment malformed.
    Dec d;
    tw::TcpSpec t = spec(1, 2, 3, tw::to_bytes("ok"));
    t.options = tw::cat(tw::opt_mss(536), Bytes{8, 40, 0, 0});
    const auto& r = d.run(kLinktypeRaw, tcp4(t));
    REQUIRE(r.proto == L4Proto::tcp);
    CHECK(r.tcp.options.malformed);
    CHECK(r.tcp.options.mss == 536);
    CHECK(r.tcp.payload_len == 2u);
    CHECK(payload_of(r) == tw::to_bytes("ok"));
}

TEST_CASE("decode: TCP data offset invalid") {
    Dec d;
    for (int doff : {0, 1, 4}) {
        CAPTURE(doff);
        tw::TcpSpec t = spec(1, 2, 3, pattern(20));
        t.data_offset_override = doff;
        const auto& r = d.run(kLinktypeRaw, tcp4(t));
        CHECK(r.proto == L4Proto::malformed);
        CHECK(what(r) == "bad TCP header length");
        CHECK_FALSE(r.truncated);
    }
    // Data offset beyond the segment.
    tw::TcpSpec t = spec(1, 2, 3);
    t.data_offset_override = 15;
    const auto& r = d.run(kLinktypeRaw, tcp4(t));
    CHECK(r.proto == L4Proto::malformed);
    CHECK(what(r) == "bad TCP header length");

    // Segment shorter than a TCP header.
    tw::Ipv4Spec s;
    const auto& r2 = d.run(kLinktypeRaw, tw::ipv4(s, pattern(12)));
    CHECK(r2.proto == L4Proto::malformed);
    CHECK(what(r2) == "TCP segment shorter than its header");
    CHECK_FALSE(r2.truncated);
}

TEST_CASE("decode: snaplen cuts") {
    Dec d(DecoderConfig{true});
    const Bytes body = pattern(200);
    tw::TcpSpec t = spec(1, 2, 3, body);
    t.bad_checksum = true;  // cannot be verified when cut
    const Bytes f = eth(0x0800, tcp4(t));
    REQUIRE(f.size() == 254u);

    SUBCASE("into the payload") {
        const auto& r = d.run(kEth, f, 254, 0, 14 + 40 + 50);
        REQUIRE(r.proto == L4Proto::tcp);
        CHECK(r.truncated);
        CHECK(r.tcp.payload_len == 200u);
        CHECK(r.tcp.captured_len == 50u);
        CHECK(r.tcp.payload == f.data() + 54);
        CHECK(payload_of(r) == Bytes(body.begin(), body.begin() + 50));
        CHECK_FALSE(r.bad_checksum);
    }
    SUBCASE("exactly at the end of the TCP header") {
        const auto& r = d.run(kEth, f, 254, 0, 54);
        REQUIRE(r.proto == L4Proto::tcp);
        CHECK(r.truncated);
        CHECK(r.tcp.payload_len == 200u);
        CHECK(r.tcp.captured_len == 0u);
    }
    SUBCASE("into the TCP header") {
        const auto& r = d.run(kEth, f, 254, 0, 14 + 20 + 10);
        CHECK(r.proto == L4Proto::malformed);
        CHECK(r.truncated);
        CHECK(what(r) == "TCP header cut short");
    }
    SUBCASE("into the TCP options") {
        tw::TcpSpec o = spec(1, 2, 3, body);
        o.options = tw::cat(tw::opt_mss(1460), tw::opt_timestamps(1, 2));
        const Bytes g = eth(0x0800, tcp4(o));
        const auto& r = d.run(kEth, g, static_cast<uint32_t>(g.size()), 0, 14 + 20 + 25);
        CHECK(r.proto == L4Proto::malformed);
        CHECK(r.truncated);
        CHECK(what(r) == "TCP options cut short");
    }
    SUBCASE("IPv6 into the payload") {
        const Bytes g = eth(0x86DD, tcp6(spec(1, 2, 3, body)));
        const auto& r = d.run(kEth, g, static_cast<uint32_t>(g.size()), 0, 14 + 60 + 7);
        REQUIRE(r.proto == L4Proto::tcp);
        CHECK(r.truncated);
        CHECK(r.tcp.payload_len == 200u);
        CHECK(r.tcp.captured_len == 7u);
    }
}

// ---------------------------------------------------------------------------
// Checksums
// ---------------------------------------------------------------------------

TEST_CASE("decode: checksum verification") {
    const tw::TcpSpec good = spec(10, 20, 30, tw::to_bytes("odd"));  // odd length
    tw::TcpSpec bad = good;
    bad.bad_checksum = true;
    tw::Ipv4Spec bad_ip;
    bad_ip.bad_checksum = true;

    SUBCASE("on") {
        Dec d(DecoderConfig{true});
        CHECK_FALSE(d.run(kEth, eth(0x0800, tcp4(good))).bad_checksum);
        CHECK(d.out.proto == L4Proto::tcp);
        CHECK(d.run(kEth, eth(0x0800, tcp4(bad))).bad_checksum);
        CHECK(d.out.proto == L4Proto::tcp);
        CHECK(d.run(kEth, eth(0x0800, tcp4(good, bad_ip))).bad_checksum);
        CHECK(d.out.proto == L4Proto::tcp);
        CHECK_FALSE(d.run(kEth, eth(0x86DD, tcp6(good))).bad_checksum);
        CHECK(d.run(kEth, eth(0x86DD, tcp6(bad))).bad_checksum);
        // The pseudo-header matters: same segment, other addresses.
        tw::Ipv6Spec moved;
        moved.dst = tw::ipv6_addr("2001:db8::3");
        const Bytes seg = tw::tcp_segment(good, tw::Ipv6Spec{}.src, tw::Ipv6Spec{}.dst);
        CHECK(d.run(kEth, eth(0x86DD, tw::ipv6(moved, seg))).bad_checksum);
        // IPv4 with options: the whole header counts.
        tw::Ipv4Spec opt;
        opt.options = {0x94, 0x04, 0, 0};
        CHECK_FALSE(d.run(kEth, eth(0x0800, tcp4(good, opt))).bad_checksum);
        Bytes flipped = eth(0x0800, tcp4(good, opt));
        flipped[14 + 22] ^= 0x01;  // inside the IP options
        CHECK(d.run(kEth, flipped).bad_checksum);
        // Helpers directly.
        const Bytes hdr(flipped.begin() + 14, flipped.begin() + 14 + 24);
        CHECK(pcaplens::internet_checksum(hdr.data(), hdr.size()) != 0);
        const Bytes okhdr = tcp4(good, opt);
        CHECK(pcaplens::internet_checksum(okhdr.data(), 24) == 0);
        IpAddress s4, d4;
        s4.family = d4.family = 4;
        const tw::Ipv4Spec dflt;
        std::copy(dflt.src.begin(), dflt.src.end(), s4.bytes.begin());
        std::copy(dflt.dst.begin(), dflt.dst.end(), d4.bytes.begin());
        const Bytes seg4 = tw::tcp_segment(good, dflt.src, dflt.dst);
        CHECK(transport_checksum_ok(s4, d4, 6, seg4.data(), seg4.size()));
        CHECK_FALSE(transport_checksum_ok(s4, d4, 17, seg4.data(), seg4.size()));
        CHECK_FALSE(transport_checksum_ok(d4, d4, 6, seg4.data(), seg4.size()));
    }
    SUBCASE("off by default") {
        Dec d;
        CHECK_FALSE(d.run(kEth, eth(0x0800, tcp4(bad))).bad_checksum);
        CHECK_FALSE(d.run(kEth, eth(0x0800, tcp4(good, bad_ip))).bad_checksum);
        CHECK_FALSE(d.run(kEth, eth(0x86DD, tcp6(bad))).bad_checksum);
        CHECK(d.out.proto == L4Proto::tcp);
    }
}

// ---------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------

TEST_CASE("IpAddress::str") {
    auto v4 = [](const std::string& s) {
        IpAddress a;
        a.family = 4;
        const auto b = tw::ipv4_addr(s);
        std::copy(b.begin(), b.end(), a.bytes.begin());
        return a.str();
    };
    auto v6 = [](const std::string& s) {
        IpAddress a;
        a.family = 6;
        a.bytes = tw::ipv6_addr(s);
        return a.str();
    };
    CHECK(v4("192.168.100.200") == "192.168.100.200");
    CHECK(v4("0.0.0.0") == "0.0.0.0");
    CHECK(v4("255.255.255.255") == "255.255.255.255");
    CHECK(v4("10.0.0.1") == "10.0.0.1");
    // RFC 5952: lower case, no leading zeros, longest zero run compressed
    // (first on ties), a single zero group not compressed.
    CHECK(v6("2001:0DB8:0000:0000:0000:0000:0000:0001") == "2001:db8::1");
    CHECK(v6("::") == "::");
    CHECK(v6("::1") == "::1");
    CHECK(v6("fe80:0:0:0:abcd:0:0:1") == "fe80::abcd:0:0:1");
    CHECK(v6("2001:db8:0:1:1:1:1:1") == "2001:db8:0:1:1:1:1:1");
    CHECK(v6("2001:0:0:1:0:0:0:1") == "2001:0:0:1::1");
    CHECK(v6("2001:db8:0:0:1:0:0:1") == "2001:db8::1:0:0:1");
    CHECK(v6("2001:db8::") == "2001:db8::");
    CHECK(v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    CHECK(v6("::ffff:192.0.2.1") == "::ffff:192.0.2.1");
    CHECK(v6("2001:db8:1::20") == "2001:db8:1::20");
    CHECK(IpAddress{}.str().empty());

    IpAddress a = {}, b = {};
    a.family = b.family = 4;
    a.bytes[3] = 1;
    b.bytes[3] = 2;
    CHECK(a < b);
    CHECK(a != b);
}

TEST_CASE("tcp_flags_str") {
    CHECK(tcp_flags_str(0) == "none");
    CHECK(tcp_flags_str(tcpflag::SYN) == "SYN");
    CHECK(tcp_flags_str(tcpflag::SYN | tcpflag::ACK) == "SYN,ACK");
    CHECK(tcp_flags_str(tcpflag::FIN | tcpflag::ACK) == "FIN,ACK");
    CHECK(tcp_flags_str(tcpflag::PSH | tcpflag::ACK) == "PSH,ACK");
    CHECK(tcp_flags_str(tcpflag::RST | tcpflag::ACK) == "RST,ACK");
    CHECK(tcp_flags_str(tcpflag::SYN | tcpflag::ECE | tcpflag::CWR) == "SYN,ECE,CWR");
    CHECK(tcp_flags_str(tcpflag::AE | tcpflag::ACK) == "ACK,AE");
    CHECK(tcp_flags_str(tcpflag::URG | tcpflag::ACK) == "ACK,URG");
    CHECK(tcp_flags_str(0x1FF) == "SYN,FIN,RST,PSH,ACK,URG,ECE,CWR,AE");
    CHECK(tcp_flags_str(0xE00) == "none");  // reserved bits are not named
}

// ---------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------

namespace {
constexpr int kAllLinks[] = {kNull, kEth, kPpp, kDltRaw, kRawObsd, kPppSerial, kLinktypeRaw, kLoop,
                             kSll, kIpv4Only, kIpv6Only, kSll2, 147};

struct RobustStats {
    uint64_t tcp = 0, malformed = 0, decoded = 0;
};

void decode_checked(Decoder& dec, int lt, const Bytes& buf, uint32_t caplen, uint32_t wirelen, int64_t ts,
                    RobustStats& st) {
    PacketView v;
    v.linktype = lt;
    v.data = buf.data();
    v.caplen = caplen;
    v.wirelen = wirelen;
    v.ts_ns = ts;
    DecodedPacket out;
    dec.decode(v, out);
    ++st.decoded;
    if (out.proto == L4Proto::malformed) ++st.malformed;
    if (out.proto != L4Proto::tcp) return;
    ++st.tcp;
    const TcpSegment& t = out.tcp;
    INFO("linktype ", lt, " caplen ", caplen, " wirelen ", wirelen);
    REQUIRE(t.captured_len <= t.payload_len);
    REQUIRE(t.options.sack_count <= 4);
    REQUIRE((out.ip_version == 4 || out.ip_version == 6));
    if (!out.reassembled) {
        REQUIRE(t.payload != nullptr);
        REQUIRE(t.payload >= buf.data());
        REQUIRE(t.payload + t.captured_len <= buf.data() + caplen);
        // Reading every captured byte must be fine under ASan.
        uint32_t sum = 0;
        for (uint32_t i = 0; i < t.captured_len; ++i) sum += t.payload[i];
        (void)sum;
    }
}
}  // namespace

TEST_CASE("decode: random buffers never crash") {
    std::mt19937_64 rng(0x5EED1234u);
    DecoderConfig cfg;
    cfg.verify_checksums = true;
    cfg.max_fragment_datagrams = 64;
    Decoder dec(cfg);
    RobustStats st;
    Bytes buf;
    for (int iter = 0; iter < 20000; ++iter) {
        const size_t len = rng() % 201;
        buf.assign(len, 0);
        for (auto& b : buf) b = static_cast<uint8_t>(rng());
        // Bias a share of the buffers toward something decodable so deeper
        // layers are reached: an IPv4/IPv6 version nibble at a link offset.
        if (len > 0 && (iter % 3) == 0) {
            const size_t off = std::vector<size_t>{0, 4, 14, 16, 20}[rng() % 5] % len;
            buf[off] = static_cast<uint8_t>((rng() & 1) ? 0x45 : 0x60);
            if (off >= 2 && (rng() & 1)) {
                buf[off - 2] = (buf[off] == 0x45) ? 0x08 : 0x86;
                buf[off - 1] = (buf[off] == 0x45) ? 0x00 : 0xDD;
            }
            if (buf[off] == 0x45 && off + 9 < len) buf[off + 9] = 6;
            if (buf[off] == 0x60 && off + 6 < len) buf[off + 6] = 6;
        }
        const auto caplen = static_cast<uint32_t>(len);
        for (int lt : kAllLinks) {
            const uint32_t extra = (rng() % 4 == 0) ? static_cast<uint32_t>(rng() % 3000) : 0;
            decode_checked(dec, lt, buf, caplen, caplen + extra, iter, st);
        }
        // Also the (lying) case of caplen > wirelen.
        if (len > 10) decode_checked(dec, kLinktypeRaw, buf, caplen, caplen / 2, iter, st);
    }
    CHECK(st.decoded >= 20000u * 13u);
    CHECK(st.malformed > 0u);
}

TEST_CASE("decode: mutated valid packets never crash") {
    std::mt19937_64 rng(0xC0FFEEu);
    tw::TcpSpec t = spec(1, 2, 3, pattern(40));
    t.options = tw::cat(tw::opt_mss(1460), tw::opt_sack_permitted(), tw::opt_timestamps(1, 2), tw::opt_nop(),
                        tw::opt_wscale(7));
    tw::Ipv6Spec s6;
    s6.ext_headers = {{tw::ipproto::hopopts, tw::ipv6_hop_by_hop()}, {tw::ipproto::dstopts, tw::ipv6_dest_options()}};
    tw::Ipv4Spec s4;
    s4.options = {0x94, 0x04, 0, 0};
    const Bytes ip4 = tcp4(t, s4), ip6 = tcp6(t, s6);
    std::vector<Bytes> frag4 = tw::ipv4_fragments(tw::Ipv4Spec{}, tw::tcp_segment(t, s4.src, s4.dst), 16);
    std::vector<Bytes> frag6 = tw::ipv6_fragments(tw::Ipv6Spec{}, tw::tcp_segment(t, s6.src, s6.dst), 16);
    struct Seed {
        int lt;
        Bytes frame;
    };
    std::vector<Seed> seeds = {
        {kEth, eth(0x0800, ip4)},
        {kEth, eth(0x86DD, ip6, {{0x88A8, 1}, {0x8100, 2}})},
        {kSll, tw::linux_sll(0, 0x0800, ip4)},
        {kSll2, tw::linux_sll2(0x86DD, 1, ip6)},
        {kNull, tw::null_loopback(2, ip4)},
        {kLoop, tw::null_loopback(30, ip6, true)},
        {kPpp, tw::cat(Bytes{0xFF, 0x03, 0x00, 0x21}, ip4)},
        {kLinktypeRaw, ip6},
        {kIpv4Only, ip4},
    };
    for (const Bytes& f : frag4) seeds.push_back({kDltRaw, f});
    for (const Bytes& f : frag6) seeds.push_back({kEth, eth(0x86DD, f)});

    DecoderConfig cfg;
    cfg.verify_checksums = true;
    cfg.max_fragment_datagrams = 16;
    cfg.max_fragment_bytes = 4096;
    Decoder dec(cfg);
    RobustStats st;
    Bytes buf;
    for (int iter = 0; iter < 20000; ++iter) {
        const Seed& sd = seeds[rng() % seeds.size()];
        buf = sd.frame;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < flips && !buf.empty(); ++k) buf[rng() % buf.size()] = static_cast<uint8_t>(rng());
        if (rng() % 4 == 0 && !buf.empty()) buf.resize(rng() % buf.size());
        const auto caplen = static_cast<uint32_t>(buf.size());
        const uint32_t wire = (rng() % 3 == 0) ? caplen + static_cast<uint32_t>(rng() % 200) : caplen;
        decode_checked(dec, sd.lt, buf, caplen, wire, iter * 1000000LL, st);
    }
    CHECK(st.tcp > 1000u);  // mutations mostly keep the packet decodable
    CHECK(st.malformed > 0u);
}

TEST_CASE("IpAddress::str: dotted quads written by hand match inet_ntop for every octet value") {
    for (int v = 0; v < 256; ++v) {
        pcaplens::IpAddress a;
        a.family = 4;
        a.bytes = {static_cast<uint8_t>(v), static_cast<uint8_t>(255 - v), static_cast<uint8_t>(v / 7), 0};
        char ref[INET_ADDRSTRLEN];
        REQUIRE(inet_ntop(AF_INET, a.bytes.data(), ref, sizeof ref) != nullptr);
        CHECK(a.str() == ref);
    }
    pcaplens::IpAddress none;
    CHECK(none.str().empty());
}

TEST_CASE("IpAddress::str: IPv6 written by hand matches inet_ntop (zero runs, ties, embedded IPv4, group widths)") {
    // Every pattern of zero and non-zero groups (256), each with group
    // values of every hex width, plus the IPv4-compatible and -mapped
    // prefixes with their near misses, plus random addresses.
    auto check = [](const std::array<uint16_t, 8>& w) {
        pcaplens::IpAddress a;
        a.family = 6;
        for (size_t i = 0; i < 8; ++i) {
            a.bytes[2 * i] = static_cast<uint8_t>(w[i] >> 8);
            a.bytes[2 * i + 1] = static_cast<uint8_t>(w[i]);
        }
        char ref[INET6_ADDRSTRLEN];
        REQUIRE(inet_ntop(AF_INET6, a.bytes.data(), ref, sizeof ref) != nullptr);
        CHECK(a.str() == ref);
        char buf[1 + pcaplens::IpAddress::kMaxText] = {'x'};
        const char* end = a.format(buf + 1);
        CHECK(end - (buf + 1) <= static_cast<std::ptrdiff_t>(pcaplens::IpAddress::kMaxText));
        CHECK(std::string(static_cast<const char*>(buf), end) == std::string("x") + ref);
    };
    const uint16_t widths[] = {0x1, 0xa, 0x2f, 0x100, 0xabc, 0x1000, 0xffff, 0x0fed};
    size_t checked = 0;
    for (unsigned mask = 0; mask < 256; ++mask) {
        for (size_t v = 0; v < std::size(widths); ++v) {
            std::array<uint16_t, 8> w{};
            for (size_t i = 0; i < 8; ++i) w[i] = (mask >> i & 1) ? widths[(v + i) % std::size(widths)] : 0;
            check(w);
            ++checked;
        }
    }
    for (uint16_t five : {0x0000, 0xffff, 0xfffe, 0x0001}) {
        for (uint16_t four : {0x0000, 0x0001}) {
            for (uint16_t six : {0x0000, 0x0001, 0xc0a8}) {
                for (uint16_t seven : {0x0000, 0x0001, 0x0a01}) check({0, 0, 0, 0, four, five, six, seven});
            }
        }
    }
    std::mt19937 rng(6);
    for (int k = 0; k < 20000; ++k) {
        std::array<uint16_t, 8> w{};
        for (auto& x : w) x = (rng() % 3 == 0) ? 0 : static_cast<uint16_t>(rng() >> (rng() % 16));
        check(w);
    }
    CHECK(checked == 2048);
    pcaplens::IpAddress loopback;
    loopback.family = 6;
    loopback.bytes[15] = 1;
    CHECK(loopback.str() == "::1");
}

TEST_CASE("decode: TCP options NOP,NOP,timestamps fast path agrees with the general parser") {
    // The common 12-byte block takes a shortcut; the same option in another
    // layout goes through the general loop. Both must give the same result.
    const std::vector<uint8_t> fast = {1, 1, 8, 10, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04};
    const std::vector<uint8_t> general = {8, 10, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04, 1, 1};
    pcaplens::TcpOptions a, b;
    pcaplens::parse_tcp_options(fast.data(), fast.size(), a);
    pcaplens::parse_tcp_options(general.data(), general.size(), b);
    CHECK(a.has_timestamps);
    CHECK(a.ts_val == 0xDEADBEEFu);
    CHECK(a.ts_ecr == 0x01020304u);
    CHECK(a.has_timestamps == b.has_timestamps);
    CHECK(a.ts_val == b.ts_val);
    CHECK(a.ts_ecr == b.ts_ecr);
    CHECK(a.malformed == b.malformed);
    CHECK(a.mss == b.mss);
    CHECK(a.sack_count == b.sack_count);
    // A timestamps option with a wrong length in the same position is not taken by the shortcut.
    const std::vector<uint8_t> bad = {1, 1, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0};
    pcaplens::TcpOptions c;
    pcaplens::parse_tcp_options(bad.data(), bad.size(), c);
    CHECK(c.malformed);
    CHECK_FALSE(c.has_timestamps);
}

TEST_CASE("parse_ip_address and Endpoint::str: the forms the command line, rules and reports use") {
    const auto v4 = pcaplens::parse_ip_address("10.0.0.1");
    REQUIRE(v4.has_value());
    CHECK(v4->family == 4);
    CHECK(v4->str() == "10.0.0.1");
    const auto v6 = pcaplens::parse_ip_address("[2001:db8::1]");
    REQUIRE(v6.has_value());
    CHECK(v6->family == 6);
    CHECK(v6 == pcaplens::parse_ip_address("2001:db8::1"));
    CHECK_FALSE(pcaplens::parse_ip_address("").has_value());
    CHECK_FALSE(pcaplens::parse_ip_address("[]").has_value());
    CHECK_FALSE(pcaplens::parse_ip_address("10.0.0.256").has_value());
    CHECK_FALSE(pcaplens::parse_ip_address("example.com").has_value());
    CHECK(pcaplens::Endpoint{*v4, 80}.str() == "10.0.0.1:80");
    CHECK(pcaplens::Endpoint{*v6, 443}.str() == "[2001:db8::1]:443");
}

TEST_CASE("decode --verify-checksums: an IPv6 Routing header with segments left moves the pseudo-header's destination to the final one") {
    // RFC 8200 8.1: with a Routing header, the upper-layer checksum covers
    // the final destination, not the next hop in the IPv6 header. tshark
    // verifies these as good; pcaplens called them bad.
    DecoderConfig cfg;
    cfg.verify_checksums = true;
    const auto hop = tw::ipv6_addr(kDst6);
    const auto fin = tw::ipv6_addr("2001:db8::99");
    const tw::TcpSpec t = spec(40000, 80, 1000, tw::to_bytes("hello"));
    auto frame = [&](uint8_t type, uint8_t left, const std::vector<tw::Ipv6Addr>& list, const tw::Ipv6Addr& csum_dst) {
        tw::Ipv6Spec s;
        s.src = tw::ipv6_addr(kSrc6);
        s.dst = hop;
        s.ext_headers = {{tw::ipproto::routing, tw::ipv6_routing(type, left, list)}};
        return eth(0x86DD, tw::ipv6(s, tw::tcp_segment(t, s.src, csum_dst)));
    };
    SUBCASE("type 2 (one address, the final)") {
        Dec d(cfg);
        CHECK_FALSE(d.run(kEth, frame(2, 1, {fin}, fin)).bad_checksum);
        Dec e(cfg);
        CHECK(e.run(kEth, frame(2, 1, {fin}, hop)).bad_checksum);   // computed over the next hop: wrong
    }
    SUBCASE("type 0 (the final is the last address)") {
        Dec d(cfg);
        CHECK_FALSE(d.run(kEth, frame(0, 2, {tw::ipv6_addr("2001:db8::50"), fin}, fin)).bad_checksum);
    }
    SUBCASE("segment routing, type 4 (Segment List[0] is the final)") {
        Dec d(cfg);
        CHECK_FALSE(d.run(kEth, frame(4, 1, {fin, hop}, fin)).bad_checksum);
    }
    SUBCASE("no segments left: the header's destination is the final one") {
        Dec d(cfg);
        CHECK_FALSE(d.run(kEth, frame(2, 0, {fin}, hop)).bad_checksum);
    }
}

TEST_CASE("decode: impossible IPv4 fragments are counted as such, not as a cap hit") {
    const Frag4 a = make_frag4(7, 48, 1);   // [0,48) and [48,84), the last
    SUBCASE("two last fragments disagree on where the datagram ends") {
        Dec d;
        check_pending(d.run(kEth, a.frames[1]));
        tw::Ipv4Spec other = a.ip;   // another last fragment, ending at 48 + 16
        other.frag_offset_bytes = 48;
        other.mf = false;
        check_pending(d.run(kEth, eth(0x0800, tw::ipv4(other, Bytes(16, 9)))));
        CHECK(d.dec.counters().fragments_invalid == 1u);
        CHECK(d.dec.counters().fragments_dropped_cap == 0u);   // was counted as a memory-cap drop
    }
    SUBCASE("a fragment reaching beyond 65,535 bytes") {
        Dec d;
        tw::Ipv4Spec far = a.ip;
        far.frag_offset_bytes = 65528;
        far.mf = false;
        check_pending(d.run(kEth, eth(0x0800, tw::ipv4(far, Bytes(200, 9)))));
        CHECK(d.dec.counters().fragments_invalid == 1u);   // it vanished without a count
        CHECK(d.dec.counters().fragments == 1u);
    }
}
