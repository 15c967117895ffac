// A small streaming JSON writer. pcaplens writes its reports with it rather
// than building nlohmann::json documents because (1) timestamps must keep
// full nanosecond precision, which a double cannot hold, so they are written
// as exact decimal literals; (2) bytes from the wire must become valid UTF-8
// (invalid sequences are replaced by U+FFFD, documented); (3) it writes
// straight into a reused buffer without building a tree per connection.
#pragma once
#include <cstddef>
#include <cstdint>
#include <array>
#include <cstring>
#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "pcaplens/report/fixed_decimal.hpp"

namespace pcaplens {

namespace detail {
// Bytes a JSON string holds as they are: printable ASCII other than '"' and '\\'.
inline constexpr std::array<bool, 256> kJsonPlain = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x7F; ++c) t[static_cast<size_t>(c)] = c != '"' && c != '\\';
    return t;
}();
// Length of the run of bytes at the start of [p, p+n) that a JSON string
// holds as they are: printable ASCII other than '"' and '\\'. Sixteen at a
// time where SSE2 is there (every x86-64): a report's strings are mostly
// such runs (URIs, user agents, finding details).
inline size_t json_plain_prefix(const unsigned char* p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i below = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7F), quote = _mm_set1_epi8('"'),
                  backslash = _mm_set1_epi8('\\');
    for (; i + 16 <= n; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        // Signed compare: bytes >= 0x80 are negative, so below 0x20 too.
        const __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(v, below), _mm_cmpeq_epi8(v, del)),
                                         _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
        if (const int m = _mm_movemask_epi8(bad)) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(m)));
    }
#endif
    while (i < n && kJsonPlain[p[i]]) ++i;
    return i;
}
// Writes the JSON string body of [s, s+n) at `out` (escapes, U+FFFD for
// invalid UTF-8) and returns its end; at most 6 * n bytes are written.
char* json_escape_to(const unsigned char* s, size_t n, char* out);
}  // namespace detail

// The growable byte buffer a JsonWriter writes into. Not std::string: its
// append() is an out-of-line library call, and a report is hundreds of
// short appends per connection (keys, punctuation, digits) -- with this
// inline append (a capacity check and a memcpy of a constant size) the JSON
// report's rendering takes ~40% fewer instructions (bench/RESULTS.md).
class JsonBuffer {
public:
    void append(const char* s, size_t n) {
        if (n == 0) return;  // memcpy's pointers must not be null, even for 0 bytes
        if (n > cap_ - len_) grow(n);
        std::memcpy(buf_.get() + len_, s, n);
        len_ += n;
    }
    void append(std::string_view s) { append(s.data(), s.size()); }
    // n <= 32 bytes from a source with 32 readable bytes: copies all 32 (a
    // constant-size copy, no library call) and keeps n. For number texts,
    // formatted into a 32-byte stack buffer.
    void append_short(const char* s, size_t n) {
        if (32 > cap_ - len_) grow(32);
        std::memcpy(buf_.get() + len_, s, 32);
        len_ += n;
    }
    void push_back(char c) {
        if (len_ == cap_) grow(1);
        buf_[len_++] = c;
    }
    JsonBuffer& operator+=(char c) {
        push_back(c);
        return *this;
    }
    JsonBuffer& operator+=(std::string_view s) {
        append(s);
        return *this;
    }
    // For JsonRaw: room for `n` more bytes, written through the pointer
    // returned (the end of the contents) and then committed with the new end.
    char* reserve(size_t n) {
        if (n > cap_ - len_) grow(n);
        return buf_.get() + len_;
    }
    char* limit() const { return buf_.get() + cap_; }
    void commit(const char* end) { len_ = static_cast<size_t>(end - buf_.get()); }
    const char* data() const { return buf_.get(); }
    size_t size() const { return len_; }
    bool empty() const { return len_ == 0; }
    void clear() { len_ = 0; }
    std::string_view view() const { return {buf_.get(), len_}; }
    std::string str() const { return std::string(view()); }

private:
    void grow(size_t more);
    std::unique_ptr<char[]> buf_;
    size_t len_ = 0, cap_ = 0;
};

class JsonWriter {
public:
    explicit JsonWriter(JsonBuffer& out) : out_(out) {}
    JsonWriter& begin_object();
    // Resume writing members of an object whose '{' and earlier members were
    // written elsewhere (streamed documents).
    JsonWriter& continue_object() {
        first_.push_back(false);
        return *this;
    }
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    JsonWriter& key(std::string_view k);  // escaped: may hold wire bytes (e.g. HTTP methods)
    // A key written as a string literal in our code is a plain identifier:
    // it is copied without the escape scan (most keys of a report are these).
    template <size_t N>
    JsonWriter& key(const char (&literal)[N]) {
        comma();
        // One append of the quoted key: '"', the N-1 characters, '"', ':'.
        char quoted[N + 2];
        quoted[0] = '"';
        std::memcpy(quoted + 1, literal, N - 1);
        quoted[N] = '"';
        quoted[N + 1] = ':';
        out_.append(quoted, N + 2);
        after_key_ = true;
        return *this;
    }
    JsonWriter& str(std::string_view v);
    JsonWriter& num(int64_t v);
    JsonWriter& num(uint64_t v);
    JsonWriter& num(int v) { return num(static_cast<int64_t>(v)); }
    JsonWriter& num(unsigned v) { return num(static_cast<uint64_t>(v)); }
    JsonWriter& real(double v, int decimals = 3);
    JsonWriter& boolean(bool v);
    JsonWriter& null();
    JsonWriter& timestamp(int64_t ns);  // seconds since the epoch, 9 decimals, exact
    // Writes timestamp(ns)'s text at `p` (room for 32 bytes) and returns its end.
    char* put_timestamp(char* p, int64_t ns);
    // Raw newline between top-level items (keeps documents diffable).
    JsonWriter& newline() {
        out_ += '\n';
        return *this;
    }

private:
    friend class JsonRaw;
    // Inline: called before every value and key of every report.
    void comma() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (!first_.empty()) {
            if (!first_.back()) out_ += ',';
            first_.back() = false;
        }
    }
    JsonBuffer& out_;
    std::vector<char> first_;  // per open container: no element written yet
    bool after_key_ = false;
    // timestamp(): the text of the latest whole second, sign and '.' included.
    bool ts_neg_ = false;
    uint8_t ts_len_ = 0;       // 0: none yet
    uint64_t ts_sec_ = 0;
    char ts_text_[22] = {};
};

// Writes a part of a report whose shape our code fixes -- a connection's
// members, an HTTP transaction, a state change, a finding -- without the
// writer's per-token bookkeeping: the commas are spelled out (first() writes
// '"k":', key() ',"k":'), and each token is a few inline stores after a
// capacity check against a constant. Rendering was ~22% of the full JSON
// report's time through JsonWriter's calls alone (bench/RESULTS.md, session
// 22). Starts where `w` expects a value or the next member (writing the
// comma that is due) and commits what it wrote when destroyed; `w` must not
// be used while a JsonRaw on it is alive.
class JsonRaw {
public:
    JsonRaw(JsonWriter& w, size_t expect = 4096) : w_(w), buf_(w.out_) {
        w.comma();
        p_ = buf_.reserve(expect);
        lim_ = buf_.limit();
    }
    ~JsonRaw() { buf_.commit(p_); }
    JsonRaw(const JsonRaw&) = delete;
    JsonRaw& operator=(const JsonRaw&) = delete;

    JsonRaw& put(char c) {
        need(1);
        *p_++ = c;
        return *this;
    }
    // Text written as it is: punctuation, and keys with their quotes.
    template <size_t N>
    JsonRaw& lit(const char (&text)[N]) {
        need(N - 1);
        std::memcpy(p_, text, N - 1);
        p_ += N - 1;
        return *this;
    }
    template <size_t N>
    JsonRaw& first(const char (&k)[N]) {  // the first member of an object: "k":
        need(N + 2);
        *p_ = '"';
        std::memcpy(p_ + 1, k, N - 1);
        p_[N] = '"';
        p_[N + 1] = ':';
        p_ += N + 2;
        return *this;
    }
    template <size_t N>
    JsonRaw& key(const char (&k)[N]) {  // every later member: ,"k":
        need(N + 3);
        p_[0] = ',';
        p_[1] = '"';
        std::memcpy(p_ + 2, k, N - 1);
        p_[N + 1] = '"';
        p_[N + 2] = ':';
        p_ += N + 3;
        return *this;
    }
    JsonRaw& num(uint64_t v) {
        need(20);
        p_ = std::to_chars(p_, p_ + 20, v).ptr;
        return *this;
    }
    JsonRaw& num(int64_t v) {
        need(21);
        p_ = std::to_chars(p_, p_ + 21, v).ptr;
        return *this;
    }
    JsonRaw& num(uint32_t v) { return num(static_cast<uint64_t>(v)); }
    JsonRaw& num(int v) { return num(static_cast<int64_t>(v)); }
    JsonRaw& boolean(bool v) {
        need(5);
        std::memcpy(p_, v ? "true" : "false", 5);   // "true" copies its terminator, overwritten later
        p_ += v ? 4 : 5;
        return *this;
    }
    JsonRaw& null() {
        need(4);
        std::memcpy(p_, "null", 4);
        p_ += 4;
        return *this;
    }
    JsonRaw& str(std::string_view v) {
        const auto* s = reinterpret_cast<const unsigned char*>(v.data());
        const size_t plain = detail::json_plain_prefix(s, v.size());
        if (plain == v.size()) {
            need(v.size() + 2);
            *p_ = '"';
            if (!v.empty()) std::memcpy(p_ + 1, s, v.size());
            p_[v.size() + 1] = '"';
            p_ += v.size() + 2;
            return *this;
        }
        need(6 * v.size() + 2);
        *p_++ = '"';
        if (plain > 0) std::memcpy(p_, s, plain);
        p_ = detail::json_escape_to(s + plain, v.size() - plain, p_ + plain);
        *p_++ = '"';
        return *this;
    }
    // A name from pcaplens's own tables (states, close kinds, roles, anomaly
    // kinds...): plain ASCII by construction (a unit test checks every one),
    // so copied without the escape scan.
    JsonRaw& name(std::string_view v) {
        need(v.size() + 2);
        *p_ = '"';
        std::memcpy(p_ + 1, v.data(), v.size());
        p_[v.size() + 1] = '"';
        p_ += v.size() + 2;
        return *this;
    }
    JsonRaw& timestamp(int64_t ns) {
        need(32);
        p_ = w_.put_timestamp(p_, ns);
        return *this;
    }
    JsonRaw& real(double v, int decimals = 3);   // as JsonWriter::real

    // The usual optional members, null when absent.
    JsonRaw& num_or_null(bool present, uint64_t v) { return present ? num(v) : null(); }
    JsonRaw& timestamp_or_null(bool present, int64_t ns) { return present ? timestamp(ns) : null(); }
    JsonRaw& str_or_null(std::string_view v) { return v.empty() ? null() : str(v); }   // an empty text is null
    JsonRaw& real_or_null(const std::optional<double>& v) { return v ? real(*v) : null(); }

private:
    void need(size_t n) {
        if (n > static_cast<size_t>(lim_ - p_)) regrow(n);
    }
    void regrow(size_t n);
    JsonWriter& w_;
    JsonBuffer& buf_;
    char* p_ = nullptr;
    char* lim_ = nullptr;
};

// Appends `s` to `out` as a JSON string body (no quotes): escapes, and
// replaces invalid UTF-8 with U+FFFD.
void json_escape(std::string_view s, std::string& out);
void json_escape(std::string_view s, JsonBuffer& out);

}  // namespace pcaplens
