// The capture-quality verdict shared by the text and JSON reports.
#include "pcaplens/report/record.hpp"

namespace pcaplens {

QualityVerdict assess_quality(const Summary& s, const std::vector<FileStats>& files) {
    QualityVerdict v;
    auto missed = [&v](uint64_t n, const std::string& what) {
        if (n == 0) return;
        v.capture_complete = false;
        v.capture_missed.push_back(std::to_string(n) + " " + what);
    };
    const auto count = [&s](AnomalyKind k) { return s.anomalies[static_cast<size_t>(k)]; };
    missed(s.missing_bytes, "payload bytes never captured (delivered as gaps)");
    missed(count(AnomalyKind::ack_unseen_segment), "times a peer acknowledged data the capture never saw");
    missed(s.truncated_packets, "packets cut by the snaplen");
    missed(s.one_sided_connections, "connections captured in one direction only");
    missed(s.live_drops + s.live_ifdrops, "packets dropped by the kernel or interface while capturing");
    uint64_t damaged = 0;
    for (const auto& f : files) damaged += f.damage ? 1 : 0;
    missed(damaged, "damaged capture files (read up to the damage)");

    const uint64_t total = s.payload_bytes + s.retransmitted_bytes;
    v.retransmission_rate_pct = total ? 100.0 * static_cast<double>(s.retransmitted_bytes) / static_cast<double>(total) : 0;
    auto lost = [&v](uint64_t n, const std::string& what) {
        if (n == 0) return;
        v.network_loss_seen = true;
        v.network_lost.push_back(std::to_string(n) + " " + what);
    };
    lost(s.retransmissions, "retransmitted segments (" + std::to_string(s.retransmitted_bytes) + " bytes)");
    lost(count(AnomalyKind::duplicate_ack), "duplicate ACKs");
    lost(count(AnomalyKind::syn_retransmission) + count(AnomalyKind::synack_retransmission), "SYN/SYN-ACK retransmissions");
    return v;
}

}  // namespace pcaplens
