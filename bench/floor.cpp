// The benchmark floor: the least any libpcap-based reader of a capture file
// must do. Opens the file with pcap_open_offline, walks every record with
// pcap_next_ex and counts packets and captured bytes; nothing else. pcaplens
// reads files through the same libpcap calls, so its time divided by this
// program's time is its cost above reading the file.
//
// Usage: pcaplens_floor FILE   ->  "packets N bytes B" on standard output
#include <pcap/pcap.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    pcap_t* p = pcap_open_offline(argv[1], errbuf);
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
