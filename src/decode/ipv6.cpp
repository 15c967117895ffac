// IPv6: fixed header, extension header chain (hop-by-hop, routing, fragment,
// destination options, AH), fragments handed to the reassembler.
#include "ip_reassembly.hpp"
#include "pcaplens/decode/byte_reader.hpp"
#include "pcaplens/decode/decoder.hpp"

namespace pcaplens {
namespace {
constexpr int kMaxExtHeaders = 16;  // a longer chain is hostile, not real
}

void Decoder::decode_ipv6(const uint8_t* p, size_t caplen, size_t wirelen, int64_t ts, DecodedPacket& out) {
    out.ip_version = 6;
    final_dst_set_ = false;
    if (caplen < 40) {
        out.proto = L4Proto::malformed;
        out.truncated = wirelen > caplen;
        out.malformed_what = "IPv6 header cut short";
        return;
    }
    if ((p[0] >> 4) != 6) {
        out.proto = L4Proto::malformed;
        out.malformed_what = "bad IPv6 version";
        return;
    }
    size_t payload = load_be16(p + 4);
    if (payload == 0 || payload + 40 > wirelen) {
        // 0: jumbogram or TSO; larger than the frame: trust the wire.
        if (payload != 0) out.malformed_what = "IPv6 payload length beyond the frame";
        payload = wirelen - 40;
    }
    const size_t end_wire = 40 + payload;
    const size_t end_cap = std::min(caplen, end_wire);
    IpAddress& src = out.tcp.src;   // in place, as in decode_ipv4
    IpAddress& dst = out.tcp.dst;
    src.family = dst.family = 6;
    std::memcpy(src.bytes.data(), p + 8, 16);
    std::memcpy(dst.bytes.data(), p + 24, 16);
    uint8_t next = p[6];
    size_t off = 40;
    bool fragment = false;
    uint32_t frag_offset = 0, frag_id = 0;
    bool more = false;
    for (int n = 0; n <= kMaxExtHeaders; ++n) {
        if (next != 0 && next != 43 && next != 44 && next != 60 && next != 51) break;
        if (n == kMaxExtHeaders) {
            out.proto = L4Proto::malformed;
            out.malformed_what = "IPv6 extension header chain too long";
            return;
        }
        if (off + 8 > end_cap) {
            out.proto = L4Proto::malformed;
            out.truncated = end_cap < end_wire;
            out.malformed_what = "IPv6 extension header cut short";
            return;
        }
        size_t len;
        if (next == 44) {
            len = 8;
            const uint16_t fo = load_be16(p + off + 2);
            frag_offset = uint32_t{static_cast<uint16_t>(fo >> 3)} * 8;
            more = (fo & 1) != 0;
            frag_id = load_be32(p + off + 4);
            fragment = more || frag_offset != 0;  // an atomic fragment is just a header
        } else if (next == 51) {
            len = (size_t{p[off + 1]} + 2) * 4;
        } else {
            len = (size_t{p[off + 1]} + 1) * 8;
        }
        if (next == 43 && cfg_.verify_checksums && off + len <= end_cap && p[off + 3] > 0 && len >= 24) {
            // Routing header with segments left: the destination in the IPv6
            // header is the next hop, not the final one. Types 0 and 2 list the
            // addresses in order (the final is the last); an SRH (type 4)
            // lists them in reverse (Segment List[0] is the final).
            const uint8_t type = p[off + 2];
            if (type == 0 || type == 2 || type == 4) {
                final_dst_.family = 6;
                std::memcpy(final_dst_.bytes.data(), p + (type == 4 ? off + 8 : off + len - 16), 16);
                final_dst_set_ = true;
            }
        }
        next = p[off];
        if (off + len > end_wire) {
            out.proto = L4Proto::malformed;
            out.malformed_what = "IPv6 extension header longer than the packet";
            return;
        }
        off += len;
        // Headers after a (non-atomic) Fragment header belong to the
        // fragmentable part: they exist only in the reassembled datagram.
        if (fragment) break;
    }
    out.ip_proto = next;
    if (off > end_cap) {
        out.proto = L4Proto::malformed;
        out.truncated = true;
        out.malformed_what = "IPv6 extension header cut short";
        return;
    }
    const size_t l4_wire = end_wire - off;
    const size_t l4_cap = end_cap - off;
    if (fragment) {
        if (l4_cap < l4_wire) {
            out.proto = L4Proto::malformed;
            out.truncated = true;
            out.malformed_what = "IPv6 fragment cut by snaplen (cannot reassemble)";
            return;
        }
        FragmentKey key{src, dst, frag_id, next};
        if (!frags_->add(key, ts, frag_offset, p + off, static_cast<uint32_t>(l4_wire), !more, reassembled_)) {
            out.fragment_pending = true;
            out.proto = L4Proto::none;
            return;
        }
        out.reassembled = true;
        // Skip the extension headers that were inside the fragmentable part.
        const uint8_t* q = reassembled_.data();
        const size_t qlen = reassembled_.size();
        size_t qoff = 0;
        for (int n = 0; next == 0 || next == 43 || next == 60 || next == 51; ++n) {
            if (n == kMaxExtHeaders || qoff + 8 > qlen) {
                out.proto = L4Proto::malformed;
                out.malformed_what = n == kMaxExtHeaders ? "IPv6 extension header chain too long"
                                                         : "IPv6 extension header longer than the packet";
                return;
            }
            const size_t len = next == 51 ? (size_t{q[qoff + 1]} + 2) * 4 : (size_t{q[qoff + 1]} + 1) * 8;
            if (qoff + len > qlen) {
                out.proto = L4Proto::malformed;
                out.malformed_what = "IPv6 extension header longer than the packet";
                return;
            }
            next = q[qoff];
            qoff += len;
        }
        out.ip_proto = next;
        decode_transport(next, q + qoff, qlen - qoff, qlen - qoff, out);
        return;
    }
    decode_transport(next, p + off, l4_cap, l4_wire, out);
}

}  // namespace pcaplens
