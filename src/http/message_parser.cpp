// Incremental RFC 9112 message parser, one direction. See message_parser.hpp.
//
// Decisions on points RFC 9112 leaves to the recipient (all documented here):
// - Start lines are validated strictly, byte by byte: METHOD SP target SP
//   HTTP/1.d, or HTTP/1.d SP 3DIGIT [SP reason]. One SP between parts,
//   HTTP major version 1 only (the h2 preface "PRI * HTTP/2.0" is not HTTP/1).
//   For content detection and resynchronisation the method must also look
//   like one ([A-Z][A-Z0-9_-]*, at most 32) and the status start with 1-5;
//   between messages any tchar method and status 100-999 are accepted, and
//   so is a first status 600-999 once the client has proven the connection
//   HTTP (peer_proved_http).
// - A rejected line that was an attempt ("METHOD SP" or "HTTP/" seen) is read
//   to its LF for the evidence (96 bytes kept); other bytes are dropped at
//   the first invalid byte.
// - Header block after a rejected request line: when the rejected line was
//   an attempt at a request line and was queued as a request (the sink
//   answers BadLineAction::salvage, or it was the first line of the
//   direction), the next line decides. A header field line (a token of at
//   most 128 tchars, then ':') or an empty line starts a header block that is
//   parsed as usual -- Host, User-Agent, Connection, Content-Length /
//   Transfer-Encoding framing, the limits -- into the queued request
//   (MessageHead::salvaged): servers read the header block after such a
//   line, and so does Zeek. Anything else is not a header block: those bytes
//   are fed again from the start of their line in resync mode, as before.
//   After a salvaged message the next start line is parsed in normal mode
//   (its position is known from the salvaged framing), except when the
//   rejected line was the first of the direction: then the connection is not
//   known to be HTTP yet and the next message is found by resync, as without
//   salvage.
// - HTTP/0.9 simple requests (RFC 1945 4.1): "METHOD SP target" ended by
//   (CR)LF, with a method of at least 3 characters (as Zeek requires: "T /x"
//   is more likely line noise) and an origin-form ('/...') or absolute-form
//   ("scheme://...") target, are requests with version "HTTP/0.9". Any
//   method is accepted, as Zeek does, though RFC 1945 defines only GET. Not
//   recognised while resynchronising (too weak to find a message boundary
//   in garbage). The next line decides what the line was: a header field
//   line makes it an HTTP/1.x request missing its version -- reported as
//   http_malformed_request, version "", header block salvaged as above; an
//   empty line (a client typing "GET /" and two Enters), a start line, a gap
//   or the end of the direction leave it an HTTP/0.9 request.
// - HTTP/0.9 responses: while the request at the head of the queue had the
//   HTTP/0.9 form, server bytes that are not a status line are a raw response
//   (MessageHead::raw: status 0, every byte from the first is body, read until
//   the server closes). A status line is parsed as usual -- the server
//   answered in HTTP/1.x, whatever the request's form.
// - CR/LF bytes between messages are skipped (RFC 9112 2.2).
// - A bare LF ends a line (start line, header, chunk line, trailer) and is
//   reported once (http_bare_lf); a bare CR inside a field value is kept.
// - obs-fold is replaced by one SP between the trimmed parts.
// - Header lines without a colon, with an empty name, whitespace before the
//   colon or a non-tchar in the name are reported and skipped.
// - Content-Length: a comma list of identical values is one value; any
//   non-digit, empty element, value above 2^63-1 or disagreement is invalid.
// - Transfer-Encoding whose final coding is not chunked (or chunked twice):
//   on a request the body length cannot be determined (RFC 9112 6.3 item 4,
//   a 400 for a server); reported as http_bad_chunk -- the transfer coding is
//   the broken framing, not a Content-Length -- and the direction stops. On a
//   response the body is close-delimited (6.3 item 3).
// - Chunk sizes: 1*HEXDIG, overflow past 64 bits caught before shifting;
//   BWS before ';' accepted; chunk-size line and trailer section bounded by
//   max_header_bytes (trailers also by max_headers).
#include "message_parser.hpp"

#include <algorithm>
#include <cstring>

#include "byte_scan.hpp"

namespace pcaplens::http {
namespace {

bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
bool is_upper(uint8_t c) { return c >= 'A' && c <= 'Z'; }

struct CharTables {
    bool tchar[256] = {};
    char lower[256] = {};
    constexpr CharTables() {
        for (int c = 0; c < 256; ++c) {
            lower[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            tchar[c] = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        }
        for (const char c : std::string_view("!#$%&'*+-.^_`|~")) tchar[static_cast<uint8_t>(c)] = true;
    }
};
constexpr CharTables kChars;

bool is_tchar(uint8_t c) { return kChars.tchar[c]; }

// Length of the run of tchars at `s`, which the caller guarantees ends
// inside the buffer. Four bytes a round: a tchar is never that end, so no
// read goes past it.
size_t tchar_run(const char* s) {
    auto t = [s](size_t i) { return is_tchar(static_cast<uint8_t>(s[i])); };
    size_t i = 0;
    while (t(i) && t(i + 1) && t(i + 2) && t(i + 3)) i += 4;
    while (t(i)) ++i;
    return i;
}

// Lengths of the names apply_field() looks at (host, upgrade, connection,
// user-agent, content-type, content-length, transfer-encoding): other fields
// are skipped without a call.
constexpr uint32_t kAppliedNameLengths = 1u << 4 | 1u << 7 | 1u << 10 | 1u << 12 | 1u << 14 | 1u << 17;
bool may_apply(size_t name_len) { return name_len < 32 && ((kAppliedNameLengths >> name_len) & 1) != 0; }

bool is_method_char(uint8_t c, bool strict, bool first) {
    if (!strict) return is_tchar(c);
    if (first) return is_upper(c);
    return is_upper(c) || is_digit(c) || c == '-' || c == '_';
}

int hex_value(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A field name against `lower`, a lower-case name of letters and '-' of the
// same length. OR-ing 0x20 folds upper onto lower case; among tchars (names
// are validated first) only the letters themselves fold onto a letter, and
// only '-' onto '-', so this is an exact case-insensitive comparison, done
// eight bytes at a time.
bool name_is(std::string_view name, std::string_view lower) {
    const size_t n = lower.size();
    if (name.size() != n) return false;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t a = 0, b = 0;
        std::memcpy(&a, name.data() + i, 8);
        std::memcpy(&b, lower.data() + i, 8);
        if ((a | 0x2020202020202020ull) != b) return false;
    }
    for (; i < n; ++i) {
        if ((static_cast<uint8_t>(name[i]) | 0x20) != static_cast<uint8_t>(lower[i])) return false;
    }
    return true;
}

void append_excerpt(std::string& out, std::string_view s, size_t max) {
    const size_t n = std::min(s.size(), max);
    for (size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.');
    }
    if (s.size() > max) out += "...";
}

// A Content-Length or Transfer-Encoding value for the finding details that
// quote them: excerpts up to 64 bytes, ", " between values. Nearly every
// message has one value and no such finding, so a first value that is not
// folded is kept as a view -- it stays in the header block until
// begin_body() is done with it -- and copied only when a second value
// comes or detail_text() is asked.
const std::string& detail_text(std::string& detail, std::string_view first, bool& pending) {
    if (pending) {
        pending = false;
        append_excerpt(detail, first, 64);
    }
    return detail;
}
void add_detail_value(std::string& detail, std::string_view& first, bool& pending, std::string_view value, bool folded) {
    if (!pending && detail.empty() && !folded) {
        first = value;
        pending = true;
        return;
    }
    detail_text(detail, first, pending);   // the first value goes in before this one
    if (detail.size() < 64) {
        if (!detail.empty()) detail += ", ";
        append_excerpt(detail, value, 64);
    }
}

// `b` is lower case.
bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (kChars.lower[static_cast<uint8_t>(a[i])] != b[i]) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
    return std::string_view(s.data() + b, e - b);
}

// Calls f(element) for each comma-separated element, trimmed.
template <class F>
void for_each_element(std::string_view v, F&& f) {
    size_t pos = 0;
    while (true) {
        const size_t comma = v.find(',', pos);
        f(trim(v.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos)));
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
}

const char* end_name(EndReason r) {
    switch (r) {
        case EndReason::fin: return "FIN";
        case EndReason::rst: return "RST";
        case EndReason::end_of_capture: return "end of capture";
        case EndReason::evicted: return "eviction";
    }
    return "end";
}

std::string strip_eol(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
    return excerpt(s);
}

}  // namespace

std::string excerpt(std::string_view s, size_t max) {
    std::string out;
    out.reserve(std::min(s.size(), max) + 3);
    append_excerpt(out, s, max);
    return out;
}

MessageParser::MessageParser(Role role, ParserLimits limits, ParserSink& sink, HeadScratch& scratch)
    : sink_(sink), hs_(scratch), role_(role), lim_(limits) {}

void MessageParser::stop() {
    // A request queued early whose header block is still incomplete ends
    // here, incomplete: nothing more of it is parsed.
    if (early_queued_ && st_ == St::headers) end_queued_request();
    st_ = St::dead;
    salvaged_msg_ = after_simple_ = false;
    free_buffers();   // nothing is parsed any more
}

// The request queued early (partial_request_queued) ends incomplete, its
// header block never finished (cut, a gap, the parser stopped).
void MessageParser::end_queued_request() {
    early_queued_ = false;
    end_message(false, msg_last_ts_, msg_last_seq_);
}

void MessageParser::resume_after_hold() {
    if (st_ == St::hold) enter_resync(false);
}

void MessageParser::release_buffer() {
    clear_head();
    if (hbuf_.capacity() > 16 * 1024) std::string().swap(hbuf_);
    line_start_ = start_line_len_ = 0;
    header_lines_ = 0;
    peek_.clear();
    salvaging_ = false;
    early_queued_ = false;
}

void MessageParser::free_buffers() {
    release_buffer();
    for (std::string* b : {&hbuf_, &peek_, &simple_line_}) {
        std::string().swap(*b);
    }
}

// `p` continues the bytes of the current run() right after the head so far.
void MessageParser::head_append(const uint8_t* p, size_t n) {
    if (head_in_place_ != nullptr) {
        head_in_place_len_ += n;
    } else if (hbuf_.empty()) {
        head_in_place_ = p;
        head_in_place_len_ = n;
    } else {
        hbuf_.append(reinterpret_cast<const char*>(p), n);
    }
}

// Copies an in-place head into hbuf_: its bytes are about to go away, or the
// code that follows works on hbuf_.
void MessageParser::keep_head() {
    if (head_in_place_ == nullptr) return;
    constexpr size_t kInitialCapacity = 512;   // typical heads fit: no regrowth as lines are added
    if (hbuf_.capacity() < kInitialCapacity) hbuf_.reserve(kInitialCapacity);
    hbuf_.assign(reinterpret_cast<const char*>(head_in_place_), head_in_place_len_);
    head_in_place_ = nullptr;
    head_in_place_len_ = 0;
}

void MessageParser::enter_resync(bool at_line_start) {
    mode_ = LineMode::resync;
    st_ = at_line_start ? St::idle : St::resync_skip;
    salvaged_msg_ = after_simple_ = false;
    lead_ = 0;
    release_buffer();
}

void MessageParser::bare_lf(const char* where) {
    if (bare_lf_reported_) return;
    bare_lf_reported_ = true;
    finding(AnomalyKind::http_bare_lf, std::string("line ended by LF without CR (") + where + ")", ts_, frame_);
}

// ---------------------------------------------------------------- feeding

void MessageParser::feed(const uint8_t* p, size_t n, int64_t ts, uint64_t frame, uint64_t seq) {
    ts_ = ts;
    frame_ = frame;
    seq_ = seq;
    // While resynchronising, the start of each delivery is a candidate line
    // start as well as the byte after an LF: a message follows a body that
    // need not end in LF (binary, JSON), and senders start a message in a
    // new segment. A line that does not validate there is skipped to its LF
    // as before.
    if (st_ == St::resync_skip) st_ = St::idle;
    run(p, n);
}

// Feeds bytes of the current call (ts_, frame_, seq_). Re-entered once, by
// replay(), with bytes that hold no LF (so never reaching St::after_line again).
void MessageParser::run(const uint8_t* p, size_t n) {
    run_steps(p, n);
    keep_head();   // a header block left incomplete must outlive `p`
}

void MessageParser::run_steps(const uint8_t* p, size_t n) {
    size_t i = 0;
    while (i < n) {
        switch (st_) {
            case St::dead:
            case St::hold:
                return;
            case St::idle: {
                const size_t from = i;
                while (i < n && (p[i] == '\r' || p[i] == '\n')) ++i;
                lead_ += i - from;
                if (i == n) return;
                msg_ts_ = ts_;
                msg_frame_ = frame_;
                msg_seq_ = seq_;
                msg_lead_ = lead_;
                lead_ = 0;
                touch();
                clear_head();
                sl_ = role_ == Role::request ? SlState::method : SlState::version;
                sl_n_ = 0;
                sl_bare_lf_ = false;
                sl_simple_ = false;
                sl_method_len_ = 0;
                sl_tform_ = 0;
                st_ = St::start_line;
                break;
            }
            case St::after_line:
                i += step_after_line(p + i, n - i);
                break;
            case St::start_line:
                i += step_start_line(p + i, n - i);
                break;
            case St::headers:
                i += step_headers(p + i, n - i);
                break;
            case St::body_length: {
                touch();
                const uint64_t k = std::min<uint64_t>(rem_, n - i);
                rem_ -= k;
                body_ += k;
                wire_ += k;
                i += static_cast<size_t>(k);
                if (rem_ == 0) end_message(true, ts_, seq_);
                break;
            }
            case St::body_close:
                touch();
                body_ += n - i;
                wire_ += n - i;
                i = n;
                break;
            case St::bad_line: {
                const void* lf = std::memchr(p + i, '\n', n - i);
                const size_t end = lf != nullptr ? static_cast<size_t>(static_cast<const uint8_t*>(lf) - p) + 1 : n;
                constexpr size_t kKeep = 96;   // enough for a 64-character excerpt
                const size_t keep = std::min(end - i, hbuf_.size() < kKeep ? kKeep - hbuf_.size() : size_t{0});
                hbuf_.append(reinterpret_cast<const char*>(p + i), keep);
                i = end;
                if (lf != nullptr) finish_rejection(true);
                break;
            }
            case St::resync_skip: {
                const void* lf = std::memchr(p + i, '\n', n - i);
                if (lf == nullptr) return;
                i = static_cast<size_t>(static_cast<const uint8_t*>(lf) - p) + 1;
                st_ = St::idle;
                mode_ = LineMode::resync;
                break;
            }
            default:
                i += step_chunked(p + i, n - i);
                break;
        }
    }
}

int MessageParser::sl_step(uint8_t c) {
    const bool strict = mode_ != LineMode::normal;
    const bool strict_status = status_strict();
    switch (sl_) {
        case SlState::method:
            if (is_method_char(c, strict, sl_n_ == 0)) return ++sl_n_ > 32 ? -1 : 0;
            if (c == ' ' && sl_n_ > 0) {
                sl_ = SlState::target;
                sl_method_len_ = sl_n_;
                sl_n_ = 0;
                return 0;
            }
            return -1;
        case SlState::target:
            if (c > 0x20 && c != 0x7f) {
                // Target form, for the HTTP/0.9 simple request: 1 origin-form or
                // absolute-form ("scheme://"), 2 scheme so far, 3 "scheme:",
                // 4 "scheme:/", 0 neither.
                const bool alpha = (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
                if (sl_n_ == 0) {
                    sl_tform_ = c == '/' ? 1 : alpha ? 2 : 0;
                } else if (sl_tform_ == 2) {
                    sl_tform_ = alpha || is_digit(c) || c == '+' || c == '-' || c == '.' ? 2 : c == ':' ? 3 : 0;
                } else if (sl_tform_ == 3 || sl_tform_ == 4) {
                    sl_tform_ = c != '/' ? 0 : sl_tform_ == 3 ? 4 : 1;
                }
                ++sl_n_;
                return 0;
            }
            if (c == ' ' && sl_n_ > 0) {
                sl_ = SlState::version;
                sl_n_ = 0;
                return 0;
            }
            if ((c == '\r' || c == '\n') && sl_n_ > 0 && sl_tform_ == 1 && sl_method_len_ >= 3 &&
                mode_ != LineMode::resync) {
                sl_simple_ = true;   // "METHOD SP target" and the line ends: HTTP/0.9 form
                if (c == '\r') {
                    sl_ = SlState::cr;
                    return 0;
                }
                sl_bare_lf_ = true;
                return 1;
            }
            return -1;
        case SlState::version: {
            static constexpr char kV[] = "HTTP/1.";
            if (sl_n_ < 7) {
                if (c != static_cast<uint8_t>(kV[sl_n_])) return -1;
                ++sl_n_;
                return 0;
            }
            if (sl_n_ == 7) {
                if (!is_digit(c)) return -1;
                ++sl_n_;
                return 0;
            }
            if (role_ == Role::response) {
                if (c != ' ') return -1;
                sl_ = SlState::status;
                sl_n_ = 0;
                return 0;
            }
            if (c == '\r') {
                sl_ = SlState::cr;
                return 0;
            }
            if (c == '\n') {
                sl_bare_lf_ = true;
                return 1;
            }
            return -1;
        }
        case SlState::status:
            if (!is_digit(c)) return -1;
            if (sl_n_ == 0 && (c < '1' || (strict_status && c > '5'))) return -1;
            if (++sl_n_ == 3) sl_ = SlState::after_status;
            return 0;
        case SlState::after_status:
            if (c == ' ') {
                sl_ = SlState::reason;
                return 0;
            }
            if (c == '\r') {
                sl_ = SlState::cr;
                return 0;
            }
            if (c == '\n') {
                sl_bare_lf_ = true;
                return 1;
            }
            return -1;
        case SlState::reason:
            if (c == '\t' || (c >= 0x20 && c != 0x7f)) return 0;
            if (c == '\r') {
                sl_ = SlState::cr;
                return 0;
            }
            if (c == '\n') {
                sl_bare_lf_ = true;
                return 1;
            }
            return -1;
        case SlState::cr:
            return c == '\n' ? 1 : -1;
    }
    return -1;
}

// The common case, a whole start line of the usual form within the first
// `n` bytes, validated in one pass by the rules of sl_step(). Returns its
// length including the LF, or 0 to leave the line to sl_step() byte by byte
// (incomplete, of another form, or invalid: sl_step() decides and reports).
size_t MessageParser::fast_start_line(const uint8_t* p, size_t n) {
    static constexpr char kVersion[] = "HTTP/1.";
    const bool strict = mode_ != LineMode::normal;
    const bool strict_status = status_strict();
    size_t i = 0;
    if (role_ == Role::request) {
        while (i < n && i < 32 && is_method_char(p[i], strict, i == 0)) ++i;   // sl_step: at most 32
        if (i == 0 || i >= n || p[i] != ' ') return 0;
        const size_t target = ++i;
        i += scan::target_run(p + i, n - i);
        if (i == target || i >= n || p[i] != ' ') return 0;   // no target, or the HTTP/0.9 form
        ++i;
        if (n - i < 8 || std::memcmp(p + i, kVersion, 7) != 0 || !is_digit(p[i + 7])) return 0;
        i += 8;
    } else {
        if (n < 13 || std::memcmp(p, kVersion, 7) != 0 || !is_digit(p[7]) || p[8] != ' ') return 0;
        if (p[9] < '1' || p[9] > (strict_status ? '5' : '9') || !is_digit(p[10]) || !is_digit(p[11])) return 0;
        i = 12;
        if (p[i] == ' ') {
            ++i;
            while (i < n && (p[i] == '\t' || (p[i] >= 0x20 && p[i] != 0x7f))) ++i;
        }
    }
    if (i < n && p[i] == '\n') {
        sl_bare_lf_ = true;
        return i + 1;
    }
    if (n - i >= 2 && p[i] == '\r' && p[i + 1] == '\n') return i + 2;
    return 0;
}

void MessageParser::start_line_accepted() {
    start_line_len_ = line_start_ = head_size();
    header_lines_ = 0;
    msg_resynced_ = mode_ == LineMode::resync;
    const bool detecting = mode_ == LineMode::detect;
    mode_ = LineMode::normal;
    st_ = St::headers;
    if (detecting) sink_.on_detect(role_, true, nullptr);
    if (sl_simple_ && st_ == St::headers) accept_simple_line();
}

size_t MessageParser::step_start_line(const uint8_t* p, size_t n) {
    touch();
    // Validate in place, then take the validated bytes at once.
    const size_t have = head_size();
    const size_t room = lim_.max_header_bytes > have ? lim_.max_header_bytes - have : 0;
    const size_t avail = std::min(n, room);
    if (have == 0) {
        const size_t len = fast_start_line(p, avail);
        if (len > 0) {
            head_append(p, len);
            start_line_accepted();
            return len;
        }
    }
    size_t i = 0;
    while (i < avail) {
        // Runs of bytes that sl_step() would accept without changing state:
        // the rest of a target whose form is settled, and the reason phrase.
        if (sl_ == SlState::target && sl_n_ > 0 && sl_tform_ <= 1) {
            const size_t from = i;
            while (i < avail && p[i] > 0x20 && p[i] != 0x7f) ++i;
            sl_n_ += static_cast<uint32_t>(i - from);
            if (i == avail) break;
        } else if (sl_ == SlState::reason) {
            while (i < avail && (p[i] == '\t' || (p[i] >= 0x20 && p[i] != 0x7f))) ++i;
            if (i == avail) break;
        }
        const uint8_t c = p[i++];
        const int r = sl_step(c);
        if (r == 0) continue;
        head_append(p, i);
        if (r < 0) {
            keep_head();   // the rejection paths work on hbuf_
            reject_start_line(c);
            return i;
        }
        start_line_accepted();
        return i;
    }
    head_append(p, avail);
    if (avail == n) return n;
    // The line is still consistent but reached the limit.
    keep_head();
    if (mode_ == LineMode::resync) {  // not a start line after all: keep scanning
        clear_head();
        st_ = St::resync_skip;
        return avail;
    }
    if (mode_ == LineMode::detect) {
        sink_.on_detect(role_, true, nullptr);
        if (st_ == St::dead) return n;
    }
    header_too_large("start line longer than " + std::to_string(lim_.max_header_bytes) + " bytes: '" + excerpt(hbuf_) +
                     "'");
    return n;
}

void MessageParser::reject_start_line(uint8_t c) {
    if (role_ == Role::response && sink_.raw_response_expected()) {
        start_raw_response();
        return;
    }
    // An attempt at a start line is read to its end for the evidence; other
    // bytes (binary, mid-body text) are dropped at once.
    line_like_ = start_line_attempted();
    if (line_like_ && c != '\n') {
        st_ = St::bad_line;
        return;
    }
    finish_rejection(c == '\n');
}

void MessageParser::finish_rejection(bool at_line_start) {
    RejectedLine rej;
    rej.text = strip_eol(hbuf_);
    std::string_view raw(hbuf_);
    while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r')) raw.remove_suffix(1);
    rej.raw = std::string(raw.substr(0, 256));
    rej.ts = msg_ts_;
    rej.frame = msg_frame_;
    rej.seq = msg_seq_;
    rej.line_like = line_like_;
    hbuf_.clear();
    // A queued request line that ended with its LF may have a header block next.
    const bool may_salvage = at_line_start && role_ == Role::request && line_like_;
    switch (mode_) {
        case LineMode::detect:
            // Queued by the sink only if the connection proves to be HTTP; the
            // header block is read either way (and dropped if it does not).
            sink_.on_detect(role_, false, &rej);
            if (st_ == St::dead) return;
            if (may_salvage) {
                begin_after_line(false);
                return;
            }
            enter_resync(at_line_start);
            return;
        case LineMode::resync:
            enter_resync(at_line_start);
            return;
        case LineMode::normal: {
            const BadLineAction a = sink_.on_bad_start_line(role_, rej);
            if (st_ == St::dead) return;
            if (a == BadLineAction::hold) {
                st_ = St::hold;
                release_buffer();
                return;
            }
            if (a == BadLineAction::salvage && may_salvage) {
                begin_after_line(false);
                return;
            }
            enter_resync(at_line_start);
            return;
        }
    }
}

// ---------------------------------------------------------------- HTTP/0.9, salvaged header blocks

void MessageParser::accept_simple_line() {
    reset_head_state();
    std::string_view l = head();
    while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.remove_suffix(1);
    const size_t sp = l.find(' ');
    hs_.head.method = l.substr(0, sp);
    hs_.head.target = l.substr(sp + 1);
    hs_.head.version = "HTTP/0.9";
    hs_.head.version_minor = 9;
    hs_.head.simple = true;
    if (sl_bare_lf_) bare_lf("start line");
    simple_line_ = excerpt(l);
    line_end_ts_ = ts_;
    line_end_seq_ = seq_;
    const HeadAction a = sink_.on_head(hs_.head);   // no body: the next line decides what follows
    if (st_ == St::dead) return;
    if (a == HeadAction::stop) {
        end_message(true, ts_, seq_);
        stop();
        return;
    }
    begin_after_line(true);
}

void MessageParser::begin_after_line(bool simple) {
    after_simple_ = simple;
    // The first line of the direction failed: until the connection proves
    // to be HTTP, what follows the salvaged message is found by resync (as
    // without salvage), so that it cannot be queued before that line.
    if (mode_ == LineMode::detect) mode_ = LineMode::resync;
    release_buffer();
    st_ = St::after_line;
}

// The next line's first bytes: a token then ':' is a header field line, CR/LF
// an empty line; anything else ends the look-ahead.
size_t MessageParser::step_after_line(const uint8_t* p, size_t n) {
    constexpr size_t kMaxName = 128;
    for (size_t k = 0; k < n; ++k) {
        const uint8_t c = p[k];
        if (peek_.empty() && (c == '\r' || c == '\n')) {
            if (after_simple_) {
                end_simple();       // "GET /" then an empty line: HTTP/0.9; idle skips the CR/LF
            } else {
                start_salvage();    // an empty header block: step_headers takes the CR/LF
            }
            return k;
        }
        if (is_tchar(c) && peek_.size() < kMaxName) {
            if (peek_.empty()) {
                peek_ts_ = ts_;
                peek_frame_ = frame_;
                peek_seq_ = seq_;
            }
            peek_.push_back(static_cast<char>(c));
            continue;
        }
        if (c == ':' && !peek_.empty()) {
            if (after_simple_) {
                // Header fields follow the versionless line: an HTTP/1.x
                // request that lacks its version, not HTTP/0.9.
                RejectedLine rej;
                rej.text = simple_line_;
                rej.raw = simple_line_;
                rej.ts = msg_ts_;
                rej.frame = msg_frame_;
                rej.seq = msg_seq_;
                rej.line_like = true;
                rej.versionless_with_fields = true;
                after_simple_ = false;
                const BadLineAction a = sink_.on_bad_start_line(role_, rej);
                if (st_ == St::dead) return n;
                if (a != BadLineAction::salvage) {
                    enter_resync(false);   // skip this line
                    return k + 1;
                }
            }
            start_salvage();
            hbuf_.push_back(':');
            return k + 1;
        }
        // Not a header block: the line after is looked at afresh.
        std::string again;
        again.swap(peek_);
        leave_after_line();
        if (st_ != St::dead && !again.empty()) replay(again);
        return k;
    }
    return n;
}

void MessageParser::start_salvage() {
    hbuf_.assign(peek_);
    peek_.clear();
    line_start_ = start_line_len_ = 0;
    header_lines_ = 0;
    after_simple_ = false;
    salvaging_ = true;
    st_ = St::headers;
}

void MessageParser::end_simple() {
    after_simple_ = false;
    end_message(true, line_end_ts_, line_end_seq_);   // an HTTP/0.9 request is its line
}

// The line after a rejected or versionless request line is not a header
// block (or a gap or the end came first).
void MessageParser::leave_after_line() {
    peek_.clear();
    if (after_simple_) {
        end_simple();
    } else {
        enter_resync(true);
    }
}

// Feeds bytes again that were held back while looking ahead, with the
// time, frame and event of their arrival.
void MessageParser::replay(const std::string& bytes) {
    const int64_t ts = ts_;
    const uint64_t frame = frame_, seq = seq_;
    ts_ = peek_ts_;
    frame_ = peek_frame_;
    seq_ = peek_seq_;
    run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ts_ = ts;
    frame_ = frame;
    seq_ = seq;
}

// A response that is not a status line, answering an HTTP/0.9-form request:
// all of it, from its first byte, is body until the server closes.
void MessageParser::start_raw_response() {
    const uint64_t consumed = msg_lead_ + hbuf_.size();
    reset_head_state();
    hs_.head.raw = true;
    mode_ = LineMode::normal;
    const HeadAction a = sink_.on_head(hs_.head);
    if (st_ == St::dead) return;
    release_buffer();
    partial_ = chunked_ = false;
    rem_ = content_length_ = 0;
    body_ = wire_ = consumed;
    if (a == HeadAction::stop) {
        end_message(true, ts_, seq_);
        stop();
        return;
    }
    st_ = St::body_close;
}

// Takes header lines up to the end of the block or of the bytes, checking
// the limits line by line.
size_t MessageParser::step_headers(const uint8_t* p, size_t n) {
    touch();
    size_t done = 0;
    while (done < n) {
        const size_t lf_off = scan::find_lf(p + done, n - done);
        const bool lf = lf_off < n - done;
        const size_t take = lf ? lf_off + 1 : n - done;
        if (head_size() + take > lim_.max_header_bytes) {
            header_too_large("header block larger than " + std::to_string(lim_.max_header_bytes) + " bytes");
            return n;
        }
        head_append(p + done, take);
        done += take;
        if (!lf) break;
        const std::string_view block = head();
        const size_t len = block.size() - line_start_;
        if (len == 1 || (len == 2 && block[line_start_] == '\r')) {
            process_head();
            break;
        }
        if (header_lines_ < kLineEnds) {
            const size_t lf_at = block.size() - 1;   // 0 (never a recorded line's LF) when beyond 16 bits
            line_ends_[header_lines_] = lf_at <= UINT16_MAX ? static_cast<uint16_t>(lf_at) : 0;
        }
        if (++header_lines_ > lim_.max_headers) {
            header_too_large("more than " + std::to_string(lim_.max_headers) + " header lines");
            return n;
        }
        line_start_ = block.size();
    }
    return done;
}

void MessageParser::header_too_large(std::string detail) {
    finding(AnomalyKind::http_header_too_large, std::move(detail), ts_, frame_);
    head_cut();
    stop();
}

// A header block that will not be completed. With its start line known, the
// pairing gets the message as far as it goes (headers_incomplete), unless
// the request was queued early, and the message ends incomplete.
void MessageParser::head_cut() {
    if (st_ != St::headers || salvaging_) return;
    if (early_queued_) {
        end_queued_request();
        return;
    }
    reset_head_state();
    parse_start_line(head().substr(0, start_line_len_));
    hs_.head.headers_incomplete = true;
    sink_.on_head(hs_.head);
    end_message(false, msg_last_ts_, msg_last_seq_);
}

bool MessageParser::partial_request(PartialRequest& out) const {
    if (role_ != Role::request || st_ != St::headers || salvaging_ || early_queued_ || start_line_len_ == 0) return false;
    std::string_view line = head().substr(0, start_line_len_);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    out.line = line;
    out.ts = msg_ts_;
    out.frame = msg_frame_;
    out.seq = msg_seq_;
    out.resynced = msg_resynced_;
    return true;
}

// ---------------------------------------------------------------- heads

void MessageParser::reset_head_state() {
    hs_.head = MessageHead{};
    hs_.head.role = role_;
    hs_.head.ts = msg_ts_;
    hs_.head.frame = msg_frame_;
    hs_.head.seq = msg_seq_;
    hs_.head.resynced = msg_resynced_;
    for (std::string* b : {&hs_.value_buf, &hs_.host_buf, &hs_.ua_buf, &hs_.ctype_buf, &hs_.cl_detail, &hs_.te_detail}) {
        if (b->capacity() > 16 * 1024) std::string().swap(*b);   // one huge folded field does not stay
        else b->clear();
    }
    hs_.have_host = hs_.have_ua = hs_.have_ctype = false;
    hs_.cl_first_pending = hs_.te_first_pending = false;
    hs_.te_chunked_count = 0;
    hs_.te_last_chunked = false;
    hs_.cl_set = false;
}

bool MessageParser::parse_start_line(std::string_view l) {
    while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.remove_suffix(1);
    if (role_ == Role::request) {
        const size_t sp1 = l.find(' ');
        const size_t sp2 = l.rfind(' ');
        if (sp1 == std::string_view::npos || sp2 == sp1 || l.size() < sp2 + 9) return false;
        hs_.head.method = l.substr(0, sp1);
        hs_.head.target = l.substr(sp1 + 1, sp2 - sp1 - 1);
        hs_.head.version = l.substr(sp2 + 1);
        hs_.head.version_minor = hs_.head.version[7] - '0';
        return true;
    }
    if (l.size() < 12) return false;
    hs_.head.version = l.substr(0, 8);
    hs_.head.version_minor = l[7] - '0';
    hs_.head.status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    if (l.size() > 13) hs_.head.reason = l.substr(13);
    return true;
}

void MessageParser::process_head() {
    reset_head_state();
    if (salvaging_) {   // no start line in hbuf_: the request was queued for its rejected line
        hs_.head.salvaged = true;
        salvaging_ = false;
        salvaged_msg_ = true;
    } else {
        parse_start_line(head().substr(0, start_line_len_));
        if (sl_bare_lf_) bare_lf("start line");
        if (early_queued_) {   // the request is queued already: this block fills it
            hs_.head.salvaged = true;
            early_queued_ = false;
        }
    }
    parse_fields(start_line_len_, line_start_);
    hs_.head.chunked_final = hs_.head.has_transfer_encoding && hs_.te_last_chunked && hs_.te_chunked_count == 1;
    const HeadAction a = sink_.on_head(hs_.head);
    if (st_ == St::dead) return;
    begin_body(a);
    release_buffer();  // nothing of the head is kept once the body starts
}

void MessageParser::parse_fields(size_t from, size_t to) {
    const std::string_view block = head();
    std::string_view name, value;   // value: a view into the block unless folded
    bool have = false, folded_value = false, folded = false;
    auto malformed = [&](const char* why, std::string_view line) {
        finding(AnomalyKind::http_malformed_header, std::string(why) + ": '" + excerpt(line) + "'", msg_ts_, msg_frame_);
    };
    auto flush = [&] {
        if (have && may_apply(name.size())) {
            apply_field(name, folded_value ? std::string_view(hs_.value_buf) : value, folded_value);
        }
        have = folded_value = false;
    };
    size_t pos = from;
    for (uint32_t k = 0; pos < to; ++k) {
        size_t lf = k < kLineEnds ? line_ends_[k] : std::string_view::npos;
        if (lf < pos || lf >= to || block[lf] != '\n') lf = block.find('\n', pos);   // beyond the recorded lines
        if (lf == std::string_view::npos || lf >= to) lf = to - 1;  // cannot happen: lines end in LF
        std::string_view line(block.data() + pos, lf - pos);
        pos = lf + 1;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        } else {
            bare_lf("header line");
        }
        if (line.empty()) continue;
        if (line.front() == ' ' || line.front() == '\t') {
            if (!have) {
                malformed("continuation line without a field", line);
                continue;
            }
            if (!folded_value) {
                hs_.value_buf.assign(value);
                folded_value = true;
            }
            hs_.value_buf += ' ';
            hs_.value_buf += trim(line);
            if (!folded) {
                folded = true;
                finding(AnomalyKind::http_obsolete_line_folding,
                        "field '" + excerpt(name, 40) + "' continued on the next line (obs-fold); unfolded", msg_ts_,
                        msg_frame_);
            }
            continue;
        }
        flush();
        // Usual case: a run of tchars, then the colon. The line's CR or LF
        // follows it in the block and ends the run.
        const char* const text = line.data();   // text[line.size()] is that CR or LF, inside the block
        // Letters, digits and '-' sixteen bytes a step as far as the block
        // allows (the run stops at the CR or LF), then any other tchars.
        size_t colon = scan::name_run(reinterpret_cast<const uint8_t*>(text),
                                      static_cast<size_t>(block.data() + block.size() - text));
        colon += tchar_run(text + colon);
        if (colon > 0 && colon < line.size() && text[colon] == ':') {
            name = std::string_view(text, colon);
            // Usually "name: value" with nothing after the value: trim()'s
            // result without its loops (bytes above ' ' are not OWS).
            const std::string_view raw(text + colon + 1, line.size() - colon - 1);
            const bool one_space = raw.size() >= 2 && raw[0] == ' ' && static_cast<uint8_t>(raw[1]) > ' ' &&
                                   static_cast<uint8_t>(raw.back()) > ' ';
            value = one_space ? raw.substr(1) : trim(raw);
            have = true;
            continue;
        }
        colon = line.find(':');
        if (colon == std::string_view::npos) {
            malformed("header line without a colon", line);
            continue;
        }
        const std::string_view nm = line.substr(0, colon);
        if (nm.empty()) {
            malformed("empty field name", line);
            continue;
        }
        if (nm.back() == ' ' || nm.back() == '\t') {
            malformed("whitespace before the colon", line);
            continue;
        }
        if (!std::all_of(nm.begin(), nm.end(), [](char c) { return is_tchar(static_cast<uint8_t>(c)); })) {
            malformed("invalid character in field name", line);
            continue;
        }
        name = nm;
        value = trim(line.substr(colon + 1));
        have = true;
    }
    flush();
}

// `folded`: the value is in hs_.value_buf, which the next folded field reuses.
void MessageParser::apply_field(std::string_view name, std::string_view value, bool folded) {
    // Only these names matter: one candidate per length (two for 10).
    enum class Field : uint8_t { other, content_length, transfer_encoding, connection, upgrade, host, user_agent, content_type };
    Field f = Field::other;
    switch (name.size()) {
        case 4: f = name_is(name, "host") ? Field::host : f; break;
        case 7: f = name_is(name, "upgrade") ? Field::upgrade : f; break;
        case 10:
            f = name_is(name, "connection") ? Field::connection : name_is(name, "user-agent") ? Field::user_agent : f;
            break;
        case 12: f = name_is(name, "content-type") ? Field::content_type : f; break;
        case 14: f = name_is(name, "content-length") ? Field::content_length : f; break;
        case 17: f = name_is(name, "transfer-encoding") ? Field::transfer_encoding : f; break;
        default: return;
    }
    // Kept values must outlive hs_.value_buf's next use.
    auto keep = [&](std::string& buf) -> std::string_view {
        if (!folded) return value;
        buf.assign(value);
        return buf;
    };
    switch (f) {
        case Field::other:
            return;
        case Field::upgrade:
            if (!value.empty()) hs_.head.has_upgrade = true;
            return;
        case Field::host:
            if (!hs_.have_host) hs_.head.host = keep(hs_.host_buf), hs_.have_host = true;
            return;
        case Field::user_agent:
            if (!hs_.have_ua) hs_.head.user_agent = keep(hs_.ua_buf), hs_.have_ua = true;
            return;
        case Field::content_type:
            if (!hs_.have_ctype) hs_.head.content_type = keep(hs_.ctype_buf), hs_.have_ctype = true;
            return;
        default:
            break;
    }
    if (f == Field::content_length) {
        hs_.head.has_content_length = true;
        add_detail_value(hs_.cl_detail, hs_.cl_first, hs_.cl_first_pending, value, folded);
        if (hs_.head.content_length_bad) return;
        for_each_element(value, [&](std::string_view e) {
            if (hs_.head.content_length_bad) return;
            uint64_t v = 0;
            bool ok = !e.empty();
            for (const char ch : e) {
                const auto c = static_cast<uint8_t>(ch);
                if (!is_digit(c) || v > (uint64_t{INT64_MAX} - (c - '0')) / 10) {
                    ok = false;
                    break;
                }
                v = v * 10 + (c - '0');
            }
            if (!ok || (hs_.cl_set && v != hs_.head.content_length)) {
                hs_.head.content_length_bad = true;
                return;
            }
            hs_.head.content_length = v;
            hs_.cl_set = true;
        });
    } else if (f == Field::transfer_encoding) {
        hs_.head.has_transfer_encoding = true;
        add_detail_value(hs_.te_detail, hs_.te_first, hs_.te_first_pending, value, folded);
        for_each_element(value, [&](std::string_view e) {
            const size_t semi = e.find(';');
            if (semi != std::string_view::npos) e = trim(e.substr(0, semi));
            if (e.empty()) return;
            hs_.te_last_chunked = iequals(e, "chunked");
            if (hs_.te_last_chunked) ++hs_.te_chunked_count;
        });
    } else {   // Field::connection
        for_each_element(value, [&](std::string_view e) {
            if (iequals(e, "close")) hs_.head.conn_close = true;
            if (iequals(e, "keep-alive")) hs_.head.conn_keep_alive = true;
        });
    }
}

// ---------------------------------------------------------------- bodies

void MessageParser::begin_body(HeadAction action) {
    body_ = wire_ = 0;
    partial_ = chunked_ = false;
    rem_ = content_length_ = 0;
    const bool bad_cl = hs_.head.has_content_length && hs_.head.content_length_bad;
    auto cl_text = [&] {
        return "Content-Length '" + excerpt(detail_text(hs_.cl_detail, hs_.cl_first, hs_.cl_first_pending)) + "'";
    };
    auto te_text = [&] { return excerpt(detail_text(hs_.te_detail, hs_.te_first, hs_.te_first_pending)); };
    switch (action) {
        case HeadAction::stop:
            end_message(true, ts_, seq_);
            stop();
            return;
        case HeadAction::no_body:
            // No framing depends on it, but an invalid value is still invalid.
            if (bad_cl) {
                finding(AnomalyKind::http_bad_content_length, cl_text() + " is invalid (message has no body)", msg_ts_,
                        msg_frame_);
            }
            end_message(true, ts_, seq_);
            return;
        case HeadAction::normal:
            break;
    }
    if (hs_.head.has_transfer_encoding && hs_.head.version == "HTTP/1.0") {
        // RFC 9112 6.1: "MUST treat the message as if the framing is
        // faulty, even if a Content-Length is present" -- peers may frame it
        // either way, so nothing after it can be paired with confidence.
        finding(AnomalyKind::http_transfer_encoding_in_http10,
                "HTTP/1.0 message with Transfer-Encoding '" + te_text() +
                    "': its framing is faulty (RFC 9112 6.1); parsing stops",
                msg_ts_, msg_frame_);
        end_message(false, ts_, seq_);
        stop();
        return;
    }
    if (hs_.head.has_transfer_encoding) {
        if (hs_.head.chunked_final) {
            if (hs_.head.has_content_length) {
                finding(AnomalyKind::http_content_length_with_chunked,
                        cl_text() + " with Transfer-Encoding '" + te_text() + "'; chunked wins", msg_ts_,
                        msg_frame_);
            }
            chunked_ = true;
            start_chunk_size();
            return;
        }
        if (role_ == Role::request) {
            finding(AnomalyKind::http_bad_chunk,
                    "request Transfer-Encoding '" + te_text() +
                        "' does not end in chunked: body length undeterminable (RFC 9112 6.3); parsing stops",
                    msg_ts_, msg_frame_);
            end_message(false, ts_, seq_);
            stop();
            return;
        }
        // RFC 9112 6.3 item 4: read until close -- and a Content-Length
        // beside it is overridden (item 3), the same warning sign as beside
        // chunked: peers that frame by the length disagree from here on.
        if (hs_.head.has_content_length) {
            finding(AnomalyKind::http_content_length_with_chunked,
                    cl_text() + " with Transfer-Encoding '" + te_text() +
                        "'; Transfer-Encoding wins: the body is read until the server closes",
                    msg_ts_, msg_frame_);
        }
        st_ = St::body_close;
        return;
    }
    if (hs_.head.has_content_length) {
        if (bad_cl) {
            finding(AnomalyKind::http_bad_content_length, cl_text() + " is invalid (RFC 9112 6.3); parsing stops",
                    msg_ts_, msg_frame_);
            end_message(false, ts_, seq_);
            stop();
            return;
        }
        content_length_ = rem_ = hs_.head.content_length;
        if (rem_ == 0) {
            end_message(true, ts_, seq_);
            return;
        }
        st_ = St::body_length;
        return;
    }
    if (role_ == Role::request) {
        end_message(true, ts_, seq_);
        return;
    }
    st_ = St::body_close;
}

void MessageParser::end_message(bool complete, int64_t end_ts, uint64_t end_seq) {
    MessageEnd e;
    e.complete = complete;
    e.partial = partial_;
    e.chunked = chunked_;
    e.body_bytes = body_;
    e.wire_body_bytes = wire_;
    e.end_ts = end_ts;
    e.end_seq = end_seq;
    body_ = wire_ = rem_ = 0;
    partial_ = chunked_ = false;
    if (st_ != St::dead) {
        st_ = St::idle;
        // A salvaged message keeps resync mode if its line was the direction's first.
        mode_ = salvaged_msg_ && mode_ == LineMode::resync ? LineMode::resync : LineMode::normal;
    }
    salvaged_msg_ = false;
    sink_.on_message_end(role_, e);
}

void MessageParser::start_chunk_size() {
    st_ = St::chunk_size;
    rem_ = 0;
    cs_digits_ = 0;
    cs_line_bytes_ = 0;
    cs_line_len_ = 0;
}

void MessageParser::chunk_size_line_done() {
    if (rem_ == 0) {
        st_ = St::trailer_start;
        trailer_bytes_ = 0;
        trailer_lines_ = 0;
    } else {
        st_ = St::chunk_data;
    }
}

void MessageParser::bad_chunk(std::string why, bool show_line) {
    if (show_line) why += ": '" + excerpt(std::string_view(cs_line_, cs_line_len_)) + "'";
    finding(AnomalyKind::http_bad_chunk, std::move(why) + "; parsing stops", ts_, frame_);
    end_message(false, ts_, seq_);
    stop();
}

size_t MessageParser::step_chunked(const uint8_t* p, size_t n) {
    touch();
    size_t i = 0;
    while (i < n && in_chunked_state()) {
        switch (st_) {
            case St::chunk_data: {
                const uint64_t k = std::min<uint64_t>(rem_, n - i);
                rem_ -= k;
                body_ += k;
                wire_ += k;
                i += static_cast<size_t>(k);
                if (rem_ == 0) st_ = St::chunk_data_cr;
                break;
            }
            case St::chunk_size:
            case St::chunk_ws: {
                const uint8_t c = p[i++];
                ++wire_;
                note_cs(c);
                if (++cs_line_bytes_ > lim_.max_header_bytes) {
                    bad_chunk("chunk-size line too long", true);
                    return i;
                }
                const int h = hex_value(c);
                if (h >= 0 && st_ == St::chunk_size) {
                    if ((rem_ >> 60) != 0) {  // a 17th significant digit: caught before the shift
                        bad_chunk("chunk size overflows 64 bits", true);
                        return i;
                    }
                    rem_ = (rem_ << 4) | static_cast<uint64_t>(h);
                    ++cs_digits_;
                    break;
                }
                if (cs_digits_ == 0) {
                    bad_chunk("chunk size is not hexadecimal", true);
                    return i;
                }
                if (c == ';') {
                    st_ = St::chunk_ext;
                } else if (c == ' ' || c == '\t') {
                    st_ = St::chunk_ws;
                } else if (c == '\r') {
                    st_ = St::chunk_size_lf;
                } else if (c == '\n') {
                    bare_lf("chunk-size line");
                    chunk_size_line_done();
                } else {
                    bad_chunk("chunk size is not hexadecimal", true);
                    return i;
                }
                break;
            }
            case St::chunk_ext: {
                size_t j = i;
                while (j < n && p[j] != '\r' && p[j] != '\n') ++j;
                for (size_t k = i; k < j && cs_line_len_ < sizeof cs_line_; ++k) note_cs(p[k]);
                cs_line_bytes_ += j - i;
                wire_ += j - i;
                i = j;
                if (cs_line_bytes_ > lim_.max_header_bytes) {
                    bad_chunk("chunk-size line too long", true);
                    return i;
                }
                if (i < n) {
                    const uint8_t c = p[i++];
                    ++wire_;
                    if (c == '\r') {
                        st_ = St::chunk_size_lf;
                    } else {
                        bare_lf("chunk-size line");
                        chunk_size_line_done();
                    }
                }
                break;
            }
            case St::chunk_size_lf: {
                const uint8_t c = p[i++];
                ++wire_;
                if (c != '\n') {
                    bad_chunk("CR without LF in chunk-size line", true);
                    return i;
                }
                chunk_size_line_done();
                break;
            }
            case St::chunk_data_cr: {
                const uint8_t c = p[i++];
                ++wire_;
                if (c == '\r') {
                    st_ = St::chunk_data_lf;
                } else if (c == '\n') {
                    bare_lf("after chunk data");
                    start_chunk_size();
                } else {
                    bad_chunk("chunk data not followed by CRLF", false);
                    return i;
                }
                break;
            }
            case St::chunk_data_lf: {
                const uint8_t c = p[i++];
                ++wire_;
                if (c != '\n') {
                    bad_chunk("chunk data not followed by CRLF", false);
                    return i;
                }
                start_chunk_size();
                break;
            }
            case St::trailer_start: {
                const uint8_t c = p[i++];
                ++wire_;
                if (c == '\r') {
                    st_ = St::trailer_end_lf;
                } else if (c == '\n') {
                    bare_lf("trailer section");
                    end_message(true, ts_, seq_);
                    return i;
                } else {
                    ++trailer_bytes_;
                    last_byte_ = c;
                    if (++trailer_lines_ > lim_.max_headers) {
                        finding(AnomalyKind::http_header_too_large,
                                "more than " + std::to_string(lim_.max_headers) + " trailer lines", ts_, frame_);
                        end_message(false, ts_, seq_);
                        stop();
                        return i;
                    }
                    st_ = St::trailer_line;
                }
                break;
            }
            case St::trailer_line: {
                const auto* lf = static_cast<const uint8_t*>(std::memchr(p + i, '\n', n - i));
                const size_t end = lf != nullptr ? static_cast<size_t>(lf - p) + 1 : n;
                trailer_bytes_ += end - i;
                wire_ += end - i;
                if (trailer_bytes_ > lim_.max_header_bytes) {
                    finding(AnomalyKind::http_header_too_large,
                            "trailer section larger than " + std::to_string(lim_.max_header_bytes) + " bytes", ts_,
                            frame_);
                    end_message(false, ts_, seq_);
                    stop();
                    return end;
                }
                if (lf != nullptr) {
                    const uint8_t prev = end - 1 > i ? p[end - 2] : last_byte_;
                    if (prev != '\r') bare_lf("trailer line");
                    st_ = St::trailer_start;
                } else {
                    last_byte_ = p[n - 1];
                }
                i = end;
                break;
            }
            case St::trailer_end_lf: {
                const uint8_t c = p[i++];
                ++wire_;
                if (c != '\n') {
                    bad_chunk("CR without LF ending the trailer section", false);
                    return i;
                }
                end_message(true, ts_, seq_);
                return i;
            }
            default:
                return i;
        }
    }
    return i;
}

// ---------------------------------------------------------------- gaps, end

void MessageParser::gap(uint64_t len, int64_t ts, uint64_t seq) {
    if (len == 0) return;
    if (st_ == St::bad_line) finish_rejection(false);  // the rejected line ends here: report it as it is
    if (st_ == St::after_line) leave_after_line();     // no header block seen: the line stands alone
    const std::string n = std::to_string(len) + " bytes not captured ";
    auto report = [&](const std::string& what) { finding(AnomalyKind::http_gap, n + what, ts, 0); };
    switch (st_) {
        case St::dead:
        case St::hold:
            return;
        case St::body_length: {
            partial_ = true;
            if (len < rem_) {
                rem_ -= len;
                body_ += len;
                wire_ += len;
                report("inside a body of known length; skipped, transaction partial");
                return;
            }
            const uint64_t over = len - rem_;
            body_ += rem_;
            wire_ += rem_;
            rem_ = 0;
            report(over == 0 ? "at the end of a body of known length; transaction partial"
                             : "over the end of a body and what followed; resync at the next start line");
            end_message(true, ts, seq);
            if (over != 0 && st_ != St::dead) enter_resync(true);
            return;
        }
        case St::chunk_data:
            partial_ = true;
            if (len <= rem_) {
                rem_ -= len;
                body_ += len;
                wire_ += len;
                if (rem_ == 0) st_ = St::chunk_data_cr;
                report("inside chunk data; skipped, transaction partial");
                return;
            }
            body_ += rem_;
            wire_ += rem_;
            rem_ = 0;
            report("over chunk data and chunk framing; message incomplete, resync");
            end_message(false, msg_last_ts_, msg_last_seq_);
            if (st_ != St::dead) enter_resync(true);
            return;
        case St::body_close:
            partial_ = true;
            body_ += len;
            wire_ += len;
            report("inside a close-delimited body; transaction partial");
            return;
        case St::chunk_size:
        case St::chunk_ws:
        case St::chunk_ext:
        case St::chunk_size_lf:
        case St::chunk_data_cr:
        case St::chunk_data_lf:
        case St::trailer_start:
        case St::trailer_line:
        case St::trailer_end_lf:
            partial_ = true;
            report("inside chunk framing; message incomplete, resync");
            end_message(false, msg_last_ts_, msg_last_seq_);
            if (st_ != St::dead) enter_resync(true);
            return;
        case St::idle:
        case St::start_line:
        case St::bad_line:
        case St::after_line:
        case St::headers:
        case St::resync_skip: {
            const bool detecting = mode_ == LineMode::detect;
            if (st_ == St::idle || st_ == St::resync_skip || st_ == St::bad_line) {
                report(mode_ == LineMode::resync ? "while resynchronising"
                       : detecting               ? "before the first message; resync"
                                                 : "between messages; resync at the next start line");
            } else if (st_ == St::headers && !salvaging_) {
                // The start line was captured: the message is handed over as
                // far as it goes (headers incomplete) and ends there, so that
                // a response still answers its request and a request is still
                // answered -- dropping it would shift every later pairing.
                // Its body cannot be framed: resync at the next start line.
                report("inside a header block; message incomplete, resync at the next start line");
                partial_ = true;
                head_cut();
                if (st_ == St::dead) return;
            } else {
                report("inside a header block; block dropped, resync at the next start line");
            }
            if (detecting && st_ != St::headers) {
                sink_.on_detect(role_, false, nullptr);
                if (st_ == St::dead) return;
            }
            enter_resync(true);
            return;
        }
    }
}

void MessageParser::finish(EndReason why, int64_t ts, uint64_t /*seq*/) {
    if (st_ == St::bad_line) finish_rejection(false);  // the rejected line ends here: report it as it is
    if (st_ == St::after_line) leave_after_line();     // an HTTP/0.9 request ends with the client's data
    switch (st_) {
        case St::body_length:
            finding(AnomalyKind::http_body_truncated,
                    std::string("body ended by ") + end_name(why) + " after " +
                        std::to_string(content_length_ - rem_) + " of " + std::to_string(content_length_) + " bytes",
                    ts, frame_);
            end_message(false, msg_last_ts_, msg_last_seq_);
            break;
        case St::body_close:
            end_message(why == EndReason::fin, msg_last_ts_, msg_last_seq_);
            break;
        case St::start_line:
            // A start line cut by the end, once the direction has proven to be
            // HTTP (on a first line it is no evidence either way) and the
            // bytes are an attempt at one ("METHOD SP", "HTTP/"): a bare
            // word is more likely unframed body bytes.
            if (mode_ == LineMode::normal && head_size() > 0 && start_line_attempted()) {
                finding(AnomalyKind::http_header_truncated,
                        std::string(role_ == Role::request ? "request" : "status") + " line ended by " + end_name(why) +
                            " after " + std::to_string(head_size()) + " bytes: '" + excerpt(head()) + "'",
                        ts, frame_);
            }
            break;
        case St::headers:
            if (!salvaging_) {
                finding(AnomalyKind::http_header_truncated,
                        std::string("header block ended by ") + end_name(why) + " after " + std::to_string(head_size()) +
                            " bytes, before its empty line: '" + strip_eol(head().substr(0, start_line_len_)) + "'",
                        ts, frame_);
                head_cut();
            }
            break;
        default:
            if (in_chunked_state()) {
                // The last chunk (size 0) arrived: only the trailer section's end is missing.
                const bool in_trailers = st_ == St::trailer_start || st_ == St::trailer_line || st_ == St::trailer_end_lf;
                finding(AnomalyKind::http_body_truncated,
                        std::string("chunked body ended by ") + end_name(why) + " after " + std::to_string(body_) +
                            (in_trailers ? " bytes, after the last chunk but before the end of its trailer section"
                                         : " bytes, before the last chunk"),
                        ts, frame_);
                end_message(false, msg_last_ts_, msg_last_seq_);
            }
            break;
    }
    st_ = St::dead;
    free_buffers();
}

}  // namespace pcaplens::http
