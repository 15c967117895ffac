// Mutation sweep (docs/robustness.md): every sample and test capture,
// truncated at many offsets and with random bit flips in its file, record
// and packet headers, goes through the pcaplens binary that was built (the
// ASan+UBSan one under PCAPLENS_SANITIZE). Every run must
//   - exit 0, 3 or 4 (a sanitizer report, a crash, a hang or an internal
//     error lands outside that set),
//   - print no sanitizer report,
//   - name its damage: exit 3 <=> some input.files[].errors is non-empty,
//     and exit 0/3 print a complete JSON document.
// Seeded (PCAPLENS_MUTATION_SEED overrides the seed), bounded: about 450
// runs of small files, well under 60 s in a sanitizer build; two runs at once.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <random>
#include <set>

#include "e2e_support.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

uint32_t rd32(const std::vector<uint8_t>& b, size_t off, bool swap) {
    uint32_t v = 0;
    std::memcpy(&v, b.data() + off, 4);
    return swap ? __builtin_bswap32(v) : v;
}

// Byte ranges that hold structure: the file header, each record or block
// header, and the first bytes of each packet (link, IP and TCP headers).
struct Layout {
    std::vector<std::pair<size_t, size_t>> headers;  // [begin, end)
    std::vector<size_t> boundaries;                  // record / block starts
};

Layout layout_of(const std::vector<uint8_t>& b) {
    Layout l;
    if (b.size() < 24) return l;
    const uint32_t magic = rd32(b, 0, false);
    if (magic == 0x0A0D0D0A) {  // pcapng: walk blocks
        size_t off = 0;
        bool swap = b.size() >= 12 && rd32(b, 8, false) == 0x4D3C2B1A;
        while (off + 12 <= b.size() && l.boundaries.size() < 4096) {
            const uint32_t type = rd32(b, off, swap);
            if (type == 0x0A0D0D0A && off + 12 <= b.size()) swap = rd32(b, off + 8, false) == 0x4D3C2B1A;
            const uint32_t len = rd32(b, off + 4, swap);
            if (len < 12 || off + len > b.size()) break;
            l.boundaries.push_back(off);
            const size_t head = type == 6 ? 28 : std::min<size_t>(len, 32);
            l.headers.emplace_back(off, off + head);
            if (type == 6) l.headers.emplace_back(off + 28, std::min<size_t>(off + 28 + 64, off + len));
            l.headers.emplace_back(off + len - 4, off + len);  // trailing length
            off += len;
        }
        return l;
    }
    const bool swap = magic == 0xD4C3B2A1 || magic == 0x4D3CB2A1;
    l.headers.emplace_back(0, 24);
    size_t off = 24;
    while (off + 16 <= b.size() && l.boundaries.size() < 4096) {
        const uint32_t incl = rd32(b, off + 8, swap);
        l.boundaries.push_back(off);
        l.headers.emplace_back(off, off + 16);
        l.headers.emplace_back(off + 16, std::min<size_t>(off + 16 + std::min<uint32_t>(incl, 64), b.size()));
        if (off + 16 + incl > b.size()) break;
        off += 16 + incl;
    }
    return l;
}

struct Variant {
    std::string name;
    std::vector<uint8_t> bytes;
    bool text = false;  // also run the text reporter
};

struct Outcome {
    std::string name;
    std::string problem;  // empty: fine
    int status = 0;
};

Outcome check_one(const Variant& v, const fs::path& dir, size_t idx) {
    Outcome o;
    o.name = v.name;
    const fs::path path = dir / ("mut-" + std::to_string(idx) + ".cap");
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.bytes.data()),
                                                static_cast<std::streamsize>(v.bytes.size()));
    const fs::path out = dir / ("mut-" + std::to_string(idx) + ".out");
    const fs::path err = dir / ("mut-" + std::to_string(idx) + ".err");
    std::string cmd = "timeout 30 " + e2e::quote(PCAPLENS_BINARY) + " --format json " + e2e::quote(path.string()) + " >" +
                      e2e::quote(out.string()) + " 2>" + e2e::quote(err.string());
    int st = std::system(cmd.c_str());
    o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    std::ifstream eo(err);
    const std::string errtext{std::istreambuf_iterator<char>(eo), {}};
    std::ifstream oo(out);
    const std::string outtext{std::istreambuf_iterator<char>(oo), {}};
    auto fail = [&](const std::string& why) {
        o.problem = why + " (exit " + std::to_string(o.status) + ")\n" + errtext.substr(0, 2000);
        return o;
    };
    if (errtext.find("Sanitizer") != std::string::npos || errtext.find("runtime error:") != std::string::npos)
        return fail("sanitizer report");
    if (o.status != 0 && o.status != 3 && o.status != 4) return fail("exit status outside {0,3,4}");
    if (o.status == 4) {
        if (errtext.empty()) return fail("exit 4 without a message");
    } else {
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(outtext);
        } catch (const std::exception& e) {
            return fail(std::string("invalid JSON: ") + e.what());
        }
        bool named = false;
        for (const auto& f : j["input"]["files"]) named = named || !f["errors"].empty();
        if (o.status == 3 && !named) return fail("exit 3 but no input.files[].errors");
        if (o.status == 0 && named) return fail("errors listed but exit 0");
    }
    if (v.text) {
        const std::string tcmd = "timeout 30 " + e2e::quote(PCAPLENS_BINARY) + " --timeline -v " + e2e::quote(path.string()) +
                                 " >/dev/null 2>" + e2e::quote(err.string());
        st = std::system(tcmd.c_str());
        const int ts = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        std::ifstream te(err);
        const std::string terr{std::istreambuf_iterator<char>(te), {}};
        if (ts != o.status || terr.find("Sanitizer") != std::string::npos || terr.find("runtime error:") != std::string::npos) {
            o.problem = "text run: exit " + std::to_string(ts) + " vs json " + std::to_string(o.status) + "\n" + terr.substr(0, 2000);
        }
    }
    fs::remove(path);
    fs::remove(out);
    fs::remove(err);
    return o;
}

}  // namespace

TEST_CASE("mutation sweep: truncated and bit-flipped captures keep exit status in {0,3,4}, no sanitizer report, damage named") {
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    if (const char* s = std::getenv("PCAPLENS_MUTATION_SEED")) seed = std::strtoull(s, nullptr, 0);
    std::mt19937_64 rng(seed);
    MESSAGE("mutation seed " << seed);

    std::vector<fs::path> files;
    for (const char* d : {"samples", "tests/captures"}) {
        for (const auto& e : fs::directory_iterator(e2e::source(d))) {
            const auto ext = e.path().extension();
            if (ext == ".pcap" || ext == ".pcapng") files.push_back(e.path());
        }
    }
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() >= 10);

    std::vector<Variant> variants;
    for (const fs::path& f : files) {
        const auto bytes = slurp(f);
        if (bytes.size() < 32) continue;
        const Layout l = layout_of(bytes);
        const std::string base = f.filename().string();
        // Truncations: inside the file header, at and just inside record
        // boundaries, and at random offsets.
        std::set<size_t> cuts = {0, 3, 12, 23, 24, 25, 30};
        auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
        for (int k = 0; k < 3 && !l.boundaries.empty(); ++k) {
            const size_t b = l.boundaries[pick(l.boundaries.size())];
            cuts.insert(b + 1 + pick(15));
        }
        if (!l.boundaries.empty()) cuts.insert(l.boundaries.back() + 7);
        for (int k = 0; k < 4; ++k) cuts.insert(pick(bytes.size()));
        for (size_t c : cuts) {
            if (c >= bytes.size()) continue;
            variants.push_back({base + " cut@" + std::to_string(c), {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(c)}});
        }
        // Bit flips in header bytes (1 to 4 flips each).
        for (int k = 0; k < 8 && !l.headers.empty(); ++k) {
            Variant v{base + " flips", bytes};
            const int n = 1 + static_cast<int>(pick(4));
            for (int i = 0; i < n; ++i) {
                const auto& [a, b] = l.headers[pick(l.headers.size())];
                if (b <= a) continue;
                const size_t at = a + pick(b - a);
                const int bit = static_cast<int>(pick(8));
                v.bytes[at] ^= static_cast<uint8_t>(1u << bit);
                v.name.append(1, ' ').append(std::to_string(at)).append(1, ':').append(std::to_string(bit));
            }
            v.text = (k % 4) == 0;
            variants.push_back(std::move(v));
        }
    }
    const fs::path dir = e2e::temp_dir() / "mutation";
    fs::create_directories(dir);

    // Two runs at a time (the CI machine has two cores).
    std::vector<Outcome> outcomes(variants.size());
    constexpr size_t kLanes = 2;
    std::vector<std::future<void>> lanes;
    for (size_t lane = 0; lane < kLanes; ++lane) {
        lanes.push_back(std::async(std::launch::async, [&, lane] {
            for (size_t i = lane; i < variants.size(); i += kLanes) outcomes[i] = check_one(variants[i], dir, i);
        }));
    }
    for (auto& f : lanes) f.get();

    size_t by_status[5] = {0, 0, 0, 0, 0};
    size_t bad = 0;
    for (const Outcome& o : outcomes) {
        if (o.status >= 0 && o.status < 5) ++by_status[o.status];
        if (!o.problem.empty()) {
            ++bad;
            FAIL_CHECK(o.name << ": " << o.problem);
        }
    }
    MESSAGE(variants.size() << " mutated captures from " << files.size() << " files: exit 0: " << by_status[0]
                            << ", exit 3: " << by_status[3] << ", exit 4: " << by_status[4] << ", problems: " << bad);
    CHECK(bad == 0);
    CHECK(variants.size() >= 300);
}
