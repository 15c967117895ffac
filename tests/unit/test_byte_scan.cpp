// The HTTP parser's sixteen-bytes-a-step scans (src/http/byte_scan.hpp)
// against the byte loops they replace: every length up to 48 (three steps), every
// starting alignment, the bytes at the edges of each class, and the run's
// end at every position. Each buffer is its own heap block of exactly n
// bytes, so a load past p + n is an error under ASan.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "../../src/http/byte_scan.hpp"

using namespace pcaplens::http;

namespace {

size_t ref_find_lf(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (p[i] == '\n') return i;
    }
    return n;
}
size_t ref_target_run(const uint8_t* p, size_t n) {
    size_t i = 0;
    while (i < n && p[i] > 0x20 && p[i] != 0x7f) ++i;
    return i;
}
size_t ref_name_run(const uint8_t* p, size_t n) {
    size_t i = 0;
    while (i < n && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') ||
                     p[i] == '-')) {
        ++i;
    }
    return i;
}

// Bytes on either side of each class's edges, and some inside.
const uint8_t kEdges[] = {0x00, 0x09, '\n', '\r', 0x1f, 0x20, 0x21, '+', ',', '-', '.', '/', '0', '9', ':', '@',
                          'A',  'Z',  '[',  '`',  'a',  'z',  '{',  '|', '~', 0x7f, 0x80, 0x9f, 0xc0, 0xdf, 0xe0, 0xff};

// Checks the three scans on `bytes` from every offset up to 16, each
// sub-buffer copied into a heap block of its exact size.
void check_all(const std::vector<uint8_t>& bytes) {
    for (size_t off = 0; off <= 16 && off <= bytes.size(); ++off) {
        const size_t n = bytes.size() - off;
        std::unique_ptr<uint8_t[]> block(new uint8_t[n == 0 ? 1 : n]);
        std::copy(bytes.begin() + static_cast<std::ptrdiff_t>(off), bytes.end(), block.get());
        const uint8_t* p = block.get();
        REQUIRE(scan::find_lf(p, n) == ref_find_lf(p, n));
        REQUIRE(scan::target_run(p, n) == ref_target_run(p, n));
        REQUIRE(scan::name_run(p, n) == ref_name_run(p, n));
    }
}

}  // namespace

TEST_CASE("byte scans: one stop byte at every position of runs up to 48 bytes") {
    for (size_t len = 0; len <= 48; ++len) {
        for (size_t at = 0; at <= len; ++at) {
            for (const uint8_t stop : kEdges) {
                // A run each scan takes whole ('a' is a name, target and non-LF byte), one edge byte in it.
                std::vector<uint8_t> b(len, 'a');
                if (at < len) b[at] = stop;
                check_all(b);
            }
        }
    }
}

TEST_CASE("byte scans: every byte value as the first stop, after a full sixteen-byte step") {
    for (int c = 0; c < 256; ++c) {
        std::vector<uint8_t> b(40, 'Q');
        b[21] = static_cast<uint8_t>(c);
        const uint8_t* p = b.data();
        const size_t want_name = ((c | 0x20) >= 'a' && (c | 0x20) <= 'z' && c < 0x80) || (c >= '0' && c <= '9') || c == '-'
                                     ? 40
                                     : 21;
        CHECK(scan::name_run(p, b.size()) == want_name);
        CHECK(scan::target_run(p, b.size()) == (c > 0x20 && c != 0x7f ? 40 : 21));
        CHECK(scan::find_lf(p, b.size()) == (c == '\n' ? 21 : 40));
        check_all(b);
    }
}

TEST_CASE("byte scans: random header-like and binary bytes") {
    std::mt19937 rng(20261129);
    std::uniform_int_distribution<int> len_of(0, 100), byte(0, 255), pick(0, sizeof kEdges - 1), mode(0, 2);
    for (int round = 0; round < 1500; ++round) {
        std::vector<uint8_t> b(static_cast<size_t>(len_of(rng)));
        const int m = mode(rng);
        for (auto& x : b) {
            // Mostly name bytes (long runs), edge bytes, or anything.
            x = m == 0 ? static_cast<uint8_t>("abcXYZ019-"[byte(rng) % 10])
                : m == 1 ? kEdges[pick(rng)]
                         : static_cast<uint8_t>(byte(rng));
            if (m == 0 && byte(rng) < 4) x = kEdges[pick(rng)];
        }
        check_all(b);
    }
}
