// --follow rendering and the terminal-width cut, byte by byte.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "pcaplens/report/follow.hpp"
#include "pcaplens/report/reporters.hpp"

using pcaplens::FollowStream;

namespace {

std::string ascii(const std::string& in) {
    std::string out;
    bool cr = false;
    FollowStream::render_ascii(out, reinterpret_cast<const uint8_t*>(in.data()), in.size(), cr);
    if (cr) out += "\\r";
    return out;
}

pcaplens::TcpConnectionFacts facts() {
    pcaplens::TcpConnectionFacts t;
    t.id = 7;
    t.client.ip.family = 4;
    t.client.ip.bytes = {10, 0, 0, 1};
    t.client.port = 40000;
    t.server.ip.family = 4;
    t.server.ip.bytes = {10, 0, 0, 2};
    t.server.port = 80;
    return t;
}

}  // namespace

TEST_CASE("follow ascii: CR LF is a line break, everything that could drive a terminal is escaped") {
    CHECK(ascii("GET / HTTP/1.1\r\nHost: x\r\n\r\n") == "GET / HTTP/1.1\nHost: x\n\n");
    CHECK(ascii("a\rb") == "a\\rb");
    CHECK(ascii("end\r") == "end\\r");
    CHECK(ascii("\x1b[31mred") == "\\x1b[31mred");
    CHECK(ascii(std::string("\0\x7f\x80\xff", 4)) == "\\x00\\x7f\\x80\\xff");
    CHECK(ascii("C:\\dir\tx") == "C:\\\\dir\tx");
    // A CR at the end of one delivery and the LF at the start of the next.
    std::string out;
    bool cr = false;
    FollowStream::render_ascii(out, reinterpret_cast<const uint8_t*>("a\r"), 2, cr);
    FollowStream::render_ascii(out, reinterpret_cast<const uint8_t*>("\nb"), 2, cr);
    CHECK(out == "a\nb");
}

TEST_CASE("follow: chunks by direction, gaps, ends, footer; inner consumer sees everything") {
    struct Inner final : pcaplens::StreamConsumer {
        size_t data = 0, gaps = 0, ends = 0;
        void on_data(pcaplens::StreamDir, const uint8_t*, size_t n, int64_t, uint64_t) override { data += n; }
        void on_gap(pcaplens::StreamDir, uint64_t, int64_t) override { ++gaps; }
        void on_end(pcaplens::StreamDir, pcaplens::EndReason, int64_t) override { ++ends; }
    };
    auto inner = std::make_unique<Inner>();
    Inner* in = inner.get();
    std::string out;
    pcaplens::FollowOptions opt;
    opt.max_chunk = 8;
    FollowStream f(facts(), std::move(inner), [&out](std::string_view s) { out += s; }, opt);
    using D = pcaplens::StreamDir;
    const auto* p = reinterpret_cast<const uint8_t*>("hello, world");
    f.on_data(D::client_to_server, p, 5, 1'000'000'000, 4);
    f.on_data(D::client_to_server, p + 5, 7, 1'000'000'000, 5);  // same direction: joins, then splits at 8 bytes
    f.on_gap(D::server_to_client, 100, 2'000'000'000);
    f.on_data(D::server_to_client, p, 2, 3'000'000'000, 7);
    f.on_end(D::client_to_server, pcaplens::EndReason::fin, 4'000'000'000);
    auto t = facts();
    t.close.kind = pcaplens::CloseKind::fin;
    t.close.initiator = pcaplens::CloseInitiator::client;
    f.finish(t);
    f.finish(t);  // once
    CHECK(in->data == 14);
    CHECK(in->gaps == 1);
    CHECK(in->ends == 1);
    const std::string want =
        "=== connection 7: 10.0.0.1:40000 (client) <-> 10.0.0.2:80 (server), ascii\n"
        ">>> client -> server  1970-01-01 00:00:01.000000  frame 4  8 bytes\n"
        "hello, w\n"
        ">>> client -> server  1970-01-01 00:00:01.000000  frame 5  4 bytes\n"
        "orld\n"
        "<<< server -> client  1970-01-01 00:00:02.000000  [100 bytes missing]\n"
        "<<< server -> client  1970-01-01 00:00:03.000000  frame 7  2 bytes\n"
        "he\n"
        ">>> client -> server  1970-01-01 00:00:04.000000  end (fin)\n"
        "=== connection 7: client -> server 12 bytes, server -> client 2 bytes; missing 0 and 100 bytes; close: fin by client\n";
    CHECK(out == want);
}

TEST_CASE("follow hex: offsets count the gap") {
    std::string out;
    pcaplens::FollowOptions opt;
    opt.format = pcaplens::FollowFormat::hex;
    FollowStream f(facts(), nullptr, [&out](std::string_view s) { out += s; }, opt);
    f.on_gap(pcaplens::StreamDir::server_to_client, 16, 0);
    f.on_data(pcaplens::StreamDir::server_to_client, reinterpret_cast<const uint8_t*>("AB\x1b"), 3, 0, 9);
    f.finish(facts());
    CHECK(out.find("00000010  41 42 1b " + std::string(13 * 3 + 1, ' ') + " |AB.|\n") != std::string::npos);
}

TEST_CASE("fit_width: visible columns, colour kept and closed, never cut at width 0") {
    using pcaplens::fit_width;
    CHECK(fit_width("abcdefghij", 0, "...") == "abcdefghij");
    CHECK(fit_width("abcdefghij", 10, "...") == "abcdefghij");
    CHECK(fit_width("abcdefghij", 8, "...") == "abcde...");
    CHECK(fit_width("abcdefghij", 8, "\u2026") == "abcdefg\u2026");
    CHECK(fit_width("ab\033[31mcd\033[0mefghij", 10, "...") == "ab\033[31mcd\033[0mefghij");  // escapes take no columns
    CHECK(fit_width("ab\033[31mcdefghij\033[0m", 6, "...") == "ab\033[31mc...\033[0m");
}
