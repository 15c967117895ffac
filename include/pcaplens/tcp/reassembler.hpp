// One direction of a TCP byte stream rebuilt from segments.
//
// Policy (documented in README.md, "TCP reassembly and lifecycle"): sequence numbers are unwrapped to
// 64-bit stream offsets, so 2^32 wrap is seamless; in-order data is passed
// through without copying; out-of-order data is copied into a bounded buffer;
// where copies overlap, the first copy captured wins and differing bytes are
// reported; bytes never captured become explicit gaps once the peer's ACK,
// the end of the stream or a memory cap proves they will not come.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace pcaplens {

// Buffered-byte accounting shared by all reassemblers of one analysis.
struct ReassemblyBudget {
    uint64_t max_total = 256ull << 20;
    uint64_t max_per_direction = 8ull << 20;
    // And at most this many ranges per direction, whatever they hold: a
    // segment overlapping buffered data walks every range it covers, so a
    // crafted stream of tiny ranges and wide retransmissions over them cost
    // time quadratic in the ranges (87,000 fit the 8 MiB cap; 30,000 took
    // ~6-10 s for a 3.5 MB capture). Real loss leaves a few holes per window.
    uint64_t max_ranges_per_direction = 4096;
    uint64_t buffered = 0;   // out-of-order bytes held
    uint64_t ranges = 0;     // buffered ranges (map nodes), each charged Reassembler::kRangeOverhead against the caps
    uint64_t cap_hits = 0;
};

class ReassemblySink {
public:
    virtual ~ReassemblySink() = default;
    virtual void data(const uint8_t* p, size_t n, int64_t ts_ns, uint64_t frame) = 0;
    virtual void gap(uint64_t n, int64_t ts_ns) = 0;
    // Called before gap() when the gap is a hole -- bytes never captured at
    // all, at stream offset `off` -- rather than bytes the snaplen cut.
    virtual void hole(uint64_t /*off*/, uint64_t /*n*/) {}
};

struct AddResult {
    uint32_t new_bytes = 0;       // bytes not seen before (delivered now or buffered)
    uint32_t old_bytes = 0;       // bytes already seen (delivered or buffered): retransmitted
    bool out_of_order = false;    // landed beyond a hole and was buffered
    bool filled_hole = false;     // started before buffered data, i.e. filled (part of) a hole
    bool conflict = false;        // overlapped earlier bytes with different content
    bool capped = false;          // a memory cap forced buffered data out as gaps
    uint64_t gap_bytes = 0;       // gap bytes declared while handling this segment
};

class Reassembler {
public:
    // What each buffered range costs beyond its bytes (its map node and
    // bookkeeping): charged against the caps, so that ranges holding no byte
    // at all (cut to nothing by the snaplen; a crafted capture can send
    // millions) or one byte each still reach them.
    static constexpr uint64_t kRangeOverhead = 96;

    explicit Reassembler(ReassemblyBudget& budget) : budget_(&budget) {}
    ~Reassembler();
    Reassembler(Reassembler&&) noexcept;
    Reassembler& operator=(Reassembler&&) noexcept;
    Reassembler(const Reassembler&) = delete;
    Reassembler& operator=(const Reassembler&) = delete;

    bool initialized() const { return initialized_; }
    // Sequence number of the first data byte (ISN + 1 when the SYN was seen).
    void init(uint32_t first_seq);
    // Unwrapped stream offset of `seq` relative to the first byte.
    int64_t offset_of(uint32_t seq) const { return static_cast<int64_t>(next_off_) + static_cast<int32_t>(seq - next_seq_); }

    // A segment carrying `len` bytes on the wire starting at `seq`, of which
    // the first `caplen` are in `data` (the rest were cut by snaplen).
    AddResult add(uint32_t seq, const uint8_t* data, uint32_t caplen, uint32_t len, int64_t ts, uint64_t frame,
                  ReassemblySink& sink);
    // Everything before stream offset `off` is known to have been sent (the
    // peer ACKed it, or the stream ended there): declare holes as gaps.
    uint64_t advance_to(uint64_t off, int64_t ts, ReassemblySink& sink);
    // Deliver everything buffered, declaring the holes between as gaps.
    uint64_t flush(int64_t ts, ReassemblySink& sink);
    // The stream ends at `off` (its FIN): buffered bytes from there on are
    // dropped. Returns how many (captured or cut by the snaplen).
    uint64_t discard_from(uint64_t off);

    uint64_t delivered() const { return next_off_; }  // stream offset of the next byte expected
    uint32_t next_seq() const { return next_seq_; }
    uint64_t buffered_bytes() const { return buffered_; }
    uint64_t highest_seen() const { return highest_; }  // end offset of the furthest byte seen
    bool has_buffered() const { return !chunks_.empty(); }
    // Frees the samples of delivered data that later copies are compared
    // with (overlap_conflict): for a connection whose every byte is
    // acknowledged and that is closed (Connection::release_closed_state).
    void forget_delivered() {
        history_.reset();
        history_next_ = 0;
    }

private:
    struct Chunk {
        std::vector<uint8_t> bytes;  // empty when `missing`
        uint64_t len = 0;
        bool missing = false;        // cut by snaplen: known to exist, never captured
        int64_t ts = 0;
        uint64_t frame = 0;
    };
    // Recently delivered data, sampled, to notice retransmissions that differ.
    struct Delivered {
        uint64_t off = 0;
        uint32_t len = 0;
        std::array<uint8_t, 32> sample{};  // first 16 and last 16 bytes
    };
    static constexpr size_t kHistory = 8;

    void deliver(const uint8_t* p, uint64_t n, bool missing, int64_t ts, uint64_t frame, ReassemblySink& sink);
    void insert(uint64_t off, const uint8_t* data, uint64_t caplen, uint64_t len, int64_t ts, uint64_t frame, AddResult& r);
    bool compare_history(uint64_t off, const uint8_t* data, uint64_t n) const;
    void put_chunk(uint64_t off, const uint8_t* p, uint64_t len, int64_t ts, uint64_t frame);
    Chunk take_chunk(std::map<uint64_t, Chunk>::iterator it);
    void fill_missing(uint64_t a, uint64_t b, const uint8_t* bytes);
    void drain(ReassemblySink& sink);
    void release(uint64_t n);

    ReassemblyBudget* budget_;
    bool initialized_ = false;
    uint32_t next_seq_ = 0;
    uint64_t next_off_ = 0;
    uint64_t highest_ = 0;
    uint64_t buffered_ = 0;
    std::map<uint64_t, Chunk> chunks_;  // only out-of-order data; empty on the fast path
    // Allocated on the first delivery: connections that never carry data
    // (SYN floods, scans) do not pay for it.
    std::unique_ptr<std::array<Delivered, kHistory>> history_;
    size_t history_next_ = 0;
};

}  // namespace pcaplens
