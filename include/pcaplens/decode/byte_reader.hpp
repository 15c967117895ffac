// Bounds-checked big-endian reads over a byte span (tcpdump's GET_ macros in
// C++): every read checks the length, a short buffer is reported, never read.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pcaplens {

class ByteReader {
public:
    ByteReader(const uint8_t* data, size_t len) : p_(data), n_(len) {}
    size_t remaining() const { return n_ - pos_; }
    size_t pos() const { return pos_; }
    const uint8_t* here() const { return p_ + pos_; }
    bool has(size_t k) const { return k <= n_ - pos_; }
    bool skip(size_t k) {
        if (!has(k)) return false;
        pos_ += k;
        return true;
    }
    bool u8(uint8_t& v) {
        if (!has(1)) return false;
        v = p_[pos_++];
        return true;
    }
    bool be16(uint16_t& v) {
        if (!has(2)) return false;
        v = static_cast<uint16_t>((p_[pos_] << 8) | p_[pos_ + 1]);
        pos_ += 2;
        return true;
    }
    bool be32(uint32_t& v) {
        if (!has(4)) return false;
        v = (uint32_t{p_[pos_]} << 24) | (uint32_t{p_[pos_ + 1]} << 16) | (uint32_t{p_[pos_ + 2]} << 8) | uint32_t{p_[pos_ + 3]};
        pos_ += 4;
        return true;
    }
    bool bytes(uint8_t* out, size_t k) {
        if (!has(k)) return false;
        std::memcpy(out, p_ + pos_, k);
        pos_ += k;
        return true;
    }

private:
    const uint8_t* p_;
    size_t n_;
    size_t pos_ = 0;
};

inline uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t load_be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace pcaplens
