// Decoder entry point: link layer -> network layer dispatch.
#include "pcaplens/decode/decoder.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <type_traits>

#include "ip_reassembly.hpp"

namespace pcaplens {

std::string IpAddress::str() const {
    char buf[kMaxText];
    return std::string(buf, format(buf));
}

namespace {
// `v` as lowercase hex without leading zeros (printf's %x), at `p`.
char* append_hex16(char* p, unsigned v) {
    static constexpr char kDigits[] = "0123456789abcdef";
    int shift = 12;
    while (shift > 0 && (v >> shift) == 0) shift -= 4;
    for (; shift >= 0; shift -= 4) *p++ = kDigits[(v >> shift) & 0xF];
    return p;
}

char* append_dotted_quad(char* p, const uint8_t* b) {
    for (int i = 0; i < 4; ++i) {
        if (i) *p++ = '.';
        p = std::to_chars(p, p + 3, b[i]).ptr;
    }
    return p;
}
}  // namespace

// By hand, not inet_ntop: reports print two addresses per connection, and
// glibc formats every group (and IPv4) through sprintf, ~3,000 instructions
// an IPv6 address. The text is glibc's exactly (its inet_ntop6, from BIND):
// the first longest run of two or more zero groups becomes "::", groups are
// lowercase hex without leading zeros, and an address whose first 96 bits
// are zero (IPv4-compatible) or ::ffff:0:0/96 (IPv4-mapped) ends in a dotted
// quad. A unit test compares it with inet_ntop.
static_assert(IpAddress::kMaxText == INET6_ADDRSTRLEN - 1);

char* IpAddress::format(char* p) const {
    if (family == 4) {
        p = append_dotted_quad(p, bytes.data());
    } else if (family == 6) {
        unsigned words[8];
        for (int i = 0; i < 8; ++i) words[i] = static_cast<unsigned>(bytes[2 * i] << 8 | bytes[2 * i + 1]);
        int best = -1, best_len = 0;
        for (int i = 0; i < 8;) {
            if (words[i] != 0) {
                ++i;
                continue;
            }
            int j = i;
            while (j < 8 && words[j] == 0) ++j;
            if (j - i > best_len) best = i, best_len = j - i;
            i = j;
        }
        if (best_len < 2) best = -1;
        for (int i = 0; i < 8; ++i) {
            if (best >= 0 && i >= best && i < best + best_len) {
                if (i == best) *p++ = ':';
                continue;
            }
            if (i != 0) *p++ = ':';
            if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
                p = append_dotted_quad(p, bytes.data() + 12);
                break;
            }
            p = append_hex16(p, words[i]);
        }
        if (best >= 0 && best + best_len == 8) *p++ = ':';
    }
    return p;
}

std::optional<IpAddress> parse_ip_address(std::string_view text) {
    if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
    const std::string t(text);  // inet_pton wants a NUL-terminated string
    IpAddress a;
    if (::inet_pton(AF_INET, t.c_str(), a.bytes.data()) == 1) {
        a.family = 4;
        return a;
    }
    if (::inet_pton(AF_INET6, t.c_str(), a.bytes.data()) == 1) {
        a.family = 6;
        return a;
    }
    return std::nullopt;
}

std::string tcp_flags_str(uint16_t f) {
    static constexpr std::pair<uint16_t, const char*> names[] = {
        {tcpflag::SYN, "SYN"}, {tcpflag::FIN, "FIN"}, {tcpflag::RST, "RST"}, {tcpflag::PSH, "PSH"}, {tcpflag::ACK, "ACK"},
        {tcpflag::URG, "URG"}, {tcpflag::ECE, "ECE"}, {tcpflag::CWR, "CWR"}, {tcpflag::AE, "AE"}};
    std::string s;
    for (const auto& [bit, name] : names) {
        if (f & bit) {
            if (!s.empty()) s += ',';
            s += name;
        }
    }
    return s.empty() ? "none" : s;
}

Decoder::Decoder(DecoderConfig cfg) : cfg_(cfg), frags_(std::make_unique<IpReassembler>(cfg_, counters_)) {}
Decoder::~Decoder() = default;

uint64_t Decoder::fragments_pending() const { return frags_->pending(); }

namespace {
// Every packet starts from this. `out = DecodedPacket{}` is expanded by GCC
// into `rep stosq`, whose start-up took a third of decode()'s samples on AMD
// Zen (perf, session 13); copying a constant is expanded into vector stores.
constexpr DecodedPacket kEmptyPacket{};
static_assert(std::is_trivially_copyable_v<DecodedPacket>);
}  // namespace

void Decoder::decode(const PacketView& pkt, DecodedPacket& out) {
    std::memcpy(static_cast<void*>(&out), &kEmptyPacket, sizeof out);
    const size_t wire = std::max<size_t>(pkt.wirelen, pkt.caplen);
    out.truncated = pkt.caplen < pkt.wirelen;
    LinkResult link;
    if (!decode_link(pkt.linktype, pkt.data, pkt.caplen, link, out)) return;
    out.vlan_depth = link.vlan_depth;
    decode_network(link.ethertype, pkt.data + link.offset, pkt.caplen - link.offset, wire - link.offset, pkt.ts_ns, out);
}

void Decoder::decode_network(uint16_t ethertype, const uint8_t* p, size_t caplen, size_t wirelen, int64_t ts,
                             DecodedPacket& out) {
    switch (ethertype) {
        case 0x0800: decode_ipv4(p, caplen, wirelen, ts, out); break;
        case 0x86DD: decode_ipv6(p, caplen, wirelen, ts, out); break;
        case 0x0806: out.proto = L4Proto::arp; break;
        default:
            out.proto = L4Proto::other_link;
            out.ethertype = ethertype;
            break;
    }
}

}  // namespace pcaplens
