// A read-only window onto part of a regular file, mapped into memory.
//
// Reading a capture through a mapping skips the copy read(2) makes of every
// byte (on the 1 GB bench trace that copy was most of the kernel time).
//
// A mapping has one hazard read(2) does not: if the file shrinks while it is
// mapped (tcpdump -W rings reopen their files with O_TRUNC), touching a page
// past the new end raises SIGBUS. A process-wide handler, installed on first
// use, maps a zero page over the missing page of any live window, so the
// access completes, and records the lowest such page of that window; the
// owner asks intact_end() before trusting what it read. A SIGBUS outside every
// window gets the handler that was there before. This is the project's one
// piece of process-wide state: a signal handler cannot be reached any other
// way.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace pcaplens {

uint64_t file_size(int fd);   // now; 0 when fstat fails

// What a reader found when its window stopped holding the file's bytes.
struct FileShrink {
    std::optional<uint64_t> size;   // the file's size then; unset: nothing found
    bool page_lost = false;         // a page vanished though the file did not shrink
    explicit operator bool() const { return size.has_value(); }
    // Appended to the reader's damage message: "; the file shrank to N bytes
    // while it was being read", or that a page could not be read (an I/O
    // error, or the file cut and written again); "" when nothing was found.
    std::string note() const;
};

class MappedWindow {
public:
    MappedWindow() = default;
    ~MappedWindow() { unmap(); }
    MappedWindow(const MappedWindow&) = delete;
    MappedWindow& operator=(const MappedWindow&) = delete;

    // Maps [offset, offset + len) of `fd` read-only (offset a multiple of
    // page_size(), len > 0), replacing any earlier window. False, with
    // nothing mapped, when mmap fails or every window slot is taken (the
    // caller then reads instead).
    bool map(int fd, uint64_t offset, size_t len);
    // The window a sequential reader needs next: from the page holding the
    // file offset `at`, at least `window` bytes (rounded up to pages) and at
    // least the `n` from `at`, no further than `size` (the file's size now,
    // > at). As map().
    bool map_from(int fd, uint64_t at, size_t n, size_t window, uint64_t size);
    void unmap();
    bool mapped() const { return data_ != nullptr; }
    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    uint64_t offset() const { return offset_; }
    // Starts fetching every line of the window from where the last call
    // stopped (or from `at`) to 2 KiB past `at`, an offset in the window
    // (rounded up to whole four-line steps). A reader walks records whose
    // headers say where the next one starts, so the walk would otherwise
    // wait on memory once per record; the analysis reads more of each packet
    // than its first line, and fetching only the header lines measured
    // slower (1, 2 and 4 KiB ahead measured alike, 8 KiB and more slower).
    void fetch_ahead(size_t at) {
        constexpr size_t kFetchAhead = 2048;
        if (fetched_ < at) fetched_ = at;
        if (fetched_ >= at + kFetchAhead) return;
        // Four lines a step: ~11 lines a packet on the bench trace, and a
        // one-line loop spent four instructions on each. The end is rounded
        // up to whole steps (up to 192 bytes further ahead), so the one-line
        // loop runs only at the window's end.
        const size_t to = std::min(fetched_ + ((at + kFetchAhead - fetched_ + 255) & ~size_t{255}), size_);
        if (to > populated_) populate_ahead(to);
        for (; fetched_ + 256 <= to; fetched_ += 256) {
            __builtin_prefetch(data_ + fetched_);
            __builtin_prefetch(data_ + fetched_ + 64);
            __builtin_prefetch(data_ + fetched_ + 128);
            __builtin_prefetch(data_ + fetched_ + 192);
        }
        for (; fetched_ < to; fetched_ += 64) __builtin_prefetch(data_ + fetched_);
    }
    // The file offset up to which the window still holds the file's own
    // bytes, judged for the bytes [offset(), upto) about to be used:
    // offset() + size() while the file is as it was mapped, less once it
    // shrank (a vanished page, or a new end inside the last page -- whose
    // rest reads as zeros without faulting). Cheap: a load from the
    // window's last page on every call; the file's size is asked once per
    // window, when `upto` first reaches its last page, and whenever a page
    // vanished. upto == UINT64_MAX asks the size now.
    uint64_t intact_end(uint64_t upto);
    // Called once intact_end() fell short: the file's size now, and whether
    // that is a shrink or a page lost with the file still as long.
    FileShrink shrink() const;

    static size_t page_size();

private:
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    uint64_t offset_ = 0;
    int slot_ = -1;
    int fd_ = -1;
    bool size_checked_ = false;   // intact_end() asked the size for the last page
    size_t fetched_ = 0;          // fetch_ahead(): window bytes before this are being fetched
    size_t populated_ = 0;        // window bytes before this were asked for page-table entries
    void populate_ahead(size_t to);   // up to at least `to`, a MiB ahead
};

}  // namespace pcaplens
