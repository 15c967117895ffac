// A read-only window onto part of a regular file, mapped into memory.
//
// Reading a capture through a mapping skips the copy read(2) makes of every
// byte (on the 1 GB bench trace that copy is most of the kernel time), and
// the analysis touches only the header lines of most packets.
//
// A mapping has one hazard read(2) does not: if the file shrinks while it is
// mapped (tcpdump -W rings reopen their files with O_TRUNC), touching a page
// past the new end raises SIGBUS. A process-wide handler, installed on first
// use, maps a zero page over the missing page of any live window, so the
// access completes, and counts the fault against that window; the owner
// asks intact_end() before trusting what it read. A SIGBUS outside every
// window gets the handler that was there before. This is the project's one
// piece of process-wide state: a signal handler cannot be reached any other
// way.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pcaplens {

// The readers' damage note when a page vanished from a window though the
// file did not shrink.
inline constexpr const char* kPageLostNote =
    "; part of the file could not be read through its mapping (an I/O error, or the file was cut and written again "
    "while it was being read)";

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
    void unmap();
    bool mapped() const { return data_ != nullptr; }
    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    uint64_t offset() const { return offset_; }
    // Pages of this window found missing since map() (each now reads as
    // zeros): the file shrank under it.
    uint32_t faults() const;
    // The file offset up to which the window still holds the file's own
    // bytes, judged for the bytes [offset(), upto) about to be used:
    // offset() + size() while the file is as it was mapped, less once it
    // shrank (a vanished page, or a new end inside the last page -- whose
    // rest reads as zeros without faulting). Cheap: a load from the
    // window's last page on every call; the file's size is asked once per
    // window, when `upto` first reaches its last page, and whenever a page
    // vanished. upto == UINT64_MAX asks the size now.
    uint64_t intact_end(uint64_t upto);
    uint64_t file_size() const;   // the file's size now

    static size_t page_size();

private:
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    uint64_t offset_ = 0;
    int slot_ = -1;
    int fd_ = -1;
    bool size_checked_ = false;   // intact_end() asked the size for the last page
};

}  // namespace pcaplens
