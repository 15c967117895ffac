// Capture reading (src/capture/libpcap_file.cpp, merged_source.cpp,
// bpf_filter.cpp, and pcapng through open_capture_file): files written with
// PcapWriter/PcapngWriter to a temporary directory and read back; exact
// timestamps and lengths, damage reporting with packet number and offset,
// merging, BPF filtering with frame numbers, and error types.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "pcaplens/capture/source.hpp"
#include "pcaplens/decode/decoder.hpp"
#include "support/packet_writer.hpp"

using namespace pcaplens;
namespace tw = pcaplens::testing;
using tw::Bytes;

namespace {

constexpr int64_t kNs = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000LL * kNs + 123'456'789;  // 2023-11-14, odd fraction
constexpr size_t kPcapHeader = 24, kRecordHeader = 16;

// A directory under the system temp dir, removed with everything in it.
struct TempDir {
    std::filesystem::path dir;
    TempDir() {
        static int counter = 0;
        dir = std::filesystem::temp_directory_path() /
              ("pcaplens_capture_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string write(const std::string& name, const Bytes& content) const {
        const std::string p = (dir / name).string();
        std::ofstream f(p, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
        REQUIRE(f.good());
        return p;
    }
};

struct Pkt {
    int64_t ts_ns = 0;
    uint32_t caplen = 0, wirelen = 0;
    int linktype = 0;
    Bytes data;
    uint64_t frame = 0;
    uint32_t file_index = 0;
};

Pkt copy(const PacketView& v) {
    Pkt p;
    p.ts_ns = v.ts_ns;
    p.caplen = v.caplen;
    p.wirelen = v.wirelen;
    p.linktype = v.linktype;
    p.data.assign(v.data, v.data + v.caplen);
    p.frame = v.frame;
    p.file_index = v.file_index;
    return p;
}

struct FileRead {
    std::vector<Pkt> pkts;
    FileStats stats;
    uint64_t position = 0;
};

FileRead read_file(const std::string& path) {
    auto r = open_capture_file(path);
    FileRead res;
    PacketView v;
    while (r->next(v)) {
        res.pkts.push_back(copy(v));
        REQUIRE(res.pkts.size() < 100000u);
    }
    CHECK_FALSE(r->next(v));  // stays at the end
    res.stats = r->stats();
    res.position = r->position();
    return res;
}

struct SourceRead {
    std::vector<Pkt> pkts;
    std::vector<FileStats> stats;
    uint64_t seen = 0, filtered = 0, bytes_read = 0, bytes_total = 0;
};

// batch 0: packet by packet (next); otherwise next_batch(batch), copying a
// batch only once it is complete (every view of it must still be valid).
SourceRead read_source(const std::vector<std::string>& paths, const std::string& bpf = "", size_t batch = 0) {
    MergedFileSource src(paths, bpf);
    SourceRead res;
    PacketView v;
    if (batch == 0) {
        while (src.next(v)) {
            res.pkts.push_back(copy(v));
            REQUIRE(res.pkts.size() < 100000u);
        }
    } else {
        std::vector<PacketView> views(batch);
        while (size_t n = src.next_batch(views.data(), batch)) {
            REQUIRE(n <= batch);
            for (size_t i = 0; i < n; ++i) res.pkts.push_back(copy(views[i]));
            REQUIRE(res.pkts.size() < 100000u);
        }
        CHECK(src.next_batch(views.data(), batch) == 0u);
    }
    CHECK_FALSE(src.next(v));
    res.stats = src.file_stats();
    res.seen = src.packets_seen();
    res.filtered = src.packets_filtered_out();
    res.bytes_read = src.bytes_read();
    res.bytes_total = src.bytes_total();
    return res;
}

// Distinct, decodable frames.
Bytes frame_n(int n, size_t payload = 10) {
    return tw::eth_ipv4_tcp("10.0.0.1", static_cast<uint16_t>(40000 + n), "10.0.0.2", 80, static_cast<uint32_t>(n), 0,
                            tcpflag::ACK, Bytes(payload, static_cast<uint8_t>(n)));
}

int64_t usec_floor(int64_t ts) { return ts / 1000 * 1000; }

}  // namespace

TEST_CASE("capture: microsecond and nanosecond pcaps in both byte orders") {
    TempDir tmp;
    const std::vector<int64_t> ts = {kT0, kT0 + kNs + 1, kT0 + 5 * kNs + 999'999'999, 999,
                                     4'000'000'000LL * kNs + 7'654'321};
    for (bool nano : {false, true}) {
        for (bool be : {false, true}) {
            CAPTURE(nano);
            CAPTURE(be);
            tw::PcapWriter w(tw::linktype::ethernet, nano, be, 65535);
            std::vector<Bytes> frames;
            for (size_t i = 0; i < ts.size(); ++i) {
                frames.push_back(frame_n(static_cast<int>(i), 10 + i));
                w.add(ts[i], frames.back());
            }
            const std::string path = tmp.write(std::string("ts_") + (nano ? "ns" : "us") + (be ? "_be" : "_le") + ".pcap",
                                               w.bytes());
            const FileRead r = read_file(path);
            REQUIRE(r.pkts.size() == ts.size());
            uint64_t bytes = 0;
            for (size_t i = 0; i < ts.size(); ++i) {
                CAPTURE(i);
                CHECK(r.pkts[i].ts_ns == (nano ? ts[i] : usec_floor(ts[i])));
                CHECK(r.pkts[i].caplen == frames[i].size());
                CHECK(r.pkts[i].wirelen == frames[i].size());
                CHECK(r.pkts[i].linktype == 1);
                CHECK(r.pkts[i].data == frames[i]);
                bytes += frames[i].size();
            }
            CHECK(r.stats.format == (nano ? "pcap-ns" : "pcap"));
            CHECK(r.stats.path == path);
            CHECK(r.stats.packets == ts.size());
            CHECK(r.stats.bytes == bytes);
            CHECK(r.stats.wire_bytes == bytes);
            CHECK(r.stats.first_ts_ns == (nano ? ts.front() : usec_floor(ts.front())));
            CHECK(r.stats.last_ts_ns == (nano ? ts.back() : usec_floor(ts.back())));
            CHECK(r.stats.snaplen == 65535u);
            CHECK(r.stats.link_types == std::set<int>{1});
            CHECK(r.stats.file_size == w.bytes().size());
            CHECK_FALSE(r.stats.damage.has_value());
            CHECK(r.position == w.bytes().size());
        }
    }
}

TEST_CASE("capture: caplen and wirelen are preserved") {
    TempDir tmp;
    tw::PcapWriter w(tw::linktype::ethernet);
    const Bytes big = frame_n(1, 1460);
    const Bytes small = frame_n(2, 6);
    w.add(kT0, big, 0, 96);         // snaplen cut
    w.add(kT0 + 1000, small, 1000);  // header says more than the frame
    w.add(kT0 + 2000, small);
    const FileRead r = read_file(tmp.write("lens.pcap", w.bytes()));
    REQUIRE(r.pkts.size() == 3u);
    CHECK(r.pkts[0].caplen == 96u);
    CHECK(r.pkts[0].wirelen == big.size());
    CHECK(r.pkts[0].data == Bytes(big.begin(), big.begin() + 96));
    CHECK(r.pkts[1].caplen == small.size());
    CHECK(r.pkts[1].wirelen == 1000u);
    CHECK(r.pkts[2].caplen == small.size());
    CHECK(r.pkts[2].wirelen == small.size());
    CHECK(r.stats.bytes == 96u + 2 * small.size());
    CHECK(r.stats.wire_bytes == big.size() + 1000u + small.size());

    // The decoder sees the cut: payload from the wire, captured part from the file.
    Decoder dec;
    DecodedPacket d;
    PacketView v;
    v.linktype = r.pkts[0].linktype;
    v.data = r.pkts[0].data.data();
    v.caplen = r.pkts[0].caplen;
    v.wirelen = r.pkts[0].wirelen;
    dec.decode(v, d);
    REQUIRE(d.proto == L4Proto::tcp);
    CHECK(d.truncated);
    CHECK(d.tcp.payload_len == 1460u);
    CHECK(d.tcp.captured_len == 96u - 54u);
}

TEST_CASE("capture: file truncated inside the last record") {
    TempDir tmp;
    for (bool nano : {false, true}) {
        for (bool be : {false, true}) {
            CAPTURE(nano);
            CAPTURE(be);
            tw::PcapWriter w(tw::linktype::ethernet, nano, be);
            const Bytes last = frame_n(3, 50);
            w.add(kT0, frame_n(1));
            w.add(kT0 + kNs, frame_n(2));
            w.add(kT0 + 2 * kNs, last);
            const Bytes& all = w.bytes();
            const size_t start = all.size() - kRecordHeader - last.size();
            REQUIRE(start == kPcapHeader + 2 * (kRecordHeader + frame_n(1).size()));

            // Cut exactly at the record boundary: a clean, shorter file.
            {
                const FileRead r = read_file(tmp.write("cut_clean.pcap", Bytes(all.begin(), all.begin() + static_cast<long>(start))));
                CHECK(r.pkts.size() == 2u);
                CHECK_FALSE(r.stats.damage.has_value());
            }
            for (size_t cut : {size_t{1}, size_t{4}, size_t{8}, size_t{15}, size_t{16}, size_t{17}, size_t{40},
                               kRecordHeader + last.size() - 1}) {
                CAPTURE(cut);
                const Bytes part(all.begin(), all.begin() + static_cast<long>(start + cut));
                const FileRead r = read_file(tmp.write("cut.pcap", part));
                REQUIRE(r.pkts.size() == 2u);
                CHECK(r.pkts[0].data == frame_n(1));
                CHECK(r.pkts[1].data == frame_n(2));
                CHECK(r.pkts[1].ts_ns == kT0 + kNs - (nano ? 0 : 789));
                REQUIRE(r.stats.damage.has_value());
                CHECK(r.stats.damage->kind == "truncated_record");
                CHECK(r.stats.damage->packet == 3u);
                CHECK(r.stats.damage->offset == start);
                CHECK_FALSE(r.stats.damage->message.empty());
                CHECK(r.stats.packets == 2u);
            }
        }
    }
    // Truncated inside the very first record.
    tw::PcapWriter w(tw::linktype::ethernet);
    w.add(kT0, frame_n(1));
    const FileRead r = read_file(tmp.write("first.pcap", Bytes(w.bytes().begin(), w.bytes().begin() + 30)));
    CHECK(r.pkts.empty());
    REQUIRE(r.stats.damage.has_value());
    CHECK(r.stats.damage->kind == "truncated_record");
    CHECK(r.stats.damage->packet == 1u);
    CHECK(r.stats.damage->offset == kPcapHeader);
}

TEST_CASE("capture: corrupt record header") {
    TempDir tmp;
    for (bool be : {false, true}) {
        CAPTURE(be);
        tw::PcapWriter w(tw::linktype::ethernet, false, be);
        w.add(kT0, frame_n(1));
        w.add(kT0 + 1000, frame_n(2));
        const size_t start = w.bytes().size();
        w.add_record_raw(1'700'000'002, 0, 0xFFFFFF00u, 60, frame_n(3));
        w.add(kT0 + 3000, frame_n(4));  // never reached
        const FileRead r = read_file(tmp.write("corrupt.pcap", w.bytes()));
        REQUIRE(r.pkts.size() == 2u);
        CHECK(r.pkts[1].data == frame_n(2));
        REQUIRE(r.stats.damage.has_value());
        CHECK(r.stats.damage->kind == "bad_record_header");
        CHECK(r.stats.damage->packet == 3u);
        CHECK(r.stats.damage->offset == start);
        CHECK_FALSE(r.stats.damage->message.empty());
    }
}

TEST_CASE("capture: garbage after valid records") {
    TempDir tmp;
    tw::PcapWriter w(tw::linktype::ethernet);
    for (int i = 0; i < 4; ++i) w.add(kT0 + i * 1000, frame_n(i));
    const size_t good = w.bytes().size();

    SUBCASE("a few bytes: shorter than a record header") {
        Bytes b = w.bytes();
        for (uint8_t c : {0x13, 0x37, 0x42, 0x99, 0x01}) b.push_back(c);
        const FileRead r = read_file(tmp.write("garbage_short.pcap", b));
        CHECK(r.pkts.size() == 4u);
        REQUIRE(r.stats.damage.has_value());
        CHECK(r.stats.damage->kind == "truncated_record");
        CHECK(r.stats.damage->packet == 5u);
        CHECK(r.stats.damage->offset == good);
    }
    SUBCASE("a long run of junk") {
        Bytes b = w.bytes();
        b.insert(b.end(), 300, 0xEE);
        const FileRead r = read_file(tmp.write("garbage_long.pcap", b));
        CHECK(r.pkts.size() == 4u);
        CHECK(r.pkts[3].data == frame_n(3));
        REQUIRE(r.stats.damage.has_value());
        CHECK(r.stats.damage->kind == "bad_record_header");
        CHECK(r.stats.damage->packet == 5u);
        CHECK(r.stats.damage->offset == good);
    }
}

TEST_CASE("capture: files that are not captures") {
    TempDir tmp;
    const std::string text = tmp.write("notes.txt", tw::to_bytes("this is certainly not a capture file\n"));
    CHECK_THROWS_AS(open_capture_file(text), InputError);
    CHECK_THROWS_AS(MergedFileSource({text}, ""), InputError);

    const std::string empty = tmp.write("empty.pcap", Bytes{});
    CHECK_THROWS_AS(open_capture_file(empty), InputError);

    const std::string three = tmp.write("three.pcap", Bytes{0xD4, 0xC3, 0xB2});
    CHECK_THROWS_AS(open_capture_file(three), InputError);

    // A pcap header cut short.
    tw::PcapWriter w(tw::linktype::ethernet);
    const std::string cut = tmp.write("cut_header.pcap", Bytes(w.bytes().begin(), w.bytes().begin() + 12));
    CHECK_THROWS_AS(open_capture_file(cut), InputError);

    CHECK_THROWS_AS(open_capture_file((tmp.dir / "does_not_exist.pcap").string()), InputError);

    // A pcapng magic followed by junk.
    const std::string ng = tmp.write("bad.pcapng", Bytes{0x0A, 0x0D, 0x0D, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    CHECK_THROWS_AS(open_capture_file(ng), InputError);
}

TEST_CASE("capture: a capture with no packets") {
    TempDir tmp;
    tw::PcapWriter w(tw::linktype::linux_sll);
    const FileRead r = read_file(tmp.write("header_only.pcap", w.bytes()));
    CHECK(r.pkts.empty());
    CHECK_FALSE(r.stats.damage.has_value());
    CHECK(r.stats.packets == 0u);
    CHECK(r.stats.file_size == kPcapHeader);

    const SourceRead s = read_source({tmp.write("header_only2.pcap", w.bytes())}, "tcp");
    CHECK(s.pkts.empty());
    CHECK(s.seen == 0u);
}

TEST_CASE("capture: raw IP pcap reports DLT_RAW and decodes") {
    TempDir tmp;
    tw::PcapWriter w(tw::linktype::raw, true);
    const Bytes ip = tw::ipv6_tcp("2001:db8::1", 1, "2001:db8::2", 2, 3, 4, tcpflag::SYN);
    w.add(kT0, ip);
    const FileRead r = read_file(tmp.write("raw.pcap", w.bytes()));
    REQUIRE(r.pkts.size() == 1u);
    CHECK(r.pkts[0].linktype == 12);  // libpcap maps LINKTYPE_RAW 101 to DLT_RAW
    CHECK(r.stats.link_types == std::set<int>{12});
    Decoder dec;
    DecodedPacket d;
    PacketView v;
    v.linktype = r.pkts[0].linktype;
    v.data = r.pkts[0].data.data();
    v.caplen = v.wirelen = r.pkts[0].caplen;
    dec.decode(v, d);
    CHECK(d.proto == L4Proto::tcp);
    CHECK(d.tcp.flags == tcpflag::SYN);
}

TEST_CASE("capture: merged files are time-ordered with frame numbers in merged order") {
    TempDir tmp;
    // Three files, three formats, interleaved; a tie between files 0 and 2
    // keeps file order.
    tw::PcapWriter a(tw::linktype::ethernet);            // usec
    tw::PcapWriter b(tw::linktype::ethernet, true, true);  // nsec, big-endian
    tw::PcapngWriter c;
    const uint32_t ci = c.add_interface(tw::linktype::ethernet, 9);
    struct Exp {
        int64_t ts;
        uint32_t file;
        int id;
    };
    std::vector<Exp> exp;
    // ts in microseconds so all three resolutions agree.
    const int64_t us = 1000;
    for (int i = 0; i < 5; ++i) {
        const int64_t ta = kT0 / us * us + (3 * i + 0) * us;
        const int64_t tb = kT0 / us * us + (3 * i + 1) * us;
        const int64_t tc = kT0 / us * us + (3 * i + 2) * us;
        a.add(ta, frame_n(100 + i));
        b.add(tb, frame_n(200 + i));
        c.add(ci, tc, frame_n(300 + i));
    }
    const int64_t tie = kT0 / us * us + 100 * us;
    a.add(tie, frame_n(105));
    c.add(ci, tie, frame_n(305));
    b.add(tie + us, frame_n(205));
    const std::string pa = tmp.write("a.pcap", a.bytes());
    const std::string pb = tmp.write("b.pcap", b.bytes());
    const std::string pc = tmp.write("c.pcapng", c.bytes());

    const SourceRead s = read_source({pa, pb, pc});
    REQUIRE(s.pkts.size() == 18u);
    for (size_t i = 0; i < s.pkts.size(); ++i) {
        CAPTURE(i);
        CHECK(s.pkts[i].frame == i + 1);
        if (i > 0) CHECK(s.pkts[i].ts_ns >= s.pkts[i - 1].ts_ns);
    }
    for (int i = 0; i < 5; ++i) {
        CHECK(s.pkts[3 * i].file_index == 0u);
        CHECK(s.pkts[3 * i].data == frame_n(100 + i));
        CHECK(s.pkts[3 * i + 1].file_index == 1u);
        CHECK(s.pkts[3 * i + 1].data == frame_n(200 + i));
        CHECK(s.pkts[3 * i + 2].file_index == 2u);
        CHECK(s.pkts[3 * i + 2].data == frame_n(300 + i));
        CHECK(s.pkts[3 * i].ts_ns == kT0 / us * us + 3 * i * us);
    }
    // Tie: the later file first, as mergecap (Wireshark 4.0.17 here:
    // `mergecap a b` puts b's packet before a's at the same time), so frame
    // numbers match Wireshark's on the merged file.
    CHECK(s.pkts[15].file_index == 2u);
    CHECK(s.pkts[16].file_index == 0u);
    CHECK(s.pkts[17].file_index == 1u);
    CHECK(s.pkts[15].ts_ns == tie);
    CHECK(s.pkts[16].ts_ns == tie);

    REQUIRE(s.stats.size() == 3u);
    CHECK(s.stats[0].path == pa);
    CHECK(s.stats[0].format == "pcap");
    CHECK(s.stats[0].packets == 6u);
    CHECK(s.stats[1].format == "pcap-ns");
    CHECK(s.stats[1].packets == 6u);
    CHECK(s.stats[1].last_ts_ns == tie + us);
    CHECK(s.stats[2].format == "pcapng");
    CHECK(s.stats[2].packets == 6u);
    CHECK(s.stats[2].first_ts_ns == kT0 / us * us + 2 * us);
    CHECK(s.seen == 18u);
    CHECK(s.filtered == 0u);
    CHECK(s.bytes_total == a.bytes().size() + b.bytes().size() + c.bytes().size());
    CHECK(s.bytes_read == s.bytes_total);
}

TEST_CASE("capture: a damaged file stops at the damage, the others go on") {
    TempDir tmp;
    tw::PcapWriter a(tw::linktype::ethernet);
    tw::PcapWriter b(tw::linktype::ethernet);
    for (int i = 0; i < 4; ++i) {
        a.add(kT0 + (2 * i) * kNs, frame_n(i));
        b.add(kT0 + (2 * i + 1) * kNs, frame_n(10 + i));
    }
    const size_t rec = kRecordHeader + frame_n(0).size();
    const Bytes acut(a.bytes().begin(), a.bytes().begin() + static_cast<long>(kPcapHeader + 2 * rec + 5));
    const SourceRead s = read_source({tmp.write("a.pcap", acut), tmp.write("b.pcap", b.bytes())});
    REQUIRE(s.pkts.size() == 6u);
    CHECK(s.pkts[0].data == frame_n(0));
    CHECK(s.pkts[1].data == frame_n(10));
    CHECK(s.pkts[2].data == frame_n(1));
    CHECK(s.pkts[3].data == frame_n(11));
    CHECK(s.pkts[4].data == frame_n(12));
    CHECK(s.pkts[5].data == frame_n(13));
    CHECK(s.pkts[5].frame == 6u);
    REQUIRE(s.stats[0].damage.has_value());
    CHECK(s.stats[0].damage->kind == "truncated_record");
    CHECK(s.stats[0].damage->packet == 3u);
    CHECK(s.stats[0].damage->offset == kPcapHeader + 2 * rec);
    CHECK_FALSE(s.stats[1].damage.has_value());
}

TEST_CASE("capture: BPF filter drops packets but frame numbers still count them") {
    TempDir tmp;
    const auto a4 = tw::ipv4_addr("10.0.0.1"), b4 = tw::ipv4_addr("10.0.0.2");
    tw::Ipv4Spec us;
    us.proto = tw::ipproto::udp;
    us.src = a4;
    us.dst = b4;
    std::vector<Bytes> frames = {
        tw::eth_ipv4_tcp("10.0.0.1", 5000, "10.0.0.2", 80, 1, 0, tcpflag::SYN),                      // 1 match
        tw::ethernet(tw::kServerMac, tw::kClientMac, 0x0800, tw::ipv4(us, tw::udp_datagram(5000, 80, {}, a4, b4))),  // 2 udp
        tw::eth_ipv4_tcp("10.0.0.1", 5001, "10.0.0.2", 443, 1, 0, tcpflag::SYN),                     // 3 other port
        tw::eth_ipv4_tcp("10.0.0.2", 80, "10.0.0.1", 5000, 1, 2, tcpflag::SYN | tcpflag::ACK),       // 4 match (sport)
        tw::ethernet(tw::kServerMac, tw::kClientMac, 0x0806, Bytes(28, 1)),                           // 5 arp
        tw::eth_ipv6_tcp("2001:db8::1", 6000, "2001:db8::2", 80, 1, 0, tcpflag::SYN),                // 6 match (v6)
    };
    tw::PcapWriter w(tw::linktype::ethernet);
    for (size_t i = 0; i < frames.size(); ++i) w.add(kT0 + static_cast<int64_t>(i) * 1000, frames[i]);
    const std::string path = tmp.write("mixed.pcap", w.bytes());

    const SourceRead s = read_source({path}, "tcp port 80");
    REQUIRE(s.pkts.size() == 3u);
    CHECK(s.pkts[0].frame == 1u);
    CHECK(s.pkts[0].data == frames[0]);
    CHECK(s.pkts[1].frame == 4u);
    CHECK(s.pkts[1].data == frames[3]);
    CHECK(s.pkts[2].frame == 6u);
    CHECK(s.pkts[2].data == frames[5]);
    CHECK(s.seen == 6u);
    CHECK(s.filtered == 3u);
    REQUIRE(s.stats.size() == 1u);
    CHECK(s.stats[0].packets == 6u);  // the file read them all

    const SourceRead none = read_source({path}, "");
    CHECK(none.pkts.size() == 6u);
    CHECK(none.filtered == 0u);

    const SourceRead arp = read_source({path}, "arp");
    REQUIRE(arp.pkts.size() == 1u);
    CHECK(arp.pkts[0].frame == 5u);
    CHECK(arp.filtered == 5u);

    // Direct use of the filter.
    BpfFilter f("udp", 1);
    PacketView v;
    v.linktype = 1;
    v.data = frames[1].data();
    v.caplen = v.wirelen = static_cast<uint32_t>(frames[1].size());
    CHECK(f.matches(v));
    v.data = frames[0].data();
    v.caplen = v.wirelen = static_cast<uint32_t>(frames[0].size());
    CHECK_FALSE(f.matches(v));
}

TEST_CASE("capture: BPF filter per link type across merged files") {
    TempDir tmp;
    const Bytes ip80 = tw::ipv4_tcp("10.0.0.1", 5000, "10.0.0.2", 80, 1, 0, tcpflag::SYN);
    const Bytes ip22 = tw::ipv4_tcp("10.0.0.1", 5000, "10.0.0.2", 22, 1, 0, tcpflag::SYN);
    tw::PcapWriter eth(tw::linktype::ethernet);
    eth.add(kT0 + 0, tw::ethernet(tw::kServerMac, tw::kClientMac, 0x0800, ip80));
    eth.add(kT0 + 3000, tw::ethernet(tw::kServerMac, tw::kClientMac, 0x0800, ip22));
    tw::PcapWriter raw(tw::linktype::raw);
    raw.add(kT0 + 1000, ip22);
    raw.add(kT0 + 4000, ip80);
    tw::PcapWriter sll(tw::linktype::linux_sll);
    sll.add(kT0 + 2000, tw::linux_sll(0, 0x0800, ip80));
    // pcapng keeps LINKTYPE_RAW (101) as written.
    tw::PcapngWriter ng;
    const uint32_t i_raw = ng.add_interface(tw::linktype::raw);
    ng.add(i_raw, kT0 + 5000, ip80);
    ng.add(i_raw, kT0 + 6000, ip22);

    const SourceRead s = read_source({tmp.write("e.pcap", eth.bytes()), tmp.write("r.pcap", raw.bytes()),
                                      tmp.write("s.pcap", sll.bytes()), tmp.write("n.pcapng", ng.bytes())},
                                     "tcp port 80");
    REQUIRE(s.pkts.size() == 4u);
    CHECK(s.pkts[0].frame == 1u);
    CHECK(s.pkts[0].linktype == 1);
    CHECK(s.pkts[1].frame == 3u);
    CHECK(s.pkts[1].linktype == 113);
    CHECK(s.pkts[2].frame == 5u);
    CHECK(s.pkts[2].linktype == 12);
    CHECK(s.pkts[3].frame == 6u);
    CHECK(s.pkts[3].linktype == 101);
    CHECK(s.seen == 7u);
    CHECK(s.filtered == 3u);
}

TEST_CASE("capture: bad BPF expressions are usage errors") {
    TempDir tmp;
    tw::PcapWriter w(tw::linktype::ethernet);
    w.add(kT0, frame_n(1));
    const std::string path = tmp.write("one.pcap", w.bytes());
    CHECK_THROWS_AS(MergedFileSource({path}, "tcp port"), UsageError);
    CHECK_THROWS_AS(MergedFileSource({path}, "not a (( filter"), UsageError);
    CHECK_THROWS_AS(MergedFileSource({path}, "port 99999999"), UsageError);
    CHECK_THROWS_AS(BpfFilter("host", 1), UsageError);
    // Also when no packet would ever reach the filter.
    tw::PcapWriter e(tw::linktype::ethernet);
    CHECK_THROWS_AS(MergedFileSource({tmp.write("empty.pcap", e.bytes())}, "tcp port"), UsageError);
    CHECK_THROWS_AS(MergedFileSource({}, "tcp port"), UsageError);
    try {
        BpfFilter f("tcp port", 1);
        FAIL("no exception");
    } catch (const UsageError& err) {
        CHECK(std::string(err.what()).find("tcp port") != std::string::npos);
    }
    CHECK_NOTHROW(MergedFileSource({path}, "tcp port 80"));
}

TEST_CASE("capture: pcapng with Ethernet and raw IP interfaces") {
    TempDir tmp;
    tw::PcapngWriter w;
    const uint32_t ie = w.add_interface(tw::linktype::ethernet);      // usec
    const uint32_t ir = w.add_interface(tw::linktype::raw, 9);        // nsec
    const Bytes ip4 = tw::ipv4_tcp("192.0.2.1", 1111, "192.0.2.2", 80, 10, 0, tcpflag::SYN);
    const Bytes ip6 = tw::ipv6_tcp("2001:db8::1", 2222, "2001:db8::2", 443, 20, 0, tcpflag::SYN);
    const Bytes e4 = tw::ethernet(tw::kServerMac, tw::kClientMac, 0x0800, ip4);
    w.add(ie, kT0, e4);
    w.add(ir, kT0 + 1, ip6);
    w.add(ir, kT0 + 2, ip4, 0, 30);
    w.add(ie, kT0 + 3'000, e4);
    const std::string path = tmp.write("two_if.pcapng", w.bytes());
    const FileRead r = read_file(path);
    REQUIRE(r.pkts.size() == 4u);
    CHECK(r.pkts[0].linktype == 1);
    CHECK(r.pkts[1].linktype == 101);
    CHECK(r.pkts[2].linktype == 101);
    CHECK(r.pkts[3].linktype == 1);
    CHECK(r.pkts[0].ts_ns == usec_floor(kT0));
    CHECK(r.pkts[1].ts_ns == kT0 + 1);
    CHECK(r.pkts[2].ts_ns == kT0 + 2);
    CHECK(r.pkts[3].ts_ns == usec_floor(kT0 + 3'000));
    CHECK(r.pkts[2].caplen == 30u);
    CHECK(r.pkts[2].wirelen == ip4.size());
    CHECK(r.stats.format == "pcapng");
    CHECK(r.stats.link_types == std::set<int>{1, 101});
    CHECK(r.stats.packets == 4u);
    CHECK_FALSE(r.stats.damage.has_value());

    Decoder dec;
    const uint16_t dports[] = {80, 443, 0, 80};
    for (size_t i = 0; i < r.pkts.size(); ++i) {
        CAPTURE(i);
        DecodedPacket d;
        PacketView v;
        v.linktype = r.pkts[i].linktype;
        v.data = r.pkts[i].data.data();
        v.caplen = r.pkts[i].caplen;
        v.wirelen = r.pkts[i].wirelen;
        dec.decode(v, d);
        if (i == 2) {
            CHECK(d.proto == L4Proto::malformed);  // cut at 30 bytes: inside TCP
            CHECK(d.truncated);
        } else {
            REQUIRE(d.proto == L4Proto::tcp);
            CHECK(d.tcp.dport == dports[i]);
        }
    }
}

TEST_CASE("capture: batches read the same packets as one at a time") {
    TempDir tmp;
    std::vector<Bytes> frames;
    tw::PcapWriter a(tw::linktype::ethernet), b(tw::linktype::ethernet);
    for (int i = 0; i < 300; ++i) {
        frames.push_back(frame_n(i, static_cast<size_t>(i * 53 % 1400)));
        (i % 3 ? a : b).add(kT0 + i * 1000, frames.back());
    }
    const std::string one = tmp.write("one.pcap", a.bytes());
    const std::string two = tmp.write("two.pcap", b.bytes());
    Bytes cut = a.bytes();
    cut.resize(cut.size() - 7);  // damaged: the last record is short
    const std::string damaged = tmp.write("damaged.pcap", cut);
    const std::vector<std::vector<std::string>> inputs = {{one}, {one, two}, {damaged}};
    for (const auto& paths : inputs) {
        for (const std::string bpf : {"", "tcp src port 40002 or tcp src port 40200"}) {
            CAPTURE(paths.size());
            CAPTURE(bpf);
            const SourceRead base = read_source(paths, bpf);
            REQUIRE(!base.pkts.empty());
            for (size_t batch : {size_t{1}, size_t{3}, size_t{16}, size_t{64}}) {
                CAPTURE(batch);
                const SourceRead r = read_source(paths, bpf, batch);
                REQUIRE(r.pkts.size() == base.pkts.size());
                for (size_t i = 0; i < r.pkts.size(); ++i) {
                    CHECK(r.pkts[i].frame == base.pkts[i].frame);
                    CHECK(r.pkts[i].ts_ns == base.pkts[i].ts_ns);
                    CHECK(r.pkts[i].data == base.pkts[i].data);
                }
                CHECK(r.seen == base.seen);
                CHECK(r.filtered == base.filtered);
                REQUIRE(r.stats.size() == base.stats.size());
                CHECK(r.stats[0].packets == base.stats[0].packets);
                CHECK(r.stats[0].damage.has_value() == base.stats[0].damage.has_value());
            }
        }
    }
}

// One file without a filter takes a shortcut (MergedFileSource numbers a
// whole batch in one loop); a filter that matches every packet goes through
// the per-packet path. Both must hand out the same frames and count the same
// per-file totals, which are also checked against what was written.
TEST_CASE("capture: one unfiltered file is numbered and counted as the per-packet path does") {
    TempDir tmp;
    tw::PcapngWriter w;
    const uint32_t eth = w.add_interface(tw::linktype::ethernet);
    uint64_t bytes = 0, wire = 0;
    std::vector<uint64_t> frames;
    uint64_t frame = 0;
    const int64_t t0 = kT0 / 1000 * 1000;   // the interface's resolution is the default microsecond
    for (int i = 0; i < 70; ++i) {
        if (i % 9 == 0) {   // also before the first packet (the one read ahead)
            w.add_block(0x00000BAD, tw::Bytes{0x00, 0x00, 0x7e, 0xd9});   // a custom block takes a frame number
            ++frame;
        }
        const Bytes f = frame_n(i, static_cast<size_t>(i * 37 % 900));
        const uint32_t cut = i % 5 == 0 ? 60 : 0;                          // every fifth cut by the snaplen
        w.add(eth, t0 + i * 1000, f, 0, cut);
        bytes += cut ? std::min<size_t>(cut, f.size()) : f.size();
        wire += f.size();
        frames.push_back(++frame);
    }
    const std::string path = tmp.write("mixed.pcapng", w.bytes());
    const SourceRead all = read_source({path}, "", 16);
    const SourceRead per_packet = read_source({path}, "tcp or not tcp", 16);
    REQUIRE(all.pkts.size() == frames.size());
    REQUIRE(per_packet.pkts.size() == frames.size());
    for (size_t i = 0; i < frames.size(); ++i) {
        CAPTURE(i);
        CHECK(all.pkts[i].frame == frames[i]);
        CHECK(per_packet.pkts[i].frame == frames[i]);
        CHECK(all.pkts[i].file_index == 0u);
    }
    REQUIRE(all.stats.size() == 1u);
    REQUIRE(per_packet.stats.size() == 1u);
    for (const FileStats* st : {&all.stats[0], &per_packet.stats[0]}) {
        CHECK(st->packets == frames.size());
        CHECK(st->bytes == bytes);
        CHECK(st->wire_bytes == wire);
        CHECK(st->first_ts_ns == t0);
        CHECK(st->last_ts_ns == t0 + 69 * 1000);
    }
    CHECK(bytes < wire);
    CHECK(all.seen == frames.size());
    CHECK(per_packet.seen == frames.size());
    CHECK(all.filtered == 0u);
}

TEST_CASE("timestamp_ns: seconds and fraction to nanoseconds, clamped without overflow") {
    using pcaplens::kMaxTimestampNs;
    using pcaplens::timestamp_ns;
    CHECK(timestamp_ns(0, 0) == 0);
    CHECK(timestamp_ns(1, 5) == 1'000'000'005);
    CHECK(timestamp_ns(-2, 500) == -1'999'999'500);
    // An if_tsoffset of 2^40 s (read through libpcap from a pipe) overflowed int64.
    CHECK(timestamp_ns(int64_t{1} << 40, 0) == kMaxTimestampNs);
    CHECK(timestamp_ns(-(int64_t{1} << 40), 0) == -kMaxTimestampNs);
    CHECK(timestamp_ns(INT64_MAX, INT64_MAX) == kMaxTimestampNs);
    CHECK(timestamp_ns(INT64_MIN, 0) == -kMaxTimestampNs);
    CHECK(timestamp_ns(4'000'000'000, 999'999'999) == 4'000'000'000'999'999'999);
}

TEST_CASE("capture: pcapng custom and systemd journal blocks take a frame number, as Wireshark gives them; NRB, ISB and DSB do not") {
    // tshark 4.0.17 shows a custom block (either type) and a journal export
    // block as a frame of its own; every later frame number was one short.
    TempDir tmp;
    tw::PcapngWriter w;
    const uint32_t eth = w.add_interface(tw::linktype::ethernet);
    w.add_block(0x00000BAD, tw::Bytes{0x00, 0x00, 0x7e, 0xd9, 'h', 'i'});   // custom block, PEN 32473
    w.add(eth, kT0, frame_n(1));                                               // frame 2
    w.add_block(0x40000BAD, tw::Bytes{0x00, 0x00, 0x7e, 0xd9});                // custom, do-not-copy
    w.add_block(0x00000009, tw::Bytes{'M', '=', 'x', '\n'});                   // systemd journal export
    w.add_block(0x00000004, tw::Bytes{0, 0, 0, 0});                            // name resolution: no frame
    w.add(eth, kT0 + 1000, frame_n(2));                                        // frame 5
    w.add_block(0x00000005, tw::Bytes(12, 0));                                 // interface statistics: no frame
    w.add(eth, kT0 + 2000, frame_n(3));                                        // frame 6
    const SourceRead s = read_source({tmp.write("cb.pcapng", w.bytes())});
    REQUIRE(s.pkts.size() == 3u);
    CHECK(s.pkts[0].frame == 2u);
    CHECK(s.pkts[1].frame == 5u);
    CHECK(s.pkts[2].frame == 6u);
    REQUIRE(s.stats.size() == 1u);
    CHECK(s.stats[0].packets == 3u);
    CHECK(s.seen == 3u);   // packets, not frames
}
