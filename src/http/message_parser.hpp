// Incremental HTTP/1.x message parser for ONE direction of a connection
// (RFC 9112): start line, header block, body framing (Content-Length,
// chunked with extensions and trailers, close-delimited), resynchronisation
// after garbage or capture gaps.
//
// Memory: only the current header block is buffered (bounded by
// max_header_bytes / max_headers), and only when it spans feed() calls: a
// block that lies whole in the bytes of one call is parsed where it is.
// Buffers are freed once the direction ends. Bodies are never stored: body bytes are
// skipped by length arithmetic, chunk framing is walked by a byte-wise state
// machine that keeps no buffer (only a 64-byte excerpt for evidence).
//
// The parser reports to a ParserSink (one virtual call per message event,
// never per body byte). The sink decides what only the pairing layer can
// know: whether a response has a body (HEAD, 1xx, 204, 304), whether HTTP
// ends (101, 2xx to CONNECT), and what a bad start line means (after a
// refused Upgrade/CONNECT it is tunnel data, not a malformed request).
//
// Leniency for what real servers (and Zeek) accept, each step bounded:
// - a request line without HTTP version ("GET /path", the HTTP/0.9
//   simple-request form) is reported as a request (MessageHead::simple);
// - after such a line, and after a rejected request line that was an attempt
//   at one, the header block that follows (if the next line is a header
//   field or empty) is parsed into the request already queued for the line
//   (MessageHead::salvaged), body framing included;
// - a response that does not start with a status line, while the request it
//   answers had the HTTP/0.9 form, is a raw HTTP/0.9 response: its bytes,
//   from the first, are a body read until close (MessageHead::raw).
//
// Callbacks may stop this parser (the connection went quiet or turned into a
// tunnel); the parser checks for that after every callback.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pcaplens/findings/finding.hpp"
#include "pcaplens/tcp/stream.hpp"

namespace pcaplens::http {

enum class Role : uint8_t { request, response };

// Start line and the header fields pcaplens uses. The string_views point
// into the parser's buffers and are valid only during ParserSink::on_head.
struct MessageHead {
    Role role = Role::request;
    std::string_view method, target;     // request
    int status = 0;                      // response (100..999)
    std::string_view reason;             // response
    std::string_view version;            // "HTTP/1.1"
    int version_minor = 1;
    std::string_view host, user_agent, content_type;   // first occurrence ("" if absent)
    bool conn_close = false;             // Connection: close
    bool conn_keep_alive = false;        // Connection: keep-alive
    bool has_upgrade = false;            // an Upgrade header field
    bool has_content_length = false;
    bool content_length_bad = false;     // non-numeric, overflowing or conflicting values
    uint64_t content_length = 0;
    bool has_transfer_encoding = false;
    bool chunked_final = false;          // chunked is the final (and only chunked) coding
    bool resynced = false;               // found by scanning after garbage or a gap: pairing uncertain
    bool headers_incomplete = false;     // header block overflowed: only the start line is known
    bool simple = false;                 // request line without version (HTTP/0.9 form); version "HTTP/0.9"
    bool salvaged = false;               // request: the header block after a rejected or versionless line;
                                         // belongs to the request already queued for that line (no start line)
    bool raw = false;                    // response without status line (HTTP/0.9): status 0, body until close
    int64_t ts = 0;                      // first byte of the start line
    uint64_t frame = 0;
    uint64_t seq = 0;                    // sink event counter at the first byte
};

// What the sink wants done with the message after its head.
enum class HeadAction : uint8_t {
    normal,    // frame the body from the headers
    no_body,   // the message has no body (response to HEAD, 1xx, 204, 304)
    stop,      // HTTP ends on this connection (101, 2xx to CONNECT): message complete, parser stops
};

// What the sink wants done after a start line was rejected in normal mode.
enum class BadLineAction : uint8_t {
    resync,   // scan for the next line that looks like a start line
    hold,     // ignore all bytes until resume_after_hold() or stop()
    salvage,  // (request) a request was queued for the line: if the next line is a header
              // field or empty, parse that header block into it (MessageHead::salvaged)
};

struct MessageEnd {
    bool complete = false;          // framing reached its end
    bool partial = false;           // a capture gap hit the body
    bool chunked = false;
    uint64_t body_bytes = 0;        // decoded (gap bytes counted)
    uint64_t wire_body_bytes = 0;   // as on the wire, chunk framing and trailers included
    int64_t end_ts = 0;             // ts of the data carrying the last byte
    uint64_t end_seq = 0;
};

// A line that failed start-line validation.
struct RejectedLine {
    std::string text;      // printable excerpt of the whole line (up to its LF)
    std::string raw;       // the line's first bytes as received (at most 256, no CR/LF)
    int64_t ts = 0;        // its first byte
    uint64_t frame = 0;
    uint64_t seq = 0;
    bool line_like = false;   // got past "METHOD SP" (request) or "HTTP/" (response): an attempt
    bool versionless_with_fields = false;   // an HTTP/0.9-form line, already reported as a simple
                                            // request, turned out to be followed by header fields
};

class ParserSink {
public:
    // First start line of the direction (or its failure): content detection.
    // `rejected` is the first line when it failed validation (null otherwise,
    // or when a gap made detection fail).
    virtual void on_detect(Role role, bool looks_like_http, const RejectedLine* rejected) = 0;
    virtual HeadAction on_head(const MessageHead& head) = 0;
    virtual void on_message_end(Role role, const MessageEnd& end) = 0;
    // A start line failed validation in normal mode (or an HTTP/0.9-form
    // request line is followed by header fields: line.versionless_with_fields).
    virtual BadLineAction on_bad_start_line(Role role, const RejectedLine& line) = 0;
    // The response parser met bytes that are not a status line: is this a raw
    // HTTP/0.9 response (the request it answers had the HTTP/0.9 form)?
    virtual bool raw_response_expected() = 0;
    // frame == 0 means "not known yet" (a gap): the sink fills it in.
    virtual void on_finding(Role role, AnomalyKind kind, std::string detail, int64_t ts, uint64_t frame) = 0;

protected:
    ~ParserSink() = default;
};

struct ParserLimits {
    uint32_t max_header_bytes = 64 * 1024;
    uint32_t max_headers = 256;
};

// The head being built from a header block, and the buffers for its
// unfolded values. A parser fills it and hands it to ParserSink::on_head()
// within one call (process_head() and the like), and nothing in it is read
// after that call returns, so one scratch can serve every parser of an
// analysis -- and, used by every header block, stays in cache -- instead of
// ~400 cold bytes in each parser. The views in `head` point into the header
// block, except folded values, which are unfolded into value_buf (and copied
// out of it into host_buf/ua_buf/ctype_buf when kept). Only one thread may
// use a scratch.
struct HeadScratch {
    MessageHead head;
    bool have_host = false, have_ua = false, have_ctype = false;
    bool te_last_chunked = false;
    bool cl_set = false;
    uint32_t te_chunked_count = 0;
    std::string value_buf, host_buf, ua_buf, ctype_buf, cl_detail, te_detail;
    // The first Content-Length / Transfer-Encoding value while it is the
    // only one: a view into the header block, added to cl_detail /
    // te_detail only when a second value comes or a finding quotes it.
    std::string_view cl_first, te_first;
    bool cl_first_pending = false, te_first_pending = false;
};

// Printable excerpt of wire bytes for finding details: at most `max` bytes,
// bytes outside 0x20..0x7e shown as '.', "..." appended when cut.
std::string excerpt(std::string_view s, size_t max = 64);

class MessageParser {
public:
    MessageParser(Role role, ParserLimits limits, ParserSink& sink, HeadScratch& scratch);

    // `seq` is the sink's event number for this call (orders events across directions).
    void feed(const uint8_t* p, size_t n, int64_t ts, uint64_t frame, uint64_t seq);
    void gap(uint64_t len, int64_t ts, uint64_t seq);
    void finish(EndReason why, int64_t ts, uint64_t seq);
    void stop();                 // ignore everything from now on
    void resume_after_hold();    // leave hold: resync at the next line
    bool stopped() const { return st_ == St::dead; }

    bool holding() const { return st_ == St::hold; }

    // A request whose start line is complete and whose header block is still
    // arriving: a response may answer it before the client has finished
    // (431 to an oversized head, 408 to a stalled one). `line` (no CR/LF)
    // points into this parser's buffer and is valid until its next feed.
    struct PartialRequest {
        std::string_view line;
        int64_t ts = 0;          // first byte of the start line
        uint64_t frame = 0;
        uint64_t seq = 0;
        bool resynced = false;
    };
    bool partial_request(PartialRequest& out) const;
    // The sink queued that request: the rest of its header block, when it
    // comes, is handed over as MessageHead::salvaged (it fills that request),
    // and its end as that request's end.
    void partial_request_queued() { early_queued_ = true; }
    // The other direction has proven the connection to be HTTP: this
    // direction's first start line need not prove it again, so it is held
    // to the rules of any later one (a status 600-999 is a status line, not
    // a sign of another protocol). Detection of this direction's first
    // line, and what a rejected one means, are otherwise unchanged.
    void peer_proved_http() { peer_proved_ = true; }

private:
    enum class St : uint8_t {
        idle,            // before a start line (CR/LF skipped)
        start_line,      // validating the start line byte by byte
        headers,         // collecting header lines
        body_length,     // Content-Length body
        body_close,      // close-delimited body
        chunk_size,      // hex digits of a chunk-size line
        chunk_ws,        // BWS after the size
        chunk_ext,       // chunk extension up to CR/LF
        chunk_size_lf,   // CR seen, LF expected
        chunk_data,
        chunk_data_cr,   // CRLF after chunk data
        chunk_data_lf,
        trailer_start,   // start of a trailer line (or the final CRLF)
        trailer_line,
        trailer_end_lf,  // final CR seen, LF expected
        bad_line,        // a rejected start line: skipping to its LF, keeping an excerpt
        after_line,      // after a rejected or versionless request line: is a header block next?
        resync_skip,     // skipping to the next LF
        hold,
        dead,
    };
    enum class LineMode : uint8_t { detect, normal, resync };
    enum class SlState : uint8_t { method, target, version, status, after_status, reason, cr };

    size_t step_start_line(const uint8_t* p, size_t n);
    size_t fast_start_line(const uint8_t* p, size_t n);
    void start_line_accepted();
    size_t step_headers(const uint8_t* p, size_t n);
    size_t step_chunked(const uint8_t* p, size_t n);
    size_t step_after_line(const uint8_t* p, size_t n);
    void run(const uint8_t* p, size_t n);
    void run_steps(const uint8_t* p, size_t n);
    void accept_simple_line();
    void begin_after_line(bool simple);
    void start_salvage();
    void end_simple();
    void leave_after_line();
    void replay(const std::string& bytes);
    void start_raw_response();
    int sl_step(uint8_t c);   // 0 continue, 1 line accepted, -1 rejected
    void reject_start_line(uint8_t c);
    void finish_rejection(bool at_line_start);
    void header_too_large(std::string detail);
    void head_cut();
    void end_queued_request();
    // The start line so far is an attempt at one: "METHOD SP" (request), "HTTP/" (response).
    bool start_line_attempted() const {
        return role_ == Role::request ? sl_ != SlState::method : (sl_ != SlState::version || sl_n_ >= 5);
    }
    // Statuses 600-999 are accepted between messages, and on a first line
    // once the other direction has proven the connection HTTP; not while
    // resynchronising or detecting.
    bool status_strict() const { return mode_ == LineMode::resync || (mode_ == LineMode::detect && !peer_proved_); }
    void process_head();
    bool parse_start_line(std::string_view line);
    void parse_fields(size_t from, size_t to);
    void apply_field(std::string_view name, std::string_view value, bool folded);
    void begin_body(HeadAction action);
    void end_message(bool complete, int64_t end_ts, uint64_t end_seq);
    void start_chunk_size();
    void note_cs(uint8_t c) {
        if (cs_line_len_ < sizeof cs_line_) cs_line_[cs_line_len_++] = static_cast<char>(c);
    }
    void enter_resync(bool at_line_start);
    void bad_chunk(std::string why, bool show_line);
    void chunk_size_line_done();
    void finding(AnomalyKind kind, std::string detail, int64_t ts, uint64_t frame) {
        sink_.on_finding(role_, kind, std::move(detail), ts, frame);
    }
    void bare_lf(const char* where);
    void touch() { msg_last_ts_ = ts_, msg_last_seq_ = seq_; }
    void reset_head_state();
    void release_buffer();
    void free_buffers();

    // The header block collected so far: in place in the bytes being fed
    // (head_in_place_ set), else in hbuf_.
    size_t head_size() const { return head_in_place_ != nullptr ? head_in_place_len_ : hbuf_.size(); }
    std::string_view head() const {
        return head_in_place_ != nullptr
                   ? std::string_view(reinterpret_cast<const char*>(head_in_place_), head_in_place_len_)
                   : std::string_view(hbuf_);
    }
    void head_append(const uint8_t* p, size_t n);
    void keep_head();
    void clear_head() {
        hbuf_.clear();
        head_in_place_ = nullptr;
        head_in_place_len_ = 0;
    }
    bool in_chunked_state() const { return st_ >= St::chunk_size && st_ <= St::trailer_end_lf; }

    // Layout: the state every fed segment reads or writes comes first (the
    // first three cache lines); the header block, the head being built and
    // the state of unusual input follow. See HttpStream::Impl.
    ParserSink& sink_;
    HeadScratch& hs_;              // the head being built (shared, see HeadScratch)
    Role role_;
    St st_ = St::idle;
    LineMode mode_ = LineMode::detect;
    bool partial_ = false, chunked_ = false;
    bool msg_resynced_ = false;    // the start line was found by scanning
    bool salvaging_ = false;       // St::headers collects a salvaged header block
    bool salvaged_msg_ = false;    // the message in progress was salvaged (keeps resync mode after it)
    bool early_queued_ = false;    // the request in St::headers was queued early (partial_request_queued)
    bool peer_proved_ = false;     // see peer_proved_http()

    // Current call.
    int64_t ts_ = 0;
    uint64_t frame_ = 0, seq_ = 0;

    // Message in progress.
    uint64_t rem_ = 0;             // body or chunk bytes still to come / chunk size being parsed
    uint64_t content_length_ = 0;
    uint64_t body_ = 0, wire_ = 0;
    int64_t msg_ts_ = 0;
    uint64_t msg_frame_ = 0, msg_seq_ = 0;
    int64_t msg_last_ts_ = 0;
    uint64_t msg_last_seq_ = 0;
    uint64_t lead_ = 0;            // CR/LF skipped before the current start line...
    uint64_t msg_lead_ = 0;        // ...and before this message (part of a raw response)

    // Header block (start line + fields), bounded by lim_.max_header_bytes.
    // While the whole block so far lies in the bytes of the current run() it
    // is not copied: head_in_place_ points at its first byte there. run()
    // copies it into hbuf_ (keep_head) before returning with the block
    // incomplete, so the pointer never outlives the caller's buffer.
    const uint8_t* head_in_place_ = nullptr;
    size_t head_in_place_len_ = 0;
    size_t line_start_ = 0;        // offset of the header line being collected
    size_t start_line_len_ = 0;    // bytes of the start line including its LF
    uint32_t header_lines_ = 0;
    ParserLimits lim_;
    std::string hbuf_;

    // Start line validation.
    SlState sl_ = SlState::method;
    bool sl_bare_lf_ = false;
    bool line_like_ = false;       // the rejected line got past "METHOD SP" / "HTTP/"
    bool sl_simple_ = false;       // the line ended after the target (HTTP/0.9 form)
    uint8_t sl_tform_ = 0;         // target form so far (see sl_step)
    uint32_t sl_n_ = 0;
    uint32_t sl_method_len_ = 0;

    // Chunk-size line / trailer walking.
    uint32_t cs_digits_ = 0;
    uint32_t cs_line_len_ = 0;
    uint64_t cs_line_bytes_ = 0;
    uint64_t trailer_bytes_ = 0;
    uint32_t trailer_lines_ = 0;
    uint8_t last_byte_ = 0;        // previous byte consumed in trailer_line (bare LF check)
    bool bare_lf_reported_ = false;
    char cs_line_[64] = {};

    // Offsets of the LFs ending the first header lines, as step_headers found
    // them: parse_fields does not search for them again.
    // 16 bits: the offsets of a block of up to 64 KiB (the default limit);
    // with a larger limit, lines ending beyond are searched for instead.
    static constexpr uint32_t kLineEnds = 32;
    uint16_t line_ends_[kLineEnds] = {};


    // After a rejected or versionless request line (St::after_line).
    bool after_simple_ = false;    // the line was versionless (HTTP/0.9 form) and is queued as a request
    std::string peek_;             // the next line's first bytes (tchar only, bounded)
    int64_t peek_ts_ = 0;
    uint64_t peek_frame_ = 0, peek_seq_ = 0;
    std::string simple_line_;      // excerpt of the versionless line
    int64_t line_end_ts_ = 0;      // its LF
    uint64_t line_end_seq_ = 0;
};

}  // namespace pcaplens::http
