#include <doctest/doctest.h>

#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pcaplens/decode/packet.hpp"
#include "pcaplens/findings/finding.hpp"
#include "pcaplens/report/fixed_decimal.hpp"
#include "pcaplens/report/json_writer.hpp"
#include "pcaplens/report/utf8.hpp"
#include "pcaplens/tcp/connection.hpp"

using namespace pcaplens;

TEST_CASE("json writer: structure, commas and exact timestamps") {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.begin_object().key("a").num(int64_t{-5}).key("b").begin_array().num(uint64_t{1}).str("x").null().boolean(true).end_array();
    w.key("ts").timestamp(1700000000123456789LL).key("neg").timestamp(-1500000000LL).key("r").real(1.23456, 2).end_object();
    const std::string out = buf.str();
    CHECK(out == R"({"a":-5,"b":[1,"x",null,true],"ts":1700000000.123456789,"neg":-1.500000000,"r":1.23})");
    auto j = nlohmann::json::parse(out);
    CHECK(j["b"].size() == 4);
}

TEST_CASE("json escape: control bytes, quotes and invalid UTF-8 give valid JSON") {
    std::string out;
    json_escape(std::string("a\"b\\c\n\x01\x1b[31m\x7f"), out);
    CHECK(out == "a\\\"b\\\\c\\n\\u0001\\u001b[31m\\u007f");
    std::string bad;
    // Overlong encoding, lone continuation, truncated sequence, surrogate, valid e-acute and 4-byte emoji.
    json_escape(std::string("\xC0\xAF|\x80|\xE2\x82|\xED\xA0\x80|\xC3\xA9|\xF0\x9F\x98\x80"), bad);
    CHECK(bad == "\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|\xC3\xA9|\xF0\x9F\x98\x80");
    std::string doc = "\"" + bad + "\"";
    nlohmann::json parsed;
    CHECK_NOTHROW(parsed = nlohmann::json::parse(doc));
    CHECK(parsed.is_string());
}

TEST_CASE("json escape: every byte value at every position of a plain run") {
    // Each byte value, alone among plain bytes at each offset of a 24-byte
    // run (the fast path copies plain runs whole), must come out exactly as
    // the byte-by-byte rules say.
    const auto expected = [](unsigned char c) -> std::string {
        switch (c) {
            case '"': return "\\\"";
            case '\\': return "\\\\";
            case '\n': return "\\n";
            case '\r': return "\\r";
            case '\t': return "\\t";
            default: break;
        }
        if (c < 0x20 || c == 0x7F) {
            static const char* hex = "0123456789abcdef";
            return std::string("\\u00") + hex[c >> 4] + hex[c & 15];
        }
        if (c >= 0x80) return "\xEF\xBF\xBD";   // a lone high byte is invalid UTF-8
        return std::string(1, static_cast<char>(c));
    };
    const std::string base = "abcdefghijklmnopqrstuvwx";   // 24 plain bytes: three words
    size_t mismatches = 0;
    for (int c = 0; c < 256; ++c) {
        for (size_t k = 0; k < base.size(); ++k) {
            std::string in = base;
            in[k] = static_cast<char>(c);
            std::string out;
            json_escape(in, out);
            const std::string want = base.substr(0, k) + expected(static_cast<unsigned char>(c)) + base.substr(k + 1);
            if (out != want) ++mismatches;
        }
    }
    CHECK(mismatches == 0);
}

TEST_CASE("json writer: a run of timestamps through one writer, sharing and changing their second, matches printf") {
    // timestamp() keeps the text of the latest second: every switch --
    // same second, next second, back again, the sign flipping around 0
    // (-0.5 s and 0.5 s share the second 0), far jumps -- must still
    // print exactly what printf does.
    std::mt19937_64 rng(7);
    std::vector<int64_t> ts = {500000000, -500000000, -500000000, 500000000, 0, -1, 1, 999999999, 1000000000,
                               1999999999, 1000000000, INT64_MIN, INT64_MAX, INT64_MAX - 1, 1700000000123456789LL};
    int64_t t = 1764000000LL * 1000000000LL;
    for (int i = 0; i < 3000; ++i) {
        const uint64_t r = rng();
        if (r % 7 == 0) t = static_cast<int64_t>(rng()) >> (rng() % 64);
        else t += static_cast<int64_t>(r % 400000000) - 100000000;
        ts.push_back(t);
    }
    JsonBuffer out;
    pcaplens::JsonWriter w(out);
    w.begin_array();
    std::string expect = "[";
    for (size_t i = 0; i < ts.size(); ++i) {
        w.timestamp(ts[i]);
        const int64_t v = ts[i];
        const uint64_t mag = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s%s%llu.%09llu", i ? "," : "", v < 0 ? "-" : "", static_cast<unsigned long long>(mag / 1000000000ull),
                      static_cast<unsigned long long>(mag % 1000000000ull));
        expect += buf;
    }
    w.end_array();
    expect += "]";
    CHECK(out.view() == expect);
}

TEST_CASE("json writer: numbers, reals and timestamps match printf's digits exactly") {
    // The writer uses std::to_chars; printf is the reference it must equal.
    std::mt19937_64 rng(99);
    auto printf_str = [](const char* fmt, auto... args) {
        char buf[512];
        const int n = std::snprintf(buf, sizeof buf, fmt, args...);
        return std::string(buf, static_cast<size_t>(n));
    };
    std::vector<int64_t> ints = {0, 1, -1, 9, 10, 999999999, 1000000000, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (int i = 0; i < 2000; ++i) ints.push_back(static_cast<int64_t>(rng()) >> (rng() % 64));
    for (const int64_t v : ints) {
        CAPTURE(v);
        JsonBuffer a, b, c;
        pcaplens::JsonWriter(a).num(v);
        CHECK(a.view() == printf_str("%lld", static_cast<long long>(v)));
        pcaplens::JsonWriter(b).num(static_cast<uint64_t>(v));
        CHECK(b.view() == printf_str("%llu", static_cast<unsigned long long>(static_cast<uint64_t>(v))));
        pcaplens::JsonWriter(c).timestamp(v);
        const uint64_t mag = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
        CHECK(c.view() == printf_str("%s%llu.%09llu", v < 0 ? "-" : "", static_cast<unsigned long long>(mag / 1000000000ull),
                              static_cast<unsigned long long>(mag % 1000000000ull)));
    }
    std::vector<double> reals = {0.0, -0.0, 0.0005, 0.0015, 0.0025, 1.0005, 2.5, -2.5, 123456.789, 1e-9, 1e300, -1e300, 0.1, 1.0 / 3};
    for (int i = 0; i < 2000; ++i) {
        uint64_t bits = rng();
        double d;
        std::memcpy(&d, &bits, sizeof d);
        if (std::isfinite(d)) reals.push_back(d);
        reals.push_back(static_cast<double>(rng() % 10000000) / 1000.0);
    }
    for (const double v : reals) {
        for (const int decimals : {0, 1, 3, 6}) {
            CAPTURE(v);
            CAPTURE(decimals);
            JsonBuffer a;
            pcaplens::JsonWriter(a).real(v, decimals);
            CHECK(a.view() == printf_str("%.*f", decimals, v));
        }
    }
    JsonBuffer nan;
    pcaplens::JsonWriter(nan).real(std::nan(""));
    CHECK(nan.view() == "null");
}

TEST_CASE("json writer: literal keys are copied, runtime keys are escaped") {
    JsonBuffer buf;
    JsonWriter w(buf);
    const std::string wire_method = "GE\"T\x01";
    w.begin_object().key("plain_key").num(1).key(wire_method).num(2).key(std::string_view("a\\b")).num(3).end_object();
    const std::string out = buf.str();
    CHECK(out == "{\"plain_key\":1,\"GE\\\"T\\u0001\":2,\"a\\\\b\":3}");
    CHECK(nlohmann::json::parse(out).size() == 3);
}

TEST_CASE("utf8_sequence: the edges of RFC 3629") {
    auto len = [](std::string_view b) {
        uint32_t cp = 0;
        return pcaplens::utf8_sequence(reinterpret_cast<const unsigned char*>(b.data()), b.size(), cp);
    };
    CHECK(len("\xC2\x80") == 2);            // U+0080, the first two-byte one
    CHECK(len("\xC1\xBF") == 0);            // overlong
    CHECK(len("\xE0\xA0\x80") == 3);        // U+0800
    CHECK(len("\xE0\x9F\xBF") == 0);        // overlong
    CHECK(len("\xED\x9F\xBF") == 3);        // U+D7FF
    CHECK(len("\xED\xA0\x80") == 0);        // U+D800, a surrogate
    CHECK(len("\xF0\x90\x80\x80") == 4);    // U+10000
    CHECK(len("\xF0\x8F\xBF\xBF") == 0);    // overlong
    CHECK(len("\xF4\x8F\xBF\xBF") == 4);    // U+10FFFF
    CHECK(len("\xF4\x90\x80\x80") == 0);    // beyond U+10FFFF
    CHECK(len("\xF5\x80\x80\x80") == 0);    // no such lead byte
    CHECK(len("\xE2\x82") == 0);            // cut short
    CHECK(len("\x80") == 0);                // a continuation byte alone
    uint32_t cp = 0;
    CHECK(pcaplens::utf8_sequence(reinterpret_cast<const unsigned char*>("\xC3\xA9"), 2, cp) == 2);
    CHECK(cp == 0xE9);
}

TEST_CASE("json buffer: grows across its capacity and escapes like the std::string overload") {
    // Appends of every size from 0 to 9,000 bytes (past the first 4 KiB and
    // through several doublings) against a std::string built alongside.
    JsonBuffer buf;
    std::string ref;
    std::mt19937 rng(7);
    for (size_t n = 0; n < 9000; n += 1 + rng() % 700) {
        std::string piece(n, '\0');
        for (char& c : piece) c = static_cast<char>(rng());
        buf.append(piece);
        ref += piece;
        buf += 'x';
        ref += 'x';
        REQUIRE(buf.size() == ref.size());
    }
    CHECK(buf.view() == ref);
    // Escaping into either output gives the same bytes.
    std::string esc_ref;
    json_escape(ref, esc_ref);
    JsonBuffer esc;
    json_escape(ref, esc);
    CHECK(esc.view() == esc_ref);
    buf.clear();
    CHECK(buf.empty());
    buf += std::string_view("after clear");
    CHECK(buf.str() == "after clear");
}

TEST_CASE("format_fixed: printf's %.*f digits, ties and rounding boundaries included") {
    auto printf_fixed = [](double v, int d) {
        char buf[512];
        const int n = std::snprintf(buf, sizeof buf, "%.*f", d, v);
        return std::string(buf, static_cast<size_t>(n));
    };
    auto ours = [](double v, int d) {
        char buf[410];
        const char* end = pcaplens::format_fixed(v, d, buf, buf + sizeof buf);
        REQUIRE(end != nullptr);
        return std::string(static_cast<const char*>(buf), end);
    };
    std::vector<double> values = {0.0, -0.0, 0.5, 1.5, 2.5, -2.5, 0.125, 0.375, 0.0625, 1.0005, 0.0015, 0.0025,
                                  1e-300, -1e-300, 5e-324, 8589934591.999, 8589934592.0, 8589934593.5, 1e18, 1e300,
                                  0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 999.9995, 999.9994999, 4294967295.5};
    // Exact ties at each decimal count: k / 2^j are exact binary values.
    for (int j = 1; j <= 12; ++j) {
        for (int k = 1; k < 64; k += 2) values.push_back(std::ldexp(k, -j)), values.push_back(-std::ldexp(k, -j));
    }
    // Values a few ulps around the halfway points of 3 decimals (ms with us).
    std::mt19937_64 rng(2026);
    for (int i = 0; i < 3000; ++i) {
        const double base = (static_cast<double>(rng() % 100000000) + 0.5) / 1000.0;
        double v = base;
        for (int u = 0; u < 3; ++u) v = std::nextafter(v, 0.0);
        for (int u = 0; u < 7; ++u, v = std::nextafter(v, 1e9)) values.push_back(v);
    }
    // Random magnitudes, and random bit patterns.
    for (int i = 0; i < 20000; ++i) {
        values.push_back(static_cast<double>(static_cast<int64_t>(rng() >> (rng() % 64))) / std::pow(10.0, static_cast<double>(rng() % 12)));
        uint64_t bits = rng();
        double d;
        std::memcpy(&d, &bits, sizeof d);
        if (std::isfinite(d)) values.push_back(d);
    }
    size_t mismatches = 0;
    for (const double v : values) {
        for (int d = 0; d <= 10; ++d) {
            if (ours(v, d) != printf_fixed(v, d)) {
                if (++mismatches <= 5) {
                    CAPTURE(v);
                    CAPTURE(d);
                    CHECK(ours(v, d) == printf_fixed(v, d));
                }
            }
        }
    }
    CHECK(mismatches == 0);
    char tiny[4];
    CHECK(pcaplens::format_fixed(123456.0, 3, tiny, tiny + sizeof tiny) == nullptr);   // does not fit: to_chars says so
}

TEST_CASE("json plain prefix: the 16-byte blocks and the tail agree with the byte rule") {
    // Strings of 0..48 bytes (three blocks and every tail length), plain but
    // for one byte of each value at each position: the prefix ends exactly there.
    const auto plain = [](unsigned char c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\'; };
    for (size_t n = 0; n <= 48; ++n) {
        std::vector<unsigned char> s(n, 'a');
        CHECK(detail::json_plain_prefix(s.data(), n) == n);
        for (size_t at = 0; at < n; ++at) {
            for (int c = 0; c < 256; ++c) {
                s[at] = static_cast<unsigned char>(c);
                const size_t want = plain(static_cast<unsigned char>(c)) ? n : at;
                REQUIRE(detail::json_plain_prefix(s.data(), n) == want);
            }
            s[at] = 'a';
        }
    }
}

TEST_CASE("json raw: the same bytes as the writer, commas spelled out, through regrowth") {
    // One object written token by token both ways; the raw one starts with
    // 16 bytes of room so nearly every token regrows the buffer.
    const std::string wire = std::string("GE\"T\x01 \xC3\xA9 \xFF") + std::string(40, 'u') + "\\";
    JsonBuffer a, b;
    {
        JsonWriter w(a);
        w.begin_array().num(uint64_t{7});
        w.begin_object().key("n").num(int64_t{-12}).key("u").num(uint64_t{18446744073709551615ull}).key("s").str(wire);
        w.key("e").str("").key("t").timestamp(1700000000123456789LL).key("t2").timestamp(1700000000000000001LL);
        w.key("neg").timestamp(-1500000000LL).key("r").real(1.0005, 3).key("nan").real(std::nan(""));
        w.key("b").boolean(true).key("f").boolean(false).key("z").null().key("name").str("ESTABLISHED");
        w.key("arr").begin_array().num(int64_t{1}).num(int64_t{2}).end_array().end_object();
        w.end_array();
    }
    {
        JsonWriter w(b);
        w.begin_array().num(uint64_t{7});
        {
            JsonRaw r(w, 16);
            r.put('{').first("n").num(int64_t{-12}).key("u").num(uint64_t{18446744073709551615ull}).key("s").str(wire);
            r.key("e").str("").key("t").timestamp(1700000000123456789LL).key("t2").timestamp(1700000000000000001LL);
            r.key("neg").timestamp(-1500000000LL).key("r").real(1.0005, 3).key("nan").real(std::nan(""));
            r.key("b").boolean(true).key("f").boolean(false).key("z").null().key("name").name("ESTABLISHED");
            r.key("arr").put('[').num(1).put(',').num(2).put(']').put('}');
        }
        w.end_array();
    }
    CHECK(b.view() == a.view());
    CHECK(nlohmann::json::parse(b.view()).is_array());
    // The optional forms.
    JsonBuffer c;
    {
        JsonWriter w(c);
        JsonRaw r(w);
        r.put('[').num_or_null(false, 1).put(',').num_or_null(true, 2).put(',').timestamp_or_null(false, 5).put(',');
        r.str_or_null("").put(',').str_or_null("x").put(',').real_or_null(std::nullopt).put(',').real_or_null(0.25).put(']');
    }
    CHECK(c.view() == "[null,2,null,null,\"x\",null,0.250]");
}

TEST_CASE("json raw: a long string with escapes through a nearly full buffer") {
    // The escaped text (up to 6 bytes per input byte) must fit however little
    // room is left: strings of every length to 300 with control bytes.
    for (size_t n = 0; n < 300; n += 7) {
        std::string s(n, 'x');
        for (size_t i = 0; i < n; i += 5) s[i] = '\x01';
        std::string want = "\"";
        json_escape(s, want);
        want += '"';
        JsonBuffer buf;
        JsonWriter w(buf);
        {
            JsonRaw r(w, 1);
            r.str(s);
        }
        REQUIRE(buf.view() == want);
    }
}

TEST_CASE("json raw: every name the reports copy without the escape scan is plain") {
    // JsonRaw::name() skips the scan for pcaplens's own tables; a name with a
    // quote, backslash or control byte in one of them would break the JSON.
    const auto plain = [](std::string_view v) {
        return detail::json_plain_prefix(reinterpret_cast<const unsigned char*>(v.data()), v.size()) == v.size();
    };
    for (int s = 0; s <= static_cast<int>(TcpState::LAST_ACK); ++s) CHECK(plain(state_name(static_cast<TcpState>(s))));
    for (int k = 0; k <= static_cast<int>(CloseKind::evicted); ++k) CHECK(plain(close_kind_name(static_cast<CloseKind>(k))));
    for (int i = 0; i <= static_cast<int>(CloseInitiator::simultaneous); ++i) {
        CHECK(plain(close_initiator_name(static_cast<CloseInitiator>(i))));
    }
    CHECK(plain(role_name(Role::client)));
    CHECK(plain(role_name(Role::server)));
    for (int l = 0; l <= static_cast<int>(Layer::http); ++l) CHECK(plain(layer_name(static_cast<Layer>(l))));
    for (int s = 0; s <= static_cast<int>(Severity::error); ++s) CHECK(plain(severity_name(static_cast<Severity>(s))));
    for (const CatalogueEntry& e : catalogue_all()) {
        CHECK(plain(e.name));
        CHECK(plain(kind_name(e.kind)));
    }
    for (uint32_t f = 0; f < 0x1000; ++f) REQUIRE(plain(tcp_flags_str(static_cast<uint16_t>(f))));
}
