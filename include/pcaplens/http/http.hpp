// HTTP/1.x on reassembled TCP streams: an incremental RFC 9112 parser per
// direction and FIFO request/response pairing (keep-alive, pipelining,
// capture gaps). Attaches to a connection as a StreamConsumer.
#pragma once
#include <cstdint>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pcaplens/findings/finding.hpp"
#include "pcaplens/tcp/stream.hpp"

namespace pcaplens {

struct HttpConfig {
    uint32_t max_header_bytes = 64 * 1024;   // one header block (start line + headers)
    uint32_t max_headers = 256;              // header lines in one block
    uint32_t max_pipeline = 1024;            // outstanding requests per connection
    uint32_t max_transactions = 100'000;     // kept per connection (beyond: counted only)
    int64_t slow_response_ns = 0;            // 0: off; else http_slow_response when TTFB exceeds it
    uint32_t max_field_bytes = 8192;         // method/uri/host/user_agent/reason/content_type kept (longer: cut)
    uint32_t max_findings_per_kind = 1000;   // per connection and kind (beyond: counted in findings_suppressed())
    // false: each transaction is added to the connection's HttpTally and
    // dropped as soon as nothing can change it any more (no outstanding
    // request, message in progress or salvage refers to it), so
    // take_transactions() returns none; until then only the texts findings
    // quote (method, target) are stored.
    // For reporters that print counts only: a closed connection lingers
    // (TcpConfig::close_linger_ns) and waits for id order, and its
    // transactions were most of what it held.
    bool keep_transactions = true;
};

struct HttpTransaction {
    // The texts: request method, target, version ("HTTP/0.9": a versionless
    // request line), Host and User-Agent; response reason phrase, version and
    // Content-Type. They share one buffer -- one allocation per transaction
    // instead of up to eight, and a transaction spans 3 cache lines instead
    // of 6 -- so they are read through the accessors and written with set().
    enum class Text : uint8_t { method, uri, version, host, user_agent, reason, response_version, content_type };
    static constexpr size_t kTexts = 8;
    std::string_view text(Text t) const {
        const auto i = static_cast<size_t>(t);
        const uint32_t begin = i == 0 ? 0 : ends_[i - 1];
        return std::string_view(texts_).substr(begin, ends_[i] - begin);
    }
    void set(Text t, std::string_view v);
    void reserve_texts(size_t bytes) { texts_.reserve(bytes); }
    size_t texts_capacity() const { return texts_.capacity(); }   // heap bytes held by the texts
    std::string_view method() const { return text(Text::method); }
    std::string_view uri() const { return text(Text::uri); }
    std::string_view version() const { return text(Text::version); }
    std::string_view host() const { return text(Text::host); }
    std::string_view user_agent() const { return text(Text::user_agent); }
    std::string_view reason() const { return text(Text::reason); }
    std::string_view response_version() const { return text(Text::response_version); }
    std::string_view content_type() const { return text(Text::content_type); }

    // Request
    int64_t request_ts = 0, request_end_ts = 0;   // first and last byte (0 = not seen)
    uint64_t request_frame = 0;
    uint64_t request_body_bytes = 0;              // decoded
    uint64_t request_wire_body_bytes = 0;         // as on the wire (chunk framing included)
    bool request_chunked = false;
    bool has_request = false;
    // Response
    bool has_response = false;                    // a final response was seen (with or without status line)
    int status = 0;                               // 0 = no response, or a raw HTTP/0.9 response (has_response)
    int64_t response_ts = 0, response_end_ts = 0;
    uint64_t response_frame = 0;
    uint64_t response_body_bytes = 0;
    uint64_t response_wire_body_bytes = 0;
    bool response_chunked = false;
    std::vector<int> interim_statuses;            // 1xx before the final response (100, 103, ...)
    // Flags
    bool pipelined = false;   // request sent before the previous response was complete
    bool partial = false;     // a capture gap hit a body of known length
    bool uncertain = false;   // pairing may be off after a gap in a header block
    bool upgraded = false;    // 101 Switching Protocols: HTTP ends here
    bool tunnel = false;      // 2xx to CONNECT: HTTP ends here
    bool request_complete = false, response_complete = false;

    // Time to first byte: the request's last byte to the response's first.
    // 0 when the response began before the request ended (an early answer,
    // e.g. a 413 while an upload is still sent): the server did not wait.
    // Every report and check uses this one definition.
    std::optional<int64_t> ttfb_ns() const {
        if (!has_request || !has_response || request_end_ts == 0 || response_ts == 0) return std::nullopt;
        return response_ts > request_end_ts ? response_ts - request_end_ts : 0;
    }
    // The request's first byte to the response's last.
    std::optional<int64_t> duration_ns() const {
        if (!has_request || !has_response || request_ts == 0 || response_end_ts == 0 || response_end_ts < request_ts) return std::nullopt;
        return response_end_ts - request_ts;
    }

    friend bool operator==(const HttpTransaction&, const HttpTransaction&) = default;

private:
    std::string texts_;                   // the eight texts back to back
    std::array<uint32_t, kTexts> ends_{};  // end offset of each in texts_
};

// What a run's summary counts from one connection's transactions: taken
// from the transactions themselves, so it is the same whether they are kept
// or not. Small: a few counters and two timings per transaction.
struct HttpTally {
    std::vector<std::pair<std::string, uint64_t>> methods;  // request methods in order, repeats folded ("?": none)
    uint64_t requests_without_response = 0;
    uint64_t responses_without_request = 0;
    uint64_t pipelined = 0;
    uint64_t partial = 0;
    std::array<uint64_t, 6> status_classes{};  // [1..5]: 1xx..5xx
    struct Timing {
        int64_t ttfb_ns = -1;                  // request end -> first response byte (-1: not measurable)
        int64_t duration_ns = -1;              // first request byte -> last response byte (-1: not measurable)
        friend bool operator==(const Timing&, const Timing&) = default;
    };
    std::vector<Timing> timings;               // for transactions with at least one of the two
    void add(const HttpTransaction& x);
    void clear();   // empty, keeping the vectors' capacity
    // Replaces the contents with the tally of `txs`, allocating at most once
    // per vector (the capacity is reused when it suffices).
    void assign(const std::vector<HttpTransaction>& txs);
    friend bool operator==(const HttpTally&, const HttpTally&) = default;
};

namespace http {
struct HeadScratch;
}

// Where the HttpStreams of one analysis build each header block's head: a
// block is parsed to its end within one call, so one scratch serves all of
// them and stays in cache (per stream, it was ~800 bytes last used a
// request ago). One thread only; a stream made without one has its own.
class HttpHeadScratch {
public:
    HttpHeadScratch();
    ~HttpHeadScratch();
    HttpHeadScratch(const HttpHeadScratch&) = delete;
    HttpHeadScratch& operator=(const HttpHeadScratch&) = delete;

private:
    friend class HttpStream;
    std::unique_ptr<http::HeadScratch> impl_;
};

// Parses both directions of one connection. Detects HTTP by content: if the
// first client bytes are not a request line (and the first server bytes not a
// status line) it goes quiet and reports nothing.
class HttpStream final : public StreamConsumer {
public:
    HttpStream(const HttpConfig& cfg, uint64_t connection_id, HttpHeadScratch* shared_scratch = nullptr);
    ~HttpStream() override;
    HttpStream(const HttpStream&) = delete;
    HttpStream& operator=(const HttpStream&) = delete;

    void on_data(StreamDir dir, const uint8_t* data, size_t len, int64_t ts_ns, uint64_t frame) override;
    void on_gap(StreamDir dir, uint64_t len, int64_t ts_ns) override;
    void on_end(StreamDir dir, EndReason why, int64_t ts_ns) override;
    Hot hot() const override;
    void prefetch_results() const override;

    bool is_http() const;
    uint64_t transactions_total() const;       // including those beyond max_transactions
    // Fills `out` (its capacity reused when the transactions were kept;
    // otherwise the stream's own tally is moved in); call before
    // take_transactions().
    void take_tally(HttpTally& out);
    std::vector<HttpTransaction> take_transactions();  // empty unless HttpConfig::keep_transactions
    std::vector<Finding> take_findings();      // connection and dir set; frame/ts evidence filled
    uint64_t findings_suppressed() const;      // findings dropped by max_findings_per_kind

private:
    // Once both directions have ended nothing is parsed any more: the parsing
    // state (~3.5 kB: two parsers, the request queue, salvage and upgrade
    // state) is freed and only the results are kept, so a closed connection
    // lingering for stragglers (TcpConfig::close_linger_ns) holds its
    // transactions and findings, not a parser.
    struct Results {
        std::vector<HttpTransaction> transactions;
        HttpTally tally;           // when the transactions were not kept
        std::vector<Finding> findings;
        uint64_t total = 0;
        uint64_t suppressed = 0;
        bool http = false;
        bool tallied = false;
    };
    void release_parsing_state();

    struct Impl;
    std::unique_ptr<Impl> impl_;   // null once finalized
    Results results_;
};

}  // namespace pcaplens
