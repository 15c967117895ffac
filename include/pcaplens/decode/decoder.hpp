// Decoder: one packet's bytes -> DecodedPacket (link, IP, TCP), with bounded
// IP fragment reassembly. One instance per pipeline; it owns no global state.
#pragma once
#include <cstdint>
#include <string>
#include <memory>
#include <vector>

#include "pcaplens/capture/packet.hpp"
#include "pcaplens/decode/packet.hpp"

namespace pcaplens {

struct DecoderConfig {
    bool verify_checksums = false;              // off by default: offload makes sender-side checksums garbage
    uint64_t max_fragment_bytes = 64ull << 20;  // buffered fragment payload, all datagrams together
    uint32_t max_fragment_datagrams = 8192;     // datagrams being reassembled at once
    int64_t fragment_timeout_ns = 30'000'000'000LL;
};

struct DecodeCounters {
    uint64_t fragments = 0;              // fragments seen
    uint64_t reassembled = 0;            // datagrams completed from fragments
    uint64_t fragments_expired = 0;      // datagrams dropped incomplete (timeout or end)
    uint64_t fragments_dropped_cap = 0;  // datagrams dropped because a cap was hit
    uint64_t fragments_invalid = 0;      // datagrams given up as impossible: last fragments that disagree on
                                         // the end, or a fragment reaching beyond 65,535 bytes
    uint64_t fragment_overlaps = 0;      // fragments overlapping with different bytes
};

class IpReassembler;

class Decoder {
public:
    explicit Decoder(DecoderConfig cfg = {});
    ~Decoder();
    Decoder(const Decoder&) = delete;
    Decoder& operator=(const Decoder&) = delete;

    // Decodes `pkt`. Pointers in `out` refer into `pkt.data` or, for
    // reassembled fragments, into the decoder's buffer; both stay valid until
    // the next call.
    void decode(const PacketView& pkt, DecodedPacket& out);
    const DecodeCounters& counters() const { return counters_; }
    // Datagrams still waiting for fragments (reported at the end).
    uint64_t fragments_pending() const;

private:
    void decode_network(uint16_t ethertype, const uint8_t* p, size_t caplen, size_t wirelen, int64_t ts, DecodedPacket& out);
    void decode_ipv4(const uint8_t* p, size_t caplen, size_t wirelen, int64_t ts, DecodedPacket& out);
    void decode_ipv6(const uint8_t* p, size_t caplen, size_t wirelen, int64_t ts, DecodedPacket& out);
    void decode_transport(uint8_t proto, const uint8_t* p, size_t caplen, size_t wirelen, DecodedPacket& out);

    DecoderConfig cfg_;
    DecodeCounters counters_;
    std::unique_ptr<IpReassembler> frags_;
    std::vector<uint8_t> reassembled_;  // last completed datagram (header + payload)
    // An IPv6 Routing header with segments left names the final destination,
    // which the transport checksum's pseudo-header uses (RFC 8200 8.1).
    IpAddress final_dst_{};
    bool final_dst_set_ = false;
};

// Link-layer dissection: returns the network-layer ethertype and offset, or
// false (out.proto says why). Exposed for unit tests.
struct LinkResult {
    uint16_t ethertype = 0;  // 0x0800 IPv4, 0x86DD IPv6, 0x0806 ARP, other
    size_t offset = 0;
    uint8_t vlan_depth = 0;
};
bool decode_link(int linktype, const uint8_t* p, size_t caplen, LinkResult& out, DecodedPacket& pkt);

// Parses TCP options; malformed ones set `malformed` and stop parsing.
void parse_tcp_options(const uint8_t* p, size_t len, TcpOptions& out);

// Link types pcaplens decodes; used by --help and the README table.
bool link_type_supported(int dlt);
std::string link_type_name(int dlt);

}  // namespace pcaplens
