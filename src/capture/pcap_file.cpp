// pcaplens's own streaming reader for classic pcap files.
//
// libpcap's offline reader copies every byte twice (kernel -> stdio's 4 KiB
// buffer -> its packet buffer). This one maps a regular file a window at a
// time (MappedWindow) and hands packets out as views into the window: no copy
// at all (on the 1 GB bench trace, read(2)'s copy was most of the kernel
// time, and the fetch from memory it stood for is now overlapped). The next window
// starts at the page holding the first record not yet handed out, so a record
// straddling the end of one window is whole in the next; a window grows for
// a record larger than itself. A file that cannot be mapped (or a window
// size of 0) is read(2) into one large buffer instead: a record that
// straddles the end of the buffer is moved to the front before the next
// read, and the buffer grows for a record larger than itself (never past
// kMaxRecord, which the caplen checks imply). A file that shrinks while it is
// mapped is damage from its new end on, as if read(2) had met that end.
//
// It reproduces libpcap 1.10.3's sf-pcap.c exactly: the same header checks,
// link-type mapping, snaplen adjustment, caplen/len swap for old versions,
// caplen limits and error messages, so reports and damage messages do not
// change. Where libpcap rewrites packet bytes or lengths (pseudo-headers of
// byte-swapped PFLOG/SLL/SLL2/USB/NFLOG files; Linux USB mmapped lengths) and
// for headers libpcap rejects, the file goes to libpcap itself
// (open_libpcap_file), which then also words the error.
#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "mapped_window.hpp"
#include "pcaplens/capture/source.hpp"

namespace pcaplens {
namespace {

constexpr uint32_t kMagicUsec = 0xa1b2c3d4u;
constexpr uint32_t kMagicNsec = 0xa1b23c4du;
constexpr uint32_t kMagicKuznetzov = 0xa1b2cd34u;  // usec, 24-byte record headers
constexpr size_t kFileHeader = 24;
constexpr uint32_t kMaxSnaplenDbus = 128u * 1024u * 1024u;  // the largest of max_snaplen_for_dlt
constexpr size_t kMaxRecord = 24 + size_t{kMaxSnaplenDbus};  // the largest record the caplen check lets through

// libpcap's max_snaplen_for_dlt(): records with a larger caplen are damage.
uint32_t max_snaplen_for_dlt(int dlt) {
    switch (dlt) {
        case DLT_DBUS: return kMaxSnaplenDbus;
        case DLT_EBHSCR: return 8u * 1024u * 1024u;
        case DLT_USBPCAP: return 1024u * 1024u;
        default: return 262144u;  // MAXIMUM_SNAPLEN
    }
}

// libpcap's linktype_to_dlt() on Linux: LINKTYPE_* values that are not the
// DLT_* value of the same link layer (tests/unit/test_pcap_reader.cpp
// compares link types 0-299 and others, with FCS bits, with libpcap).
int linktype_to_dlt(uint32_t linktype) {
    switch (linktype) {
        case 100: return DLT_ATM_RFC1483;
        case 101: return DLT_RAW;
        case 102: return DLT_SLIP_BSDOS;
        case 103: return DLT_PPP_BSDOS;
        case 106: return DLT_ATM_CLIP;
        default: return static_cast<int>(linktype);
    }
}

// Link types whose packet bytes or lengths libpcap rewrites while reading.
bool libpcap_rewrites(int dlt, bool swapped) {
    if (dlt == DLT_USB_LINUX_MMAPPED) return true;  // original length recomputed
    if (!swapped) return false;
    switch (dlt) {  // host-byte-order pseudo-header fields are byte-swapped
        case DLT_PFLOG:
        case DLT_LINUX_SLL:
        case DLT_LINUX_SLL2:
        case DLT_USB_LINUX:
        case DLT_NFLOG: return true;
        default: return false;
    }
}

uint32_t load32(const uint8_t* p, bool swapped) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return swapped ? __builtin_bswap32(v) : v;
}
uint16_t load16(const uint8_t* p, bool swapped) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return swapped ? static_cast<uint16_t>((v >> 8) | (v << 8)) : v;
}

class PcapFileReader final : public FileReader {
public:
    PcapFileReader(const std::string& path, int fd, size_t buffer_size, size_t map_window) : fd_(fd), cap_(buffer_size) {
        stats_.path = path;
        struct stat st {};
        if (::fstat(fd_, &st) == 0) {
            stats_.file_size = static_cast<uint64_t>(st.st_size);
            if (S_ISREG(st.st_mode)) map_window_ = map_window;
        }
        if (map_window_ == 0) use_buffer();
    }
    ~PcapFileReader() override { ::close(fd_); }
    PcapFileReader(const PcapFileReader&) = delete;
    PcapFileReader& operator=(const PcapFileReader&) = delete;

    // Reads and checks the file header; false when libpcap must read the file.
    bool read_header() {
        if (!fill(kFileHeader)) return false;
        const uint8_t* h = data_;
        uint32_t magic;
        std::memcpy(&magic, h, 4);
        swapped_ = false;
        if (magic != kMagicUsec && magic != kMagicNsec && magic != kMagicKuznetzov) {
            magic = __builtin_bswap32(magic);
            if (magic != kMagicUsec && magic != kMagicNsec && magic != kMagicKuznetzov) return false;
            swapped_ = true;
        }
        const uint16_t major = load16(h + 4, swapped_), minor = load16(h + 6, swapped_);
        if (!((major == 2 && minor <= 4) || (major == 543 && minor == 0))) return false;
        // caplen and len were interchanged at 2.3 (some 2.3 files are old-style).
        lengths_ = (major == 543 || minor < 3) ? Lengths::swapped : minor == 3 ? Lengths::maybe_swapped : Lengths::as_is;
        const uint32_t snaplen = load32(h + 16, swapped_);
        // The upper 6 bits carry the FCS length and flags (LT_LINKTYPE_EXT).
        linktype_ = linktype_to_dlt(load32(h + 20, swapped_) & 0x03FFFFFFu);
        if (libpcap_rewrites(linktype_, swapped_)) return false;
        // pcap_adjust_snapshot(): an absurd snaplen means "the maximum".
        max_caplen_ = max_snaplen_for_dlt(linktype_);
        snapshot_ = (snaplen == 0 || snaplen > INT_MAX) ? max_caplen_ : snaplen;
        record_header_ = 16;
        if (magic == kMagicKuznetzov) {
            record_header_ = 24;
            // Possibly a cooked capture with a faked 14-byte Ethernet header.
            if (linktype_ == DLT_EN10MB) snapshot_ = snapshot_ <= INT_MAX - 14 ? snapshot_ + 14 : INT_MAX;
        }
        nsec_ = magic == kMagicNsec;
        stats_.format = nsec_ ? "pcap-ns" : "pcap";
        stats_.snaplen = snapshot_;
        // Declared by the header for every record: known without a packet
        // (an empty capture still says what link it was taken on, as
        // tcpdump's "link-type EN10MB" does).
        stats_.link_types.insert(linktype_);
        begin_ = kFileHeader;
        offset_ = kFileHeader;
        return true;
    }

    bool next(PacketView& out) override {
        if (done_) return false;
        if (!fill(record_header_)) {
            const size_t got = end_ - begin_;
            if (read_errno_ == 0 && got == 0 && !shrunk_) {  // clean end at a record boundary
                done_ = true;
                return false;
            }
            return damage(read_errno_ ? read_error() : "truncated dump file; tried to read " + std::to_string(record_header_) +
                                                           " header bytes, only got " + std::to_string(got));
        }
        const uint8_t* h = data_ + begin_;  // moved by the fill() below
        const uint32_t sec = load32(h, swapped_);
        const uint32_t frac = load32(h + 4, swapped_);
        const auto [caplen, len] = record_lengths(h);
        if (caplen > max_caplen_) {
            return damage("invalid packet capture length " + std::to_string(caplen) + ", bigger than " +
                          (caplen > snapshot_ ? "snaplen of " + std::to_string(snapshot_) : "maximum of " + std::to_string(max_caplen_)));
        }
        if (!fill(record_header_ + caplen)) {
            const size_t got = end_ - begin_ - record_header_;
            if (read_errno_) return damage(read_error());
            // libpcap reads a record longer than the snaplen in two steps and
            // names the step that came up short.
            const uint32_t tried = caplen > snapshot_ && got < snapshot_ ? snapshot_ : caplen;
            return damage("truncated dump file; tried to read " + std::to_string(tried) + " captured bytes, only got " +
                          std::to_string(got));
        }
        // The file shrank under the window and the new end cuts this record
        // (or its header): read it again from what is left, which ends in
        // the damage a read would have met, worded the same.
        if (window_.mapped() && cut_at_intact_end(offset_ + record_header_ + caplen)) return next(out);
        out.ts_ns = record_ts(sec, frac);
        out.data = data_ + begin_ + record_header_;
        // libpcap hands out no more than the snaplen of a longer record.
        out.caplen = caplen > snapshot_ ? snapshot_ : caplen;
        out.wirelen = len;
        out.linktype = linktype_;
        begin_ += record_header_ + caplen;
        offset_ += record_header_ + caplen;
        if (++stats_.packets == 1) stats_.first_ts_ns = out.ts_ns;
        stats_.bytes += out.caplen;
        stats_.wire_bytes += len;
        stats_.last_ts_ns = out.ts_ns;
        return true;
    }
    // The first packet may refill the buffer; the rest are the records
    // already wholly in it, so no view handed out in this batch moves.
    size_t next_batch(PacketView* out, size_t max) override {
        size_t n = 0;
        if (max == 0 || !next(out[n])) return 0;
        ++n;
        if (lengths_ == Lengths::as_is && !swapped_) n = buffered_records(out, n, max);   // nearly every file
        for (; n < max && record_buffered() && next(out[n]); ++n) {
        }
        return n;
    }
    const FileStats& stats() const override { return stats_; }
    uint64_t position() const override { return offset_; }

private:
    enum class Lengths { as_is, swapped, maybe_swapped };

    // Seconds are unsigned (good until 2106). The fraction is added as
    // libpcap reads it, even when it is a second or more: signed from a file
    // in host byte order, unsigned from a byte-swapped one (its SWAPLONG).
    // |ts| < 2^32 * (10^9 + 10^3) ns: no overflow.
    int64_t record_ts(uint32_t sec, uint32_t frac) const {
        const int64_t fraction = swapped_ ? static_cast<int64_t>(frac) : static_cast<int64_t>(static_cast<int32_t>(frac));
        return clamp_timestamp(static_cast<int64_t>(sec) * 1000000000LL + fraction * (nsec_ ? 1 : 1000));
    }

    // next() for the records wholly in the buffer, of a file in host byte
    // order with lengths as stored (2.4): one pass with the buffer position
    // and the counters in registers. Stops at the first record it would not
    // take as it is (not wholly buffered, or a caplen next() rejects); next()
    // then deals with it. Fills out[n, max); returns the new n.
    //
    // From a mapped window the records come from memory, not from a buffer
    // just read into cache: the lines ahead are fetched as the walk goes
    // (MappedWindow::fetch_ahead). The last byte of the
    // batch is checked against the file (cut_at_intact_end) before anything
    // is counted, so bytes the file lost do not go out as packets.
    size_t buffered_records(PacketView* out, size_t n, size_t max) {
        const size_t from = n;
        Walk w = walk(out, n, max);
        if (w.n != from && window_.mapped() && cut_at_intact_end(window_.offset() + w.end)) {
            w = walk(out, from, max);  // up to the file's new end
        }
        if (w.n != from) {   // the first packet of a batch comes from next(): packets >= 1 here
            stats_.packets += w.n - from;
            stats_.bytes += w.bytes;
            stats_.wire_bytes += w.wire;
            stats_.last_ts_ns = w.last_ts;
            offset_ += w.end - begin_;
            begin_ = w.end;
        }
        return w.n;
    }

    struct Walk {
        size_t n, end;           // out[.., n) filled; the next record starts at end
        uint64_t bytes = 0, wire = 0;
        int64_t last_ts;
    };
    Walk walk(PacketView* out, size_t n, size_t max) {
        const uint8_t* const buf = data_;
        const bool mapped = window_.mapped();
        const size_t end = end_, rh = record_header_;
        size_t b = begin_;
        Walk w{n, b, 0, 0, stats_.last_ts_ns};
        for (; n < max && end - b >= rh; ++n) {
            const uint8_t* h = buf + b;
            if (mapped) window_.fetch_ahead(b);
            uint32_t f[4];   // sec, fraction, caplen, len
            std::memcpy(f, h, sizeof f);
            const uint32_t caplen = f[2];
            if (caplen > max_caplen_ || end - b - rh < caplen) break;
            PacketView& o = out[n];
            o.ts_ns = record_ts(f[0], f[1]);
            o.data = h + rh;
            o.caplen = caplen > snapshot_ ? snapshot_ : caplen;
            o.wirelen = f[3];
            o.linktype = linktype_;
            w.bytes += o.caplen;
            w.wire += f[3];
            w.last_ts = o.ts_ns;
            b += rh + caplen;
        }
        w.n = n;
        w.end = b;
        return w;
    }

    // The next record (header and captured bytes) is wholly in the buffer:
    // next() will not refill. A record it would reject counts as buffered
    // (next() then stops without reading).
    bool record_buffered() const {
        const size_t have = end_ - begin_;
        if (done_ || have < record_header_) return false;
        const uint32_t caplen = record_lengths(data_ + begin_).first;
        return caplen > max_caplen_ || have >= record_header_ + caplen;
    }

    // Captured and wire length of the record whose header is at `h`, as this
    // file's version stores them (swapped before 2.3, maybe swapped at 2.3).
    std::pair<uint32_t, uint32_t> record_lengths(const uint8_t* h) const {
        uint32_t caplen = load32(h + 8, swapped_);
        uint32_t len = load32(h + 12, swapped_);
        if (lengths_ == Lengths::swapped || (lengths_ == Lengths::maybe_swapped && caplen > len)) std::swap(caplen, len);
        return {caplen, len};
    }

    // Makes n bytes from begin_ available (n <= kMaxRecord): maps the next
    // window, or (reading) moves what is left to the front, grows the buffer
    // if it is too small, and reads as much as fits. False at the end of the
    // file or on a read error.
    bool fill(size_t n) {
        size_t have = end_ - begin_;
        if (have >= n) return true;
        if (eof_ || read_errno_) return false;
        if (map_window_ != 0) {
            if (map_next(n)) return true;
            if (map_window_ != 0 || read_errno_) return false;
            have = 0;  // the file could not be mapped: read it from offset_ on
        }
        if (n > cap_) {
            size_t grown = cap_ * 2;
            while (grown < n) grown *= 2;
            if (grown > kMaxRecord) grown = kMaxRecord;
            auto bigger = std::make_unique_for_overwrite<uint8_t[]>(grown);  // pages untouched until read into
            std::memcpy(bigger.get(), buf_.get() + begin_, have);
            buf_ = std::move(bigger);
            data_ = buf_.get();
            cap_ = grown;
        } else if (begin_ > 0) {
            std::memmove(buf_.get(), buf_.get() + begin_, have);
        }
        begin_ = 0;
        end_ = have;
        while (end_ < n) {
            const ssize_t got = ::read(fd_, buf_.get() + end_, cap_ - end_);
            if (got < 0) {
                if (errno == EINTR) continue;
                read_errno_ = errno;
                return false;
            }
            if (got == 0) {
                eof_ = true;
                return false;
            }
            end_ += static_cast<size_t>(got);
        }
        return true;
    }

    // The next window: from the page holding offset_, at least map_window_
    // bytes and at least the n wanted, no further than the file's end now
    // (it may have grown since the last window). False at the end of the
    // file, or when mapping fails: then map_window_ is 0 and the buffer is
    // ready for reading from offset_ on.
    bool map_next(size_t n) {
        const uint64_t known_end = offset_ + (end_ - begin_);
        const uint64_t size = file_size(fd_);
        if (window_.mapped() && size < window_.offset() + window_.size()) shrunk_ = FileShrink{size};   // shrank under it
        if (size <= known_end) {
            eof_ = true;
            return false;
        }
        if (!window_.map_from(fd_, offset_, n, map_window_, size)) {
            map_window_ = 0;
            use_buffer();
            begin_ = end_ = 0;
            if (::lseek(fd_, static_cast<off_t>(offset_), SEEK_SET) < 0) read_errno_ = errno;
            return false;
        }
        data_ = window_.data();
        begin_ = static_cast<size_t>(offset_ - window_.offset());
        end_ = window_.size();
        if (end_ - begin_ >= n) return true;
        eof_ = true;
        return false;
    }

    // Mapped: when the file no longer holds the window's bytes up to end_
    // (it shrank while being read; MappedWindow::intact_end), cuts end_ at
    // what it still holds -- nothing past it is read -- and returns whether
    // that cuts into [.., upto), the file offset where the bytes in use end.
    bool cut_at_intact_end(uint64_t upto) {
        const uint64_t intact = window_.intact_end(upto);
        const uint64_t window_end = window_.offset() + end_;
        if (intact >= window_end) return false;
        shrunk_ = window_.shrink();
        const uint64_t keep = intact > window_.offset() ? intact - window_.offset() : 0;
        end_ = std::max<size_t>(begin_, static_cast<size_t>(keep));
        eof_ = true;
        return intact < upto;
    }

    void use_buffer() {
        buf_ = std::make_unique_for_overwrite<uint8_t[]>(cap_);
        data_ = buf_.get();
    }

    std::string read_error() const { return std::string("error reading dump file: ") + std::strerror(read_errno_); }

    // Records where the file stopped being readable; nothing more is read.
    bool damage(std::string message) {
        done_ = true;
        CaptureDamage d;
        d.packet = stats_.packets + 1;
        d.offset = offset_;
        d.kind = message.find("truncated") != std::string::npos ? "truncated_record" : "bad_record_header";
        if (shrunk_) {
            d.kind = "truncated_record";
            message += shrunk_.note();
        }
        d.message = std::move(message);
        stats_.damage = std::move(d);
        return false;
    }

    int fd_;
    std::unique_ptr<uint8_t[]> buf_;  // reading: the bytes read
    size_t cap_;
    size_t map_window_ = 0;           // mapping: bytes per window (MappedWindow::map_from); 0 when reading
    MappedWindow window_;
    FileShrink shrunk_;               // mapping: the window stopped holding the file
    const uint8_t* data_ = nullptr;   // buf_ or the window
    size_t begin_ = 0, end_ = 0;      // unread bytes are data_[begin_, end_)
    bool eof_ = false;
    int read_errno_ = 0;
    bool done_ = false;
    bool swapped_ = false;
    bool nsec_ = false;
    Lengths lengths_ = Lengths::as_is;
    size_t record_header_ = 16;
    uint32_t snapshot_ = 0;
    uint32_t max_caplen_ = 0;  // max_snaplen_for_dlt(linktype_)
    int linktype_ = 0;
    uint64_t offset_ = 0;  // file offset of the next record
    FileStats stats_;
};

}  // namespace

std::unique_ptr<FileReader> open_pcap_file(const std::string& path, size_t read_buffer, size_t map_window) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        auto reader =
            std::make_unique<PcapFileReader>(path, fd, read_buffer < kFileHeader ? kFileHeader : read_buffer, map_window);
        if (reader->read_header()) return reader;
    }
    return open_libpcap_file(path);  // libpcap reads it, or says what is wrong with it
}

}  // namespace pcaplens
