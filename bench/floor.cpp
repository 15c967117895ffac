// The benchmark floor: the least any libpcap-based reader of a capture file
// must do. Opens the file with pcap_open_offline, walks every record with
// pcap_next_ex and counts packets and captured bytes; nothing else.
//
// libpcap reads the file through stdio, whose buffer is st_blksize (4 KiB)
// by default: one read(2) per 4 KiB. Where system calls are expensive (a VM
// with speculative-execution mitigations) that alone can make this floor
// slower than pcaplens, whose own reader (src/capture/pcap_file.cpp) reads
// 128 KiB at a time. `--stdio-buffer N` gives libpcap's stdio stream an
// N-byte buffer (setvbuf, then pcap_fopen_offline): the same libpcap loop
// with pcaplens's read size, the stricter reference bench/run reports too.
//
// Usage: pcaplens_floor [--stdio-buffer N] FILE  ->  "packets N bytes B" on standard output
#include <pcap/pcap.h>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
    size_t stdio_buffer = 0;
    if (argc == 4 && std::strcmp(argv[1], "--stdio-buffer") == 0) {
        char* end = nullptr;
        errno = 0;
        const unsigned long long n = std::strtoull(argv[2], &end, 10);
        // A typo must not quietly measure the default floor instead.
        if (argv[2][0] < '1' || argv[2][0] > '9' || *end != '\0' || errno != 0 || n > (1ull << 30)) {
            std::fprintf(stderr, "%s: --stdio-buffer wants a size in bytes, 1 .. 1073741824; got '%s'\n", argv[0], argv[2]);
            return 2;
        }
        stdio_buffer = static_cast<size_t>(n);
        argv += 2;
        argc -= 2;
    }
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s [--stdio-buffer N] FILE\n", argv[0]);
        return 2;
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    pcap_t* p = nullptr;
    std::vector<char> buffer(stdio_buffer);
    if (stdio_buffer > 0) {
        FILE* fp = std::fopen(argv[1], "rb");
        if (!fp) {
            std::perror(argv[1]);
            return 4;
        }
        if (std::setvbuf(fp, buffer.data(), _IOFBF, buffer.size()) != 0) {
            std::fprintf(stderr, "%s: setvbuf failed\n", argv[1]);
            return 4;
        }
        p = pcap_fopen_offline(fp, errbuf);  // closes fp in pcap_close
    } else {
        p = pcap_open_offline(argv[1], errbuf);
    }
    if (!p) {
        std::fprintf(stderr, "%s: %s\n", argv[1], errbuf);
        return 4;
    }
    uint64_t packets = 0, bytes = 0;
    struct pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    int rc = 0;
    while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
        ++packets;
        bytes += hdr->caplen;
    }
    int status = 0;
    if (rc == PCAP_ERROR) {
        std::fprintf(stderr, "%s: %s\n", argv[1], pcap_geterr(p));
        status = 3;
    }
    pcap_close(p);
    std::printf("packets %" PRIu64 " bytes %" PRIu64 "\n", packets, bytes);
    return status;
}
