// `pcaplens check`: exit statuses, the human summary, JSON "checks", JUnit
// XML (parsed by a tiny well-formedness checker here, and by python's
// xml.etree in tests/e2e/check_outputs.py), GitHub annotations, bad rules.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cctype>
#include <map>
#include <set>

#include "e2e_support.hpp"

namespace {

const std::string kMixed = e2e::source("samples/http-mixed.pcapng");

// Minimal XML checker: well-formed nesting, quoted attributes, only the five
// predefined entities or character references; counts elements by name.
struct XmlStats {
    bool ok = true;
    std::string error;
    std::map<std::string, int> elements;
    std::vector<std::map<std::string, std::string>> testcases;   // attributes
    std::vector<std::string> failure_messages;
};

bool valid_text(const std::string& s) {
    for (size_t p = s.find('&'); p != std::string::npos; p = s.find('&', p + 1)) {
        const size_t semi = s.find(';', p);
        if (semi == std::string::npos) return false;
        const std::string ent = s.substr(p + 1, semi - p - 1);
        static const std::set<std::string> named = {"amp", "lt", "gt", "quot", "apos"};
        if (!named.count(ent) && !(ent.size() > 1 && ent[0] == '#')) return false;
    }
    return s.find('<') == std::string::npos;
}

XmlStats parse_xml(const std::string& x) {
    XmlStats st;
    std::vector<std::string> stack;
    size_t i = 0;
    if (x.rfind("<?xml", 0) == 0) i = x.find("?>") + 2;
    bool root_seen = false;
    while (i < x.size()) {
        const size_t lt = x.find('<', i);
        const std::string text = x.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
        if (!valid_text(text)) return {false, "bad text: " + text, {}, {}, {}};
        if (stack.empty() && text.find_first_not_of(" \n\r\t") != std::string::npos) return {false, "text outside the root", {}, {}, {}};
        if (lt == std::string::npos) break;
        const size_t gt = x.find('>', lt);
        if (gt == std::string::npos) return {false, "unterminated tag", {}, {}, {}};
        std::string tag = x.substr(lt + 1, gt - lt - 1);
        i = gt + 1;
        if (tag.empty()) return {false, "empty tag", {}, {}, {}};
        if (tag[0] == '/') {
            if (stack.empty() || stack.back() != tag.substr(1)) return {false, "mismatched </" + tag.substr(1) + ">", {}, {}, {}};
            stack.pop_back();
            continue;
        }
        const bool self_closing = tag.back() == '/';
        if (self_closing) tag.pop_back();
        size_t p = 0;
        while (p < tag.size() && !std::isspace(static_cast<unsigned char>(tag[p]))) ++p;
        const std::string name = tag.substr(0, p);
        std::map<std::string, std::string> attrs;
        while (p < tag.size()) {
            while (p < tag.size() && std::isspace(static_cast<unsigned char>(tag[p]))) ++p;
            if (p >= tag.size()) break;
            const size_t eq = tag.find('=', p);
            if (eq == std::string::npos || eq + 1 >= tag.size() || tag[eq + 1] != '"') return {false, "bad attribute in <" + name + ">", {}, {}, {}};
            const size_t end = tag.find('"', eq + 2);
            if (end == std::string::npos) return {false, "unterminated attribute", {}, {}, {}};
            const std::string value = tag.substr(eq + 2, end - eq - 2);
            if (!valid_text(value)) return {false, "bad attribute value " + value, {}, {}, {}};
            const std::string key = tag.substr(p, eq - p);
            if (attrs.count(key)) return {false, "duplicate attribute " + key, {}, {}, {}};
            attrs[key] = value;
            p = end + 1;
        }
        if (stack.empty() && root_seen) return {false, "two roots", {}, {}, {}};
        root_seen = true;
        ++st.elements[name];
        if (name == "testcase") st.testcases.push_back(attrs);
        if (name == "failure") st.failure_messages.push_back(attrs["message"]);
        if (!self_closing) stack.push_back(name);
    }
    if (!stack.empty()) return {false, "unclosed <" + stack.back() + ">", {}, {}, {}};
    if (!root_seen) return {false, "no root", {}, {}, {}};
    return st;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

TEST_CASE("check must-show: forbidding 5xx and resets on http-mixed fails naming connections 3 and 4; the allow-list passes") {
    const auto junit = e2e::temp_dir() / "mixed-fail.xml";
    const auto r = e2e::pcaplens({"check", kMixed, "--fail-on-severity", "warning", "--max-http-5xx", "0", "--no-resets", "--junit", junit.string()});
    CAPTURE(r.out);
    CAPTURE(r.err);
    CHECK(r.status == 1);
    CHECK(r.out.find("FAIL  fail_on_severity warning: measured 2, limit 0") != std::string::npos);
    CHECK(r.out.find("FAIL  max_http_5xx: measured 1 of 4 responses, limit <= 0") != std::string::npos);
    CHECK(r.out.find("FAIL  no_resets: measured 1, limit 0") != std::string::npos);
    CHECK(r.out.find("#3 transaction 1  ") != std::string::npos);
    CHECK(r.out.find("frame 26  GET /error -> 500 Internal Server Error") != std::string::npos);
    CHECK(r.out.find("frame 42  RST by client in ESTABLISHED") != std::string::npos);
    CHECK(r.out.find("wireshark: ip.addr==10.99.0.1 && tcp.port==40013 && ip.addr==10.99.0.2 && tcp.port==80") != std::string::npos);
    CHECK(r.out.find("wireshark: ip.addr==10.99.0.1 && tcp.port==40014 && ip.addr==10.99.0.2 && tcp.port==80") != std::string::npos);
    CHECK(r.out.find("3 rules: 0 passed, 3 failed") != std::string::npos);
    CHECK(r.err.find("3 of 3 rules failed") != std::string::npos);
    const XmlStats x = parse_xml(slurp(junit));
    CAPTURE(x.error);
    REQUIRE(x.ok);
    CHECK(x.elements.at("testsuite") == 1);
    CHECK(x.elements.at("testcase") == 3);
    CHECK(x.elements.at("failure") == 3);

    const auto junit2 = e2e::temp_dir() / "mixed-pass.xml";
    const auto p = e2e::pcaplens({"check", kMixed, "--fail-on-severity", "warning", "--allow", "rst_abort", "--allow", "http_server_error",
                                  "--max-http-5xx", "0", "--http-allow-status", "500", "--junit", junit2.string()});
    CAPTURE(p.out);
    CHECK(p.status == 0);
    CHECK(p.out.find("2 rules: 2 passed, 0 failed") != std::string::npos);
    const XmlStats y = parse_xml(slurp(junit2));
    REQUIRE(y.ok);
    CHECK(y.elements.at("testcase") == 2);
    CHECK(y.elements.count("failure") == 0);
}

TEST_CASE("check: the example rules file passes on http-mixed; its JUnit has 17 testcases") {
    const auto junit = e2e::temp_dir() / "example.xml";
    const auto r = e2e::pcaplens({"check", kMixed, "--rules", e2e::source("samples/rules-example.json"), "--junit", junit.string()});
    CAPTURE(r.out);
    CHECK(r.status == 0);
    CHECK(r.out.find("17 rules: 17 passed, 0 failed") != std::string::npos);
    const XmlStats x = parse_xml(slurp(junit));
    REQUIRE(x.ok);
    CHECK(x.elements.at("testcase") == 17);
    // The same rules on a refused connection: some fail.
    const auto f = e2e::pcaplens({"check", e2e::source("tests/captures/tcp-refused.pcap"), "--rules", e2e::source("samples/rules-example.json")});
    CHECK(f.status == 1);
    CHECK(f.out.find("FAIL  fail_on syn_unanswered,connection_refused,overlap_conflict") != std::string::npos);
}

TEST_CASE("check --format json: the normal report plus a checks section") {
    const auto r = e2e::pcaplens({"check", "--format", "json", kMixed, "--no-resets", "--max-total-connections", "10"});
    CHECK(r.status == 1);
    const auto j = r.json();
    CHECK(j["schema"] == "pcaplens/1");
    CHECK(j["connections"].size() == 4);
    REQUIRE(j["checks"].size() == 2);
    const auto& c = j["checks"][0];
    CHECK(c["name"] == "no_resets");
    CHECK(c["rule"] == "no_resets");
    CHECK(c["passed"] == false);
    CHECK(c["measured"] == 1);
    CHECK(c["limit"] == 0);
    CHECK(c["evidence_total"] == 1);
    CHECK(c["evidence"][0]["connection"] == 4);
    CHECK(c["evidence"][0]["frame"] == 42);
    CHECK(c["evidence"][0]["display_filter"] == "ip.addr==10.99.0.1 && tcp.port==40014 && ip.addr==10.99.0.2 && tcp.port==80");
    CHECK(j["checks"][1]["passed"] == true);
    CHECK(j["checks"][1]["measured"] == 4);
    // -o FILE works the same.
    const auto out = e2e::temp_dir() / "check.json";
    const auto o = e2e::pcaplens({"check", "--format", "json", "-o", out.string(), kMixed, "--max-http-4xx", "1", "--annotations", "github"});
    CHECK(o.status == 0);
    CHECK(o.out.empty());  // nothing failed, no notices asked for
    const auto doc = nlohmann::json::parse(slurp(out));
    CHECK(doc["checks"][0]["measured"] == 1);
}

TEST_CASE("check: repeatable rule options before the capture take one value each; --max-evidence 0 lists none") {
    // Options first, file last: the file is not taken for another value.
    const auto r = e2e::pcaplens({"check", "--format", "json", "--fail-on", "bad_checksum", "--max", "rst_abort=5", "--allow", "rst_abort",
                                  "--fail-on-severity", "error", "--http-allow-status", "404", "--max-http-4xx", "0",
                                  "--max-ttfb-ms", "p50=1000", "--max-ttfb-ms", "5000", "--max-http-duration-ms", "5000", kMixed});
    REQUIRE(r.status == 0);
    const auto j = r.json();
    CHECK(j["input"]["files"].size() == 1);
    CHECK(j["checks"].size() == 7);
    for (const auto& c : j["checks"]) CHECK(c["passed"] == true);
    // 0 is a limit like any other, and overrides the rules file's.
    const auto rules = e2e::temp_dir() / "evidence-rules.json";
    std::ofstream(rules) << R"({"max_evidence": 5, "rules": [{"rule": "no_resets"}]})";
    for (const std::vector<std::string>& args : {std::vector<std::string>{"check", "--format", "json", "--max-evidence", "0", "--no-resets", kMixed},
                                                 std::vector<std::string>{"check", "--format", "json", "--rules", rules.string(), "--max-evidence", "0", kMixed}}) {
        const auto z = e2e::pcaplens(args);
        CHECK(z.status == 1);
        const auto c = z.json()["checks"][0];
        CHECK(c["passed"] == false);
        CHECK(c["evidence"].empty());
        CHECK(c["evidence_total"] == 1);
    }
    const auto t = e2e::pcaplens({"check", "--color", "never", "--max-evidence", "0", "--no-resets", kMixed});
    CHECK(t.out.find("... and 1 more") != std::string::npos);
    CHECK(t.out.find("#4 ") == std::string::npos);
}

TEST_CASE("check --annotations github: ::error per failing rule, ::notice for passing ones on request") {
    const auto r = e2e::pcaplens({"check", kMixed, "--no-resets", "--max-http-4xx", "5", "--annotations", "github", "--annotate-passing", "--color", "never"});
    CHECK(r.status == 1);
    CHECK(r.out.find("::error title=pcaplens rule no_resets::failed: measured 1, limit 0%0A#4  ") != std::string::npos);
    CHECK(r.out.find("::notice title=pcaplens rule max_http_4xx::passed: measured 1 of 4 responses, limit <= 5") != std::string::npos);
    const auto j = e2e::pcaplens({"check", "--format", "json", kMixed, "--no-resets", "--annotations", "github"});
    CHECK(j.status == 2);
    CHECK(j.err.find("with --format json use -o FILE") != std::string::npos);
}

TEST_CASE("check: a BPF-scoped rule reports the main run's connection ids") {
    const auto rules = e2e::temp_dir() / "bpf-rules.json";
    std::ofstream(rules) << R"({"rules": [{"rule": "no_resets", "scope": {"bpf": "tcp port 40014"}},
                                          {"rule": "max_http_5xx", "max": 0, "scope": {"server": "10.99.0.2", "port": 80}}]})";
    const auto r = e2e::pcaplens({"check", "--format", "json", kMixed, "--rules", rules.string()});
    CHECK(r.status == 1);
    const auto j = r.json();
    CHECK(j["checks"][0]["scope"]["bpf"] == "tcp port 40014");
    CHECK(j["checks"][0]["evidence"][0]["connection"] == 4);
    CHECK(j["checks"][1]["evidence"][0]["connection"] == 3);
    CHECK(j["checks"][1]["evidence"][0]["transaction"] == 1);
}

TEST_CASE("check: a rule whose scope matches no connection passes, and says so") {
    // A mistyped --server passed silently, reading as a clean result.
    const auto r = e2e::pcaplens({"check", kMixed, "--no-resets", "--server", "10.1.2.3"});
    CHECK(r.status == 0);
    CHECK(r.out.find("the scope matched no connection") != std::string::npos);
    const auto j = e2e::pcaplens({"check", "--format", "json", kMixed, "--no-resets", "--server", "10.1.2.3"}).json();
    CHECK(j["checks"][0]["note"] == "the scope matched no connection");
    const auto hit = e2e::pcaplens({"check", "--format", "json", kMixed, "--no-resets", "--server-port", "80"}).json();
    CHECK(hit["checks"][0]["note"].is_null());
    const auto rules = e2e::temp_dir() / "nobpf.json";
    std::ofstream(rules) << R"({"rules": [{"rule": "no_resets", "scope": {"bpf": "tcp port 9"}}]})";
    const auto b = e2e::pcaplens({"check", kMixed, "--rules", rules.string()});
    CHECK(b.status == 0);
    CHECK(b.out.find("the scope matched no connection") != std::string::npos);
}

TEST_CASE("check: evidence of a scoped run on a connection the main report does not list names no connection") {
    // -c counts after each run's own filter: the scoped run reads the reset
    // of tcp-rst-abort (port 9003), the main run stops before it. Its
    // scoped-run id (1) named the main report's connection 1, another one.
    const auto rules = e2e::temp_dir() / "sc.json";
    std::ofstream(rules) << R"({"rules": [{"rule": "no_resets", "scope": {"bpf": "tcp port 9003"}}]})";
    const auto r = e2e::pcaplens({"check", "--format", "json", e2e::source("tests/captures/tcp-rst-abort.pcap"), kMixed, "--rules",
                                  rules.string(), "-c", "42"});
    CHECK(r.status == 1);
    const auto j = r.json();
    REQUIRE(j["checks"][0]["evidence"].size() == 1);
    const auto& e = j["checks"][0]["evidence"][0];
    CHECK(e["connection"].is_null());
    CHECK(e["display_filter"].get<std::string>().find("tcp.port==9003") != std::string::npos);
    CHECK(e["detail"].get<std::string>().find("a connection the main report does not list") == 0);
    for (const auto& c : j["connections"]) CHECK(c["server"]["port"] != 9003);
}

TEST_CASE("check: bad rules files and flags are usage errors (2) that name the problem") {
    const auto dir = e2e::temp_dir();
    auto run_rules = [&](const std::string& name, const std::string& text) {
        const auto p = dir / name;
        std::ofstream(p) << text;
        return e2e::pcaplens({"check", kMixed, "--rules", p.string()});
    };
    auto r = run_rules("unknown.json", R"({"rules": [{"rule": "no_resets"}, {"rule": "no_teapots"}]})");
    CHECK(r.status == 2);
    CHECK(r.err.find("unknown.json: rules[1]: unknown rule 'no_teapots'") != std::string::npos);
    r = run_rules("type.json", R"({"rules": [{"rule": "no_resets"}, {"rule": "no_resets"}, {"rule": "no_resets"}, {"rule": "max_handshake_rtt_ms", "max": "50"}]})");
    CHECK(r.status == 2);
    CHECK(r.err.find("type.json: rules[3] (max_handshake_rtt_ms): 'max' must be a number") != std::string::npos);
    r = run_rules("bpf.json", R"({"rules": [{"rule": "no_resets", "scope": {"bpf": "tcp port eighty"}}]})");
    CHECK(r.status == 2);
    CHECK(r.err.find("bpf.json: rules[0] (no_resets): scope: bad BPF expression 'tcp port eighty'") != std::string::npos);
    r = run_rules("kind.json", R"({"rules": [{"rule": "fail_on", "kinds": ["rst_abort", "tcp_gremlins"]}]})");
    CHECK(r.status == 2);
    CHECK(r.err.find("kind.json: rules[0] (fail_on): 'kinds': unknown anomaly kind 'tcp_gremlins'") != std::string::npos);
    r = run_rules("json.json", "{\"rules\": [\n  {\"rule\": \"no_resets\"\n]}");
    CHECK(r.status == 2);
    CHECK(r.err.find("json.json: invalid JSON: parse error at line 3") != std::string::npos);
    r = e2e::pcaplens({"check", kMixed, "--rules", (dir / "missing.json").string()});
    CHECK(r.status == 2);
    CHECK(r.err.find("missing.json: cannot read the rules file") != std::string::npos);
    r = e2e::pcaplens({"check", kMixed});
    CHECK(r.status == 2);
    CHECK(r.err.find("no rules") != std::string::npos);
    r = e2e::pcaplens({"check", kMixed, "--max", "rst_abort=x"});
    CHECK(r.status == 2);
    r = e2e::pcaplens({"check", kMixed, "--fail-on", "nope"});
    CHECK(r.status == 2);
    CHECK(r.err.find("--fail-on: unknown anomaly kind 'nope'") != std::string::npos);
    r = e2e::pcaplens({"check", kMixed, "--no-resets", "tcp port"});
    CHECK(r.status == 2);
    // Unreadable input: 4; damaged input: 3 even when a rule fails.
    r = e2e::pcaplens({"check", "/nonexistent.pcap", "--no-resets"});
    CHECK(r.status == 4);
    // A number beyond a double aborted the program (134); a repeated key hid an invalid value.
    r = run_rules("huge.json", R"({"rules": [{"rule": "max_handshake_rtt_ms", "max": 1e400}]})");
    CHECK(r.status == 2);
    CHECK(r.err.find("huge.json: invalid JSON: number overflow parsing '1e400'") != std::string::npos);
    r = run_rules("dup.json", R"({"rules": [{"rule": "max_connections", "max": -1, "max": 5}]})");
    CHECK(r.status == 2);
    CHECK(r.err.find("dup.json: invalid JSON: key 'max' appears twice in one object") != std::string::npos);
    // NaN made a rule that could never fail (or always did); hex is no number of milliseconds.
    for (const char* v : {"nan", "inf", "1e999", "0x10"}) {
        CAPTURE(v);
        r = e2e::pcaplens({"check", kMixed, "--max-handshake-rtt-ms", v});
        CHECK(r.status == 2);
        CHECK(r.err.find("--max-handshake-rtt-ms: must be a finite decimal number") != std::string::npos);
        CHECK(e2e::pcaplens({"check", kMixed, "--max-http-5xx-rate", v}).status == 2);
    }
    // 2 wins over 4: a bad filter beside a missing input, or beside a JUnit path that is an input.
    r = e2e::pcaplens({"check", "/nonexistent.pcap", "-f", "tcp prot 80", "--no-resets"});
    CHECK(r.status == 2);
    CHECK(r.err.find("bad filter expression 'tcp prot 80'") != std::string::npos);
    CHECK(e2e::pcaplens({"check", "/nonexistent.pcap", "-f", "tcp port 80", "--no-resets"}).status == 4);
    CHECK(e2e::pcaplens({"-f", "tcp prot 80", "/nonexistent.pcap"}).status == 2);
    r = e2e::pcaplens({"check", kMixed, "tcp prot 80", "--junit", kMixed, "--no-resets"});
    CHECK(r.status == 2);
    CHECK(r.err.find("not writing the JUnit file over it") != std::string::npos);
    // A scope filter that does not compile for the input's link type: 2,
    // found before -o truncated the file it names.
    {
        const auto keep = dir / "keep.json";
        std::ofstream(keep) << "old";
        const auto rules = dir / "sll.json";
        std::ofstream(rules) << R"({"rules": [{"rule": "no_resets", "scope": {"bpf": "ether host 00:11:22:33:44:55"}}]})";
        r = e2e::pcaplens({"check", e2e::source("tests/captures/sll-any.pcap"), "--rules", rules.string(), "--format", "json",
                           "-o", keep.string()});
        CHECK(r.status == 2);
        CHECK(r.err.find("for link type LINUX_SLL") != std::string::npos);
        std::ifstream in(keep);
        std::string kept((std::istreambuf_iterator<char>(in)), {});
        CHECK(kept == "old");
    }
    // --junit over the -o report, or to a file named "-".
    r = e2e::pcaplens({"check", kMixed, "--no-resets", "--junit", (dir / "same.xml").string(), "-o", (dir / "same.xml").string()});
    CHECK(r.status == 2);
    CHECK(r.err.find("--junit and -o name the same file") != std::string::npos);
    r = e2e::pcaplens({"check", kMixed, "--no-resets", "--junit", "-"});
    CHECK(r.status == 2);
    CHECK(r.err.find("--junit needs a file path") != std::string::npos);
    // Limits print as given: 9007199254740991, not 9.0072e+15.
    r = e2e::pcaplens({"check", kMixed, "--max", "rst_abort=9007199254740991"});
    CHECK(r.out.find("limit <= 9007199254740991") != std::string::npos);
    // --fail-on "" checked nothing and passed.
    r = e2e::pcaplens({"check", kMixed, "--fail-on", "", "--no-resets"});
    CHECK(r.status == 2);
    CHECK(r.err.find("--fail-on: no anomaly kind given") != std::string::npos);
    CHECK(e2e::pcaplens({"--fail-on", ",", kMixed}).status == 2);
}

TEST_CASE("check --annotations github: a failed write to standard output is status 4, not the rules' 1") {
    if (!std::filesystem::exists("/dev/full")) return;
    const auto dir = e2e::temp_dir();
    const std::string cmd = e2e::quote(PCAPLENS_BINARY) + " check " + e2e::quote(kMixed) +
                            " --no-resets --annotations github -o " + e2e::quote((dir / "report.txt").string()) +
                            " >/dev/full 2>/dev/null";
    const int rc = std::system(cmd.c_str());
    REQUIRE(WIFEXITED(rc));
    CHECK(WEXITSTATUS(rc) == 4);
}

TEST_CASE("check: damaged input exits 3 (wins over a failed rule) and still reports the rules") {
    std::ifstream in(kMixed, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    const auto cut = e2e::temp_dir() / "cut.pcapng";
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 200);
    const auto r = e2e::pcaplens({"check", cut.string(), "--max-total-connections", "0"});
    CHECK(r.status == 3);
    CHECK(r.out.find("FAIL  max_connections") != std::string::npos);
}

TEST_CASE("check: damaged input is named in the summary, the JUnit file (an <error>) and the annotations, not only on stderr") {
    // A CI job reading only the JUnit file saw a green run on a truncated capture.
    std::ifstream in(kMixed, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    const auto cut = e2e::temp_dir() / "cut-junit.pcapng";
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 200);
    const auto junit = e2e::temp_dir() / "cut.xml";
    const auto r = e2e::pcaplens({"check", cut.string(), "--max-total-connections", "1000", "--junit", junit.string(), "--annotations", "github"});
    CHECK(r.status == 3);
    CHECK(r.out.find("PASS  max_connections") != std::string::npos);
    CHECK(r.out.find("DAMAGED  input " + cut.string() + ": ") != std::string::npos);
    CHECK(r.out.find("1 input damaged: the rules saw only what was read before it") != std::string::npos);
    CHECK(r.out.find("::error title=pcaplens input damaged::" + cut.string() + ": ") != std::string::npos);
    const std::string xml = slurp(junit);
    const XmlStats x = parse_xml(xml);
    REQUIRE(x.ok);
    CHECK(x.elements.count("error") == 1);
    CHECK(xml.find("errors=\"1\"") != std::string::npos);
    CHECK(x.testcases.size() == 2);
    CHECK(xml.find("<testcase name=\"input damaged\" classname=\"pcaplens.input\"") != std::string::npos);
}

TEST_CASE("check --help: every long option is in the man page; pcaplens --fail-on still works") {
    const auto r = e2e::pcaplens({"check", "--help"});
    REQUIRE(r.status == 0);
    std::ifstream in(e2e::source("man/pcaplens.1"));
    std::string man((std::istreambuf_iterator<char>(in)), {});
    std::set<std::string> opts;
    for (size_t p = r.out.find("--"); p != std::string::npos; p = r.out.find("--", p + 2)) {
        size_t e = p + 2;
        while (e < r.out.size() && (std::islower(static_cast<unsigned char>(r.out[e])) || std::isdigit(static_cast<unsigned char>(r.out[e])) || r.out[e] == '-')) ++e;
        if (e > p + 2 && std::islower(static_cast<unsigned char>(r.out[p + 2]))) opts.insert(r.out.substr(p + 2, e - p - 2));
    }
    CHECK(opts.count("rules"));
    CHECK(opts.count("junit"));
    for (const auto& o : opts) {
        std::string roff;
        for (char c : o) roff += c == '-' ? std::string("\\-") : std::string(1, c);
        CAPTURE(o);
        CHECK(man.find("\\-\\-" + roff) != std::string::npos);
    }
    CHECK(man.find(".SH CHECK MODE") != std::string::npos);
    const auto f = e2e::pcaplens({"--fail-on", "rst_abort", kMixed});
    CHECK(f.status == 1);
    const auto g = e2e::pcaplens({"--fail-on", "syn_unanswered", kMixed});
    CHECK(g.status == 0);
}

TEST_CASE("check: unreadable inputs are named by 'pcaplens check'; a kind given twice is named once") {
    auto r = e2e::pcaplens({"check", "--no-resets", "/nonexistent.pcap"});
    CHECK(r.status == 4);
    CHECK(r.err == "pcaplens check: /nonexistent.pcap: no such file (try pcaplens check --help)\n");   // was "pcaplens: ..."
    r = e2e::pcaplens({"check", "--no-resets", "-r", kMixed, e2e::source("samples/http-keepalive.pcap")});
    CHECK(r.status == 2);
    CHECK(r.err.rfind("pcaplens check: ", 0) == 0);
    r = e2e::pcaplens({"check", "--fail-on", "rst_abort,keepalive,rst_abort", "--format", "json", kMixed});
    CHECK(r.status == 1);
    REQUIRE(r.json()["checks"].size() == 1);
    CHECK(r.json()["checks"][0]["name"] == "fail_on rst_abort,keepalive");   // was "fail_on rst_abort,keepalive,rst_abort"
}
