// IPv4: header with options, total length (0 = TSO on the capturing host),
// fragments handed to the reassembler.
#include "ip_reassembly.hpp"
#include "pcaplens/decode/byte_reader.hpp"
#include "pcaplens/decode/checksum.hpp"
#include "pcaplens/decode/decoder.hpp"

namespace pcaplens {

void Decoder::decode_ipv4(const uint8_t* p, size_t caplen, size_t wirelen, int64_t ts, DecodedPacket& out) {
    out.ip_version = 4;
    if (caplen < 20) {
        out.proto = L4Proto::malformed;
        out.truncated = wirelen > caplen;
        out.malformed_what = "IPv4 header cut short";
        return;
    }
    const uint8_t ihl = static_cast<uint8_t>((p[0] & 0x0F) * 4);
    if ((p[0] >> 4) != 4 || ihl < 20) {
        out.proto = L4Proto::malformed;
        out.malformed_what = "bad IPv4 version or header length";
        return;
    }
    if (caplen < ihl) {
        out.proto = L4Proto::malformed;
        out.truncated = wirelen > caplen;
        out.malformed_what = "IPv4 options cut short";
        return;
    }
    uint32_t total = load_be16(p + 2);
    if (total == 0) total = static_cast<uint32_t>(wirelen);  // TSO: the capturing host left it for the NIC
    if (total < ihl) {
        out.proto = L4Proto::malformed;
        out.malformed_what = "IPv4 total length shorter than its header";
        return;
    }
    if (total > wirelen) {
        // The header claims more than the wire carried: trust the wire.
        out.malformed_what = "IPv4 total length beyond the frame";
        total = static_cast<uint32_t>(wirelen);
    }
    if (cfg_.verify_checksums && internet_checksum(p, ihl) != 0) out.bad_checksum = true;
    // Written in place (the other 12 bytes are zero from decode()'s reset),
    // not built on the stack and copied.
    IpAddress& src = out.tcp.src;
    IpAddress& dst = out.tcp.dst;
    src.family = dst.family = 4;
    std::memcpy(src.bytes.data(), p + 12, 4);
    std::memcpy(dst.bytes.data(), p + 16, 4);
    out.ip_proto = p[9];
    const uint16_t frag = load_be16(p + 6);
    const bool more = (frag & 0x2000) != 0;
    const uint32_t offset = uint32_t{frag & 0x1FFFu} * 8;
    const size_t l4_wire = total - ihl;
    const size_t l4_cap = std::min(caplen, size_t{total}) - ihl;
    if (more || offset != 0) {
        if (l4_cap < l4_wire) {
            out.proto = L4Proto::malformed;
            out.truncated = true;
            out.malformed_what = "IPv4 fragment cut by snaplen (cannot reassemble)";
            return;
        }
        FragmentKey key{src, dst, load_be16(p + 4), out.ip_proto};
        if (!frags_->add(key, ts, offset, p + ihl, static_cast<uint32_t>(l4_wire), !more, reassembled_)) {
            out.fragment_pending = true;
            out.proto = L4Proto::none;
            return;
        }
        out.reassembled = true;
        decode_transport(out.ip_proto, reassembled_.data(), reassembled_.size(), reassembled_.size(), out);
        return;
    }
    decode_transport(out.ip_proto, p + ihl, l4_cap, l4_wire, out);
}

}  // namespace pcaplens
