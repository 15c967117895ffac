// Live-capture options of the command line (-i, -D, -s, -p, -B, --duration,
// -w, -C, -Z), kept apart from main.cpp so the file and live paths stay small.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "pcaplens/capture/live.hpp"

namespace pcaplens::cli {

struct LiveCli {
    std::string interface;
    bool list = false;          // -D
    int snaplen = 262144;
    bool no_promiscuous = false;
    bool immediate = false;     // --immediate-mode (--no-immediate-mode: the default, kept for scripts)
    bool no_immediate = false;
    int buffer_kib = 0;
    double duration_s = 0;
    std::string write_file;
    double rotate_mb = 0;
    std::string user;           // -Z
};

void add_live_options(CLI::App& app, LiveCli& o);
LiveOptions to_live_options(const LiveCli& o, const std::string& filter);
// -D: prints the interfaces like tcpdump -D; returns the exit status.
int print_interfaces();

}  // namespace pcaplens::cli
