// Conformance on the public corpus (../shared/corpus): every capture gives a
// documented exit status within 10 s, valid JSON, and exactly the manifest's
// packet count. Skips cleanly when the corpus is absent.
#include <doctest/doctest.h>

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
