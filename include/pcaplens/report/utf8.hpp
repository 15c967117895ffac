// UTF-8 well-formedness for the escapers (JSON strings, JUnit XML) that turn
// wire bytes into text: a sequence that is not well formed becomes U+FFFD.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pcaplens {

// Length of the well-formed UTF-8 sequence at p[0..n) (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), 0 when there is none; `cp`
// is its code point. For a lead byte >= 0x80 (ASCII is the callers' own case).
inline size_t utf8_sequence(const unsigned char* p, size_t n, uint32_t& cp) {
    const unsigned char c = p[0];
    size_t len = 0;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    if (len == 0 || len > n) return 0;
    for (size_t k = 1; k < len; ++k) {
        if ((p[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
    return len;
}

}  // namespace pcaplens
