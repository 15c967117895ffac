#include "pcaplens/decode/checksum.hpp"

namespace pcaplens {

uint32_t checksum_add(const uint8_t* p, size_t n, uint32_t sum) {
    uint64_t s = sum;
    size_t i = 0;
    for (; i + 1 < n; i += 2) s += (uint32_t{p[i]} << 8) | p[i + 1];
    if (i < n) s += uint32_t{p[i]} << 8;
    while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
    return static_cast<uint32_t>(s);
}

uint16_t internet_checksum(const uint8_t* p, size_t n, uint32_t initial) {
    return static_cast<uint16_t>(~checksum_add(p, n, initial) & 0xFFFF);
}

bool transport_checksum_ok(const IpAddress& src, const IpAddress& dst, uint8_t proto, const uint8_t* l4, size_t len) {
    const size_t alen = src.family == 4 ? 4 : 16;
    uint32_t s = checksum_add(src.bytes.data(), alen);
    s = checksum_add(dst.bytes.data(), alen, s);
    uint8_t tail[4] = {0, proto, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
    if (src.family == 6) {
        uint8_t v6[8] = {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16), static_cast<uint8_t>(len >> 8),
                         static_cast<uint8_t>(len), 0, 0, 0, proto};
        s = checksum_add(v6, 8, s);
    } else {
        s = checksum_add(tail, 4, s);
    }
    return internet_checksum(l4, len, s) == 0;
}

}  // namespace pcaplens
