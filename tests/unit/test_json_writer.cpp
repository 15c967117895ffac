#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "pcaplens/report/json_writer.hpp"

using namespace pcaplens;

TEST_CASE("json writer: structure, commas and exact timestamps") {
    std::string out;
    JsonWriter w(out);
    w.begin_object().key("a").num(int64_t{-5}).key("b").begin_array().num(uint64_t{1}).str("x").null().boolean(true).end_array();
    w.key("ts").timestamp(1700000000123456789LL).key("neg").timestamp(-1500000000LL).key("r").real(1.23456, 2).end_object();
    CHECK(out == R"({"a":-5,"b":[1,"x",null,true],"ts":1700000000.123456789,"neg":-1.500000000,"r":1.23})");
    auto j = nlohmann::json::parse(out);
    CHECK(j["b"].size() == 4);
}

TEST_CASE("json escape: control bytes, quotes and invalid UTF-8 give valid JSON") {
    std::string out;
    json_escape(std::string("a\"b\\c\n\x01\x1b[31m\x7f"), out);
    CHECK(out == "a\\\"b\\\\c\\n\\u0001\\u001b[31m\\u007f");
    std::string bad;
    // Overlong encoding, lone continuation, truncated sequence, surrogate, valid e-acute and 4-byte emoji.
    json_escape(std::string("\xC0\xAF|\x80|\xE2\x82|\xED\xA0\x80|\xC3\xA9|\xF0\x9F\x98\x80"), bad);
    CHECK(bad == "\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|\xC3\xA9|\xF0\x9F\x98\x80");
    std::string doc = "\"" + bad + "\"";
    nlohmann::json parsed;
    CHECK_NOTHROW(parsed = nlohmann::json::parse(doc));
    CHECK(parsed.is_string());
}
