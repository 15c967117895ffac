// A small streaming JSON writer. pcaplens writes its reports with it rather
// than building nlohmann::json documents because (1) timestamps must keep
// full nanosecond precision, which a double cannot hold, so they are written
// as exact decimal literals; (2) bytes from the wire must become valid UTF-8
// (invalid sequences are replaced by U+FFFD, documented); (3) it writes
// straight into a reused buffer without building a tree per connection.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pcaplens {

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
    // Raw newline between top-level items (keeps documents diffable).
    JsonWriter& newline() {
        out_ += '\n';
        return *this;
    }

private:
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

// Appends `s` to `out` as a JSON string body (no quotes): escapes, and
// replaces invalid UTF-8 with U+FFFD.
void json_escape(std::string_view s, std::string& out);
void json_escape(std::string_view s, JsonBuffer& out);

}  // namespace pcaplens
