#include <doctest/doctest.h>

#include <set>
#include <string>

#include "pcaplens/findings/finding.hpp"

using namespace pcaplens;

TEST_CASE("catalogue: one row per kind, in enum order, complete and unique") {
    const auto& all = catalogue_all();
    REQUIRE(all.size() == kAnomalyKindCount);
    std::set<std::string> names;
    for (size_t i = 0; i < all.size(); ++i) {
        CAPTURE(all[i].name);
        CHECK(static_cast<size_t>(all[i].kind) == i);
        CHECK(names.insert(all[i].name).second);
        CHECK(std::string(all[i].definition).size() > 20);
        CHECK(std::string(all[i].wireshark).size() > 0);
        CHECK(std::string(all[i].zeek).size() > 0);
        CHECK(std::string(all[i].suricata).size() > 0);
        CHECK(std::string(all[i].fixture).size() > 0);
        for (char c : std::string(all[i].name)) CHECK(((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'));
        CHECK(kind_from_name(all[i].name) == all[i].kind);
    }
    CHECK_FALSE(kind_from_name("no_such_kind").has_value());
    CHECK(severity_from_name("warning") == Severity::warning);
    CHECK_FALSE(severity_from_name("fatal").has_value());
}

TEST_CASE("parse_kind_list: comma lists across values, spaces and empty items ignored, first unknown named") {
    std::vector<AnomalyKind> kinds;
    CHECK_FALSE(parse_kind_list({"rst_abort, zero_window", "", ",syn_unanswered,"}, kinds).has_value());
    CHECK(kinds == std::vector<AnomalyKind>{AnomalyKind::rst_abort, AnomalyKind::zero_window, AnomalyKind::syn_unanswered});
    std::vector<AnomalyKind> some;
    const auto unknown = parse_kind_list({"rst_abort", "zero_window,rst_abrot,no_such"}, some);
    REQUIRE(unknown.has_value());
    CHECK(*unknown == "rst_abrot");
    // A name is matched whole: a prefix or a different case is unknown.
    std::vector<AnomalyKind> none;
    CHECK(parse_kind_list({"rst"}, none) == std::optional<std::string>("rst"));
    CHECK(parse_kind_list({"RST_ABORT"}, none) == std::optional<std::string>("RST_ABORT"));
    CHECK(none.empty());
}
