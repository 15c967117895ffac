// HttpStream: one connection's HTTP/1.x. Two MessageParsers (one per
// direction) report message heads and ends; this layer detects HTTP by
// content, pairs responses with requests FIFO, sets the transaction flags and
// emits the http_* findings.
//
// Decisions on ambiguous points:
// - Detection: the connection is HTTP as soon as either direction yields a
//   valid start line (its first line, or one found by scanning after garbage
//   or a leading gap). It goes quiet -- no transactions, no findings, all
//   bytes ignored -- when the first data of BOTH directions failed detection
//   before either found a start line, or at the end if it never became HTTP.
//   A direction whose first bytes are not a start line scans for one at a
//   line start (resync); what it finds is marked `uncertain`. Server bytes
//   before any client bytes also mark the first response `uncertain`.
// - Detection failure alone is not a finding (a mid-stream pickup is not an
//   error), with one exception: if the client's first line was an attempt at
//   a request line ("METHOD SP ...") and the connection then proves to be
//   HTTP (typically the server answers 400), that line is reported as
//   http_malformed_request. A bad start line after a complete message is
//   always reported.
// - A malformed request line that was such an attempt is also queued as a
//   request (best-effort method/target/version, request_complete=false, no
//   headers): the server's answer pairs with it instead of shifting FIFO
//   pairing, and its method frames the answer (HEAD: no body; 2xx to
//   CONNECT: tunnel). Other rejected bytes are reported but not queued.
//   A malformed status line that was an attempt at one ("HTTP/" read) takes
//   the oldest outstanding request's place (has_response, no status, empty
//   response_version, uncertain; an Upgrade/CONNECT so answered is
//   refused); the next response found pairs FIFO after it and is marked
//   uncertain (resync). Other rejected server bytes are reported only, and
//   lines skipped while resynchronising are not judged at all: two broken
//   status lines in a row still shift the pairing by one.
// - The header block after such a queued line (message_parser.cpp: a header
//   field line or an empty line comes next) fills that same transaction:
//   host, user_agent, Connection: close, and the request's end and body
//   (request_complete from its framing). For the client's first line, which
//   is queued only once the connection proves to be HTTP, the block's
//   values wait with the line. The finding stays http_malformed_request.
// - HTTP/0.9: a versionless request line ("GET /path", message_parser.cpp)
//   is a request with version "HTTP/0.9" and makes the connection HTTP like
//   any request line. If header fields follow it, it was an HTTP/1.x
//   request missing its version instead: http_malformed_request, version
//   "", the header block fills the transaction. Server bytes that are not a
//   status line, while the oldest outstanding request had the HTTP/0.9 form,
//   are its raw response: has_response with status 0 (none on the wire),
//   response_ts/frame of the first byte, the body read until the server
//   closes (complete only with its FIN). A status line is parsed as usual.
// - response_ts / response_frame are those of the FINAL response; interim 1xx
//   only go to interim_statuses (at most 16 kept). A 1xx with no outstanding
//   request is recorded as a response without request.
// - Pipelined: the previous request's final response was not complete when
//   this request's first byte arrived (ordered by the event sequence, so
//   equal timestamps are no problem).
// - Close announcements: a request or response with Connection: close, or an
//   HTTP/1.0 one without Connection: keep-alive. A request is "after close"
//   when the client announced it on an earlier request, or the server
//   announced it before the request's first byte arrived (a request already
//   in flight when the server said close is not flagged).
// - Upgrade/CONNECT: 101, or 2xx to CONNECT, ends HTTP in both directions.
//   If the client's next bytes after an Upgrade/CONNECT request are not a
//   request line, the client side waits (ignoring bytes) for the verdict;
//   on a refusal -- or if the refusal came first -- that is
//   http_data_after_upgrade_failure (instead of http_malformed_request) and
//   the client side resyncs at the next request line.
// - http_pipeline_depth names the dropped oldest request (frame2 = its
//   frame); it is not reported again as http_request_without_response.
// - A close-delimited response is complete only when the server's direction
//   ends with FIN; RST, end of capture or eviction leave it incomplete (no
//   finding: no length was announced).
// - Gap findings carry the frame of the next data in that direction (the
//   packet after the hole), or the last frame seen there if none follows.
// - After a direction stops on an unrecoverable framing error the other side
//   is still parsed; its unpaired responses are reported as usual.
#include <algorithm>
#include <array>
#include <memory>
#include <utility>

#include "message_parser.hpp"
#include "pcaplens/http/http.hpp"

namespace pcaplens {

using http::HeadAction;
using http::Role;

namespace {

FlowDir flow(Role r) { return r == Role::request ? FlowDir::client_to_server : FlowDir::server_to_client; }
int idx(Role r) { return static_cast<int>(r); }
int idx(StreamDir d) { return static_cast<int>(d); }

http::ParserLimits limits(const HttpConfig& c) {
    http::ParserLimits l;
    l.max_header_bytes = c.max_header_bytes;
    l.max_headers = c.max_headers;
    return l;
}

// FIFO ring whose first N slots live inline: the outstanding requests of a
// connection are usually 0-2, so most connections never allocate for them
// (std::deque allocates two blocks up front). Deeper pipelines double the
// ring on the heap. N is a power of two.
template <class T, size_t N>
class SmallFifo {
    static_assert(N > 0 && (N & (N - 1)) == 0);

public:
    bool empty() const { return count_ == 0; }
    size_t size() const { return count_; }
    T& front() { return slots()[head_]; }
    T& back() { return slots()[(head_ + count_ - 1) & (cap_ - 1)]; }
    void push_back(T v) {
        if (count_ == cap_) grow();
        slots()[(head_ + count_) & (cap_ - 1)] = std::move(v);
        ++count_;
    }
    void pop_front() {
        slots()[head_] = T{};   // release what the element holds
        head_ = (head_ + 1) & (cap_ - 1);
        --count_;
    }
    void clear() {
        while (!empty()) pop_front();
        head_ = 0;
    }
    template <class F>
    void for_each(F&& f) {
        for (size_t i = 0; i < count_; ++i) f(slots()[(head_ + i) & (cap_ - 1)]);
    }

private:
    T* slots() { return heap_ != nullptr ? heap_.get() : inline_.data(); }
    void grow() {
        auto bigger = std::make_unique<T[]>(cap_ * 2);
        for (size_t i = 0; i < count_; ++i) bigger[i] = std::move(slots()[(head_ + i) & (cap_ - 1)]);
        heap_ = std::move(bigger);
        cap_ *= 2;
        head_ = 0;
    }

    size_t cap_ = N, head_ = 0, count_ = 0;   // first: read on every push and pop
    std::unique_ptr<T[]> heap_;
    std::array<T, N> inline_{};
};

}  // namespace

struct HttpStream::Impl final : http::ParserSink {
    Impl(const HttpConfig& c, uint64_t id, http::HeadScratch* shared)
        : conn(id),
          cfg(c),
          own_scratch(shared != nullptr ? nullptr : std::make_unique<http::HeadScratch>()),
          req(Role::request, limits(c), *this, shared != nullptr ? *shared : *own_scratch),
          resp(Role::response, limits(c), *this, shared != nullptr ? *shared : *own_scratch) {}

    // Layout: what every segment or message reads or writes comes first, in
    // the first cache lines after the vtable pointer; then the two parsers
    // (their own hot fields first); then what only unusual traffic touches.
    // With thousands of connections live, each line a segment touches is
    // usually a cache miss (the pairing fields used to sit behind the two
    // parsers, ~2 kB in, several lines apart).
    enum class Det : uint8_t { undecided, http, quiet };
    Det det = Det::undecided;
    bool det_failed[2] = {};
    bool seen_data[2] = {};
    bool ended[2] = {};
    bool finalized = false;
    bool midstream_response = false;   // the server spoke first: its first response is uncertain
    bool last_resp_done = false;       // the latest request's final response has ended (complete or not)...
    bool close_server = false;
    bool upgrade_refused = false;
    bool holding = false;              // client parser waits for the upgrade verdict
    bool pipeline_overflowed = false;  // a request was dropped from the queue: FIFO pairing is off by one from there
    bool bare_lf_done = false;
    uint64_t seq = 0;                  // event counter (orders events across directions)
    int64_t last_ts[2] = {};
    uint64_t last_frame[2] = {};
    uint64_t last_resp_done_seq = 0;   // ...since this event
    uint64_t req_serial = 0;           // requests seen
    uint64_t total = 0;

    struct Current {                   // message being received in one direction
        bool active = false;
        bool interim = false;
        int64_t tx = -1;
        uint64_t serial = 0;           // request serial (0: response without request)
    };
    Current cur_req, cur_resp;

    uint64_t close_client_serial = 0;  // request that announced close (0: none)
    uint64_t close_server_seq = 0, close_server_frame = 0;
    uint64_t upgrade_serial = 0;       // latest request, if it was CONNECT or carried Upgrade
    uint64_t salvage_serial = 0;       // request queued for a malformed or versionless line (0: none)...
    int64_t salvage_tx = -1;           // ...and its transaction: a header block after the line fills it
    uint64_t conn;

    // The transactions stored: txs[i] is transaction number base + i. With
    // keep_transactions all of them (base stays 0). Without, a transaction
    // nothing can update any more (no outstanding request, current message or
    // salvage refers to it) is added to `folded` -- what the summary counts
    // -- and dropped: a keep-alive connection holds one or two transactions,
    // not all it carried, and each is tallied while still in cache.
    std::vector<HttpTransaction> txs;
    int64_t base = 0;
    int64_t fold_next = 0;             // the next transaction to fold (base <= fold_next <= base + txs.size())
    HttpTally folded;

    struct Pending {                   // a request waiting for its final response
        int64_t tx = -1;
        uint64_t serial = 0;
        bool head = false, connect = false, upgrade = false;
        bool simple = false;           // HTTP/0.9 form: the response may be raw
        bool complete = false;
        int64_t ts = 0, end_ts = 0;
        uint64_t frame = 0;
        std::string label;             // "METHOD target" excerpt, kept only when tx < 0
    };
    SmallFifo<Pending, 2> outstanding;   // deeper pipelines move to the heap

    HttpConfig cfg;
    std::unique_ptr<http::HeadScratch> own_scratch;   // when not given one to share
    http::MessageParser req, resp;

    // Rarely touched.
    std::unique_ptr<HttpTransaction> scratch;   // target of updates for transactions beyond the cap (made on first use)
    int64_t hold_ts = 0;
    uint64_t hold_frame = 0;
    std::string hold_line;

    std::vector<Finding> findings;
    // Findings made per kind, for max_findings_per_kind: the http_* kinds
    // are the last of the catalogue, one counter each (the last slot for any
    // other kind, which this layer does not make).
    static constexpr size_t kFirstHttpKind = static_cast<size_t>(AnomalyKind::http_response_without_request);
    static constexpr size_t kHttpKinds = kAnomalyKindCount - kFirstHttpKind;
    uint32_t per_kind[kHttpKinds + 1] = {};
    uint64_t suppressed = 0;
    std::vector<size_t> gap_pending[2];   // gap findings waiting for the next frame

    http::MessageParser& parser(StreamDir d) { return d == StreamDir::client_to_server ? req : resp; }

    int64_t new_tx() {
        ++total;
        fold();
        if (static_cast<uint64_t>(base) + txs.size() < cfg.max_transactions) {
            // Room for two at first: most connections carry a few transactions,
            // and a flood of one-request connections should not hold four
            // (192 B each) per connection.
            if (txs.capacity() == 0) txs.reserve(std::min<size_t>(2, cfg.max_transactions));
            txs.emplace_back();
            return base + static_cast<int64_t>(txs.size()) - 1;
        }
        return -1;
    }
    // Transactions beyond the cap are written to `scratch` and never read back
    // (its only growing member, interim_statuses, is bounded at 16).
    HttpTransaction& tx(int64_t i) {
        const int64_t j = i - base;
        if (i < 0 || j < 0 || static_cast<uint64_t>(j) >= txs.size()) {
            if (!scratch) scratch = std::make_unique<HttpTransaction>();
            return *scratch;
        }
        return txs[static_cast<size_t>(j)];
    }
    bool referenced(int64_t i) {
        if ((cur_req.active && cur_req.tx == i) || (cur_resp.active && cur_resp.tx == i) || salvage_tx == i) return true;
        bool found = false;
        outstanding.for_each([&](const Pending& p) { found = found || p.tx == i; });
        return found;
    }
    // Without keep_transactions: tallies the oldest transactions while
    // nothing refers to them (`all`: every one left, once nothing is parsed
    // any more) -- in order, so the tally is the one their list would give --
    // and drops them once all stored are tallied or they are at least half of
    // what is stored.
    void fold(bool all = false) {
        if (cfg.keep_transactions) return;
        const int64_t end = base + static_cast<int64_t>(txs.size());
        while (fold_next < end && (all || !referenced(fold_next))) {
            if (folded.timings.capacity() == 0) {   // one allocation per vector for most connections
                folded.methods.reserve(2);
                folded.timings.reserve(8);
            }
            folded.add(txs[static_cast<size_t>(fold_next - base)]);
            ++fold_next;
        }
        const auto done = static_cast<size_t>(fold_next - base);
        if (done == txs.size()) {
            txs.clear();   // the capacity stays for the next ones
            base = fold_next;
        } else if (done >= 8 && done * 2 >= txs.size()) {
            txs.erase(txs.begin(), txs.begin() + static_cast<std::ptrdiff_t>(done));
            base = fold_next;
        }
    }
    std::string_view clip(std::string_view s) const { return s.substr(0, cfg.max_field_bytes); }
    // The texts only a kept transaction shows (version, Host, User-Agent,
    // reason, Content-Type); without keep_transactions only what findings
    // quote (method, target) is stored.
    void set_detail(HttpTransaction& x, HttpTransaction::Text t, std::string_view v) {
        if (cfg.keep_transactions) x.set(t, v);
    }

    bool add(AnomalyKind k, FlowDir dir, int64_t ts, uint64_t frame, std::string detail, uint64_t frame2 = 0) {
        if (det == Det::quiet) return false;
        if (k == AnomalyKind::http_bare_lf) {
            if (bare_lf_done) return false;
            bare_lf_done = true;
        }
        const size_t ki = static_cast<size_t>(k) - kFirstHttpKind;   // wraps for a lower kind
        uint32_t& n = per_kind[ki < kHttpKinds ? ki : kHttpKinds];
        if (n >= cfg.max_findings_per_kind) {
            ++suppressed;
            return false;
        }
        ++n;
        Finding f;
        f.kind = k;
        f.ts_ns = ts;
        f.frame = frame;
        f.frame2 = frame2;
        f.connection = conn;
        f.dir = dir;
        f.detail = std::move(detail);
        findings.push_back(std::move(f));
        return true;
    }

    void go_quiet() {
        det = Det::quiet;
        rejected_first.reset();
        salvage_serial = 0;
        txs.clear();
        base = fold_next = 0;
        folded.clear();
        total = 0;
        findings.clear();
        outstanding.clear();
        gap_pending[0].clear();
        gap_pending[1].clear();
        cur_req = cur_resp = Current{};
        req.stop();
        resp.stop();
    }

    // ------------------------------------------------------------ ParserSink

    // First lines that failed validation while the connection is not yet
    // known to be HTTP, held until it is. Rare, so made on first use: ~300
    // bytes that kept every connection's state in a size class a quarter
    // larger (2,560 instead of 2,048 bytes).
    struct RejectedFirst {
        // The client's first line, if it looked like an attempt at a
        // request line: reported once the connection proves to be HTTP.
        bool pending_line = false;
        http::RejectedLine line;
        struct Salvage {               // the header block after that line, until it is queued
            bool head = false;         // parsed
            bool open = false;         // its message end is still to come
            bool ended = false;
            bool conn_close = false;
            std::string host, user_agent;
            http::MessageEnd end;
        };
        Salvage salvage;
        // The server's first line, if it was an attempt at a status line
        // ("HTTP/" seen): reported once the connection proves to be HTTP,
        // as any later malformed status line is.
        bool pending_status = false;
        http::RejectedLine status;
    };
    std::unique_ptr<RejectedFirst> rejected_first;
    RejectedFirst& rejected_state() {
        if (!rejected_first) rejected_first = std::make_unique<RejectedFirst>();
        return *rejected_first;
    }
    bool pending_first_line() const { return rejected_first && rejected_first->pending_line; }

    void malformed_response(const http::RejectedLine& line) {
        add(AnomalyKind::http_malformed_response, FlowDir::server_to_client, line.ts, line.frame,
            "not a status line: '" + line.text + "'");
    }

    void become_http() {
        if (det != Det::undecided) return;
        det = Det::http;
        resp.peer_proved_http();
        if (!rejected_first) return;
        const std::unique_ptr<RejectedFirst> r = std::move(rejected_first);
        if (r->pending_status) malformed_response(r->status);
        if (r->pending_line) {
            malformed_request(r->line);
            const RejectedFirst::Salvage& fs = r->salvage;
            if (fs.head && salvage_serial != 0) {
                HttpTransaction& x = tx(salvage_tx);
                set_detail(x, HttpTransaction::Text::host, fs.host);
                set_detail(x, HttpTransaction::Text::user_agent, fs.user_agent);
                if (fs.conn_close && close_client_serial == 0) close_client_serial = salvage_serial;
                if (fs.ended) {
                    request_ended(salvage_tx, salvage_serial, fs.end);
                } else if (fs.open) {
                    cur_req = Current{true, false, salvage_tx, salvage_serial};
                }
                salvage_serial = 0;
            }
        }
    }

    void on_detect(Role role, bool ok, const http::RejectedLine* rejected) override {
        if (det == Det::quiet) return;
        if (ok) {
            become_http();
            return;
        }
        det_failed[idx(role)] = true;
        if (role == Role::request && rejected != nullptr && rejected->line_like && det == Det::undecided) {
            RejectedFirst& r = rejected_state();
            r.pending_line = true;
            r.line = *rejected;
        }
        if (role == Role::response && rejected != nullptr && rejected->line_like) {
            if (det == Det::http) {
                malformed_response(*rejected);
                answer_with_malformed(*rejected);
            } else {
                RejectedFirst& r = rejected_state();
                r.pending_status = true;
                r.status = *rejected;
            }
        }
        if (det == Det::undecided && det_failed[0] && det_failed[1]) go_quiet();
    }

    void on_finding(Role role, AnomalyKind kind, std::string detail, int64_t ts, uint64_t frame) override {
        const bool deferred = frame == 0 && kind == AnomalyKind::http_gap;
        if (add(kind, flow(role), ts, frame, std::move(detail)) && deferred) {
            gap_pending[idx(role)].push_back(findings.size() - 1);
        }
    }

    HeadAction on_head(const http::MessageHead& h) override {
        if (det == Det::quiet) return HeadAction::stop;
        if (!h.salvaged) become_http();   // a header block after a rejected line proves nothing
        return h.role == Role::request ? request_head(h) : response_head(h);
    }

    static std::string label_of(std::string_view method, std::string_view target) {
        std::string s = http::excerpt(method, 16);
        s += ' ';
        s += http::excerpt(target, 48);
        return s;
    }
    std::string label(const Pending& p) {
        if (p.tx < 0) return p.label;
        const HttpTransaction& x = tx(p.tx);
        return label_of(x.method(), x.uri());
    }

    HeadAction request_head(const http::MessageHead& h) {
        if (h.salvaged) return salvaged_head(h);
        register_request(h, false);
        return HeadAction::normal;
    }

    // An Upgrade field in a header block completed after its request was
    // queued (answered early, or a salvaged line): what register_request()
    // would have noted, and the server's verdict if its answer came already.
    void note_late_upgrade(uint64_t serial, const HttpTransaction& x) {
        upgrade_serial = serial;
        bool waiting = false;
        outstanding.for_each([&](Pending& p) {
            if (p.serial == serial) p.upgrade = waiting = true;
        });
        if (!waiting && x.has_response && x.status >= 200 && !x.upgraded) upgrade_refused = true;
    }

    // The header block after a queued malformed or versionless request line.
    HeadAction salvaged_head(const http::MessageHead& h) {
        cur_req = Current{};
        if (salvage_serial != 0 && salvage_serial == req_serial) {
            HttpTransaction& x = tx(salvage_tx);
            set_detail(x, HttpTransaction::Text::host, clip(h.host));
            set_detail(x, HttpTransaction::Text::user_agent, clip(h.user_agent));
            // (A request queued early has its version; HTTP/1.0 closes unless kept alive.)
            if ((h.conn_close || (h.version_minor == 0 && !h.conn_keep_alive)) && close_client_serial == 0) {
                close_client_serial = salvage_serial;
            }
            if (h.has_upgrade) note_late_upgrade(salvage_serial, x);
            cur_req = Current{true, false, salvage_tx, salvage_serial};
        } else if (det == Det::undecided && pending_first_line()) {
            RejectedFirst::Salvage& fs = rejected_first->salvage;
            fs = RejectedFirst::Salvage{};
            fs.head = fs.open = true;
            fs.conn_close = h.conn_close;
            fs.host = clip(h.host);
            fs.user_agent = clip(h.user_agent);
        }
        salvage_serial = 0;
        return HeadAction::normal;
    }

    // A rejected line that was an attempt at a request line ("METHOD SP ..."):
    // reported, and queued as a request so that the server's answer (usually
    // 400) pairs with it and is framed by its method (HEAD, CONNECT).
    void malformed_request(const http::RejectedLine& line) {
        add(AnomalyKind::http_malformed_request, FlowDir::client_to_server, line.ts, line.frame,
            "not a request line: '" + line.text + "'");
        if (!line.line_like) return;
        const std::string_view raw = line.raw;
        http::MessageHead h;
        const size_t sp1 = raw.find(' ');
        h.method = raw.substr(0, sp1);
        if (sp1 != std::string_view::npos) {
            std::string_view rest = raw.substr(sp1 + 1);
            const size_t last = rest.rfind(' ');
            if (last != std::string_view::npos && rest.substr(last + 1).rfind("HTTP/", 0) == 0) {
                h.version = rest.substr(last + 1);
                rest = rest.substr(0, last);
            } else if (rest.rfind("HTTP/", 0) == 0 && rest.find(' ') == std::string_view::npos) {
                h.version = rest;   // "OPTIONS HTTP/1.1": no target
                rest = {};
            }
            h.target = rest;
        }
        h.ts = line.ts;
        h.frame = line.frame;
        h.seq = line.seq;
        salvage_tx = register_request(h, true);
        salvage_serial = req_serial;
    }

    int64_t register_request(const http::MessageHead& h, bool malformed) {
        const uint64_t serial = ++req_serial;
        const int64_t t = new_tx();
        HttpTransaction& x = tx(t);
        x.has_request = true;
        using T = HttpTransaction::Text;
        const std::string_view method = clip(h.method), target = clip(h.target), version = clip(h.version),
                               host = clip(h.host), user_agent = clip(h.user_agent);
        // Room for a typical response's three texts too: one allocation.
        if (cfg.keep_transactions) {
            x.reserve_texts(method.size() + target.size() + version.size() + host.size() + user_agent.size() + 48);
        }
        x.set(T::method, method);
        x.set(T::uri, target);
        set_detail(x, T::version, version);
        set_detail(x, T::host, host);
        set_detail(x, T::user_agent, user_agent);
        x.request_ts = h.ts;
        x.request_frame = h.frame;
        x.uncertain = h.resynced;
        if (serial > 1 && !(last_resp_done && last_resp_done_seq < h.seq)) x.pipelined = true;
        last_resp_done = false;

        if (close_client_serial != 0) {
            add(AnomalyKind::http_request_after_close, FlowDir::client_to_server, h.ts, h.frame,
                label_of(h.method, h.target) + " sent after the client announced close (request #" +
                    std::to_string(close_client_serial) + ")");
        } else if (close_server && h.seq > close_server_seq) {
            add(AnomalyKind::http_request_after_close, FlowDir::client_to_server, h.ts, h.frame,
                label_of(h.method, h.target) + " sent after the server announced close", close_server_frame);
        }
        if (close_client_serial == 0 && (h.conn_close || (h.version_minor == 0 && !h.conn_keep_alive))) {
            close_client_serial = serial;
        }

        const bool connect = h.method == "CONNECT";
        upgrade_serial = (connect || h.has_upgrade) ? serial : 0;
        upgrade_refused = false;

        Pending p;
        p.tx = t;
        p.serial = serial;
        p.head = h.method == "HEAD";
        p.connect = connect;
        p.upgrade = h.has_upgrade;
        p.simple = h.simple;
        p.ts = h.ts;
        p.frame = h.frame;
        if (t < 0) p.label = label_of(h.method, h.target);
        outstanding.push_back(std::move(p));
        if (outstanding.size() > cfg.max_pipeline) {
            const Pending& o = outstanding.front();
            add(AnomalyKind::http_pipeline_depth, FlowDir::client_to_server, h.ts, h.frame,
                "more than " + std::to_string(cfg.max_pipeline) + " requests outstanding; oldest (" + label(o) +
                    ") dropped unanswered; later pairings uncertain",
                o.frame);
            outstanding.pop_front();
            pipeline_overflowed = true;
        }
        if (!malformed) cur_req = Current{true, false, t, serial};   // a malformed line has no end event of its own
        return t;
    }

    // A response while no request is outstanding but one is still arriving
    // (its request line complete, its header block not): the server answered
    // it early -- 431 to an oversized head, 408 to a stalled one -- so it is
    // queued now, from its request line, and the response pairs with it. The
    // rest of its header block, if it comes, fills it (salvaged_head); if it
    // never does, the request ends incomplete.
    void queue_partial_request() {
        http::MessageParser::PartialRequest pr;
        if (!outstanding.empty() || !req.partial_request(pr)) return;
        const std::string_view line = pr.line;   // validated: METHOD SP target SP HTTP/x.y
        const size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
        if (sp1 == std::string_view::npos || sp2 <= sp1) return;
        http::MessageHead h;
        h.method = line.substr(0, sp1);
        h.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
        h.version = line.substr(sp2 + 1);
        h.version_minor = h.version.size() == 8 ? h.version[7] - '0' : 1;
        h.conn_keep_alive = true;   // whether it asks to close, its header block says (salvaged_head)
        h.ts = pr.ts;
        h.frame = pr.frame;
        h.seq = pr.seq;
        h.resynced = pr.resynced;
        salvage_tx = register_request(h, false);
        salvage_serial = req_serial;
        req.partial_request_queued();
    }

    HeadAction response_head(const http::MessageHead& h) {
        queue_partial_request();
        const bool midstream = midstream_response;
        midstream_response = false;
        const bool interim = h.status >= 100 && h.status < 200 && h.status != 101;
        if (interim && !outstanding.empty()) {
            HttpTransaction& x = tx(outstanding.front().tx);
            if (x.interim_statuses.size() < 16) x.interim_statuses.push_back(h.status);
            if (h.resynced || midstream || pipeline_overflowed) x.uncertain = true;
            cur_resp = Current{true, true, -1, 0};
            return HeadAction::no_body;
        }
        Pending p;
        const bool paired = !outstanding.empty();
        if (paired) {
            p = std::move(outstanding.front());
            outstanding.pop_front();
        }
        const int64_t t = paired ? p.tx : new_tx();
        HttpTransaction& x = tx(t);
        // Details are built only when a finding is made. Built with += : GCC 12
        // warns falsely (-Wrestrict) on "lit" + std::string&&.
        auto status_text = [&h] {
            std::string s = std::to_string(h.status);
            if (!h.reason.empty()) {
                s += ' ';
                s += http::excerpt(h.reason, 32);
            }
            return s;
        };
        auto for_what = [&] {
            std::string s;
            if (paired) {
                s = " for ";
                s += label(p);
            }
            return s;
        };
        if (!paired) {
            add(AnomalyKind::http_response_without_request, FlowDir::server_to_client, h.ts, h.frame,
                "response " + status_text() + " with no outstanding request");
        }
        x.has_response = true;
        x.status = h.status;   // 0 for a raw HTTP/0.9 response
        set_detail(x, HttpTransaction::Text::reason, clip(h.reason));
        set_detail(x, HttpTransaction::Text::response_version, h.raw ? std::string_view("HTTP/0.9") : clip(h.version));
        set_detail(x, HttpTransaction::Text::content_type, clip(h.content_type));
        x.response_ts = h.ts;
        x.response_frame = h.frame;
        if (h.resynced || midstream || pipeline_overflowed) x.uncertain = true;
        cur_resp = Current{true, false, t, paired ? p.serial : 0};

        if (h.status >= 400 && h.status < 500) {
            add(AnomalyKind::http_client_error, FlowDir::server_to_client, h.ts, h.frame, status_text() + for_what());
        } else if (h.status >= 500 && h.status < 600) {
            add(AnomalyKind::http_server_error, FlowDir::server_to_client, h.ts, h.frame, status_text() + for_what());
        }
        if (cfg.slow_response_ns > 0 && paired && p.complete && h.ts - p.end_ts > cfg.slow_response_ns) {
            add(AnomalyKind::http_slow_response, FlowDir::server_to_client, h.ts, h.frame,
                "first response byte " + std::to_string((h.ts - p.end_ts) / 1'000'000) +
                    " ms after the end of the request" + for_what());
        }
        if (!close_server && (h.conn_close || (h.version_minor == 0 && !h.conn_keep_alive))) {
            close_server = true;
            close_server_seq = seq;
            close_server_frame = h.frame;
        }

        if (h.status == 101) {
            x.upgraded = true;
            req.stop();
            return HeadAction::stop;
        }
        if (paired && p.connect && h.status >= 200 && h.status < 300) {
            x.tunnel = true;
            req.stop();
            return HeadAction::stop;
        }
        if (paired && (p.connect || p.upgrade) && p.serial == upgrade_serial && h.status >= 200) refuse_upgrade(status_text(), h.frame);
        if (h.raw) return HeadAction::normal;   // read until close whatever the request was
        const bool no_body = (paired && p.head) || h.status < 200 || h.status == 204 || h.status == 304;
        return no_body ? HeadAction::no_body : HeadAction::normal;
    }

    void on_message_end(Role role, const http::MessageEnd& e) override {
        if (det == Det::quiet) return;
        if (role == Role::request) {
            if (!cur_req.active) {
                if (rejected_first && rejected_first->salvage.open) {   // the first line's header block and body, not queued yet
                    RejectedFirst::Salvage& fs = rejected_first->salvage;
                    fs.open = false;
                    fs.ended = true;
                    fs.end = e;
                }
                return;
            }
            cur_req.active = false;
            request_ended(cur_req.tx, cur_req.serial, e);
            return;
        }
        if (!cur_resp.active) return;
        cur_resp.active = false;
        if (cur_resp.interim) return;
        HttpTransaction& x = tx(cur_resp.tx);
        x.response_end_ts = e.end_ts;
        x.response_body_bytes = e.body_bytes;
        x.response_wire_body_bytes = e.wire_body_bytes;
        x.response_chunked = e.chunked;
        x.partial = x.partial || e.partial;
        x.response_complete = e.complete;
        // Ended, complete or not (a gap, a cut header block): a request sent
        // after its last captured byte was not pipelined behind it.
        if (cur_resp.serial != 0 && cur_resp.serial == req_serial) {
            last_resp_done = true;
            last_resp_done_seq = e.end_seq;
        }
        fold();
    }

    void request_ended(int64_t t, uint64_t serial, const http::MessageEnd& e) {
        HttpTransaction& x = tx(t);
        x.request_end_ts = e.end_ts;
        x.request_body_bytes = e.body_bytes;
        x.request_wire_body_bytes = e.wire_body_bytes;
        x.request_chunked = e.chunked;
        x.partial = x.partial || e.partial;
        x.request_complete = e.complete;
        if (!outstanding.empty() && outstanding.back().serial == serial) {
            outstanding.back().complete = e.complete;
            outstanding.back().end_ts = e.end_ts;
        }
    }

    bool raw_response_expected() override {
        return det != Det::quiet && !outstanding.empty() && outstanding.front().simple;
    }

    http::BadLineAction on_bad_start_line(Role role, const http::RejectedLine& line) override {
        if (det == Det::quiet) return http::BadLineAction::resync;
        if (line.versionless_with_fields) {
            // The HTTP/0.9-form line queued as a request is an HTTP/1.x
            // request without its version: the header block fills it.
            if (!cur_req.active) return http::BadLineAction::resync;
            set_detail(tx(cur_req.tx), HttpTransaction::Text::version, {});
            add(AnomalyKind::http_malformed_request, FlowDir::client_to_server, line.ts, line.frame,
                "not a request line: '" + line.text + "' (no HTTP version, but header fields follow)");
            salvage_tx = cur_req.tx;
            salvage_serial = cur_req.serial;
            return http::BadLineAction::salvage;
        }
        if (role == Role::request && upgrade_serial != 0 && upgrade_serial == req_serial) {
            if (upgrade_refused) {
                add(AnomalyKind::http_data_after_upgrade_failure, FlowDir::client_to_server, line.ts, line.frame,
                    "client sent non-HTTP bytes '" + line.text + "' after the server refused the upgrade");
                return http::BadLineAction::resync;
            }
            holding = true;   // tunnel data sent optimistically? wait for the verdict
            hold_ts = line.ts;
            hold_frame = line.frame;
            hold_line = line.text;
            return http::BadLineAction::hold;
        }
        if (role == Role::request) {
            malformed_request(line);
            return line.line_like ? http::BadLineAction::salvage : http::BadLineAction::resync;
        }
        malformed_response(line);
        if (line.line_like) answer_with_malformed(line);
        return http::BadLineAction::resync;
    }

    // A status-line attempt ("HTTP/" and then no valid status) is the
    // server's answer to the oldest outstanding request, however broken: it
    // takes that request's place, so the next response pairs with the next
    // request instead of every later pairing shifting by one. Its head and
    // body are not understood (the parser resynchronises at the next status
    // line): status none, response_version empty, not complete, uncertain.
    void answer_with_malformed(const http::RejectedLine& line) {
        queue_partial_request();
        if (outstanding.empty()) return;   // unsolicited: the finding says it all
        const Pending p = std::move(outstanding.front());
        outstanding.pop_front();
        HttpTransaction& x = tx(p.tx);
        x.has_response = true;
        x.status = 0;
        x.response_ts = line.ts;
        x.response_frame = line.frame;
        x.uncertain = true;
        // Not a switch: an Upgrade or CONNECT so answered was refused.
        if ((p.connect || p.upgrade) && p.serial == upgrade_serial) refuse_upgrade("a malformed status line", line.frame);
        // Its answer has begun, and its end will never be known: a request
        // sent after this line was not pipelined behind it.
        if (p.serial == req_serial) {
            last_resp_done = true;
            last_resp_done_seq = line.seq;
        }
        fold();
    }

    // The server answered the Upgrade/CONNECT request without switching:
    // bytes the client sent meanwhile (held, waiting for the verdict) were
    // not tunnel data; its side resumes at the next request line.
    void refuse_upgrade(const std::string& answer, uint64_t frame) {
        upgrade_refused = true;
        if (!holding) return;
        holding = false;
        add(AnomalyKind::http_data_after_upgrade_failure, FlowDir::client_to_server, hold_ts, hold_frame,
            "client sent non-HTTP bytes '" + hold_line + "' but the server refused (" + answer + ")", frame);
        req.resume_after_hold();
    }

    // ------------------------------------------------------------ stream events

    void data(StreamDir dir, const uint8_t* p, size_t n, int64_t ts, uint64_t frame) {
        if (finalized || det == Det::quiet || n == 0) return;
        ++seq;
        const int d = idx(dir);
        last_ts[d] = ts;
        last_frame[d] = frame;
        for (const size_t i : gap_pending[d]) {
            if (i < findings.size()) findings[i].frame = frame;
        }
        gap_pending[d].clear();
        if (!seen_data[d]) {
            seen_data[d] = true;
            if (dir == StreamDir::server_to_client && !seen_data[0]) midstream_response = true;
        }
        parser(dir).feed(p, n, ts, frame, seq);
    }

    void gap(StreamDir dir, uint64_t len, int64_t ts) {
        if (finalized || det == Det::quiet || len == 0) return;
        ++seq;
        parser(dir).gap(len, ts, seq);
    }

    void end(StreamDir dir, EndReason why, int64_t ts) {
        if (finalized) return;
        const int d = idx(dir);
        if (ended[d]) return;
        ended[d] = true;
        ++seq;
        if (det != Det::quiet) parser(dir).finish(why, ts, seq);
        if (ended[0] && ended[1]) finalize();
    }

    void finalize() {
        if (finalized) return;
        for (int d = 0; d < 2; ++d) {
            if (ended[d]) continue;
            ended[d] = true;
            ++seq;
            if (det != Det::quiet) parser(static_cast<StreamDir>(d)).finish(EndReason::end_of_capture, last_ts[d], seq);
        }
        if (det != Det::http) {
            go_quiet();
        } else {
            outstanding.for_each([this](const Pending& p) {
                add(AnomalyKind::http_request_without_response, FlowDir::client_to_server, p.ts, p.frame,
                    label(p) + " got no response");
            });
            outstanding.clear();
        }
        for (int d = 0; d < 2; ++d) {
            for (const size_t i : gap_pending[d]) {
                if (i < findings.size()) findings[i].frame = last_frame[d];
            }
            gap_pending[d].clear();
        }
        req.stop();
        resp.stop();
        finalized = true;
    }
};

// The texts stay in field order in one buffer; replacing one shifts the
// ends of those after it.
void HttpTransaction::set(Text t, std::string_view v) {
    const auto i = static_cast<size_t>(t);
    const uint32_t begin = i == 0 ? 0 : ends_[i - 1];
    const uint32_t old_len = ends_[i] - begin;
    // Texts are set in order (the request's, then the response's): then
    // this and every later text are empty at the end and it is an append.
    if (old_len == 0 && ends_[i] == texts_.size()) texts_.append(v);
    else texts_.replace(begin, old_len, v);
    const auto new_len = static_cast<uint32_t>(v.size());
    for (size_t k = i; k < kTexts; ++k) ends_[k] = ends_[k] - old_len + new_len;   // never below begin
}

HttpHeadScratch::HttpHeadScratch() : impl_(std::make_unique<http::HeadScratch>()) {}
HttpHeadScratch::~HttpHeadScratch() = default;

HttpStream::HttpStream(const HttpConfig& cfg, uint64_t connection_id, HttpHeadScratch* shared_scratch)
    : impl_(std::make_unique<Impl>(cfg, connection_id, shared_scratch != nullptr ? shared_scratch->impl_.get() : nullptr)) {
    // Every HTTP connection's parsing state while it is parsed: jemalloc's
    // 2,048-byte class, not the 2,560 one (see RejectedFirst).
    static_assert(sizeof(Impl) <= 2048);
}

HttpStream::~HttpStream() = default;

void HttpStream::on_data(StreamDir dir, const uint8_t* data, size_t len, int64_t ts_ns, uint64_t frame) {
    if (impl_) impl_->data(dir, data, len, ts_ns, frame);
}

StreamConsumer::Hot HttpStream::hot() const {
    if (!impl_) return StreamConsumer::hot();   // parsing state freed: the object alone
    const char* base = reinterpret_cast<const char*>(impl_.get());
    auto at = [base](const http::MessageParser& p) { return static_cast<uint16_t>(reinterpret_cast<const char*>(&p) - base); };
    static_assert(sizeof(Impl) <= UINT16_MAX);
    return Hot{this, base, {at(impl_->req), at(impl_->resp)}};
}

void HttpStream::prefetch_results() const {
    if (impl_) {   // still parsing (not closed): finishing reads the state first
        __builtin_prefetch(impl_.get());
        return;
    }
    auto fetch = [](const auto& v) {
        if (!v.empty()) __builtin_prefetch(v.data());
    };
    fetch(results_.transactions);
    fetch(results_.tally.methods);
    fetch(results_.tally.timings);
    fetch(results_.findings);
}

void HttpStream::on_gap(StreamDir dir, uint64_t len, int64_t ts_ns) {
    if (impl_) impl_->gap(dir, len, ts_ns);
}

void HttpStream::on_end(StreamDir dir, EndReason why, int64_t ts_ns) {
    if (!impl_) return;
    impl_->end(dir, why, ts_ns);
    if (impl_->finalized) release_parsing_state();
}

namespace {
// The method a request is counted under ("?" when the line had none).
std::string_view counted_method(const HttpTransaction& x) { return x.method().empty() ? std::string_view("?") : x.method(); }
}  // namespace

void HttpTally::add(const HttpTransaction& x) {
    if (x.has_request) {
        const std::string_view m = counted_method(x);
        if (!methods.empty() && methods.back().first == m) ++methods.back().second;
        else methods.emplace_back(std::string(m), 1);
    }
    if (x.has_request && !x.has_response) ++requests_without_response;
    if (!x.has_request) ++responses_without_request;
    if (x.status >= 100 && x.status <= 599) ++status_classes[static_cast<size_t>(x.status / 100)];
    if (x.pipelined) ++pipelined;
    if (x.partial) ++partial;
    Timing t;
    t.ttfb_ns = x.ttfb_ns().value_or(-1);
    t.duration_ns = x.duration_ns().value_or(-1);
    if (t.ttfb_ns >= 0 || t.duration_ns >= 0) timings.push_back(t);
}

void HttpTally::clear() {
    methods.clear();
    requests_without_response = responses_without_request = pipelined = partial = 0;
    status_classes.fill(0);
    timings.clear();
}

void HttpTally::assign(const std::vector<HttpTransaction>& txs) {
    clear();
    size_t runs = 0;
    std::string_view last;
    for (const HttpTransaction& x : txs) {
        if (!x.has_request) continue;
        const std::string_view m = counted_method(x);
        if (runs == 0 || m != last) ++runs;
        last = m;
    }
    methods.reserve(runs);
    timings.reserve(txs.size());
    for (const HttpTransaction& x : txs) add(x);
}

void HttpStream::release_parsing_state() {
    impl_->finalize();
    if (!impl_->cfg.keep_transactions) {
        impl_->fold(/*all=*/true);   // the rest tallied now; freed with the parsing state below
        results_.tally = std::move(impl_->folded);
        results_.tallied = true;
    } else {
        results_.transactions = std::move(impl_->txs);
        // Grown by doubling; the transactions now wait out the connection's
        // linger and its turn in the report: held exactly, not with up to
        // half their room spare.
        results_.transactions.shrink_to_fit();
    }
    results_.findings = std::move(impl_->findings);
    results_.total = impl_->total;
    results_.suppressed = impl_->suppressed;
    results_.http = impl_->det == Impl::Det::http;
    impl_.reset();
}

bool HttpStream::is_http() const { return impl_ ? impl_->det == Impl::Det::http : results_.http; }

uint64_t HttpStream::transactions_total() const { return impl_ ? impl_->total : results_.total; }

void HttpStream::take_tally(HttpTally& out) {
    if (impl_) release_parsing_state();
    if (results_.tallied) {
        out = std::exchange(results_.tally, {});
        return;
    }
    out.assign(results_.transactions);
}

std::vector<HttpTransaction> HttpStream::take_transactions() {
    if (impl_) release_parsing_state();
    return std::exchange(results_.transactions, {});
}

std::vector<Finding> HttpStream::take_findings() {
    if (impl_) release_parsing_state();
    return std::exchange(results_.findings, {});
}

uint64_t HttpStream::findings_suppressed() const { return impl_ ? impl_->suppressed : results_.suppressed; }

}  // namespace pcaplens
