// Command-line behaviour: --help documents every option and the exit
// statuses, and the man page stays in step with it.
#include <doctest/doctest.h>

#include <cctype>
#include <cstdlib>
#include <set>

#include "e2e_support.hpp"

TEST_CASE("--help lists options and exit statuses; man page documents every long option") {
    const auto r = e2e::pcaplens({"--help"});
    REQUIRE(r.status == 0);
    for (const char* s : {"Exit status", "  3  input damaged", "  4  input unreadable", "  2  usage error", "  1  anomalies"}) {
        CHECK(r.out.find(s) != std::string::npos);
    }
    std::ifstream in(e2e::source("man/pcaplens.1"));
    std::string man((std::istreambuf_iterator<char>(in)), {});
    REQUIRE(!man.empty());
    std::set<std::string> opts;
    // Every "--name" in the help text (std::regex trips GCC 12 warnings under ASan).
    for (size_t p = r.out.find("--"); p != std::string::npos; p = r.out.find("--", p + 2)) {
        size_t e = p + 2;
        while (e < r.out.size() && (std::islower(static_cast<unsigned char>(r.out[e])) || std::isdigit(static_cast<unsigned char>(r.out[e])) || r.out[e] == '-')) ++e;
        if (e > p + 2 && std::islower(static_cast<unsigned char>(r.out[p + 2]))) opts.insert(r.out.substr(p + 2, e - p - 2));
    }
    CHECK(opts.size() > 20);
    for (const auto& o : opts) {
        std::string roff;
        for (char c : o) roff += c == '-' ? std::string("\\-") : std::string(1, c);
        CAPTURE(o);
        CHECK(man.find("\\-\\-" + roff) != std::string::npos);
    }
}

TEST_CASE("--version names the git revision and libpcap") {
    const auto r = e2e::pcaplens({"--version"});
    CHECK(r.status == 0);
    CHECK(r.out.find("pcaplens ") == 0);
    CHECK(r.out.find("libpcap version") != std::string::npos);
    CHECK(r.out.find("(git ") != std::string::npos);
    // Which malloc is linked matters for speed and for the memory cap's probe.
    CHECK((r.out.find("heap allocator: jemalloc") != std::string::npos ||
           r.out.find("heap allocator: system malloc") != std::string::npos));
    // jemalloc is started with transparent huge pages (memory_usage.cpp);
    // the environment can override it, as jemalloc documents.
    if (r.out.find("heap allocator: jemalloc") != std::string::npos && std::getenv("MALLOC_CONF") == nullptr) {
        CHECK(r.out.find(", transparent huge pages: always\n") != std::string::npos);
    }
    // So is how it was compiled (profile-guided or not; the tests run a plain build).
    CHECK((r.out.find("\nbuild: plain") != std::string::npos || r.out.find("\nbuild: pgo") != std::string::npos));
}

TEST_CASE("--list-anomalies --format markdown matches docs/anomalies.md") {
    const auto r = e2e::pcaplens({"--list-anomalies", "--format", "markdown"});
    REQUIRE(r.status == 0);
    std::ifstream in(e2e::source("docs/anomalies.md"));
    std::string doc((std::istreambuf_iterator<char>(in)), {});
    // The generated table is embedded verbatim in the document.
    CHECK(doc.find(r.out) != std::string::npos);
}

TEST_CASE("reports are byte-identical from run to run (the flow table's hash seed differs per run)") {
    // The flow index is seeded per process (ASLR'd address) so a crafted
    // capture cannot aim flows at one probe run; nothing in the output may
    // depend on that seed. Several runs of every format on captures with
    // many connections must agree to the byte.
    for (const char* capture : {"tests/captures/tcp-loss.pcap", "samples/http-mixed.pcapng", "tests/captures/tcp-port-reuse.pcap"}) {
        for (const char* format : {"json", "ndjson", "text"}) {
            CAPTURE(capture);
            CAPTURE(format);
            const auto first = e2e::pcaplens({"--format", format, e2e::source(capture)});
            REQUIRE(first.status == 0);
            REQUIRE(!first.out.empty());
            for (int i = 0; i < 3; ++i) CHECK(e2e::pcaplens({"--format", format, e2e::source(capture)}).out == first.out);
        }
    }
}

TEST_CASE("-o to a place that cannot be written: exit 4 and the reason, for analysis and check") {
    const std::string sample = e2e::source("samples/http-keepalive.pcap");
    const auto a = e2e::pcaplens({"-o", "/nonexistent-dir/report.json", "--format", "json", sample});
    CHECK(a.status == 4);
    CHECK(a.err.find("pcaplens: /nonexistent-dir/report.json: cannot write:") != std::string::npos);
    const auto c = e2e::pcaplens({"check", "--no-unanswered-syns", "-o", "/nonexistent-dir/junit.xml", sample});
    CHECK(c.status == 4);
    CHECK(c.err.find("pcaplens check: /nonexistent-dir/junit.xml: cannot write:") != std::string::npos);
}
