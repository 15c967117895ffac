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
#include <cstddef>

namespace pcaplens {

// Writes the text into [buf, end) and returns one past its last character,
// or nullptr when it does not fit (410 bytes always do: 309 integer digits,
// a point, up to 99 decimals and a sign). Not for NaN or infinities.
char* format_fixed(double v, int decimals, char* buf, char* end);

}  // namespace pcaplens
