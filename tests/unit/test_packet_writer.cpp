// Self-tests for the packet/capture-file builders in tests/support: every
// other test trusts these bytes, so verify them against the wire formats.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "support/packet_writer.hpp"

using namespace pcaplens::testing;

namespace {

Bytes slice(const Bytes& b, size_t off, size_t n) {
  return Bytes(b.begin() + static_cast<std::ptrdiff_t>(off),
               b.begin() + static_cast<std::ptrdiff_t>(off + n));
}

size_t ipv4_ihl_bytes(const Bytes& ip) { return static_cast<size_t>(ip.at(0) & 0x0F) * 4; }

}  // namespace

TEST_CASE("packet_writer: byte helpers") {
  Bytes b;
  put_u8(b, 0x01);
  put_be16(b, 0x0203);
  put_be32(b, 0x04050607);
  put_le16(b, 0x0908);
  put_le32(b, 0x0D0C0B0A);
  put_le64(b, 0x1514131211100F0Eull);
  Bytes expect;
  for (uint8_t i = 1; i <= 0x15; ++i) expect.push_back(i);
  CHECK(b == expect);
  CHECK(get_be16(b, 1) == 0x0203);
  CHECK(get_be32(b, 3) == 0x04050607u);
  CHECK(get_le16(b, 7) == 0x0908);
  CHECK(get_le32(b, 9) == 0x0D0C0B0Au);
  CHECK(cat(Bytes{1, 2}, Bytes{}, Bytes{3}) == Bytes{1, 2, 3});
  CHECK(to_bytes("GET") == Bytes{'G', 'E', 'T'});
}

TEST_CASE("packet_writer: internet checksum") {
  // RFC 1071 section 3 example: sum ddf2 -> checksum 220d.
  const Bytes rfc{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  CHECK(internet_checksum(rfc) == 0x220D);
  // Odd length pads with a zero byte.
  CHECK(internet_checksum(Bytes{0x01}) == static_cast<uint16_t>(~0x0100 & 0xFFFF));
  // Appending the checksum makes the whole thing verify to 0.
  Bytes with = rfc;
  put_be16(with, 0x220D);
  CHECK(internet_checksum(with) == 0);
}

TEST_CASE("packet_writer: address parsing") {
  CHECK(ipv4_addr("10.0.0.1") == Ipv4Addr{10, 0, 0, 1});
  const Ipv6Addr v6 = ipv6_addr("2001:db8::1");
  CHECK(v6[0] == 0x20);
  CHECK(v6[1] == 0x01);
  CHECK(v6[15] == 0x01);
  CHECK(v6[8] == 0x00);
  CHECK(ipv6_addr("2001:0db8:0000:0000:0000:0000:0000:0001") == v6);
  CHECK(ipv6_addr("::ffff:10.0.0.1")[12] == 10);
  CHECK_THROWS_AS(ipv4_addr("10.0.0.256"), std::invalid_argument);
  CHECK_THROWS_AS(ipv6_addr("2001:::1"), std::invalid_argument);
}

TEST_CASE("packet_writer: TCP segment fields and checksum") {
  const Ipv4Addr src{192, 168, 1, 1}, dst{192, 168, 1, 2};
  TcpSpec t;
  t.sport = 40000;
  t.dport = 80;
  t.seq = 0x11223344;
  t.ack = 0x55667788;
  t.flags = tcpflag::SYN | tcpflag::ECE | tcpflag::CWR | tcpflag::AE;
  t.window = 1024;
  t.options = cat(opt_mss(1460), opt_sack_permitted(), opt_timestamps(7, 0), opt_nop(),
                  opt_wscale(7));  // 4+2+10+1+3 = 20
  t.payload = to_bytes("hello");
  const Bytes seg = tcp_segment(t, src, dst);

  REQUIRE(seg.size() == 20 + 20 + 5);
  CHECK(get_be16(seg, 0) == 40000);
  CHECK(get_be16(seg, 2) == 80);
  CHECK(get_be32(seg, 4) == 0x11223344u);
  CHECK(get_be32(seg, 8) == 0x55667788u);
  CHECK((seg[12] >> 4) == 10);      // data offset in words
  CHECK((seg[12] & 0x0F) == 0x01);  // AE bit
  CHECK(seg[13] == 0xC2);
  CHECK(get_be16(seg, 14) == 1024);
  CHECK(slice(seg, 20, 4) == Bytes{2, 4, 0x05, 0xB4});
  CHECK(l4_checksum(src, dst, ipproto::tcp, seg) == 0);

  // Options are zero-padded to a 4-byte boundary.
  TcpSpec t2;
  t2.options = opt_wscale(2);
  const Bytes seg2 = tcp_segment(t2, src, dst);
  CHECK(seg2.size() == 24);
  CHECK((seg2[12] >> 4) == 6);
  CHECK(slice(seg2, 20, 4) == Bytes{3, 3, 2, 0});

  t.bad_checksum = true;
  CHECK(l4_checksum(src, dst, ipproto::tcp, tcp_segment(t, src, dst)) != 0);

  TcpSpec t3;
  t3.data_offset_override = 3;
  t3.checksum_override = 0xBEEF;
  const Bytes seg3 = tcp_segment(t3, src, dst);
  CHECK((seg3[12] >> 4) == 3);
  CHECK(get_be16(seg3, 16) == 0xBEEF);
}

TEST_CASE("packet_writer: TCP option helpers") {
  CHECK(opt_eol() == Bytes{0});
  CHECK(opt_nop() == Bytes{1});
  CHECK(opt_sack_permitted() == Bytes{4, 2});
  const Bytes sack = opt_sack({{100, 200}, {300, 400}});
  REQUIRE(sack.size() == 18);
  CHECK(sack[0] == 5);
  CHECK(sack[1] == 18);
  CHECK(get_be32(sack, 2) == 100);
  CHECK(get_be32(sack, 14) == 400);
  const Bytes ts = opt_timestamps(0xAABBCCDD, 1);
  CHECK(ts.size() == 10);
  CHECK(get_be32(ts, 2) == 0xAABBCCDDu);
}

TEST_CASE("packet_writer: TCP checksum over IPv6 pseudo-header") {
  const Ipv6Addr src = ipv6_addr("fe80::1"), dst = ipv6_addr("fe80::2");
  TcpSpec t;
  t.flags = tcpflag::PSH | tcpflag::ACK;
  t.payload = to_bytes("odd");  // odd length exercises the pad byte
  const Bytes seg = tcp_segment(t, src, dst);
  CHECK(l4_checksum(src, dst, ipproto::tcp, seg) == 0);
  // The same segment must not verify against other addresses.
  CHECK(l4_checksum(ipv6_addr("fe80::3"), dst, ipproto::tcp, seg) != 0);
}

TEST_CASE("packet_writer: UDP datagram") {
  const Ipv4Addr src{10, 1, 1, 1}, dst{10, 1, 1, 2};
  const Bytes u = udp_datagram(5353, 53, to_bytes("query"), src, dst);
  CHECK(u.size() == 13);
  CHECK(get_be16(u, 4) == 13);
  CHECK(l4_checksum(src, dst, ipproto::udp, u) == 0);
  UdpSpec s;
  s.zero_checksum = true;
  CHECK(get_be16(udp_datagram(s, src, dst), 6) == 0);
  const Ipv6Addr a = ipv6_addr("::1");
  CHECK(l4_checksum(a, a, ipproto::udp, udp_datagram(1, 2, Bytes{9}, a, a)) == 0);
}

TEST_CASE("packet_writer: IPv4 header") {
  Ipv4Spec s;
  s.src = ipv4_addr("1.2.3.4");
  s.dst = ipv4_addr("5.6.7.8");
  s.id = 0x1234;
  s.ttl = 17;
  s.tos = 0xB8;
  s.options = Bytes{0x94, 0x04, 0x00, 0x00, 0x01};  // router alert + NOP -> padded to 8
  const Bytes payload = to_bytes("payload!");
  const Bytes ip = ipv4(s, payload);

  REQUIRE(ip.size() == 28 + payload.size());
  CHECK(ip[0] == 0x47);
  CHECK(ip[1] == 0xB8);
  CHECK(get_be16(ip, 2) == ip.size());
  CHECK(get_be16(ip, 4) == 0x1234);
  CHECK(get_be16(ip, 6) == 0x4000);  // DF only
  CHECK(ip[8] == 17);
  CHECK(ip[9] == ipproto::tcp);
  CHECK(slice(ip, 12, 4) == Bytes{1, 2, 3, 4});
  CHECK(slice(ip, 16, 4) == Bytes{5, 6, 7, 8});
  CHECK(internet_checksum(ip.data(), ipv4_ihl_bytes(ip)) == 0);
  CHECK(slice(ip, 28, payload.size()) == payload);

  s.bad_checksum = true;
  const Bytes bad = ipv4(s, payload);
  CHECK(internet_checksum(bad.data(), ipv4_ihl_bytes(bad)) != 0);

  Ipv4Spec o;
  o.total_length_override = 9999;
  o.ihl_override = 4;
  o.df = false;
  o.mf = true;
  o.frag_offset_bytes = 1480;
  const Bytes odd = ipv4(o, payload);
  CHECK(get_be16(odd, 2) == 9999);
  CHECK((odd[0] & 0x0F) == 4);
  CHECK(get_be16(odd, 6) == (0x2000 | 185));
}

TEST_CASE("packet_writer: IPv4 fragments reassemble") {
  Ipv4Spec s;
  s.id = 77;
  s.options = cat(Bytes{0x94, 0x04, 0x00, 0x00},         // router alert: copied
                  Bytes{0x07, 0x07, 0x04, 0, 0, 0, 0});  // record route: not copied
  Bytes payload;
  for (int i = 0; i < 1000; ++i) payload.push_back(static_cast<uint8_t>(i * 7));
  TcpSpec t;
  t.payload = payload;
  const Bytes l4 = tcp_segment(t, s.src, s.dst);

  const auto frags = ipv4_fragments(s, l4, 300);  // -> 296-byte chunks
  REQUIRE(frags.size() == 4);

  Bytes reassembled(l4.size(), 0xEE);
  for (size_t i = 0; i < frags.size(); ++i) {
    const Bytes& f = frags[i];
    const size_t hl = ipv4_ihl_bytes(f);
    CAPTURE(i);
    CHECK(internet_checksum(f.data(), hl) == 0);
    CHECK(get_be16(f, 2) == f.size());
    CHECK(get_be16(f, 4) == 77);
    const uint16_t ff = get_be16(f, 6);
    CHECK((ff & 0x4000) == 0);                                   // DF cleared
    CHECK(((ff & 0x2000) != 0) == (i + 1 < frags.size()));  // MF on all but last
    const size_t off = static_cast<size_t>(ff & 0x1FFF) * 8;
    CHECK(off == i * 296);
    CHECK(hl == (i == 0 ? 32u : 24u));  // only the copied option survives
    std::copy(f.begin() + static_cast<std::ptrdiff_t>(hl), f.end(),
              reassembled.begin() + static_cast<std::ptrdiff_t>(off));
  }
  CHECK(reassembled == l4);
  CHECK(l4_checksum(s.src, s.dst, ipproto::tcp, reassembled) == 0);

  // Tiny sizes are rounded up to the 8-byte minimum; empty payload gives one packet.
  CHECK(ipv4_fragments(s, Bytes(20, 1), 3).size() == 3);
  CHECK(ipv4_fragments(s, Bytes{}, 8).size() == 1);
}

TEST_CASE("packet_writer: IPv6 extension header chain") {
  const Bytes hbh = ipv6_hop_by_hop(Bytes{0x05, 0x02, 0x00, 0x00});  // router alert
  const Bytes dst_opts = ipv6_dest_options(Bytes{0x1E, 0x01, 0xAA});  // needs Pad1
  const Bytes rt = ipv6_routing(0, 1, {ipv6_addr("2001:db8::99")});
  const Bytes srh = ipv6_routing(4, 0, {});
  const Bytes frag = ipv6_fragment_header(1232, true, 0xCAFEBABE);

  CHECK(hbh.size() == 8);
  CHECK(hbh[1] == 0);
  CHECK(slice(hbh, 6, 2) == Bytes{0x01, 0x00});  // PadN with 0 data bytes
  CHECK(dst_opts.size() == 8);
  CHECK(dst_opts[7] == 0x00);  // Pad1
  CHECK(ipv6_dest_options(Bytes(7, 0x01)).size() == 16);
  CHECK(ipv6_dest_options(Bytes(7, 0x01))[1] == 1);
  CHECK(rt.size() == 24);
  CHECK(rt[1] == 2);
  CHECK(rt[2] == 0);
  CHECK(rt[3] == 1);
  CHECK(srh.size() == 8);
  CHECK(srh[2] == 4);
  CHECK(frag.size() == 8);
  CHECK(get_be16(frag, 2) == ((1232 / 8) << 3 | 1));
  CHECK(get_be32(frag, 4) == 0xCAFEBABEu);

  Ipv6Spec s;
  s.traffic_class = 0xAB;
  s.flow_label = 0x12345;
  s.hop_limit = 3;
  s.ext_headers = {{ipproto::hopopts, hbh},
                   {ipproto::routing, rt},
                   {ipproto::fragment, frag},
                   {ipproto::dstopts, dst_opts}};
  const Bytes l4 = tcp_segment(TcpSpec{}, s.src, s.dst);
  const Bytes pkt = ipv6(s, l4);

  CHECK(get_be32(pkt, 0) == 0x6AB12345u);
  CHECK(get_be16(pkt, 4) == pkt.size() - 40);
  CHECK(pkt[7] == 3);

  // Walk the chain exactly like a parser would.
  const std::vector<uint8_t> expect_types{ipproto::hopopts, ipproto::routing, ipproto::fragment,
                                          ipproto::dstopts, ipproto::tcp};
  uint8_t nh = pkt[6];
  size_t off = 40;
  size_t idx = 0;
  while (nh != ipproto::tcp) {
    REQUIRE(idx < 4);
    CHECK(nh == expect_types[idx]);
    const size_t len = nh == ipproto::fragment ? 8 : (static_cast<size_t>(pkt[off + 1]) + 1) * 8;
    CHECK(len % 8 == 0);
    nh = pkt[off];
    off += len;
    ++idx;
  }
  CHECK(idx == 4);
  CHECK(slice(pkt, off, pkt.size() - off) == l4);
}

TEST_CASE("packet_writer: IPv6 fragments") {
  Ipv6Spec s;
  TcpSpec t;
  t.payload = Bytes(500, 0x42);
  const Bytes l4 = tcp_segment(t, s.src, s.dst);
  const auto frags = ipv6_fragments(s, l4, 200, 9);
  REQUIRE(frags.size() == 3);
  Bytes re;
  for (size_t i = 0; i < frags.size(); ++i) {
    const Bytes& f = frags[i];
    CHECK(f[6] == ipproto::fragment);
    CHECK(f[40] == ipproto::tcp);
    const uint16_t om = get_be16(f, 42);
    CHECK((om >> 3) * 8 == re.size());
    CHECK(((om & 1) != 0) == (i + 1 < frags.size()));
    CHECK(get_be32(f, 44) == 9);
    CHECK(get_be16(f, 4) == f.size() - 40);
    re.insert(re.end(), f.begin() + 48, f.end());
  }
  CHECK(re == l4);
}

TEST_CASE("packet_writer: link layers") {
  const Bytes ip{0x45, 0xAA};

  const Bytes e = ethernet(kServerMac, kClientMac, ethertype::ipv4, ip);
  CHECK(e.size() == 16);
  CHECK(slice(e, 0, 6) == Bytes(kServerMac.begin(), kServerMac.end()));
  CHECK(slice(e, 6, 6) == Bytes(kClientMac.begin(), kClientMac.end()));
  CHECK(get_be16(e, 12) == 0x0800);

  const Bytes q = ethernet(kServerMac, kClientMac, ethertype::ipv6, ip,
                           {{ethertype::qinq, 100}, {ethertype::vlan, 0x2000 | 200}});
  REQUIRE(q.size() == 24);
  CHECK(get_be16(q, 12) == 0x88A8);
  CHECK(get_be16(q, 14) == 100);
  CHECK(get_be16(q, 16) == 0x8100);
  CHECK(get_be16(q, 18) == 0x20C8);
  CHECK(get_be16(q, 20) == 0x86DD);
  CHECK(slice(q, 22, 2) == ip);

  const Bytes sll = linux_sll(4, ethertype::ipv4, ip);
  REQUIRE(sll.size() == 18);
  CHECK(get_be16(sll, 0) == 4);
  CHECK(get_be16(sll, 2) == 1);
  CHECK(get_be16(sll, 4) == 6);
  CHECK(get_be16(sll, 14) == 0x0800);

  const Bytes sll2 = linux_sll2(ethertype::ipv6, 7, ip, 4);
  REQUIRE(sll2.size() == 22);
  CHECK(get_be16(sll2, 0) == 0x86DD);
  CHECK(get_be32(sll2, 4) == 7);
  CHECK(get_be16(sll2, 8) == 1);
  CHECK(sll2[10] == 4);
  CHECK(sll2[11] == 6);
  CHECK(slice(sll2, 20, 2) == ip);

  CHECK(null_loopback(af::inet, ip) == Bytes{2, 0, 0, 0, 0x45, 0xAA});
  CHECK(null_loopback(af::inet6_darwin, ip, true) == Bytes{0, 0, 0, 30, 0x45, 0xAA});
  CHECK(raw_ip(ip) == ip);
}

TEST_CASE("packet_writer: convenience frames") {
  const Bytes f = eth_ipv4_tcp("10.0.0.1", 1234, "10.0.0.2", 80, 100, 200,
                               tcpflag::PSH | tcpflag::ACK, to_bytes("GET / HTTP/1.1\r\n\r\n"),
                               512, opt_nop());
  const Bytes ip = slice(f, 14, f.size() - 14);
  CHECK(get_be16(f, 12) == 0x0800);
  CHECK(internet_checksum(ip.data(), 20) == 0);
  const Bytes seg = slice(ip, 20, ip.size() - 20);
  CHECK(l4_checksum(ipv4_addr("10.0.0.1"), ipv4_addr("10.0.0.2"), ipproto::tcp, seg) == 0);
  CHECK(get_be16(seg, 14) == 512);
  CHECK((seg[12] >> 4) == 6);

  const Bytes f6 = eth_ipv6_tcp("2001:db8::a", 1234, "2001:db8::b", 443, 1, 0, tcpflag::SYN);
  CHECK(get_be16(f6, 12) == 0x86DD);
  CHECK(f6.size() == 14 + 40 + 20);
  const Bytes seg6 = slice(f6, 54, 20);
  CHECK(l4_checksum(ipv6_addr("2001:db8::a"), ipv6_addr("2001:db8::b"), ipproto::tcp, seg6) == 0);
}

TEST_CASE("packet_writer: pcap global and record headers") {
  SUBCASE("little-endian microseconds") {
    PcapWriter w(linktype::ethernet);
    const Bytes expect{0xD4, 0xC3, 0xB2, 0xA1, 0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0,
                       0,    0,    0,    0,    0x00, 0x00, 0x04, 0x00, 1, 0, 0, 0};
    CHECK(w.bytes() == expect);
    w.add(1'500'000'000'123'456'789, Bytes(10, 0xAB), 0, 4);
    const Bytes& b = w.bytes();
    REQUIRE(b.size() == 24 + 16 + 4);
    CHECK(get_le32(b, 24) == 1'500'000'000u);
    CHECK(get_le32(b, 28) == 123'456u);
    CHECK(get_le32(b, 32) == 4);   // incl_len cut
    CHECK(get_le32(b, 36) == 10);  // orig_len kept
  }
  SUBCASE("big-endian nanoseconds") {
    PcapWriter w(linktype::raw, true, true, 65535);
    const Bytes expect{0xA1, 0xB2, 0x3C, 0x4D, 0x00, 0x02, 0x00, 0x04, 0, 0, 0,    0,
                       0,    0,    0,    0,    0x00, 0x00, 0xFF, 0xFF, 0, 0, 0x00, 101};
    CHECK(w.bytes() == expect);
    w.add(2'000'000'007, Bytes{1, 2, 3}, 1500);
    const Bytes& b = w.bytes();
    REQUIRE(b.size() == 24 + 16 + 3);
    CHECK(get_be32(b, 24) == 2);
    CHECK(get_be32(b, 28) == 7);
    CHECK(get_be32(b, 32) == 3);
    CHECK(get_be32(b, 36) == 1500);
    CHECK(w.packet_count() == 1);
  }
  SUBCASE("negative timestamps floor") {
    PcapWriter w(linktype::ethernet, true);
    w.add(-1, Bytes{});
    CHECK(get_le32(w.bytes(), 24) == 0xFFFFFFFFu);
    CHECK(get_le32(w.bytes(), 28) == 999'999'999u);
  }
}

namespace {
struct Block {
  uint32_t type;
  size_t offset;
  uint32_t length;
};
// Walks a pcapng buffer, checking both length fields of every block.
std::vector<Block> walk_pcapng(const Bytes& b, bool be) {
  std::vector<Block> out;
  size_t off = 0;
  auto rd32 = [&](size_t o) { return be ? get_be32(b, o) : get_le32(b, o); };
  while (off < b.size()) {
    REQUIRE(off + 12 <= b.size());
    const uint32_t type = rd32(off);
    const uint32_t len = rd32(off + 4);
    REQUIRE(len % 4 == 0);
    REQUIRE(len >= 12);
    REQUIRE(off + len <= b.size());
    CHECK(rd32(off + len - 4) == len);
    out.push_back({type, off, len});
    off += len;
  }
  CHECK(off == b.size());
  return out;
}
}  // namespace

TEST_CASE("packet_writer: pcapng structure") {
  for (bool be : {false, true}) {
    CAPTURE(be);
    auto rd32 = [&](const Bytes& b, size_t o) { return be ? get_be32(b, o) : get_le32(b, o); };
    auto rd16 = [&](const Bytes& b, size_t o) { return be ? get_be16(b, o) : get_le16(b, o); };

    PcapngWriter w(be);
    const uint32_t eth = w.add_interface(linktype::ethernet);
    const uint32_t raw = w.add_interface(linktype::raw, 9, 1000);
    CHECK(eth == 0);
    CHECK(raw == 1);
    w.add(eth, 1'000'000'123'456'789, Bytes(61, 1));
    w.add(raw, 1'000'000'123'456'789, Bytes(3, 2), 99);
    w.new_section();
    CHECK(w.add_interface(linktype::linux_sll) == 0);

    const Bytes& b = w.bytes();
    const auto blocks = walk_pcapng(b, be);
    REQUIRE(blocks.size() == 7);  // SHB IDB IDB EPB EPB | SHB IDB
    CHECK(blocks[0].type == 0x0A0D0D0Au);
    CHECK(blocks[0].length == 28);
    CHECK(slice(b, 8, 4) == (be ? Bytes{0x1A, 0x2B, 0x3C, 0x4D} : Bytes{0x4D, 0x3C, 0x2B, 0x1A}));
    CHECK(rd16(b, 12) == 1);
    CHECK(rd16(b, 14) == 0);

    // IDB without options, then IDB with if_tsresol=9.
    CHECK(blocks[1].type == 1);
    CHECK(blocks[1].length == 20);
    CHECK(rd16(b, blocks[1].offset + 8) == 1);
    CHECK(blocks[2].type == 1);
    CHECK(blocks[2].length == 32);
    const size_t idb2 = blocks[2].offset;
    CHECK(rd16(b, idb2 + 8) == 101);
    CHECK(rd32(b, idb2 + 12) == 1000);
    CHECK(rd16(b, idb2 + 16) == 9);  // if_tsresol
    CHECK(rd16(b, idb2 + 18) == 1);
    CHECK(b[idb2 + 20] == 9);
    CHECK(rd16(b, idb2 + 24) == 0);  // opt_endofopt

    // EPB: 61 bytes padded to 64.
    CHECK(blocks[3].type == 6);
    CHECK(blocks[3].length == 32 + 64);
    const size_t e1 = blocks[3].offset;
    const uint64_t us = (uint64_t{rd32(b, e1 + 12)} << 32) | rd32(b, e1 + 16);
    CHECK(us == 1'000'000'123'456u);
    CHECK(rd32(b, e1 + 20) == 61);
    CHECK(rd32(b, e1 + 24) == 61);
    CHECK(b[e1 + 28 + 61] == 0);  // padding

    const size_t e2 = blocks[4].offset;
    CHECK(rd32(b, e2 + 8) == 1);
    const uint64_t ns = (uint64_t{rd32(b, e2 + 12)} << 32) | rd32(b, e2 + 16);
    CHECK(ns == 1'000'000'123'456'789u);
    CHECK(rd32(b, e2 + 20) == 3);
    CHECK(rd32(b, e2 + 24) == 99);

    CHECK(blocks[5].type == 0x0A0D0D0Au);
    CHECK(blocks[6].type == 1);
    CHECK(w.packet_count() == 2);
  }
  CHECK(PcapngWriter::to_units(1'500'000'000, 3) == 1500);
  CHECK(PcapngWriter::to_units(1'500'000'000, 0x80 | 10) == 1536);  // 2^-10 s units
}

TEST_CASE("packet_writer: TcpConversation tracks sequence numbers") {
  TcpConversation c("10.0.0.1", 40000, "10.0.0.2", 80, 1000, 5000, 1'000'000'000, 500);
  CHECK(c.ts() == 1'000'000'000);

  auto tcp_of = [](const Bytes& frame) { return slice(frame, 34, frame.size() - 34); };

  const Bytes syn = tcp_of(c.syn(opt_mss(1460)));
  CHECK(get_be32(syn, 4) == 1000);
  CHECK(syn[13] == tcpflag::SYN);
  CHECK(get_be16(syn, 0) == 40000);
  CHECK(c.client_seq() == 1001);

  const Bytes sa = tcp_of(c.synack());
  CHECK(get_be32(sa, 4) == 5000);
  CHECK(get_be32(sa, 8) == 1001);
  CHECK(get_be16(sa, 0) == 80);
  CHECK(c.server_seq() == 5001);

  const Bytes a = tcp_of(c.ack());
  CHECK(get_be32(a, 4) == 1001);
  CHECK(get_be32(a, 8) == 5001);

  c.client_data("GET / HTTP/1.1\r\nHost: x\r\n\r\n");  // 27 bytes
  CHECK(c.client_seq() == 1028);
  CHECK(c.server_ack_no() == 1028);
  c.advance_time(1'000'000);
  const Bytes resp = tcp_of(c.server_data(to_bytes("HTTP/1.1 200 OK\r\n\r\n")));
  CHECK(get_be32(resp, 8) == 1028);
  CHECK(c.server_seq() == 5020);

  c.client_fin();
  CHECK(c.client_seq() == 1029);
  const Bytes sf = tcp_of(c.server_fin());
  CHECK(get_be32(sf, 8) == 1029);
  CHECK(sf[13] == (tcpflag::FIN | tcpflag::ACK));
  CHECK(c.server_seq() == 5021);
  const Bytes last = tcp_of(c.client_ack());
  CHECK(get_be32(last, 8) == 5021);

  // packet() is exact and leaves tracking alone.
  const Bytes raw = tcp_of(c.packet(false, 1, 2, tcpflag::RST, {}, 0));
  CHECK(get_be32(raw, 4) == 1);
  CHECK(raw[13] == tcpflag::RST);
  CHECK(c.server_seq() == 5021);

  const auto& p = c.packets();
  REQUIRE(p.size() == 9);
  CHECK(p[0].first == 1'000'000'000);
  CHECK(p[1].first == 1'000'000'500);
  CHECK(p[4].first == 1'000'000'000 + 4 * 500 + 1'000'000);
  for (const auto& [ts, frame] : p) {
    const Bytes ip = slice(frame, 14, frame.size() - 14);
    CHECK(internet_checksum(ip.data(), 20) == 0);
    CHECK(l4_checksum(slice(ip, 12, 4) == Bytes{10, 0, 0, 1} ? ipv4_addr("10.0.0.1")
                                                             : ipv4_addr("10.0.0.2"),
                      slice(ip, 16, 4) == Bytes{10, 0, 0, 1} ? ipv4_addr("10.0.0.1")
                                                             : ipv4_addr("10.0.0.2"),
                      ipproto::tcp, slice(ip, 20, ip.size() - 20)) == 0);
  }

  PcapWriter w = c.to_pcap(true);
  CHECK(w.packet_count() == 9);
}

TEST_CASE("packet_writer: TcpConversation IPv6 and framings") {
  TcpConversation c("2001:db8::1", 1, "2001:db8::2", 2, 0xFFFFFFFF, 7);
  const Bytes syn = c.syn();
  CHECK(get_be16(syn, 12) == 0x86DD);
  CHECK(c.client_seq() == 0);  // wraps
  CHECK(c.is_ipv6());
  CHECK(c.linktype() == linktype::ethernet);

  TcpConversation r("10.0.0.1", 1, "10.0.0.2", 2, 0, 0, 0, 1, Framing::raw_ip);
  CHECK(r.syn()[0] == 0x45);
  CHECK(r.linktype() == linktype::raw);

  TcpConversation s("10.0.0.1", 1, "10.0.0.2", 2, 0, 0, 0, 1, Framing::linux_sll);
  const Bytes f = s.synack();
  CHECK(get_be16(f, 0) == 0);  // to us
  CHECK(get_be16(f, 14) == 0x0800);
  CHECK(s.linktype() == linktype::linux_sll);

  CHECK_THROWS_AS(TcpConversation("10.0.0.1", 1, "::1", 2), std::invalid_argument);
}

TEST_CASE("packet_writer: write_file round trip") {
  TcpConversation c("10.0.0.1", 1, "10.0.0.2", 2);
  c.syn();
  const std::string path =
      (std::filesystem::temp_directory_path() / "pcaplens_packet_writer_test.pcap").string();
  c.write_pcap(path);
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  const Bytes disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  std::remove(path.c_str());
  CHECK(disk == c.to_pcap().bytes());
  CHECK_THROWS_AS(c.write_pcap("/nonexistent-dir/x.pcap"), std::runtime_error);
}

TEST_CASE("packet_writer: specs accept partial designated initializers") {
  // Compiles warning-free under -Wextra only because every vector member
  // has a default member initializer; keep it that way.
  const TcpSpec t{.sport = 1, .flags = tcpflag::SYN, .bad_checksum = true};
  const Ipv4Spec ip{.proto = ipproto::udp, .df = false};
  const Ipv6Spec ip6{.hop_limit = 1};
  const UdpSpec u{.dport = 9, .zero_checksum = true};
  CHECK(tcp_segment(t, ip.src, ip.dst)[13] == tcpflag::SYN);
  CHECK(ipv4(ip, udp_datagram(u, ip.src, ip.dst))[9] == ipproto::udp);
  CHECK(ipv6(ip6, {})[7] == 1);
}
