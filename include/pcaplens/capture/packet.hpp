// A packet as handed over by a capture source: a view into the source's
// buffer (valid until the source is advanced) plus where it came from.
#pragma once
#include <cstdint>

namespace pcaplens {

// Capture timestamps are kept within +-(2^62 - 1) ns (years 1823..2116): a
// hostile file can claim any 64-bit time, and every later stage subtracts
// timestamps or adds configured durations (bounded to a few years by the
// command line) to them, which must not overflow int64.
inline constexpr int64_t kMaxTimestampNs = (int64_t{1} << 62) - 1;
constexpr int64_t clamp_timestamp(int64_t ts_ns) {
    return ts_ns > kMaxTimestampNs ? kMaxTimestampNs : ts_ns < -kMaxTimestampNs ? -kMaxTimestampNs : ts_ns;
}
// Seconds and a fraction in nanoseconds (as libpcap hands them: any time_t,
// a pcapng if_tsoffset included) to clamped nanoseconds, without overflow.
constexpr int64_t timestamp_ns(int64_t sec, int64_t frac_ns) {
    int64_t ns = 0;
    if (__builtin_mul_overflow(sec, int64_t{1000000000}, &ns) || __builtin_add_overflow(ns, frac_ns, &ns)) {
        return sec < 0 ? -kMaxTimestampNs : kMaxTimestampNs;
    }
    return clamp_timestamp(ns);
}

struct PacketView {
    int64_t ts_ns = 0;           // capture timestamp, nanoseconds since the epoch
    uint64_t frame = 0;          // 1-based number in the (merged) stream, as Wireshark numbers them
    uint32_t caplen = 0;         // bytes present in `data`
    uint32_t wirelen = 0;        // bytes the packet had on the wire (>= caplen unless the file lies)
    int linktype = 0;            // DLT_* value of the interface the packet was captured on
    const uint8_t* data = nullptr;
    uint32_t file_index = 0;     // index into the list of input files
    // Records just before this packet in its file that Wireshark numbers as
    // frames although they hold no packet (pcapng custom and systemd journal
    // blocks): the frame numbering skips them as Wireshark's does.
    uint32_t records_before = 0;
};

}  // namespace pcaplens
