// pcaplens's own streaming pcapng reader.
//
// libpcap 1.10 refuses pcapng files whose interfaces have different link
// types, and it folds every interface onto one timestamp resolution. This
// reader keeps the link type, snaplen, if_tsresol and if_tsoffset of every
// interface, so each packet carries its own link type and an exact
// nanosecond timestamp.
//
// A regular file is mapped a window at a time (MappedWindow, as the pcap
// reader does) and each block is a view into the window: no copy, and
// next_batch() hands out every packet block already wholly in the window.
// A stream (standard input, a pipe) or a file that cannot be mapped is read
// block by block through a FILE* (never loaded whole); one block at a time
// is held in memory. Blocks larger than kMaxBlock are treated as damage. Every length is checked before use, every multi-byte
// field is read with memcpy (no unaligned access), and every loop iteration
// consumes at least one 12-byte block, so hostile input cannot hang it.
#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "mapped_window.hpp"
#include "pcaplens/capture/source.hpp"

namespace pcaplens {
namespace {

constexpr uint32_t kBlockSHB = 0x0A0D0D0Au;
constexpr uint32_t kBlockIDB = 0x00000001u;
constexpr uint32_t kBlockPB = 0x00000002u;  // obsolete Packet Block
constexpr uint32_t kBlockSPB = 0x00000003u;
constexpr uint32_t kBlockEPB = 0x00000006u;
// Records without a packet that Wireshark (4.0) still shows as frames, so
// they take a frame number (checked with tshark: NRB, ISB, DSB and unknown
// blocks do not).
constexpr uint32_t kBlockSystemdJournal = 0x00000009u;
constexpr uint32_t kBlockCustom = 0x00000BADu;
constexpr uint32_t kBlockCustomNoCopy = 0x40000BADu;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4Du;
constexpr uint32_t kByteOrderMagicSwapped = 0x4D3C2B1Au;

constexpr uint32_t kMaxBlock = 16u * 1024u * 1024u;  // larger blocks are damage
constexpr size_t kMaxInterfaces = size_t{1} << 20;   // per section
constexpr size_t kReadBuffer = 256 * 1024;

constexpr uint16_t kOptEndOfOpt = 0;
constexpr uint16_t kOptIfTsresol = 9;
constexpr uint16_t kOptIfTsoffset = 14;

struct Interface {
    int linktype = 0;
    uint32_t snaplen = 0;
    // Timestamp unit: 10^-exp seconds, or 2^-exp seconds when pow2.
    bool pow2 = false;
    uint8_t exp = 6;
    int64_t tsoffset_s = 0;  // seconds added to every timestamp
};

uint16_t bswap16(uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }
uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }
uint64_t bswap64(uint64_t v) { return __builtin_bswap64(v); }

// Unit count -> nanoseconds since the epoch, saturating at the int64 range.
int64_t to_ns(uint64_t units, const Interface& ifc) {
    // __extension__ keeps -Wpedantic quiet about the GCC/Clang 128-bit type.
    __extension__ typedef __int128 i128;
    __extension__ typedef unsigned __int128 u128;
    u128 ns = 0;
    if (ifc.pow2) {
        // units < 2^64, 10^9 < 2^30: the product fits in 94 bits.
        ns = (static_cast<u128>(units) * 1000000000u) >> ifc.exp;  // exp <= 127
    } else if (ifc.exp <= 9) {
        u128 mul = 1;
        for (int i = ifc.exp; i < 9; ++i) mul *= 10;
        ns = static_cast<u128>(units) * mul;  // < 2^94
    } else {
        int down = ifc.exp - 9;
        if (down >= 20) {
            ns = 0;  // 10^20 > 2^64 > units
        } else {
            uint64_t div = 1;
            for (int i = 0; i < down; ++i) div *= 10;
            ns = units / div;
        }
    }
    i128 total = static_cast<i128>(ns) + static_cast<i128>(ifc.tsoffset_s) * 1000000000;
    if (total > kMaxTimestampNs) return kMaxTimestampNs;
    if (total < -kMaxTimestampNs) return -kMaxTimestampNs;
    return static_cast<int64_t>(total);
}

class PcapngFileReader final : public FileReader {
public:
    PcapngFileReader(const std::string& path, size_t map_window) : PcapngFileReader(path, open_file(path), map_window) {}
    // A stream read once (standard input, a pipe; map_window 0), or the file
    // opened above: `f` is owned from here on.
    PcapngFileReader(const std::string& path, std::FILE* f, size_t map_window) {
        stats_.path = path;
        stats_.format = "pcapng";
        file_ = f;
        try {
            read_first_shb(path, map_window);
        } catch (...) {
            std::fclose(file_);
            file_ = nullptr;
            throw;
        }
    }
    ~PcapngFileReader() override {
        if (file_) std::fclose(file_);
    }
    PcapngFileReader(const PcapngFileReader&) = delete;
    PcapngFileReader& operator=(const PcapngFileReader&) = delete;

    bool next(PacketView& out) override {
        while (!done_) {
            uint8_t head[12];
            size_t got = read(head, 8);
            if (got == 0 && !std::ferror(file_)) {  // clean end at a block boundary
                done_ = true;
                return false;
            }
            if (got < 8) {
                short_read("block header");
                return false;
            }
            uint32_t raw_type = load32(head, false);
            if (raw_type == kBlockSHB) {
                got += read(head + 8, 4);
                if (got < 12) {
                    short_read("section header block");
                    return false;
                }
            }
            std::string why;
            if (!start_block(head, got, why)) {
                if (!stats_.damage) set_damage("bad_block", why);
                return false;
            }
            bool ok = true;
            bool packet = false;
            switch (block_type_) {
                case kBlockSHB: ok = section_header(why); break;
                case kBlockIDB: ok = interface_description(why); break;
                case kBlockEPB: ok = enhanced_packet(out, why); packet = ok; break;
                case kBlockSPB: ok = simple_packet(out, why); packet = ok; break;
                case kBlockPB: ok = obsolete_packet(out, why); packet = ok; break;
                case kBlockSystemdJournal:
                case kBlockCustom:
                case kBlockCustomNoCopy: ++records_pending_; break;
                default: break;  // NRB, ISB, DSB, unknown: skipped
            }
            if (!ok) {
                set_damage("bad_block", why);
                return false;
            }
            pos_ += block_len_;
            if (packet) {
                out.records_before = records_pending_;
                records_pending_ = 0;
                count(out);
                return true;
            }
        }
        return false;
    }
    // From a mapped window: the packet blocks that follow, as long as each
    // is wholly in the window (so no view handed out in this batch moves),
    // fetching the lines ahead (MappedWindow::fetch_ahead). Any other
    // block ends the batch.
    size_t next_batch(PacketView* out, size_t max) override {
        size_t n = 0;
        if (max == 0 || !next(out[n])) return 0;
        ++n;
        while (n < max && packet_block_in_window() && next(out[n])) {
            ++n;
            window_.fetch_ahead(static_cast<size_t>(pos_ - window_.offset()));
        }
        return n;
    }
    const FileStats& stats() const override { return stats_; }
    uint64_t position() const override { return pos_; }

private:
    // The next block is an enhanced packet block wholly in the window.
    bool packet_block_in_window() const {
        if (map_window_ == 0 || !window_.mapped() || done_) return false;
        const uint64_t end = window_.offset() + window_.size();
        if (pos_ < window_.offset() || end - pos_ < 12 || pos_ > end) return false;
        const uint8_t* h = window_.data() + (pos_ - window_.offset());
        if (load32(h) != kBlockEPB) return false;
        const uint32_t len = load32(h + 4);
        return len >= 12 && len <= kMaxBlock && len <= end - pos_;
    }

    static std::FILE* open_file(const std::string& path) {
        std::FILE* f = std::fopen(path.c_str(), "rb");
        if (!f) throw InputError("cannot open " + path + ": " + std::strerror(errno));
        return f;
    }
    void read_first_shb(const std::string& path, size_t map_window) {
        std::setvbuf(file_, nullptr, _IOFBF, kReadBuffer);
        struct stat st {};
        if (::fstat(fileno(file_), &st) == 0) {
            if (st.st_size > 0) stats_.file_size = static_cast<uint64_t>(st.st_size);
            if (S_ISREG(st.st_mode)) map_window_ = map_window;
        }

        // The first block must be a readable Section Header Block; anything
        // else means this is not a pcapng file at all.
        uint8_t head[12];
        size_t got = read(head, sizeof head);
        if (std::ferror(file_)) fail_open(path, std::string("read error: ") + std::strerror(errno));
        if (got < sizeof head) fail_open(path, "file too short for a section header block");
        if (load32(head, false) != kBlockSHB) fail_open(path, "first block is not a section header block");
        std::string why;
        if (!start_block(head, got, why)) fail_open(path, why);
        if (!section_header(why)) fail_open(path, why);
        pos_ += block_len_;
    }

    [[noreturn]] void fail_open(const std::string& path, const std::string& why) {
        throw InputError("not a pcapng file " + path + ": " + why);
    }

    // The next n bytes, or as many as there are; mapped or through the FILE*.
    size_t read(uint8_t* dst, size_t n) {
        if (n == 0) return 0;
        if (map_window_ != 0) {
            const uint8_t* p = nullptr;
            const size_t got = view(cursor_, n, p);
            if (map_window_ != 0) {
                if (got > 0) std::memcpy(dst, p, got);
                cursor_ += got;
                return got;
            }
        }
        return std::fread(dst, 1, n, file_);
    }

    // Bytes [at, at + n) of the file as a view into the window, mapping the
    // window from the page holding `at` when they are not all in the current
    // one. Returns how many there are (< n only where the file ends). When
    // the file cannot be mapped, map_window_ becomes 0 and the FILE* is
    // positioned at cursor_, to be read from there.
    size_t view(uint64_t at, size_t n, const uint8_t*& p) {
        const uint64_t wbeg = window_.offset(), wend = wbeg + window_.size();
        if (window_.mapped() && at >= wbeg && at <= wend && n <= wend - at) {
            p = window_.data() + (at - wbeg);
            return n;
        }
        const uint64_t size = file_size(fileno(file_));
        if (window_.mapped() && size < window_.offset() + window_.size()) shrunk_ = FileShrink{size};   // shrank under it
        if (at >= size) return 0;
        if (!window_.map_from(fileno(file_), at, n, map_window_, size)) {
            map_window_ = 0;
            if (std::fseek(file_, static_cast<long>(cursor_), SEEK_SET) != 0) std::clearerr(file_);
            return 0;
        }
        p = window_.data() + (at - window_.offset());
        return static_cast<size_t>(std::min<uint64_t>(n, window_.offset() + window_.size() - at));
    }

    // Mapped: whether the window no longer holds the file's bytes up to
    // `upto` (UINT64_MAX: its whole length, the file's size asked now) --
    // the file shrank under it, or a page vanished (MappedWindow::intact_end).
    bool shrank(uint64_t upto = UINT64_MAX) {
        if (map_window_ == 0 || !window_.mapped()) return false;
        const uint64_t needed = upto == UINT64_MAX ? window_.offset() + window_.size() : upto;
        if (window_.intact_end(upto) >= needed) return false;
        shrunk_ = window_.shrink();
        return true;
    }

    uint16_t load16(const uint8_t* p) const {
        uint16_t v;
        std::memcpy(&v, p, 2);
        return swap_ ? bswap16(v) : v;
    }
    uint32_t load32(const uint8_t* p, bool swap) const {
        uint32_t v;
        std::memcpy(&v, p, 4);
        return swap ? bswap32(v) : v;
    }
    uint32_t load32(const uint8_t* p) const { return load32(p, swap_); }
    uint64_t load64(const uint8_t* p) const {
        uint64_t v;
        std::memcpy(&v, p, 8);
        return swap_ ? bswap64(v) : v;
    }

    void set_damage(const std::string& kind, const std::string& message) {
        CaptureDamage d;
        d.kind = kind;
        d.packet = stats_.packets + 1;
        d.offset = pos_;
        d.message = message;
        stats_.damage = d;
        done_ = true;
    }
    void short_read(const char* what) {
        if (map_window_ == 0 && std::ferror(file_))
            set_damage("read_error", std::string("read error in ") + what + ": " + std::strerror(errno));
        else
            set_damage("truncated_record", std::string("file ends inside ") + what + shrunk_.note());
    }
    // A block that reads wrong from a window whose file shrank under it is
    // the file's end, not a bad block; so is one the window no longer holds
    // up to `upto`.
    bool block_cut_by_shrink(uint64_t upto = UINT64_MAX) {
        if (!shrank(upto)) return false;
        set_damage("truncated_record", "file ends inside a block" + shrunk_.note());
        return true;
    }

    // Given the block's first 8 bytes (12 for an SHB, whose byte-order magic
    // decides how the length reads), validates the length and reads the
    // rest of the block into buf_. On failure returns false with `why`, or
    // records truncation/read errors itself (damage_ set).
    bool start_block(const uint8_t* head, size_t have, std::string& why) {
        uint32_t raw_type = load32(head, false);
        bool swap = swap_;
        if (raw_type == kBlockSHB) {
            uint32_t bom = load32(head + 8, false);
            if (bom == kByteOrderMagic) swap = false;
            else if (bom == kByteOrderMagicSwapped) swap = true;
            else {
                why = "section header block has bad byte-order magic";
                return false;
            }
        }
        uint32_t type = load32(head, swap);
        uint32_t len = load32(head + 4, swap);
        if ((len < 12 || len % 4 != 0 || len > kMaxBlock) && block_cut_by_shrink()) {
            why = stats_.damage->message;
            return false;
        }
        if (len < 12 || len % 4 != 0) {
            why = "block type 0x" + hex(type) + " has invalid total length " + std::to_string(len);
            return false;
        }
        if (type == kBlockSHB && len < 28) {
            why = "section header block too short (" + std::to_string(len) + " bytes)";
            return false;
        }
        if (len > kMaxBlock) {
            why = "block type 0x" + hex(type) + " claims " + std::to_string(len) + " bytes (limit " +
                  std::to_string(kMaxBlock) + ")";
            return false;
        }
        if (!load_block(head, have, len)) {
            (void)shrank();
            short_read("a block");
            why = stats_.damage->message;
            return false;
        }
        // Before the block is used: the file still holds it.
        if (block_cut_by_shrink(pos_ + len)) {
            why = stats_.damage->message;
            return false;
        }
        const uint32_t trailer = load32(block_ + len - 4, swap);
        if (trailer != len && block_cut_by_shrink()) {
            why = stats_.damage->message;
            return false;
        }
        if (trailer != len) {
            why = "block type 0x" + hex(type) + ": trailing length " + std::to_string(trailer) +
                  " does not match leading length " + std::to_string(len);
            return false;
        }
        block_type_ = type;
        block_len_ = len;
        block_swap_ = swap;
        return true;
    }

    // Makes the whole block at pos_ (its first `have` bytes are `head`,
    // already read) available at block_: a view into the window, or read
    // into buf_. False when the file ends first.
    bool load_block(const uint8_t* head, size_t have, uint32_t len) {
        if (map_window_ != 0) {
            const uint8_t* p = nullptr;
            const size_t got = view(pos_, len, p);
            if (map_window_ != 0) {
                cursor_ = pos_ + got;
                block_ = p;
                return got == len;
            }
            // Not mappable after all: the FILE* is at cursor_, just past the head.
        }
        if (buf_.size() < len) buf_.resize(len);
        std::memcpy(buf_.data(), head, have);
        const size_t got = read(buf_.data() + have, len - have);
        block_ = buf_.data();
        return got == len - have;
    }

    static std::string hex(uint32_t v) {
        char s[16];
        std::snprintf(s, sizeof s, "%08X", v);
        return s;
    }

    // Body of the current block: bytes between the 8-byte header and the
    // trailing length.
    const uint8_t* body() const { return block_ + 8; }
    uint32_t body_len() const { return block_len_ - 12; }

    bool section_header(std::string& why) {
        swap_ = block_swap_;
        // body: magic(4) major(2) minor(2) section length(8) options
        uint16_t major = load16(body() + 4);
        if (major != 1) {
            why = "unsupported pcapng major version " + std::to_string(major);
            return false;
        }
        interfaces_.clear();
        return true;
    }

    bool interface_description(std::string& why) {
        if (body_len() < 8) {
            why = "interface description block too short";
            return false;
        }
        if (interfaces_.size() >= kMaxInterfaces) {
            why = "more than " + std::to_string(kMaxInterfaces) + " interfaces in one section";
            return false;
        }
        Interface ifc;
        ifc.linktype = load16(body());
        ifc.snaplen = load32(body() + 4);
        // Options are advisory: a malformed list ends parsing, not the file.
        const uint8_t* p = body() + 8;
        size_t left = body_len() - 8;
        while (left >= 4) {
            uint16_t code = load16(p);
            uint16_t olen = load16(p + 2);
            p += 4;
            left -= 4;
            if (code == kOptEndOfOpt) break;
            size_t padded = (static_cast<size_t>(olen) + 3u) & ~size_t{3};
            if (padded > left) break;
            if (code == kOptIfTsresol && olen >= 1) {
                uint8_t r = p[0];
                ifc.pow2 = (r & 0x80) != 0;
                ifc.exp = static_cast<uint8_t>(r & 0x7F);
            } else if (code == kOptIfTsoffset && olen >= 8) {
                ifc.tsoffset_s = static_cast<int64_t>(load64(p));
            }
            p += padded;
            left -= padded;
        }
        if (!have_snaplen_) {
            stats_.snaplen = ifc.snaplen;
            have_snaplen_ = true;
        }
        interfaces_.push_back(ifc);
        return true;
    }

    const Interface* find_interface(uint32_t id, std::string& why, const char* block) {
        if (id >= interfaces_.size()) {
            why = std::string(block) + " refers to interface " + std::to_string(id) + " but the section has " +
                  std::to_string(interfaces_.size());
            return nullptr;
        }
        return &interfaces_[id];
    }

    // EPB and PB share a layout after the interface id field.
    bool packet_common(PacketView& out, uint32_t id, const char* block, std::string& why) {
        // body: id(4 or 2+2) ts_high(4) ts_low(4) caplen(4) origlen(4) data
        if (body_len() < 20) {
            why = std::string(block) + " too short";
            return false;
        }
        const Interface* ifc = find_interface(id, why, block);
        if (!ifc) return false;
        uint64_t ts = (static_cast<uint64_t>(load32(body() + 4)) << 32) | load32(body() + 8);
        uint32_t caplen = load32(body() + 12);
        uint32_t origlen = load32(body() + 16);
        if (caplen > body_len() - 20) {
            why = std::string(block) + " captured length " + std::to_string(caplen) + " exceeds the block (" +
                  std::to_string(body_len() - 20) + " bytes of data)";
            return false;
        }
        out.ts_ns = to_ns(ts, *ifc);
        out.caplen = caplen;
        out.wirelen = origlen;
        out.linktype = ifc->linktype;
        out.data = body() + 20;
        out.frame = 0;
        out.file_index = 0;
        return true;
    }

    bool enhanced_packet(PacketView& out, std::string& why) {
        if (body_len() < 20) {
            why = "enhanced packet block too short";
            return false;
        }
        return packet_common(out, load32(body()), "enhanced packet block", why);
    }

    bool obsolete_packet(PacketView& out, std::string& why) {
        if (body_len() < 20) {
            why = "packet block too short";
            return false;
        }
        return packet_common(out, load16(body()), "packet block", why);
    }

    bool simple_packet(PacketView& out, std::string& why) {
        if (body_len() < 4) {
            why = "simple packet block too short";
            return false;
        }
        const Interface* ifc = find_interface(0, why, "simple packet block");
        if (!ifc) return false;
        uint32_t origlen = load32(body());
        uint32_t caplen = origlen;
        if (ifc->snaplen != 0 && caplen > ifc->snaplen) caplen = ifc->snaplen;
        if (caplen > body_len() - 4) caplen = body_len() - 4;
        // SPBs carry no timestamp: reuse the file's previous one so merged
        // and per-file time order stay intact (0 before any timestamp).
        out.ts_ns = stats_.packets ? stats_.last_ts_ns : 0;
        out.caplen = caplen;
        out.wirelen = origlen;
        out.linktype = ifc->linktype;
        out.data = body() + 4;
        out.frame = 0;
        out.file_index = 0;
        return true;
    }

    void count(const PacketView& p) {
        ++stats_.packets;
        stats_.bytes += p.caplen;
        stats_.wire_bytes += p.wirelen;
        if (stats_.packets == 1 || p.linktype != last_linktype_) {  // a set insert per packet is measurable
            stats_.link_types.insert(p.linktype);
            last_linktype_ = p.linktype;
        }
        if (stats_.packets == 1) stats_.first_ts_ns = p.ts_ns;
        stats_.last_ts_ns = p.ts_ns;
    }

    std::FILE* file_ = nullptr;
    FileStats stats_;
    int last_linktype_ = 0;                // last one added to stats_.link_types
    std::vector<uint8_t> buf_;             // the current block, when read through file_
    const uint8_t* block_ = nullptr;       // the current block: in buf_ or the window
    size_t map_window_ = 0;                // mapped: bytes per window (MappedWindow::map_from); 0: reading file_
    MappedWindow window_;
    uint64_t cursor_ = 0;                  // mapped: file offset of the next byte read()
    FileShrink shrunk_;                    // mapped: the window stopped holding the file
    std::vector<Interface> interfaces_;    // of the current section
    uint64_t pos_ = 0;                     // offset of the next block
    uint32_t block_type_ = 0;
    uint32_t block_len_ = 0;
    bool block_swap_ = false;
    bool swap_ = false;  // current section's byte order differs from the host's
    bool have_snaplen_ = false;
    bool done_ = false;
    uint32_t records_pending_ = 0;         // frame-numbered records since the last packet (PacketView::records_before)
};

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big);

}  // namespace

std::unique_ptr<FileReader> open_pcapng_file(const std::string& path, size_t map_window) {
    return std::make_unique<PcapngFileReader>(path, map_window);
}

std::unique_ptr<FileReader> open_pcapng_stream(const std::string& path, std::FILE* f) {
    return std::make_unique<PcapngFileReader>(path, f, 0);
}

}  // namespace pcaplens
