#include "mapped_window.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

namespace pcaplens {
namespace {

// Live windows, for the SIGBUS handler. A slot is claimed (used), then its
// range published (end, then begin); unmap clears begin first. The handler
// runs on the thread that touched the page, so it never sees a window being
// replaced under it by that same thread.
constexpr int kSlots = 256;
struct Slot {
    std::atomic<bool> used{false};
    std::atomic<uintptr_t> begin{0}, end{0};
    std::atomic<uintptr_t> first_fault{UINTPTR_MAX};   // lowest vanished page
};
Slot g_slots[kSlots];
struct sigaction g_previous;
uintptr_t g_page = 4096;  // set before the handler is installed (sysconf is not async-signal-safe)
static_assert(std::atomic<uintptr_t>::is_always_lock_free, "the SIGBUS handler needs lock-free atomics");

void on_sigbus(int sig, siginfo_t* info, void* context) {
    const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
    if (info->si_code == BUS_ADRERR) {
        for (Slot& s : g_slots) {
            const uintptr_t b = s.begin.load(std::memory_order_acquire);
            if (b == 0 || addr < b || addr >= s.end.load(std::memory_order_acquire)) continue;
            const uintptr_t page = addr & ~(g_page - 1);
            // MAP_FIXED over the missing page of our own window: the access is retried and reads zeros.
            if (mmap(reinterpret_cast<void*>(page), g_page, PROT_READ,
                     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) {
                break;
            }
            uintptr_t lowest = s.first_fault.load(std::memory_order_relaxed);
            while (page < lowest && !s.first_fault.compare_exchange_weak(lowest, page, std::memory_order_relaxed)) {
            }
            return;
        }
    }
    // Not ours: what was there before handles it.
    if (g_previous.sa_flags & SA_SIGINFO) {
        if (g_previous.sa_sigaction != nullptr) {
            g_previous.sa_sigaction(sig, info, context);
            return;
        }
    } else if (g_previous.sa_handler == SIG_IGN) {
        if (info->si_code <= 0) return;   // sent (kill), and ignored before; a fault cannot be ignored
    } else if (g_previous.sa_handler != SIG_DFL) {
        g_previous.sa_handler(sig);
        return;
    }
    // The default: end the process as it would have ended. A fault would
    // come back on return; a signal that was sent (kill -BUS) would not, so
    // it is raised again -- blocked in this handler, it is delivered as soon
    // as the handler returns.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGBUS, &dfl, nullptr);
    raise(SIGBUS);
}

bool install_handler() {
    g_page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGBUS, &sa, &g_previous) == 0;
}

}  // namespace

size_t MappedWindow::page_size() {
    static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return page;
}

bool MappedWindow::map(int fd, uint64_t offset, size_t len) {
    static const bool handler = install_handler();
    unmap();
    if (!handler || len == 0 || offset % page_size() != 0) return false;
    int slot = -1;
    for (int i = 0; i < kSlots && slot < 0; ++i) {
        bool expected = false;
        if (g_slots[i].used.compare_exchange_strong(expected, true)) slot = i;
    }
    if (slot < 0) return false;
    // Not MAP_POPULATE: it made the page-table entries in one go (hot page
    // cache, 1 GB bench trace: 0.71 -> 0.69 s in one batch of rounds, equal
    // in another), but it reads the whole window before returning, so a file
    // not in the page cache was read a window at a time with no I/O in
    // flight while the window was analysed: 1.07 -> 1.5-1.7 s cold.
    void* p = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(offset));
    if (p == MAP_FAILED) {
        g_slots[slot].used.store(false);
        return false;
    }
    // Sequential: the kernel reads ahead further and drops pages behind sooner.
    (void)madvise(p, len, MADV_SEQUENTIAL);
    // The next window is read ahead now, while this one is analysed (a file
    // not in the page cache, 1 GB: 1.27-1.93 -> 1.07-1.11 s; free when it
    // is cached).
    (void)posix_fadvise(fd, static_cast<off_t>(offset + len), static_cast<off_t>(len), POSIX_FADV_WILLNEED);
    Slot& s = g_slots[slot];
    s.first_fault.store(UINTPTR_MAX, std::memory_order_relaxed);
    s.end.store(reinterpret_cast<uintptr_t>(p) + len, std::memory_order_release);
    s.begin.store(reinterpret_cast<uintptr_t>(p), std::memory_order_release);
    data_ = static_cast<const uint8_t*>(p);
    size_ = len;
    offset_ = offset;
    slot_ = slot;
    fd_ = fd;
    size_checked_ = false;
    fetched_ = 0;
    populated_ = 0;
    return true;
}

// The kernel maps a file's pages on the first touch of each 64 KiB
// (fault-around): ~16,000 page faults per GB of capture, and a prefetch
// into a page not mapped yet is dropped. Asking for the page-table entries a
// MiB at a time, just ahead of the walk, takes one call per MiB instead
// (MADV_POPULATE_READ, Linux 5.14; elsewhere the call fails and faults do
// the work as before). Not the whole window at once (MAP_POPULATE): that
// reads a file not in the page cache a window at a time with nothing else
// in flight. A page the file no longer has fails the call (no SIGBUS); the
// access that follows meets it as before.
void MappedWindow::populate_ahead(size_t to) {
    constexpr size_t kChunk = size_t{1} << 20;
    const size_t from = populated_;   // page-aligned: 0, or where the last call ended
    const size_t page = page_size();
    const size_t want = std::max(to, from + kChunk);
    populated_ = std::min((want + page - 1) / page * page, size_);
#ifdef MADV_POPULATE_READ
    (void)madvise(const_cast<uint8_t*>(data_) + from, populated_ - from, MADV_POPULATE_READ);
#endif
}

bool MappedWindow::map_from(int fd, uint64_t at, size_t n, size_t window, uint64_t size) {
    const uint64_t page = page_size();
    const uint64_t base = at / page * page;
    const uint64_t len = std::min<uint64_t>(std::max<uint64_t>((window + page - 1) / page * page, at - base + n), size - base);
    return map(fd, base, static_cast<size_t>(len));
}

uint64_t MappedWindow::intact_end(uint64_t upto) {
    const uint64_t end = offset_ + size_;
    // A file that shrank below the window's last page took that page with
    // it: touching it faults, and the fault is counted, wherever the new end
    // is. A new end inside the last page faults nowhere (the rest of the page
    // reads as zeros): the file's size is asked once the bytes in use reach
    // that page (once per window), and whenever a page vanished.
    (void)*static_cast<const volatile uint8_t*>(data_ + size_ - 1);
    const uintptr_t lost = g_slots[slot_].first_fault.load(std::memory_order_relaxed);
    if (lost == UINTPTR_MAX && upto != UINT64_MAX) {
        const uint64_t last_page = (end - 1) / page_size() * page_size();   // >= offset_: it is page-aligned
        if (size_checked_ || upto <= last_page) return end;
        size_checked_ = true;
    }
    uint64_t intact = std::min(end, file_size(fd_));
    if (lost != UINTPTR_MAX) intact = std::min<uint64_t>(intact, offset_ + (lost - reinterpret_cast<uintptr_t>(data_)));
    return intact;
}

void MappedWindow::unmap() {
    if (data_ == nullptr) return;
    Slot& s = g_slots[slot_];
    s.begin.store(0, std::memory_order_release);
    s.end.store(0, std::memory_order_release);
    munmap(const_cast<uint8_t*>(data_), size_);
    s.used.store(false, std::memory_order_release);
    data_ = nullptr;
    size_ = 0;
    slot_ = -1;
}

FileShrink MappedWindow::shrink() const {
    const uint64_t size = file_size(fd_);
    return FileShrink{size, size >= offset_ + size_};
}

uint64_t file_size(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

std::string FileShrink::note() const {
    if (!size) return "";
    if (page_lost) {
        return "; part of the file could not be read through its mapping (an I/O error, or the file was cut and "
               "written again while it was being read)";
    }
    return "; the file shrank to " + std::to_string(*size) + " bytes while it was being read";
}

}  // namespace pcaplens
