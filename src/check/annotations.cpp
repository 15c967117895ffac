// GitHub Actions workflow commands: `::error title=pcaplens rule NAME::message`
// for each failing rule (and `::notice` for passing ones on request).
#include "pcaplens/check/evaluator.hpp"

namespace pcaplens::check {

std::string gh_escape(std::string_view s, bool property) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '%': out += "%25"; break;
            case '\r': out += "%0D"; break;
            case '\n': out += "%0A"; break;
            case ':':
                if (property) out += "%3A";
                else out += c;
                break;
            case ',':
                if (property) out += "%2C";
                else out += c;
                break;
            default:
                // Other control bytes (NUL, ESC: from a rule name or a capture)
                // would reach the runner's log raw: percent-encoded like CR/LF.
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                    static const char hex[] = "0123456789ABCDEF";
                    out += '%';
                    out += hex[static_cast<unsigned char>(c) >> 4];
                    out += hex[static_cast<unsigned char>(c) & 0xF];
                } else {
                    out += c;
                }
        }
    }
    return out;
}

std::string github_annotations(const std::vector<CheckResult>& results, bool notice_passing, const std::vector<std::string>& damage) {
    std::string out;
    for (const std::string& d : damage) {
        out += "::error title=" + gh_escape("pcaplens input damaged", true) + "::" +
               gh_escape(d + "\n" + kDamageNote, false) + "\n";
    }
    for (const CheckResult& r : results) {
        if (r.passed && !notice_passing) continue;
        std::string msg = (r.passed ? "passed: " : "failed: ") + summary_line(r);
        if (!r.note.empty()) msg += "\n" + r.note;
        for (const Evidence& e : r.evidence) {
            msg += "\n" + evidence_line(e);
            if (!e.display_filter.empty()) msg += "\n    wireshark: " + e.display_filter;
        }
        if (r.evidence_total > r.evidence.size()) msg += "\n... and " + std::to_string(r.evidence_total - r.evidence.size()) + " more";
        out += r.passed ? "::notice" : "::error";
        out += " title=" + gh_escape("pcaplens rule " + r.rule->name, true) + "::" + gh_escape(msg, false) + "\n";
    }
    return out;
}

}  // namespace pcaplens::check
