// Plain value types produced by the decoders.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace pcaplens {

struct IpAddress {
    uint8_t family = 0;  // 4 or 6
    std::array<uint8_t, 16> bytes{};
    // Word-wise: this compare runs for every packet (roles, flow keys).
    bool operator==(const IpAddress& o) const {
        uint64_t x[2], y[2];
        std::memcpy(x, bytes.data(), 16);
        std::memcpy(y, o.bytes.data(), 16);
        return family == o.family && x[0] == y[0] && x[1] == y[1];
    }
    auto operator<=>(const IpAddress&) const = default;
    std::string str() const;  // dotted quad or RFC 5952 text
    // str() written at `out` (room for kMaxText bytes); returns its end.
    static constexpr size_t kMaxText = 45;    // INET6_ADDRSTRLEN - 1
    char* format(char* out) const;
};
// Parses "10.0.0.1", "2001:db8::1" or "[2001:db8::1]"; nullopt otherwise.
std::optional<IpAddress> parse_ip_address(std::string_view text);

namespace tcpflag {
constexpr uint16_t FIN = 0x001, SYN = 0x002, RST = 0x004, PSH = 0x008, ACK = 0x010, URG = 0x020, ECE = 0x040,
                   CWR = 0x080, AE = 0x100;
}
std::string tcp_flags_str(uint16_t flags);  // "SYN,ACK" style, in wire order

struct SackBlock {
    uint32_t left = 0, right = 0;
};

struct TcpOptions {
    int32_t mss = -1;          // -1: absent
    int16_t wscale = -1;       // -1: absent (shift count as sent, before clamping to 14)
    bool sack_permitted = false;
    bool has_timestamps = false;
    uint32_t ts_val = 0, ts_ecr = 0;
    uint8_t sack_count = 0;
    std::array<SackBlock, 4> sack{};
    bool malformed = false;    // an option ran past the header; the rest was skipped
};

struct TcpSegment {
    IpAddress src, dst;
    uint16_t sport = 0, dport = 0;
    uint32_t seq = 0, ack = 0;
    uint16_t flags = 0;
    uint16_t window = 0;       // raw, unscaled
    uint16_t urgent = 0;
    TcpOptions options;
    const uint8_t* payload = nullptr;
    uint32_t payload_len = 0;   // from the IP length: what was on the wire
    uint32_t captured_len = 0;  // how much of it the capture holds (<= payload_len)
    bool has(uint16_t f) const { return (flags & f) != 0; }
};

enum class L4Proto : uint8_t { none, tcp, udp, icmp, icmpv6, arp, other_ip, other_link, unknown_link, malformed };

// What one packet turned out to be. `tcp` is valid when proto == tcp.
struct DecodedPacket {
    L4Proto proto = L4Proto::none;
    uint8_t ip_version = 0;
    uint8_t ip_proto = 0;          // for other_ip
    uint16_t ethertype = 0;        // for other_link
    uint8_t vlan_depth = 0;
    bool truncated = false;        // caplen < wirelen cut into the headers or payload
    bool fragment_pending = false; // IPv4/IPv6 fragment held for reassembly
    bool reassembled = false;      // delivered from reassembled fragments
    bool bad_checksum = false;     // only when checksum verification is on
    const char* malformed_what = nullptr;  // what was short or invalid
    TcpSegment tcp;
};

}  // namespace pcaplens
