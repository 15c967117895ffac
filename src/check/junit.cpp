// JUnit XML for CI test reporters (GitLab, Jenkins, GitHub Actions): one
// <testsuite name="pcaplens">, one <testcase> per rule, a <failure> with the
// evidence as text for each failing rule.
#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "pcaplens/check/evaluator.hpp"
#include "pcaplens/report/utf8.hpp"

namespace pcaplens::check {

std::string xml_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        if (c < 0x80) {
            switch (c) {
                case '&': out += "&amp;"; break;
                case '<': out += "&lt;"; break;
                case '>': out += "&gt;"; break;
                case '"': out += "&quot;"; break;
                case '\'': out += "&apos;"; break;
                case '\n': out += "&#10;"; break;
                case '\r': out += "&#13;"; break;
                case '\t': out += "&#9;"; break;
                default:
                    if (c < 0x20) out += "\xEF\xBF\xBD";  // not allowed in XML 1.0, even escaped
                    else out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        uint32_t cp = 0;
        const size_t len = utf8_sequence(p + i, n - i, cp);
        if (len > 0 && cp != 0xFFFE && cp != 0xFFFF) {  // XML 1.0 Char excludes those two
            out.append(s.data() + i, len);
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

std::string junit_xml(const std::vector<CheckResult>& results, const std::vector<std::string>& inputs,
                      const std::vector<std::string>& damage) {
    const CheckTotals t = totals(results);
    const size_t tests = t.rules + damage.size(), errors = damage.size();
    std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    char head[256];
    std::snprintf(head, sizeof head, "<testsuites name=\"pcaplens\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n", tests, t.failed, errors);
    x += head;
    char ts[32] = "";
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(head, sizeof head, "  <testsuite name=\"pcaplens\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" time=\"0\" timestamp=\"%s\">\n",
                  tests, t.failed, errors, ts);
    x += head;
    std::string in;
    for (const auto& f : inputs) in += (in.empty() ? "" : " ") + f;
    x += "    <properties><property name=\"inputs\" value=\"" + xml_escape(in) + "\"/></properties>\n";
    for (const CheckResult& r : results) {
        const Rule& rule = *r.rule;
        x += "    <testcase name=\"" + xml_escape(rule.name) + "\" classname=\"pcaplens." + rule_type_name(rule.type) + "\" time=\"0\"";
        if (r.passed) {
            x += ">\n      <system-out>" + xml_escape(summary_line(r)) + "</system-out>\n    </testcase>\n";
            continue;
        }
        std::string body = summary_line(r) + "\n";
        if (!r.note.empty()) body += r.note + "\n";
        for (const Evidence& e : r.evidence) {
            body += evidence_line(e) + "\n";
            if (!e.display_filter.empty()) body += "    wireshark: " + e.display_filter + "\n";
        }
        if (r.evidence_total > r.evidence.size()) {
            body += "... and " + std::to_string(r.evidence_total - r.evidence.size()) + " more\n";
        }
        x += ">\n      <failure message=\"" + xml_escape(summary_line(r)) + "\" type=\"" + rule_type_name(rule.type) + "\">";
        // Text content: newlines kept literally (only attributes need them escaped).
        std::string esc = xml_escape(body);
        std::string text;
        for (size_t i = 0; i < esc.size(); ++i) {
            if (esc.compare(i, 5, "&#10;") == 0) {
                text += '\n';
                i += 4;
            } else if (esc.compare(i, 4, "&#9;") == 0) {
                text += '\t';
                i += 3;
            } else {
                text += esc[i];
            }
        }
        x += text + "</failure>\n    </testcase>\n";
    }
    for (const std::string& d : damage) {
        x += "    <testcase name=\"input damaged\" classname=\"pcaplens.input\" time=\"0\">\n      <error message=\"" + xml_escape(d) +
             "\" type=\"input_damaged\">" + xml_escape(kDamageNote) + "</error>\n    </testcase>\n";
    }
    x += "  </testsuite>\n</testsuites>\n";
    return x;
}

}  // namespace pcaplens::check
