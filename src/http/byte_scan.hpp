// Internal: byte scans the HTTP parser makes over every header block, sixteen
// bytes a step where SSE2 is there (every x86-64), a byte a step elsewhere.
// Each returns the same as its scalar loop (byte_scan tests compare them on
// every length and alignment). Loads never go past p + n.
#pragma once
#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace pcaplens::http::scan {

// Offset of the first '\n' in p[0..n), or n. Header lines are ~30 bytes: an
// inline loop beats a call to memchr, whose setup costs more than the scan.
inline size_t find_lf(const uint8_t* p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i lf = _mm_set1_epi8('\n');
    for (; i + 16 <= n; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        const unsigned m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)));
        if (m != 0) return i + static_cast<size_t>(__builtin_ctz(m));
    }
#endif
    for (; i < n; ++i) {
        if (p[i] == '\n') return i;
    }
    return n;
}

// Length of the run of bytes in p[0..n) that may continue a request target:
// above 0x20 and not DEL (bytes >= 0x80 included), as the start-line rules
// accept them.
inline size_t target_run(const uint8_t* p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i space = _mm_set1_epi8(0x20);
    const __m128i del = _mm_set1_epi8(0x7f);
    for (; i + 16 <= n; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        // v <= 0x20 (unsigned) exactly when min(v, 0x20) == v.
        const __m128i stop = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, space), v), _mm_cmpeq_epi8(v, del));
        const unsigned m = static_cast<unsigned>(_mm_movemask_epi8(stop));
        if (m != 0) return i + static_cast<size_t>(__builtin_ctz(m));
    }
#endif
    while (i < n && p[i] > 0x20 && p[i] != 0x7f) ++i;
    return i;
}

// Length of the run of bytes in p[0..n) that are letters, digits or '-':
// what almost every field name is made of (a subset of tchar, so the caller
// goes on from there with its exact table).
inline size_t name_run(const uint8_t* p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    // Signed compares: bytes >= 0x80 are negative and fail every range.
    const auto in_range = [](__m128i v, char lo, char hi) {
        return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                             _mm_cmpgt_epi8(_mm_set1_epi8(static_cast<char>(hi + 1)), v));
    };
    for (; i + 16 <= n; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        // OR 0x20 folds 'A'..'Z' onto 'a'..'z'; no other byte lands there.
        const __m128i ok = _mm_or_si128(_mm_or_si128(in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 'z'),
                                                     in_range(v, '0', '9')),
                                        _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
        const unsigned m = static_cast<unsigned>(_mm_movemask_epi8(ok)) ^ 0xffffu;
        if (m != 0) return i + static_cast<size_t>(__builtin_ctz(m));
    }
#endif
    for (; i < n; ++i) {
        const uint8_t c = p[i];
        const uint8_t l = c | 0x20;
        if (!((l >= 'a' && l <= 'z') || (c >= '0' && c <= '9') || c == '-')) return i;
    }
    return n;
}

}  // namespace pcaplens::http::scan
