// RFC 1071 Internet checksum, used only when --verify-checksums is on.
#pragma once
#include <cstddef>
#include <cstdint>

#include "pcaplens/decode/packet.hpp"

namespace pcaplens {

// One's-complement sum folded to 16 bits, starting from `initial`.
uint32_t checksum_add(const uint8_t* p, size_t n, uint32_t initial = 0);
// Complemented checksum of a block: 0 when a block carrying its checksum is valid.
uint16_t internet_checksum(const uint8_t* p, size_t n, uint32_t initial = 0);
// TCP/UDP checksum check including the IPv4/IPv6 pseudo-header.
bool transport_checksum_ok(const IpAddress& src, const IpAddress& dst, uint8_t proto, const uint8_t* l4, size_t len);

}  // namespace pcaplens
