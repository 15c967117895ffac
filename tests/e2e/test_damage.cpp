// Damaged input: a truncated copy of a real sample still reports what was
// read before the cut, names the damage and exits 3.
#include <doctest/doctest.h>

#include <cstring>

#include "e2e_support.hpp"

namespace fs = std::filesystem;

namespace {
std::vector<char> slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
}  // namespace

TEST_CASE("truncated sample: packets before the cut are reported, damage named, exit 3") {
    const fs::path sample = e2e::source("samples/http-keepalive.pcap");
    REQUIRE(fs::exists(sample));
    const auto whole = e2e::pcaplens({"--format", "json", sample.string()});
    REQUIRE(whole.status == 0);
    const uint64_t total = whole.json()["summary"]["packets"];
    REQUIRE(total > 4);

    // Find the offset of the last record: walk the pcap record headers.
    const auto bytes = slurp(sample);
    size_t off = 24, last = 24;
    uint64_t n = 0;
    while (off + 16 <= bytes.size()) {
        uint32_t incl;
        std::memcpy(&incl, bytes.data() + off + 8, 4);
        last = off;
        off += 16 + incl;
        ++n;
    }
    REQUIRE(n == total);
    for (size_t cut : {last + 7, last + 16 + 3}) {  // inside the record header, inside the data
        CAPTURE(cut);
        const fs::path cut_path = e2e::temp_dir() / "cut.pcap";
        std::ofstream(cut_path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(cut));
        const auto r = e2e::pcaplens({"--format", "json", cut_path.string()});
        CHECK(r.status == 3);
        const auto j = r.json();
        CHECK(j["summary"]["packets"] == total - 1);
        const auto& errs = j["input"]["files"][0]["errors"];
        REQUIRE(errs.size() == 1);
        CHECK(errs[0]["kind"] == "truncated_record");
        CHECK(errs[0]["packet"] == total);
        CHECK(errs[0]["offset"] == last);
        CHECK(j["summary"]["anomalies"]["damaged_file"] == 1);
        CHECK(r.err.find("truncated record at packet " + std::to_string(total)) != std::string::npos);
        CHECK(r.err.find("byte " + std::to_string(last)) != std::string::npos);
        // Text mode reports it too, with the same status.
        const auto t = e2e::pcaplens({cut_path.string()});
        CHECK(t.status == 3);
        CHECK(t.out.find("damaged") != std::string::npos);
    }
}

TEST_CASE("unreadable input and usage errors have their own statuses") {
    CHECK(e2e::pcaplens({"/nonexistent/x.pcap"}).status == 4);
    const fs::path junk = e2e::temp_dir() / "junk.pcap";
    std::ofstream(junk) << "this is not a capture file at all\n";
    const auto r = e2e::pcaplens({junk.string()});
    CHECK(r.status == 4);
    CHECK(r.err.find("junk.pcap") != std::string::npos);
    CHECK(e2e::pcaplens({"--format", "xml", e2e::source("samples/http-keepalive.pcap")}).status == 2);
    CHECK(e2e::pcaplens({e2e::source("samples/http-keepalive.pcap"), "tcp", "port", "notaport"}).status == 2);
    CHECK(e2e::pcaplens({"--fail-on", "no_such_kind", e2e::source("samples/http-keepalive.pcap")}).status == 2);
    CHECK(e2e::pcaplens({}).status == 2);
}
