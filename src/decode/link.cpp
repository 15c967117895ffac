// Link layers: Ethernet (802.1Q / 802.1ad stacks, MPLS label stacks, PPPoE
// sessions), Linux cooked SLL and SLL2, raw IP, BSD loopback (NULL and LOOP),
// PPP, Linux NFLOG.
#include <pcap/pcap.h>

#include "pcaplens/decode/byte_reader.hpp"
#include "pcaplens/decode/decoder.hpp"

namespace pcaplens {
namespace {

constexpr uint16_t kEtherIPv4 = 0x0800, kEtherIPv6 = 0x86DD, kEtherVlan = 0x8100, kEtherQinQ = 0x88A8,
                   kEtherQinQOld = 0x9100, kEtherMplsUc = 0x8847, kEtherMplsMc = 0x8848, kEtherPppoeSession = 0x8864;
constexpr int kLinkIpv4 = 228, kLinkIpv6 = 229, kLinktypeRaw = 101, kLinkSll2 = 276, kLinkNflog = 239;
constexpr uint8_t kMaxVlanTags = 8;  // deeper stacks are not real traffic; stop instead of looping
constexpr uint8_t kMaxMplsLabels = 8;

uint16_t ip_version_ethertype(const uint8_t* p, size_t caplen);

bool ethernet(const uint8_t* p, size_t caplen, LinkResult& out, DecodedPacket& pkt) {
    ByteReader r(p, caplen);
    uint16_t type = 0;
    if (!r.skip(12) || !r.be16(type)) return false;
    while (type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld) {
        if (out.vlan_depth == kMaxVlanTags) {
            pkt.malformed_what = "too many VLAN tags";
            return false;
        }
        ++out.vlan_depth;
        if (!r.skip(2) || !r.be16(type)) return false;
    }
    if (type == kEtherMplsUc || type == kEtherMplsMc) {
        // Label stack entries (label 20, TC 3, S 1, TTL 8 bits) up to the one
        // with the bottom-of-stack bit; no payload type is carried, so IP is
        // recognised by its version nibble (a pseudowire is not IP).
        for (uint8_t n = 0;; ++n) {
            if (n == kMaxMplsLabels) {
                pkt.malformed_what = "too many MPLS labels";
                return false;
            }
            uint8_t e[4] = {};
            if (!r.u8(e[0]) || !r.u8(e[1]) || !r.u8(e[2]) || !r.u8(e[3])) return false;
            if (e[2] & 0x01) break;
        }
        out.ethertype = ip_version_ethertype(p + r.pos(), caplen - r.pos());
        out.offset = r.pos();
        return true;
    }
    if (type == kEtherPppoeSession) {
        // RFC 2516: ver/type, code, session id, length; then the PPP protocol.
        uint16_t proto = 0;
        if (!r.skip(6) || !r.be16(proto)) return false;
        out.ethertype = proto == 0x0021 ? kEtherIPv4 : proto == 0x0057 ? kEtherIPv6 : 0;
        out.offset = r.pos();
        return true;
    }
    if (type < 0x0600) {
        // 802.3 length field with LLC/SNAP: only SNAP-encapsulated IP matters.
        uint8_t dsap = 0, ssap = 0, ctl = 0;
        if (!r.u8(dsap) || !r.u8(ssap) || !r.u8(ctl)) return false;
        if (dsap == 0xAA && ssap == 0xAA && ctl == 0x03) {
            if (!r.skip(3) || !r.be16(type)) return false;
        } else {
            type = 0;
        }
    }
    out.ethertype = type;
    out.offset = r.pos();
    return true;
}

uint16_t family_to_ethertype(uint32_t af) {
    // AF_INET is 2 everywhere; AF_INET6 differs by OS (Linux 10, BSDs 24/28/30).
    if (af == 2) return kEtherIPv4;
    if (af == 10 || af == 24 || af == 28 || af == 30) return kEtherIPv6;
    return 0;
}

uint16_t ip_version_ethertype(const uint8_t* p, size_t caplen) {
    if (caplen < 1) return 0;
    switch (p[0] >> 4) {
        case 4: return kEtherIPv4;
        case 6: return kEtherIPv6;
        default: return 0;
    }
}

}  // namespace

bool decode_link(int linktype, const uint8_t* p, size_t caplen, LinkResult& out, DecodedPacket& pkt) {
    out = LinkResult{};
    switch (linktype) {
        case DLT_EN10MB:
            if (!ethernet(p, caplen, out, pkt)) break;
            return true;
        case DLT_LINUX_SLL: {  // 16 bytes, protocol at 14
            if (caplen < 16) break;
            out.ethertype = load_be16(p + 14);
            out.offset = 16;
            return true;
        }
        case kLinkSll2: {  // 20 bytes, protocol at 0
            if (caplen < 20) break;
            out.ethertype = load_be16(p);
            out.offset = 20;
            return true;
        }
        case DLT_NULL: {  // 4-byte family in the capturing host's byte order
            if (caplen < 4) break;
            uint32_t le = uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
            uint32_t af = (le & 0xFFFF0000u) ? load_be32(p) : le;
            out.ethertype = family_to_ethertype(af);
            out.offset = 4;
            return true;
        }
        case DLT_LOOP: {  // 4-byte family, network byte order
            if (caplen < 4) break;
            out.ethertype = family_to_ethertype(load_be32(p));
            out.offset = 4;
            return true;
        }
        case DLT_RAW:
        case 14:  // DLT_RAW on OpenBSD
        case kLinktypeRaw:
        case kLinkIpv4:
        case kLinkIpv6:
            out.ethertype = ip_version_ethertype(p, caplen);
            out.offset = 0;
            return true;
        case DLT_PPP:
        case DLT_PPP_SERIAL: {
            // Optional address/control (FF 03), then a 1- or 2-byte protocol.
            ByteReader r(p, caplen);
            if (caplen >= 2 && p[0] == 0xFF && p[1] == 0x03) r.skip(2);
            uint8_t b0 = 0;
            if (!r.u8(b0)) break;
            uint16_t proto = b0;
            if ((b0 & 1) == 0) {
                uint8_t b1 = 0;
                if (!r.u8(b1)) break;
                proto = static_cast<uint16_t>((b0 << 8) | b1);
            }
            out.ethertype = proto == 0x0021 ? kEtherIPv4 : proto == 0x0057 ? kEtherIPv6 : 0;
            out.offset = r.pos();
            return true;
        }
        case kLinkNflog: {
            // 4-byte header (address family, version, resource id), then
            // TLVs in the capturing host's byte order (Linux: little endian),
            // each padded to 4 bytes; the packet is the NFULA_PAYLOAD (9) one.
            if (caplen < 4) break;
            const uint16_t et = family_to_ethertype(p[0]);
            size_t off = 4;
            while (off + 4 <= caplen) {
                const uint16_t len = static_cast<uint16_t>(p[off] | (p[off + 1] << 8));
                const uint16_t type = static_cast<uint16_t>((p[off + 2] | (p[off + 3] << 8)) & 0x7fff);
                if (len < 4) break;
                if (type == 9) {
                    out.ethertype = et;
                    out.offset = off + 4;
                    return true;
                }
                off += (static_cast<size_t>(len) + 3) & ~size_t{3};
            }
            pkt.malformed_what = "NFLOG record without a payload";
            break;
        }
        default:
            pkt.proto = L4Proto::unknown_link;
            return false;
    }
    // `truncated` stays as decode() set it (caplen < wirelen): a runt frame
    // captured whole, or one with too many VLAN tags, is not truncated.
    pkt.proto = L4Proto::malformed;
    if (!pkt.malformed_what) pkt.malformed_what = "link-layer header cut short";
    return false;
}

bool link_type_supported(int dlt) {
    switch (dlt) {
        case DLT_EN10MB: case DLT_LINUX_SLL: case kLinkSll2: case DLT_NULL: case DLT_LOOP: case DLT_RAW:
        case 14: case kLinktypeRaw: case kLinkIpv4: case kLinkIpv6: case DLT_PPP: case DLT_PPP_SERIAL: case kLinkNflog:
            return true;
        default:
            return false;
    }
}

std::string link_type_name(int dlt) {
    switch (dlt) {
        case kLinktypeRaw: return "RAW";
        case kLinkSll2: return "LINUX_SLL2";
        default: break;
    }
    const char* n = pcap_datalink_val_to_name(dlt);
    return n ? n : "DLT_" + std::to_string(dlt);
}

}  // namespace pcaplens
