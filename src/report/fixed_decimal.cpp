#include "pcaplens/report/fixed_decimal.hpp"

#include <charconv>
#include <cmath>

namespace pcaplens {

namespace {
__extension__ typedef unsigned __int128 u128;  // GCC/Clang; __extension__: not ISO C++ (-Wpedantic)
constexpr uint64_t kPow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};
}  // namespace

char* format_fixed(double v, int decimals, char* buf, char* end) {
    const double mag = std::fabs(v);
    // Fast path bounds: |v| < 2^33 and at most 9 decimals keep the scaled
    // mantissa below 2^53 * 10^9 < 2^83 (fits 128 bits) and the rounded
    // result below 2^33 * 10^9 < 2^64.
    if (decimals >= 0 && decimals <= 9 && mag < 8589934592.0 && end - buf >= 32) {
        // mag = m * 2^-shift exactly, m a 53-bit integer.
        int exp = 0;
        const double frac = std::frexp(mag, &exp);  // mag = frac * 2^exp, frac in [0.5, 1)
        const auto m = static_cast<uint64_t>(std::ldexp(frac, 53));
        const int shift = 53 - exp;  // > 0: mag < 2^33
        uint64_t q = 0;
        if (shift < 128) {
            const u128 scaled = static_cast<u128>(m) * kPow10[decimals];
            q = static_cast<uint64_t>(scaled >> shift);
            const u128 rem = scaled - (static_cast<u128>(q) << shift);
            const u128 half = static_cast<u128>(1) << (shift - 1);
            if (rem > half || (rem == half && (q & 1) != 0)) ++q;  // to nearest, ties to even
        }  // else: below 2^-75 * 10^9, rounds to 0
        char* p = buf;
        if (std::signbit(v)) *p++ = '-';
        const uint64_t unit = kPow10[decimals];
        p = std::to_chars(p, end, q / unit).ptr;
        if (decimals > 0) {
            *p++ = '.';
            p = write_digits(p, static_cast<uint32_t>(q % unit), decimals);   // < 10^9
        }
        return p;
    }
    const auto r = std::to_chars(buf, end, v, std::chars_format::fixed, decimals);
    return r.ec == std::errc{} ? r.ptr : nullptr;
}

}  // namespace pcaplens
