// libFuzzer target: the link, IPv4/IPv6 (with fragment reassembly) and TCP
// decoders. Input format in fuzz_formats.hpp: the first two bytes choose the
// link type among the supported ones, the third how the wire length relates
// to the captured length; the rest is one or more packets (split on "PKT|"
// so fragments of one datagram can meet in the reassembler).
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_formats.hpp"
#include "pcaplens/decode/decoder.hpp"

namespace pl = pcaplens;
namespace pf = pcaplens::fuzz;

namespace {

volatile uint32_t g_sink;

// Reads every byte a decoded packet points at, so ASan sees any pointer or
// length that strays outside the packet or the reassembly buffer.
void touch(const pl::DecodedPacket& d) {
    uint32_t h = d.vlan_depth + d.ip_version + d.ip_proto + d.ethertype;
    if (d.malformed_what) h += static_cast<uint32_t>(std::strlen(d.malformed_what));
    if (d.proto == pl::L4Proto::tcp) {
        const pl::TcpSegment& t = d.tcp;
        if (t.captured_len > t.payload_len) __builtin_trap();  // documented: captured_len <= payload_len
        if (t.captured_len > 0 && t.payload == nullptr) __builtin_trap();
        for (uint32_t i = 0; i < t.captured_len; ++i) h = h * 31 + t.payload[i];
        if (t.options.sack_count > t.options.sack.size()) __builtin_trap();
        h += static_cast<uint32_t>(t.src.str().size() + t.dst.str().size() + pl::tcp_flags_str(t.flags).size());
    }
    g_sink = h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3) return 0;
    const int dlt = pf::kLinkTypes[((data[0] << 8) | data[1]) % pf::kLinkTypeCount];
    const uint8_t mode = data[2];
    static constexpr uint32_t extra[4] = {0, 1, 1000, 65535};
    pl::DecoderConfig cfg;
    cfg.verify_checksums = (mode & 4) != 0;
    cfg.max_fragment_bytes = 1 << 20;
    cfg.max_fragment_datagrams = 64;
    cfg.fragment_timeout_ns = 1'000'000'000;
    pl::Decoder dec(cfg);
    (void)pl::link_type_supported(dlt);
    (void)pl::link_type_name(dlt);

    const uint8_t* p = data + 3;
    const uint8_t* end = data + size;
    int64_t ts = 1'700'000'000'000'000'000;
    uint64_t frame = 0;
    while (p <= end) {
        const uint8_t* next = end;
        for (const uint8_t* q = p; q + sizeof pf::kPacketSep <= end; ++q) {
            if (std::memcmp(q, pf::kPacketSep, sizeof pf::kPacketSep) == 0) {
                next = q;
                break;
            }
        }
        // An exact-size heap copy: reading one byte past the packet is an ASan report.
        const size_t n = static_cast<size_t>(next - p);
        std::unique_ptr<uint8_t[]> pkt(new uint8_t[n]);  // new[0] is a valid zero-size block for ASan
        if (n) std::memcpy(pkt.get(), p, n);
        pl::PacketView v;
        v.ts_ns = ts;
        ts += 1'000'000 + static_cast<int64_t>(n) * 10'000'000;  // big packets age fragments out
        v.frame = ++frame;
        v.caplen = static_cast<uint32_t>(n);
        v.wirelen = v.caplen + extra[mode & 3];
        v.linktype = dlt;
        v.data = pkt.get();
        pl::DecodedPacket d;
        dec.decode(v, d);
        touch(d);
        // The TCP option parser on its own, over the same bytes.
        pl::TcpOptions o;
        pl::parse_tcp_options(pkt.get(), n > 40 ? 40 : n, o);
        if (o.sack_count > o.sack.size()) __builtin_trap();
        if (next == end) break;
        p = next + sizeof pf::kPacketSep;
    }
    g_sink = static_cast<uint32_t>(dec.fragments_pending() + dec.counters().reassembled);
    return 0;
}
