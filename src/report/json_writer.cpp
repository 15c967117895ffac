#include "pcaplens/report/json_writer.hpp"
#include "pcaplens/report/fixed_decimal.hpp"
#include "pcaplens/report/utf8.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace pcaplens {

void JsonBuffer::grow(size_t more) {
    size_t cap = cap_ < 4096 ? 4096 : cap_ * 2;
    while (cap - len_ < more) cap *= 2;
    auto bigger = std::make_unique_for_overwrite<char[]>(cap);
    if (len_ > 0) std::memcpy(bigger.get(), buf_.get(), len_);
    buf_ = std::move(bigger);
    cap_ = cap;
}

namespace {
template <class Out>
void escape_into(std::string_view s, Out& out) {
    static const char* hex = "0123456789abcdef";
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    size_t i = 0;
    while (i < n) {
        // Fast path: copy a run of plain printable ASCII at once.
        const size_t run = i + detail::json_plain_prefix(p + i, n - i);
        if (run > i) {
            out.append(s.data() + i, run - i);
            i = run;
            if (i == n) break;
        }
        const unsigned char c = p[i];
        if (c < 0x80) {
            switch (c) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                default:
                    if (c < 0x20 || c == 0x7F) {
                        out += "\\u00";
                        out += hex[c >> 4];
                        out += hex[c & 15];
                    } else {
                        out += static_cast<char>(c);
                    }
            }
            ++i;
            continue;
        }
        uint32_t cp = 0;
        if (const size_t len = utf8_sequence(p + i, n - i, cp)) {
            out.append(s.data() + i, len);
            i += len;
        } else {
            out += "\xEF\xBF\xBD";  // U+FFFD
            ++i;
        }
    }
}
}  // namespace

void json_escape(std::string_view s, std::string& out) { escape_into(s, out); }
void json_escape(std::string_view s, JsonBuffer& out) { escape_into(s, out); }

namespace {
// Appends to a pointer with room reserved by the caller (6 bytes per input byte).
struct PointerOut {
    char* p;
    void append(const char* s, size_t n) {
        std::memcpy(p, s, n);
        p += n;
    }
    PointerOut& operator+=(char c) {
        *p++ = c;
        return *this;
    }
    template <size_t N>
    PointerOut& operator+=(const char (&s)[N]) {
        append(s, N - 1);
        return *this;
    }
};
}  // namespace

char* detail::json_escape_to(const unsigned char* s, size_t n, char* out) {
    PointerOut o{out};
    escape_into(std::string_view(reinterpret_cast<const char*>(s), n), o);
    return o.p;
}

void JsonRaw::regrow(size_t n) {
    buf_.commit(p_);
    p_ = buf_.reserve(n < 4096 ? 4096 : n);
    lim_ = buf_.limit();
}

JsonRaw& JsonRaw::real(double v, int decimals) {
    if (!std::isfinite(v)) return null();
    char buf[400];  // fixed notation of the largest double needs 309 digits + decimals
    size_t len = 0;
    if (const char* end = format_fixed(v, decimals, buf, buf + sizeof buf)) {
        len = static_cast<size_t>(end - buf);
    } else {
        const int n = std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
        len = static_cast<size_t>(std::min<int>(n, sizeof buf - 1));
    }
    need(len);
    std::memcpy(p_, buf, len);
    p_ += len;
    return *this;
}

JsonWriter& JsonWriter::begin_object() {
    comma();
    out_ += '{';
    first_.push_back(true);
    return *this;
}
JsonWriter& JsonWriter::end_object() {
    out_ += '}';
    first_.pop_back();
    return *this;
}
JsonWriter& JsonWriter::begin_array() {
    comma();
    out_ += '[';
    first_.push_back(true);
    return *this;
}
JsonWriter& JsonWriter::end_array() {
    out_ += ']';
    first_.pop_back();
    return *this;
}
JsonWriter& JsonWriter::key(std::string_view k) {
    comma();
    out_ += '"';
    json_escape(k, out_);
    out_ += "\":";
    after_key_ = true;
    return *this;
}
JsonWriter& JsonWriter::str(std::string_view v) {
    comma();
    out_ += '"';
    json_escape(v, out_);
    out_ += '"';
    return *this;
}
// Numbers go through std::to_chars: same digits as printf's %lld/%llu/%.*f
// (both are exact), without the format-string machinery on every call.
JsonWriter& JsonWriter::num(int64_t v) {
    comma();
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append_short(buf, static_cast<size_t>(r.ptr - buf));
    return *this;
}
JsonWriter& JsonWriter::num(uint64_t v) {
    comma();
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append_short(buf, static_cast<size_t>(r.ptr - buf));
    return *this;
}
JsonWriter& JsonWriter::real(double v, int decimals) {
    if (!std::isfinite(v)) return null();
    comma();
    char buf[400];  // fixed notation of the largest double needs 309 digits + decimals
    if (const char* end = format_fixed(v, decimals, buf, buf + sizeof buf)) {
        out_.append(buf, static_cast<size_t>(end - buf));
    } else {
        const int n = std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
        out_.append(buf, static_cast<size_t>(std::min<int>(n, sizeof buf - 1)));
    }
    return *this;
}
JsonWriter& JsonWriter::boolean(bool v) {
    comma();
    out_ += v ? "true" : "false";
    return *this;
}
JsonWriter& JsonWriter::null() {
    comma();
    out_ += "null";
    return *this;
}
JsonWriter& JsonWriter::timestamp(int64_t ns) {
    comma();
    char* p = out_.reserve(32);
    out_.commit(put_timestamp(p, ns));
    return *this;
}

char* JsonWriter::put_timestamp(char* out, int64_t ns) {
    const bool neg = ns < 0;
    const uint64_t a = neg ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
    const uint64_t sec = a / 1000000000ull;
    // A connection's timestamps mostly share their second: its digits are
    // formatted once and copied after that.
    if (ts_len_ == 0 || sec != ts_sec_ || neg != ts_neg_) {
        char* p = ts_text_;
        if (neg) *p++ = '-';
        p = std::to_chars(p, ts_text_ + 21, sec).ptr;
        *p++ = '.';
        ts_len_ = static_cast<uint8_t>(p - ts_text_);
        ts_sec_ = sec;
        ts_neg_ = neg;
    }
    std::memcpy(out, ts_text_, sizeof ts_text_);   // 22 bytes; the digits overwrite the tail
    return write_digits(out + ts_len_, static_cast<uint32_t>(a % 1000000000ull), 9);
}

}  // namespace pcaplens
