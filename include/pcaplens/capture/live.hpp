// Live capture on an interface through libpcap: the same PacketSource as a
// file, so the rest of the pipeline does not know the difference.
#pragma once
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pcaplens/capture/source.hpp"

namespace pcaplens {

struct LiveOptions {
    std::string interface;
    std::string filter;           // BPF, compiled by libpcap and run in the kernel
    int snaplen = 262144;         // -s
    bool promiscuous = true;      // --no-promiscuous-mode turns it off
    bool immediate = false;       // deliver packets at once; else the kernel batches them up to 100 ms
    int buffer_size_kib = 0;      // -B, 0: libpcap's default
    double duration_s = 0;        // stop after this long, 0: until stopped
    std::string write_file;       // -w: also save raw packets here
    uint64_t rotate_bytes = 0;    // -C: start a new -w file after this many bytes (0: never)
};

class LiveSource final : public PacketSource {
public:
    // Opens and activates the interface; throws InputError (no such device,
    // no permission) or UsageError (bad filter) with libpcap's reason.
    LiveSource(const LiveOptions& opt, const std::atomic<bool>* stop);
    ~LiveSource() override;
    LiveSource(const LiveSource&) = delete;
    LiveSource& operator=(const LiveSource&) = delete;

    // Returns packets; while the line is quiet it returns "ticks" (data ==
    // nullptr, caplen 0, ts_ns = now) about every 100 ms so the pipeline can
    // expire idle connections and notice a stop request.
    bool next(PacketView& out) override;
    std::vector<FileStats> file_stats() const override;
    uint64_t packets_seen() const override { return frame_; }
    uint64_t packets_filtered_out() const override { return 0; }
    bool is_live() const override { return true; }
    uint64_t drops() const override;
    uint64_t ifdrops() const override;
    // The capture stopped there, and what came before is reported.
    std::optional<std::string> write_error() const override;

private:
    void open_dump();
    struct Impl;
    std::unique_ptr<Impl> impl_;
    uint64_t frame_ = 0;
};

struct InterfaceInfo {
    std::string name, description;
    std::vector<std::string> addresses;
    bool up = false, running = false, loopback = false;
};
// Interfaces libpcap can capture on (pcap_findalldevs), for -D.
std::vector<InterfaceInfo> list_interfaces();

// Drops root to `user` (and its groups) after the device is open, as tcpdump -Z.
// Throws UsageError when the user does not exist or the change fails.
void drop_privileges(const std::string& user);
// Throws UsageError when `user` does not exist: checked before anything is
// opened or truncated.
void check_user(const std::string& user);

}  // namespace pcaplens
