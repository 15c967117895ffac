// Transport layer: TCP fully (ports, seq/ack, flags, window, options,
// payload with its captured part), UDP/ICMP just classified.
#include "pcaplens/decode/byte_reader.hpp"
#include "pcaplens/decode/checksum.hpp"
#include "pcaplens/decode/decoder.hpp"

namespace pcaplens {

void parse_tcp_options(const uint8_t* p, size_t len, TcpOptions& o) {
    // Most segments of a modern stack carry exactly NOP, NOP, timestamps.
    if (len == 12 && p[0] == 1 && p[1] == 1 && p[2] == 8 && p[3] == 10) {
        o.has_timestamps = true;
        o.ts_val = load_be32(p + 4);
        o.ts_ecr = load_be32(p + 8);
        return;
    }
    size_t i = 0;
    while (i < len) {
        const uint8_t kind = p[i];
        if (kind == 0) break;      // end of option list
        if (kind == 1) {           // NOP
            ++i;
            continue;
        }
        if (i + 1 >= len || p[i + 1] < 2 || i + p[i + 1] > len) {
            o.malformed = true;
            return;
        }
        const uint8_t olen = p[i + 1];
        const uint8_t* v = p + i + 2;
        switch (kind) {
            case 2:
                if (olen == 4) o.mss = load_be16(v);
                else o.malformed = true;
                break;
            case 3:
                if (olen == 3) o.wscale = v[0];
                else o.malformed = true;
                break;
            case 4:
                if (olen == 2) o.sack_permitted = true;
                else o.malformed = true;
                break;
            case 5: {
                if ((olen - 2) % 8 != 0) {
                    o.malformed = true;
                    break;
                }
                const size_t n = (olen - 2u) / 8;
                o.sack_count = 0;
                for (size_t k = 0; k < n && k < o.sack.size(); ++k) {
                    o.sack[k] = SackBlock{load_be32(v + 8 * k), load_be32(v + 8 * k + 4)};
                    ++o.sack_count;
                }
                break;
            }
            case 8:
                if (olen == 10) {
                    o.has_timestamps = true;
                    o.ts_val = load_be32(v);
                    o.ts_ecr = load_be32(v + 4);
                } else {
                    o.malformed = true;
                }
                break;
            default:
                break;  // unknown options are skipped by their length
        }
        i += olen;
    }
}

void Decoder::decode_transport(uint8_t proto, const uint8_t* p, size_t caplen, size_t wirelen, DecodedPacket& out) {
    switch (proto) {
        case 6: break;
        case 17: out.proto = L4Proto::udp; return;
        case 1: out.proto = L4Proto::icmp; return;
        case 58: out.proto = L4Proto::icmpv6; return;
        default: out.proto = L4Proto::other_ip; return;
    }
    if (caplen < 20) {
        out.proto = L4Proto::malformed;
        out.truncated = wirelen > caplen;
        out.malformed_what = wirelen >= 20 ? "TCP header cut short" : "TCP segment shorter than its header";
        return;
    }
    TcpSegment& t = out.tcp;
    t.sport = load_be16(p);
    t.dport = load_be16(p + 2);
    t.seq = load_be32(p + 4);
    t.ack = load_be32(p + 8);
    const size_t hlen = size_t{static_cast<uint8_t>(p[12] >> 4)} * 4;
    t.flags = static_cast<uint16_t>(p[13] | ((p[12] & 0x01) << 8));
    t.window = load_be16(p + 14);
    t.urgent = load_be16(p + 18);
    if (hlen < 20 || hlen > wirelen) {
        out.proto = L4Proto::malformed;
        out.malformed_what = "bad TCP header length";
        return;
    }
    if (hlen > caplen) {
        out.proto = L4Proto::malformed;
        out.truncated = true;
        out.malformed_what = "TCP options cut short";
        return;
    }
    if (hlen > 20) {
        parse_tcp_options(p + 20, hlen - 20, t.options);
        // The segment is still analysed; the report says what was wrong.
        if (t.options.malformed && !out.malformed_what) out.malformed_what = "TCP option with a bad length (runs past the header or does not fit its kind)";
    }
    t.payload = p + hlen;
    t.payload_len = static_cast<uint32_t>(wirelen - hlen);
    t.captured_len = static_cast<uint32_t>(caplen - hlen);
    if (t.captured_len < t.payload_len) out.truncated = true;
    if (cfg_.verify_checksums && caplen == wirelen &&
        !transport_checksum_ok(t.src, out.ip_version == 6 && final_dst_set_ ? final_dst_ : t.dst, 6, p, wirelen)) {
        out.bad_checksum = true;
    }
    out.proto = L4Proto::tcp;
}

}  // namespace pcaplens
