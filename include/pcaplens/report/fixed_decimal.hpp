// Fixed-notation decimal text of a double, exactly as printf's "%.*f" (and
// std::to_chars(..., chars_format::fixed, decimals)) writes it: the exact
// binary value rounded to `decimals` digits, ties to even, "-" for negative
// values including -0.0.
//
// Reports write a few of these per connection and two per HTTP transaction
// (durations, RTTs, times to first byte in ms). libstdc++'s to_chars takes
// ~500 instructions for one; values below ~8.6e9 with up to 9 decimals are
// done here with 128-bit integer arithmetic in ~40, the rest go to to_chars.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pcaplens {

// Writes the text into [buf, end) and returns one past its last character,
// or nullptr when it does not fit (410 bytes always do: 309 integer digits,
// a point, up to 99 decimals and a sign). Not for NaN or infinities.
char* format_fixed(double v, int decimals, char* buf, char* end);

namespace detail {
// "00" "01" ... "99".
inline constexpr std::array<char, 200> kDigitPairs = [] {
    std::array<char, 200> t{};
    for (int i = 0; i < 100; ++i) {
        t[static_cast<size_t>(2 * i)] = static_cast<char>('0' + i / 10);
        t[static_cast<size_t>(2 * i + 1)] = static_cast<char>('0' + i % 10);
    }
    return t;
}();
}  // namespace detail

// Writes `v` as exactly `digits` decimal digits, zero-padded (v < 10^digits,
// digits <= 9), two at a time; returns p + digits. The fraction of
// format_fixed and of the JSON writer's nanosecond timestamps (inline: every
// report writes ~30 of those per connection).
inline char* write_digits(char* p, uint32_t v, int digits) {
    int i = digits;
    for (; i >= 2; i -= 2) {
        std::memcpy(p + i - 2, detail::kDigitPairs.data() + 2 * (v % 100), 2);
        v /= 100;
    }
    if (i == 1) p[0] = static_cast<char>('0' + v % 10);
    return p + digits;
}

}  // namespace pcaplens
