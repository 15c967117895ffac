// The anomaly catalogue, HTTP kinds: for every http_* kind in
// src/findings/catalogue.cpp one "fires: <kind>" case proving it is reported
// on exactly the frame its definition names (and the related frame where one
// is set), and one "near miss: <kind>" case where a closely similar, valid
// situation must not report it. The TCP and capture kinds are in
// tests/unit/test_anomalies.cpp.
//
// Conversations are fed to an HttpStream as StreamConsumer events: event i is
// frame i + 1 at (i + 1) ms unless the event names its own time. Most cases
// open with one clean exchange so that the finding's frame is not trivially 1
// and the parser is past content detection (between messages, as on a real
// keep-alive connection).
#include <doctest/doctest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "pcaplens/http/http.hpp"
#include "support/http_script.hpp"

using namespace pcaplens;

namespace {

constexpr int64_t kMs = 1'000'000;
using namespace pcaplens::testing::http_script;

Result run(const std::vector<Ev>& evs, const HttpConfig& cfg = HttpConfig{}) { return run_script(evs, cfg, 7, kMs); }

// Frames of the findings of one kind, in order.
std::vector<uint64_t> frames(const Result& r, AnomalyKind k) {
    std::vector<uint64_t> out;
    for (const auto& f : r.fs) {
        if (f.kind == k) out.push_back(f.frame);
    }
    return out;
}
std::string all(const Result& r) {
    std::ostringstream o;
    for (const auto& f : r.fs) {
        o << kind_name(f.kind) << "@" << f.frame;
        if (f.frame2 != 0) o << "(" << f.frame2 << ")";
        o << " [" << f.detail << "]\n";
    }
    return o.str();
}

const std::vector<uint64_t> kNone{};
using F = std::vector<uint64_t>;

std::string get(const std::string& path) { return "GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n"; }
std::string ok(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}
std::string status(int code, const std::string& reason) {
    return "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Length: 0\r\n\r\n";
}

}  // namespace

// ---------------------------------------------------------------------------
// http_response_without_request
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_response_without_request") {
    // The second 200 has nothing left to answer.
    const auto r = run({C(get("/a")), S(ok("a")), S(ok("b")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_response_without_request) == F{3});
    const Finding* f = find(r, AnomalyKind::http_response_without_request);
    REQUIRE(f != nullptr);
    CHECK(f->dir == FlowDir::server_to_client);
    CHECK(f->ts_ns == 3 * kMs);
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[0].has_request);
    CHECK_FALSE(r.txs[1].has_request);
    CHECK(r.txs[1].response_frame == 3);
}

TEST_CASE("near miss: http_response_without_request") {
    // Two responses to one request again, but the first is a 100 Continue:
    // an interim response does not consume the request.
    const auto r = run({C("POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"),
                        S("HTTP/1.1 100 Continue\r\n\r\n"), C("hello"), S(ok("ok")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_response_without_request) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 1);
    CHECK(r.txs[0].has_request);
    CHECK(r.txs[0].interim_statuses == std::vector<int>{100});
    CHECK(r.txs[0].status == 200);
    CHECK(r.txs[0].response_frame == 4);
}

// ---------------------------------------------------------------------------
// http_request_without_response
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_request_without_response") {
    // /b is sent, then both ends close without an answer.
    const auto r = run({C(get("/a")), S(ok("a")), C(get("/b")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_request_without_response) == F{3});
    const Finding* f = find(r, AnomalyKind::http_request_without_response);
    REQUIRE(f != nullptr);
    CHECK(f->dir == FlowDir::client_to_server);
    CHECK(f->detail.find("/b") != std::string::npos);
    REQUIRE(r.txs.size() == 2);
    CHECK_FALSE(r.txs[1].has_response);
}

TEST_CASE("near miss: http_request_without_response") {
    // The same conversation, but /b is answered in the last data packet,
    // just before the FINs.
    const auto r = run({C(get("/a")), S(ok("a")), C(get("/b")), S(ok("b")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_request_without_response) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].has_response);
    CHECK(r.txs[1].response_complete);
}

// ---------------------------------------------------------------------------
// http_malformed_request
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_malformed_request") {
    // Two spaces between target and version: not METHOD SP target SP HTTP/x.y.
    const auto r = run({C(get("/a")), S(ok("a")), C("GET /b  HTTP/1.1\r\nHost: h\r\n\r\n"),
                        S(status(400, "Bad Request")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_malformed_request) == F{3});
    CHECK(first(r, AnomalyKind::http_malformed_request).dir == FlowDir::client_to_server);
    // Queued for its answer: the 400 pairs with it, nothing is left unpaired.
    CHECK(frames(r, AnomalyKind::http_response_without_request) == kNone);
    CHECK(frames(r, AnomalyKind::http_request_without_response) == kNone);
}

TEST_CASE("near miss: http_malformed_request") {
    // Valid request lines with unusual but legal methods (any token is a
    // method, RFC 9110 9.1): extension method with '-', and a lower-case one.
    const auto r = run({C(get("/a")), S(ok("a")), C("M-SEARCH * HTTP/1.1\r\nHost: h\r\n\r\n"), S(ok("m")),
                        C("purge /cache HTTP/1.1\r\nHost: h\r\n\r\n"), S(ok("p")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_malformed_request) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 3);
    CHECK(r.txs[1].method() == "M-SEARCH");
    CHECK(r.txs[1].uri() == "*");
    CHECK(r.txs[2].method() == "purge");
    CHECK(r.txs[2].uri() == "/cache");
}

// ---------------------------------------------------------------------------
// http_malformed_response
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_malformed_response") {
    // A four-digit status code is not HTTP/x.y SP 3DIGIT.
    const auto r = run({C(get("/a")), S(ok("a")), C(get("/b")), S("HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"),
                        EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_malformed_response) == F{4});
    CHECK(first(r, AnomalyKind::http_malformed_response).dir == FlowDir::server_to_client);
    // It answered /b (frame 4): /b is not left without a response.
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].has_response);
    CHECK(r.txs[1].response_frame == 4);
    CHECK(frames(r, AnomalyKind::http_request_without_response) == kNone);
}

TEST_CASE("fires: http_malformed_response on the server's first line") {
    // The client's request proved the connection HTTP: the server's first
    // line is held to the rules of any later one, and a broken one said.
    SUBCASE("answered after the request") {
        const auto r = run({C(get("/a")), S("HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_malformed_response) == F{2});
        REQUIRE(find(r, AnomalyKind::http_malformed_response) != nullptr);
        CHECK(first(r, AnomalyKind::http_malformed_response).detail == "not a status line: 'HTTP/1.1 2000 OK'");
    }
    SUBCASE("answering the first of two requests: the next response pairs with the second") {
        const auto r = run({C(get("/a") + get("/b")), S("HTTP/1.1 2000 OK\r\n\r\n"), S(ok("b")), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_malformed_response) == F{2});
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[0].has_response);
        CHECK(r.txs[0].status == 0);
        CHECK(r.txs[1].status == 200);
        CHECK(frames(r, AnomalyKind::http_request_without_response) == kNone);
    }
    SUBCASE("captured before the request: said once the request proves HTTP") {
        const auto r = run({S("HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"), C(get("/a")), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_malformed_response) == F{1});
    }
    SUBCASE("neither side HTTP: nothing is said") {
        const auto r = run({C("SSH-2.0-OpenSSH_9.2\r\n"), S("HTTP/1.1 2000 OK\r\n\r\n"), EndC(), EndS()});
        INFO(all(r));
        CHECK_FALSE(r.http);
        CHECK(r.fs.empty());
    }
}

TEST_CASE("near miss: http_malformed_response: a first status 600-999 once the request proved HTTP") {
    // Between messages any 3-digit status is a status line; the first one was
    // held to 1xx-5xx (a content-detection rule) even after the request
    // proved the connection HTTP, so the answer to the next request went to
    // this one.
    const auto r = run({C(get("/1")), S("HTTP/1.1 600 Weird\r\nContent-Length: 2\r\n\r\nxx"), C(get("/2")), S(ok("2")),
                        EndC(), EndS()});
    INFO(all(r));
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[0].status == 600);
    CHECK(r.txs[0].response_body_bytes == 2);
    CHECK_FALSE(r.txs[0].uncertain);
    CHECK(r.txs[1].status == 200);
    CHECK_FALSE(r.txs[1].pipelined);
}

TEST_CASE("near miss: http_malformed_response") {
    // Status lines without a reason phrase, with and without the SP before
    // it: both legal ([SP reason]; RFC 9112 4 allows an empty reason).
    const auto r = run({C(get("/a")), S(ok("a")), C(get("/b")), S("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"),
                        C(get("/c")), S("HTTP/1.1 204 \r\n\r\n"), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_malformed_response) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 3);
    CHECK(r.txs[1].status == 200);
    CHECK(r.txs[1].reason().empty());
    CHECK(r.txs[2].status == 204);
    CHECK(r.txs[2].response_complete);
}

// ---------------------------------------------------------------------------
// http_malformed_header
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_malformed_header") {
    SUBCASE("whitespace before the colon") {
        const auto r = run({C(get("/a")), S(ok("a")), C("GET /b HTTP/1.1\r\nHost: h\r\nX-Bad : 1\r\n\r\n"), S(ok("b")),
                            EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_malformed_header) == F{3});
        CHECK(first(r, AnomalyKind::http_malformed_header).dir == FlowDir::client_to_server);
    }
    SUBCASE("no colon, and an empty name, in a response") {
        const auto r = run({C(get("/a")), S(ok("a")), C(get("/b")),
                            S("HTTP/1.1 200 OK\r\nNoColonHere\r\n: empty\r\nContent-Length: 0\r\n\r\n"), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_malformed_header) == F({4, 4}));
        CHECK(first(r, AnomalyKind::http_malformed_header).dir == FlowDir::server_to_client);
    }
}

TEST_CASE("near miss: http_malformed_header") {
    // Whitespace after the colon (or none at all) and an empty value are legal.
    const auto r = run({C(get("/a")), S(ok("a")), C("GET /b HTTP/1.1\r\nHost:h\r\nX-Empty:\r\nX-Spaces:   v   \r\n\r\n"),
                        S(ok("b")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_malformed_header) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].host() == "h");
}

// ---------------------------------------------------------------------------
// http_header_too_large
// ---------------------------------------------------------------------------

namespace {
// A request whose header block (start line to the final CRLF) is `size`
// bytes; the start line comes in its own packet.
const std::string kLine = "GET /big HTTP/1.1\r\n";
std::string fields_for_block(size_t size) {
    const std::string pre = "Host: h\r\nX-Pad: ", post = "\r\n\r\n";
    return pre + std::string(size - kLine.size() - pre.size() - post.size(), 'p') + post;
}
}  // namespace

TEST_CASE("fires: http_header_too_large") {
    SUBCASE("one byte over --http-max-header-bytes") {
        HttpConfig cfg;
        cfg.max_header_bytes = 200;
        REQUIRE(kLine.size() + fields_for_block(201).size() == 201);
        const auto r = run({C(get("/a")), S(ok("a")), C(kLine), C(fields_for_block(201)), EndC(), EndS()}, cfg);
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_header_too_large) == F{4});
        CHECK(first(r, AnomalyKind::http_header_too_large).dir == FlowDir::client_to_server);
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[1].uri() == "/big");   // the start line is still known
        CHECK_FALSE(r.txs[1].request_complete);
    }
    SUBCASE("one line over --http-max-headers") {
        HttpConfig cfg;
        cfg.max_headers = 3;
        const auto r = run({C(get("/a")), S(ok("a")), C("GET /many HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"),
                            EndC(), EndS()},
                           cfg);
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_header_too_large) == F{3});
    }
}

TEST_CASE("near miss: http_header_too_large") {
    SUBCASE("header block exactly --http-max-header-bytes") {
        HttpConfig cfg;
        cfg.max_header_bytes = 200;
        REQUIRE(kLine.size() + fields_for_block(200).size() == 200);
        const auto r =
            run({C(get("/a")), S(ok("a")), C(kLine), C(fields_for_block(200)), S(ok("big")), EndC(), EndS()}, cfg);
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_header_too_large) == kNone);
        CHECK(r.fs.empty());
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[1].request_complete);
        CHECK(r.txs[1].status == 200);
    }
    SUBCASE("exactly --http-max-headers lines") {
        HttpConfig cfg;
        cfg.max_headers = 3;
        const auto r = run({C(get("/a")), S(ok("a")), C("GET /many HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), S(ok("m")),
                            EndC(), EndS()},
                           cfg);
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_header_too_large) == kNone);
        CHECK(r.fs.empty());
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[1].request_complete);
    }
}

// ---------------------------------------------------------------------------
// http_bad_content_length
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_bad_content_length") {
    SUBCASE("two values that disagree") {
        const auto r = run({C(get("/a")), S(ok("a")),
                            C("POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
                            S(ok("b")), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_bad_content_length) == F{3});
        CHECK(first(r, AnomalyKind::http_bad_content_length).dir == FlowDir::client_to_server);
    }
    SUBCASE("not a number") {
        const auto r = run({C(get("/a")), S("HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n0123456789abcdef"), EndC(),
                            EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_bad_content_length) == F{2});
        CHECK(first(r, AnomalyKind::http_bad_content_length).dir == FlowDir::server_to_client);
    }
}

TEST_CASE("near miss: http_bad_content_length") {
    // Identical duplicate values, as separate fields and as a list, are one value.
    const auto r = run({C(get("/a")), S(ok("a")),
                        C("POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"), S(ok("b")),
                        C("POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nworld"), S(ok("c")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_bad_content_length) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 3);
    CHECK(r.txs[1].request_body_bytes == 5);
    CHECK(r.txs[1].request_complete);
    CHECK(r.txs[2].request_body_bytes == 5);
    CHECK(r.txs[2].request_complete);
}

// ---------------------------------------------------------------------------
// http_content_length_with_chunked
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_content_length_with_chunked") {
    const auto r =
        run({C(get("/a")), S(ok("a")),
             C("POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
             S(ok("b")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_content_length_with_chunked) == F{3});
    CHECK(first(r, AnomalyKind::http_content_length_with_chunked).dir == FlowDir::client_to_server);
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].request_chunked);          // chunked wins
    CHECK(r.txs[1].request_body_bytes == 5);
}

// ---------------------------------------------------------------------------
// http_transfer_encoding_in_http10
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_transfer_encoding_in_http10") {
    // HTTP/1.0 with Transfer-Encoding and Content-Length: the framing is
    // faulty (RFC 9112 6.1); before, "abc" was read as a chunk size 0xabc.
    const auto r = run({C(get("/a")), S(ok("a")),
                        C("POST /b HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc"),
                        S(ok("b")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_transfer_encoding_in_http10) == F{3});
    CHECK(first(r, AnomalyKind::http_transfer_encoding_in_http10).dir == FlowDir::client_to_server);
    CHECK(frames(r, AnomalyKind::http_content_length_with_chunked) == kNone);
    CHECK(frames(r, AnomalyKind::http_body_truncated) == kNone);
    REQUIRE(r.txs.size() >= 2);
    CHECK(r.txs[1].method() == "POST");
    CHECK_FALSE(r.txs[1].request_complete);
}

TEST_CASE("near miss: http_transfer_encoding_in_http10") {
    // The same message as HTTP/1.1 is chunked (with its CL finding), and an
    // HTTP/1.0 message with Content-Length alone is fine.
    const auto r = run({C(get("/a")), S(ok("a")),
                        C("POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
                        S(ok("b")),
                        C("POST /c HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"),
                        S(ok("c")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_transfer_encoding_in_http10) == kNone);
    REQUIRE(r.txs.size() == 3);
    CHECK(r.txs[1].request_chunked);
    CHECK(r.txs[1].request_body_bytes == 3);
    CHECK(r.txs[2].request_body_bytes == 3);
    CHECK(r.txs[2].request_complete);
}

TEST_CASE("fires: http_content_length_with_chunked: a response coding other than chunked") {
    // RFC 9112 6.3: Transfer-Encoding overrides Content-Length; on a response
    // whose coding does not end in chunked the body runs to the close, and
    // what a length-framing peer saw as the next response is body here.
    const auto r = run({C(get("/1")), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nxx"),
                        C(get("/2")), S(ok("2")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_content_length_with_chunked) == F{2});
    REQUIRE(find(r, AnomalyKind::http_content_length_with_chunked) != nullptr);
    CHECK(first(r, AnomalyKind::http_content_length_with_chunked).dir == FlowDir::server_to_client);
    REQUIRE(r.txs.size() >= 1);
    CHECK(r.txs[0].response_body_bytes > 2);   // read until the close
}

TEST_CASE("near miss: http_content_length_with_chunked") {
    // Transfer-Encoding: chunked alone.
    const auto r = run({C(get("/a")), S(ok("a")),
                        C("POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                        S(ok("b")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_content_length_with_chunked) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].request_chunked);
    CHECK(r.txs[1].request_body_bytes == 5);
    CHECK(r.txs[1].request_complete);
}

// ---------------------------------------------------------------------------
// http_header_truncated
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_header_truncated") {
    SUBCASE("a request's header block cut by the client's FIN: the request is still reported") {
        // Before, the request vanished: no transaction, no finding.
        const auto r = run({C(get("/a")), S(ok("a")), C("GET /b HTTP/1.1\r\nHost: h\r\nAccept: */"), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_header_truncated) == F{3});
        REQUIRE(find(r, AnomalyKind::http_header_truncated) != nullptr);
        CHECK(first(r, AnomalyKind::http_header_truncated).dir == FlowDir::client_to_server);
        CHECK(first(r, AnomalyKind::http_header_truncated).detail.find("'GET /b HTTP/1.1'") != std::string::npos);
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[1].uri() == "/b");
        CHECK_FALSE(r.txs[1].request_complete);
        CHECK_FALSE(r.txs[1].has_response);
        CHECK(frames(r, AnomalyKind::http_request_without_response) == F{3});
    }
    SUBCASE("a response's header block cut by a RST: paired with its request, incomplete") {
        const auto r = run({C(get("/a")), S("HTTP/1.1 502 Bad Gateway\r\nServer: x\r\nConte"), EndS(EndReason::rst), EndC()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_header_truncated) == F{2});
        REQUIRE(find(r, AnomalyKind::http_header_truncated) != nullptr);
        CHECK(first(r, AnomalyKind::http_header_truncated).detail.find("ended by RST") != std::string::npos);
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].status == 502);
        CHECK_FALSE(r.txs[0].response_complete);
        CHECK(frames(r, AnomalyKind::http_request_without_response) == kNone);
    }
    SUBCASE("a request line cut once the connection is known to be HTTP") {
        const auto r = run({C(get("/a")), S(ok("a")), C("GET /b HTT"), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_header_truncated) == F{3});
        REQUIRE(find(r, AnomalyKind::http_header_truncated) != nullptr);
        CHECK(first(r, AnomalyKind::http_header_truncated).detail.find("request line ended by FIN after 10 bytes") !=
              std::string::npos);
        CHECK(r.txs.size() == 1);   // no request line, no request
    }
}

TEST_CASE("near miss: http_header_truncated") {
    // Complete heads with truncated bodies are http_body_truncated; an empty
    // tail and a first line that is no HTTP at all (no evidence) say nothing.
    const auto r = run({C(get("/a")), S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), C("\r\n"), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_header_truncated) == kNone);
    CHECK(frames(r, AnomalyKind::http_body_truncated) == F{2});
    // A bare word after a bodyless request is no attempt at a request line
    // (more likely unframed body bytes).
    const auto word = run({C("POST /p HTTP/1.1\r\nHost: h\r\n\r\nname"), S(ok("a")), EndC(), EndS()});
    CHECK(frames(word, AnomalyKind::http_header_truncated) == kNone);
    const auto first = run({C("GET /no-end-of-line"), EndC(), EndS()});
    CHECK(frames(first, AnomalyKind::http_header_truncated) == kNone);
    CHECK(first.fs.empty());
}

// ---------------------------------------------------------------------------
// http_bad_chunk
// ---------------------------------------------------------------------------

namespace {
const std::string kChunkedHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
}

TEST_CASE("fires: http_bad_chunk") {
    SUBCASE("chunk size not hexadecimal") {
        const auto r = run({C(get("/a")), S(kChunkedHead), S("5\r\nhello\r\n"), S("zz\r\nhi\r\n0\r\n\r\n"), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_bad_chunk) == F{4});
        CHECK(first(r, AnomalyKind::http_bad_chunk).dir == FlowDir::server_to_client);
        REQUIRE(r.txs.size() == 1);
        CHECK_FALSE(r.txs[0].response_complete);
    }
    SUBCASE("chunk data not followed by CRLF") {
        const auto r = run({C(get("/a")), S(kChunkedHead), S("5\r\nhelloXX\r\n0\r\n\r\n"), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_bad_chunk) == F{3});
    }
    SUBCASE("chunk size overflowing 64 bits") {
        const auto r = run({C(get("/a")), S(kChunkedHead), S("10000000000000000\r\n"), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_bad_chunk) == F{3});
    }
}

TEST_CASE("near miss: http_bad_chunk") {
    // Upper-case hex sizes with chunk extensions (and BWS before the ';'), a
    // 16-digit size that fits in 64 bits, and a trailer field.
    const auto r = run({C(get("/a")), S(kChunkedHead), S("A;name=value\r\n0123456789\r\n"),
                        S("1F ; ext\r\n" + std::string(31, 'x') + "\r\n"), S("000000000000000B\r\nhello world\r\n"),
                        S("0\r\nX-Trailer: t\r\n\r\n"), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_bad_chunk) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 1);
    CHECK(r.txs[0].response_chunked);
    CHECK(r.txs[0].response_body_bytes == 10 + 31 + 11);
    CHECK(r.txs[0].response_complete);
    CHECK(r.txs[0].response_end_ts == 6 * kMs);
}

// ---------------------------------------------------------------------------
// http_body_truncated
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_body_truncated") {
    SUBCASE("Content-Length body cut by FIN: the last data frame of the body") {
        const auto r = run({C(get("/a")), S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123"), S("456"), EndS(),
                            EndC()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_body_truncated) == F{3});
        const Finding* f = find(r, AnomalyKind::http_body_truncated);
        REQUIRE(f != nullptr);
        CHECK(f->dir == FlowDir::server_to_client);
        CHECK(f->detail.find("7 of 10") != std::string::npos);
        REQUIRE(r.txs.size() == 1);
        CHECK_FALSE(r.txs[0].response_complete);
    }
    SUBCASE("chunked request body cut by RST before the last chunk") {
        const auto r =
            run({C("POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"), C("4\r\nabcd\r\n"),
                 EndC(EndReason::rst), EndS(EndReason::rst)});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_body_truncated) == F{2});
        CHECK(first(r, AnomalyKind::http_body_truncated).dir == FlowDir::client_to_server);
        CHECK(first(r, AnomalyKind::http_body_truncated).detail.find("before the last chunk") != std::string::npos);
    }
    SUBCASE("chunked response cut after its last chunk, inside the trailer section: said as such") {
        const auto r = run({C(get("/a")), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"), EndS(),
                            EndC()});
        INFO(all(r));
        const Finding* f = find(r, AnomalyKind::http_body_truncated);
        REQUIRE(f != nullptr);
        CHECK(f->detail == "chunked body ended by FIN after 5 bytes, after the last chunk but before the end of its trailer section");
    }
}

TEST_CASE("near miss: http_body_truncated") {
    // The body is exactly as long as announced, then FIN.
    const auto r =
        run({C(get("/a")), S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123"), S("456789"), EndS(), EndC()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_body_truncated) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 1);
    CHECK(r.txs[0].response_complete);
    CHECK(r.txs[0].response_body_bytes == 10);
}

// ---------------------------------------------------------------------------
// http_request_after_close
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_request_after_close") {
    SUBCASE("the client announced close on its previous request") {
        const auto r = run({C("GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), S(ok("a")), C(get("/b")),
                            S(ok("b")), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_request_after_close) == F{3});
        CHECK(first(r, AnomalyKind::http_request_after_close).dir == FlowDir::client_to_server);
    }
    SUBCASE("the server announced close: frame2 names its response") {
        const auto r = run({C(get("/a")), S("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
                            C(get("/b")), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_request_after_close) == F{3});
        CHECK(first(r, AnomalyKind::http_request_after_close).frame2 == 2);
    }
}

TEST_CASE("near miss: http_request_after_close") {
    // The same two exchanges without Connection: close (HTTP/1.1 is persistent),
    // and an HTTP/1.0 pair that asks for keep-alive.
    const auto r = run({C(get("/a")), S(ok("a")), C(get("/b")), S(ok("b")),
                        C("GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
                        S("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nc"),
                        C("GET /d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
                        S("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nd"), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_request_after_close) == kNone);
    CHECK(r.fs.empty());
    CHECK(r.txs.size() == 4);
}

// ---------------------------------------------------------------------------
// http_pipeline_depth
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_pipeline_depth") {
    HttpConfig cfg;
    cfg.max_pipeline = 2;
    const auto r = run({C(get("/1")), C(get("/2")), C(get("/3")), S(ok("x")), S(ok("y")), EndC(), EndS()}, cfg);
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_pipeline_depth) == F{3});
    const Finding* f = find(r, AnomalyKind::http_pipeline_depth);
    REQUIRE(f != nullptr);
    CHECK(f->frame2 == 1);   // the dropped oldest request
    CHECK(f->detail.find("/1") != std::string::npos);
    CHECK(frames(r, AnomalyKind::http_request_without_response) == kNone);   // not reported twice
}

TEST_CASE("near miss: http_pipeline_depth") {
    // Exactly --http-max-pipeline requests outstanding, then all answered.
    HttpConfig cfg;
    cfg.max_pipeline = 2;
    const auto r = run({C(get("/1")), C(get("/2")), S(ok("x")), C(get("/3")), S(ok("y")), S(ok("z")), EndC(), EndS()}, cfg);
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_pipeline_depth) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 3);
    CHECK(r.txs[1].pipelined);
    CHECK(r.txs[2].pipelined);
    for (const auto& t : r.txs) CHECK(t.status == 200);
}

// ---------------------------------------------------------------------------
// http_data_after_upgrade_failure
// ---------------------------------------------------------------------------

namespace {
const std::string kConnect = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
const std::string kTls = std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11);
}  // namespace

TEST_CASE("fires: http_data_after_upgrade_failure") {
    SUBCASE("tunnel bytes after the refusal") {
        const auto r = run({C(get("/a")), S(ok("a")), C(kConnect), S(status(403, "Forbidden")), C(kTls), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_data_after_upgrade_failure) == F{5});
        CHECK(first(r, AnomalyKind::http_data_after_upgrade_failure).dir == FlowDir::client_to_server);
        CHECK(frames(r, AnomalyKind::http_malformed_request) == kNone);
    }
    SUBCASE("tunnel bytes sent before the refusal arrived: frame2 names the refusal") {
        const auto r = run({C(kConnect), C(kTls), S(status(407, "Proxy Authentication Required")), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_data_after_upgrade_failure) == F{2});
        CHECK(first(r, AnomalyKind::http_data_after_upgrade_failure).frame2 == 3);
    }
}

TEST_CASE("fires: http_data_after_upgrade_failure -- refused by a broken status line") {
    // The broken answer to CONNECT is no switch: the held tunnel bytes are
    // reported and the client's side resumes at its next request line.
    const auto r = run({C(kConnect), C(kTls), S("HTTP/1.1 4O3 Forbidden\r\n\r\n"), C(get("/next")), S(ok("n")), EndC(),
                        EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_malformed_response) == F{3});
    CHECK(frames(r, AnomalyKind::http_data_after_upgrade_failure) == F{2});
    REQUIRE(find(r, AnomalyKind::http_data_after_upgrade_failure) != nullptr);
    CHECK(first(r, AnomalyKind::http_data_after_upgrade_failure).frame2 == 3);
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[0].has_response);
    CHECK(r.txs[0].status == 0);
    CHECK(r.txs[1].uri() == "/next");
    CHECK(r.txs[1].status == 200);
}

TEST_CASE("near miss: http_data_after_upgrade_failure") {
    // The same tunnel bytes after a 200 to CONNECT: a tunnel, HTTP ends.
    const auto r = run({C(get("/a")), S(ok("a")), C(kConnect), S("HTTP/1.1 200 Connection established\r\n\r\n"), C(kTls),
                        S(kTls), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_data_after_upgrade_failure) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].tunnel);
    CHECK(r.txs[1].status == 200);
}

// ---------------------------------------------------------------------------
// http_client_error / http_server_error
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_client_error") {
    const auto r = run({C(get("/a")), S(ok("a")), C(get("/missing")), S(status(404, "Not Found")), C(get("/z")),
                        S(status(400, "Bad Request")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_client_error) == F({4, 6}));
    const Finding* f = find(r, AnomalyKind::http_client_error);
    REQUIRE(f != nullptr);
    CHECK(f->dir == FlowDir::server_to_client);
    CHECK(f->detail.find("404") != std::string::npos);
    CHECK(frames(r, AnomalyKind::http_server_error) == kNone);
}

TEST_CASE("near miss: http_client_error") {
    // 399 is the last 3xx: not a client error.
    const auto r = run({C(get("/a")), S(ok("a")), C(get("/b")), S(status(399, "Odd Redirect")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_client_error) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].status == 399);
}

TEST_CASE("fires: http_server_error") {
    const auto r = run({C(get("/a")), S(ok("a")), C(get("/boom")), S(status(500, "Internal Server Error")), C(get("/c")),
                        S(status(599, "Network Connect Timeout")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_server_error) == F({4, 6}));
    const Finding* f = find(r, AnomalyKind::http_server_error);
    REQUIRE(f != nullptr);
    CHECK(f->dir == FlowDir::server_to_client);
    CHECK(f->detail.find("500") != std::string::npos);
    CHECK(frames(r, AnomalyKind::http_client_error) == kNone);
}

TEST_CASE("near miss: http_server_error") {
    // 499 is the last 4xx: a client error, not a server error.
    const auto r = run({C(get("/a")), S(ok("a")), C(get("/b")), S(status(499, "Client Closed Request")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_server_error) == kNone);
    CHECK(frames(r, AnomalyKind::http_client_error) == F{4});
}

// ---------------------------------------------------------------------------
// http_slow_response
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_slow_response") {
    HttpConfig cfg;
    cfg.slow_response_ns = 200 * kMs;
    // Request ends at 10 ms; the first response byte comes 1 ns past the threshold.
    const auto r = run({C(get("/slow"), 10 * kMs), S(ok("x"), 210 * kMs + 1), EndC(), EndS()}, cfg);
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_slow_response) == F{2});
    const Finding* f = find(r, AnomalyKind::http_slow_response);
    REQUIRE(f != nullptr);
    CHECK(f->dir == FlowDir::server_to_client);
    CHECK(f->ts_ns == 210 * kMs + 1);
}

TEST_CASE("near miss: http_slow_response") {
    HttpConfig cfg;
    cfg.slow_response_ns = 200 * kMs;
    // Just under the threshold, and exactly at it (exceeded means more than).
    const auto r = run({C(get("/a"), 10 * kMs), S(ok("x"), 210 * kMs - 1), C(get("/b"), 300 * kMs),
                        S(ok("y"), 500 * kMs), EndC(), EndS()},
                       cfg);
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_slow_response) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].response_ts - r.txs[1].request_end_ts == 200 * kMs);
}

// ---------------------------------------------------------------------------
// http_gap
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_gap") {
    SUBCASE("inside a body of known length: the frame after the hole, transaction partial") {
        const auto r = run({C(get("/a")), S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), GapS(4), S("hij"),
                            C(get("/b")), S(ok("b")), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_gap) == F{4});
        CHECK(first(r, AnomalyKind::http_gap).dir == FlowDir::server_to_client);
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[0].partial);
        CHECK(r.txs[0].response_complete);
        CHECK_FALSE(r.txs[1].partial);   // pairing intact
        CHECK(r.txs[1].status == 200);
    }
    SUBCASE("inside a header block: the message ends there, next transaction uncertain") {
        const auto r = run({C(get("/a")), S(ok("a")), C("GET /b HTTP/1.1\r\nHo"), GapC(20), C(get("/c")), S(ok("b")),
                            EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_gap) == F{5});
        CHECK(first(r, AnomalyKind::http_gap).dir == FlowDir::client_to_server);
        REQUIRE(r.txs.size() == 3);
        CHECK(r.txs[1].uri() == "/b");   // its request line was captured: it is still a request
        CHECK(r.txs[1].partial);
        CHECK_FALSE(r.txs[1].request_complete);
        CHECK(r.txs[1].status == 200);
        CHECK(r.txs[2].uri() == "/c");
        CHECK(r.txs[2].uncertain);
    }
}

TEST_CASE("near miss: http_gap") {
    // A hole in the stream after HTTP ended: the tunnel bytes after a 200 to
    // CONNECT, and the bytes after 101 Switching Protocols, are not HTTP.
    SUBCASE("CONNECT tunnel") {
        const auto r = run({C(kConnect), S("HTTP/1.1 200 Connection established\r\n\r\n"), C(kTls), GapC(100), C(kTls),
                            GapS(50), S(kTls), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_gap) == kNone);
        CHECK(r.fs.empty());
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].tunnel);
        CHECK_FALSE(r.txs[0].partial);
    }
    SUBCASE("101 Switching Protocols") {
        const auto r = run({C("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
                            S("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
                            C("\x81\x05hello"), GapC(7), GapS(9), S("\x81\x02hi"), EndC(), EndS()});
        INFO(all(r));
        CHECK(frames(r, AnomalyKind::http_gap) == kNone);
        CHECK(r.fs.empty());
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].upgraded);
    }
}

// ---------------------------------------------------------------------------
// http_obsolete_line_folding
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_obsolete_line_folding") {
    const auto r = run({C(get("/a")), S(ok("a")), C("GET /b HTTP/1.1\r\nHost: h\r\nUser-Agent: agent/1\r\n  (folded)\r\n\r\n"),
                        S(ok("b")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_obsolete_line_folding) == F{3});
    CHECK(first(r, AnomalyKind::http_obsolete_line_folding).dir == FlowDir::client_to_server);
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].user_agent() == "agent/1 (folded)");   // unfolded with a space
}

TEST_CASE("near miss: http_obsolete_line_folding") {
    // Tabs inside a value (and as the whitespace after the colon) are legal
    // field content, not a continuation line.
    const auto r = run({C(get("/a")), S(ok("a")), C("GET /b HTTP/1.1\r\nHost: h\r\nUser-Agent:\tagent/1\t(tab)\r\n\r\n"),
                        S(ok("b")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_obsolete_line_folding) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].user_agent() == "agent/1\t(tab)");
}

// ---------------------------------------------------------------------------
// http_bare_lf
// ---------------------------------------------------------------------------

TEST_CASE("fires: http_bare_lf") {
    // One header line of the second request ends in LF only; reported once.
    const auto r = run({C(get("/a")), S(ok("a")), C("GET /b HTTP/1.1\r\nHost: h\nAccept: */*\n\r\n"), S(ok("b")),
                        C("GET /c HTTP/1.1\nHost: h\n\n"), S(ok("c")), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_bare_lf) == F{3});
    CHECK(first(r, AnomalyKind::http_bare_lf).dir == FlowDir::client_to_server);
    CHECK(r.txs.size() == 3);
}

TEST_CASE("near miss: http_bare_lf") {
    // CRLF everywhere: start lines, fields, chunk-size lines, after chunk
    // data, trailers, the final empty line.
    const auto r = run({C(get("/a")), S(ok("a")),
                        C("POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n"),
                        S(kChunkedHead + "2\r\nok\r\n0\r\nX-Trailer: t\r\n\r\n"), EndC(), EndS()});
    INFO(all(r));
    CHECK(frames(r, AnomalyKind::http_bare_lf) == kNone);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].request_complete);
    CHECK(r.txs[1].response_complete);
}
