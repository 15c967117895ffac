// Conformance on the public corpus (../shared/corpus): every capture gives a
// documented exit status within 10 s, valid JSON, and exactly the manifest's
// packet count; HTTP/0.9 exchanges end to end (JSON, text, summary). Skips
// cleanly when the corpus is absent.
#include <doctest/doctest.h>

#include <vector>

#include "e2e_support.hpp"

TEST_CASE("corpus: documented exit status, valid JSON, manifest packet counts") {
    const auto corpus = e2e::shared_corpus();
    if (corpus.empty()) {
        MESSAGE("skipped: ../shared/corpus not present");
        return;
    }
    const auto rows = e2e::manifest(corpus);
    REQUIRE(rows.size() > 0);
    size_t checked = 0;
    for (const auto& row : rows) {
        CAPTURE(row.file);
        const auto r = e2e::pcaplens({"--format", "json", (corpus / row.file).string()}, 10);
        CHECK((r.status == 0 || r.status == 3));
        nlohmann::json j;
        REQUIRE_NOTHROW(j = r.json());
        CHECK(j["schema"] == "pcaplens/1");
        CHECK(j["summary"]["packets_read"].get<uint64_t>() == row.packets);
        uint64_t per_file = 0;
        for (const auto& f : j["input"]["files"]) per_file += f["packets"].get<uint64_t>();
        CHECK(per_file == row.packets);
        ++checked;
    }
    CHECK(checked == rows.size());
}

TEST_CASE("corpus: HTTP/0.9 exchanges are reported with their raw responses (zeek/http-http_09.pcap)") {
    const auto corpus = e2e::shared_corpus();
    if (corpus.empty()) {
        MESSAGE("skipped: ../shared/corpus not present");
        return;
    }
    const auto file = (corpus / "zeek/http-http_09.pcap").string();
    const auto r = e2e::pcaplens({"--format", "json", file}, 10);
    REQUIRE(r.status == 0);
    const nlohmann::json j = r.json();
    std::vector<nlohmann::json> txs;
    for (const auto& c : j["connections"]) {
        for (const auto& h : c["http"]) txs.push_back(h);
    }
    REQUIRE(txs.size() == 2);   // GET and POST; "GET ", "T /zeek.html" and "T " are not HTTP
    CHECK(txs[0]["method"] == "GET");
    CHECK(txs[0]["uri"] == "/zeek.html");
    CHECK(txs[0]["version"] == "HTTP/0.9");
    CHECK(txs[0]["status"].is_null());          // no status line on the wire...
    CHECK_FALSE(txs[0]["response_ts"].is_null());   // ...but a response
    CHECK(txs[0]["response_body_bytes"] == 51);
    CHECK(txs[0]["response_complete"] == true);
    CHECK(txs[0]["ttfb_ms"].is_number());
    CHECK(txs[1]["method"] == "POST");
    CHECK(txs[1]["response_body_bytes"] == 11);
    CHECK(j["summary"]["http"]["requests_without_response"] == 0);
    CHECK(j["summary"]["http"]["ttfb_ms"]["count"] == 2);
    const auto text = e2e::pcaplens({file}, 10);
    CHECK(text.out.find("GET /zeek.html -> (HTTP/0.9 response, no status line), 51 B") != std::string::npos);
}
