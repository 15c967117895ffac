// pcaplens test support: byte-exact packet and capture-file construction.
//
// Header-only; depends only on the C++ standard library plus POSIX
// inet_pton. Builders never validate their input on purpose: tests need
// to produce malformed packets, so every length/checksum a parser might
// trust has an override knob (*_override, bad_checksum, ...).
//
// Conventions:
//  * All builders return a fresh Bytes; compose them inside-out
//    (tcp_segment -> ipv4 -> ethernet).
//  * Multi-byte packet fields are big-endian (network order); only the
//    capture-file writers and DLT_NULL honour a big_endian flag.
//  * Timestamps are int64 nanoseconds since the Unix epoch everywhere.
#pragma once

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pcaplens::testing {

using Bytes = std::vector<uint8_t>;
using Ipv4Addr = std::array<uint8_t, 4>;
using Ipv6Addr = std::array<uint8_t, 16>;
using MacAddr = std::array<uint8_t, 6>;

// Values as stored in capture files (LINKTYPE_*), which is what a reader
// sees. Named constants instead of DLT_* so this header can coexist with
// <pcap.h> macros (and DLT_RAW is 12 or 14 on some BSDs, but 101 on disk).
namespace linktype {
inline constexpr int null = 0;  // 4-byte AF in the *writer's* host order
inline constexpr int ethernet = 1;
inline constexpr int raw = 101;  // LINKTYPE_RAW: bare IPv4 or IPv6
inline constexpr int loop = 108;  // like null, but AF is big-endian
inline constexpr int linux_sll = 113;
inline constexpr int ipv4 = 228;
inline constexpr int ipv6 = 229;
inline constexpr int linux_sll2 = 276;
}  // namespace linktype

namespace ethertype {
inline constexpr uint16_t ipv4 = 0x0800;
inline constexpr uint16_t arp = 0x0806;
inline constexpr uint16_t vlan = 0x8100;  // 802.1Q
inline constexpr uint16_t ipv6 = 0x86DD;
inline constexpr uint16_t qinq = 0x88A8;  // 802.1ad service tag
}  // namespace ethertype

namespace ipproto {
inline constexpr uint8_t hopopts = 0;
inline constexpr uint8_t tcp = 6;
inline constexpr uint8_t udp = 17;
inline constexpr uint8_t routing = 43;
inline constexpr uint8_t fragment = 44;
inline constexpr uint8_t icmpv6 = 58;
inline constexpr uint8_t none = 59;
inline constexpr uint8_t dstopts = 60;
}  // namespace ipproto

// Address-family values seen in DLT_NULL / DLT_LOOP headers. AF_INET6
// differs per OS, so readers must accept all of them.
namespace af {
inline constexpr uint32_t inet = 2;
inline constexpr uint32_t inet6_linux = 10;
inline constexpr uint32_t inet6_bsd = 24;  // NetBSD, OpenBSD
inline constexpr uint32_t inet6_freebsd = 28;
inline constexpr uint32_t inet6_darwin = 30;
}  // namespace af

namespace tcpflag {
inline constexpr uint16_t FIN = 0x01;
inline constexpr uint16_t SYN = 0x02;
inline constexpr uint16_t RST = 0x04;
inline constexpr uint16_t PSH = 0x08;
inline constexpr uint16_t ACK = 0x10;
inline constexpr uint16_t URG = 0x20;
inline constexpr uint16_t ECE = 0x40;
inline constexpr uint16_t CWR = 0x80;
inline constexpr uint16_t AE = 0x100;  // ex-NS; lives in the data-offset byte
}  // namespace tcpflag

inline constexpr MacAddr kClientMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
inline constexpr MacAddr kServerMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

// ---------------------------------------------------------------------------
// Byte building
// ---------------------------------------------------------------------------

inline void put_u8(Bytes& b, uint8_t v) { b.push_back(v); }
inline void put_be16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put_be32(Bytes& b, uint32_t v) {
  put_be16(b, static_cast<uint16_t>(v >> 16));
  put_be16(b, static_cast<uint16_t>(v));
}
inline void put_be64(Bytes& b, uint64_t v) {
  put_be32(b, static_cast<uint32_t>(v >> 32));
  put_be32(b, static_cast<uint32_t>(v));
}
inline void put_le16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
inline void put_le32(Bytes& b, uint32_t v) {
  put_le16(b, static_cast<uint16_t>(v));
  put_le16(b, static_cast<uint16_t>(v >> 16));
}
inline void put_le64(Bytes& b, uint64_t v) {
  put_le32(b, static_cast<uint32_t>(v));
  put_le32(b, static_cast<uint32_t>(v >> 32));
}
// Byte-order-selectable variants, for the file writers.
inline void put_u16(Bytes& b, uint16_t v, bool big_endian) {
  big_endian ? put_be16(b, v) : put_le16(b, v);
}
inline void put_u32(Bytes& b, uint32_t v, bool big_endian) {
  big_endian ? put_be32(b, v) : put_le32(b, v);
}
inline void put_u64(Bytes& b, uint64_t v, bool big_endian) {
  big_endian ? put_be64(b, v) : put_le64(b, v);
}
template <size_t N>
inline void put_array(Bytes& b, const std::array<uint8_t, N>& a) {
  b.insert(b.end(), a.begin(), a.end());
}
inline void put_bytes(Bytes& b, const Bytes& src) {
  b.insert(b.end(), src.begin(), src.end());
}
inline void put_zeros(Bytes& b, size_t n) { b.insert(b.end(), n, uint8_t{0}); }

// Readers, handy for assertions in tests (no bounds checks beyond .at()).
inline uint16_t get_be16(const Bytes& b, size_t off) {
  return static_cast<uint16_t>((b.at(off) << 8) | b.at(off + 1));
}
inline uint32_t get_be32(const Bytes& b, size_t off) {
  return (static_cast<uint32_t>(get_be16(b, off)) << 16) | get_be16(b, off + 2);
}
inline uint16_t get_le16(const Bytes& b, size_t off) {
  return static_cast<uint16_t>(b.at(off) | (b.at(off + 1) << 8));
}
inline uint32_t get_le32(const Bytes& b, size_t off) {
  return get_le16(b, off) | (static_cast<uint32_t>(get_le16(b, off + 2)) << 16);
}
inline void set_be16(Bytes& b, size_t off, uint16_t v) {
  b.at(off) = static_cast<uint8_t>(v >> 8);
  b.at(off + 1) = static_cast<uint8_t>(v);
}

// Concatenate any number of Bytes (e.g. TCP options: cat(opt_mss(1460), opt_nop())).
template <class... Parts>
inline Bytes cat(const Parts&... parts) {
  Bytes out;
  (out.insert(out.end(), parts.begin(), parts.end()), ...);
  return out;
}
inline Bytes to_bytes(std::string_view s) {
  Bytes b;
  b.reserve(s.size());
  for (char c : s) b.push_back(static_cast<uint8_t>(c));
  return b;
}

// ---------------------------------------------------------------------------
// Internet checksum (RFC 1071)
// ---------------------------------------------------------------------------

// Unfolded one's-complement sum; chain calls to checksum several pieces.
// Only the final piece may have odd length (an odd piece is zero-padded).
// A 64-bit accumulator cannot overflow for any realistic buffer.
inline uint64_t checksum_add(const uint8_t* p, size_t n, uint64_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2)
    sum += (static_cast<uint32_t>(p[i]) << 8) | p[i + 1];
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1]) << 8;
  return sum;
}
inline uint16_t checksum_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xFFFF);
}
// Returns 0 when run over data that already contains a correct checksum.
inline uint16_t internet_checksum(const uint8_t* p, size_t n) {
  return checksum_fold(checksum_add(p, n));
}
inline uint16_t internet_checksum(const Bytes& b) {
  return internet_checksum(b.data(), b.size());
}

// TCP/UDP checksum including the pseudo-header. `segment` is the whole L4
// header+payload; result is 0 if its checksum field is already correct.
inline uint16_t l4_checksum(const Ipv4Addr& src, const Ipv4Addr& dst, uint8_t proto,
                            const Bytes& segment) {
  Bytes ph;
  put_array(ph, src);
  put_array(ph, dst);
  put_u8(ph, 0);
  put_u8(ph, proto);
  put_be16(ph, static_cast<uint16_t>(segment.size()));
  return checksum_fold(
      checksum_add(segment.data(), segment.size(), checksum_add(ph.data(), ph.size())));
}
inline uint16_t l4_checksum(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                            const Bytes& segment) {
  Bytes ph;
  put_array(ph, src);
  put_array(ph, dst);
  put_be32(ph, static_cast<uint32_t>(segment.size()));
  put_zeros(ph, 3);
  put_u8(ph, next_header);
  return checksum_fold(
      checksum_add(segment.data(), segment.size(), checksum_add(ph.data(), ph.size())));
}

namespace detail {
// XOR with 0x5555 can never turn a checksum into its one's-complement
// twin (0x0000 <-> 0xFFFF), so the result is guaranteed to verify as bad.
inline uint16_t corrupt(uint16_t c) { return static_cast<uint16_t>(c ^ 0x5555); }
inline void pad4(Bytes& b, uint8_t fill = 0) {
  while (b.size() % 4) b.push_back(fill);
}
}  // namespace detail

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

inline Ipv4Addr ipv4_addr(const std::string& s) {
  Ipv4Addr a{};
  if (inet_pton(AF_INET, s.c_str(), a.data()) != 1)
    throw std::invalid_argument("bad IPv4 address: " + s);
  return a;
}
inline Ipv6Addr ipv6_addr(const std::string& s) {
  Ipv6Addr a{};
  if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1)
    throw std::invalid_argument("bad IPv6 address: " + s);
  return a;
}
inline bool is_ipv6_string(const std::string& s) {
  return s.find(':') != std::string::npos;
}

// ---------------------------------------------------------------------------
// TCP / UDP
// ---------------------------------------------------------------------------

struct TcpSpec {
  uint16_t sport = 12345;
  uint16_t dport = 80;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t flags = 0;  // tcpflag::*; bits 0x100..0x800 go to the data-offset byte
  uint16_t window = 65535;
  uint16_t urg = 0;
  Bytes options{};  // raw option bytes; zero (EOL) padded to 4 by the builder
  Bytes payload{};
  bool bad_checksum = false;
  int data_offset_override = -1;  // 32-bit words, 0..15; -1 = computed
  int checksum_override = -1;     // exact checksum field value; -1 = computed
};

inline Bytes opt_eol() { return {0}; }
inline Bytes opt_nop() { return {1}; }
inline Bytes opt_mss(uint16_t mss) {
  Bytes b{2, 4};
  put_be16(b, mss);
  return b;
}
inline Bytes opt_wscale(uint8_t shift) { return {3, 3, shift}; }
inline Bytes opt_sack_permitted() { return {4, 2}; }
inline Bytes opt_sack(const std::vector<std::pair<uint32_t, uint32_t>>& blocks) {
  Bytes b{5, static_cast<uint8_t>(2 + 8 * blocks.size())};
  for (const auto& [l, r] : blocks) {
    put_be32(b, l);
    put_be32(b, r);
  }
  return b;
}
inline Bytes opt_timestamps(uint32_t val, uint32_t ecr) {
  Bytes b{8, 10};
  put_be32(b, val);
  put_be32(b, ecr);
  return b;
}

namespace detail {
template <class Addr>
inline Bytes tcp_segment_impl(const TcpSpec& s, const Addr& src, const Addr& dst) {
  Bytes opts = s.options;
  pad4(opts);
  const size_t hlen = 20 + opts.size();
  const auto doff = static_cast<uint8_t>(
      s.data_offset_override >= 0 ? s.data_offset_override : static_cast<int>(hlen / 4));
  Bytes b;
  b.reserve(hlen + s.payload.size());
  put_be16(b, s.sport);
  put_be16(b, s.dport);
  put_be32(b, s.seq);
  put_be32(b, s.ack);
  put_u8(b, static_cast<uint8_t>(((doff & 0x0F) << 4) | ((s.flags >> 8) & 0x0F)));
  put_u8(b, static_cast<uint8_t>(s.flags & 0xFF));
  put_be16(b, s.window);
  put_be16(b, 0);  // checksum, patched below
  put_be16(b, s.urg);
  put_bytes(b, opts);
  put_bytes(b, s.payload);
  uint16_t c = l4_checksum(src, dst, ipproto::tcp, b);
  if (s.bad_checksum) c = corrupt(c);
  if (s.checksum_override >= 0) c = static_cast<uint16_t>(s.checksum_override);
  set_be16(b, 16, c);
  return b;
}
}  // namespace detail

inline Bytes tcp_segment(const TcpSpec& s, const Ipv4Addr& src, const Ipv4Addr& dst) {
  return detail::tcp_segment_impl(s, src, dst);
}
inline Bytes tcp_segment(const TcpSpec& s, const Ipv6Addr& src, const Ipv6Addr& dst) {
  return detail::tcp_segment_impl(s, src, dst);
}

struct UdpSpec {
  uint16_t sport = 12345;
  uint16_t dport = 53;
  Bytes payload{};
  bool bad_checksum = false;
  bool zero_checksum = false;  // "no checksum": legal on IPv4, illegal on IPv6
  int length_override = -1;    // UDP length field; -1 = 8 + payload
};

namespace detail {
template <class Addr>
inline Bytes udp_impl(const UdpSpec& s, const Addr& src, const Addr& dst) {
  Bytes b;
  put_be16(b, s.sport);
  put_be16(b, s.dport);
  put_be16(b, static_cast<uint16_t>(s.length_override >= 0 ? s.length_override
                                                           : static_cast<int>(8 + s.payload.size())));
  put_be16(b, 0);
  put_bytes(b, s.payload);
  uint16_t c = l4_checksum(src, dst, ipproto::udp, b);
  if (c == 0) c = 0xFFFF;  // RFC 768: computed zero is sent as all ones
  if (s.bad_checksum) c = corrupt(c);
  if (s.zero_checksum) c = 0;
  set_be16(b, 6, c);
  return b;
}
}  // namespace detail

inline Bytes udp_datagram(const UdpSpec& s, const Ipv4Addr& src, const Ipv4Addr& dst) {
  return detail::udp_impl(s, src, dst);
}
inline Bytes udp_datagram(const UdpSpec& s, const Ipv6Addr& src, const Ipv6Addr& dst) {
  return detail::udp_impl(s, src, dst);
}
inline Bytes udp_datagram(uint16_t sport, uint16_t dport, const Bytes& payload,
                          const Ipv4Addr& src, const Ipv4Addr& dst) {
  return udp_datagram(UdpSpec{sport, dport, payload}, src, dst);
}
inline Bytes udp_datagram(uint16_t sport, uint16_t dport, const Bytes& payload,
                          const Ipv6Addr& src, const Ipv6Addr& dst) {
  return udp_datagram(UdpSpec{sport, dport, payload}, src, dst);
}

// ---------------------------------------------------------------------------
// IPv4
// ---------------------------------------------------------------------------

struct Ipv4Spec {
  Ipv4Addr src{10, 0, 0, 1};
  Ipv4Addr dst{10, 0, 0, 2};
  uint8_t proto = ipproto::tcp;
  uint8_t ttl = 64;
  uint16_t id = 0;
  bool df = true;
  bool mf = false;
  uint16_t frag_offset_bytes = 0;  // must be a multiple of 8 (low bits dropped)
  Bytes options{};                   // raw; zero (EOL) padded to 4
  int total_length_override = -1;
  uint8_t tos = 0;
  int ihl_override = -1;  // 32-bit words, 0..15
  bool bad_checksum = false;
  bool reserved_flag = false;  // the "evil bit"
};

inline Bytes ipv4(const Ipv4Spec& s, const Bytes& l4payload) {
  Bytes opts = s.options;
  detail::pad4(opts);
  const size_t hlen = 20 + opts.size();
  const int ihl = s.ihl_override >= 0 ? s.ihl_override : static_cast<int>(hlen / 4);
  const int total = s.total_length_override >= 0
                        ? s.total_length_override
                        : static_cast<int>(hlen + l4payload.size());
  Bytes b;
  b.reserve(hlen + l4payload.size());
  put_u8(b, static_cast<uint8_t>(0x40 | (ihl & 0x0F)));
  put_u8(b, s.tos);
  put_be16(b, static_cast<uint16_t>(total));
  put_be16(b, s.id);
  put_be16(b, static_cast<uint16_t>((s.reserved_flag ? 0x8000 : 0) | (s.df ? 0x4000 : 0) |
                                    (s.mf ? 0x2000 : 0) | ((s.frag_offset_bytes / 8) & 0x1FFF)));
  put_u8(b, s.ttl);
  put_u8(b, s.proto);
  put_be16(b, 0);
  put_array(b, s.src);
  put_array(b, s.dst);
  put_bytes(b, opts);
  uint16_t c = internet_checksum(b.data(), hlen);
  if (s.bad_checksum) c = detail::corrupt(c);
  set_be16(b, 10, c);
  put_bytes(b, l4payload);
  return b;
}

namespace detail {
// RFC 791: only options with the "copied" bit go into non-first fragments.
inline Bytes ipv4_copied_options(const Bytes& opts) {
  Bytes out;
  size_t i = 0;
  while (i < opts.size()) {
    const uint8_t type = opts[i];
    if (type == 0) break;
    if (type == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= opts.size() || opts[i + 1] < 2) break;
    const size_t len = std::min<size_t>(opts[i + 1], opts.size() - i);
    if (type & 0x80) out.insert(out.end(), opts.begin() + static_cast<std::ptrdiff_t>(i),
                                opts.begin() + static_cast<std::ptrdiff_t>(i + len));
    i += len;
  }
  return out;
}
}  // namespace detail

// Splits `l4` (a full L4 segment, checksum already computed) into real IPv4
// fragments, in order. frag_payload_size is rounded down to a multiple of 8
// (minimum 8). DF is cleared; the last fragment carries spec.mf; offsets
// start at spec.frag_offset_bytes.
inline std::vector<Bytes> ipv4_fragments(const Ipv4Spec& spec, const Bytes& l4,
                                         size_t frag_payload_size) {
  const size_t chunk = std::max<size_t>(8, frag_payload_size / 8 * 8);
  const Bytes copied = detail::ipv4_copied_options(spec.options);
  std::vector<Bytes> out;
  size_t off = 0;
  do {
    const size_t n = std::min(chunk, l4.size() - off);
    const bool last = off + n >= l4.size();
    Ipv4Spec f = spec;
    f.df = false;
    f.mf = last ? spec.mf : true;
    f.frag_offset_bytes = static_cast<uint16_t>(spec.frag_offset_bytes + off);
    f.total_length_override = -1;
    if (off != 0) f.options = copied;
    const auto first = l4.begin() + static_cast<std::ptrdiff_t>(off);
    out.push_back(ipv4(f, Bytes(first, first + static_cast<std::ptrdiff_t>(n))));
    off += n;
  } while (off < l4.size());
  return out;
}

// ---------------------------------------------------------------------------
// IPv6
// ---------------------------------------------------------------------------

struct Ipv6Spec {
  Ipv6Addr src{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};  // 2001:db8::1
  Ipv6Addr dst{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};  // 2001:db8::2
  uint8_t next_header = ipproto::tcp;  // protocol of the L4 payload (after ext headers)
  uint8_t hop_limit = 64;
  // (header type, full header bytes as made by the ipv6_* helpers below).
  // ipv6() rewrites byte 0 (Next Header) of each to chain them; the length
  // byte is left alone so tests can break it deliberately.
  std::vector<std::pair<uint8_t, Bytes>> ext_headers{};
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;
  int payload_length_override = -1;
};

inline Bytes ipv6(const Ipv6Spec& s, const Bytes& l4payload) {
  size_t ext_len = 0;
  for (const auto& e : s.ext_headers) ext_len += e.second.size();
  const int plen = s.payload_length_override >= 0
                       ? s.payload_length_override
                       : static_cast<int>(ext_len + l4payload.size());
  Bytes b;
  b.reserve(40 + ext_len + l4payload.size());
  put_be32(b, (6u << 28) | (static_cast<uint32_t>(s.traffic_class) << 20) |
                  (s.flow_label & 0xFFFFF));
  put_be16(b, static_cast<uint16_t>(plen));
  put_u8(b, s.ext_headers.empty() ? s.next_header : s.ext_headers.front().first);
  put_u8(b, s.hop_limit);
  put_array(b, s.src);
  put_array(b, s.dst);
  for (size_t i = 0; i < s.ext_headers.size(); ++i) {
    Bytes h = s.ext_headers[i].second;
    if (!h.empty())
      h[0] = i + 1 < s.ext_headers.size() ? s.ext_headers[i + 1].first : s.next_header;
    put_bytes(b, h);
  }
  put_bytes(b, l4payload);
  return b;
}

namespace detail {
// Hop-by-hop and destination options share a format: TLV options padded
// with Pad1/PadN to a multiple of 8 octets; length in 8-octet units minus 1.
inline Bytes ipv6_options_header(const Bytes& options) {
  Bytes b{0, 0};
  put_bytes(b, options);
  const size_t pad = (8 - b.size() % 8) % 8;
  if (pad == 1) {
    put_u8(b, 0);  // Pad1
  } else if (pad >= 2) {
    put_u8(b, 1);  // PadN
    put_u8(b, static_cast<uint8_t>(pad - 2));
    put_zeros(b, pad - 2);
  }
  b[1] = static_cast<uint8_t>(b.size() / 8 - 1);
  return b;
}
}  // namespace detail

// `options` are raw TLV option bytes (may be empty).
inline Bytes ipv6_hop_by_hop(const Bytes& options = {}) {
  return detail::ipv6_options_header(options);
}
inline Bytes ipv6_dest_options(const Bytes& options = {}) {
  return detail::ipv6_options_header(options);
}
// Type 0 (deprecated, RFC 5095) or type 4 (SRH, RFC 8754), minimal form.
inline Bytes ipv6_routing(uint8_t routing_type = 0, uint8_t segments_left = 0,
                          const std::vector<Ipv6Addr>& addrs = {}) {
  Bytes b{0, static_cast<uint8_t>(2 * addrs.size()), routing_type, segments_left};
  if (routing_type == 4) {
    put_u8(b, static_cast<uint8_t>(addrs.empty() ? 0 : addrs.size() - 1));  // last entry
    put_u8(b, 0);                                                            // flags
    put_be16(b, 0);                                                          // tag
  } else {
    put_be32(b, 0);  // reserved
  }
  for (const auto& a : addrs) put_array(b, a);
  return b;
}
inline Bytes ipv6_fragment_header(uint16_t offset_bytes, bool more, uint32_t id) {
  Bytes b{0, 0};
  put_be16(b, static_cast<uint16_t>(((offset_bytes / 8) << 3) | (more ? 1 : 0)));
  put_be32(b, id);
  return b;
}

// Fragments `l4` behind a Fragment header. spec.ext_headers are treated as
// the unfragmentable part and repeated in every fragment.
inline std::vector<Bytes> ipv6_fragments(const Ipv6Spec& spec, const Bytes& l4,
                                         size_t frag_payload_size, uint32_t frag_id = 1) {
  const size_t chunk = std::max<size_t>(8, frag_payload_size / 8 * 8);
  std::vector<Bytes> out;
  size_t off = 0;
  do {
    const size_t n = std::min(chunk, l4.size() - off);
    const bool last = off + n >= l4.size();
    Ipv6Spec f = spec;
    f.payload_length_override = -1;
    f.ext_headers.emplace_back(
        ipproto::fragment, ipv6_fragment_header(static_cast<uint16_t>(off), !last, frag_id));
    const auto first = l4.begin() + static_cast<std::ptrdiff_t>(off);
    out.push_back(ipv6(f, Bytes(first, first + static_cast<std::ptrdiff_t>(n))));
    off += n;
  } while (off < l4.size());
  return out;
}

// ---------------------------------------------------------------------------
// Link layers
// ---------------------------------------------------------------------------

// vlan_tags are (TPID, TCI), outermost first, e.g. {{0x88a8, 100}, {0x8100, 200}}.
// No padding to 60 bytes: append zeros yourself to test trailer handling.
inline Bytes ethernet(const MacAddr& dst, const MacAddr& src, uint16_t ethertype,
                      const Bytes& payload,
                      const std::vector<std::pair<uint16_t, uint16_t>>& vlan_tags = {}) {
  Bytes b;
  b.reserve(14 + 4 * vlan_tags.size() + payload.size());
  put_array(b, dst);
  put_array(b, src);
  for (const auto& [tpid, tci] : vlan_tags) {
    put_be16(b, tpid);
    put_be16(b, tci);
  }
  put_be16(b, ethertype);
  put_bytes(b, payload);
  return b;
}

// DLT_LINUX_SLL (113): 16-byte header. packet_type: 0 host, 1 broadcast,
// 2 multicast, 3 other host, 4 outgoing.
inline Bytes linux_sll(uint16_t packet_type, uint16_t ethertype, const Bytes& payload,
                       const MacAddr& addr = kClientMac, uint16_t arphrd = 1) {
  Bytes b;
  put_be16(b, packet_type);
  put_be16(b, arphrd);
  put_be16(b, 6);
  put_array(b, addr);
  put_zeros(b, 2);
  put_be16(b, ethertype);
  put_bytes(b, payload);
  return b;
}

// DLT_LINUX_SLL2 (276): 20-byte header, protocol first.
inline Bytes linux_sll2(uint16_t ethertype, uint32_t ifindex, const Bytes& payload,
                        uint8_t packet_type = 0, const MacAddr& addr = kClientMac,
                        uint16_t arphrd = 1) {
  Bytes b;
  put_be16(b, ethertype);
  put_be16(b, 0);  // reserved
  put_be32(b, ifindex);
  put_be16(b, arphrd);
  put_u8(b, packet_type);
  put_u8(b, 6);
  put_array(b, addr);
  put_zeros(b, 2);
  put_bytes(b, payload);
  return b;
}

// DLT_NULL (0) stores the AF in the capturing host's byte order, so
// readers must guess; DLT_LOOP (108) is always big-endian (pass true).
inline Bytes null_loopback(uint32_t af_value, const Bytes& payload, bool big_endian = false) {
  Bytes b;
  put_u32(b, af_value, big_endian);
  put_bytes(b, payload);
  return b;
}

// LINKTYPE_RAW / IPV4 / IPV6 frames are the IP packet itself.
inline Bytes raw_ip(const Bytes& ip_packet) { return ip_packet; }

// ---------------------------------------------------------------------------
// One-liners
// ---------------------------------------------------------------------------

inline Bytes ipv4_tcp(const std::string& src, uint16_t sport, const std::string& dst,
                      uint16_t dport, uint32_t seq, uint32_t ack, uint16_t flags,
                      const Bytes& payload = {}, uint16_t window = 65535,
                      const Bytes& options = {}) {
  Ipv4Spec ip;
  ip.src = ipv4_addr(src);
  ip.dst = ipv4_addr(dst);
  TcpSpec t{sport, dport, seq, ack, flags, window, 0, options, payload};
  return ipv4(ip, tcp_segment(t, ip.src, ip.dst));
}
inline Bytes ipv6_tcp(const std::string& src, uint16_t sport, const std::string& dst,
                      uint16_t dport, uint32_t seq, uint32_t ack, uint16_t flags,
                      const Bytes& payload = {}, uint16_t window = 65535,
                      const Bytes& options = {}) {
  Ipv6Spec ip;
  ip.src = ipv6_addr(src);
  ip.dst = ipv6_addr(dst);
  TcpSpec t{sport, dport, seq, ack, flags, window, 0, options, payload};
  return ipv6(ip, tcp_segment(t, ip.src, ip.dst));
}
// Ethernet frames from kClientMac to kServerMac.
inline Bytes eth_ipv4_tcp(const std::string& src, uint16_t sport, const std::string& dst,
                          uint16_t dport, uint32_t seq, uint32_t ack, uint16_t flags,
                          const Bytes& payload = {}, uint16_t window = 65535,
                          const Bytes& options = {}) {
  return ethernet(kServerMac, kClientMac, ethertype::ipv4,
                  ipv4_tcp(src, sport, dst, dport, seq, ack, flags, payload, window, options));
}
inline Bytes eth_ipv6_tcp(const std::string& src, uint16_t sport, const std::string& dst,
                          uint16_t dport, uint32_t seq, uint32_t ack, uint16_t flags,
                          const Bytes& payload = {}, uint16_t window = 65535,
                          const Bytes& options = {}) {
  return ethernet(kServerMac, kClientMac, ethertype::ipv6,
                  ipv6_tcp(src, sport, dst, dport, seq, ack, flags, payload, window, options));
}

// ---------------------------------------------------------------------------
// Capture files
// ---------------------------------------------------------------------------

namespace detail {
inline constexpr int64_t kNsPerSec = 1'000'000'000;
// Floor division so pre-1970 timestamps still get a fraction in [0, 1s).
inline void split_ns(int64_t ts_ns, int64_t& sec, int64_t& rem) {
  sec = ts_ns / kNsPerSec;
  rem = ts_ns % kNsPerSec;
  if (rem < 0) {
    rem += kNsPerSec;
    --sec;
  }
}
inline void write_bytes_to_file(const Bytes& b, const std::string& path) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw std::runtime_error("cannot open " + path);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!f) throw std::runtime_error("write failed: " + path);
}
}  // namespace detail

// Classic libpcap file. Magic a1b2c3d4 (usec) or a1b23c4d (nsec), written
// in the requested byte order.
class PcapWriter {
 public:
  explicit PcapWriter(int linktype, bool nanosecond = false, bool big_endian = false,
                      uint32_t snaplen = 262144)
      : nano_(nanosecond), be_(big_endian) {
    put_u32(buf_, nanosecond ? 0xA1B23C4Du : 0xA1B2C3D4u, be_);
    put_u16(buf_, 2, be_);
    put_u16(buf_, 4, be_);
    put_u32(buf_, 0, be_);  // thiszone
    put_u32(buf_, 0, be_);  // sigfigs
    put_u32(buf_, snaplen, be_);
    put_u32(buf_, static_cast<uint32_t>(linktype), be_);
  }

  // orig_len 0 = frame.size(). snaplen_cut N>0 stores only the first N
  // bytes (incl_len = N) while orig_len still reports the full length.
  // The file snaplen is *not* enforced, so incl_len > snaplen is possible.
  void add(int64_t ts_ns, const Bytes& frame, uint32_t orig_len = 0, uint32_t snaplen_cut = 0) {
    int64_t sec = 0, rem = 0;
    detail::split_ns(ts_ns, sec, rem);
    const size_t incl = snaplen_cut ? std::min<size_t>(snaplen_cut, frame.size()) : frame.size();
    add_record_raw(static_cast<uint32_t>(sec), static_cast<uint32_t>(nano_ ? rem : rem / 1000),
                   static_cast<uint32_t>(incl),
                   orig_len ? orig_len : static_cast<uint32_t>(frame.size()),
                   Bytes(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(incl)));
  }
  // Exact record header fields, for corrupt-file tests (incl_len need not
  // match data.size()).
  void add_record_raw(uint32_t ts_sec, uint32_t ts_frac, uint32_t incl_len, uint32_t orig_len,
                      const Bytes& data) {
    put_u32(buf_, ts_sec, be_);
    put_u32(buf_, ts_frac, be_);
    put_u32(buf_, incl_len, be_);
    put_u32(buf_, orig_len, be_);
    put_bytes(buf_, data);
    ++count_;
  }

  const Bytes& bytes() const { return buf_; }
  size_t packet_count() const { return count_; }
  void write_file(const std::string& path) const { detail::write_bytes_to_file(buf_, path); }

 private:
  bool nano_;
  bool be_;
  size_t count_ = 0;
  Bytes buf_;
};

// pcapng: SHB, IDBs, EPBs. The SHB is written on construction; interface
// ids are per section (reset by new_section()).
class PcapngWriter {
 public:
  static constexpr uint32_t kShb = 0x0A0D0D0A;
  static constexpr uint32_t kIdb = 0x00000001;
  static constexpr uint32_t kEpb = 0x00000006;

  explicit PcapngWriter(bool big_endian = false) : be_(big_endian) { new_section(); }

  void new_section() {
    Bytes body;
    put_u32(body, 0x1A2B3C4D, be_);  // byte-order magic
    put_u16(body, 1, be_);
    put_u16(body, 0, be_);
    put_u64(body, ~uint64_t{0}, be_);  // section length: unknown
    add_block(kShb, body);
    tsresol_.clear();
  }

  // tsresol: if_tsresol value; high bit clear = 10^-n s, set = 2^-n s.
  // The option is only emitted when != 6 (the default), as real tools do.
  uint32_t add_interface(int linktype, uint8_t tsresol = 6, uint32_t snaplen = 262144) {
    Bytes body;
    put_u16(body, static_cast<uint16_t>(linktype), be_);
    put_u16(body, 0, be_);
    put_u32(body, snaplen, be_);
    if (tsresol != 6) {
      put_u16(body, 9, be_);  // if_tsresol
      put_u16(body, 1, be_);
      put_u8(body, tsresol);
      put_zeros(body, 3);
      put_u16(body, 0, be_);  // opt_endofopt
      put_u16(body, 0, be_);
    }
    add_block(kIdb, body);
    tsresol_.push_back(tsresol);
    return static_cast<uint32_t>(tsresol_.size() - 1);
  }

  // An unknown iface id is written as-is (assuming usec) so tests can
  // reference undeclared interfaces.
  void add(uint32_t iface, int64_t ts_ns, const Bytes& frame, uint32_t orig_len = 0,
           uint32_t snaplen_cut = 0) {
    const uint8_t res = iface < tsresol_.size() ? tsresol_[iface] : uint8_t{6};
    const uint64_t units = to_units(ts_ns, res);
    const size_t incl = snaplen_cut ? std::min<size_t>(snaplen_cut, frame.size()) : frame.size();
    Bytes body;
    put_u32(body, iface, be_);
    put_u32(body, static_cast<uint32_t>(units >> 32), be_);
    put_u32(body, static_cast<uint32_t>(units), be_);
    put_u32(body, static_cast<uint32_t>(incl), be_);
    put_u32(body, orig_len ? orig_len : static_cast<uint32_t>(frame.size()), be_);
    body.insert(body.end(), frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(incl));
    add_block(kEpb, body);
    ++count_;
  }

  // Any block; body is zero-padded to 4 and framed with both total lengths.
  void add_block(uint32_t type, const Bytes& body) {
    Bytes padded = body;
    detail::pad4(padded);
    const auto total = static_cast<uint32_t>(12 + padded.size());
    put_u32(buf_, type, be_);
    put_u32(buf_, total, be_);
    put_bytes(buf_, padded);
    put_u32(buf_, total, be_);
  }

  const Bytes& bytes() const { return buf_; }
  size_t packet_count() const { return count_; }
  void write_file(const std::string& path) const { detail::write_bytes_to_file(buf_, path); }

  static uint64_t to_units(int64_t ts_ns, uint8_t tsresol) {
    int64_t sec = 0, rem = 0;
    detail::split_ns(ts_ns, sec, rem);
    const auto s = static_cast<uint64_t>(sec);
    const auto r = static_cast<uint64_t>(rem);
    if (tsresol & 0x80) {
      const unsigned k = tsresol & 0x7F;  // sane for k <= 32
      return (s << k) + ((r << k) / 1'000'000'000u);
    }
    uint64_t scale = 1;
    for (unsigned i = 0; i < tsresol; ++i) scale *= 10;
    if (tsresol <= 9) {
      uint64_t div = 1;
      for (unsigned i = tsresol; i < 9; ++i) div *= 10;
      return s * scale + r / div;
    }
    uint64_t mul = 1;
    for (unsigned i = 9; i < tsresol; ++i) mul *= 10;
    return s * scale + r * mul;
  }

 private:
  bool be_;
  size_t count_ = 0;
  std::vector<uint8_t> tsresol_;
  Bytes buf_;
};

// ---------------------------------------------------------------------------
// Scripted TCP connection
// ---------------------------------------------------------------------------

enum class Framing { ethernet, raw_ip, linux_sll };

// Each packet-producing call records (ts, frame) and advances the clock by
// `step_ns`. Sequence tracking: each side's next seq advances by payload
// length, +1 for SYN and FIN; the ack a side sends is the peer's next seq.
// packet() sends exactly what it is given and does not touch tracking.
class TcpConversation {
 public:
  TcpConversation(const std::string& client_ip, uint16_t client_port,
                  const std::string& server_ip, uint16_t server_port,
                  uint32_t client_isn = 1000, uint32_t server_isn = 5000,
                  int64_t start_ts_ns = 1'700'000'000'000'000'000, int64_t step_ns = 1'000'000,
                  Framing framing = Framing::ethernet)
      : v6_(is_ipv6_string(client_ip)),
        cport_(client_port),
        sport_(server_port),
        cseq_(client_isn),
        sseq_(server_isn),
        ts_(start_ts_ns),
        step_(step_ns),
        framing_(framing) {
    if (v6_ != is_ipv6_string(server_ip))
      throw std::invalid_argument("TcpConversation: mixed IPv4/IPv6 endpoints");
    if (v6_) {
      c6_ = ipv6_addr(client_ip);
      s6_ = ipv6_addr(server_ip);
    } else {
      c4_ = ipv4_addr(client_ip);
      s4_ = ipv4_addr(server_ip);
    }
  }

  // --- tracked packets ---
  Bytes syn(const Bytes& options = {}) {
    return tracked(true, tcpflag::SYN, {}, options, 0, 1);
  }
  Bytes synack(const Bytes& options = {}) {
    return tracked(false, tcpflag::SYN | tcpflag::ACK, {}, options, cseq_, 1);
  }
  Bytes ack() { return client_ack(); }  // client's handshake-completing ACK
  Bytes client_ack() { return tracked(true, tcpflag::ACK, {}, {}, sseq_, 0); }
  Bytes server_ack() { return tracked(false, tcpflag::ACK, {}, {}, cseq_, 0); }
  Bytes client_data(const Bytes& data, uint16_t flags = tcpflag::PSH | tcpflag::ACK) {
    return tracked(true, flags, data, {}, sseq_, static_cast<uint32_t>(data.size()));
  }
  Bytes server_data(const Bytes& data, uint16_t flags = tcpflag::PSH | tcpflag::ACK) {
    return tracked(false, flags, data, {}, cseq_, static_cast<uint32_t>(data.size()));
  }
  Bytes client_data(std::string_view s) { return client_data(to_bytes(s)); }
  Bytes server_data(std::string_view s) { return server_data(to_bytes(s)); }
  Bytes client_fin() { return tracked(true, tcpflag::FIN | tcpflag::ACK, {}, {}, sseq_, 1); }
  Bytes server_fin() { return tracked(false, tcpflag::FIN | tcpflag::ACK, {}, {}, cseq_, 1); }
  Bytes client_rst() { return tracked(true, tcpflag::RST | tcpflag::ACK, {}, {}, sseq_, 0); }
  Bytes server_rst() { return tracked(false, tcpflag::RST | tcpflag::ACK, {}, {}, cseq_, 0); }

  // --- exact control (no tracking update) ---
  Bytes packet(bool from_client, uint32_t seq, uint32_t ack_no, uint16_t flags,
               const Bytes& payload = {}, uint16_t window = 65535, const Bytes& options = {}) {
    Bytes f = frame(from_client, seq, ack_no, flags, payload, window, options);
    pkts_.emplace_back(ts_, f);
    ts_ += step_;
    return f;
  }
  // Builds a frame without recording it or advancing time (for manual
  // reordering / duplication via packets()).
  Bytes frame(bool from_client, uint32_t seq, uint32_t ack_no, uint16_t flags,
              const Bytes& payload = {}, uint16_t window = 65535, const Bytes& options = {}) {
    TcpSpec t{from_client ? cport_ : sport_,
              from_client ? sport_ : cport_,
              seq,
              ack_no,
              flags,
              window,
              0,
              options,
              payload};
    uint16_t& id = from_client ? cid_ : sid_;
    Bytes ip;
    if (v6_) {
      Ipv6Spec s;
      s.src = from_client ? c6_ : s6_;
      s.dst = from_client ? s6_ : c6_;
      ip = ipv6(s, tcp_segment(t, s.src, s.dst));
    } else {
      Ipv4Spec s;
      s.src = from_client ? c4_ : s4_;
      s.dst = from_client ? s4_ : c4_;
      s.id = id;
      ip = ipv4(s, tcp_segment(t, s.src, s.dst));
    }
    ++id;
    const uint16_t et = v6_ ? ethertype::ipv6 : ethertype::ipv4;
    switch (framing_) {
      case Framing::raw_ip: return ip;
      case Framing::linux_sll:
        return linux_sll(from_client ? 4 : 0, et, ip, from_client ? kClientMac : kServerMac);
      case Framing::ethernet: break;
    }
    return from_client ? ethernet(kServerMac, kClientMac, et, ip)
                       : ethernet(kClientMac, kServerMac, et, ip);
  }

  // --- state ---
  uint32_t client_seq() const { return cseq_; }  // next seq the client sends
  uint32_t server_seq() const { return sseq_; }
  uint32_t client_ack_no() const { return sseq_; }  // ack the client would send
  uint32_t server_ack_no() const { return cseq_; }
  void set_client_seq(uint32_t v) { cseq_ = v; }
  void set_server_seq(uint32_t v) { sseq_ = v; }
  void set_window(bool client_side, uint16_t w) { (client_side ? cwin_ : swin_) = w; }

  int64_t ts() const { return ts_; }  // timestamp of the next packet
  void advance_time(int64_t ns) { ts_ += ns; }
  void set_step(int64_t ns) { step_ = ns; }
  bool is_ipv6() const { return v6_; }

  int linktype() const {
    switch (framing_) {
      case Framing::raw_ip: return linktype::raw;
      case Framing::linux_sll: return linktype::linux_sll;
      case Framing::ethernet: break;
    }
    return linktype::ethernet;
  }
  // Mutable so tests can reorder, drop or duplicate before writing.
  std::vector<std::pair<int64_t, Bytes>>& packets() { return pkts_; }
  const std::vector<std::pair<int64_t, Bytes>>& packets() const { return pkts_; }

  void copy_to(PcapWriter& w) const {
    for (const auto& [t, f] : pkts_) w.add(t, f);
  }
  void copy_to(PcapngWriter& w, uint32_t iface) const {
    for (const auto& [t, f] : pkts_) w.add(iface, t, f);
  }
  PcapWriter to_pcap(bool nanosecond = false) const {
    PcapWriter w(linktype(), nanosecond);
    copy_to(w);
    return w;
  }
  void write_pcap(const std::string& path, bool nanosecond = false) const {
    to_pcap(nanosecond).write_file(path);
  }

 private:
  Bytes tracked(bool from_client, uint16_t flags, const Bytes& payload, const Bytes& options,
                uint32_t ack_no, uint32_t consumed) {
    uint32_t& seq = from_client ? cseq_ : sseq_;
    Bytes f = packet(from_client, seq, ack_no, flags, payload, from_client ? cwin_ : swin_,
                     options);
    seq += consumed;
    return f;
  }

  bool v6_;
  Ipv4Addr c4_{}, s4_{};
  Ipv6Addr c6_{}, s6_{};
  uint16_t cport_, sport_;
  uint32_t cseq_, sseq_;
  uint16_t cwin_ = 65535, swin_ = 65535;
  uint16_t cid_ = 1, sid_ = 1;
  int64_t ts_;
  int64_t step_;
  Framing framing_;
  std::vector<std::pair<int64_t, Bytes>> pkts_;
};

}  // namespace pcaplens::testing
