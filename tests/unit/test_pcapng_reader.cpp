// pcaplens's own pcapng reader (src/capture/pcapng_file.cpp): crafted files
// in both byte orders, several sections, per-interface link types and
// timestamp resolutions, SPB/PB, skipped block types, and damage reporting.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "../support/packet_writer.hpp"
#include "pcaplens/capture/source.hpp"

using namespace pcaplens;
using namespace pcaplens::testing;

namespace {

constexpr int64_t kNs = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000LL * kNs;  // 2023-11-14

// A file in the temp directory that is removed when the test ends.
struct TempFile {
    std::string path;
    explicit TempFile(const Bytes& content) {
        static int counter = 0;
        path = (std::filesystem::temp_directory_path() /
                ("pcaplens_pcapng_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".pcapng"))
                   .string();
        std::FILE* f = std::fopen(path.c_str(), "wb");
        REQUIRE(f != nullptr);
        if (!content.empty()) REQUIRE(std::fwrite(content.data(), 1, content.size(), f) == content.size());
        std::fclose(f);
    }
    ~TempFile() { std::remove(path.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
};

struct Pkt {
    int64_t ts_ns;
    uint32_t caplen;
    uint32_t wirelen;
    int linktype;
    Bytes data;
};

struct ReadResult {
    std::vector<Pkt> pkts;
    FileStats stats;
    uint64_t position = 0;
};

// One way of reading: mapped `window` bytes at a time (0: through stdio),
// packet by packet or in batches of 16 as the pipeline reads.
ReadResult read_one(const std::string& path, size_t window, bool batched) {
    auto r = open_pcapng_file(path, window);
    ReadResult res;
    std::vector<PacketView> views(16);
    uint64_t guard = 0;
    for (;;) {
        const size_t n = batched ? r->next_batch(views.data(), views.size()) : (r->next(views[0]) ? 1 : 0);
        if (n == 0) break;
        for (size_t i = 0; i < n; ++i) {   // copied only now: a view must outlive the rest of its batch
            const PacketView& p = views[i];
            CHECK(p.frame == 0);
            CHECK(p.file_index == 0);
            res.pkts.push_back({p.ts_ns, p.caplen, p.wirelen, p.linktype, Bytes(p.data, p.data + p.caplen)});
        }
        REQUIRE(++guard < 100000);
    }
    // Once finished (cleanly or on damage), it stays finished.
    PacketView p;
    CHECK_FALSE(r->next(p));
    CHECK_FALSE(r->next(p));
    res.stats = r->stats();
    res.position = r->position();
    return res;
}

void check_packets(const std::vector<Pkt>& got, const std::vector<Pkt>& want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        CAPTURE(i);
        CHECK(got[i].ts_ns == want[i].ts_ns);
        CHECK(got[i].caplen == want[i].caplen);
        CHECK(got[i].wirelen == want[i].wirelen);
        CHECK(got[i].linktype == want[i].linktype);
        CHECK(got[i].data == want[i].data);
    }
}

void check_same(const ReadResult& a, const ReadResult& b) {
    check_packets(a.pkts, b.pkts);
    CHECK(a.stats.packets == b.stats.packets);
    CHECK(a.stats.bytes == b.stats.bytes);
    CHECK(a.stats.link_types == b.stats.link_types);
    CHECK(a.stats.snaplen == b.stats.snaplen);
    CHECK(a.position == b.position);
    REQUIRE(a.stats.damage.has_value() == b.stats.damage.has_value());
    if (a.stats.damage) {
        CHECK(a.stats.damage->kind == b.stats.damage->kind);
        CHECK(a.stats.damage->packet == b.stats.damage->packet);
        CHECK(a.stats.damage->offset == b.stats.damage->offset);
        CHECK(a.stats.damage->message == b.stats.damage->message);
    }
}

// Every file is read mapped (the default window, packet by packet; one-page
// windows in batches, so blocks straddle windows) and through stdio, and
// all three readings must agree.
ReadResult read_all(const Bytes& file) {
    TempFile tmp(file);
    ReadResult res = read_one(tmp.path, kPcapMapWindow, false);
    {
        INFO("mapped, one-page windows, batches of 16");
        check_same(read_one(tmp.path, 1, true), res);
    }
    {
        INFO("read through stdio");
        check_same(read_one(tmp.path, 0, false), res);
    }
    return res;
}

Bytes payload(size_t n, uint8_t seed) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
    return b;
}

// Blocks PcapngWriter has no dedicated call for.
Bytes idb_body(int linktype, uint32_t snaplen, bool be, int tsresol = -1, bool with_tsoffset = false,
               int64_t tsoffset = 0) {
    Bytes b;
    put_u16(b, static_cast<uint16_t>(linktype), be);
    put_u16(b, 0, be);
    put_u32(b, snaplen, be);
    // An unrelated option first (if_name "eth0", 4 bytes: no padding).
    put_u16(b, 2, be);
    put_u16(b, 4, be);
    put_bytes(b, to_bytes("eth0"));
    if (tsresol >= 0) {
        put_u16(b, 9, be);
        put_u16(b, 1, be);
        put_u8(b, static_cast<uint8_t>(tsresol));
        put_zeros(b, 3);
    }
    if (with_tsoffset) {
        put_u16(b, 14, be);
        put_u16(b, 8, be);
        put_u64(b, static_cast<uint64_t>(tsoffset), be);
    }
    put_u16(b, 0, be);
    put_u16(b, 0, be);
    return b;
}

Bytes spb_body(uint32_t origlen, const Bytes& data, bool be) {
    Bytes b;
    put_u32(b, origlen, be);
    put_bytes(b, data);
    return b;
}

Bytes epb_body(uint32_t iface, uint64_t units, uint32_t caplen, uint32_t origlen, const Bytes& data, bool be) {
    Bytes b;
    put_u32(b, iface, be);
    put_u32(b, static_cast<uint32_t>(units >> 32), be);
    put_u32(b, static_cast<uint32_t>(units), be);
    put_u32(b, caplen, be);
    put_u32(b, origlen, be);
    put_bytes(b, data);
    return b;
}

Bytes pb_body(uint16_t iface, uint64_t units, const Bytes& data, uint32_t origlen, bool be) {
    Bytes b;
    put_u16(b, iface, be);
    put_u16(b, 0, be);  // drops count
    put_u32(b, static_cast<uint32_t>(units >> 32), be);
    put_u32(b, static_cast<uint32_t>(units), be);
    put_u32(b, static_cast<uint32_t>(data.size()), be);
    put_u32(b, origlen, be);
    put_bytes(b, data);
    return b;
}

// Section header with an explicit byte-order magic (for the bad-magic case).
Bytes shb_block(bool be, uint32_t bom = 0x1A2B3C4D) {
    Bytes b;
    put_u32(b, 0x0A0D0D0A, be);
    put_u32(b, 28, be);
    put_u32(b, bom, be);
    put_u16(b, 1, be);
    put_u16(b, 0, be);
    put_u64(b, ~uint64_t{0}, be);
    put_u32(b, 28, be);
    return b;
}

// Two interfaces with different link types and resolutions, 4 packets.
struct TwoIfaceFile {
    Bytes bytes;
    std::vector<Pkt> expect;
};

TwoIfaceFile two_iface_file(bool be) {
    PcapngWriter w(be);
    CHECK(w.add_interface(linktype::ethernet, 9, 65535) == 0);  // ns
    CHECK(w.add_interface(linktype::raw, 6, 1500) == 1);        // us (the default: no option)
    TwoIfaceFile f;
    const Bytes a = payload(60, 1), b = payload(41, 2), c = payload(1, 3), d = payload(100, 4);
    w.add(0, kT0 + 123'456'789, a);
    w.add(1, kT0 + 1 * kNs + 654'321'000, b);
    w.add(0, kT0 + 2 * kNs + 1, c, 1514);           // wire length larger than captured
    w.add(1, kT0 + 3 * kNs + 999'999'000, d, 0, 64);  // snapped to 64 of 100
    f.bytes = w.bytes();
    f.expect = {{kT0 + 123'456'789, 60, 60, linktype::ethernet, a},
                {kT0 + 1 * kNs + 654'321'000, 41, 41, linktype::raw, b},
                {kT0 + 2 * kNs + 1, 1, 1514, linktype::ethernet, c},
                {kT0 + 3 * kNs + 999'999'000, 64, 100, linktype::raw, Bytes(d.begin(), d.begin() + 64)}};
    return f;
}

}  // namespace

TEST_CASE("pcapng reader: two interfaces with different link types and resolutions, both byte orders") {
    for (bool be : {false, true}) {
        CAPTURE(be);
        TwoIfaceFile f = two_iface_file(be);
        ReadResult r = read_all(f.bytes);
        check_packets(r.pkts, f.expect);
        const FileStats& s = r.stats;
        CHECK_FALSE(s.damage.has_value());
        CHECK(s.format == "pcapng");
        CHECK(s.link_types == std::set<int>{1, 101});
        CHECK(s.packets == 4);
        CHECK(s.bytes == 60 + 41 + 1 + 64);
        CHECK(s.wire_bytes == 60 + 41 + 1514 + 100);
        CHECK(s.first_ts_ns == kT0 + 123'456'789);
        CHECK(s.last_ts_ns == kT0 + 3 * kNs + 999'999'000);
        CHECK(s.snaplen == 65535);
        CHECK(s.file_size == f.bytes.size());
        CHECK(r.position == f.bytes.size());
    }
}

TEST_CASE("pcapng reader: position advances block by block") {
    TwoIfaceFile f = two_iface_file(false);
    TempFile tmp(f.bytes);
    auto r = open_pcapng_file(tmp.path);
    CHECK(r->position() == 28);  // just past the SHB
    PacketView p;
    uint64_t last = r->position();
    int n = 0;
    while (r->next(p)) {
        CHECK(r->position() > last);
        last = r->position();
        ++n;
    }
    CHECK(n == 4);
    CHECK(r->position() == f.bytes.size());
}

TEST_CASE("pcapng reader: several sections switching byte order; interface ids reset per section") {
    const Bytes a = payload(20, 10), b = payload(30, 20), c = payload(40, 30), d = payload(50, 40);
    PcapngWriter le(false);
    le.add_interface(linktype::ethernet, 6, 2000);
    le.add_interface(linktype::linux_sll, 9);
    le.add(0, kT0 + 5'000, a);
    le.add(1, kT0 + 6'001, b);
    PcapngWriter be(true);  // second section: big-endian, one interface
    be.add_interface(linktype::raw, 3);  // milliseconds
    be.add(0, kT0 + 7'000'000, c);
    PcapngWriter le2(false);  // third section: little-endian again
    le2.add_interface(linktype::null);
    le2.add_interface(linktype::ethernet, 0x80 | 10);  // 2^-10 s
    le2.add(1, kT0 + 8 * kNs, d);
    Bytes file = cat(le.bytes(), be.bytes(), le2.bytes());

    ReadResult r = read_all(file);
    check_packets(r.pkts, {{kT0 + 5'000, 20, 20, linktype::ethernet, a},
                           {kT0 + 6'001, 30, 30, linktype::linux_sll, b},
                           {kT0 + 7'000'000, 40, 40, linktype::raw, c},
                           {kT0 + 8 * kNs, 50, 50, linktype::ethernet, d}});
    CHECK_FALSE(r.stats.damage.has_value());
    CHECK(r.stats.link_types == std::set<int>{1, 101, 113});
    CHECK(r.stats.snaplen == 2000);  // of the file's first interface
    CHECK(r.position == file.size());

    SUBCASE("an interface id from an earlier section is unknown in the next one") {
        PcapngWriter be2(true);
        be2.add_interface(linktype::raw);
        be2.add(1, kT0, a);  // section has only interface 0
        Bytes bad = cat(le.bytes(), be2.bytes());
        ReadResult rb = read_all(bad);
        CHECK(rb.pkts.size() == 2);
        REQUIRE(rb.stats.damage.has_value());
        CHECK(rb.stats.damage->kind == "bad_block");
        CHECK(rb.stats.damage->packet == 3);
        CHECK(rb.stats.damage->offset == bad.size() - (12 + 20 + 20));  // the EPB
    }
}

TEST_CASE("pcapng reader: timestamp resolutions, if_tsoffset and overflow") {
    for (bool be : {false, true}) {
        CAPTURE(be);
        PcapngWriter w(be);
        // 0: default (us) with if_tsoffset; 1: 2^-20; 2: 10^-12 (ps); 3: 10^-0 (s);
        // 4: ns, used for saturation; 5: 10^-127 (everything rounds to 0);
        // 6: 2^-127; 7: us with a negative offset.
        w.add_block(1, idb_body(1, 0, be, -1, true, 1'000'000'000));
        w.add_block(1, idb_body(1, 0, be, 0x80 | 20));
        w.add_block(1, idb_body(1, 0, be, 12));
        w.add_block(1, idb_body(1, 0, be, 0));
        w.add_block(1, idb_body(1, 0, be, 9));
        w.add_block(1, idb_body(1, 0, be, 127));
        w.add_block(1, idb_body(1, 0, be, 0xFF));
        w.add_block(1, idb_body(1, 0, be, 6, true, -2'000'000'000));
        const Bytes x = payload(4, 0);
        const uint64_t max = std::numeric_limits<uint64_t>::max();
        w.add_block(6, epb_body(0, 1'700'000'000'123'456ULL, 4, 4, x, be));
        w.add_block(6, epb_body(1, (1'700'000'000ULL << 20) | (1u << 19), 4, 4, x, be));  // +0.5 s
        w.add_block(6, epb_body(2, 12'345'678'901'234'567ULL, 4, 4, x, be));            // ps
        w.add_block(6, epb_body(3, 1'700'000'000ULL, 4, 4, x, be));
        w.add_block(6, epb_body(4, max, 4, 4, x, be));
        w.add_block(6, epb_body(5, max, 4, 4, x, be));
        w.add_block(6, epb_body(6, max, 4, 4, x, be));
        w.add_block(6, epb_body(7, 1'000'000ULL, 4, 4, x, be));  // 1 s - 2e9 s
        w.add_block(6, epb_body(0, max, 4, 4, x, be));            // huge + offset: saturates

        ReadResult r = read_all(w.bytes());
        REQUIRE(r.pkts.size() == 9);
        CHECK_FALSE(r.stats.damage.has_value());
        CHECK(r.pkts[0].ts_ns == (1'700'000'000LL + 1'000'000'000LL) * kNs + 123'456'000);
        CHECK(r.pkts[1].ts_ns == 1'700'000'000LL * kNs + 500'000'000);
        CHECK(r.pkts[2].ts_ns == 12'345'678'901'234LL);
        CHECK(r.pkts[3].ts_ns == 1'700'000'000LL * kNs);
        CHECK(r.pkts[4].ts_ns == pcaplens::kMaxTimestampNs);  // clamped
        CHECK(r.pkts[5].ts_ns == 0);
        CHECK(r.pkts[6].ts_ns == 0);  // 2^64 * 1e9 / 2^127 < 1 ns
        CHECK(r.pkts[7].ts_ns == (1 - 2'000'000'000LL) * kNs);
        CHECK(r.pkts[8].ts_ns == pcaplens::kMaxTimestampNs);
    }
}

TEST_CASE("pcapng reader: simple packet blocks and obsolete packet blocks") {
    for (bool be : {false, true}) {
        CAPTURE(be);
        PcapngWriter w(be);
        w.add_interface(linktype::ethernet, 9, 64);  // snaplen 64
        const Bytes big = payload(64, 5), small = payload(10, 6), pkt = payload(33, 7);
        w.add(0, kT0 + 42, pkt);
        w.add_block(3, spb_body(100, big, be));   // orig 100, snapped to 64
        w.add_block(3, spb_body(10, small, be));  // block padded to 12 bytes of data
        w.add_block(3, spb_body(80, payload(20, 8), be));  // fewer bytes than snaplen: block wins
        w.add_block(2, pb_body(0, 1'700'000'001'000'000'000ULL, pkt, 99, be));
        ReadResult r = read_all(w.bytes());
        CHECK_FALSE(r.stats.damage.has_value());
        // SPBs have no timestamp: they carry the previous packet's.
        check_packets(r.pkts, {{kT0 + 42, 33, 33, 1, pkt},
                               {kT0 + 42, 64, 100, 1, big},
                               {kT0 + 42, 10, 10, 1, small},
                               {kT0 + 42, 20, 80, 1, payload(20, 8)},
                               {kT0 + kNs, 33, 99, 1, pkt}});
        CHECK(r.stats.bytes == 33 + 64 + 10 + 20 + 33);
        CHECK(r.stats.wire_bytes == 33 + 100 + 10 + 80 + 99);
    }

    SUBCASE("SPB with snaplen 0 (unlimited) and no interface") {
        PcapngWriter w;
        w.add_interface(linktype::ethernet, 6, 0);
        w.add_block(3, spb_body(1000, payload(40, 1), false));
        ReadResult r = read_all(w.bytes());
        REQUIRE(r.pkts.size() == 1);
        CHECK(r.pkts[0].caplen == 40);
        CHECK(r.pkts[0].wirelen == 1000);
        CHECK(r.pkts[0].ts_ns == 0);

        PcapngWriter none;
        none.add_block(3, spb_body(10, payload(10, 1), false));
        ReadResult rn = read_all(none.bytes());
        CHECK(rn.pkts.empty());
        REQUIRE(rn.stats.damage.has_value());
        CHECK(rn.stats.damage->kind == "bad_block");
        CHECK(rn.stats.damage->packet == 1);
        CHECK(rn.stats.damage->offset == 28);
    }
}

TEST_CASE("pcapng reader: other block types are skipped") {
    for (bool be : {false, true}) {
        CAPTURE(be);
        PcapngWriter w(be);
        Bytes nrb;
        put_u16(nrb, 1, be);  // nrb_record_ipv4
        put_u16(nrb, 9, be);
        put_bytes(nrb, Bytes{10, 0, 0, 1, 'h', 'o', 's', 't', 0});
        put_zeros(nrb, 3);
        put_u32(nrb, 0, be);  // nrb_record_end
        w.add_block(4, nrb);                     // NRB before any IDB
        w.add_block(0x00000BAD, payload(7, 1));  // custom block
        w.add_interface(linktype::ethernet);
        w.add_block(5, payload(20, 2));           // ISB
        w.add(0, kT0, payload(60, 3));
        w.add_block(0x0000000A, payload(16, 4));  // DSB
        w.add_block(0x40000BAD, {});              // custom, empty body
        w.add_block(0x12345678, payload(3, 5));   // unknown
        w.add_block(0x80000001, payload(8, 6));   // reserved/local use
        w.add(0, kT0 + 1, payload(61, 3));
        w.add_block(5, payload(20, 2));  // trailing ISB
        ReadResult r = read_all(w.bytes());
        CHECK(r.pkts.size() == 2);
        CHECK_FALSE(r.stats.damage.has_value());
        CHECK(r.position == w.bytes().size());
    }
}

TEST_CASE("pcapng reader: empty capture (headers only)") {
    PcapngWriter w;
    w.add_interface(linktype::ethernet, 6, 262144);
    ReadResult r = read_all(w.bytes());
    CHECK(r.pkts.empty());
    CHECK_FALSE(r.stats.damage.has_value());
    CHECK(r.stats.packets == 0);
    CHECK(r.stats.link_types.empty());  // link types of packets seen
    CHECK(r.stats.snaplen == 262144);
    CHECK(r.stats.first_ts_ns == 0);
}

TEST_CASE("pcapng reader: truncated file at every cut point") {
    for (bool be : {false, true}) {
        CAPTURE(be);
        PcapngWriter w(be);
        std::vector<size_t> ends;  // end offset of each block after the SHB
        std::vector<bool> is_packet;
        auto mark = [&](bool pkt) {
            ends.push_back(w.bytes().size());
            is_packet.push_back(pkt);
        };
        const size_t shb_end = w.bytes().size();
        w.add_interface(linktype::ethernet, 9);
        mark(false);
        w.add(0, kT0 + 1, payload(50, 1));
        mark(true);
        w.add_block(5, payload(12, 2));  // ISB
        mark(false);
        w.add(0, kT0 + 2, payload(23, 3));
        mark(true);
        w.new_section();
        mark(false);
        w.add_interface(linktype::raw, 6);
        mark(false);
        w.add(0, kT0 + 3'000, payload(70, 4));
        mark(true);
        const Bytes full = w.bytes();

        for (size_t cut = shb_end; cut <= full.size(); ++cut) {
            CAPTURE(cut);
            Bytes part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
            ReadResult r = read_all(part);
            uint64_t complete = 0;
            size_t start = shb_end;  // start of the block the cut falls in
            bool boundary = cut == shb_end;
            for (size_t i = 0; i < ends.size(); ++i) {
                if (ends[i] <= cut) {
                    if (is_packet[i]) ++complete;
                    start = ends[i];
                    if (ends[i] == cut) boundary = true;
                }
            }
            CHECK(r.pkts.size() == complete);
            CHECK(r.stats.packets == complete);
            if (boundary) {
                CHECK_FALSE(r.stats.damage.has_value());
                CHECK(r.position == cut);
            } else {
                REQUIRE(r.stats.damage.has_value());
                CHECK(r.stats.damage->kind == "truncated_record");
                CHECK(r.stats.damage->packet == complete + 1);
                CHECK(r.stats.damage->offset == start);
                CHECK_FALSE(r.stats.damage->message.empty());
                CHECK(r.position == start);
            }
        }
    }
}

TEST_CASE("pcapng reader: bad blocks") {
    for (bool be : {false, true}) {
        CAPTURE(be);
        PcapngWriter w(be);
        w.add_interface(linktype::ethernet);
        w.add(0, kT0, payload(40, 1));
        w.add(0, kT0 + 1000, payload(40, 2));
        const Bytes good = w.bytes();
        const uint64_t bad_at = good.size();

        auto expect_bad = [&](const Bytes& tail, const char* what) {
            CAPTURE(what);
            ReadResult r = read_all(cat(good, tail));
            CHECK(r.pkts.size() == 2);
            CHECK(r.stats.packets == 2);
            CHECK(r.stats.bytes == 80);
            REQUIRE(r.stats.damage.has_value());
            CHECK(r.stats.damage->kind == "bad_block");
            CHECK(r.stats.damage->packet == 3);
            CHECK(r.stats.damage->offset == bad_at);
            CHECK_FALSE(r.stats.damage->message.empty());
            CHECK(r.position == bad_at);
        };
        auto block = [&](uint32_t type, uint32_t len, const Bytes& body, uint32_t trailer) {
            Bytes b;
            put_u32(b, type, be);
            put_u32(b, len, be);
            put_bytes(b, body);
            put_u32(b, trailer, be);
            return b;
        };
        const Bytes body16 = payload(16, 9);
        expect_bad(block(5, 8, {}, 8), "total length < 12");
        expect_bad(block(5, 0, {}, 0), "total length 0");
        expect_bad(block(5, 30, body16, 30), "length not a multiple of 4");
        expect_bad(block(5, 28, body16, 32), "trailing length mismatch");
        expect_bad(block(5, 0xFFFFFFFC, body16, 28), "huge block");
        expect_bad(block(5, 17u * 1024 * 1024, body16, 28), "block over the size limit");
        expect_bad(block(6, 40, epb_body(7, 0, 8, 8, payload(8, 1), be), 40), "EPB with unknown interface id");
        expect_bad(block(6, 40, epb_body(0, 0, 9, 9, payload(8, 1), be), 40), "EPB caplen exceeds block");
        expect_bad(block(6, 40, epb_body(0, 0, 0xFFFFFFFF, 9, payload(8, 1), be), 40), "EPB caplen huge");
        expect_bad(block(6, 28, payload(16, 1), 28), "EPB too short");
        expect_bad(block(2, 40, pb_body(3, 0, payload(8, 1), 8, be), 40), "PB with unknown interface id");
        expect_bad(block(3, 12, {}, 12), "SPB too short");
        expect_bad(block(1, 16, payload(4, 1), 16), "IDB too short");
        expect_bad(shb_block(be, 0x11223344), "SHB with bad byte-order magic");
        Bytes v2 = shb_block(be);
        v2[be ? 13 : 12] = 2;  // major version 2
        expect_bad(v2, "SHB with unsupported version");
        Bytes short_shb = shb_block(be);
        for (int i = 0; i < 4; ++i) {
            short_shb[4 + i] = 0;
            short_shb[24 + i] = 0;
        }
        short_shb[be ? 7 : 4] = 24;
        short_shb[be ? 27 : 24] = 24;
        short_shb.erase(short_shb.begin() + 20, short_shb.begin() + 24);
        expect_bad(short_shb, "SHB shorter than 28 bytes");
    }

    SUBCASE("malformed IDB options are ignored") {
        PcapngWriter w;
        Bytes idb;
        put_le16(idb, 1);
        put_le16(idb, 0);
        put_le32(idb, 100);
        put_le16(idb, 9);     // if_tsresol ...
        put_le16(idb, 4000);  // ... claiming more bytes than the block has
        put_zeros(idb, 4);
        w.add_block(1, idb);
        w.add(0, kT0 + 7'000, payload(10, 1));
        ReadResult r = read_all(w.bytes());
        REQUIRE(r.pkts.size() == 1);
        CHECK(r.pkts[0].ts_ns == kT0 + 7'000);  // default microseconds kept
        CHECK_FALSE(r.stats.damage.has_value());
    }
}

TEST_CASE("pcapng reader: files that are not pcapng are rejected at open") {
    auto rejects = [](const Bytes& b, const char* what) {
        CAPTURE(what);
        TempFile tmp(b);
        CHECK_THROWS_AS(open_pcapng_file(tmp.path), InputError);
    };
    PcapWriter pcap(linktype::ethernet);
    pcap.add(kT0, payload(60, 1));
    rejects(pcap.bytes(), "classic pcap");
    rejects({}, "empty file");
    rejects({0x0A, 0x0D, 0x0D, 0x0A, 28, 0, 0}, "truncated first SHB header");
    Bytes shb = shb_block(false);
    rejects(Bytes(shb.begin(), shb.begin() + 20), "truncated first SHB body");
    rejects(shb_block(false, 0xDEADBEEF), "first SHB with bad byte-order magic");
    Bytes bad_trailer = shb_block(true);
    bad_trailer.back() = 0;
    rejects(bad_trailer, "first SHB with bad trailing length");
    Bytes idb_first;
    put_le32(idb_first, 1);
    put_le32(idb_first, 20);
    put_le32(idb_first, 1);
    put_le32(idb_first, 0);
    put_le32(idb_first, 20);
    rejects(idb_first, "IDB first");

    TempFile tmp(pcap.bytes());
    try {
        open_pcapng_file(tmp.path);
        FAIL("expected InputError");
    } catch (const InputError& e) {
        CHECK(std::string(e.what()).find("not a pcapng file") != std::string::npos);
    }
    CHECK_THROWS_AS(open_pcapng_file("/nonexistent/dir/x.pcapng"), InputError);

    // A bare SHB is a valid (empty) file.
    ReadResult r = read_all(shb_block(true));
    CHECK(r.pkts.empty());
    CHECK_FALSE(r.stats.damage.has_value());
    CHECK(r.stats.snaplen == 0);
}

TEST_CASE("pcapng reader: blocks straddling mapped windows, and a window smaller than a block") {
    PcapngWriter w(false);
    w.add_interface(linktype::ethernet, 9);
    std::vector<Bytes> sent;
    for (int i = 0; i < 300; ++i) {
        sent.push_back(payload(i == 150 ? 9000 : static_cast<size_t>(100 + (i * 37) % 1400), static_cast<uint8_t>(i)));
        w.add(0, kT0 + i, sent.back());
        if (i % 50 == 7) w.add_block(5, payload(12, 2));   // an ISB between packets ends a batch
    }
    const ReadResult r = read_all(w.bytes());   // also one-page windows in batches, and stdio
    REQUIRE(r.pkts.size() == sent.size());
    for (size_t i = 0; i < sent.size(); ++i) CHECK(r.pkts[i].data == sent[i]);
    CHECK_FALSE(r.stats.damage.has_value());
    CHECK(r.position == w.bytes().size());
}

TEST_CASE("pcapng reader: a mapped file that shrinks while it is read is damage from its new end, never a crash") {
    PcapngWriter w(false);
    w.add_interface(linktype::ethernet, 9);
    std::vector<uint64_t> block_end;   // file offset just past each packet block
    for (int i = 0; i < 400; ++i) {
        w.add(0, kT0 + i, payload(1000, static_cast<uint8_t>(i)));
        block_end.push_back(w.bytes().size());
    }
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    for (bool batched : {true, false}) {
        for (int where : {0, 1, 2}) {   // at a page boundary, inside a block, to nothing
            CAPTURE(batched);
            CAPTURE(where);
            TempFile tmp(w.bytes());
            auto r = open_pcapng_file(tmp.path, kPcapMapWindow);   // the whole file in one window
            std::vector<PacketView> views(16);
            size_t got = 0;
            auto read_on = [&](size_t limit, size_t exact) {
                while (got < limit) {
                    const size_t n = batched ? r->next_batch(views.data(), std::min<size_t>(views.size(), limit - got))
                                             : (r->next(views[0]) ? 1 : 0);
                    if (n == 0) break;
                    for (size_t k = 0; k < n; ++k, ++got) {
                        REQUIRE(views[k].caplen == 1000u);
                        if (got < exact) CHECK(Bytes(views[k].data, views[k].data + 1000) == payload(1000, static_cast<uint8_t>(got)));
                    }
                }
            };
            read_on(50, SIZE_MAX);
            REQUIRE(got == 50);
            const uint64_t cut = where == 0 ? block_end[200] / page * page : where == 1 ? block_end[200] + 500 : 0;
            std::filesystem::resize_file(tmp.path, cut);
            size_t whole = 0;
            while (whole < block_end.size() && block_end[whole] <= cut) ++whole;
            read_on(SIZE_MAX, whole);
            const auto& damage = r->stats().damage;
            REQUIRE(damage.has_value());
            CHECK(damage->kind == "truncated_record");
            CHECK(damage->message.find("the file shrank to " + std::to_string(cut) + " bytes while it was being read") !=
                  std::string::npos);
            // A block is used only once its trailer (its last bytes) read
            // right: every block wholly before the cut, and no other.
            CHECK(got == std::max<size_t>(whole, 50));
            CHECK(r->stats().packets == got);
        }
    }
}

TEST_CASE("pcapng reader: more files open at once than there are window slots read through stdio") {
    // 256 windows can be live (the SIGBUS handler's table); a reader that
    // finds none free reads its file through stdio from where it was.
    PcapngWriter w(false);
    w.add_interface(linktype::ethernet, 9);
    std::vector<Bytes> sent;
    for (int i = 0; i < 20; ++i) {
        sent.push_back(payload(static_cast<size_t>(100 + i * 50), static_cast<uint8_t>(i)));
        w.add(0, kT0 + i, sent.back());
    }
    TempFile tmp(w.bytes());
    std::vector<std::unique_ptr<FileReader>> readers;
    PacketView p;
    for (int i = 0; i < 300; ++i) {   // all open at once
        readers.push_back(open_pcapng_file(tmp.path, kPcapMapWindow));
        REQUIRE(readers.back()->next(p));
        CHECK(Bytes(p.data, p.data + p.caplen) == sent[0]);
    }
    for (auto& r : readers) {
        for (size_t i = 1; i < sent.size(); ++i) {
            REQUIRE(r->next(p));
            CHECK(Bytes(p.data, p.data + p.caplen) == sent[i]);
        }
        CHECK_FALSE(r->next(p));
        CHECK_FALSE(r->stats().damage.has_value());
        CHECK(r->position() == w.bytes().size());
    }
}
