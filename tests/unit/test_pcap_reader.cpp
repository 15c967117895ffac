// pcaplens's classic pcap reader (src/capture/pcap_file.cpp) against
// libpcap's (open_libpcap_file, the reader it replaces): both magics in both
// byte orders, records straddling or larger than a deliberately tiny read
// buffer or a one-page mapped window, truncation at every byte, link-type
// mapping with FCS bits, snaplen and caplen limits, and randomly damaged
// headers. Every case reads the file with both readers -- ours both reading
// and mapping it -- and wants the same packets, statistics and damage. Also:
// a file that shrinks while it is mapped.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "capture/mapped_window.hpp"
#include "pcaplens/capture/source.hpp"
#include "pcaplens/decode/decoder.hpp"
#include "support/packet_writer.hpp"

using namespace pcaplens;
namespace tw = pcaplens::testing;
using tw::Bytes;

namespace {

constexpr int64_t kNs = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000LL * kNs + 123'456'789;

struct TempFile {
    std::string path;
    TempFile() {
        static int counter = 0;
        path = (std::filesystem::temp_directory_path() /
                ("pcaplens_pcap_reader_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".pcap"))
                   .string();
    }
    ~TempFile() {
        std::error_code ec;
        std::filesystem::remove(path, ec);
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& write(const Bytes& content) const {
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
        REQUIRE(f.good());
        return path;
    }
};

// Everything a reader reports about a file.
struct Reading {
    std::optional<std::string> open_error;
    std::vector<int64_t> ts;
    std::vector<uint32_t> caplen, wirelen;
    std::vector<int> linktype;
    std::vector<Bytes> data;
    FileStats stats;
    uint64_t position = 0;
};

// `batch` > 0: through next_batch() (up to `batch` views at once, copied
// before the next call), as the pipeline reads; 0: next() one by one.
Reading read_with(std::unique_ptr<FileReader> (*open)(const std::string&, size_t), const std::string& path,
                  size_t buffer, size_t batch = 0) {
    Reading r;
    std::unique_ptr<FileReader> reader;
    try {
        reader = open(path, buffer);
    } catch (const InputError& e) {
        r.open_error = e.what();
        return r;
    }
    auto take = [&r](const PacketView& v) {
        r.ts.push_back(v.ts_ns);
        r.caplen.push_back(v.caplen);
        r.wirelen.push_back(v.wirelen);
        r.linktype.push_back(v.linktype);
        r.data.emplace_back(v.data, v.data + v.caplen);
        REQUIRE(r.ts.size() < 10000u);
    };
    PacketView v;
    if (batch == 0) {
        while (reader->next(v)) take(v);
    } else {
        std::vector<PacketView> views(batch);
        while (size_t n = reader->next_batch(views.data(), batch)) {
            REQUIRE(n <= batch);
            for (size_t i = 0; i < n; ++i) take(views[i]);
        }
    }
    CHECK_FALSE(reader->next(v));  // stays at the end
    r.stats = reader->stats();
    r.position = reader->position();
    return r;
}

// Ours reading the file through a buffer of `buffer` bytes, or mapping it a
// window of `window` bytes (rounded up to pages) at a time.
std::unique_ptr<FileReader> ours(const std::string& path, size_t buffer) { return open_pcap_file(path, buffer, 0); }
std::unique_ptr<FileReader> ours_mapped(const std::string& path, size_t window) {
    return open_pcap_file(path, kPcapReadBuffer, window);
}
std::unique_ptr<FileReader> libpcap(const std::string& path, size_t) { return open_libpcap_file(path); }

// Both readers agree on everything. The old reader's byte offsets were
// wrong after a record cut to the snaplen and for 24-byte record headers,
// so offsets are compared only when `offsets` says they can be.
void check_same(const Reading& a, const Reading& b, bool offsets = true) {
    REQUIRE(a.open_error.has_value() == b.open_error.has_value());
    if (a.open_error) {
        CHECK(*a.open_error == *b.open_error);
        return;
    }
    CHECK(a.ts == b.ts);
    CHECK(a.caplen == b.caplen);
    CHECK(a.wirelen == b.wirelen);
    CHECK(a.linktype == b.linktype);
    CHECK(a.data == b.data);
    CHECK(a.stats.path == b.stats.path);
    CHECK(a.stats.format == b.stats.format);
    CHECK(a.stats.link_types == b.stats.link_types);
    CHECK(a.stats.packets == b.stats.packets);
    CHECK(a.stats.bytes == b.stats.bytes);
    CHECK(a.stats.wire_bytes == b.stats.wire_bytes);
    CHECK(a.stats.first_ts_ns == b.stats.first_ts_ns);
    CHECK(a.stats.last_ts_ns == b.stats.last_ts_ns);
    CHECK(a.stats.snaplen == b.stats.snaplen);
    CHECK(a.stats.file_size == b.stats.file_size);
    REQUIRE(a.stats.damage.has_value() == b.stats.damage.has_value());
    if (a.stats.damage) {
        CHECK(a.stats.damage->kind == b.stats.damage->kind);
        CHECK(a.stats.damage->packet == b.stats.damage->packet);
        CHECK(a.stats.damage->message == b.stats.damage->message);
        if (offsets) CHECK(a.stats.damage->offset == b.stats.damage->offset);
    }
    if (offsets) CHECK(a.position == b.position);
}

// Reads `content` with libpcap and with our reader at several buffer sizes.
Reading compare_readers(const Bytes& content, bool offsets = true) {
    TempFile f;
    const std::string& path = f.write(content);
    const Reading expected = read_with(libpcap, path, 0);
    Reading got;
    for (size_t buffer : {size_t{1}, size_t{40}, size_t{97}, size_t{4096}, kPcapReadBuffer}) {
        CAPTURE(buffer);
        got = read_with(ours, path, buffer);
        check_same(got, expected, offsets);
        for (size_t batch : {size_t{3}, size_t{16}}) {   // the in-buffer pass of next_batch(), as the pipeline reads
            CAPTURE(batch);
            check_same(read_with(ours, path, buffer, batch), expected, offsets);
        }
    }
    for (size_t window : {size_t{1}, size_t{8192}, kPcapMapWindow}) {   // 1: one page
        CAPTURE(window);
        check_same(read_with(ours_mapped, path, window), expected, offsets);
        check_same(read_with(ours_mapped, path, window, 16), expected, offsets);
    }
    return got;
}

Bytes frame_n(int n, size_t payload = 10) {
    return tw::eth_ipv4_tcp("10.0.0.1", static_cast<uint16_t>(40000 + n), "10.0.0.2", 80, static_cast<uint32_t>(n), 0,
                            tcpflag::ACK, Bytes(payload, static_cast<uint8_t>(n)));
}

// A file header with every field chosen.
Bytes pcap_header(uint32_t magic, bool be, uint32_t linktype, uint32_t snaplen = 65535, uint16_t major = 2,
                  uint16_t minor = 4) {
    Bytes b;
    tw::put_u32(b, magic, be);
    tw::put_u16(b, major, be);
    tw::put_u16(b, minor, be);
    tw::put_u32(b, 0, be);
    tw::put_u32(b, 0, be);
    tw::put_u32(b, snaplen, be);
    tw::put_u32(b, linktype, be);
    return b;
}

void add_record(Bytes& b, bool be, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t len, const Bytes& data,
                bool kuznetzov = false) {
    tw::put_u32(b, sec, be);
    tw::put_u32(b, frac, be);
    tw::put_u32(b, caplen, be);
    tw::put_u32(b, len, be);
    if (kuznetzov) tw::put_bytes(b, Bytes{1, 2, 3, 4, 0, 8, 0, 0});  // ifindex, protocol, pkt_type, pad
    tw::put_bytes(b, data);
}

}  // namespace

TEST_CASE("pcap reader: both magics in both byte orders, read through tiny and large buffers") {
    for (bool nano : {false, true}) {
        for (bool be : {false, true}) {
            CAPTURE(nano);
            CAPTURE(be);
            tw::PcapWriter w(tw::linktype::ethernet, nano, be, 65535);
            std::vector<Bytes> frames;
            for (int i = 0; i < 20; ++i) {
                frames.push_back(frame_n(i, static_cast<size_t>(i * 37 % 200)));
                w.add(kT0 + i * (kNs + 1001), frames.back(), i % 3 ? 0 : 3000);
            }
            const Reading r = compare_readers(w.bytes());
            REQUIRE(r.data.size() == frames.size());
            for (size_t i = 0; i < frames.size(); ++i) CHECK(r.data[i] == frames[i]);
            CHECK(r.stats.format == (nano ? "pcap-ns" : "pcap"));
            CHECK(r.ts[1] == (nano ? kT0 + kNs + 1001 : (kT0 + kNs + 1001) / 1000 * 1000));
            CHECK(r.wirelen[0] == 3000u);
            CHECK(r.position == w.bytes().size());
            CHECK_FALSE(r.stats.damage.has_value());
        }
    }
}

TEST_CASE("pcap reader: records straddling the buffer end and larger than the buffer") {
    tw::PcapWriter w(tw::linktype::ethernet);
    std::vector<Bytes> frames;
    for (int i = 0; i < 12; ++i) {
        frames.push_back(frame_n(i, i == 5 ? 9000 : static_cast<size_t>(20 + i * 13)));  // one jumbo
        w.add(kT0 + i * 1000, frames.back());
    }
    TempFile f;
    const std::string& path = f.write(w.bytes());
    // 64 bytes: nearly every record straddles the end; the jumbo one grows
    // the buffer. 100 and 1500: straddles at other offsets. Mapped, one and
    // two pages: the jumbo record is larger than the window.
    for (auto [open, size] : {std::pair{&ours, size_t{64}}, std::pair{&ours, size_t{100}}, std::pair{&ours, size_t{1500}},
                              std::pair{&ours_mapped, size_t{1}}, std::pair{&ours_mapped, size_t{8192}}}) {
        CAPTURE(size);
        CAPTURE(open == &ours_mapped);
        auto reader = open(path, size);
        PacketView v;
        for (const Bytes& expected : frames) {
            REQUIRE(reader->next(v));
            CHECK(Bytes(v.data, v.data + v.caplen) == expected);
        }
        CHECK_FALSE(reader->next(v));
        CHECK_FALSE(reader->stats().damage.has_value());
        CHECK(reader->position() == w.bytes().size());
    }
}

TEST_CASE("pcap reader: truncation at every byte matches libpcap") {
    for (bool be : {false, true}) {
        CAPTURE(be);
        tw::PcapWriter w(tw::linktype::ethernet, false, be);
        for (int i = 0; i < 4; ++i) w.add(kT0 + i * kNs, frame_n(i, static_cast<size_t>(i * 30)));
        const Bytes& all = w.bytes();
        for (size_t cut = 0; cut <= all.size(); ++cut) {
            CAPTURE(cut);
            compare_readers(Bytes(all.begin(), all.begin() + static_cast<long>(cut)));
        }
    }
}

TEST_CASE("pcap reader: a capture without packets still names its link type") {
    // The header declares it for every record; before, only a first packet
    // put it in the stats and an empty capture showed "-".
    tw::PcapWriter w(tw::linktype::ethernet, false, false);
    TempFile f;
    const std::string& path = f.write(w.bytes());
    for (auto open : {ours, ours_mapped, libpcap}) {
        const Reading r = read_with(open, path, 4096);
        REQUIRE_FALSE(r.open_error.has_value());
        CHECK(r.stats.packets == 0);
        CHECK(r.stats.link_types == std::set<int>{1});   // DLT_EN10MB
    }
}

TEST_CASE("pcap reader: link types, FCS bits and snaplens as libpcap maps them") {
    std::vector<uint32_t> types;
    for (uint32_t lt = 0; lt < 300; ++lt) types.push_back(lt);
    for (uint32_t lt : {1u | 0x04000000u, 1u | 0x10000000u | 0x04000000u, 101u | 0xFC000000u, 105u | 0x08000000u,
                        0x03FFFFFFu, 0xFFFFFFFFu, 4000u, 65535u, 65536u})
        types.push_back(lt);
    const Bytes frame = frame_n(1, 40);
    for (uint32_t lt : types) {
        CAPTURE(lt);
        for (bool be : {false, true}) {
            Bytes b = pcap_header(0xA1B2C3D4u, be, lt);
            add_record(b, be, 1'700'000'000, 5, static_cast<uint32_t>(frame.size()), 1514, frame);
            compare_readers(b);
        }
    }
    // Raw IP: LINKTYPE_RAW 101 is DLT_RAW 12; with FCS bits set too.
    Bytes raw = pcap_header(0xA1B2C3D4u, false, 101u | 0x14000000u);
    add_record(raw, false, 1, 2, 20, 20, Bytes(20, 0x45));
    CHECK(compare_readers(raw).linktype == std::vector<int>{12});

    for (uint32_t lt : {1u, 231u /* D-Bus */, 249u /* USBPcap */, 279u /* EBHSCR */}) {
        for (uint32_t snaplen : {0u, 1u, 60u, 65535u, 262144u, 262145u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu}) {
            CAPTURE(lt);
            CAPTURE(snaplen);
            Bytes b = pcap_header(0xA1B2C3D4u, false, lt, snaplen);
            add_record(b, false, 1, 2, static_cast<uint32_t>(frame.size()), static_cast<uint32_t>(frame.size()), frame);
            compare_readers(b, snaplen >= frame.size());
        }
    }
}

TEST_CASE("pcap reader: caplen limits, old versions and the Kuznetzov format") {
    const Bytes big = frame_n(7, 400);
    SUBCASE("caplen beyond the snaplen: cut to it, the file goes on") {
        Bytes b = pcap_header(0xA1B2C3D4u, false, 1, 100);
        add_record(b, false, 1, 0, 60, 60, Bytes(60, 1));
        add_record(b, false, 2, 0, static_cast<uint32_t>(big.size()), static_cast<uint32_t>(big.size()), big);
        add_record(b, false, 3, 0, 60, 60, Bytes(60, 3));
        const Reading r = compare_readers(b, false);
        REQUIRE(r.caplen.size() == 3u);
        CHECK(r.caplen[1] == 100u);
        CHECK(r.position == b.size());  // the whole record was skipped
        for (size_t cut = b.size() - 60 - 16 - 1; cut > 24; cut -= 7) {
            CAPTURE(cut);
            const Reading c = compare_readers(Bytes(b.begin(), b.begin() + static_cast<long>(cut)), false);
            if (c.stats.damage) CHECK(c.stats.damage->offset == (cut < 24 + 16 + 60 ? 24u : 24u + 16 + 60));
        }
    }
    SUBCASE("caplen beyond the maximum: damage") {
        for (uint32_t caplen : {262145u, 0xFFFFFF00u}) {
            for (uint32_t snaplen : {65535u, 0x7FFFFFFFu}) {
                Bytes b = pcap_header(0xA1B2C3D4u, true, 1, snaplen);
                add_record(b, true, 1, 0, 60, 60, Bytes(60, 1));
                add_record(b, true, 2, 0, caplen, 60, Bytes(60, 2));
                const Reading r = compare_readers(b);
                REQUIRE(r.stats.damage.has_value());
                CHECK(r.stats.damage->kind == "bad_record_header");
                CHECK(r.stats.damage->offset == 24u + 16 + 60);
            }
        }
    }
    SUBCASE("empty records") {
        Bytes b = pcap_header(0xA1B23C4Du, false, 1);
        add_record(b, false, 1, 0, 0, 0, {});
        add_record(b, false, 2, 0, 0, 1500, {});
        add_record(b, false, 3, 0, 4, 4, Bytes(4, 9));
        CHECK(compare_readers(b).caplen == std::vector<uint32_t>{0, 0, 4});
    }
    SUBCASE("versions 2.0 to 2.4 and 543.0 (caplen and len swapped before 2.3)") {
        for (auto [major, minor] : {std::pair{2, 0}, {2, 2}, {2, 3}, {2, 4}, {543, 0}, {2, 5}, {1, 4}, {3, 0}, {543, 1}}) {
            CAPTURE(major);
            CAPTURE(minor);
            Bytes b = pcap_header(0xA1B2C3D4u, false, 1, 65535, static_cast<uint16_t>(major), static_cast<uint16_t>(minor));
            add_record(b, false, 1, 0, 40, 60, Bytes(60, 1));
            add_record(b, false, 2, 0, 60, 40, Bytes(60, 2));
            compare_readers(b);
        }
    }
    SUBCASE("Kuznetzov's patched format: 24-byte record headers") {
        for (bool be : {false, true}) {
            for (uint32_t lt : {1u, 101u}) {
                CAPTURE(be);
                CAPTURE(lt);
                Bytes b = pcap_header(0xA1B2CD34u, be, lt, 96);
                for (int i = 0; i < 3; ++i) {
                    const Bytes f = frame_n(i, 20);
                    add_record(b, be, 10 + i, 999'999, static_cast<uint32_t>(f.size()), 1000, f, true);
                }
                const Reading r = compare_readers(b, false);
                CHECK(r.ts.size() == 3u);
                CHECK(r.position == b.size());
                CHECK(r.stats.format == "pcap");
            }
        }
    }
    SUBCASE("timestamps: unsigned seconds; fractions of a second or more as libpcap reads them") {
        for (bool nano : {false, true}) {
            for (bool be : {false, true}) {
                CAPTURE(nano);
                CAPTURE(be);
                Bytes b = pcap_header(nano ? 0xA1B23C4Du : 0xA1B2C3D4u, be, 1);
                for (uint32_t sec : {0u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu}) {
                    for (uint32_t frac : {0u, 999'999u, 1'000'000u, 999'999'999u, 0x80000000u, 0xFFFFFFFFu})
                        add_record(b, be, sec, frac, 1, 1, Bytes{1});
                }
                const Reading r = compare_readers(b);
                REQUIRE(r.ts.size() == 24u);
                CHECK(r.ts[18] == 0xFFFFFFFFLL * kNs);
                // Big-endian files are byte-swapped here: fraction unsigned.
                CHECK(r.ts[23] == 0xFFFFFFFFLL * kNs + (be ? 0xFFFFFFFFLL : -1) * (nano ? 1 : 1000));
            }
        }
    }
}

TEST_CASE("pcap reader: randomly damaged files read like libpcap reads them") {
    // A small file with varied records; bytes of its headers are overwritten
    // at random. Deterministic seed.
    Bytes base = pcap_header(0xA1B2C3D4u, false, 1, 200);
    std::vector<size_t> header_at;
    for (int i = 0; i < 6; ++i) {
        header_at.push_back(base.size());
        const Bytes f = frame_n(i, static_cast<size_t>(i * 50));
        add_record(base, false, 1'700'000'000u + static_cast<uint32_t>(i), 1000, static_cast<uint32_t>(f.size()),
                   static_cast<uint32_t>(f.size()), f);
    }
    std::mt19937 rng(20261125);
    for (int iter = 0; iter < 400; ++iter) {
        CAPTURE(iter);
        Bytes b = base;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e) {
            // Mostly the file header and record lengths; sometimes anywhere.
            size_t at;
            switch (rng() % 4) {
                case 0: at = rng() % 24; break;
                case 1: at = header_at[rng() % header_at.size()] + 8 + rng() % 8; break;
                case 2: at = header_at[rng() % header_at.size()] + rng() % 16; break;
                default: at = rng() % b.size(); break;
            }
            b[at] = static_cast<uint8_t>(rng() % 3 == 0 ? 0xFF : rng());
        }
        if (rng() % 3 == 0) b.resize(rng() % b.size());
        TempFile f;
        const std::string& path = f.write(b);
        const Reading expected = read_with(libpcap, path, 0);
        // Offsets differ after a record libpcap cut to the snaplen (the old
        // reader counted the cut length) and for Kuznetzov's format.
        bool offsets = b.size() < 4 || !(b[0] == 0x34 && b[1] == 0xCD);
        for (uint32_t c : expected.caplen) offsets = offsets && c < expected.stats.snaplen;
        check_same(read_with(ours, path, 64), expected, offsets);
        check_same(read_with(ours, path, kPcapReadBuffer), expected, offsets);
        check_same(read_with(ours_mapped, path, 1, 16), expected, offsets);
        check_same(read_with(ours_mapped, path, kPcapMapWindow, 16), expected, offsets);
    }
}

TEST_CASE("pcap reader: a batch holds only records already in the buffer, all still valid") {
    tw::PcapWriter w(tw::linktype::ethernet);
    std::vector<Bytes> frames;
    for (int i = 0; i < 40; ++i) {
        frames.push_back(frame_n(i, static_cast<size_t>(i % 7 == 3 ? 3000 : 10 + i * 17)));
        w.add(kT0 + i * 1000, frames.back());
    }
    TempFile f;
    const std::string& path = f.write(w.bytes());
    for (auto [open, buffer] : {std::pair{&ours, size_t{64}}, std::pair{&ours, size_t{700}}, std::pair{&ours, size_t{4096}},
                                std::pair{&ours, size_t{1} << 17}, std::pair{&ours_mapped, size_t{4096}},
                                std::pair{&ours_mapped, kPcapMapWindow}}) {
        CAPTURE(buffer);
        CAPTURE(open == &ours_mapped);
        auto reader = open(path, buffer);
        std::vector<PacketView> views(8);
        std::vector<Bytes> got;
        size_t batches = 0;
        while (size_t n = reader->next_batch(views.data(), views.size())) {
            ++batches;
            REQUIRE(n <= views.size());
            // Copied only now: a refill in the middle of the batch would have
            // moved the earlier views' bytes.
            for (size_t i = 0; i < n; ++i) got.emplace_back(views[i].data, views[i].data + views[i].caplen);
        }
        REQUIRE(got.size() == frames.size());
        for (size_t i = 0; i < frames.size(); ++i) CHECK(got[i] == frames[i]);
        CHECK_FALSE(reader->stats().damage.has_value());
        // Big buffers hold many records: fewer batches than packets.
        if (buffer >= 4096) CHECK(batches < frames.size());
    }
}

namespace {
// Whether the page holding `p` has a page-table entry (/proc/self/pagemap
// bit 63; readable without privileges, which only hide the frame numbers).
// nullopt when pagemap cannot be read.
std::optional<bool> page_present(const void* p) {
    const int fd = ::open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0) return std::nullopt;
    uint64_t entry = 0;
    const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    const auto at = static_cast<off_t>(reinterpret_cast<uintptr_t>(p) / page * sizeof entry);
    const bool ok = ::pread(fd, &entry, sizeof entry, at) == static_cast<ssize_t>(sizeof entry);
    ::close(fd);
    if (!ok) return std::nullopt;
    return (entry >> 63) != 0;
}
}  // namespace

TEST_CASE("mapped window: fetching ahead asks for the page-table entries a MiB ahead, before any access") {
    // Without it the kernel maps the file's pages at the first touch of each
    // 64 KiB (a page fault each), and a prefetch into a page not mapped yet
    // is dropped.
    tw::PcapWriter w(tw::linktype::ethernet);
    for (int i = 0; i < 3'000; ++i) w.add(kT0 + i * 1000, frame_n(i, 1446));   // ~4.4 MiB
    TempFile f;
    const std::string& path = f.write(w.bytes());
    const int fd = ::open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    const uint64_t size = std::filesystem::file_size(path);
    MappedWindow win;
    REQUIRE(win.map_from(fd, 0, 1, size_t{4} << 20, size));
    const size_t page = MappedWindow::page_size();
    const auto present = [&](size_t off) { return page_present(win.data() + off); };
    const std::optional<bool> first = present(0);
    // Kernels before 5.14 do not know MADV_POPULATE_READ: faults map the
    // pages as before, and there is nothing to see here.
    bool populate = false;
#ifdef MADV_POPULATE_READ
    if (void* probe = mmap(nullptr, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); probe != MAP_FAILED) {
        populate = madvise(probe, page, MADV_POPULATE_READ) == 0;
        munmap(probe, page);
    }
#endif
    if (!first) {
        MESSAGE("/proc/self/pagemap unreadable: skipped");
    } else if (!populate) {
        MESSAGE("MADV_POPULATE_READ not supported by this kernel: skipped");
    } else {
        CHECK_FALSE(*first);                      // nothing touched yet
        win.fetch_ahead(0);
        CHECK(present(0) == true);
        CHECK(present((size_t{1} << 20) - page) == true);   // the whole first MiB
        CHECK(present((size_t{3} << 20)) == false);         // not the window
        win.fetch_ahead((size_t{1} << 20) - 1024);          // the walk nears the MiB's end: the next one
        CHECK(present((size_t{2} << 20) - page) == true);
        CHECK(present((size_t{3} << 20)) == false);
    }
    win.unmap();
    ::close(fd);
}

namespace {

// Reads up to `limit` more packets (next_batch in batches of 16, or next()),
// checking packet i's bytes against frame_n(i, 1000) for i < exact; returns
// the new i.
size_t read_frames_1000(FileReader& reader, bool batched, size_t i, size_t limit = SIZE_MAX, size_t exact = SIZE_MAX) {
    std::vector<PacketView> views(16);
    for (size_t taken = 0; taken < limit;) {
        const size_t n = batched ? reader.next_batch(views.data(), std::min(views.size(), limit - taken))
                                 : (reader.next(views[0]) ? 1 : 0);
        if (n == 0) break;
        for (size_t k = 0; k < n; ++k, ++i, ++taken) {
            const Bytes want = frame_n(static_cast<int>(i), 1000);
            REQUIRE(views[k].caplen == want.size());
            if (i < exact) CHECK(Bytes(views[k].data, views[k].data + views[k].caplen) == want);
        }
    }
    return i;
}

}  // namespace

TEST_CASE("pcap reader: a mapped file that shrinks while it is read is damage from its new end, never a crash") {
    // A tcpdump -W ring reopens its oldest file with O_TRUNC: pages of the
    // window then vanish under the reader (SIGBUS when touched).
    tw::PcapWriter w(tw::linktype::ethernet);
    std::vector<uint64_t> record_end;   // file offset just past each record
    uint64_t off = 24;
    for (int i = 0; i < 400; ++i) {
        const Bytes fr = frame_n(i, 1000);
        w.add(kT0 + i * 1000, fr);
        off += 16 + fr.size();
        record_end.push_back(off);
    }
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    for (bool batched : {true, false}) {
        for (int where : {0, 1, 2}) {   // at a page boundary, inside a record, to nothing
            CAPTURE(batched);
            CAPTURE(where);
            TempFile f;
            const std::string& path = f.write(w.bytes());
            auto reader = ours_mapped(path, kPcapMapWindow);   // the whole file in one window
            REQUIRE(read_frames_1000(*reader, batched, 0, 50) == 50);
            const uint64_t cut = where == 0 ? record_end[200] / page * page : where == 1 ? record_end[200] + 500 : 0;
            std::filesystem::resize_file(path, cut);
            size_t whole = 0;   // records wholly before the cut
            while (whole < record_end.size() && record_end[whole] <= cut) ++whole;
            const size_t got = read_frames_1000(*reader, batched, 50);
            const auto& damage = reader->stats().damage;
            REQUIRE(damage.has_value());
            CHECK(damage->kind == "truncated_record");
            CHECK(damage->message.find("the file shrank to " + std::to_string(cut) + " bytes while it was being read") !=
                  std::string::npos);
            if (where != 2) {
                // Every record wholly before the new end, and not one more:
                // in particular not the one it cuts, whose rest in the same
                // page now reads as zeros without faulting.
                CHECK(got == whole);
                CHECK(damage->packet == whole + 1);
                CHECK(damage->offset == (whole == 0 ? 24 : record_end[whole - 1]));
                if (where == 1) {   // worded as a read(2) meeting the end there would have
                    CHECK(damage->message.rfind("truncated dump file; tried to read 1054 captured bytes, only got 484", 0) == 0);
                }
            } else {
                CHECK(got == 50);   // what was handed out before stays; nothing after
            }
            CHECK(reader->stats().packets == got);
            PacketView v;
            CHECK_FALSE(reader->next(v));
        }
    }
}

TEST_CASE("pcap reader: after an all-zero record, a shrinking file's zero-filled last page gives no packets") {
    // A genuine all-zero record (16 zero bytes) early in the window, then a
    // cut in the middle of a page: the rest of that page reads as zeros, which
    // would parse as a run of empty records.
    tw::PcapWriter w(tw::linktype::ethernet);
    Bytes file = w.bytes();
    std::vector<uint64_t> record_end;
    auto add = [&](const Bytes& rec) {
        file.insert(file.end(), rec.begin(), rec.end());
        record_end.push_back(file.size());
    };
    add(Bytes(16, 0));
    for (int i = 1; i < 300; ++i) {
        tw::PcapWriter one(tw::linktype::ethernet);
        one.add(kT0 + i, frame_n(i, 1000));
        add(Bytes(one.bytes().begin() + 24, one.bytes().end()));
    }
    const uint64_t cut = record_end[150] + 100;
    size_t whole = 0;
    while (record_end[whole] <= cut) ++whole;
    for (bool batched : {true, false}) {
        CAPTURE(batched);
        TempFile f;
        const std::string& path = f.write(file);
        auto reader = ours_mapped(path, kPcapMapWindow);
        PacketView v;
        REQUIRE(reader->next(v));
        CHECK(v.caplen == 0);   // the all-zero record
        std::filesystem::resize_file(path, cut);
        size_t got = 1;
        std::vector<PacketView> views(16);
        for (;;) {
            const size_t n = batched ? reader->next_batch(views.data(), views.size()) : (reader->next(views[0]) ? 1 : 0);
            if (n == 0) break;
            for (size_t k = 0; k < n; ++k, ++got) CHECK(views[k].caplen == 1054u);   // no empty record from the zeros
        }
        CHECK(got == whole);
        REQUIRE(reader->stats().damage.has_value());
        CHECK(reader->stats().damage->offset == record_end[whole - 1]);
        CHECK(reader->stats().damage->message.find("the file shrank to " + std::to_string(cut)) != std::string::npos);
    }
}

namespace {

// Runs `then` in a child process that has mapped a one-packet capture (which
// installs the SIGBUS handler) and read it; returns the signal that ended the
// child, or 0 when it exited. The child is quiet: doctest's handlers and a
// sanitizer's report are not the test's output.
template <class Then>
int signal_after_mapping(Then then) {
    tw::PcapWriter w(tw::linktype::ethernet);
    w.add(kT0, frame_n(0, 10));
    TempFile capture;
    const std::string& path = capture.write(w.bytes());
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        std::signal(SIGABRT, SIG_DFL);
        const int devnull = ::open("/dev/null", O_WRONLY);
        if (devnull >= 0) ::dup2(devnull, 2);
        auto reader = ours_mapped(path, kPcapMapWindow);
        PacketView v;
        if (!reader->next(v)) ::_exit(3);
        then();
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

// A fatal SIGBUS ends the process with SIGBUS; under AddressSanitizer, whose
// handler was there first, with its report and SIGABRT.
void check_fatal_sigbus(int sig) {
#if defined(__SANITIZE_ADDRESS__)
    CHECK((sig == SIGABRT || sig == SIGBUS));
#else
    CHECK(sig == SIGBUS);
#endif
}

}  // namespace

TEST_CASE("pcap reader: a SIGBUS sent to the process (kill) still ends it once a mapped window exists") {
    check_fatal_sigbus(signal_after_mapping([] { ::kill(::getpid(), SIGBUS); }));   // was swallowed
}

TEST_CASE("pcap reader: a SIGBUS outside every mapped window still ends the process") {
    // The handler the mapped reader installs takes only faults in its own
    // windows; any other stays fatal, as it would have been.
    TempFile other;
    const std::string& other_path = other.write(Bytes(3 * 4096, 7));
    check_fatal_sigbus(signal_after_mapping([&] {
        const int fd = ::open(other_path.c_str(), O_RDONLY);
        void* m = ::mmap(nullptr, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) ::_exit(4);
        if (::ftruncate(::open(other_path.c_str(), O_RDWR), 0) != 0) ::_exit(5);
        const volatile uint8_t* p = static_cast<const uint8_t*>(m);
        (void)p[2 * 4096];   // beyond the end now: SIGBUS
    }));
}

TEST_CASE("pcap reader: more files open at once than there are window slots are all read") {
    // 256 windows can be live (the SIGBUS handler's table). A pcap file that
    // finds none free at open is read by libpcap (open_pcap_file's fallback
    // for a header it does not take); the pcapng reader reads through stdio
    // (test_pcapng_reader.cpp). Either way: the same packets.
    tw::PcapWriter w(tw::linktype::ethernet);
    std::vector<Bytes> frames;
    for (int i = 0; i < 20; ++i) {
        frames.push_back(frame_n(i, static_cast<size_t>(100 + i * 50)));
        w.add(kT0 + i * 1000, frames.back());
    }
    TempFile f;
    const std::string& path = f.write(w.bytes());
    std::vector<std::unique_ptr<FileReader>> readers;
    PacketView v;
    for (int i = 0; i < 300; ++i) {   // all open, each with its first window mapped (or not)
        readers.push_back(ours_mapped(path, kPcapMapWindow));
        REQUIRE(readers.back()->next(v));
        CHECK(Bytes(v.data, v.data + v.caplen) == frames[0]);
    }
    for (auto& r : readers) {
        for (size_t i = 1; i < frames.size(); ++i) {
            REQUIRE(r->next(v));
            CHECK(Bytes(v.data, v.data + v.caplen) == frames[i]);
        }
        CHECK_FALSE(r->next(v));
        CHECK_FALSE(r->stats().damage.has_value());
    }
}

namespace {
// The process's mapped address space, from /proc/self/statm (pages); 0 if
// unreadable.
[[maybe_unused]] uint64_t address_space_bytes() {   // unused under ASan (the test is skipped)
    std::ifstream statm("/proc/self/statm");
    uint64_t pages = 0;
    statm >> pages;
    return pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}
}  // namespace

TEST_CASE("pcap reader: a window that cannot be mapped mid-file is read with read(2) from there, the same packets") {
    // MappedWindow::map() fails (mmap refused: here the address-space limit
    // is lowered just before the reader needs its second window): the
    // reader goes on from the first record not handed out with read(2) into
    // a buffer, and nothing is lost or repeated.
#if defined(__SANITIZE_ADDRESS__)
    MESSAGE("skipped under AddressSanitizer (its own mappings would meet the lowered limit)");
#else
    constexpr size_t kWindow = size_t{8} << 20;
    constexpr size_t kFrames = 20'000;   // 1,070-byte records, ~20 MiB: a full second window
    tw::PcapWriter w(tw::linktype::ethernet);
    for (size_t i = 0; i < kFrames; ++i) w.add(kT0 + static_cast<int64_t>(i) * 1000, frame_n(static_cast<int>(i), 1000));
    TempFile f;
    const std::string& path = f.write(w.bytes());
    auto reader = open_pcap_file(path, 64 * 1024, kWindow);
    // The first window holds ~7,840 records: stop well inside it.
    size_t i = read_frames_1000(*reader, true, 0, 7'000);
    REQUIRE(i == 7'000);
    rlimit old{};
    REQUIRE(getrlimit(RLIMIT_AS, &old) == 0);
    const uint64_t used = address_space_bytes();
    if (used <= kWindow) {
        MESSAGE("/proc/self/statm unreadable: the rest is skipped");
        return;
    }
    // After the reader unmaps its first window there are 6 MiB to spare:
    // room for its read buffer, not for a second window.
    rlimit lowered = old;
    lowered.rlim_cur = static_cast<rlim_t>(used - (size_t{2} << 20));
    REQUIRE(setrlimit(RLIMIT_AS, &lowered) == 0);
    i = read_frames_1000(*reader, true, i);
    const auto stats = reader->stats();
    REQUIRE(setrlimit(RLIMIT_AS, &old) == 0);
    CHECK(i == kFrames);
    CHECK_FALSE(stats.damage.has_value());
    PacketView v;
    CHECK_FALSE(reader->next(v));
#endif
}
