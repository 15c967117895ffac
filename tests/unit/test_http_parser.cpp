// HTTP/1.x message parsing and body framing (src/http/message_parser.cpp),
// driven through HttpStream the way the TCP layer drives it: content
// detection, start lines, header fields, Content-Length, chunked (extensions,
// trailers, bad sizes, 64-bit overflow), HEAD/1xx/204/304, close-delimited
// bodies, CL+TE, obs-fold, bare LF, malformed lines, header limits, truncation.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "../../src/http/message_parser.hpp"
#include "pcaplens/http/http.hpp"
#include "support/http_script.hpp"

using namespace pcaplens;

namespace {

using namespace pcaplens::testing::http_script;

// Event i happens at ts (i+1) us and is frame i+1.
int64_t ts_of(size_t i) { return static_cast<int64_t>(i + 1) * 1000; }

Result run(const std::vector<Ev>& evs, const HttpConfig& cfg = HttpConfig{}) { return run_script(evs, cfg, 42, 1000); }

std::string kinds(const Result& r) {
    std::string s;
    for (const auto& f : r.fs) s += std::string(kind_name(f.kind)) + "(" + f.detail + ") ";
    return s;
}

const std::string kGet = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
const std::string kOk0 = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

}  // namespace

TEST_SUITE("http parser") {

TEST_CASE("Content-Length request and response: fields, bodies, timestamps, frames") {
    const auto r = run({C("POST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8\r\nContent-Length: 10\r\n\r\nhello"),
                        C("world"),
                        S("HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n"),
                        S("abc"), EndC(), EndS()});
    INFO(kinds(r));
    CHECK(r.http);
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 1);
    const auto& t = r.txs[0];
    CHECK(t.method() == "POST");
    CHECK(t.uri() == "/upload?x=1");
    CHECK(t.version() == "HTTP/1.1");
    CHECK(t.host() == "example.com");
    CHECK(t.user_agent() == "curl/8");
    CHECK(t.has_request);
    CHECK(t.request_complete);
    CHECK(t.request_body_bytes == 10);
    CHECK(t.request_wire_body_bytes == 10);
    CHECK(t.request_ts == ts_of(0));
    CHECK(t.request_end_ts == ts_of(1));
    CHECK(t.request_frame == 1);
    CHECK(t.status == 201);
    CHECK(t.reason() == "Created");
    CHECK(t.response_version() == "HTTP/1.1");
    CHECK(t.content_type() == "text/plain");
    CHECK(t.response_ts == ts_of(2));
    CHECK(t.response_end_ts == ts_of(3));
    CHECK(t.response_frame == 3);
    CHECK(t.response_body_bytes == 3);
    CHECK(t.response_complete);
    CHECK_FALSE(t.pipelined);
    CHECK_FALSE(t.partial);
    CHECK_FALSE(t.uncertain);
    CHECK(r.total == 1);
}

TEST_CASE("header block beyond 64 KiB under a raised limit: the fields after it are still read") {
    // Line ends are remembered in 16 bits; past offset 65535 they are
    // searched for again. Host, Content-Length and User-Agent come after a
    // 70,000-byte field, in one segment and split in the long field.
    HttpConfig cfg;
    cfg.max_header_bytes = 256 * 1024;
    const std::string head = "POST /big HTTP/1.1\r\nX-Big: " + std::string(70000, 'x') +
                             "\r\nHost: far.example\r\nContent-Length: 5\r\nUser-Agent: ua/1\r\n\r\n";
    for (const size_t cut : {head.size(), size_t{40000}, size_t{65530}}) {
        CAPTURE(cut);
        std::vector<Ev> evs;
        evs.push_back(C(head.substr(0, cut)));
        if (cut < head.size()) evs.push_back(C(head.substr(cut)));
        for (const Ev& e : {C("hello" + kGet), S(kOk0 + kOk0), EndC(), EndS()}) evs.push_back(e);
        const auto r = run(evs, cfg);
        INFO(kinds(r));
        CHECK(r.fs.empty());
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[0].host() == "far.example");
        CHECK(r.txs[0].user_agent() == "ua/1");
        CHECK(r.txs[0].request_body_bytes == 5);
        CHECK(r.txs[0].request_complete);
        CHECK(r.txs[1].uri() == "/");
        CHECK(r.txs[1].host() == "a");
    }
}

TEST_CASE("Content-Length: identical list values are one value; Content-Length 0") {
    const auto r = run({C("POST / HTTP/1.1\r\nContent-Length: 4, 4\r\nContent-Length: 4\r\n\r\nabcd"),
                        S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), C(kGet), S(kOk0)});
    INFO(kinds(r));
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[0].request_body_bytes == 4);
    CHECK(r.txs[0].response_complete);
    CHECK(r.txs[0].response_body_bytes == 0);
    CHECK(r.txs[1].status == 200);
}

TEST_CASE("chunked with extensions and trailers, in both directions") {
    const std::string body = "5;name=val\r\nhello\r\n6 ; x=\"y\"\r\n world\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n";
    const auto r = run({C("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + body + kGet),
                        S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body + "HTTP/1.1 204 No Content\r\n\r\n"),
                        EndC(), EndS()});
    INFO(kinds(r));
    REQUIRE(r.txs.size() == 2);
    const auto& t = r.txs[0];
    CHECK(t.request_chunked);
    CHECK(t.request_complete);
    CHECK(t.request_body_bytes == 11);
    CHECK(t.request_wire_body_bytes == body.size());
    CHECK(t.response_chunked);
    CHECK(t.response_complete);
    CHECK(t.response_body_bytes == 11);
    CHECK(t.response_wire_body_bytes == body.size());
    // The 204 that followed in the same segment answers the second request.
    CHECK(r.txs[1].status == 204);
    CHECK(r.txs[1].response_complete);
    CHECK(r.fs.empty());
}

TEST_CASE("chunked: chunk data not followed by CRLF is a bad chunk") {
    const auto r = run({C(kGet), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n"), C(kGet),
                        S(kOk0)});
    INFO(kinds(r));
    CHECK(count(r, AnomalyKind::http_bad_chunk) == 1);
    REQUIRE(r.txs.size() == 2);
    CHECK_FALSE(r.txs[0].response_complete);
    // The server direction stopped: the second request gets no response.
    CHECK(r.txs[1].status == 0);
    CHECK(count(r, AnomalyKind::http_request_without_response) == 1);
}

TEST_CASE("chunked: size not hexadecimal") {
    const auto r = run({C(kGet), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")});
    const Finding* f = find(r, AnomalyKind::http_bad_chunk);
    REQUIRE(f != nullptr);
    CHECK(f->detail.find("not hexadecimal") != std::string::npos);
    CHECK(f->dir == FlowDir::server_to_client);
    CHECK(f->frame == 2);
    CHECK(f->connection == 42);
}

TEST_CASE("chunked: a size overflowing 64 bits is caught (no UB)") {
    for (const char* size : {"FFFFFFFFFFFFFFFF0", "10000000000000000", "fffffffffffffffffffffffffffffffff"}) {
        CAPTURE(size);
        const auto r = run({C(kGet), S(std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + size + "\r\nabc"),
                            EndS()});
        const Finding* f = find(r, AnomalyKind::http_bad_chunk);
        REQUIRE(f != nullptr);
        CHECK(f->detail.find("overflows 64 bits") != std::string::npos);
        CHECK(f->detail.find(std::string(size).substr(0, 17)) != std::string::npos);
        REQUIRE(r.txs.size() == 1);
        CHECK_FALSE(r.txs[0].response_complete);
        CHECK(count(r, AnomalyKind::http_body_truncated) == 0);  // parsing stopped at the bad chunk
    }
    // 16 significant digits (with leading zeros) is the largest size that fits: not an overflow.
    const auto r = run({C(kGet), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n000FFFFFFFFFFFFFFFF\r\nabc"), EndS()});
    INFO(kinds(r));
    CHECK(count(r, AnomalyKind::http_bad_chunk) == 0);
    CHECK(count(r, AnomalyKind::http_body_truncated) == 1);
    REQUIRE(r.txs.size() == 1);
    CHECK(r.txs[0].response_body_bytes == 3);
}

TEST_CASE("HEAD response has no body even with Content-Length / chunked") {
    const auto r = run({C("HEAD /big HTTP/1.1\r\nHost: a\r\n\r\nHEAD /c HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n"),
                        S("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
                        EndC(), EndS()});
    INFO(kinds(r));
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 3);
    CHECK(r.txs[0].response_complete);
    CHECK(r.txs[0].response_body_bytes == 0);
    CHECK(r.txs[1].response_complete);
    CHECK_FALSE(r.txs[1].response_chunked);
    CHECK(r.txs[2].method() == "GET");
    CHECK(r.txs[2].response_body_bytes == 2);
}

TEST_CASE("1xx, 204 and 304 have no body") {
    const auto r = run({C("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
                        S("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
                          "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
                          "HTTP/1.1 304 Not Modified\r\nContent-Length: 500\r\n\r\n"),
                        C("GET /c HTTP/1.1\r\n\r\n"), S("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"), EndC(), EndS()});
    INFO(kinds(r));
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 3);
    CHECK(r.txs[0].interim_statuses == std::vector<int>{103});
    CHECK(r.txs[0].status == 204);
    CHECK(r.txs[0].response_complete);
    CHECK(r.txs[1].status == 304);
    CHECK(r.txs[1].response_body_bytes == 0);
    CHECK(r.txs[2].status == 200);
    CHECK(r.txs[2].response_body_bytes == 1);
}

TEST_CASE("close-delimited response body ends at the server's end") {
    SUBCASE("FIN: complete") {
        const auto r = run({C(kGet), S("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>"), S("</html>"),
                            EndS(EndReason::fin), EndC()});
        INFO(kinds(r));
        CHECK(r.fs.empty());
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].response_complete);
        CHECK(r.txs[0].response_body_bytes == 13);
        CHECK(r.txs[0].response_end_ts == ts_of(2));
    }
    SUBCASE("RST: not known to be complete, no finding") {
        const auto r = run({C(kGet), S("HTTP/1.1 200 OK\r\n\r\nabc"), EndS(EndReason::rst), EndC()});
        INFO(kinds(r));
        CHECK(r.fs.empty());
        REQUIRE(r.txs.size() == 1);
        CHECK_FALSE(r.txs[0].response_complete);
        CHECK(r.txs[0].response_body_bytes == 3);
    }
}

TEST_CASE("bad Content-Length stops the direction") {
    SUBCASE("non-numeric on a request") {
        const auto r = run({C("POST / HTTP/1.1\r\nContent-Length: 12abc\r\n\r\nGET /hidden HTTP/1.1\r\n\r\n"),
                            S("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"), EndC(), EndS()});
        INFO(kinds(r));
        const Finding* f = find(r, AnomalyKind::http_bad_content_length);
        REQUIRE(f != nullptr);
        CHECK(f->detail.find("12abc") != std::string::npos);
        CHECK(f->dir == FlowDir::client_to_server);
        REQUIRE(r.txs.size() == 1);  // the smuggled GET is not parsed
        CHECK_FALSE(r.txs[0].request_complete);
        CHECK(r.txs[0].status == 400);
        CHECK(count(r, AnomalyKind::http_client_error) == 1);
    }
    SUBCASE("conflicting values on a request") {
        const auto r = run({C("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")});
        CHECK(count(r, AnomalyKind::http_bad_content_length) == 1);
    }
    SUBCASE("conflicting list on a response") {
        const auto r = run({C(kGet), S("HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd"), C(kGet),
                            S(kOk0), EndC(), EndS()});
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_bad_content_length) == 1);
        REQUIRE(r.txs.size() == 2);
        CHECK_FALSE(r.txs[0].response_complete);
        CHECK(r.txs[1].status == 0);  // response side stopped
    }
    SUBCASE("overflowing value") {
        const auto r = run({C("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n")});
        CHECK(count(r, AnomalyKind::http_bad_content_length) == 1);
    }
    SUBCASE("invalid on a 304 is reported but framing is unaffected") {
        const auto r = run({C(kGet + kGet), S("HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n" + kOk0), EndC(), EndS()});
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_bad_content_length) == 1);
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[1].status == 200);
    }
}

TEST_CASE("Content-Length with chunked: chunked wins") {
    const auto r = run({C("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n" + kGet),
                        S(kOk0 + kOk0), EndC(), EndS()});
    INFO(kinds(r));
    CHECK(count(r, AnomalyKind::http_content_length_with_chunked) == 1);
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[0].request_chunked);
    CHECK(r.txs[0].request_body_bytes == 4);
    CHECK(r.txs[0].request_complete);
    CHECK(r.txs[1].uri() == "/");
    CHECK(r.fs.size() == 1);
}

TEST_CASE("Transfer-Encoding not ending in chunked") {
    SUBCASE("request: undeterminable length -> http_bad_chunk, direction stops") {
        const auto r = run({C("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nGET / HTTP/1.1\r\n\r\n"), S(kOk0)});
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_bad_chunk) == 1);
        REQUIRE(r.txs.size() == 1);
        CHECK_FALSE(r.txs[0].request_complete);
    }
    SUBCASE("request: chunked twice") {
        const auto r = run({C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")});
        CHECK(count(r, AnomalyKind::http_bad_chunk) == 1);
    }
    SUBCASE("response: close-delimited") {
        const auto r = run({C(kGet), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n1234567"), EndS(), EndC()});
        INFO(kinds(r));
        CHECK(r.fs.empty());
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].response_body_bytes == 7);
        CHECK(r.txs[0].response_complete);
    }
}

TEST_CASE("obsolete line folding is unfolded with a space") {
    const auto r = run({C("GET / HTTP/1.1\r\nUser-Agent: Mozilla/5.0\r\n   (X11)\r\n\tGecko\r\nHost: h\r\n\r\n"), S(kOk0)});
    INFO(kinds(r));
    CHECK(count(r, AnomalyKind::http_obsolete_line_folding) == 1);
    REQUIRE(r.txs.size() == 1);
    CHECK(r.txs[0].user_agent() == "Mozilla/5.0 (X11) Gecko");
    CHECK(r.txs[0].host() == "h");
}

TEST_CASE("bare LF line endings are accepted and reported once per connection") {
    const auto r = run({C("GET /a HTTP/1.1\nHost: a\n\nGET /b HTTP/1.1\nHost: b\n\n"),
                        S("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\nT: 1\n\n"
                          "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
                        EndC(), EndS()});
    INFO(kinds(r));
    CHECK(count(r, AnomalyKind::http_bare_lf) == 1);
    CHECK(r.fs.size() == 1);
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[0].host() == "a");
    CHECK(r.txs[0].response_body_bytes == 3);
    CHECK(r.txs[0].response_complete);
    CHECK(r.txs[1].host() == "b");
    CHECK(r.txs[1].response_body_bytes == 2);
}

TEST_CASE("malformed request line: reported, queued for its answer, then resync at the next request line") {
    const auto r = run({C(kGet), S(kOk0), C("GET /a b HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\n\r\n"),
                        S("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" + kOk0), EndC(), EndS()});
    INFO(kinds(r));
    const Finding* f = find(r, AnomalyKind::http_malformed_request);
    REQUIRE(f != nullptr);
    CHECK(f->frame == 3);
    CHECK(f->detail.find("GET /a b HTTP/1.1") != std::string::npos);
    REQUIRE(r.txs.size() == 3);
    // The malformed line is kept (best effort) so that the 400 pairs with it,
    // and the header block after it is read into it (its framing found /next).
    CHECK(r.txs[1].method() == "GET");
    CHECK(r.txs[1].uri() == "/a b");
    CHECK(r.txs[1].version() == "HTTP/1.1");
    CHECK(r.txs[1].host() == "x");
    CHECK(r.txs[1].request_complete);
    CHECK(r.txs[1].status == 400);
    CHECK(r.txs[2].uri() == "/next");
    CHECK_FALSE(r.txs[2].uncertain);
    CHECK(r.txs[2].status == 200);
    CHECK_FALSE(r.txs[0].uncertain);
    CHECK(count(r, AnomalyKind::http_response_without_request) == 0);
    CHECK(count(r, AnomalyKind::http_request_without_response) == 0);
}

TEST_CASE("header block after a malformed request line: parsed into the queued request") {
    // zeek/http-methods.pcap: servers (and Zeek) read the header block after
    // such a line; Host, User-Agent and the body framing come from it.
    struct Case {
        const char* line;
        const char* uri;
    };
    for (const Case& c : {Case{"OPTIONS HTTP/1.1\n", ""}, Case{"GET / HTTP/1.\n", "/"}, Case{"GET /a b HTTP/1.1\r\n", "/a b"}}) {
        CAPTURE(c.line);
        SUBCASE("first line of the connection") {
            const auto r = run({C(std::string(c.line) + "Host: www.google.com\nUser-Agent: curl/7\nContent-Length: 4\n\nbody"),
                                S("HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n"), EndC(), EndS()});
            INFO(kinds(r));
            CHECK(count(r, AnomalyKind::http_malformed_request) == 1);
            REQUIRE(r.txs.size() == 1);
            CHECK(r.txs[0].uri() == c.uri);
            CHECK(r.txs[0].host() == "www.google.com");
            CHECK(r.txs[0].user_agent() == "curl/7");
            CHECK(r.txs[0].request_body_bytes == 4);
            CHECK(r.txs[0].request_complete);
            CHECK(r.txs[0].request_end_ts == ts_of(0));
            CHECK(r.txs[0].status == 400);
        }
        SUBCASE("after a request: the body framing finds the next request") {
            // Without the header block, "body" + the next line would be taken
            // as one garbage line and GET /next lost.
            const auto r = run({C(kGet), S(kOk0),
                                C(std::string(c.line) + "Host: h2\nContent-Length: 4\n\nbodyGET /next HTTP/1.1\r\n\r\n"),
                                S("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" + kOk0), EndC(), EndS()});
            INFO(kinds(r));
            CHECK(count(r, AnomalyKind::http_malformed_request) == 1);
            REQUIRE(r.txs.size() == 3);
            CHECK(r.txs[1].host() == "h2");
            CHECK(r.txs[1].request_body_bytes == 4);
            CHECK(r.txs[1].status == 400);
            CHECK(r.txs[2].uri() == "/next");
            CHECK_FALSE(r.txs[2].uncertain);
            CHECK(r.txs[2].status == 200);
        }
    }
    SUBCASE("chunked body and a second malformed line, each salvaged") {
        const auto r = run({C(kGet), S(kOk0),
                            C("POST /a b HTTP/1.1\r\nHost: one\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                              "GET / HTTP/1.\r\nHost: two\r\n\r\n" + kGet),
                            S("HTTP/1.1 400 A\r\nContent-Length: 0\r\n\r\nHTTP/1.1 400 B\r\nContent-Length: 0\r\n\r\n" + kOk0), EndC(),
                            EndS()});
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_malformed_request) == 2);
        REQUIRE(r.txs.size() == 4);
        CHECK(r.txs[1].host() == "one");
        CHECK(r.txs[1].request_chunked);
        CHECK(r.txs[1].request_body_bytes == 3);
        CHECK(r.txs[1].reason() == "A");
        CHECK(r.txs[2].host() == "two");
        CHECK(r.txs[2].reason() == "B");
        CHECK(r.txs[3].status == 200);
        CHECK(count(r, AnomalyKind::http_request_without_response) == 0);
    }
    SUBCASE("an empty line after it is an empty header block") {
        const auto r = run({C(kGet), S(kOk0), C("GET /a b HTTP/1.1\r\n\r\n" + kGet), S(kOk0 + kOk0), EndC(), EndS()});
        REQUIRE(r.txs.size() == 3);
        CHECK(r.txs[1].request_complete);
        CHECK(r.txs[1].host().empty());
        CHECK_FALSE(r.txs[2].uncertain);
    }
    SUBCASE("the header block's findings and limits apply") {
        HttpConfig cfg;
        cfg.max_header_bytes = 64;
        const auto r = run({C(kGet), S(kOk0), C("GET /a b HTTP/1.1\r\nHost: h\r\nCookie: " + std::string(100, 'c') + "\r\n\r\n"),
                            S(kOk0), EndC(), EndS()},
                           cfg);
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_header_too_large) == 1);
        REQUIRE(r.txs.size() == 2);   // no extra transaction for the overflowing block
        CHECK_FALSE(r.txs[1].request_complete);
        const auto b = run({C(kGet), S(kOk0), C("GET /a b HTTP/1.1\r\nContent-Length: x\r\n\r\n" + kGet), S(kOk0 + kOk0), EndC(),
                            EndS()});
        INFO(kinds(b));
        CHECK(count(b, AnomalyKind::http_bad_content_length) == 1);
        REQUIRE(b.txs.size() == 3);   // the client direction stopped: the second answer has no request
        CHECK_FALSE(b.txs[2].has_request);
    }
}

TEST_CASE("malformed first line: after its header block, resync until the connection proves to be HTTP") {
    // The first line is queued only when the server answers; a second bad line
    // queued before that would take its place in the FIFO.
    const auto r = run({C("OPTIONS HTTP/1.1\nHost: a\n\nGET / HTTP/1.\nHost: b\n\n"),
                        S("HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\nHTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
                        EndC(), EndS()});
    INFO(kinds(r));
    REQUIRE_FALSE(r.txs.empty());
    CHECK(r.txs[0].method() == "OPTIONS");
    CHECK(r.txs[0].host() == "a");
    CHECK(r.txs[0].status == 400);
    CHECK(count(r, AnomalyKind::http_malformed_request) == 1);
}

TEST_CASE("after a malformed request line, a line that is not a header field is not a header block") {
    SUBCASE("a request line: resync finds it, as before") {
        const auto r = run({C(kGet), S(kOk0), C("GET /a b HTTP/1.1\r\nGET /next HTTP/1.1\r\n\r\n"),
                            S("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" + kOk0), EndC(), EndS()});
        INFO(kinds(r));
        REQUIRE(r.txs.size() == 3);
        CHECK(r.txs[1].host().empty());
        CHECK_FALSE(r.txs[1].request_complete);
        CHECK(r.txs[2].uri() == "/next");
        CHECK(r.txs[2].uncertain);
        CHECK(r.txs[2].request_frame == 3);
    }
    SUBCASE("a token longer than 128 characters is not a field name") {
        const std::string name(200, 'X');
        const auto r = run({C(kGet), S(kOk0), C("GET /a b HTTP/1.1\r\n" + name + ": 1\r\nGET /n HTTP/1.1\r\n\r\n"), S(kOk0 + kOk0),
                            EndC(), EndS()});
        INFO(kinds(r));
        REQUIRE(r.txs.size() == 3);
        CHECK(r.txs[2].uri() == "/n");
        CHECK(count(r, AnomalyKind::http_malformed_header) == 0);
    }
    SUBCASE("the held-back bytes keep the frame they arrived in") {
        const auto r = run({C(kGet), S(kOk0), C("GET /a b HTTP/1.1\r\n"), C("GE"), C("T /n HTTP/1.1\r\n\r\n"), S(kOk0 + kOk0), EndC(),
                            EndS()});
        REQUIRE(r.txs.size() == 3);
        CHECK(r.txs[2].uri() == "/n");
        CHECK(r.txs[2].request_frame == 4);
        CHECK(r.txs[2].request_ts == ts_of(3));
    }
}

TEST_CASE("HTTP/0.9 simple request with a raw response") {
    // zeek/http-http_09.pcap
    const auto r = run({C("GET /zeek.html\n"), S("<html>\n  The Zeek Network Security Monitor\n</html>\n"), EndS(), EndC()});
    INFO(kinds(r));
    CHECK(r.http);
    CHECK(count(r, AnomalyKind::http_malformed_request) == 0);
    CHECK(count(r, AnomalyKind::http_malformed_response) == 0);
    CHECK(count(r, AnomalyKind::http_response_without_request) == 0);
    REQUIRE(r.txs.size() == 1);
    const HttpTransaction& t = r.txs[0];
    CHECK(t.method() == "GET");
    CHECK(t.uri() == "/zeek.html");
    CHECK(t.version() == "HTTP/0.9");
    CHECK(t.host().empty());
    CHECK(t.request_complete);
    CHECK(t.request_end_ts == ts_of(0));
    CHECK(t.has_response);
    CHECK(t.status == 0);
    CHECK(t.response_version() == "HTTP/0.9");
    CHECK(t.response_ts == ts_of(1));
    CHECK(t.response_frame == 2);
    CHECK(t.response_body_bytes == 51);
    CHECK(t.response_complete);   // ended by the server's FIN
    SUBCASE("any method of 3+ characters; ended by RST the response is incomplete") {
        const auto p = run({C("POST /zeek.html\r\n"), S("\r\nbad method\n"), EndS(EndReason::rst), EndC()});
        REQUIRE(p.txs.size() == 1);
        CHECK(p.txs[0].method() == "POST");
        CHECK(p.txs[0].response_body_bytes == 13);   // the leading CRLF is part of the raw response
        CHECK_FALSE(p.txs[0].response_complete);
    }
    SUBCASE("absolute-form target") {
        const auto p = run({C("GET http://example.com/x\r\n"), S("hello"), EndS(), EndC()});
        REQUIRE(p.txs.size() == 1);
        CHECK(p.txs[0].uri() == "http://example.com/x");
        CHECK(p.txs[0].version() == "HTTP/0.9");
    }
    SUBCASE("the line typed with an empty line after it; the server answers with a status line") {
        // zeek/mixed-vlan-mpls.pcap sends "GET /\r\n\r\n"
        const auto p = run({C("GET /\r\n\r\n"), S("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>"), EndS(), EndC()});
        INFO(kinds(p));
        CHECK(p.fs.empty());
        REQUIRE(p.txs.size() == 1);
        CHECK(p.txs[0].version() == "HTTP/0.9");
        CHECK(p.txs[0].status == 200);
        CHECK(p.txs[0].response_body_bytes == 6);
        CHECK(p.txs[0].content_type() == "text/html");
    }
}

TEST_CASE("HTTP/0.9-form line followed by header fields: an HTTP/1.x request missing its version") {
    // zeek/http-methods.pcap: "GET /HTTP/1.1" (the SP before the version is missing)
    const auto r = run({C("GET /HTTP/1.1\nHost: www.google.com\nContent-Length: 2\n\nab"),
                        S("HTTP/1.0 403 Forbidden\r\nContent-Length: 3\r\n\r\nbad"), EndC(), EndS()});
    INFO(kinds(r));
    const Finding* f = find(r, AnomalyKind::http_malformed_request);
    REQUIRE(f != nullptr);
    CHECK(f->frame == 1);
    CHECK(f->detail.find("'GET /HTTP/1.1'") != std::string::npos);
    CHECK(f->detail.find("header fields follow") != std::string::npos);
    REQUIRE(r.txs.size() == 1);
    CHECK(r.txs[0].uri() == "/HTTP/1.1");
    CHECK(r.txs[0].version().empty());
    CHECK(r.txs[0].host() == "www.google.com");
    CHECK(r.txs[0].request_body_bytes == 2);
    CHECK(r.txs[0].request_complete);
    CHECK(r.txs[0].status == 403);   // the status on the wire (Zeek logs 0 here)
    CHECK(r.txs[0].response_body_bytes == 3);
}

TEST_CASE("lines that are not HTTP/0.9 simple requests") {
    // zeek/http-http_09.pcap: Zeek rejects these too (method shorter than 3, no target).
    for (const char* line : {"T /zeek.html\n", "T \n", "GET \n", "GET example.com\r\n", "OPTIONS *\r\n", "GET /x y\r\n"}) {
        CAPTURE(line);
        const auto r = run({C(line), S("bad method\n"), EndS(), EndC()});
        CHECK_FALSE(r.http);
        CHECK(r.txs.empty());
    }
    SUBCASE("not while resynchronising: a versionless line in garbage is no boundary") {
        const auto r = run({C("\x01\x02\r\nGET /x\r\nGET /y HTTP/1.1\r\n\r\n"), S(kOk0), EndC(), EndS()});
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].uri() == "/y");
    }
    SUBCASE("a status line answering a versionless request is parsed; garbage after an HTTP/1.1 request is not raw") {
        const auto r = run({C(kGet), S("<html>\n"), EndS(), EndC()});
        REQUIRE(r.txs.size() == 1);
        CHECK_FALSE(r.txs[0].has_response);
    }
}

TEST_CASE("HTTP/0.9 request followed by another request line on the same connection") {
    const auto r = run({C("GET /a\r\nGET /b HTTP/1.1\r\n\r\n"), S("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx" + kOk0), EndC(), EndS()});
    INFO(kinds(r));
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[0].version() == "HTTP/0.9");
    CHECK(r.txs[0].request_complete);
    CHECK(r.txs[1].uri() == "/b");
    CHECK(r.txs[1].version() == "HTTP/1.1");
    CHECK_FALSE(r.txs[1].uncertain);
    CHECK(r.txs[1].status == 200);
}

TEST_CASE("a line that is not an attempt at a request line is reported but not queued") {
    const auto r = run({C(kGet), S(kOk0), C(std::string("\x01\x02garbage\r\n") + "GET /next HTTP/1.1\r\n\r\n"), S(kOk0), EndC(),
                        EndS()});
    INFO(kinds(r));
    CHECK(count(r, AnomalyKind::http_malformed_request) == 1);
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].uri() == "/next");
    CHECK(r.txs[1].status == 200);
}

TEST_CASE("a malformed first request line is reported once the server shows the connection is HTTP") {
    struct Case {
        const char* line;
        const char* method;
        const char* uri;
        const char* version;
    };
    for (const Case& c : {Case{"OPTIONS HTTP/1.1\n", "OPTIONS", "", "HTTP/1.1"}, Case{"GET / HTTP/1.\n", "GET", "/", "HTTP/1."},
                          Case{"HEAD /HTTP/1.1\n", "HEAD", "/HTTP/1.1", ""},
                          Case{"CONNECT mail.example.com:25 / HTTP/1.0\r\n", "CONNECT", "mail.example.com:25 /", "HTTP/1.0"}}) {
        CAPTURE(c.line);
        const auto r = run({C(std::string(c.line) + "Host: www.example.com\n\n"),
                            S("HTTP/1.0 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad"), EndC(), EndS()});
        INFO(kinds(r));
        CHECK(r.http);
        const Finding* f = find(r, AnomalyKind::http_malformed_request);
        REQUIRE(f != nullptr);
        CHECK(f->frame == 1);
        CHECK(f->ts_ns == ts_of(0));
        CHECK(f->detail.find(std::string(c.line).substr(0, 8)) != std::string::npos);
        CHECK(count(r, AnomalyKind::http_response_without_request) == 0);
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].has_request);
        CHECK(r.txs[0].method() == c.method);
        CHECK(r.txs[0].uri() == c.uri);
        CHECK(r.txs[0].version() == c.version);
        CHECK(r.txs[0].status == 400);
        CHECK(r.txs[0].response_body_bytes == (std::string(c.method) == "HEAD" ? 0u : 3u));
    }
    SUBCASE("the method frames the answer: HEAD has no body") {
        const auto r = run({C("HEAD / HTTP/1.\nHost: h\n\n"),
                            S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), EndC(), EndS()});
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_body_truncated) == 0);
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].response_complete);
    }
    SUBCASE("the method frames the answer: 200 to CONNECT is a tunnel") {
        const auto r = run({C("CONNECT mail.example.com:25 / HTTP/1.0\r\n\r\n"), S("HTTP/1.0 200 Connection established\r\n\r\n"),
                            S("220 mail ESMTP ready\r\n"), C("HELO x\r\n"), EndC(), EndS()});
        INFO(kinds(r));
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].tunnel);
        CHECK(r.txs[0].response_body_bytes == 0);
        CHECK(r.fs.size() == 1);   // the malformed line only
    }
    SUBCASE("not an attempt at a request line (no METHOD SP): nothing to blame") {
        const auto r = run({C("GET/HTTP/1.1\n\n"), S("HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n"), EndC(), EndS()});
        CHECK(count(r, AnomalyKind::http_malformed_request) == 0);
        CHECK(count(r, AnomalyKind::http_response_without_request) == 1);
    }
    SUBCASE("the server never speaks HTTP: quiet, nothing reported") {
        const auto r = run({C("EHLO client.example\r\n"), S("250 hello\r\n"), EndC(), EndS()});
        CHECK_FALSE(r.http);
        CHECK(r.fs.empty());
    }
}

TEST_CASE("malformed status line: reported, then resync") {
    const auto r = run({C(kGet + kGet + kGet), S(kOk0 + "HTTP/1.1 2x0 Huh\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
                        EndC(), EndS()});
    INFO(kinds(r));
    CHECK(count(r, AnomalyKind::http_malformed_response) == 1);
    REQUIRE(r.txs.size() == 3);
    // The broken status line answered the second request: the third pairs
    // with the next status line, nothing is left without a response.
    CHECK(r.txs[1].has_response);
    CHECK(r.txs[1].status == 0);
    CHECK(r.txs[1].response_version().empty());
    CHECK_FALSE(r.txs[1].response_complete);
    CHECK(r.txs[1].uncertain);
    CHECK(r.txs[2].status == 200);
    CHECK(r.txs[2].uncertain);
    CHECK(count(r, AnomalyKind::http_request_without_response) == 0);
}

TEST_CASE("a request sent after a broken status line answered the one before is not pipelined") {
    const auto r = run({C(kGet), S("HTTP/1.1 2x0 Huh\r\n\r\n"), C(kGet), S(kOk0), EndC(), EndS()});
    INFO(kinds(r));
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[0].status == 0);
    CHECK_FALSE(r.txs[1].pipelined);
    CHECK(r.txs[1].status == 200);
}

TEST_CASE("malformed status line with no request outstanding: reported, pairs with nothing") {
    const auto r = run({C(kGet), S(kOk0 + "HTTP/1.1 2x0 Huh\r\n\r\n"), C(kGet), S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
                        EndC(), EndS()});
    INFO(kinds(r));
    CHECK(count(r, AnomalyKind::http_malformed_response) == 1);
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].status == 200);   // the second request's own answer, not taken by the broken line
    CHECK(count(r, AnomalyKind::http_response_without_request) == 0);
    CHECK(count(r, AnomalyKind::http_request_without_response) == 0);
}

TEST_CASE("bytes that are no attempt at a status line do not answer a request") {
    // Not "HTTP/": garbage between responses is reported (or skipped) but pairs with nothing.
    const auto r = run({C(kGet + kGet), S(kOk0 + "garbage here\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), EndC(), EndS()});
    INFO(kinds(r));
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].status == 200);
    CHECK(count(r, AnomalyKind::http_request_without_response) == 0);
}

TEST_CASE("long start lines: bounded by the header limit or rejected early") {
    HttpConfig cfg;
    cfg.max_header_bytes = 64;
    // A target that stays valid until the limit: the block is too large.
    const auto r = run({C(kGet), S(kOk0), C("GET /" + std::string(10000, 'x') + " HTTP/1.1\r\n\r\n")}, cfg);
    INFO(kinds(r));
    CHECK(count(r, AnomalyKind::http_header_too_large) == 1);
    CHECK(count(r, AnomalyKind::http_malformed_request) == 0);
    // A "method" longer than 32 characters is rejected at its 33rd byte.
    const auto r2 = run({C(kGet), S(kOk0), C("BOGUS" + std::string(10000, 'x') + "\r\n" + kGet), S(kOk0)}, cfg);
    INFO(kinds(r2));
    CHECK(count(r2, AnomalyKind::http_header_too_large) == 0);
    CHECK(count(r2, AnomalyKind::http_malformed_request) == 1);
    REQUIRE(r2.txs.size() == 2);
    CHECK(r2.txs[1].uncertain);
}

TEST_CASE("malformed header lines are reported and skipped") {
    const auto r = run({C("GET / HTTP/1.1\r\nNoColonHere\r\nBad Name: x\r\nName : y\r\n: z\r\nHost: ok\r\n\r\n"), S(kOk0)});
    INFO(kinds(r));
    CHECK(count(r, AnomalyKind::http_malformed_header) == 4);
    REQUIRE(r.txs.size() == 1);
    CHECK(r.txs[0].host() == "ok");
    CHECK(r.txs[0].request_complete);
}

TEST_CASE("whitespace line before the first field is not a fold") {
    const auto r = run({C("GET / HTTP/1.1\r\n Host: x\r\n\r\n"), S(kOk0)});
    CHECK(count(r, AnomalyKind::http_malformed_header) == 1);
    CHECK(count(r, AnomalyKind::http_obsolete_line_folding) == 0);
    REQUIRE(r.txs.size() == 1);
    CHECK(r.txs[0].host().empty());
}

TEST_CASE("header block too large: by bytes and by line count") {
    SUBCASE("bytes") {
        HttpConfig cfg;
        cfg.max_header_bytes = 100;
        const auto r = run({C("GET /x HTTP/1.1\r\nCookie: " + std::string(200, 'c') + "\r\n\r\nGET /y HTTP/1.1\r\n\r\n"),
                            S("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n"), EndC(), EndS()},
                           cfg);
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_header_too_large) == 1);
        REQUIRE(r.txs.size() == 1);  // the request line was known; nothing after it is parsed
        CHECK(r.txs[0].uri() == "/x");
        CHECK_FALSE(r.txs[0].request_complete);
        CHECK(r.txs[0].status == 431);
    }
    SUBCASE("lines") {
        HttpConfig cfg;
        cfg.max_headers = 3;
        const auto r = run({C("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n")}, cfg);
        CHECK(count(r, AnomalyKind::http_header_too_large) == 1);
        const auto r2 = run({C("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), S(kOk0)}, cfg);
        CHECK(r2.fs.empty());
    }
    SUBCASE("exactly at the limit is fine") {
        const std::string get = "GET /" + std::string(40, 'p') + " HTTP/1.1\r\n\r\n";
        REQUIRE(get.size() > kOk0.size());
        HttpConfig cfg;
        cfg.max_header_bytes = static_cast<uint32_t>(get.size());
        const auto r = run({C(get), S(kOk0)}, cfg);
        CHECK(r.fs.empty());
        cfg.max_header_bytes -= 1;
        const auto r2 = run({C(get), S(kOk0)}, cfg);
        CHECK(count(r2, AnomalyKind::http_header_too_large) == 1);
    }
    SUBCASE("trailers count too") {
        HttpConfig cfg;
        cfg.max_headers = 2;
        const auto r = run({C(kGet), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n")}, cfg);
        CHECK(count(r, AnomalyKind::http_header_too_large) == 1);
    }
}

TEST_CASE("truncated bodies") {
    SUBCASE("Content-Length request ended by FIN") {
        const auto r = run({C("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabcd"), EndC(EndReason::fin),
                            S("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"), EndS()});
        INFO(kinds(r));
        const Finding* f = find(r, AnomalyKind::http_body_truncated);
        REQUIRE(f != nullptr);
        CHECK(f->detail.find("4 of 10") != std::string::npos);
        CHECK(f->dir == FlowDir::client_to_server);
        REQUIRE(r.txs.size() == 1);
        CHECK_FALSE(r.txs[0].request_complete);
        CHECK(r.txs[0].request_body_bytes == 4);
        CHECK(r.txs[0].request_end_ts == ts_of(0));
    }
    SUBCASE("chunked response ended by RST") {
        const auto r = run({C(kGet), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"), EndS(EndReason::rst),
                            EndC()});
        CHECK(count(r, AnomalyKind::http_body_truncated) == 1);
        REQUIRE(r.txs.size() == 1);
        CHECK_FALSE(r.txs[0].response_complete);
        CHECK(r.txs[0].response_body_bytes == 2);
    }
    SUBCASE("end of capture via take_* without on_end") {
        const auto r = run({C(kGet), S("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nxx")});
        CHECK(count(r, AnomalyKind::http_body_truncated) == 1);
        REQUIRE(r.txs.size() == 1);
        CHECK_FALSE(r.txs[0].response_complete);
    }
}

TEST_CASE("content detection: non-HTTP streams go quiet") {
    SUBCASE("TLS both ways") {
        const auto r = run({C(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)), S(std::string("\x16\x03\x03\x00\x7a", 5)),
                            C("GET / HTTP/1.1\r\n\r\n"), EndC(), EndS()});
        CHECK_FALSE(r.http);
        CHECK(r.fs.empty());
        CHECK(r.txs.empty());
        CHECK(r.total == 0);
    }
    SUBCASE("SSH banners") {
        const auto r = run({S("SSH-2.0-OpenSSH_9.6\r\n"), C("SSH-2.0-OpenSSH_9.6\r\n"), EndC(), EndS()});
        CHECK_FALSE(r.http);
        CHECK(r.fs.empty());
    }
    SUBCASE("SMTP on any port") {
        const auto r = run({S("220 mail.example.com ESMTP\r\n"), C("EHLO client\r\n"), S("250 OK\r\n"), EndC(), EndS()});
        CHECK_FALSE(r.http);
        CHECK(r.fs.empty());
    }
    SUBCASE("HTTP/2 prior knowledge is not HTTP/1") {
        const auto r = run({C("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), S(std::string("\0\0\0\x04\0\0\0\0\0", 9)), EndC(), EndS()});
        CHECK_FALSE(r.http);
    }
    SUBCASE("lower-case method is not detected as a request") {
        const auto r = run({C("get / HTTP/1.1\r\n\r\n"), S("nope\r\n"), EndC(), EndS()});
        CHECK_FALSE(r.http);
    }
    SUBCASE("one-sided garbage with no answer stays quiet") {
        const auto r = run({C("hello there\r\n"), EndC(), EndS()});
        CHECK_FALSE(r.http);
        CHECK(r.fs.empty());
    }
    SUBCASE("HTTP on a non-standard port is found by content") {
        const auto r = run({C("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"), S(kOk0), EndC(), EndS()});
        CHECK(r.http);
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].method() == "OPTIONS");
        CHECK(r.txs[0].uri() == "*");
    }
}

TEST_CASE("status line variants") {
    const auto r = run({C(kGet + kGet + kGet), S("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"
                                                 "HTTP/1.0 404 \r\nContent-Length: 0\r\n\r\n"
                                                 "HTTP/1.1 999 Request denied\r\nContent-Length: 0\r\n\r\n"),
                        EndC(), EndS()});
    INFO(kinds(r));
    REQUIRE(r.txs.size() == 3);
    CHECK(r.txs[0].status == 200);
    CHECK(r.txs[0].reason().empty());
    CHECK(r.txs[1].status == 404);
    CHECK(r.txs[1].response_version() == "HTTP/1.0");
    CHECK(r.txs[2].status == 999);
    CHECK(r.txs[2].reason() == "Request denied");
}

TEST_CASE("leading empty lines between messages are ignored") {
    const auto r = run({C("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"), S(kOk0 + kOk0), EndC(), EndS()});
    INFO(kinds(r));
    CHECK(r.fs.empty());
    REQUIRE(r.txs.size() == 2);
    CHECK(r.txs[1].uri() == "/2");
}

TEST_CASE("long fields are cut to max_field_bytes; details are excerpts") {
    HttpConfig cfg;
    cfg.max_field_bytes = 10;
    const std::string uri = "/" + std::string(500, 'u');
    const auto r = run({C("GET " + uri + " HTTP/1.1\r\nHost: " + std::string(300, 'h') + "\r\n\r\n"),
                        S("HTTP/1.1 404 " + std::string(300, 'r') + "\r\nContent-Length: 0\r\n\r\n"), EndC(), EndS()},
                       cfg);
    REQUIRE(r.txs.size() == 1);
    CHECK(r.txs[0].uri().size() == 10);
    CHECK(r.txs[0].host().size() == 10);
    CHECK(r.txs[0].reason().size() == 10);
    const Finding* f = find(r, AnomalyKind::http_client_error);
    REQUIRE(f != nullptr);
    CHECK(f->detail.size() < 200);
}

TEST_CASE("excerpt() hides control bytes and cuts at 64") {
    CHECK(http::excerpt("abc") == "abc");
    CHECK(http::excerpt(std::string("a\r\n\x01\xff", 5)) == "a....");
    const std::string long_text(100, 'z');
    CHECK(http::excerpt(long_text) == std::string(64, 'z') + "...");
    CHECK(http::excerpt(long_text, 3) == "zzz...");
}

// The parser alone, with a sink that records what it is told.
namespace {
std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += "[" + x + "] ";
    return s;
}
struct RecordingSink final : http::ParserSink {
    std::vector<std::string> log;
    http::HeadAction action = http::HeadAction::normal;
    void on_detect(http::Role, bool ok, const http::RejectedLine* rej) override {
        log.push_back(ok ? "detect:ok" : "detect:fail" + (rej != nullptr ? ":" + rej->text : std::string()));
    }
    http::HeadAction on_head(const http::MessageHead& h) override {
        std::string s = h.role == http::Role::request ? "req:" + std::string(h.method) + " " + std::string(h.target)
                                                      : "resp:" + std::to_string(h.status);
        if (h.has_content_length) s += " cl=" + std::to_string(h.content_length) + (h.content_length_bad ? "!" : "");
        if (h.chunked_final) s += " chunked";
        if (h.conn_close) s += " close";
        if (h.resynced) s += " resynced";
        if (h.simple) s += " simple";
        if (h.salvaged) s += " salvaged host=" + std::string(h.host);
        if (h.raw) s += " raw";
        log.push_back(s);
        return action;
    }
    void on_message_end(http::Role, const http::MessageEnd& e) override {
        log.push_back("end:" + std::string(e.complete ? "complete" : "incomplete") + " body=" + std::to_string(e.body_bytes) +
                      " wire=" + std::to_string(e.wire_body_bytes) + (e.partial ? " partial" : ""));
    }
    http::BadLineAction bad_action = http::BadLineAction::resync;
    bool raw = false;
    http::BadLineAction on_bad_start_line(http::Role, const http::RejectedLine& line) override {
        log.push_back("bad:" + line.text + (line.line_like ? " (attempt)" : "") +
                      (line.versionless_with_fields ? " (versionless, fields follow)" : ""));
        return bad_action;
    }
    bool raw_response_expected() override { return raw; }
    void on_finding(http::Role, AnomalyKind k, std::string, int64_t, uint64_t) override {
        log.push_back("finding:" + std::string(kind_name(k)));
    }
};
void feed(http::MessageParser& p, std::string_view s, uint64_t seq = 1) {
    p.feed(reinterpret_cast<const uint8_t*>(s.data()), s.size(), 1, 1, seq);
}
}  // namespace

TEST_CASE("parser alone: events in order") {
    RecordingSink sink;
    http::HeadScratch scratch;
    http::MessageParser p(http::Role::request, http::ParserLimits{}, sink, scratch);
    feed(p, "PUT /f HTTP/1.1\r\nContent-Length: 3\r\nConnection: keep-alive, close\r\n\r\nabc");
    feed(p, "bogus line\r\nGET /g HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n");
    const std::vector<std::string> want = {
        "detect:ok", "req:PUT /f cl=3 close", "end:complete body=3 wire=3", "bad:bogus line (attempt)",
        "req:GET /g chunked resynced", "end:complete body=2 wire=12"};
    INFO(join(sink.log));
    CHECK(sink.log == want);
}

TEST_CASE("parser alone: gap inside a Content-Length body is skipped and counted") {
    RecordingSink sink;
    http::HeadScratch scratch;
    http::MessageParser p(http::Role::response, http::ParserLimits{}, sink, scratch);
    feed(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab");
    p.gap(5, 2, 2);
    feed(p, "cde", 3);
    const std::vector<std::string> want = {"detect:ok", "resp:200 cl=10", "finding:http_gap",
                                           "end:complete body=10 wire=10 partial"};
    INFO(join(sink.log));
    CHECK(sink.log == want);
}

TEST_CASE("parser alone: rejected lines are read to their end; binary is dropped at once") {
    RecordingSink sink;
    http::HeadScratch scratch;
    http::MessageParser p(http::Role::request, http::ParserLimits{}, sink, scratch);
    feed(p, "EHLO mail.example.com\r\n");
    feed(p, std::string("\x16\x03\x01 GET / HTTP/1.1\r\n", 20));   // "GET" not at a line start: skipped
    feed(p, "DELETE /x HTTP/1.1\r\n\r\n");
    const std::vector<std::string> want = {"detect:fail:EHLO mail.example.com", "req:DELETE /x resynced",
                                           "end:complete body=0 wire=0"};
    INFO(join(sink.log));
    CHECK(sink.log == want);
}

TEST_CASE("parser alone: a gap inside a rejected line reports the line first") {
    RecordingSink sink;
    http::HeadScratch scratch;
    http::MessageParser p(http::Role::request, http::ParserLimits{}, sink, scratch);
    feed(p, kGet);
    feed(p, "GET /a b c", 2);
    p.gap(100, 3, 3);
    feed(p, "tail\r\n" + kGet, 4);
    const std::vector<std::string> want = {"detect:ok",  "req:GET /", "end:complete body=0 wire=0",
                                           "bad:GET /a b c (attempt)", "finding:http_gap", "req:GET / resynced",
                                           "end:complete body=0 wire=0"};
    INFO(join(sink.log));
    CHECK(sink.log == want);
}

TEST_CASE("a rejected line cut by FIN is still reported") {
    const auto r = run({C(kGet), S(kOk0), C("GET /a b HTTP/1.1"), EndC(), EndS()});
    INFO(kinds(r));
    const Finding* f = find(r, AnomalyKind::http_malformed_request);
    REQUIRE(f != nullptr);
    CHECK(f->detail == "not a request line: 'GET /a b HTTP/1.1'");
    CHECK(count(r, AnomalyKind::http_request_without_response) == 1);
}

TEST_CASE("parser alone: versionless line, salvaged header block, raw response") {
    RecordingSink sink;
    sink.bad_action = http::BadLineAction::salvage;   // as HttpStream answers for a queued line
    http::HeadScratch scratch;
    http::MessageParser p(http::Role::request, http::ParserLimits{}, sink, scratch);
    feed(p, "GET /a\r\n");
    feed(p, "Host");
    feed(p, ": h\r\nContent-Length: 1\r\n\r\nx");
    feed(p, "GET /b c HTTP/1.1\r\nHost: k\r\n\r\nGET /d\r\n\r\n");
    p.finish(EndReason::fin, 2, 9);
    const std::vector<std::string> want = {"detect:ok",
                                           "req:GET /a simple",
                                           "bad:GET /a (attempt) (versionless, fields follow)",
                                           "req:  cl=1 salvaged host=h",
                                           "end:complete body=1 wire=1",
                                           "bad:GET /b c HTTP/1.1 (attempt)",
                                           "req:  salvaged host=k",
                                           "end:complete body=0 wire=0",
                                           "req:GET /d simple",
                                           "end:complete body=0 wire=0"};
    INFO(join(sink.log));
    CHECK(sink.log == want);

    RecordingSink rs;
    rs.raw = true;
    http::MessageParser q(http::Role::response, http::ParserLimits{}, rs, scratch);   // shares p's scratch
    feed(q, "\r\nHTTP/1.1 2");
    feed(q, "xx raw bytes");
    q.finish(EndReason::fin, 2, 3);
    const std::vector<std::string> want_raw = {"resp:0 raw", "end:complete body=24 wire=24"};
    INFO(join(rs.log));
    CHECK(rs.log == want_raw);
}

TEST_CASE("parser alone: stop() and hold ignore everything") {
    RecordingSink sink;
    http::HeadScratch scratch;
    http::MessageParser p(http::Role::request, http::ParserLimits{}, sink, scratch);
    p.stop();
    feed(p, "GET / HTTP/1.1\r\n\r\n");
    p.gap(10, 1, 2);
    p.finish(EndReason::fin, 1, 3);
    CHECK(sink.log.empty());
    CHECK(p.stopped());
}

// ---------------------------------------------------------------- fast paths
// Heads that lie whole in one segment are parsed in place and start lines of
// the usual form are validated in one pass; heads that arrive in pieces are
// collected and validated byte by byte. Both must give the same result.

namespace {

// Feeds `evs`, each data event cut at the offsets in cuts[event index].
Result run_cut(const std::vector<Ev>& evs, const std::vector<std::vector<size_t>>& cuts, const HttpConfig& cfg) {
    HttpStream h(cfg, 42);
    for (size_t i = 0; i < evs.size(); ++i) {
        const Ev& e = evs[i];
        if (e.k == Ev::K::end) {
            h.on_end(e.dir, e.why, ts_of(i));
            continue;
        }
        const auto* p = reinterpret_cast<const uint8_t*>(e.bytes.data());
        size_t from = 0;
        if (i < cuts.size()) {
            for (const size_t at : cuts[i]) {
                h.on_data(e.dir, p + from, at - from, ts_of(i), i + 1);
                from = at;
            }
        }
        h.on_data(e.dir, p + from, e.bytes.size() - from, ts_of(i), i + 1);
    }
    Result r;
    r.txs = h.take_transactions();
    r.fs = h.take_findings();
    r.http = h.is_http();
    r.total = h.transactions_total();
    return r;
}

std::string differences(const Result& a, const Result& b) {
    std::string d;
    if (a.http != b.http || a.total != b.total) d += "http/total differ; ";
    if (a.txs.size() != b.txs.size()) d += "transaction count differs; ";
    for (size_t i = 0; i < std::min(a.txs.size(), b.txs.size()); ++i) {
        if (!(a.txs[i] == b.txs[i])) d += "tx " + std::to_string(i) + " differs; ";
    }
    if (kinds(a) != kinds(b)) d += "findings: [" + kinds(a) + "] vs [" + kinds(b) + "]; ";
    for (size_t i = 0; i < std::min(a.fs.size(), b.fs.size()); ++i) {
        if (a.fs[i].frame != b.fs[i].frame || a.fs[i].ts_ns != b.fs[i].ts_ns) d += "finding evidence differs; ";
    }
    return d;
}

// Whole, byte by byte, and cut once at every offset of every data event.
void check_every_cut(const std::vector<Ev>& evs, const HttpConfig& cfg = HttpConfig{}) {
    const Result whole = run_cut(evs, {}, cfg);
    std::vector<std::vector<size_t>> bytewise(evs.size());
    for (size_t i = 0; i < evs.size(); ++i) {
        for (size_t at = 1; at < evs[i].bytes.size(); ++at) bytewise[i].push_back(at);
    }
    CHECK(differences(whole, run_cut(evs, bytewise, cfg)) == "");
    for (size_t i = 0; i < evs.size(); ++i) {
        for (size_t at = 1; at < evs[i].bytes.size(); ++at) {
            std::vector<std::vector<size_t>> cuts(evs.size());
            cuts[i] = {at};
            const std::string d = differences(whole, run_cut(evs, cuts, cfg));
            if (!d.empty()) {
                CAPTURE(i);
                CAPTURE(at);
                FAIL_CHECK(d);
                return;
            }
        }
    }
}

}  // namespace

TEST_CASE("fast paths: a head in one segment and the same head split at every byte agree") {
    SUBCASE("usual heads, folded and repeated fields, bodies after the head") {
        const std::vector<Ev> evs = {
            C("GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nUser-Agent: x/1\r\nAccept: */*\r\n"
              "Connection: keep-alive\r\n\r\n"
              "POST /up HTTP/1.1\r\nhost: h\r\nX-Long:  folded\r\n  on two lines\r\nContent-Length: 3, 3\r\n\r\nabc"),
            S("HTTP/1.1 200 OK\r\nContent-Type: text/html;\r\n charset=utf-8\r\nContent-Length: 2\r\n\r\nhi"
              "HTTP/1.1 201 \r\nCONTENT-LENGTH: 0\r\n\r\n"),
            EndC(), EndS()};
        const Result r = run(evs);
        INFO(kinds(r));
        REQUIRE(r.txs.size() == 2);
        CHECK(r.txs[0].host() == "example.com");
        CHECK(r.txs[0].content_type() == "text/html; charset=utf-8");
        CHECK(r.txs[1].request_body_bytes == 3);
        CHECK(r.txs[1].reason() == "");
        check_every_cut(evs);
    }
    SUBCASE("bare LF, malformed fields, lowercase method between messages, HTTP/0.9 form") {
        const std::vector<Ev> evs = {
            C("GET / HTTP/1.0\nHost: a\nBad Name: x\n: empty\nnocolon\n\n"
              "get /lower HTTP/1.1\r\nHost: b\r\n\r\n"
              "GET /simple\r\n\r\n"),
            S("HTTP/1.0 200 OK\nContent-Length: 1\n\nxHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
              "raw"),
            EndC(), EndS()};
        const Result r = run(evs);
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_malformed_header) == 3);
        CHECK(count(r, AnomalyKind::http_bare_lf) == 1);
        check_every_cut(evs);
    }
    SUBCASE("start lines the one-pass validation leaves to the byte-wise one") {
        const std::string method33(33, 'M');
        const std::vector<Ev> evs = {C("GET / HTTP/1.1\r\n\r\n" + method33 + " / HTTP/1.1\r\n\r\nGET / HTTP/2.0\r\n\r\n"),
                                     S("HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\rX\r\n\r\n"),
                                     EndC(), EndS()};
        check_every_cut(evs);
    }
    SUBCASE("detection: the first line validated strictly either way") {
        check_every_cut({C("get / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n"), S("HTTP/1.1 600 X\r\n\r\n"), EndC(), EndS()});
        check_every_cut({C("GET / HTTP/1.1\r\n\r\n"), S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), EndC(), EndS()});
    }
}

TEST_CASE("fast paths: header block and header count exactly at the caps, in one segment or split") {
    const std::string head = "GET /cap HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n";
    // The response head is shorter than the request head: only the request meets the caps.
    const auto evs = [&head] { return std::vector<Ev>{C(head), S("HTTP/1.1 204 X\r\n\r\n"), EndC(), EndS()}; };
    HttpConfig cfg;
    cfg.max_header_bytes = static_cast<uint32_t>(head.size());
    {
        const Result r = run(evs(), cfg);
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_header_too_large) == 0);
        REQUIRE(r.txs.size() == 1);
        CHECK(r.txs[0].host() == "a");
        check_every_cut(evs(), cfg);
    }
    cfg.max_header_bytes -= 1;
    {
        const Result r = run(evs(), cfg);
        INFO(kinds(r));
        CHECK(count(r, AnomalyKind::http_header_too_large) == 1);
        check_every_cut(evs(), cfg);
    }
    cfg = HttpConfig{};
    cfg.max_headers = 2;
    {
        const Result r = run(evs(), cfg);
        CHECK(count(r, AnomalyKind::http_header_too_large) == 0);
        check_every_cut(evs(), cfg);
    }
    cfg.max_headers = 1;
    {
        const Result r = run(evs(), cfg);
        CHECK(count(r, AnomalyKind::http_header_too_large) == 1);
        check_every_cut(evs(), cfg);
    }
    // More header lines than step_headers records LF offsets for (32).
    std::string many = "GET /many HTTP/1.1\r\n";
    for (int i = 0; i < 40; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
    many += "Host: late\r\n\r\n";
    const std::vector<Ev> many_evs = {C(many), S(kOk0), EndC(), EndS()};
    const Result r = run(many_evs);
    REQUIRE(r.txs.size() == 1);
    CHECK(r.txs[0].host() == "late");
    check_every_cut(many_evs);
}

// The Content-Length and Transfer-Encoding values the framing findings
// quote: each value's excerpt, ", " between values, at most 64 bytes before
// "..."; a folded value as unfolded; the same when the head arrives in
// pieces (then it is parsed from the parser's own buffer).
TEST_CASE("framing findings quote the Content-Length and Transfer-Encoding values") {
    auto detail = [](const Result& r, AnomalyKind k) {
        for (const auto& f : r.fs)
            if (f.kind == k) return f.detail;
        return std::string("(none)");
    };
    auto post = [](const std::string& fields, const std::string& body) {
        return "POST /p HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n" + body;
    };
    const std::string chunked_body = "3\r\nabc\r\n0\r\n\r\n";
    for (const bool split : {false, true}) {
        CAPTURE(split);
        auto request = [&](const std::string& msg) {
            std::vector<Ev> evs;
            if (split) {
                const size_t cut = msg.find("Length") + 3;   // inside a field name
                evs.push_back(C(msg.substr(0, cut)));
                evs.push_back(C(msg.substr(cut)));
            } else {
                evs.push_back(C(msg));
            }
            evs.push_back(S(kOk0));
            evs.push_back(EndC());
            evs.push_back(EndS());
            return run(evs);
        };
        {   // one value of each
            const auto r = request(post("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", chunked_body));
            INFO(kinds(r));
            CHECK(detail(r, AnomalyKind::http_content_length_with_chunked) ==
                  "Content-Length '3' with Transfer-Encoding 'chunked'; chunked wins");
        }
        {   // two Transfer-Encoding fields, and a list in one Content-Length
            const auto r = request(post("Transfer-Encoding: gzip\r\nContent-Length: 3, 3\r\nTransfer-Encoding:  chunked \r\n",
                                        chunked_body));
            INFO(kinds(r));
            CHECK(detail(r, AnomalyKind::http_content_length_with_chunked) ==
                  "Content-Length '3, 3' with Transfer-Encoding 'gzip, chunked'; chunked wins");
        }
        {   // conflicting Content-Length fields
            const auto r = request(post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello"));
            INFO(kinds(r));
            CHECK(detail(r, AnomalyKind::http_bad_content_length) ==
                  "Content-Length '5, 6' is invalid (RFC 9112 6.3); parsing stops");
        }
        {   // a folded first value, then a second field
            const auto r = request(post("Content-Length: 5\r\n 5\r\nContent-Length: x\r\n", "hello"));
            INFO(kinds(r));
            CHECK(detail(r, AnomalyKind::http_bad_content_length) ==
                  "Content-Length '5 5, x' is invalid (RFC 9112 6.3); parsing stops");
        }
        {   // a long value is cut; a second one no longer fits
            const std::string long_value(70, '7');
            const auto r = request(post("Content-Length: " + long_value + "\r\nContent-Length: 8\r\n", "x"));
            INFO(kinds(r));
            CHECK(detail(r, AnomalyKind::http_bad_content_length) ==
                  "Content-Length '" + std::string(64, '7') + "...' is invalid (RFC 9112 6.3); parsing stops");
        }
        {   // Transfer-Encoding that does not end in chunked, on a request
            const auto r = request(post("Transfer-Encoding: chunked, gzip\r\n", ""));
            INFO(kinds(r));
            CHECK(detail(r, AnomalyKind::http_bad_chunk) ==
                  "request Transfer-Encoding 'chunked, gzip' does not end in chunked: body length undeterminable (RFC "
                  "9112 6.3); parsing stops");
        }
    }
}

}  // TEST_SUITE
