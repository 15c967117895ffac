// A small streaming JSON writer. pcaplens writes its reports with it rather
// than building nlohmann::json documents because (1) timestamps must keep
// full nanosecond precision, which a double cannot hold, so they are written
// as exact decimal literals; (2) bytes from the wire must become valid UTF-8
// (invalid sequences are replaced by U+FFFD, documented); (3) it writes
// straight into a reused buffer without building a tree per connection.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pcaplens {

class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : out_(out) {}
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
        out_ += '"';
        out_.append(literal, N - 1);
        out_.append("\":", 2);
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
    std::string& out_;
    std::vector<char> first_;  // per open container: no element written yet
    bool after_key_ = false;
};

// Appends `s` to `out` as a JSON string body (no quotes): escapes, and
// replaces invalid UTF-8 with U+FFFD.
void json_escape(std::string_view s, std::string& out);

}  // namespace pcaplens
