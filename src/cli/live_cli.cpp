#include "live_cli.hpp"

#include <cstdio>

namespace pcaplens::cli {

void add_live_options(CLI::App& app, LiveCli& o) {
    const char* g = "Live capture";
    app.add_option("-i,--interface", o.interface, "Capture live on IFACE instead of reading files")->group(g);
    app.add_flag("-D,--list-interfaces", o.list, "List the interfaces pcaplens can capture on")->group(g);
    // 0 is tcpdump's "the default" (262144); values are checked, not wrapped.
    app.add_option("-s,--snapshot-length", o.snaplen, "Bytes to capture per packet (live; 0: 262144)")
        ->capture_default_str()
        ->check(CLI::Range(0, 262144))
        ->group(g);
    app.add_flag("-p,--no-promiscuous-mode", o.no_promiscuous, "Do not put the interface into promiscuous mode")->group(g);
    auto* imm = app.add_flag("--immediate-mode", o.immediate,
                             "Deliver each packet at once (lower latency; raise -B: the ring holds few snaplen-sized frames)")
                    ->group(g);
    app.add_flag("--no-immediate-mode", o.no_immediate, "Let the kernel batch packets, up to 100 ms (the default)")->excludes(imm)->group(g);
    app.add_option("-B,--buffer-size", o.buffer_kib, "Kernel capture buffer in KiB (0: libpcap default)")
        ->check(CLI::Range(0, 4 * 1024 * 1024))
        ->group(g);
    app.add_option("--duration", o.duration_s, "Stop a live capture after SECONDS")
        ->check(CLI::Range(0.001, 1e9).description("a number of seconds > 0"))
        ->group(g);
    app.add_option("-w,--write", o.write_file, "Also save the raw packets to FILE (pcap) while analysing")->group(g);
    app.add_option("-C,--file-size", o.rotate_mb, "With -w: start a new file (FILE, FILE1, FILE2, ...) after this many MB")
        ->check(CLI::Range(0.000001, 1e9).description("a size in MB > 0"))
        ->group(g);
    app.add_option("-Z,--relinquish-privileges", o.user, "After opening the interface, drop root to USER")->group(g);
}

LiveOptions to_live_options(const LiveCli& o, const std::string& filter) {
    LiveOptions l;
    l.interface = o.interface;
    l.filter = filter;
    l.snaplen = o.snaplen == 0 ? 262144 : o.snaplen;
    l.promiscuous = !o.no_promiscuous;
    l.immediate = o.immediate;
    l.buffer_size_kib = o.buffer_kib;
    l.duration_s = o.duration_s;
    l.write_file = o.write_file;
    l.rotate_bytes = static_cast<uint64_t>(o.rotate_mb * 1e6);
    return l;
}

int print_interfaces() {
    try {
        int n = 0;
        for (const InterfaceInfo& i : list_interfaces()) {
            std::printf("%d.%s", ++n, i.name.c_str());
            if (!i.description.empty()) std::printf(" (%s)", i.description.c_str());
            std::printf(" [%s%s%s]\n", i.up ? "Up" : "Down", i.running ? ", Running" : "", i.loopback ? ", Loopback" : "");
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pcaplens: %s\n", e.what());
        return 4;
    }
}

}  // namespace pcaplens::cli
