// Packet sources: one capture file, several files merged by timestamp, or a
// live interface. All deliver PacketViews in time order through one interface
// so the rest of the pipeline never knows where packets come from.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "pcaplens/capture/packet.hpp"

namespace pcaplens {

// Where and how a capture file was found to be damaged.
struct CaptureDamage {
    std::string kind;        // "truncated_record", "bad_record_header", "bad_block", "read_error"
    uint64_t packet = 0;     // 1-based packet number within the file that could not be read
    uint64_t offset = 0;     // byte offset in the file where the bad record starts
    std::string message;     // what the reader said
};

// Per-file facts gathered while reading; the report's `input.files[]`.
struct FileStats {
    std::string path;
    std::string format;              // "pcap", "pcap-ns", "pcapng"
    std::set<int> link_types;        // DLT values seen
    uint64_t packets = 0;
    uint64_t bytes = 0;              // captured bytes
    uint64_t wire_bytes = 0;
    int64_t first_ts_ns = 0;
    int64_t last_ts_ns = 0;
    uint32_t snaplen = 0;
    std::optional<CaptureDamage> damage;
    uint64_t file_size = 0;
};

// Reads one file. Implementations: pcaplens's own pcap and pcapng readers,
// and libpcap (for the few pcap files whose bytes libpcap rewrites).
class FileReader {
public:
    virtual ~FileReader() = default;
    // Next packet, or false at end of file or on damage (see stats().damage).
    // The returned view stays valid until the next call.
    virtual bool next(PacketView& out) = 0;
    // Up to `max` (>= 1) next packets at once, all valid until the next call
    // of either function; 0 at the end or on damage. Readers that can keep
    // several records in place return more than one (see PacketSource).
    virtual size_t next_batch(PacketView* out, size_t max) {
        (void)max;
        return next(out[0]) ? 1 : 0;
    }
    virtual const FileStats& stats() const = 0;
    // Bytes of the file consumed so far (for progress reporting).
    virtual uint64_t position() const = 0;
};

struct InputError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Opens `path` (pcap in either resolution and byte order, or pcapng);
// throws InputError when it cannot be read at all. Every packet is returned;
// filtering happens in the source so frame numbers stay the file's own.
// Regular pcap and pcapng files are mapped into memory a window of this many
// bytes at a time: no copy of the file's bytes at all (on the 1 GB bench
// trace, read(2)'s copy was most of the kernel time). The window's pages
// count in the resident set; files being merged share it.
inline constexpr size_t kPcapMapWindow = size_t{16} << 20;
// Regular pcap and pcapng files are mapped `map_window` bytes at a time (0:
// read into a buffer instead); see open_pcap_file.
std::unique_ptr<FileReader> open_capture_file(const std::string& path, size_t map_window = kPcapMapWindow);
// True for an input that can be read only once, as a stream: "-" (standard
// input), a pipe, a FIFO, a character device. open_capture_file reads these
// once, choosing the reader by their first four bytes (pcapng: pcaplens's
// own; anything else: libpcap); anything that must read its input twice has
// to refuse them.
bool is_read_once_input(const std::string& path);
std::unique_ptr<FileReader> open_libpcap_file(const std::string& path);
// Classic pcap read into a buffer of `read_buffer` bytes (grown for larger
// records); files this reader leaves to libpcap go to open_libpcap_file.
// 128 KiB: small enough that a buffer's packets are still in L2 when they are
// decoded (1 MiB measured ~10% more CPU on the 1 GB bench trace), large
// enough that read(2) calls stay ~8,000 per GB.
inline constexpr size_t kPcapReadBuffer = size_t{1} << 17;
// A regular file is mapped into memory instead, `map_window` bytes (rounded
// up to pages) at a time, when map_window != 0 and mmap allows (see
// kPcapMapWindow). A file that cannot be mapped is read as above.
std::unique_ptr<FileReader> open_pcap_file(const std::string& path, size_t read_buffer = kPcapReadBuffer,
                                           size_t map_window = kPcapMapWindow);
// pcapng: a regular file mapped `map_window` bytes at a time as well (0: read
// through stdio).
std::unique_ptr<FileReader> open_pcapng_file(const std::string& path, size_t map_window = kPcapMapWindow);
// The same reader over a stream read once (`f` is owned by the reader; its
// first bytes must be the Section Header Block's).
std::unique_ptr<FileReader> open_pcapng_stream(const std::string& path, std::FILE* f);

// A compiled BPF program for one link type (wraps libpcap's bpf_program).
class BpfFilter {
public:
    // Throws UsageError with libpcap's message when `expr` does not compile.
    BpfFilter(const std::string& expr, int linktype, uint32_t snaplen = 262144);
    ~BpfFilter();
    BpfFilter(const BpfFilter&) = delete;
    BpfFilter& operator=(const BpfFilter&) = delete;
    bool matches(const PacketView& p) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Any packet stream: file(s) or live.
class PacketSource {
public:
    virtual ~PacketSource() = default;
    // Next packet that passes the filter; false at the end (or on damage of
    // the last readable file, see file_stats()).
    virtual bool next(PacketView& out) = 0;
    // Up to `max` (>= 1) next packets, all valid until the next call of either
    // function; 0 at the end. A batch lets the pipeline decode a few packets
    // ahead and start fetching their connections' memory before it needs it.
    // Sources that cannot keep several packets in place return one.
    virtual size_t next_batch(PacketView* out, size_t max) {
        (void)max;
        return next(out[0]) ? 1 : 0;
    }
    virtual std::vector<FileStats> file_stats() const = 0;
    virtual uint64_t bytes_read() const { return 0; }
    virtual uint64_t bytes_total() const { return 0; }
    // Packets read before filtering, and how many the filter rejected.
    virtual uint64_t packets_seen() const = 0;
    virtual uint64_t packets_filtered_out() const = 0;
    // Live sources: packets dropped by the kernel / interface (pcap_stats).
    virtual bool is_live() const { return false; }
    virtual uint64_t drops() const { return 0; }
    virtual uint64_t ifdrops() const { return 0; }
    // Set when reading stopped because the filter does not compile for a
    // link type first met mid-input (a pcapng interface added later): a
    // usage error, found after the packets before it were handed out.
    virtual std::optional<std::string> filter_error() const { return std::nullopt; }
    // Set when reading stopped because a file the source saves packets to
    // (live -w, the next file of a -C rotation) could not be opened.
    virtual std::optional<std::string> write_error() const { return std::nullopt; }
};

// Several files read as one stream ordered by timestamp (stable: ties keep
// file order), like mergecap. Frame numbers are assigned in merged order
// before filtering, so they match Wireshark on the mergecap'd file.
// A file that turns out damaged stops contributing at the damage; the others
// go on.
class MergedFileSource final : public PacketSource {
public:
    MergedFileSource(const std::vector<std::string>& paths, const std::string& bpf);
    bool next(PacketView& out) override;
    size_t next_batch(PacketView* out, size_t max) override;
    std::vector<FileStats> file_stats() const override;
    uint64_t bytes_read() const override;
    uint64_t bytes_total() const override { return total_; }
    uint64_t packets_seen() const override { return seen_; }
    uint64_t packets_filtered_out() const override { return filtered_; }
    std::optional<std::string> filter_error() const override { return filter_error_; }

private:
    bool accept(const PacketView& p);
    enum class Admit : uint8_t { take, skip, stop };
    // Gives `p` its file index and frame number and counts it as handed out
    // of its file; skip (counted) when the filter rejects it, stop when the
    // filter does not compile for its link type (filter_error()).
    Admit admit(PacketView& p, size_t file);
    // admit() for a batch of `got` (> 0) packets of the only file, no filter set; returns `got`.
    size_t number_unfiltered(PacketView* out, size_t got);
    // What each file handed out: the readers count what they read, which
    // includes the packet read ahead for the merge when the analysis stops
    // early (-c, a signal).
    struct HandedOut {
        uint64_t packets = 0, bytes = 0, wire_bytes = 0;
        int64_t first_ts_ns = 0, last_ts_ns = 0;
    };
    std::vector<HandedOut> handed_;
    std::optional<std::string> filter_error_;
    std::string bpf_;
    std::vector<std::pair<int, std::unique_ptr<BpfFilter>>> filters_;  // per link type
    std::vector<std::unique_ptr<FileReader>> readers_;
    std::vector<PacketView> pending_;
    std::vector<bool> has_pending_;
    size_t last_ = SIZE_MAX;  // reader whose packet was handed out last (must be advanced)
                              // (one file: SIZE_MAX until the read-ahead packet is out)
    uint64_t frame_ = 0;      // Wireshark's frame number of the last packet (records without a packet count too)
    uint64_t seen_ = 0;       // packets handed to the filter
    uint64_t filtered_ = 0;
    uint64_t total_ = 0;
};

}  // namespace pcaplens
