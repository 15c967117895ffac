// HttpStream pairing (src/http/pairing.cpp): FIFO request/response pairing,
// interim responses, upgrades and tunnels, pipelining and keep-alive, capture
// gaps, caps, and the findings that come out of them. Ends with the property
// test: every conversation fed whole, split in two at every byte boundary of
// every data event, and in random chunkings must give identical transactions
// and findings.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pcaplens/http/http.hpp"
#include "support/http_script.hpp"

using namespace pcaplens;

TEST_CASE("HttpTransaction texts: set in any order, replaced longer and shorter, each read back alone") {
    using T = HttpTransaction::Text;
    HttpTransaction x;
    for (size_t i = 0; i < HttpTransaction::kTexts; ++i) CHECK(x.text(static_cast<T>(i)).empty());
    // The response's texts first (as a salvaged request can come late), then the request's.
    x.set(T::content_type, "text/html");
    x.set(T::reason, "OK");
    x.set(T::method, "GET");
    x.set(T::uri, "/index.html");
    x.set(T::host, "example.com");
    CHECK(x.method() == "GET");
    CHECK(x.uri() == "/index.html");
    CHECK(x.version().empty());
    CHECK(x.host() == "example.com");
    CHECK(x.user_agent().empty());
    CHECK(x.reason() == "OK");
    CHECK(x.response_version().empty());
    CHECK(x.content_type() == "text/html");
    x.set(T::uri, "/a-much-longer-target?with=query&and=more");   // grows in the middle
    x.set(T::host, "h");                                          // shrinks
    x.set(T::version, "HTTP/1.1");
    CHECK(x.method() == "GET");
    CHECK(x.uri() == "/a-much-longer-target?with=query&and=more");
    CHECK(x.version() == "HTTP/1.1");
    CHECK(x.host() == "h");
    CHECK(x.reason() == "OK");
    CHECK(x.content_type() == "text/html");
    x.set(T::version, "");
    CHECK(x.version().empty());
    CHECK(x.host() == "h");
    // Equality is by the texts and the other fields, not by the order they were set in.
    HttpTransaction y;
    y.set(T::method, "GET");
    y.set(T::uri, "/a-much-longer-target?with=query&and=more");
    y.set(T::host, "h");
    y.set(T::reason, "OK");
    y.set(T::content_type, "text/html");
    CHECK(x == y);
    y.set(T::reason, "Ok");
    CHECK_FALSE(x == y);
}

namespace {

using namespace pcaplens::testing::http_script;

// Event i happens at ts (i+1) ms and is frame i+1.
int64_t ts_of(size_t i) { return static_cast<int64_t>(i + 1) * 1'000'000; }

Result run(const std::vector<Ev>& evs, const HttpConfig& cfg = HttpConfig{}, const Splitter& split = nullptr) {
    return run_script(evs, cfg, 9, 1'000'000, split);
}

std::string describe(const Finding& f) {
    std::ostringstream o;
    o << kind_name(f.kind) << "[ts=" << f.ts_ns << " frame=" << f.frame << " frame2=" << f.frame2
      << " dir=" << static_cast<int>(f.dir) << " conn=" << f.connection << "](" << f.detail << ")";
    return o.str();
}
std::string kinds(const Result& r) {
    std::string s;
    for (const auto& f : r.fs) s += describe(f) + "\n";
    return s;
}
std::string describe(const HttpTransaction& t) {
    std::ostringstream o;
    o << t.method() << " " << t.uri() << " " << t.version() << " host=" << t.host() << " ua=" << t.user_agent()
      << " req_ts=" << t.request_ts << ".." << t.request_end_ts << " f" << t.request_frame << " body=" << t.request_body_bytes
      << "/" << t.request_wire_body_bytes << (t.request_chunked ? " chunked" : "") << (t.has_request ? "" : " NOREQ")
      << " | " << t.status << " " << t.reason() << " " << t.response_version() << " ct=" << t.content_type()
      << " resp_ts=" << t.response_ts << ".." << t.response_end_ts << " f" << t.response_frame
      << " body=" << t.response_body_bytes << "/" << t.response_wire_body_bytes << (t.response_chunked ? " chunked" : "")
      << " interim=" << t.interim_statuses.size() << " |" << (t.pipelined ? " pipelined" : "") << (t.partial ? " partial" : "")
      << (t.uncertain ? " uncertain" : "") << (t.upgraded ? " upgraded" : "") << (t.tunnel ? " tunnel" : "")
      << (t.request_complete ? " req_complete" : "") << (t.response_complete ? " resp_complete" : "");
    return o.str();
}
std::string txs_text(const Result& r) {
    std::string s;
    for (const auto& t : r.txs) s += describe(t) + "\n";
    return s;
}

const std::string kGet = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
const std::string kOk0 = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
std::string get(const std::string& path) { return "GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n"; }
// "/<n>", built with += (GCC 12 -O3 warns falsely, -Wrestrict, on "lit" + std::string&&).
std::string path(size_t n) {
    std::string s = "/";
    s += std::to_string(n);
    return s;
}
std::string ok(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

TEST_SUITE("http pairing") {

TEST_CASE("HttpStream after both directions ended: results kept, later bytes ignored") {
    const std::string req = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    HttpStream h(HttpConfig{}, 7);
    const auto bytes = [](const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); };
    h.on_data(StreamDir::client_to_server, bytes(req), req.size(), 1000, 1);
    h.on_data(StreamDir::server_to_client, bytes(resp), resp.size(), 2000, 2);
    h.on_end(StreamDir::client_to_server, EndReason::fin, 3000);
    CHECK(h.transactions_total() == 2);
    h.on_end(StreamDir::server_to_client, EndReason::fin, 4000);   // the parsing state goes here
    CHECK(h.is_http());
    CHECK(h.transactions_total() == 2);
    // A straggler's bytes after the end change nothing.
    const std::string late = "GET /late HTTP/1.1\r\n\r\n";
    h.on_data(StreamDir::client_to_server, bytes(late), late.size(), 5000, 3);
    h.on_gap(StreamDir::server_to_client, 10, 5000);
    h.on_end(StreamDir::client_to_server, EndReason::rst, 6000);
    CHECK(h.transactions_total() == 2);
    const auto txs = h.take_transactions();
    REQUIRE(txs.size() == 2);
    CHECK(txs[0].uri() == "/a");
    CHECK(txs[0].status == 200);
    CHECK(txs[0].response_body_bytes == 2);
    CHECK(txs[1].uri() == "/b");
    CHECK(txs[1].status == 404);
    CHECK(txs[1].reason() == "Not Found");
    const auto findings = h.take_findings();
    CHECK(std::count_if(findings.begin(), findings.end(),
                        [](const Finding& f) { return f.kind == AnomalyKind::http_client_error; }) == 1);
    CHECK(h.take_transactions().empty());   // taken once
}

TEST_CASE("HttpStream::hot(): the parsing state and each direction's parser while parsing, the shell alone after") {
    HttpStream h(HttpConfig{}, 7);
    const StreamConsumer& consumer = h;
    StreamConsumer::Hot hot = consumer.hot();
    CHECK(hot.object == &h);
    REQUIRE(hot.state != nullptr);
    // Two parsers at distinct offsets inside the state, past its head.
    CHECK(hot.dir_state[0] > 0);
    CHECK(hot.dir_state[1] > hot.dir_state[0]);
    const std::string req = kGet;
    h.on_data(StreamDir::client_to_server, reinterpret_cast<const uint8_t*>(req.data()), req.size(), 1000, 1);
    CHECK(consumer.hot().state == hot.state);   // the state does not move while parsing
    h.on_end(StreamDir::client_to_server, EndReason::fin, 2000);
    CHECK(consumer.hot().state == hot.state);   // one direction still open
    h.on_end(StreamDir::server_to_client, EndReason::fin, 3000);
    hot = consumer.hot();
    CHECK(hot.object == &h);
    CHECK(hot.state == nullptr);                // freed: nothing to load for a straggler
    CHECK(h.transactions_total() == 1);
}

TEST_CASE("HttpStream: kept transactions are held without spare room once both directions ended") {
    // Five transactions grow the vector 2 -> 4 -> 8; a closed connection
    // lingers and waits for its turn in the report holding exactly five.
    HttpStream h(HttpConfig{}, 7);
    const auto feed = [&h](StreamDir d, const std::string& s, int64_t ts) {
        h.on_data(d, reinterpret_cast<const uint8_t*>(s.data()), s.size(), ts, 1);
    };
    for (int i = 0; i < 5; ++i) {
        feed(StreamDir::client_to_server, get(path(static_cast<size_t>(i))), 1000 + i * 10);
        feed(StreamDir::server_to_client, ok("x"), 1005 + i * 10);
    }
    h.on_end(StreamDir::client_to_server, EndReason::fin, 2000);
    h.on_end(StreamDir::server_to_client, EndReason::fin, 2001);
    const auto txs = h.take_transactions();
    REQUIRE(txs.size() == 5);
    CHECK(txs.capacity() == 5);
    CHECK(txs[4].uri() == "/4");
    CHECK(txs[4].status == 200);
}

TEST_CASE("keep-alive: sequential requests on one connection, none pipelined") {
    const auto r = run({C(get("/1")), S(ok("a")), C(get("/2")), S(ok("bb")), C(get("/3")), S(ok("ccc")), EndC(), EndS()});
    INFO(kinds(r));
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(r.txs[i].uri() == path(i + 1));
        CHECK(r.txs[i].response_body_bytes == i + 1);
        CHECK_FALSE(r.txs[i].pipelined);
        CHECK(r.txs[i].request_frame == 2 * i + 1);
        CHECK(r.txs[i].response_frame == 2 * i + 2);
    }
    CHECK(r.total == 3);
}

TEST_CASE("HTTP/1.0 keep-alive: no close finding; HTTP/1.0 without keep-alive: request after close") {
    const std::string req10ka = "GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    const std::string resp10ka = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx";
    const auto r = run({C(req10ka), S(resp10ka), C(req10ka), S(resp10ka), EndC(), EndS()});
    INFO(kinds(r));
    CHECK(r.fs.empty());
    CHECK(r.txs.size() == 2);

    const auto r2 = run({C("GET /a HTTP/1.0\r\n\r\n"), S("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx"),
                         C("GET /b HTTP/1.0\r\n\r\n"), EndC(), EndS()});
    INFO(kinds(r2));
    const Finding* f = find(r2, AnomalyKind::http_request_after_close);
    REQUIRE(f != nullptr);
    CHECK(f->frame == 3);
    CHECK(f->dir == FlowDir::client_to_server);
    CHECK(count(r2, AnomalyKind::http_request_after_close) == 1);
}

TEST_CASE("Connection: close") {
    SUBCASE("announced by the server, request sent afterwards") {
        const auto r = run({C(get("/1")), S("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
                            C(get("/2")), EndC(), EndS()});
        INFO(kinds(r));
        const Finding* f = find(r, AnomalyKind::http_request_after_close);
        REQUIRE(f != nullptr);
        CHECK(f->frame == 3);
        CHECK(f->frame2 == 2);
        CHECK(count(r, AnomalyKind::http_request_without_response) == 1);
    }
    SUBCASE("announced by the server after the pipelined request was sent: not flagged") {
        const auto r = run({C(get("/1") + get("/2")), S("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
                            EndC(), EndS()});
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_request_after_close) == 0);
        CHECK(count(r, AnomalyKind::http_request_without_response) == 1);
    }
    SUBCASE("announced by the client itself") {
        const auto r = run({C("GET /1 HTTP/1.1\r\nConnection: close\r\n\r\n" + get("/2")), S(kOk0 + kOk0), EndC(), EndS()});
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_request_after_close) == 1);
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[1].pipelined);
    }
}

TEST_CASE("pipelined requests: N transactions, pipelined flags") {
    const auto r = run({C(get("/1") + get("/2") + get("/3")), S(ok("a") + ok("b")), S(ok("c")), C(get("/4")), S(ok("d")),
                        EndC(), EndS()});
    INFO(kinds(r));
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 4);
    CHECK_FALSE(r.txs[0].pipelined);
    CHECK(r.txs[1].pipelined);
    CHECK(r.txs[2].pipelined);
    CHECK_FALSE(r.txs[3].pipelined);
    CHECK(r.txs[2].response_frame == 3);
    CHECK(r.txs[1].response_frame == 2);
    for (const auto& t : r.txs) CHECK(t.response_complete);
}

TEST_CASE("pipelined: a request sent while the previous response was still arriving") {
    const auto r = run({C(get("/1")), S("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab"), C(get("/2")), S("cd"), S(ok("x")),
                        EndC(), EndS()});
    INFO(kinds(r));
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].pipelined);
    CHECK(r.txs[0].response_end_ts == ts_of(3));
}

TEST_CASE("interim 100 Continue belongs to the request and does not consume it") {
    const auto r = run({C("POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"),
                        S("HTTP/1.1 100 Continue\r\n\r\n"), C("hello"), S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                        EndC(), EndS()});
    INFO(kinds(r));
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 1);
    const auto& t = r.txs[0];
    CHECK(t.interim_statuses == std::vector<int>{100});
    CHECK(t.status == 200);
    CHECK(t.response_ts == ts_of(3));
    CHECK(t.response_frame == 4);
    CHECK(t.request_end_ts == ts_of(2));
    CHECK(t.request_body_bytes == 5);
    CHECK(t.request_complete);
    CHECK(t.response_complete);
}

TEST_CASE("101 Switching Protocols ends HTTP in both directions") {
    const auto r = run({C("GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
                        S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"),
                        C("\x81\x85\x00\x00\x00\x00hello"), S("HTTP/1.1 500 ignored\r\n\r\n"), C("GET /x HTTP/1.1\r\n\r\n"),
                        EndC(), EndS()});
    INFO(kinds(r));
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 1);
    CHECK(r.txs[0].upgraded);
    CHECK(r.txs[0].status == 101);
    CHECK(r.txs[0].response_complete);
    CHECK(r.txs[0].request_complete);
}

TEST_CASE("2xx to CONNECT is a tunnel; non-2xx followed by tunnel bytes is flagged") {
    const std::string connect = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    const std::string tls = std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11);
    SUBCASE("tunnel") {
        const auto r = run({C(connect), S("HTTP/1.1 200 Connection established\r\n\r\n"), C(tls), S(tls), EndC(), EndS()});
        INFO(kinds(r));
        CHECK(r.fs.empty());
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].tunnel);
        CHECK(r.txs[0].method() == "CONNECT");
        CHECK(r.txs[0].uri() == "example.com:443");
    }
    SUBCASE("refused, then the client sends TLS anyway") {
        const auto r = run({C(connect), S("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"), C(tls),
                            EndC(), EndS()});
        INFO(kinds(r));
        const Finding* f = find(r, AnomalyKind::http_data_after_upgrade_failure);
        REQUIRE(f != nullptr);
        CHECK(f->frame == 3);
        CHECK(count(r, AnomalyKind::http_malformed_request) == 0);
        REQUIRE(r.txs.size() == 1);
        CHECK_FALSE(r.txs[0].tunnel);
    }
    SUBCASE("client sends TLS before the refusal arrives") {
        const auto r = run({C(connect), C(tls), S("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"), EndC(), EndS()});
        INFO(kinds(r));
        const Finding* f = find(r, AnomalyKind::http_data_after_upgrade_failure);
        REQUIRE(f != nullptr);
        CHECK(f->frame == 2);
        CHECK(f->frame2 == 3);
        CHECK(count(r, AnomalyKind::http_malformed_request) == 0);
    }
    SUBCASE("client sends TLS before the 200: a tunnel, nothing to report") {
        const auto r = run({C(connect), C(tls), S("HTTP/1.1 200 OK\r\n\r\n"), S(tls), EndC(), EndS()});
        INFO(kinds(r));
        CHECK(r.fs.empty());
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].tunnel);
    }
}

TEST_CASE("refused Upgrade") {
    const std::string up = "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n";
    SUBCASE("client continues with HTTP/1.1: fine") {
        const auto r = run({C(up), S(ok("x")), C(get("/2")), S(ok("y")), EndC(), EndS()});
        INFO(kinds(r));
        CHECK(r.fs.empty());
        CHECK(r.txs.size() == 2);
    }
    SUBCASE("client sends the h2 preface anyway") {
        const auto r = run({C(up), S(ok("x")), C("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), EndC(), EndS()});
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_data_after_upgrade_failure) == 1);
        CHECK(count(r, AnomalyKind::http_malformed_request) == 0);
    }
}

TEST_CASE("response without request: recorded with has_request=false") {
    const auto r = run({S("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"), C(get("/x")), S(ok("y")), EndC(), EndS()});
    INFO(kinds(r));
    const Finding* f = find(r, AnomalyKind::http_response_without_request);
    REQUIRE(f != nullptr);
    CHECK(f->frame == 1);
    CHECK(f->dir == FlowDir::server_to_client);
    CHECK(count(r, AnomalyKind::http_response_without_request) == 1);
    REQUIRE(r.txs.size() == 2);
    CHECK_FALSE(r.txs[0].has_request);
    CHECK(r.txs[0].uncertain);  // the server spoke first: picked up mid-stream
    CHECK(r.txs[0].status == 200);
    CHECK(r.txs[0].response_body_bytes == 3);
    CHECK(r.txs[1].has_request);
    CHECK_FALSE(r.txs[1].uncertain);
    CHECK(r.txs[1].status == 200);
}

TEST_CASE("request without response: one finding per request") {
    SUBCASE("at on_end of both directions") {
        const auto r = run({C(get("/1") + get("/2")), S(ok("")), C(get("/3")), EndC(), EndS()});
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_request_without_response) == 2);
        REQUIRE(r.txs.size() == 3);
        CHECK(r.txs[1].status == 0);
        CHECK(r.txs[2].status == 0);
        const Finding* f = find(r, AnomalyKind::http_request_without_response);
        REQUIRE(f != nullptr);
        CHECK(f->frame == 1);
        CHECK(f->detail.find("/2") != std::string::npos);
    }
    SUBCASE("at take_* without on_end") {
        const auto r = run({C(get("/1"))});
        CHECK(count(r, AnomalyKind::http_request_without_response) == 1);
    }
}

TEST_CASE("4xx, 5xx and slow responses") {
    HttpConfig cfg;
    cfg.slow_response_ns = 2'500'000;  // 2.5 ms; events are 1 ms apart
    const auto r = run({C(get("/missing")), S("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), C(get("/boom")),
                        S(""),  // empty data is ignored
                        S(""), S("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"), EndC(), EndS()},
                       cfg);
    INFO(kinds(r));
    const Finding* c = find(r, AnomalyKind::http_client_error);
    REQUIRE(c != nullptr);
    CHECK(c->frame == 2);
    CHECK(c->ts_ns == ts_of(1));
    CHECK(c->detail.find("404") != std::string::npos);
    CHECK(c->detail.find("/missing") != std::string::npos);
    const Finding* s = find(r, AnomalyKind::http_server_error);
    REQUIRE(s != nullptr);
    CHECK(s->frame == 6);
    const Finding* slow = find(r, AnomalyKind::http_slow_response);
    REQUIRE(slow != nullptr);
    CHECK(slow->frame == 6);
    CHECK(count(r, AnomalyKind::http_slow_response) == 1);  // the 404 came after 1 ms
    CHECK(catalogue(AnomalyKind::http_client_error).severity == Severity::info);
}

TEST_CASE("max_pipeline: the oldest outstanding request is dropped and reported") {
    HttpConfig cfg;
    cfg.max_pipeline = 2;
    const auto r = run({C(get("/1")), C(get("/2")), C(get("/3")), C(get("/4")), S(ok("x")), EndC(), EndS()}, cfg);
    INFO(kinds(r));
    CHECK(count(r, AnomalyKind::http_pipeline_depth) == 2);
    const Finding* f = find(r, AnomalyKind::http_pipeline_depth);
    REQUIRE(f != nullptr);
    CHECK(f->frame == 3);
    CHECK(f->frame2 == 1);
    CHECK(f->detail.find("/1") != std::string::npos);
    REQUIRE(r.txs.size() == 4);
    CHECK(r.txs[2].status == 200);  // /1 and /2 were dropped: the response pairs with /3
    CHECK(r.txs[2].uncertain);       // ...which it may not answer: FIFO is off from the drop
    CHECK(count(r, AnomalyKind::http_request_without_response) == 1);  // /4 only
}

TEST_CASE("resync: a status line at the start of a segment, right after bytes with no LF") {
    // After a gap the parser resynchronises; the rest of the lost response's
    // body ("abc", no LF) is followed by the next response in a new segment.
    // Looking only after LFs glued the two and lost every later response.
    const auto r = run({C(get("/1") + get("/2") + get("/3")), S("HTTP/1.1 200 OK\r\nContent-"), GapS(40), S("abc"),
                        S("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"), S(ok("3")), EndC(), EndS()});
    INFO(kinds(r));
    INFO(txs_text(r));
    REQUIRE(r.txs.size() == 3);
    CHECK(r.txs[0].status == 200);
    CHECK(r.txs[1].status == 201);
    CHECK(r.txs[1].uncertain);
    CHECK(r.txs[2].status == 200);
    CHECK(count(r, AnomalyKind::http_request_without_response) == 0);
}

TEST_CASE("resync: bytes at a segment start that are no start line are skipped to their LF as before") {
    const auto r = run({C(get("/1") + get("/2")), S("HTTP/1.1 200 OK\r\nContent-"), GapS(40), S("abc"),
                        S("HTTP/1.1 2xx no\r\nHTTP/1.1 204 No Content\r\n\r\n"), EndC(), EndS()});
    INFO(kinds(r));
    INFO(txs_text(r));
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].status == 204);
    CHECK(count(r, AnomalyKind::http_malformed_response) == 0);   // resynchronising: no verdict on skipped bytes
}

TEST_CASE("pipelined: a request after a response that ended incomplete at a gap is not pipelined") {
    const auto r = run({C(get("/1")), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"), GapS(20),
                        C(get("/2")), S(ok("2")), EndC(), EndS()});
    INFO(kinds(r));
    INFO(txs_text(r));
    REQUIRE(r.txs.size() == 2);
    CHECK_FALSE(r.txs[0].response_complete);
    CHECK(r.txs[1].status == 200);
    CHECK_FALSE(r.txs[1].pipelined);
}

TEST_CASE("max_transactions: the rest is counted only") {
    HttpConfig cfg;
    cfg.max_transactions = 2;
    std::vector<Ev> evs;
    for (int i = 0; i < 5; ++i) {
        evs.push_back(C(get(path(static_cast<size_t>(i)))));
        evs.push_back(S("HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"));
    }
    const auto r = run(evs, cfg);
    CHECK(r.txs.size() == 2);
    CHECK(r.total == 5);
    CHECK(count(r, AnomalyKind::http_server_error) == 5);  // findings still come for uncounted ones
}

TEST_CASE("max_findings_per_kind: the rest is counted") {
    HttpConfig cfg;
    cfg.max_findings_per_kind = 2;
    std::vector<Ev> evs;
    for (int i = 0; i < 5; ++i) {
        evs.push_back(C(get(path(static_cast<size_t>(i)))));
        evs.push_back(S("HTTP/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n"));
    }
    const auto r = run(evs, cfg);
    CHECK(count(r, AnomalyKind::http_client_error) == 2);
    CHECK(r.suppressed == 3);
    CHECK(r.txs.size() == 5);
}

TEST_CASE("gap inside a body of known length: skipped, partial, pairing intact") {
    SUBCASE("Content-Length") {
        const auto r = run({C(get("/1")), S("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(10, 'x')), GapS(50),
                            S(std::string(40, 'y')), C(get("/2")), S(ok("z")), EndC(), EndS()});
        INFO(kinds(r));
        const Finding* f = find(r, AnomalyKind::http_gap);
        REQUIRE(f != nullptr);
        CHECK(f->dir == FlowDir::server_to_client);
        CHECK(f->ts_ns == ts_of(2));
        CHECK(f->frame == 4);  // the packet after the hole
        CHECK(r.fs.size() == 1);
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[0].partial);
        CHECK(r.txs[0].response_complete);
        CHECK(r.txs[0].response_body_bytes == 100);
        CHECK_FALSE(r.txs[1].partial);
        CHECK_FALSE(r.txs[1].uncertain);
    }
    SUBCASE("chunk data") {
        const auto r = run({C(get("/1")), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20\r\nabc"), GapS(19),
                            S("0123456789\r\n0\r\n\r\n"), C(get("/2")), S(ok("z")), EndC(), EndS()});
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_gap) == 1);
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[0].partial);
        CHECK(r.txs[0].response_complete);
        CHECK(r.txs[0].response_body_bytes == 0x20);  // 3 seen + 19 missing + 10 seen
    }
    SUBCASE("close-delimited body") {
        const auto r = run({C(get("/1")), S("HTTP/1.1 200 OK\r\n\r\nabc"), GapS(1000), S("def"), EndS(), EndC()});
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_gap) == 1);
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].partial);
        CHECK(r.txs[0].response_body_bytes == 1006);
        CHECK(r.txs[0].response_complete);
    }
    SUBCASE("request body, gap at its very end") {
        const auto r = run({C("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"), GapC(7), C(get("/2")), S(ok("") + ok("")),
                            EndC(), EndS()});
        INFO(kinds(r));
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[0].partial);
        CHECK(r.txs[0].request_complete);
        CHECK(r.txs[0].request_end_ts == ts_of(1));
        CHECK_FALSE(r.txs[1].uncertain);
        CHECK(r.txs[1].status == 200);
    }
}

TEST_CASE("gap inside a header block: the message ends there incomplete, resync, next transaction uncertain") {
    // The start line was captured, so the message was sent: a request still
    // waits for its answer and a response still answers its request. Dropping
    // the block shifted every later pairing by one.
    SUBCASE("client side") {
        const auto r = run({C("GET /lost HTTP/1.1\r\nHo"), GapC(30), C("st: x\r\n\r\nGET /found HTTP/1.1\r\n\r\n"),
                            S(ok("1") + ok("2")), EndC(), EndS()});
        INFO(kinds(r));
        INFO(txs_text(r));
        CHECK(count(r, AnomalyKind::http_gap) == 1);
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[0].uri() == "/lost");
        CHECK(r.txs[0].partial);
        CHECK_FALSE(r.txs[0].request_complete);
        CHECK(r.txs[0].response_body_bytes == 1);
        CHECK(r.txs[1].uri() == "/found");
        CHECK(r.txs[1].uncertain);
        CHECK(r.txs[1].has_response);
        CHECK(count(r, AnomalyKind::http_response_without_request) == 0);
    }
    SUBCASE("server side") {
        const auto r = run({C(get("/1") + get("/2") + get("/3")), S("HTTP/1.1 200 OK\r\nContent-"), GapS(100),
                            S("x\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), S(ok("3")), EndC(), EndS()});
        INFO(kinds(r));
        INFO(txs_text(r));
        CHECK(count(r, AnomalyKind::http_gap) == 1);
        REQUIRE(r.txs.size() == 3);
        CHECK(r.txs[0].status == 200);   // its status line was captured
        CHECK(r.txs[0].partial);
        CHECK_FALSE(r.txs[0].response_complete);
        CHECK(r.txs[1].status == 404);
        CHECK(r.txs[1].uncertain);
        CHECK(r.txs[2].status == 200);
        CHECK(r.txs[2].response_body_bytes == 1);
    }
    SUBCASE("gap over the end of a body and the next head") {
        const auto r = run({C(get("/1") + get("/2") + get("/3")), S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"), GapS(60),
                            S("bla\r\n" + ok("3")), EndC(), EndS()});
        INFO(kinds(r));
        REQUIRE(r.txs.size() == 3);
        CHECK(r.txs[0].partial);
        CHECK(r.txs[0].response_complete);
        CHECK(r.txs[1].uncertain);
        CHECK(r.txs[1].response_body_bytes == 1);
    }
}

TEST_CASE("gap in a chunk-size line: message incomplete, resync") {
    const auto r = run({C(get("/1") + get("/2")), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1"), GapS(10),
                        S("\r\n" + ok("2")), EndC(), EndS()});
    INFO(kinds(r));
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[0].partial);
    CHECK_FALSE(r.txs[0].response_complete);
    CHECK(r.txs[1].uncertain);
    CHECK(r.txs[1].status == 200);
    CHECK(count(r, AnomalyKind::http_body_truncated) == 0);
}

TEST_CASE("mid-stream pickup: client bytes in the middle of a body") {
    const auto r = run({C("ody of an earlier POST\r\nmore body\r\nPUT /next HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"),
                        S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), EndC(), EndS()});
    INFO(kinds(r));
    CHECK(r.http);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 1);
    CHECK(r.txs[0].method() == "PUT");
    CHECK(r.txs[0].uncertain);
    CHECK(r.txs[0].status == 200);
}

TEST_CASE("mid-stream pickup: server bytes in the middle of a body") {
    const auto r = run({S("tail of a body\n" + ok("1")), C(get("/2")), S(ok("2")), EndC(), EndS()});
    INFO(kinds(r));
    CHECK(r.http);
    REQUIRE(r.txs.size() == 2);
    CHECK_FALSE(r.txs[0].has_request);
    CHECK(r.txs[0].uncertain);
    CHECK(r.txs[1].status == 200);
    CHECK(count(r, AnomalyKind::http_response_without_request) == 1);
}

TEST_CASE("findings carry the connection id and a direction") {
    const auto r = run({C("POST / HTTP/1.1\r\nContent-Length: zz\r\n\r\n"), S("HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n")});
    REQUIRE(r.fs.size() == 2);
    for (const auto& f : r.fs) {
        CHECK(f.connection == 9);
        CHECK(f.dir != FlowDir::none);
        CHECK(f.frame != 0);
        CHECK(catalogue(f.kind).layer == Layer::http);
    }
}

// ---------------------------------------------------------------- property test

namespace {

struct Conversation {
    const char* name;
    std::vector<Ev> evs;
    HttpConfig cfg{};
};

HttpConfig small_limits() {
    HttpConfig c;
    c.max_header_bytes = 80;
    c.max_headers = 3;
    c.max_pipeline = 2;
    c.max_transactions = 3;
    c.slow_response_ns = 1'500'000;
    c.max_findings_per_kind = 2;
    return c;
}

std::vector<Conversation> corpus() {
    const std::string tls = std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11);
    const std::string chunked_body = "5;name=val\r\nhello\r\n6 ; x=\"y\"\r\n world\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n";
    std::vector<Conversation> v = {
        {"content-length keep-alive",
         {C("POST /up HTTP/1.1\r\nHost: h\r\nUser-Agent: t/1\r\nContent-Length: 11\r\n\r\nhello world"),
          S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nfine."), C(get("/2")), S(ok("again")), EndC(),
          EndS()}},
        {"chunked both ways",
         {C("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_body + get("/n")),
          S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_body + "HTTP/1.1 204 No Content\r\n\r\n"), EndC(),
          EndS()}},
        {"head 1xx 204 304",
         {C("HEAD / HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
          S("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: <x>\r\n\r\n"
            "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n"),
          EndC(), EndS()}},
        {"close-delimited", {C(get("/")), S("HTTP/1.0 200 OK\r\nContent-Type: a/b\r\n\r\n<html>"), S("</html>"), EndS(), EndC()}},
        {"100-continue",
         {C("PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"), S("HTTP/1.1 100 Continue\r\n\r\n"),
          C("data"), S("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"), EndC(), EndS()}},
        {"101 upgrade",
         {C("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
          S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi"), C("\x81\x82\x00\x00\x00\x00hi"), EndC(),
          EndS()}},
        {"connect tunnel",
         {C("CONNECT a:443 HTTP/1.1\r\n\r\n"), S("HTTP/1.1 200 Connection established\r\n\r\n"), C(tls), S(tls), EndC(), EndS()}},
        {"connect refused, optimistic TLS",
         {C("CONNECT a:443 HTTP/1.1\r\n\r\n" + tls), S("HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n"), C(tls + "\n" + get("/x")),
          S(ok("k")), EndC(), EndS()}},
        {"upgrade refused then garbage",
         {C("GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n"), S(ok("no")), C("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), EndC(), EndS()}},
        {"bad content-length request", {C("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n" + get("/s")), S(ok("")), EndC(), EndS()}},
        {"bad content-length response",
         {C(get("/1") + get("/2")), S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"), EndC(), EndS()}},
        {"cl with chunked",
         {C("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n" + kGet),
          S(kOk0 + kOk0), EndC(), EndS()}},
        {"te gzip request", {C("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc"), S(ok("")), EndC(), EndS()}},
        {"bad chunk", {C(get("/")), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nqq\r\n"), EndC(), EndS()}},
        {"chunk overflow",
         {C(get("/")), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF0\r\nabc"), EndC(), EndS()}},
        {"chunk data without crlf", {C(get("/")), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc"), EndS()}},
        {"obs-fold and bare LF",
         {C("GET / HTTP/1.1\nUser-Agent: a\n  b\nHost: h\n\n"), S("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3;e\nabc\n0\nT: 1\n\n"),
          EndC(), EndS()}},
        {"malformed lines",
         {C(kGet), S(kOk0), C("GET /a b HTTP/1.1\r\nX: y\r\n\r\nGET /n HTTP/1.1\r\nNoColon\r\nBad Name: 1\r\n\r\n"),
          S("HTTP/1.1 2x0 Nope\r\n\r\n" + kOk0), EndC(), EndS()}},
        {"header too large (small limits)",
         {C("GET /x HTTP/1.1\r\nCookie: " + std::string(100, 'c') + "\r\n\r\n"),
          S("HTTP/1.1 431 Too Large\r\nContent-Length: 0\r\n\r\n"), EndC(), EndS()},
         small_limits()},
        {"too many headers and pipeline depth (small limits)",
         {C("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\nGET /4 HTTP/1.1\r\n\r\n"),
          S("HTTP/1.1 500 A\r\nContent-Length: 0\r\n\r\nHTTP/1.1 500 B\r\nContent-Length: 0\r\n\r\n"),
          S("HTTP/1.1 500 C\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"), EndC(), EndS()},
         small_limits()},
        {"pipelined with slow response (small limits)",
         {C(get("/1") + get("/2")), S(ok("a")), S(""), S(ok("b")), C(get("/3")), S(ok("c")), C(get("/4")), S(ok("d")), EndC(),
          EndS()},
         small_limits()},
        {"http/1.0 and close",
         {C("GET /a HTTP/1.0\r\n\r\n"), S("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx"), C("GET /b HTTP/1.0\r\n\r\n"),
          S("HTTP/1.1 404 No\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"), C(get("/c")), EndC(), EndS()}},
        {"response first", {S(ok("abc")), C(get("/x")), S(ok("y")), EndC(), EndS()}},
        {"request without response", {C(get("/1") + get("/2")), S(ok("")), C(get("/3")), EndC(), EndS()}},
        {"gaps in bodies",
         {C(get("/1") + get("/2") + get("/3")), S("HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\nabc"), GapS(20), S("1234567"),
          S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nab"), GapS(4), S("0123456789\r\n0\r\n\r\n"),
          S("HTTP/1.1 200 OK\r\n\r\nxyz"), GapS(100), S("tail"), EndS(), EndC()}},
        {"gaps in heads",
         {C("GET /lost HTTP/1.1\r\nHo"), GapC(30), C("st: x\r\n\r\nGET /found HTTP/1.1\r\n\r\n" + get("/3")),
          S("HTTP/1.1 200 OK\r\nCont"), GapS(50), S("x\r\n\r\nHTTP/1.1 404 NF\r\nContent-Length: 0\r\n\r\n" + ok("q")), EndC(),
          EndS()}},
        {"gap in chunk framing",
         {C(get("/1") + get("/2")), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1"), GapS(10),
          S("\r\n" + ok("2")), EndC(), EndS()}},
        {"leading gaps", {GapC(100), C("x\r\n" + get("/a")), GapS(5), S("y\r\n" + ok("b")), EndC(), EndS()}},
        {"truncated bodies",
         {C("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabcd"), EndC(EndReason::fin),
          S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"), EndS(EndReason::rst)}},
        {"midstream client", {C("ody\r\nmore\r\nPUT /n HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"), S(kOk0), EndC(), EndS()}},
        {"not http", {C(tls), S(tls), C(get("/")), EndC(), EndS()}},
        {"not http, smtp", {S("220 mail ESMTP\r\n"), C("EHLO x\r\n"), S("250 ok\r\n"), EndC(), EndS()}},
        {"malformed and lowercase",
         {C(kGet), S(kOk0), C("get / HTTP/1.1\r\n\r\n"), S(kOk0), C("\x01\x02\x03\r\n" + kGet), S(kOk0), EndC(), EndS()}},
        {"malformed first line with header block",
         {C("OPTIONS HTTP/1.1\nHost: a\nUser-Agent: u\nContent-Length: 4\n\nbody"),
          S("HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n"), C(get("/x")), S(kOk0), EndC(), EndS()}},
        {"malformed lines with header blocks",
         {C(kGet), S(kOk0),
          C("POST /a b HTTP/1.1\r\nHost: one\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.\nHost: two\n\n"
            "GET /x y HTTP/1.1\r\n" + std::string(150, 'T') + "\r\nGET /c d HTTP/1.1\r\nGET /e f HTTP/1.1\r\n\r\n" + get("/ok")),
          S("HTTP/1.1 400 A\r\nContent-Length: 0\r\n\r\nHTTP/1.1 400 B\r\nContent-Length: 0\r\n\r\n"), S(kOk0 + kOk0 + ok("k")),
          EndC(), EndS()}},
        {"http/0.9 raw response", {C("GET /zeek.html\n"), S("\r\n<html>\n  The Zeek\n</html>\n"), S("more"), EndS(), EndC()}},
        {"http/0.9 typed, status-line answer",
         {C("GET /\r\n\r\n"), S("\r\nHTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\nok"), EndS(), EndC()}},
        {"http/0.9 then request lines", {C("GET /a\r\nGET /b HTTP/1.1\r\n\r\nGET /c\r\nX"), S(ok("x") + kOk0), EndC(), EndS()}},
        {"versionless line with header fields",
         {C("GET /HTTP/1.1\nHost: www.google.com\nUser-Agent: x\n\n"), S("HTTP/1.0 403 Forbidden\r\nContent-Length: 3\r\n\r\nbad"),
          C("HEAD http://h/x\r\nHost: y\r\n\r\n"), S("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n"), EndC(), EndS()}},
        {"versionless line, gap, then a request", {C("GET /x\r\n"), GapC(10), C("GET /y HTTP/1.1\r\n\r\n"), S("raw"), EndS(), EndC()}},
        {"not http, short versionless lines", {C("T /zeek.html\n"), S("bad method\n"), EndS(), EndC()}},
    };
    return v;
}

std::string compare(const Result& a, const Result& b) {
    std::ostringstream o;
    if (a.http != b.http) o << "is_http differs\n";
    if (a.total != b.total) o << "total " << a.total << " vs " << b.total << "\n";
    if (a.suppressed != b.suppressed) o << "suppressed differs\n";
    if (a.txs.size() != b.txs.size()) o << "transactions " << a.txs.size() << " vs " << b.txs.size() << "\n";
    for (size_t i = 0; i < std::min(a.txs.size(), b.txs.size()); ++i) {
        if (!(a.txs[i] == b.txs[i])) o << "tx " << i << ":\n  " << describe(a.txs[i]) << "\n  " << describe(b.txs[i]) << "\n";
    }
    if (a.fs.size() != b.fs.size()) o << "findings " << a.fs.size() << " vs " << b.fs.size() << "\n";
    for (size_t i = 0; i < std::max(a.fs.size(), b.fs.size()); ++i) {
        const std::string x = i < a.fs.size() ? describe(a.fs[i]) : "-";
        const std::string y = i < b.fs.size() ? describe(b.fs[i]) : "-";
        if (x != y) o << "finding " << i << ":\n  " << x << "\n  " << y << "\n";
    }
    return o.str();
}

}  // namespace

TEST_CASE("property: the corpus conversations do what they are named for") {
    // Guards against the property test passing vacuously.
    for (const auto& c : corpus()) {
        const std::string name = c.name;
        CAPTURE(name);
        const Result r = run(c.evs, c.cfg);
        INFO(txs_text(r));
        INFO(kinds(r));
        if (name.rfind("not http", 0) == 0) {
            CHECK_FALSE(r.http);
        } else {
            CHECK(r.http);
            CHECK_FALSE(r.txs.empty());
        }
        auto any_tx = [&r](auto&& pred) { return std::any_of(r.txs.begin(), r.txs.end(), pred); };
        if (name.find("http/0.9") != std::string::npos) {
            CHECK(any_tx([](const HttpTransaction& t) { return t.version() == "HTTP/0.9" && t.has_response; }));
        }
        if (name.find("header block") != std::string::npos || name.find("header fields") != std::string::npos) {
            // the header block after the malformed or versionless line filled its transaction
            CHECK(count(r, AnomalyKind::http_malformed_request) >= 1);
            CHECK(any_tx([](const HttpTransaction& t) {
                const bool bad_line = t.version() != "HTTP/1.1" || t.uri().empty() || t.uri().find(' ') != std::string::npos;
                return bad_line && !t.host().empty() && t.request_complete;
            }));
        }
        if (name == "http/0.9 raw response") {
            REQUIRE(r.txs.size() == 1);
            CHECK(r.txs[0].status == 0);
            CHECK(r.txs[0].response_body_bytes == 32);
        }
    }
}

TEST_CASE("property: every split point gives identical transactions and findings") {
    size_t runs = 0;
    for (const auto& c : corpus()) {
        CAPTURE(c.name);
        const Result whole = run(c.evs, c.cfg);
        for (size_t e = 0; e < c.evs.size(); ++e) {
            if (c.evs[e].k != Ev::K::data) continue;
            for (size_t at = 1; at < c.evs[e].bytes.size(); ++at) {
                const Splitter split = [&](size_t i, size_t) -> std::vector<size_t> {
                    if (i == e) return {at};
                    return {};
                };
                const std::string diff = compare(whole, run(c.evs, c.cfg, split));
                ++runs;
                if (!diff.empty()) {
                    CAPTURE(e);
                    CAPTURE(at);
                    FAIL_CHECK(diff);
                    break;
                }
            }
        }
    }
    CHECK(runs > 2000);
}

TEST_CASE("keep_transactions=false: none kept, the same tally, total and findings") {
    // The tally (what the run summary counts) must not depend on whether the
    // transactions were kept: it is taken from them before they are freed.
    size_t with_txs = 0;
    for (const auto& c : corpus()) {
        CAPTURE(c.name);
        const Result kept = run(c.evs, c.cfg);
        HttpConfig lean = c.cfg;
        lean.keep_transactions = false;
        const Result dropped = run(c.evs, lean);
        CHECK(dropped.txs.empty());
        CHECK(dropped.total == kept.total);
        CHECK(dropped.http == kept.http);
        CHECK(compare(Result{kept.txs, {}, dropped.fs, kept.http, kept.total, dropped.suppressed}, kept) == "");
        HttpTally expect;
        for (const auto& t : kept.txs) expect.add(t);
        CHECK(kept.tally == expect);
        CHECK(dropped.tally == expect);
        if (!kept.txs.empty()) ++with_txs;
    }
    CHECK(with_txs >= 10);
    // The tally's contents, on a known conversation: methods folded in order,
    // status classes, and one TTFB and duration per answered request.
    const auto r = run({C(get("/1")), S(ok("a")), C(get("/2")), S(ok("bb")),
                        C("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"),
                        S("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), C(get("/3")), EndC(), EndS()});
    REQUIRE(r.txs.size() == 4);
    const std::vector<std::pair<std::string, uint64_t>> methods{{"GET", 2}, {"POST", 1}, {"GET", 1}};
    CHECK(r.tally.methods == methods);
    CHECK(r.tally.status_classes[2] == 2);
    CHECK(r.tally.status_classes[4] == 1);
    CHECK(r.tally.requests_without_response == 1);
    CHECK(r.tally.responses_without_request == 0);
    REQUIRE(r.tally.timings.size() == 3);   // the unanswered GET /3 has neither
    CHECK(r.tally.timings[0].ttfb_ns == ts_of(1) - ts_of(0));  // request ends at event 0, response starts at event 1
    CHECK(r.tally.timings[0].duration_ns == ts_of(1) - ts_of(0));
    for (const auto& t : r.tally.timings) CHECK(t.ttfb_ns >= 0);
}

TEST_CASE("a head scratch shared by many streams: all conversations at once give what each gives alone") {
    // The pipeline's HttpStreams build every header block's head in one
    // HttpHeadScratch. Here every conversation of the corpus is fed at once,
    // event by event in turn, every other one byte at a time (so their header
    // blocks are open while the others complete theirs), sharing one scratch.
    const auto convs = corpus();
    HttpHeadScratch scratch;
    std::vector<std::unique_ptr<HttpStream>> streams;
    for (size_t k = 0; k < convs.size(); ++k) streams.push_back(std::make_unique<HttpStream>(convs[k].cfg, 9, &scratch));
    const Splitter bytewise = [](size_t, size_t len) { return std::vector<size_t>(len, 1); };
    size_t longest = 0;
    for (const auto& c : convs) longest = std::max(longest, c.evs.size());
    for (size_t i = 0; i < longest; ++i) {
        for (size_t k = 0; k < convs.size(); ++k) {
            if (i < convs[k].evs.size()) feed_event(*streams[k], convs[k].evs, i, 1'000'000, k % 2 ? bytewise : nullptr);
        }
    }
    size_t with_txs = 0;
    for (size_t k = 0; k < convs.size(); ++k) {
        CAPTURE(convs[k].name);
        const Result alone = run(convs[k].evs, convs[k].cfg);
        const Result shared = take_result(*streams[k]);
        CHECK(compare(alone, shared) == "");
        CHECK(shared.tally == alone.tally);
        with_txs += !alone.txs.empty();
    }
    CHECK(with_txs >= 10);
}

TEST_CASE("property: random chunkings and byte-at-a-time give identical results") {
    for (const auto& c : corpus()) {
        CAPTURE(c.name);
        const Result whole = run(c.evs, c.cfg);
        const Splitter bytewise = [](size_t, size_t len) { return std::vector<size_t>(len, 1); };
        CHECK(compare(whole, run(c.evs, c.cfg, bytewise)) == "");
        for (uint32_t seed = 1; seed <= 60; ++seed) {
            std::mt19937 rng(seed);
            const Splitter random = [&rng](size_t, size_t len) {
                std::vector<size_t> pieces;
                size_t left = len;
                const size_t max_piece = 1 + rng() % 17;
                while (left > 0) {
                    const size_t p = std::min(left, 1 + static_cast<size_t>(rng() % max_piece));
                    pieces.push_back(p);
                    left -= p;
                }
                return pieces;
            };
            const std::string diff = compare(whole, run(c.evs, c.cfg, random));
            if (!diff.empty()) {
                CAPTURE(seed);
                FAIL_CHECK(diff);
                break;
            }
        }
    }
}

TEST_CASE("robustness: random bytes, mutations, gaps and ends never crash") {
    // Run under -fsanitize=address,undefined to make this meaningful.
    std::mt19937 rng(12345);
    const auto convs = corpus();
    const char alphabet[] = "GET /HTTP1.0\r\n: \t;chunkedContent-Length0123456789abcdefF";
    for (int iter = 0; iter < 3000; ++iter) {
        const auto& base = convs[rng() % convs.size()];
        std::vector<Ev> evs = base.evs;
        for (auto& e : evs) {
            if (e.k != Ev::K::data || e.bytes.empty()) continue;
            const int mutations = static_cast<int>(rng() % 4);
            for (int m = 0; m < mutations; ++m) {
                const size_t pos = rng() % e.bytes.size();
                switch (rng() % 4) {
                    case 0: e.bytes[pos] = static_cast<char>(rng() % 256); break;
                    case 1: e.bytes[pos] = alphabet[rng() % (sizeof alphabet - 1)]; break;
                    case 2: e.bytes.erase(pos, 1 + rng() % 8); break;
                    default: e.bytes.insert(pos, std::string(1 + rng() % 5, alphabet[rng() % (sizeof alphabet - 1)])); break;
                }
                if (e.bytes.empty()) break;
            }
        }
        if (rng() % 3 == 0) evs.insert(evs.begin() + static_cast<long>(rng() % (evs.size() + 1)),
                                       rng() % 2 ? GapC(rng() % 200) : GapS(rng() % 200));
        HttpConfig cfg = rng() % 2 ? HttpConfig{} : small_limits();
        const Result r = run(evs, cfg, [&rng](size_t, size_t len) {
            std::vector<size_t> pieces;
            while (len > 0) {
                const size_t p = std::min(len, 1 + static_cast<size_t>(rng() % 9));
                pieces.push_back(p);
                len -= p;
            }
            return pieces;
        });
        CHECK(r.txs.size() <= cfg.max_transactions);
        for (const auto& f : r.fs) {
            CHECK(f.detail.size() <= 300);
            CHECK(f.connection == 9);
        }
    }
}

}  // TEST_SUITE

TEST_CASE("a response sent while its request's header block is still arriving pairs with that request") {
    // A server answers before the client has finished its head: 431 to an
    // oversized Cookie, 408 to a stalled keep-alive request. Before, the
    // answer was a response without request, and the request was reported
    // unanswered -- or, if its head never completed, not at all.
    const std::string cookie = "Cookie: " + std::string(3000, 'c');
    const std::string k431 = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    SUBCASE("the rest of the head arrives after the answer: it fills the same request") {
        const auto r = run({C("POST /up HTTP/1.1\r\nHost: h\r\n" + cookie.substr(0, 1000)), S(k431),
                            C(cookie.substr(1000) + "\r\nUser-Agent: ua\r\nContent-Length: 3\r\n\r\nabc"), EndC(), EndS()});
        INFO(kinds(r));
        REQUIRE(r.txs.size() == 1);
        const HttpTransaction& x = r.txs[0];
        CHECK(x.method() == "POST");
        CHECK(x.uri() == "/up");
        CHECK(x.host() == "h");
        CHECK(x.user_agent() == "ua");
        CHECK(x.status == 431);
        CHECK(x.request_complete);
        CHECK(x.request_body_bytes == 3);        // framed by its own head, found after the answer
        CHECK(x.request_ts == ts_of(0));
        CHECK(x.response_ts == ts_of(1));
        CHECK(x.ttfb_ns() == 0);                 // answered before the request ended
        CHECK(count(r, AnomalyKind::http_response_without_request) == 0);
        CHECK(count(r, AnomalyKind::http_request_without_response) == 0);
        CHECK(count(r, AnomalyKind::http_header_truncated) == 0);
    }
    SUBCASE("the head never completes: the request ends incomplete, still paired") {
        const auto r = run({C("GET /x HTTP/1.1\r\nHost: h\r\n" + cookie.substr(0, 1000)), S(k431), EndS(), EndC()});
        INFO(kinds(r));
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].uri() == "/x");
        CHECK(r.txs[0].status == 431);
        CHECK_FALSE(r.txs[0].request_complete);
        CHECK(r.txs[0].response_complete);
        CHECK(count(r, AnomalyKind::http_response_without_request) == 0);
        CHECK(count(r, AnomalyKind::http_header_truncated) == 1);
    }
    SUBCASE("a 408 to the second request of a keep-alive connection") {
        const auto r = run({C(get("/a")), S(ok("a")), C("GET /b HTTP/1.1\r\nHo"),
                            S("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), EndS(), EndC()});
        INFO(kinds(r));
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[1].uri() == "/b");
        CHECK(r.txs[1].status == 408);
        CHECK_FALSE(r.txs[1].pipelined);
        CHECK(count(r, AnomalyKind::http_response_without_request) == 0);
    }
    SUBCASE("HEAD answered early: its response has no body, so the next response is not swallowed") {
        const auto r = run({C("HEAD /h HTTP/1.1\r\nX: 1\r\n"), S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
                            C("\r\n" + get("/g")), S(ok("hello")), EndC(), EndS()});
        INFO(kinds(r));
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[0].method() == "HEAD");
        CHECK(r.txs[0].response_body_bytes == 0);
        CHECK(r.txs[1].uri() == "/g");
        CHECK(r.txs[1].response_body_bytes == 5);
        CHECK(r.fs.empty());
    }
    SUBCASE("an Upgrade field in the part of the head after a refusal: the bytes after it are refused tunnel data") {
        const auto r = run({C("GET /ws HTTP/1.1\r\nHost: h\r\n"), S("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
                            C("Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"), EndC(), EndS()});
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_data_after_upgrade_failure) == 1);
        CHECK(count(r, AnomalyKind::http_malformed_request) == 0);
    }
    SUBCASE("an Upgrade field after an early 100, then 101: the tunnel bytes are no malformed request") {
        const auto r = run({C("GET /ws HTTP/1.1\r\nHost: h\r\n"), S("HTTP/1.1 100 Continue\r\n\r\n"),
                            C("Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"),
                            S("HTTP/1.1 101 Switching Protocols\r\n\r\n"), EndC(), EndS()});
        INFO(kinds(r));
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].upgraded);
        CHECK(r.fs.empty());
    }
    SUBCASE("a capture gap in the rest of the head: the request ends there, partial") {
        const auto r = run({C("GET /x HTTP/1.1\r\nHost: h\r\n"), S("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"),
                            GapC(10), C(get("/y")), S(ok("y")), EndC(), EndS()});
        INFO(kinds(r));
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[0].uri() == "/x");
        CHECK(r.txs[0].status == 408);
        CHECK(r.txs[0].request_end_ts == ts_of(0));
        CHECK(r.txs[0].partial);
        CHECK_FALSE(r.txs[0].request_complete);
        CHECK(r.txs[1].uri() == "/y");
    }
    SUBCASE("a 2xx to CONNECT before its head ended: the request ends there") {
        const auto r = run({C("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n"), S("HTTP/1.1 200 Connection established\r\n\r\n"),
                            C("\r\n\x16\x03\x01"), EndC(), EndS()});
        INFO(kinds(r));
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].tunnel);
        CHECK(r.txs[0].request_end_ts == ts_of(0));
        CHECK_FALSE(r.txs[0].request_complete);
    }
    SUBCASE("near miss: a response with a request outstanding pairs with that one, not with the head in progress") {
        const auto r = run({C(get("/1") + "GET /2 HTTP/1.1\r\nHo"), S(ok("one")), C("st: h\r\n\r\n"), S(ok("two")), EndC(), EndS()});
        INFO(kinds(r));
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[0].uri() == "/1");
        CHECK(r.txs[0].response_body_bytes == 3);
        CHECK(r.txs[1].uri() == "/2");
        CHECK(r.txs[1].host() == "h");
        CHECK(r.txs[1].response_body_bytes == 3);
        CHECK(r.txs[1].pipelined);
        CHECK(r.fs.empty());
    }
}

TEST_CASE("http timings: one definition; an early response has time to first byte 0, not a negative time") {
    HttpTransaction x;
    CHECK_FALSE(x.ttfb_ns());
    CHECK_FALSE(x.duration_ns());
    x.has_request = x.has_response = true;
    x.request_ts = 1000;
    x.request_end_ts = 5000;
    x.response_ts = 7000;
    x.response_end_ts = 9000;
    CHECK(x.ttfb_ns() == std::optional<int64_t>(2000));
    CHECK(x.duration_ns() == std::optional<int64_t>(8000));
    x.response_ts = 3000;   // answered while the request was still being sent (a 413 during an upload)
    CHECK(x.ttfb_ns() == std::optional<int64_t>(0));
    HttpTally tally;
    tally.add(x);
    REQUIRE(tally.timings.size() == 1);
    CHECK(tally.timings[0].ttfb_ns == 0);
    CHECK(tally.timings[0].duration_ns == 8000);
    x.has_response = false;  // no response: nothing to measure
    CHECK_FALSE(x.ttfb_ns());
    CHECK_FALSE(x.duration_ns());
}
