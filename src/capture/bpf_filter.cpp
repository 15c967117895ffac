// BPF filtering applied by pcaplens itself (pcap_offline_filter), so that
// packets rejected by the filter still count for frame numbers.
#include <pcap/pcap.h>

#include "pcaplens/capture/source.hpp"

namespace pcaplens {

struct BpfFilter::Impl {
    bpf_program prog{};
};

BpfFilter::BpfFilter(const std::string& expr, int linktype, uint32_t snaplen) : impl_(std::make_unique<Impl>()) {
    // pcaplens's pcapng reader reports LINKTYPE_* values as stored in the
    // file; libpcap's compiler wants DLT_* values, which differ for raw IP
    // (LINKTYPE_RAW 101 and OpenBSD's DLT_RAW 14 are DLT_RAW here).
    const int dlt = (linktype == 101 || linktype == 14) ? DLT_RAW : linktype;
    pcap_t* dead = pcap_open_dead(dlt, static_cast<int>(snaplen));
    if (!dead) throw UsageError("cannot prepare a BPF compiler for link type " + std::to_string(linktype));
    if (pcap_compile(dead, &impl_->prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        std::string err = pcap_geterr(dead);
        pcap_close(dead);
        const char* name = pcap_datalink_val_to_name(linktype);
        throw UsageError("bad filter expression '" + expr + "' for link type " + (name ? name : std::to_string(linktype)) + ": " + err);
    }
    pcap_close(dead);
}

BpfFilter::~BpfFilter() {
    pcap_freecode(&impl_->prog);
}

bool BpfFilter::matches(const PacketView& p) const {
    pcap_pkthdr hdr{};
    hdr.caplen = p.caplen;
    hdr.len = p.wirelen;
    return pcap_offline_filter(&impl_->prog, &hdr, p.data) != 0;
}

}  // namespace pcaplens
