// Helpers for end-to-end tests: run the pcaplens binary, capture its output
// and exit status, parse JSON.
#pragma once
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace e2e {

struct Run {
    int status = -1;
    std::string out, err;
    nlohmann::json json() const { return nlohmann::json::parse(out); }
    std::vector<nlohmann::json> ndjson() const {
        std::vector<nlohmann::json> v;
        std::istringstream in(out);
        for (std::string line; std::getline(in, line);) v.push_back(nlohmann::json::parse(line));
        return v;
    }
};

inline std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        if (c == '\'') q += "'\\''";
        else q += c;
    }
    return q + "'";
}

inline std::filesystem::path temp_dir() {
    auto d = std::filesystem::temp_directory_path() / ("pcaplens-e2e-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
}

// Runs pcaplens with `args` (each quoted); `timeout_s` bounds it. With
// `stdin_from`, that file is piped into its standard input (through cat, so
// the input is a pipe, not a file).
inline Run pcaplens(const std::vector<std::string>& args, int timeout_s = 60, const std::string& stdin_from = "") {
    static int n = 0;
    const auto err_path = temp_dir() / ("stderr-" + std::to_string(++n));
    std::string cmd = "timeout " + std::to_string(timeout_s) + " " + quote(PCAPLENS_BINARY);
    if (!stdin_from.empty()) cmd = "cat " + quote(stdin_from) + " | " + cmd;
    for (const auto& a : args) cmd += " " + quote(a);
    cmd += " 2>" + quote(err_path.string());
    Run r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    std::array<char, 65536> buf{};
    size_t got;
    while ((got = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), got);
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    std::ifstream e(err_path);
    r.err.assign(std::istreambuf_iterator<char>(e), {});
    return r;
}

inline std::string source(const std::string& rel) { return std::string(PCAPLENS_SOURCE_DIR) + "/" + rel; }

// The shared public corpus, or empty when it is not beside the project.
inline std::filesystem::path shared_corpus() {
    std::vector<std::filesystem::path> candidates;
    if (const char* env = std::getenv("PCAPLENS_SHARED")) candidates.emplace_back(std::filesystem::path(env) / "corpus");
    candidates.emplace_back(std::filesystem::path(PCAPLENS_SOURCE_DIR) / ".." / "shared" / "corpus");
    for (const auto& c : candidates) {
        if (std::filesystem::exists(c / "MANIFEST.tsv")) return c;
    }
    return {};
}

struct ManifestRow {
    std::string file, link_type;
    uint64_t packets = 0;
};

inline std::vector<ManifestRow> manifest(const std::filesystem::path& corpus) {
    std::vector<ManifestRow> rows;
    std::ifstream in(corpus / "MANIFEST.tsv");
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::vector<std::string> cols;
        std::istringstream ls(line);
        for (std::string c; std::getline(ls, c, '\t');) cols.push_back(c);
        if (cols.size() < 9) continue;
        rows.push_back({cols[0], cols[7], std::stoull(cols[8])});
    }
    return rows;
}

}  // namespace e2e
