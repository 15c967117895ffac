// FileReader over libpcap's offline reader, and the choice of reader per file.
// Classic pcap normally goes to pcaplens's own reader (pcap_file.cpp); this
// one reads what that reader leaves to libpcap (files whose bytes libpcap
// rewrites) and words the error for files that are not readable captures.
#include <pcap/pcap.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "pcaplens/capture/source.hpp"

namespace pcaplens {
namespace {

// A pcapng file starts with the Section Header Block's type, which reads the
// same in both byte orders: how a file or a stream is told to be pcapng.
constexpr uint32_t kPcapngMagic = 0x0a0d0d0au;

// One clear line for a file libpcap refused: the file, then what is wrong
// with it in words.
[[noreturn]] void throw_refused(const std::string& path, const char* errbuf) {
    std::string why = errbuf;
    if (why.rfind(path + ": ", 0) == 0) why.erase(0, path.size() + 2);  // libpcap repeats the path
    if (why == "unknown file format") why = "not a pcap or pcapng capture (unknown file format)";
    else if (why.find("only got 0") != std::string::npos) why = "empty file, not a capture";
    throw InputError(path + ": " + why);
}

// A pipe, FIFO or standard input can be read only once and not seeked, so
// libpcap gets it through this unbuffered stdio cookie that counts the bytes
// it has taken: the byte offset of a damaged record, which ftell() cannot
// give on a pipe. The underlying stream keeps its own buffer.
struct CountingStream {
    std::FILE* src = nullptr;
    bool owns_src = false;
    uint64_t consumed = 0;
    // The magic number, read to choose the reader (a stream cannot be
    // re-read): handed out again before the rest of the stream.
    char prefix[4] = {};
    size_t prefix_len = 0, prefix_pos = 0;
};
ssize_t counting_read(void* cookie, char* buf, size_t n) {
    auto* s = static_cast<CountingStream*>(cookie);
    size_t got = 0;
    while (got < n && s->prefix_pos < s->prefix_len) buf[got++] = s->prefix[s->prefix_pos++];
    if (got < n) got += std::fread(buf + got, 1, n - got, s->src);
    s->consumed += got;
    return got == 0 && std::ferror(s->src) ? -1 : static_cast<ssize_t>(got);
}
int counting_close(void* cookie) {
    auto* s = static_cast<CountingStream*>(cookie);
    const int rc = s->owns_src ? std::fclose(s->src) : 0;
    delete s;
    return rc;
}

class LibpcapFileReader final : public FileReader {
public:
    explicit LibpcapFileReader(const std::string& path) {
        stats_.path = path;
        char errbuf[PCAP_ERRBUF_SIZE] = {0};
        // Nanosecond precision: libpcap scales microsecond files up, so one
        // code path serves both resolutions without losing digits.
        handle_ = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
        if (!handle_) throw_refused(path, errbuf);
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0) stats_.file_size = static_cast<uint64_t>(st.st_size);
        linktype_ = pcap_datalink(handle_);
        stats_.link_types.insert(linktype_);   // declared by the file, packets or not
        stats_.snaplen = static_cast<uint32_t>(pcap_snapshot(handle_));
        FILE* f = pcap_file(handle_);
        // Magic tells pcap vs pcapng and the file's own resolution.
        stats_.format = "pcap";
        if (f) {
            long here = std::ftell(f);
            offset_ = here > 0 ? static_cast<uint64_t>(here) : 0;
        }
        uint32_t magic = 0;
        if (FILE* raw = std::fopen(path.c_str(), "rb")) {
            if (std::fread(&magic, 4, 1, raw) != 1) magic = 0;
            std::fclose(raw);
        }
        pcapng_ = magic == kPcapngMagic;
        if (pcapng_) stats_.format = "pcapng";
        else if (magic == 0xa1b23c4d || magic == 0x4d3cb2a1) stats_.format = "pcap-ns";
    }

    // `f`: the counting stream over the input (see open_capture_stream),
    // owned from here on; `counter` is its cookie.
    LibpcapFileReader(const std::string& path, std::FILE* f, CountingStream* counter) {
        stats_.path = path;
        counter_ = counter;
        std::setvbuf(f, nullptr, _IONBF, 0);  // what libpcap has read is what the counter says
        char errbuf[PCAP_ERRBUF_SIZE] = {0};
        handle_ = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
        if (!handle_) {
            std::fclose(f);  // closes the source and frees the counter
            counter_ = nullptr;
            throw_refused(path, errbuf);
        }
        linktype_ = pcap_datalink(handle_);
        stats_.link_types.insert(linktype_);   // declared by the file, packets or not
        stats_.snaplen = static_cast<uint32_t>(pcap_snapshot(handle_));
        // The magic is gone into libpcap; its version tells pcapng (1.x)
        // from pcap (2.x). Microsecond and nanosecond pcap both read "pcap".
        pcapng_ = pcap_major_version(handle_) == 1;
        stats_.format = pcapng_ ? "pcapng" : "pcap";
        offset_ = counter_->consumed;
    }
    ~LibpcapFileReader() override {
        if (handle_) pcap_close(handle_);
    }
    LibpcapFileReader(const LibpcapFileReader&) = delete;
    LibpcapFileReader& operator=(const LibpcapFileReader&) = delete;

    bool next(PacketView& out) override {
        if (done_) return false;
        struct pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        int rc = pcap_next_ex(handle_, &hdr, &data);
        if (rc == 1) {
            // A pcap record's seconds field is unsigned 32-bit, but libpcap
            // reads it as signed: times from 2038-01-19 on come back negative.
            int64_t sec = static_cast<int64_t>(hdr->ts.tv_sec);
            if (sec < 0 && !pcapng_) sec += int64_t{1} << 32;
            out.ts_ns = timestamp_ns(sec, static_cast<int64_t>(hdr->ts.tv_usec));
            out.caplen = hdr->caplen;
            out.wirelen = hdr->len;
            out.data = data;
            // libpcap reports the link type per handle; for pcapng it refuses
            // files whose interfaces differ, so this is exact.
            out.linktype = linktype_;
            ++stats_.packets;
            stats_.bytes += hdr->caplen;
            stats_.wire_bytes += hdr->len;
            if (stats_.packets == 1) stats_.first_ts_ns = out.ts_ns;
            stats_.last_ts_ns = out.ts_ns;
            // Offset of the next record: from a stream, what the counting
            // cookie handed libpcap (pcap or pcapng); from a file, by
            // arithmetic, as ftell() costs glibc an lseek syscall per packet
            // (1.5 M per GB, measured in bench/) and libpcap reads only pcap
            // files here (pcapng files have their own reader): each record is
            // a 16-byte header plus its captured bytes.
            offset_ = counter_ ? counter_->consumed : offset_ + 16 + uint64_t{hdr->caplen};
            return true;
        }
        done_ = true;
        if (rc == PCAP_ERROR_BREAK) return false;  // clean end of file
        CaptureDamage d;
        d.packet = stats_.packets + 1;
        d.offset = offset_;
        d.message = pcap_geterr(handle_);
        if (d.message.find("truncated") != std::string::npos) d.kind = "truncated_record";
        else if (pcapng_) d.kind = "bad_block";
        else d.kind = "bad_record_header";
        stats_.damage = d;
        return false;
    }
    const FileStats& stats() const override { return stats_; }
    uint64_t position() const override { return offset_; }

private:
    pcap_t* handle_ = nullptr;
    CountingStream* counter_ = nullptr;  // streams only; owned by the stdio cookie pcap_close() closes
    int linktype_ = 0;
    bool pcapng_ = false;
    bool done_ = false;
    uint64_t offset_ = 0;
    FileStats stats_;
};

}  // namespace

std::unique_ptr<FileReader> open_libpcap_file(const std::string& path) {
    return std::make_unique<LibpcapFileReader>(path);
}

bool is_read_once_input(const std::string& path) {
    struct stat st {};
    return path == "-" || (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode));
}

namespace {

// Standard input ("-", as tcpdump -r -), a pipe (`<(zcat f.pcap.gz)`) or a
// FIFO, read once: its first four bytes choose the reader and are handed out
// again through the counting stream. pcapng goes to pcaplens's own reader,
// as from a file: libpcap refuses a pcapng whose interfaces differ in link
// type or whose sections differ in byte order (dumpcap -i a -i b -w - writes
// such streams); pcap and anything else to libpcap.
std::unique_ptr<FileReader> open_capture_stream(const std::string& path) {
    const bool std_in = path == "-";
    std::FILE* src = std_in ? stdin : std::fopen(path.c_str(), "rb");
    if (!src) throw InputError(path + ": " + std::strerror(errno));
    auto* counter = new CountingStream{src, !std_in, 0};
    counter->prefix_len = std::fread(counter->prefix, 1, sizeof counter->prefix, src);
    std::FILE* f = fopencookie(counter, "rb", cookie_io_functions_t{counting_read, nullptr, nullptr, counting_close});
    if (!f) {
        const int err = errno;
        counting_close(counter);
        throw InputError(path + ": " + std::strerror(err));
    }
    uint32_t magic = 0;
    if (counter->prefix_len == sizeof magic) std::memcpy(&magic, counter->prefix, sizeof magic);
    if (magic == kPcapngMagic) return open_pcapng_stream(path, f);
    return std::make_unique<LibpcapFileReader>(path, f, counter);
}

}  // namespace

std::unique_ptr<FileReader> open_capture_file(const std::string& path, size_t map_window) {
    if (is_read_once_input(path)) return open_capture_stream(path);
    // pcapng and classic pcap go to pcaplens's own readers; anything else to
    // libpcap, which says what is wrong with it.
    uint32_t magic = 0;
    if (FILE* raw = std::fopen(path.c_str(), "rb")) {
        if (std::fread(&magic, 4, 1, raw) != 1) magic = 0;
        std::fclose(raw);
    }
    if (magic == kPcapngMagic) return open_pcapng_file(path, map_window);
    switch (magic) {
        case 0xa1b2c3d4: case 0xd4c3b2a1:  // microseconds
        case 0xa1b23c4d: case 0x4d3cb2a1:  // nanoseconds
        case 0xa1b2cd34: case 0x34cdb2a1:  // Kuznetzov's patched format
            return open_pcap_file(path, kPcapReadBuffer, map_window);
        default:
            return open_libpcap_file(path);
    }
}

}  // namespace pcaplens
