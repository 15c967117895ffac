// Everyday use: report post-filters (--host, --port), --follow on real
// captures, terminal manners (colour, width, one-line errors).
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <sstream>
#include <set>

#include "e2e_support.hpp"
#include "support/packet_writer.hpp"

namespace {

// Runs a shell command line; stdout captured, stderr folded into it when asked.
e2e::Run shell(const std::string& cmd) {
    e2e::Run r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    std::array<char, 65536> buf{};
    size_t got;
    while ((got = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), got);
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

bool have(const char* prog) { return shell(std::string("command -v ") + prog + " >/dev/null 2>&1").status == 0; }

// Runs pcaplens with stdout on a pseudo-terminal (util-linux script), the
// environment given first; returns what the terminal showed.
e2e::Run on_terminal(const std::string& env, const std::vector<std::string>& args) {
    std::string inner = env + " " + e2e::quote(PCAPLENS_BINARY);
    for (const auto& a : args) inner += " " + e2e::quote(a);
    inner += " 2>/dev/null";
    return shell("script -qec " + e2e::quote(inner) + " /dev/null </dev/null");
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> v;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) {
        if (!l.empty() && l.back() == '\r') l.pop_back();
        v.push_back(l);
    }
    return v;
}

std::set<uint64_t> ids(const e2e::Run& r) {
    std::set<uint64_t> s;
    const auto j = r.json();  // kept alive: a range-for over a temporary's member dangles
    for (const auto& c : j["connections"]) s.insert(c["id"].get<uint64_t>());
    return s;
}

// Sum of the "N bytes" of the follow chunk markers in one direction.
uint64_t chunk_bytes(const std::string& out, const std::string& marker) {
    uint64_t sum = 0;
    for (const auto& l : lines(out)) {
        if (l.rfind(marker, 0) != 0 || l.find(" bytes") == std::string::npos || l.find("missing") != std::string::npos) continue;
        const size_t e = l.rfind(" bytes");
        const size_t b = l.rfind(' ', e - 1);
        sum += std::stoull(l.substr(b + 1, e - b - 1));
    }
    return sum;
}

const std::string kKeepalive = e2e::source("samples/http-keepalive.pcap");
const std::string kMixed = e2e::source("samples/http-mixed.pcapng");
const std::string kBulk = e2e::source("tests/captures/tcp-bulk.pcap");

// Two pcapng interfaces' worth of traffic: a handshake on Ethernet
// (10.0.0.1:40001, 3 packets; returns its end time), then a SYN and SYN-ACK
// in Linux cooked framing (10.0.0.3:40002) from `start` on.
int64_t add_ethernet_handshake(pcaplens::testing::PcapngWriter& w, uint32_t iface) {
    pcaplens::testing::TcpConversation a("10.0.0.1", 40001, "10.0.0.2", 80);
    a.syn();
    a.synack();
    a.ack();
    a.copy_to(w, iface);
    return a.ts();
}
void add_sll_syn_synack(pcaplens::testing::PcapngWriter& w, uint32_t iface, int64_t start) {
    namespace pt = pcaplens::testing;
    pt::TcpConversation b("10.0.0.3", 40002, "10.0.0.4", 80, 1000, 5000, start, 1'000'000, pt::Framing::linux_sll);
    b.syn();
    b.synack();
    b.copy_to(w, iface);
}

}  // namespace

TEST_CASE("--host and --port select connections in every report format") {
    // http-mixed: four connections from 10.99.0.1:40011..40014 to 10.99.0.2:80.
    CHECK(ids(e2e::pcaplens({"--format", "json", "--port", "40014", kMixed})) == std::set<uint64_t>{4});
    CHECK(ids(e2e::pcaplens({"--format", "json", "--port", "80", kMixed})) == std::set<uint64_t>{1, 2, 3, 4});
    CHECK(ids(e2e::pcaplens({"--format", "json", "--host", "10.99.0.1", kMixed})) == std::set<uint64_t>{1, 2, 3, 4});
    CHECK(ids(e2e::pcaplens({"--format", "json", "--host", "10.99.0.2", "--port", "40012", kMixed})) == std::set<uint64_t>{2});
    CHECK(ids(e2e::pcaplens({"--format", "json", "--host", "10.99.0.9", kMixed})).empty());
    // Combined with the other post-filters.
    CHECK(ids(e2e::pcaplens({"--format", "json", "--port", "80", "--only-anomalous", kMixed})) == std::set<uint64_t>{3, 4});  // 404 is info
    CHECK(ids(e2e::pcaplens({"--format", "json", "--port", "40013", "--conn", "4", kMixed})).empty());
    // A post-filter, not a packet filter: the summary still counts everything.
    const auto j = e2e::pcaplens({"--format", "json", "--port", "40014", kMixed}).json();
    CHECK(j["summary"]["connections"]["total"] == 4);

    // IPv6, written either way.
    const std::string v6 = e2e::source("tests/captures/tcp-ipv6.pcap");
    CHECK(ids(e2e::pcaplens({"--format", "json", "--host", "fd99::2", v6})) == std::set<uint64_t>{1});
    CHECK(ids(e2e::pcaplens({"--format", "json", "--host", "[fd99:0::2]", v6})) == std::set<uint64_t>{1});
    CHECK(ids(e2e::pcaplens({"--format", "json", "--host", "10.99.0.2", v6})).empty());

    // NDJSON and text honour them too.
    const auto nd = e2e::pcaplens({"--format", "ndjson", "--port", "40012", kMixed}).ndjson();
    REQUIRE(nd.size() == 2);
    CHECK(nd[0]["id"] == 2);
    const auto text = e2e::pcaplens({"-q", "--port", "40013", kMixed});
    CHECK(text.out.find("#3 ") != std::string::npos);
    CHECK(text.out.find("#1 ") == std::string::npos);

    const auto bad = e2e::pcaplens({"--host", "example.org", kMixed});
    CHECK(bad.status == 2);
    CHECK(bad.err.find("--host 'example.org': not an IP address") != std::string::npos);
    CHECK(e2e::pcaplens({"--port", "70000", kMixed}).status == 2);
}

TEST_CASE("--follow: the keep-alive connection's three requests and responses, bytes adding up") {
    const auto r = e2e::pcaplens({"--follow", "1", kKeepalive});
    REQUIRE(r.status == 0);
    const auto rep = e2e::pcaplens({"--format", "json", kKeepalive}).json();
    const auto& c = rep["connections"][0];

    // Header, the three GETs in order, each response, both ends, the footer.
    CHECK(r.out.rfind("=== connection 1: 10.99.0.1:40001 (client) <-> 10.99.0.2:80 (server), ascii\n", 0) == 0);
    const size_t a = r.out.find("GET /a.html HTTP/1.1\n"), b = r.out.find("GET /b.html HTTP/1.1\n"), cc = r.out.find("GET /c.html HTTP/1.1\n");
    REQUIRE(a != std::string::npos);
    REQUIRE(b != std::string::npos);
    REQUIRE(cc != std::string::npos);
    CHECK(a < b);
    CHECK(b < cc);
    size_t gets = 0;
    for (const auto& l : lines(r.out)) gets += l.rfind("GET /", 0) == 0;
    CHECK(gets == 3);
    // Each response comes after its request (stream order of arrival).
    const size_t resp_a = r.out.find("HTTP/1.1 200 OK", a);
    CHECK(resp_a < b);
    CHECK(r.out.find(">>> client -> server  2026-11-25 13:41:13.935163  frame 4  79 bytes\n") != std::string::npos);
    CHECK(r.out.find("<<< server -> client  ") != std::string::npos);
    CHECK(r.out.find("end (fin)") != std::string::npos);

    // The chunk sizes add up to the payload the report counts, direction by direction.
    CHECK(chunk_bytes(r.out, ">>> ") == c["payload_bytes"]["client_to_server"].get<uint64_t>());
    CHECK(chunk_bytes(r.out, "<<< ") == c["payload_bytes"]["server_to_client"].get<uint64_t>());
    // The Content-Length of the responses add up to the bodies the HTTP layer measured.
    uint64_t content_length = 0;
    for (const auto& l : lines(r.out)) {
        if (l.rfind("Content-Length: ", 0) == 0) content_length += std::stoull(l.substr(16));
    }
    uint64_t bodies = 0;
    for (const auto& x : c["http"]) bodies += x["response_body_bytes"].get<uint64_t>();
    CHECK(content_length == 2048 + 3072 + 4096);
    CHECK(content_length == bodies);
    CHECK(r.out.find("=== connection 1: client -> server 237 bytes, server -> client 9913 bytes; nothing missing; close: fin by client\n") !=
          std::string::npos);
    // CR LF shown as line breaks: no escaped \r in a clean HTTP exchange.
    CHECK(r.out.find("\\r") == std::string::npos);
}

TEST_CASE("--follow-format raw and hex") {
    const auto raw = e2e::pcaplens({"--follow", "1", "--follow-format", "raw", kKeepalive});
    REQUIRE(raw.status == 0);
    CHECK(raw.out.size() == 237 + 9913);
    CHECK(raw.out.rfind("GET /a.html HTTP/1.1\r\nHost: 10.99.0.2\r\n", 0) == 0);
    CHECK(raw.out.find("===") == std::string::npos);
    // -o FILE is the same bytes.
    const auto path = e2e::temp_dir() / "follow.bin";
    REQUIRE(e2e::pcaplens({"--follow", "1", "--follow-format", "raw", "-o", path.string(), kKeepalive}).status == 0);
    std::ifstream in(path, std::ios::binary);
    std::string file((std::istreambuf_iterator<char>(in)), {});
    CHECK(file == raw.out);

    const auto hex = e2e::pcaplens({"--follow", "1", "--follow-format", "hex", kKeepalive});
    REQUIRE(hex.status == 0);
    CHECK(hex.out.find("00000000  47 45 54 20 2f 61 2e 68  74 6d 6c 20 48 54 54 50  |GET /a.html HTTP|") != std::string::npos);
    CHECK(hex.out.find(", hex\n") != std::string::npos);
}

TEST_CASE("--follow shows the snaplen cuts of tcp-bulk as missing bytes and escapes binary") {
    const auto r = e2e::pcaplens({"--follow", "1", kBulk});
    REQUIRE(r.status == 0);
    const auto c = e2e::pcaplens({"--format", "json", kBulk}).json()["connections"][0];
    CHECK(r.out.find("<<< server -> client  ") != std::string::npos);
    CHECK(r.out.find(" bytes missing]") != std::string::npos);
    // Every gap line, added up, is the report's missing byte count.
    uint64_t missing = 0;
    for (const auto& l : lines(r.out)) {
        const size_t p = l.find("  [");
        if (p == std::string::npos || l.find(" bytes missing]") == std::string::npos) continue;
        missing += std::stoull(l.substr(p + 3));
    }
    CHECK(missing == c["missing_bytes"]["server_to_client"].get<uint64_t>());
    CHECK(chunk_bytes(r.out, "<<< ") + missing == c["payload_bytes"]["server_to_client"].get<uint64_t>());
    // The payload is binary (0x00..0xff): nothing but printable ASCII, LF and TAB reaches the terminal.
    for (unsigned char ch : r.out) {
        CAPTURE(static_cast<int>(ch));
        CHECK(((ch >= 0x20 && ch < 0x7F) || ch == '\n' || ch == '\t'));
        if (!((ch >= 0x20 && ch < 0x7F) || ch == '\n' || ch == '\t')) break;
    }
    CHECK(r.out.find("\\x00\\x01\\x02\\x03") != std::string::npos);
    CHECK(r.out.find("\\x1b") != std::string::npos);  // ESC, escaped
}

TEST_CASE("--follow errors") {
    const auto none = e2e::pcaplens({"--follow", "9", kKeepalive});
    CHECK(none.status == 2);
    CHECK(none.err == "pcaplens: --follow 9: no connection 9 in the capture (it has 1; the report lists their ids)\n");
    CHECK(none.out.empty());
    CHECK(e2e::pcaplens({"--follow-format", "hex", kKeepalive}).status == 2);
    // Ids start at 1: 0 is refused, not taken for "no --follow" / "every connection".
    for (const char* opt : {"--follow", "--conn"}) {
        const auto zero = e2e::pcaplens({opt, "0", kKeepalive});
        CHECK(zero.status == 2);
        CHECK(zero.err == std::string("pcaplens: ") + opt + ": connection ids start at 1 (#1 in the report) (try pcaplens --help)\n");
        CHECK(zero.out.empty());
    }
    CHECK(e2e::pcaplens({"--follow", "1", "--format", "json", kKeepalive}).status == 2);
    CHECK(e2e::pcaplens({"--follow", "1", "--follow-format", "utf8", kKeepalive}).status == 2);
    // A refused connection exchanged no bytes: header and footer only.
    const auto refused = e2e::pcaplens({"--follow", "1", e2e::source("tests/captures/tcp-refused.pcap")});
    CHECK(refused.status == 0);
    CHECK(refused.out.find("client -> server 0 bytes, server -> client 0 bytes") != std::string::npos);
}

TEST_CASE("raw follow output never goes to a terminal") {
    if (!have("script")) return;
    const auto r = shell("script -qec " +
                         e2e::quote(e2e::quote(PCAPLENS_BINARY) + " --follow 1 --follow-format raw " + e2e::quote(kKeepalive)) +
                         " /dev/null </dev/null; echo \"status=$?\"");
    CHECK(r.out.find("standard output is a terminal") != std::string::npos);
    CHECK(r.out.find("GET /a.html") == std::string::npos);
}

TEST_CASE("colour: --color always and never, auto off in a pipe, NO_COLOR") {
    const auto always = e2e::pcaplens({"--color", "always", kMixed});
    const auto never = e2e::pcaplens({"--color", "never", kMixed});
    const auto piped = e2e::pcaplens({kMixed});
    CHECK(always.out.find("\033[") != std::string::npos);
    CHECK(always.out.find("\033[31mrst by client\033[0m") != std::string::npos);
    CHECK(never.out.find('\033') == std::string::npos);
    CHECK(piped.out.find('\033') == std::string::npos);
    // Without escapes, always and never say the same.
    std::string stripped;
    for (size_t i = 0; i < always.out.size(); ++i) {
        if (always.out[i] == '\033') {
            while (i < always.out.size() && always.out[i] != 'm') ++i;
            continue;
        }
        stripped += always.out[i];
    }
    CHECK(stripped == never.out);
    if (have("script")) {
        const auto tty = on_terminal("COLUMNS=200", {kMixed});
        CHECK(tty.out.find("\033[1mConnections") != std::string::npos);
        const auto no_color = on_terminal("NO_COLOR=1 COLUMNS=200", {kMixed});
        CHECK(no_color.out.find('\033') == std::string::npos);
        const auto follow = on_terminal("COLUMNS=200", {"--follow", "1", kKeepalive});
        CHECK(follow.out.find("\033[31m>>> client -> server") != std::string::npos);
    }
}

TEST_CASE("text fits the terminal width, and is never cut in a file or pipe") {
    // Not a terminal: COLUMNS is ignored, lines stay whole.
    const auto piped = shell("COLUMNS=40 " + e2e::quote(PCAPLENS_BINARY) + " -q " + e2e::quote(kMixed));
    bool long_line = false;
    for (const auto& l : lines(piped.out)) long_line |= l.size() > 40;
    CHECK(long_line);
    CHECK(piped.out.find("...") == std::string::npos);
    if (!have("script")) return;
    const auto tty = on_terminal("LANG=C LC_ALL=C COLUMNS=60", {"--color", "never", kMixed});
    size_t cut = 0;
    for (const auto& l : lines(tty.out)) {
        if (l.rfind("  #", 0) != 0) continue;
        CAPTURE(l);
        CHECK(l.size() <= 60);
        if (l.size() >= 3 && l.compare(l.size() - 3, 3, "...") == 0) ++cut;
    }
    CHECK(cut == 4);
    CHECK(tty.out.find("  #4    10.99.0.1:40014 -> 10.99.0.2:80  100.6 ms  rtt 0....\r\n") != std::string::npos);
    // A UTF-8 terminal gets a real ellipsis.
    const auto utf8 = on_terminal("LC_ALL=C.UTF-8 COLUMNS=60", {"--color", "never", kMixed});
    CHECK(utf8.out.find("100.6 ms  rtt 0.03\u2026\r\n") != std::string::npos);
    // Colour sequences take no columns and are closed after a cut.
    const auto col = on_terminal("LANG=C LC_ALL=C COLUMNS=60", {"--color", "always", kMixed});
    CHECK(col.out.find("...\033[0m") != std::string::npos);
}

TEST_CASE("errors are one line naming the file, with a hint") {
    const auto missing = e2e::pcaplens({"nosuch.pcap"});
    CHECK(missing.status == 4);
    CHECK(missing.err == "pcaplens: nosuch.pcap: no such file (try pcaplens --help)\n");
    // A second name that is not a file is not taken for a filter expression.
    const auto second = e2e::pcaplens({kKeepalive, "nosuch.pcap"});
    CHECK(second.status == 4);
    CHECK(second.err == "pcaplens: nosuch.pcap: no such file (try pcaplens --help)\n");
    const auto dir = e2e::pcaplens({e2e::source("samples")});
    CHECK(dir.status == 4);
    CHECK(dir.err.find("samples: is a directory, not a capture file") != std::string::npos);
    const auto text = e2e::temp_dir() / "notes.txt";
    std::ofstream(text) << "not a capture\n";
    const auto notcap = e2e::pcaplens({text.string()});
    CHECK(notcap.status == 4);
    CHECK(notcap.err == "pcaplens: " + text.string() + ": not a pcap or pcapng capture (unknown file format)\n");
    const auto bogus = e2e::pcaplens({"--bogus", kKeepalive});
    CHECK(bogus.status == 2);
    CHECK(bogus.err.find("(try pcaplens --help)\n") != std::string::npos);
    for (const auto* r : {&missing, &second, &dir, &notcap, &bogus}) {
        CHECK(std::count(r->err.begin(), r->err.end(), '\n') == 1);
    }
}

TEST_CASE("options before the files: -r then a filter expression, -f then files, as tcpdump") {
    // -r takes one file; the words after it are the filter (CLI11's vector
    // options would otherwise take them as more files).
    const auto expr = e2e::pcaplens({"--format", "json", "-r", kMixed, "tcp", "port", "80", "and", "port", "40012"});
    REQUIRE(expr.status == 0);
    const auto j = expr.json();
    CHECK(j["input"]["filter"] == "tcp port 80 and port 40012");
    REQUIRE(j["connections"].size() == 1);
    CHECK(j["connections"][0]["client"]["port"] == 40012);
    // -r repeated: two files, merged.
    const auto twice = e2e::pcaplens({"--format", "json", "-r", kKeepalive, "-r", kMixed});
    REQUIRE(twice.status == 0);
    CHECK(twice.json()["input"]["files"].size() == 2);
    // With -f every positional is a file: a missing one is named, exit 4
    // (it used to be taken for a second filter expression, exit 2).
    const auto missing = e2e::pcaplens({"-f", "tcp", "nosuch.pcap"});
    CHECK(missing.status == 4);
    CHECK(missing.err == "pcaplens: nosuch.pcap: no such file (try pcaplens --help)\n");
    const auto bare = e2e::pcaplens({"-f", "tcp", kKeepalive, "nosuchfile"});
    CHECK(bare.status == 4);
    CHECK(bare.err == "pcaplens: nosuchfile: no such file (try pcaplens --help)\n");
    CHECK(e2e::pcaplens({"-q", "-f", "tcp", kKeepalive}).status == 0);
}

TEST_CASE("standard input and pipes: read once, same report as the file, damage at the same byte") {
    for (const std::string& cap : {kKeepalive, kMixed}) {
        const auto file = e2e::pcaplens({"--format", "json", cap});
        REQUIRE(file.status == 0);
        auto want = file.json();
        for (const std::string& name : {std::string("-"), std::string("/dev/stdin")}) {
            for (const bool with_r : {false, true}) {
                std::vector<std::string> args{"--format", "json"};
                if (with_r) args.push_back("-r");
                args.push_back(name);
                const auto piped = e2e::pcaplens(args, 60, cap);
                REQUIRE(piped.status == 0);
                auto got = piped.json();
                CHECK(got["input"]["files"][0]["path"] == name);
                CHECK(got["input"]["files"][0]["format"] == want["input"]["files"][0]["format"]);
                CHECK(got["input"]["files"][0]["packets"] == want["input"]["files"][0]["packets"]);
                CHECK(got["connections"] == want["connections"]);
                CHECK(got["summary"] == want["summary"]);
            }
        }
    }
    // Cut inside a record: the same packets, the same damage, the same byte.
    std::ifstream in(kMixed, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    const auto cut = e2e::temp_dir() / "mixed-cut.pcapng";
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, 5000);
    const auto from_file = e2e::pcaplens({"--format", "json", cut.string()});
    const auto from_pipe = e2e::pcaplens({"--format", "json", "-"}, 60, cut.string());
    CHECK(from_file.status == 3);
    CHECK(from_pipe.status == 3);
    const auto ef = from_file.json()["input"]["files"][0]["errors"], ep = from_pipe.json()["input"]["files"][0]["errors"];
    REQUIRE(ef.size() == 1);
    REQUIRE(ep.size() == 1);
    CHECK(ep[0]["packet"] == ef[0]["packet"]);
    CHECK(ep[0]["offset"] == ef[0]["offset"]);
    CHECK(ep[0]["kind"] == "truncated_record");
    CHECK(from_pipe.json()["connections"] == from_file.json()["connections"]);
    // Nothing on the pipe, or not a capture: named, exit 4.
    const auto empty = e2e::temp_dir() / "empty-input";
    std::ofstream(empty).flush();
    const auto none = e2e::pcaplens({"-r", "-"}, 60, empty.string());
    CHECK(none.status == 4);
    CHECK(none.err == "pcaplens: -: empty file, not a capture\n");
    // check reads its input twice: it refuses a pipe up front.
    const auto check = e2e::pcaplens({"check", "--no-resets", "-"}, 60, kMixed);
    CHECK(check.status == 2);
    CHECK(check.err.find("can be read only once") != std::string::npos);
}

TEST_CASE("-o or --junit naming an input capture is refused, and the capture is left alone") {
    const auto copy = e2e::temp_dir() / "precious.pcap";
    std::filesystem::copy_file(kKeepalive, copy, std::filesystem::copy_options::overwrite_existing);
    const auto size = std::filesystem::file_size(copy);
    const auto r = e2e::pcaplens({"-q", "-o", copy.string(), copy.string()});
    CHECK(r.status == 4);
    CHECK(r.err == "pcaplens: " + copy.string() + ": is one of the input captures; not writing over it\n");
    const auto c = e2e::pcaplens({"check", "--no-resets", "--junit", copy.string(), copy.string()});
    CHECK(c.status == 4);
    const auto c2 = e2e::pcaplens({"check", "--no-resets", "-o", copy.string(), copy.string()});
    CHECK(c2.status == 4);
    CHECK(std::filesystem::file_size(copy) == size);
    CHECK(e2e::pcaplens({"-q", copy.string()}).status == 0);
}

TEST_CASE("counts and limits refuse negative values; --fail-on repeats; --list-anomalies honours -o and --format (text, markdown, json, ndjson)") {
    // CLI11 reads 64-bit unsigned options with strtoull: "-5" was 2^64-5.
    for (const std::vector<std::string>& args : {std::vector<std::string>{"-c", "-5", kKeepalive},
                                                 std::vector<std::string>{"--max-connections", "-1", kKeepalive},
                                                 std::vector<std::string>{"check", "--max-total-connections", "-1", kKeepalive},
                                                 std::vector<std::string>{"check", "--expect-transactions", "-3", kKeepalive},
                                                 std::vector<std::string>{"check", "--max-handshake-rtt-ms", "-1", kKeepalive}}) {
        const auto r = e2e::pcaplens(args);
        CHECK(r.status == 2);
        CHECK(r.err.find(": must not be negative (try pcaplens") != std::string::npos);
        CHECK(r.out.empty());
    }
    CHECK(e2e::pcaplens({"--conn", "-1", kKeepalive}).status == 2);
    CHECK(e2e::pcaplens({"-q", "-c", "3", kKeepalive}).status == 0);
    // --fail-on given twice: both kinds count (http-mixed has one rst_abort).
    CHECK(e2e::pcaplens({"-q", "--fail-on", "syn_unanswered", "--fail-on", "rst_abort", kMixed}).status == 1);
    // Spaces around names are ignored; a kind named twice is reported once, in good English.
    const auto twice = e2e::pcaplens({"-q", "--fail-on", "rst_abort, zero_window", "--fail-on", "rst_abort", kMixed});
    CHECK(twice.status == 1);
    CHECK(twice.err == "pcaplens: --fail-on: rst_abort found 1 time\n");
    CHECK(e2e::pcaplens({"-q", "--fail-on", "syn_unanswered", "--fail-on", "zero_window", kMixed}).status == 0);
    // The catalogue: to -o FILE; write errors are 4.
    const auto cat = e2e::temp_dir() / "catalogue.md";
    const auto listed = e2e::pcaplens({"--list-anomalies", "--format", "markdown", "-o", cat.string()});
    CHECK(listed.status == 0);
    CHECK(listed.out.empty());
    std::ifstream md(cat);
    const std::string table((std::istreambuf_iterator<char>(md)), {});
    CHECK(table.rfind("| kind | layer | severity |", 0) == 0);
    CHECK(table.find("| `rst_abort` |") != std::string::npos);
    // JSON and NDJSON: the same rows as the text list, in its order, with
    // every column of the markdown table.
    const auto text = e2e::pcaplens({"--list-anomalies"});
    REQUIRE(text.status == 0);
    std::vector<std::string> text_kinds;
    std::istringstream lines(text.out);
    for (std::string line; std::getline(lines, line);) text_kinds.push_back(line.substr(0, line.find(' ')));
    REQUIRE(text_kinds.size() > 30);
    const auto json = e2e::pcaplens({"--list-anomalies", "--format", "json"});
    REQUIRE(json.status == 0);
    const auto doc = json.json();
    CHECK(doc.at("schema") == "pcaplens/1");
    CHECK(doc.at("tool").at("name") == "pcaplens");
    const auto& kinds = doc.at("anomaly_kinds");
    REQUIRE(kinds.size() == text_kinds.size());
    for (size_t i = 0; i < kinds.size(); ++i) CHECK(kinds[i].at("kind") == text_kinds[i]);
    const auto rst = std::find_if(kinds.begin(), kinds.end(), [](const auto& k) { return k.at("kind") == "rst_abort"; });
    REQUIRE(rst != kinds.end());
    CHECK(rst->at("layer") == "tcp");
    CHECK(table.find("| `rst_abort` | tcp | " + rst->at("severity").get<std::string>() + " | " +
                     rst->at("definition").get<std::string>() + " | " + rst->at("wireshark").get<std::string>()) != std::string::npos);
    const auto nd = e2e::pcaplens({"--list-anomalies", "--format", "ndjson"});
    REQUIRE(nd.status == 0);
    const auto rows = nd.ndjson();
    REQUIRE(rows.size() == kinds.size());
    for (size_t i = 0; i < rows.size(); ++i) CHECK(rows[i] == kinds[i]);
    if (std::filesystem::exists("/dev/full")) {
        CHECK(e2e::pcaplens({"--list-anomalies", "-o", "/dev/full"}).status == 4);
    }
}

TEST_CASE("a capture with no packets: reported, and its quality verdict claims nothing vacuous") {
    // A classic pcap file header (LE, 2.4, snaplen 65535, Ethernet) and no records.
    const unsigned char header[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0};
    const auto empty = e2e::temp_dir() / "no-packets.pcap";
    std::ofstream(empty, std::ios::binary).write(reinterpret_cast<const char*>(header), sizeof header);
    const auto text = e2e::pcaplens({"--color", "never", empty.string()});
    CHECK(text.status == 0);
    CHECK(text.out.find("connections 0") != std::string::npos);
    CHECK(text.out.find("  capture: complete (no TCP connections in it)\n") != std::string::npos);
    CHECK(text.out.find("both directions seen") == std::string::npos);
    const auto json = e2e::pcaplens({"--format", "json", empty.string()});
    REQUIRE(json.status == 0);
    const auto j = json.json();
    CHECK(j["summary"]["connections"]["total"] == 0);
    CHECK(j["summary"]["capture_quality"]["capture"] == "complete");
}

TEST_CASE("exit status precedence: a usage error (2) wins over unreadable (4) and damaged (3) input") {
    // A filter that does not compile, with a missing file: both named, 2.
    for (const std::string& mode : {std::string("report"), std::string("check")}) {
        std::vector<std::string> args;
        if (mode == "check") args = {"check", "--no-resets"};
        args.insert(args.end(), {"-r", "nosuch.pcap", "tcp prot 80"});
        const auto bad = e2e::pcaplens(args);
        CHECK(bad.status == 2);
        CHECK(bad.err.find("nosuch.pcap: No such file or directory") != std::string::npos);
        CHECK(bad.err.find("bad filter expression 'tcp prot 80'") != std::string::npos);
        args.back() = "tcp port 80";
        CHECK(e2e::pcaplens(args).status == 4);
    }
    const auto kinds = e2e::pcaplens({"--fail-on", "bogus_kind", "nosuch.pcap"});
    CHECK(kinds.status == 2);
    CHECK(kinds.err.find("unknown anomaly kind 'bogus_kind'") != std::string::npos);
    // --follow of a connection that is not there, in a damaged file: both are
    // said, and the status is the usage error's.
    std::ifstream in(kKeepalive, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    const auto cut = e2e::temp_dir() / "keepalive-cut.pcap";
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, 3000);
    const auto follow = e2e::pcaplens({"--follow", "9", cut.string()});
    CHECK(follow.status == 2);
    CHECK(follow.err.find("truncated record") != std::string::npos);
    CHECK(follow.err.find("--follow 9: no connection 9") != std::string::npos);
    // The damage alone is 3.
    CHECK(e2e::pcaplens({"--follow", "1", cut.string()}).status == 3);
}

TEST_CASE("--help is grouped by task with examples") {
    const auto r = e2e::pcaplens({"--help"});
    REQUIRE(r.status == 0);
    for (const char* s : {"Input:", "Output:", "Select connections (in the report):", "Follow a stream:", "Live capture", "Limits:",
                          "Examples:", "pcaplens --follow 3 capture.pcap", "--host ADDR"}) {
        CAPTURE(s);
        CHECK(r.out.find(s) != std::string::npos);
    }
}

TEST_CASE("-q reports what the full text does, without the per-transaction lines (its transactions are not kept)") {
    // Under -q the text reporter never reads transactions, so each connection's
    // are reduced to the summary's tallies as it closes and freed. The
    // connection lines, the http counts and the summary (methods, status
    // classes, TTFB percentiles) must still match the full report's.
    size_t detail_lines = 0;
    for (const std::string& f : {kKeepalive, kMixed, e2e::source("tests/captures/http-pipelined.pcap"),
                                 e2e::source("tests/captures/http-100-continue.pcap"), e2e::source("tests/captures/http-chunked.pcap")}) {
        CAPTURE(f);
        const auto full = e2e::pcaplens({f});
        const auto quiet = e2e::pcaplens({"-q", f});
        REQUIRE(full.status == 0);
        REQUIRE(quiet.status == 0);
        std::vector<std::string> kept;
        for (const auto& l : lines(full.out)) {
            // Detail lines: a transaction or an anomaly under its connection.
            if (l.rfind("        ", 0) == 0) {
                ++detail_lines;
                continue;
            }
            kept.push_back(l);
        }
        CHECK(lines(quiet.out) == kept);
        CHECK(quiet.out.find("  http ") != std::string::npos);          // per-connection counts
        CHECK(quiet.out.find("time to first byte") != std::string::npos);  // from the tallies
        // --http-only selects the same connections either way.
        const auto full_http = e2e::pcaplens({"--http-only", f});
        const auto quiet_http = e2e::pcaplens({"-q", "--http-only", f});
        REQUIRE(quiet_http.status == 0);
        const auto conns = std::count(quiet_http.out.begin(), quiet_http.out.end(), '#');
        CHECK(conns >= 1);
        CHECK(std::count(full_http.out.begin(), full_http.out.end(), '#') == conns);
    }
    CHECK(detail_lines >= 10);
    // ...and drops a connection without HTTP.
    const auto bulk = e2e::pcaplens({"-q", kBulk});
    const auto bulk_http = e2e::pcaplens({"-q", "--http-only", kBulk});
    CHECK(std::count(bulk.out.begin(), bulk.out.end(), '#') >= 1);
    CHECK(std::count(bulk_http.out.begin(), bulk_http.out.end(), '#') == 0);
}

TEST_CASE("text summary's http line counts what the JSON summary counts: requests without response") {
    // -c 4 stops after the first request, before its response.
    const auto text = e2e::pcaplens({"-c", "4", kMixed});
    REQUIRE(text.status == 0);
    const auto json = e2e::pcaplens({"--format", "json", "-c", "4", kMixed});
    REQUIRE(json.status == 0);
    const auto doc = json.json();
    const auto& h = doc.at("summary").at("http");
    REQUIRE(h.at("requests_without_response") == 1);
    CHECK(text.out.find("  http 1 transactions, GET 1, requests without response 1\n") != std::string::npos);
    // A complete exchange says nothing about them.
    const auto full = e2e::pcaplens({"-c", "6", kMixed});
    CHECK(full.out.find("  http 1 transactions, GET 1, 2xx 1\n") != std::string::npos);
}

// ---------------------------------------------------------------------------
// From a review of input handling and reporters (session 13).
// ---------------------------------------------------------------------------

TEST_CASE("a filter with a '/' (CIDR) is a filter, with or without -r; a capture file after -r is a usage error") {
    const auto all = e2e::pcaplens({"--format", "json", kMixed});
    REQUIRE(all.status == 0);
    const size_t n = all.json()["connections"].size();
    for (const bool with_r : {false, true}) {
        std::vector<std::string> args{"--format", "json"};
        if (with_r) args.push_back("-r");
        args.push_back(kMixed);
        args.push_back("net 10.0.0.0/8 or net 2001:db8::/32 or net 127.0.0.0/8 or net 192.168.0.0/16 or net 172.16.0.0/12");
        const auto r = e2e::pcaplens(args);
        INFO(r.err);
        REQUIRE(r.status == 0);   // was "no such file", exit 4
        CHECK(r.json()["connections"].size() == n);
        CHECK(r.json()["input"]["filter"].get<std::string>().rfind("net 10.0.0.0/8", 0) == 0);
    }
    // A mistyped file name is still one (it does not compile as a filter).
    const auto typo = e2e::pcaplens({"-q", kMixed, "nosuch/typo.pcap"});
    CHECK(typo.status == 4);
    CHECK(typo.err == "pcaplens: nosuch/typo.pcap: no such file (try pcaplens --help)\n");
    // -r a.pcap b.pcap: b.pcap was said to be "not a regular file" (exit 4).
    const auto forgot = e2e::pcaplens({"-q", "-r", kMixed, kKeepalive});
    CHECK(forgot.status == 2);
    CHECK(forgot.err.find("with -r, each capture file needs its own -r") != std::string::npos);
}

TEST_CASE("a filter that does not compile for a pcapng interface met later: exit 2, a whole report of what came before") {
    namespace pt = pcaplens::testing;
    pt::PcapngWriter w;
    const int64_t end = add_ethernet_handshake(w, w.add_interface(pt::linktype::ethernet));
    // An SLL interface declared after Ethernet's packets: `ether host` has
    // no meaning there.
    add_sll_syn_synack(w, w.add_interface(pt::linktype::linux_sll), end + 1'000'000);
    const std::string path = (e2e::temp_dir() / "late-sll.pcapng").string();
    w.write_file(path);
    for (const char* format : {"json", "ndjson", "text"}) {
        const auto r = e2e::pcaplens({"--format", format, path, "ether host 00:01:02:03:04:05 or tcp"});
        INFO(format << ": " << r.err);
        CHECK(r.status == 2);   // was "internal error", exit 4, and a JSON document cut short
        CHECK(r.err.find("packet 4: bad filter expression") != std::string::npos);
        CHECK(r.err.find("LINUX_SLL") != std::string::npos);
        CHECK(r.err.find("reading stopped there") != std::string::npos);
        if (std::string(format) == "json") {
            const auto j = r.json();   // whole: parses
            CHECK(j["summary"]["packets"] == 3);
            REQUIRE(j["connections"].size() == 1);
            CHECK(j["connections"][0]["client"]["port"] == 40001);
            CHECK(j["input"]["files"][0]["packets"] == 3);
        }
    }
}

TEST_CASE("standard input: a pcapng whose interfaces differ in link type, or whose sections differ in byte order, reads as the file does") {
    // dumpcap -i a -i b -w - writes such streams; through libpcap they were
    // "damaged" (exit 3) after the first interface, or refused.
    namespace pt = pcaplens::testing;
    for (const bool two_sections : {false, true}) {
        CAPTURE(two_sections);
        pt::PcapngWriter w;
        const int64_t end = add_ethernet_handshake(w, w.add_interface(pt::linktype::ethernet));
        pt::PcapngWriter be(true);   // a big-endian section after the little-endian one
        pt::PcapngWriter& second = two_sections ? be : w;
        add_sll_syn_synack(second, second.add_interface(pt::linktype::linux_sll), end + 1'000'000);
        std::string bytes(w.bytes().begin(), w.bytes().end());
        if (two_sections) bytes.append(be.bytes().begin(), be.bytes().end());
        const std::string path = (e2e::temp_dir() / (two_sections ? "two-sections.pcapng" : "two-links.pcapng")).string();
        std::ofstream(path, std::ios::binary) << bytes;
        const auto file = e2e::pcaplens({"--format", "json", path});
        REQUIRE(file.status == 0);
        const auto piped = e2e::pcaplens({"--format", "json", "-"}, 60, path);
        INFO(piped.err);
        CHECK(piped.status == 0);
        auto want = file.json();
        auto got = piped.json();
        CHECK(got["summary"]["packets"] == 5);
        CHECK(got["connections"] == want["connections"]);
        CHECK(got["summary"] == want["summary"]);
        CHECK(got["input"]["files"][0]["format"] == "pcapng");
        CHECK(got["input"]["files"][0]["errors"] == want["input"]["files"][0]["errors"]);
    }
}

TEST_CASE("-c with several files: each file's count is what was analysed, not the packet read ahead for the merge") {
    const auto full = e2e::pcaplens({"--format", "json", kKeepalive, kMixed});
    REQUIRE(full.status == 0);
    for (const uint64_t c : {uint64_t{5}, uint64_t{17}}) {
        const auto r = e2e::pcaplens({"--format", "json", "-c", std::to_string(c), kKeepalive, kMixed});
        REQUIRE(r.status == 0);
        const auto j = r.json();
        uint64_t sum = 0;
        for (const auto& f : j["input"]["files"]) {
            sum += f["packets"].get<uint64_t>();
            if (f["packets"] == 0) continue;
            CHECK(f["first_ts"].get<double>() <= f["last_ts"].get<double>());
        }
        CHECK(j["summary"]["packets"] == c);
        CHECK(sum == c);   // was c + 1: the other file's read-ahead packet
        CHECK(j["summary"]["packets_read"] == c);
    }
    // Read to the end, the counts are the files' own.
    const auto whole = full.json();
    uint64_t sum = 0;
    for (const auto& f : whole["input"]["files"]) sum += f["packets"].get<uint64_t>();
    CHECK(sum == whole["summary"]["packets"].get<uint64_t>());
}

TEST_CASE("--follow onto a full device: exit 4 and a message, however short the output") {
    if (!std::filesystem::exists("/dev/full")) return;
    // Output smaller than stdio's buffer: nothing fails until it is flushed.
    namespace pt = pcaplens::testing;
    pt::TcpConversation c("10.0.0.1", 40001, "10.0.0.2", 80);
    c.syn();
    c.synack();
    c.ack();
    c.client_data(pt::Bytes{'h', 'i', '\n'});
    const std::string tiny = (e2e::temp_dir() / "tiny-follow.pcap").string();
    c.write_pcap(tiny);
    REQUIRE(e2e::pcaplens({"--follow", "1", tiny}).status == 0);
    for (const char* fmt : {"ascii", "hex"}) {
        const int st = std::system((e2e::quote(PCAPLENS_BINARY) + " --follow 1 --follow-format " + fmt + " " + e2e::quote(tiny) +
                                    " >/dev/full 2>/dev/null").c_str());
        CHECK(WIFEXITED(st));
        CHECK(WEXITSTATUS(st) == 4);   // was 0: the stdio buffer failed at exit, unseen
    }
    const auto err = shell(e2e::quote(PCAPLENS_BINARY) + " --follow 1 " + e2e::quote(tiny) + " 2>&1 >/dev/full");
    CHECK(err.status == 4);
    CHECK(err.out == "pcaplens: standard output: write error\n");
}

TEST_CASE("a broken status line answers its request: JSON status null with an empty response_version, text says so") {
    namespace pt = pcaplens::testing;
    auto bytes = [](const std::string& s) { return pt::Bytes(s.begin(), s.end()); };
    pt::TcpConversation c("10.0.0.1", 40002, "10.0.0.2", 80);
    c.syn();
    c.synack();
    c.ack();
    c.client_data(bytes("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n"));
    c.server_data(bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    c.server_data(bytes("HTTP/1.1 2x0 Huh\r\n\r\n"));
    c.server_data(bytes("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
    const std::string f = (e2e::temp_dir() / "broken-status.pcap").string();
    c.write_pcap(f);
    const auto j = e2e::pcaplens({"--format", "json", f});
    REQUIRE(j.status == 0);
    const auto doc = j.json();
    REQUIRE(doc["connections"].size() == 1);
    const auto& txs = doc["connections"][0]["http"];
    REQUIRE(txs.size() == 3);
    CHECK(txs[1]["uri"] == "/b");
    CHECK(txs[1]["status"].is_null());
    CHECK_FALSE(txs[1]["response_ts"].is_null());
    CHECK(txs[1]["response_frame"] == 6);
    CHECK(txs[2]["uri"] == "/c");
    CHECK(txs[2]["status"] == 404);                 // not shifted onto /b
    CHECK(doc["summary"]["http"]["requests_without_response"] == 0);
    const auto t = e2e::pcaplens({f});
    CHECK(t.out.find("GET /b -> (malformed status line)") != std::string::npos);
    CHECK(t.out.find("GET /c -> 404") != std::string::npos);
}
