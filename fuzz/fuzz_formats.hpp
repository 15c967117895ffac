// Input formats shared by the fuzz targets and the seed generator
// (fuzz/seedgen.cpp), so seeds made from real captures decode exactly as the
// targets read them. Each format is a plain byte script; every reader stops
// cleanly at the end of the input (a short record is ignored), so any byte
// string is a valid input.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pcaplens::fuzz {

// ---------------------------------------------------------------------------
// fuzz_decode: [u16 link selector][u8 mode][packet bytes, split on kPacketSep]
//   selector % kLinkTypes.size() picks the DLT; mode bit 0..1 choose how much
//   the wire length exceeds the captured length (0, +1, +1000, +65535),
//   bit 2 turns checksum verification on.
// ---------------------------------------------------------------------------
inline constexpr int kLinkTypes[] = {1, 113, 276, 0, 108, 12, 14, 101, 228, 229, 9, 50, 239};
inline constexpr size_t kLinkTypeCount = sizeof(kLinkTypes) / sizeof(kLinkTypes[0]);
inline constexpr uint8_t kPacketSep[4] = {'P', 'K', 'T', '|'};

inline size_t link_selector(int dlt) {
    for (size_t i = 0; i < kLinkTypeCount; ++i)
        if (kLinkTypes[i] == dlt) return i;
    return 0;
}

// ---------------------------------------------------------------------------
// fuzz_reassembler: [u8 mode] then segment records:
//   u8  ctl   bit0 dir (0 = A->B, 1 = B->A); bits1-2 connection (4 tuples);
//             bit3 AE flag; bit4 options follow; bits5-7 time step
//             (0 +0, 1 +1us, 2 +1ms, 3 +100ms, 4 +1s, 5 +10s, 6 +400s, 7 -1ms)
//   u8  flags (FIN SYN RST PSH ACK URG ECE CWR)
//   u32 seq, u32 ack, u16 window (big-endian)
//   u16 wire payload length, u16 captured length (capped by the wire length
//       and by what is left of the input); then the captured bytes
//   [u8 n, n option bytes] when bit4
// mode bit0: 0 = whole TcpAnalyzer (+ HttpStream), 1 = one raw Reassembler
// mode bits1-2: memory caps (0 default, 1 small, 2 tiny, 3 tiny + 2 conns)
// mode bit3: timeline on
// ---------------------------------------------------------------------------
inline constexpr size_t kSegHeader = 1 + 1 + 4 + 4 + 2 + 2 + 2;

// ---------------------------------------------------------------------------
// fuzz_http: [u8 config] then ops:
//   u8 op  bit0 dir (0 = client->server); bits1-2 kind (0,1 data; 2 gap;
//          3 end); bit3 long length; bits4-7 time step in ms
//   data:  length u8 (u16 big-endian when long), then that many bytes (or
//          what is left)
//   gap:   length u8 (u64 big-endian when long)
//   end:   reason = low 2 bits of the next byte
// config bits: 0 small caps, 1 slow-response threshold on, 2 tiny pipeline
// ---------------------------------------------------------------------------

struct Reader {
    const uint8_t* p;
    size_t n;
    bool empty() const { return n == 0; }
    bool has(size_t k) const { return n >= k; }
    uint8_t u8() {
        if (!n) return 0;
        --n;
        return *p++;
    }
    uint16_t u16() { return static_cast<uint16_t>((u8() << 8) | u8()); }
    uint32_t u32() { return (static_cast<uint32_t>(u16()) << 16) | u16(); }
    uint64_t u64() { return (static_cast<uint64_t>(u32()) << 32) | u32(); }
    const uint8_t* take(size_t k, size_t& got) {
        got = k < n ? k : n;
        const uint8_t* r = p;
        p += got;
        n -= got;
        return r;
    }
};

inline void put8(std::string& s, uint8_t v) { s.push_back(static_cast<char>(v)); }
inline void put16(std::string& s, uint16_t v) {
    put8(s, static_cast<uint8_t>(v >> 8));
    put8(s, static_cast<uint8_t>(v));
}
inline void put32(std::string& s, uint32_t v) {
    put16(s, static_cast<uint16_t>(v >> 16));
    put16(s, static_cast<uint16_t>(v));
}
inline void put64(std::string& s, uint64_t v) {
    put32(s, static_cast<uint32_t>(v >> 32));
    put32(s, static_cast<uint32_t>(v));
}

inline int64_t time_step_ns(unsigned cls) {
    static constexpr int64_t steps[8] = {0, 1'000, 1'000'000, 100'000'000, 1'000'000'000, 10'000'000'000,
                                         400'000'000'000, -1'000'000};
    return steps[cls & 7];
}

// Closest time-step class at or below `dt` (for the seed generator).
inline unsigned time_step_class(int64_t dt) {
    if (dt < 0) return 7;
    unsigned best = 0;
    for (unsigned c = 0; c < 7; ++c)
        if (time_step_ns(c) <= dt) best = c;
    return best;
}

}  // namespace pcaplens::fuzz
