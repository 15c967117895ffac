// One connection's lifecycle as inferred from the wire: both endpoints' RFC
// 9293 states, the handshake, reassembly per direction and the close.
//
// Transitions are applied at the capture point as if it sat at both ends:
// sending a SYN, SYN-ACK or FIN moves the sender; receiving one (or the ACK
// of our FIN) moves the receiver. TIME_WAIT starts when the active closer
// sends the last ACK, as a user reading the ladder expects.
//
// A segment moves an end only if that end would accept it (RFC 9293
// 3.10.7): a RST outside the receiver's window, a RST or an ACK that does
// not acknowledge a SYN-SENT end's SYN, and a RST after both FINs were
// acknowledged change nothing (the first two are segment_outside_window).
// The SYN's ACK covers data carried on the SYN (TCP Fast Open).
#include <algorithm>
#include <cstring>

#include "connection_impl.hpp"

namespace pcaplens {
namespace {

inline bool seq_geq(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; }
// Whether a segment starting at `seq` is acceptable to a receiver whose
// window is [left, right) (RFC 9293 3.10.7.4): left <= seq < right, and with
// a zero window (right == left) the one acceptable number is left itself.
inline bool seg_in_window(uint32_t seq, uint32_t left, uint32_t right) {
    if (right == left) return seq == left;
    return seq_geq(seq, left) && static_cast<int32_t>(right - seq) > 0;
}
inline Role other(Role r) { return r == Role::client ? Role::server : Role::client; }
inline int idx(Role r) { return static_cast<int>(r); }
inline FlowDir flow_dir(Role from) { return from == Role::client ? FlowDir::client_to_server : FlowDir::server_to_client; }

// jemalloc's size class (see Side): a field more moves every connection to
// the 1,536-byte class.
static_assert(sizeof(Connection) <= 1280, "Connection outgrew jemalloc's 1,280-byte class");

// First bytes that look like an HTTP request line ("GET ", "POST ", ...).
bool looks_like_request(const uint8_t* p, uint32_t n) {
    uint32_t i = 0;
    while (i < n && i < 16 && p[i] >= 'A' && p[i] <= 'Z') ++i;
    return i >= 3 && i < n && p[i] == ' ';
}
bool looks_like_response(const uint8_t* p, uint32_t n) { return n >= 5 && std::memcmp(p, "HTTP/", 5) == 0; }

bool well_known(uint16_t port) { return port < 1024 || port == 8080 || port == 8000 || port == 8443 || port == 3128; }

inline void load_words(const IpAddress& ip, uint64_t& w0, uint64_t& w1) {
    std::memcpy(&w0, ip.bytes.data(), 8);
    std::memcpy(&w1, ip.bytes.data() + 8, 8);
}

}  // namespace

ConnKey make_key(const TcpSegment& s) {
    uint64_t s0, s1, d0, d1;
    load_words(s.src, s0, s1);
    load_words(s.dst, d0, d1);
    // Canonical order: any total order on (address words, port) will do.
    const bool src_first = s0 != d0 ? s0 < d0 : s1 != d1 ? s1 < d1 : s.sport <= s.dport;
    ConnKey k;
    if (src_first) {
        k.a0 = s0, k.a1 = s1, k.b0 = d0, k.b1 = d1;
        k.ports_family = uint64_t{s.sport} << 32 | uint64_t{s.dport} << 16;
    } else {
        k.a0 = d0, k.a1 = d1, k.b0 = s0, k.b1 = s1;
        k.ports_family = uint64_t{s.dport} << 32 | uint64_t{s.sport} << 16;
    }
    k.ports_family |= s.src.family;
    return k;
}

Connection::Connection(uint64_t id, const TcpConfig& cfg, ReassemblyBudget& budget, ConnectionObserver& obs)
    : cfg_(cfg), obs_(obs), side_{Side(budget), Side(budget)} {
    facts.id = id;
}

Role Connection::role_of(const TcpSegment& seg) const {
    return (seg.sport == facts.client.port && seg.src == facts.client.ip) ? Role::client : Role::server;
}

void Connection::init_roles(const TcpSegment& seg) {
    const bool syn = seg.has(tcpflag::SYN), ack = seg.has(tcpflag::ACK);
    Endpoint src{seg.src, seg.sport}, dst{seg.dst, seg.dport};
    if (syn && !ack) {
        facts.client = src, facts.server = dst;
        roles_final_ = true;
        return;
    }
    facts.midstream = true;
    if (syn && ack) {  // the SYN-ACK tells the roles for sure
        facts.client = dst, facts.server = src;
        roles_final_ = true;
        return;
    }
    // Inferred: a well-known (or lower) port is the server's; revised by the
    // first payload if it is clearly a request or a response.
    facts.roles_inferred = true;
    const bool src_server = well_known(seg.sport) != well_known(seg.dport) ? well_known(seg.sport) : seg.sport < seg.dport;
    if (src_server) facts.client = dst, facts.server = src;
    else facts.client = src, facts.server = dst;
}

void Connection::swap_roles() {
    std::swap(facts.client, facts.server);
    std::swap(side_[0], side_[1]);
    std::swap(facts.states[0], facts.states[1]);
    std::swap(facts.dir[0], facts.dir[1]);
    for (auto& row : facts.ladder) {
        row.from = other(row.from);
        std::swap(row.client_state, row.server_state);
    }
    for (auto& f : facts.anomalies) {
        if (f.dir == FlowDir::client_to_server) f.dir = FlowDir::server_to_client;
        else if (f.dir == FlowDir::server_to_client) f.dir = FlowDir::client_to_server;
        // The one detail written before the first payload that names a role.
        if (f.kind == AnomalyKind::rst_abort) {
            for (const auto& [was, now] : {std::pair{"RST from client", "RST from server"}, std::pair{"RST from server", "RST from client"}}) {
                if (f.detail.rfind(was, 0) == 0) {
                    f.detail.replace(0, std::strlen(was), now);
                    break;
                }
            }
        }
    }
    // Who closed first, who reset, who holds TIME_WAIT: the same ends, new names.
    if (first_fin_) first_fin_ = other(*first_fin_);
    rst_by_ = other(rst_by_);
    if (facts.time_wait) facts.time_wait->side = other(facts.time_wait->side);
}

void Connection::maybe_infer_roles_from_payload(Role from, const TcpSegment& seg) {
    if (roles_final_) return;
    roles_final_ = true;
    // A consumer already told about a direction (gaps the peer's ACKs proved
    // before any payload, or an end) pins the roles: swapping them now would
    // turn its client-to-server stream into the server-to-client one.
    if (consumer_made_) return;
    const uint32_t n = seg.captured_len;
    if ((from == Role::server && looks_like_request(seg.payload, n)) ||
        (from == Role::client && looks_like_response(seg.payload, n))) {
        swap_roles();
    }
}

void Connection::set_state(Role r, TcpState s, int64_t ts, uint64_t frame) {
    auto& v = facts.states[idx(r)];
    if (!v.empty() && v.back().state == s) return;
    if (v.capacity() == 0) v.reserve(6);  // a full lifecycle is 5-6 states: one allocation, not four
    v.push_back({s, ts, frame});
    if (row_) (r == Role::client ? row_->client_state : row_->server_state) = s;
    if (s == TcpState::TIME_WAIT) {
        if (!facts.time_wait) {
            facts.time_wait = TimeWaitFacts{r, false, ts, ts + 2 * cfg_.msl_ns, frame};
        } else if (facts.time_wait->side != r) {
            facts.time_wait->both = true;
        }
    }
    if (s == TcpState::ESTABLISHED && !facts.handshake.complete && facts.handshake.syn_seen && facts.handshake.synack_seen) {
        const TcpState o = side_[idx(other(r))].state;
        if (o != TcpState::CLOSED && o != TcpState::LISTEN && o != TcpState::SYN_SENT && o != TcpState::SYN_RCVD) {
            facts.handshake.complete = true;
        }
    }
    side_[idx(r)].state = s;
}

void Connection::add_finding(AnomalyKind k, const PacketView& pkt, Role from, std::string detail, uint64_t frame2) {
    ++facts.anomalies_total;
    if (facts.anomalies.size() >= cfg_.max_anomalies_per_connection) {
        // Keep counting by kind even when the list is capped.
        auto it = std::find_if(facts.anomalies_dropped.begin(), facts.anomalies_dropped.end(),
                               [k](const auto& e) { return e.first == k; });
        if (it == facts.anomalies_dropped.end()) facts.anomalies_dropped.emplace_back(k, 1);
        else ++it->second;
        return;
    }
    Finding f;
    f.kind = k;
    f.ts_ns = pkt.ts_ns;
    f.frame = pkt.frame;
    f.frame2 = frame2;
    f.connection = facts.id;
    f.dir = flow_dir(from);
    f.detail = std::move(detail);
    facts.anomalies.push_back(std::move(f));
}

uint32_t Connection::rel_seq(Role r, uint32_t seq) const {
    const Side& s = side_[idx(r)];
    return s.rel_base_set ? seq - s.rel_base : 0;
}

uint64_t Connection::scaled_window(Role r, const TcpSegment& seg) const {
    const Side& s = side_[idx(r)];
    const Side& o = side_[idx(other(r))];
    if (seg.has(tcpflag::SYN) || s.wscale < 0 || o.wscale < 0) return seg.window;
    return uint64_t{seg.window} << std::min<int16_t>(s.wscale, 14);
}

bool Connection::closed() const {
    if (rst_seen_) return true;
    return side_[0].fin_sent && side_[1].fin_sent && side_[0].fin_acked && side_[1].fin_acked;
}

// A closed connection lingers (close_linger, 5 s by default) for packets
// still on their way: on the 1 GB bench trace ~8,000 at once, a third of the
// heap. Its samples of delivered data (768 bytes, both directions) are no
// longer worth keeping. Both FINs acknowledged means every byte either way is
// (the ACK is cumulative); after an accepted RST no data is taken at all
// (handle_data stops first). A later copy of acknowledged bytes is one no
// receiver takes: a spurious retransmission, no longer compared. Zeek, by
// default, compares only unacknowledged data (tcp_max_old_segments = 0).
// -q on the 1 GB bench trace: peak RSS 66.8 -> 59.8 MB, 0.75 -> 0.71 s.
void Connection::release_closed_state() {
    for (Side& s : side_) s.reasm.forget_delivered();
}

bool Connection::accepts_new_syn(const TcpSegment& seg) const {
    if (!seg.has(tcpflag::SYN) || seg.has(tcpflag::ACK)) return false;
    if (rst_seen_ || (side_[0].fin_sent && side_[1].fin_sent)) return true;
    const Role from = role_of(seg);
    const Side& s = side_[idx(from)];
    // An end that has closed its half cannot open anything more in this
    // connection: a SYN from it (other than a copy of its own) is a new one.
    if (s.fin_sent && !(s.syn_sent && seg.seq == s.isn)) return true;
    if (s.state == TcpState::TIME_WAIT || s.state == TcpState::CLOSED) {
        return !(s.syn_sent && !s.synack_sent && seg.seq == s.isn && s.state != TcpState::TIME_WAIT);
    }
    // Joined in progress: this end's SYN cannot come later in the same
    // connection, so a bare SYN from it opens a new one on the 4-tuple
    // (unless the peer's SYN-ACK was seen: then it is a retransmission).
    const Side& o = side_[idx(other(from))];
    if (facts.midstream && !s.syn_sent && !(o.synack_sent && acks_syn_at(o.last_ack, seg.seq, seg.payload_len))) {
        return true;
    }
    // A fresh attempt (new ISN) after an unanswered one.
    return s.state == TcpState::SYN_SENT && !facts.handshake.synack_seen && seg.seq != s.isn;
}

void Connection::on_segment(const PacketView& pkt, const TcpSegment& seg) {
    if (facts.first_frame == 0) {
        init_roles(seg);
        facts.first_ts = pkt.ts_ns;
        facts.last_ts = pkt.ts_ns;   // (a time before 1970 is negative: the maximum below must not start at 0)
        facts.first_frame = pkt.frame;
        if (facts.midstream && !seg.has(tcpflag::SYN)) {
            // Joined an established connection: assume both ends are there.
            row_ = nullptr;
            set_state(Role::client, TcpState::ESTABLISHED, pkt.ts_ns, pkt.frame);
            set_state(Role::server, TcpState::ESTABLISHED, pkt.ts_ns, pkt.frame);
            add_finding(AnomalyKind::midstream_pickup, pkt, role_of(seg), "no SYN seen; connection joined in progress");
        }
    }
    facts.last_ts = std::max(facts.last_ts, pkt.ts_ns);
    facts.last_frame = pkt.frame;
    Role from = role_of(seg);
    {
        Side& s = side_[idx(from)];
        // A RST does not set the base: an injected one carries any number
        // (often 0), and the ladder would count from it.
        if (!s.rel_base_set && !seg.has(tcpflag::RST)) {
            s.rel_base_set = true;
            s.rel_base = seg.has(tcpflag::SYN) ? seg.seq : seg.seq - 1;
        }
    }
    row_ = nullptr;
    if (cfg_.timeline) {
        if (facts.ladder.size() < cfg_.max_ladder_rows) {
            LadderRow row;
            row.ts_ns = pkt.ts_ns;
            row.frame = pkt.frame;
            row.from = from;
            row.flags = seg.flags;
            row.rel_seq = rel_seq(from, seg.seq);
            row.rel_ack = seg.has(tcpflag::ACK) && side_[idx(other(from))].rel_base_set ? seg.ack - side_[idx(other(from))].rel_base : 0;
            row.len = seg.payload_len;
            row.window = static_cast<uint32_t>(std::min<uint64_t>(scaled_window(from, seg), UINT32_MAX));
            facts.ladder.push_back(row);
            row_ = &facts.ladder.back();
        } else {
            facts.ladder_truncated = true;
        }
    }
    DirectionFacts& d = facts.dir[idx(from)];
    ++d.packets;
    d.wire_payload_bytes += seg.payload_len;

    if (seg.has(tcpflag::RST)) {
        handle_rst(from, pkt, seg);
        row_ = nullptr;
        return;
    }
    if (seg.has(tcpflag::SYN)) {
        handle_syn(from, pkt, seg);
    } else if (seg.has(tcpflag::ACK) && unacceptable_in_syn_sent(from, seg)) {
        Side& o = side_[idx(other(from))];
        o.bad_ack_pending = true;
        o.bad_ack = seg.ack;
        add_finding(AnomalyKind::segment_outside_window, pkt, from,
                    "ACK of " + std::to_string(seg.ack - o.isn) +
                        " to an end in SYN-SENT, which acknowledges not its SYN (an earlier connection's?); "
                        "that end answers with a RST and stays in SYN-SENT (RFC 9293 3.10.7.3)");
        row_ = nullptr;
        return;
    } else if (seg.payload_len == 0 && acks_unseen_synack(from, seg)) {
        add_finding(AnomalyKind::ack_unseen_segment, pkt, from, "acknowledges a SYN-ACK the capture never saw");
        set_state(from, TcpState::ESTABLISHED, pkt.ts_ns, pkt.frame);
    }
    // The peer's bytes this packet's ACK proves sent (a hole becomes a gap)
    // go to the consumer before this packet's own bytes: the sender had them
    // before it sent these -- a response after its request, even when the
    // request waited behind a lost segment. (Not while the first payload may
    // still swap the roles: then after it, with the rest of the ACK.)
    const bool gap_first = seg.payload_len > 0 && roles_final_ && seg.has(tcpflag::ACK) && !rst_seen_;
    if (gap_first) gap_from_ack(from, pkt, seg.ack);
    if (seg.payload_len > 0) {
        handle_data(from, pkt, seg);
        from = role_of(seg);  // roles may have been revised by the first payload
    }
    check_ack_and_window(from, pkt, seg);
    if (seg.has(tcpflag::ACK)) {
        handle_ack(from, pkt, seg);
        if (!gap_first) gap_from_ack(from, pkt, seg.ack);
    }
    if (seg.payload_len == 0 && !seg.has(tcpflag::SYN) && !seg.has(tcpflag::FIN)) {
        const Side& s = side_[idx(from)];
        if (s.reasm.initialized() && seg.seq == s.reasm.next_seq() - 1 &&
            (s.reasm.delivered() > 0 || (s.syn_sent && seg.seq == s.isn))) {
            ++facts.dir[idx(from)].keepalives;
            add_finding(AnomalyKind::keepalive, pkt, from, "zero-length segment at next sequence - 1");
        }
    }
    if (seg.has(tcpflag::FIN)) handle_fin(from, pkt, seg);
    const uint64_t w = scaled_window(from, seg);
    DirectionFacts& d2 = facts.dir[idx(from)];
    d2.max_window = std::max(d2.max_window, w);
    if (seg.window == 0 && !seg.has(tcpflag::SYN) && !seg.has(tcpflag::FIN) && !seg.has(tcpflag::RST)) ++d2.zero_windows;
    side_[idx(from)].last_window = seg.window;
    row_ = nullptr;
}

void Connection::handle_syn(Role from, const PacketView& pkt, const TcpSegment& seg) {
    Side& s = side_[idx(from)];
    Side& o = side_[idx(other(from))];
    HandshakeFacts& hs = facts.handshake;
    NegotiatedOptions opts{seg.options.mss, seg.options.wscale, seg.options.sack_permitted, seg.options.has_timestamps};
    if (!seg.has(tcpflag::ACK)) {
        if (!s.syn_sent) {
            s.syn_sent = true;
            s.isn = seg.seq;
            s.syn_len = seg.payload_len;
            s.wscale = seg.options.wscale;
            if (!s.reasm.initialized()) s.reasm.init(seg.seq + 1);
            if (from == Role::client) {
                hs.syn_seen = true;
                hs.syn_ts = hs.last_syn_ts = latest_syn_ts_ = pkt.ts_ns;
                hs.syn_frame = pkt.frame;
                hs.client_isn = seg.seq;
                hs.client_options = opts;
                if (o.synack_sent && acks_syn(s, o.last_ack)) {
                    // Captured after the SYN-ACK that answered it (reordered
                    // at the capture point): the handshake is all here, and
                    // the ends are already past these states.
                    facts.midstream = false;
                } else {
                    set_state(Role::client, TcpState::SYN_SENT, pkt.ts_ns, pkt.frame);
                    if (o.state == TcpState::CLOSED && !o.syn_sent) set_state(Role::server, TcpState::LISTEN, pkt.ts_ns, pkt.frame);
                }
            } else {
                // The other end sent its own SYN: simultaneous open.
                hs.simultaneous_open = true;
                hs.server_isn = seg.seq;
                hs.server_options = opts;
                // Both ends opened actively (RFC 9293 Figure 7): neither
                // listened, and each receives the other's SYN in SYN-SENT.
                drop_implied_listen();
                set_state(Role::server, TcpState::SYN_SENT, pkt.ts_ns, pkt.frame);
                if (o.state == TcpState::SYN_SENT) {
                    set_state(Role::client, TcpState::SYN_RCVD, pkt.ts_ns, pkt.frame);
                    set_state(Role::server, TcpState::SYN_RCVD, pkt.ts_ns, pkt.frame);
                }
                add_finding(AnomalyKind::simultaneous_open, pkt, from, "both ends sent a SYN");
            }
        } else if (seg.seq == s.isn) {
            if (from == Role::client) {
                ++hs.syn_retransmissions;
                latest_syn_ts_ = pkt.ts_ns;
                if (!hs.synack_seen) hs.last_syn_ts = pkt.ts_ns;
                add_finding(AnomalyKind::syn_retransmission, pkt, from,
                            "SYN retransmission #" + std::to_string(hs.syn_retransmissions), hs.syn_frame);
            } else if (hs.simultaneous_open) {
                // The other active opener's SYN again (the handshake counts
                // are the client's; the finding is not).
                add_finding(AnomalyKind::syn_retransmission, pkt, from, "SYN retransmission (simultaneous open)");
            }
        }
    } else {
        if (!s.synack_sent) {
            s.synack_sent = true;
            if (!s.syn_sent) {
                s.syn_sent = true;
                s.isn = seg.seq;
                s.syn_len = seg.payload_len;
                s.wscale = seg.options.wscale;
            }
            if (!s.reasm.initialized()) s.reasm.init(seg.seq + 1);
            if (from == Role::server) {
                hs.synack_seen = true;
                hs.synack_ts = hs.answer_synack_ts = hs.last_synack_ts = pkt.ts_ns;
                hs.synack_frame = pkt.frame;
                hs.server_isn = seg.seq;
                hs.server_options = opts;
                if (hs.syn_seen && !acks_syn(o, seg.ack)) {
                    hs.synack_bad_ack = true;
                    if (o.state == TcpState::SYN_SENT) {  // it answers with <SEQ=SEG.ACK><CTL=RST> and stays (RFC 9293 3.10.7.3)
                        o.bad_ack_pending = true;
                        o.bad_ack = seg.ack;
                    }
                    add_finding(AnomalyKind::synack_bad_ack, pkt, from,
                                "SYN-ACK acknowledges " + std::to_string(seg.ack - hs.client_isn) + " instead of ISN+1");
                }
            }
            const TcpState st = s.state;
            if (st == TcpState::CLOSED || st == TcpState::LISTEN || st == TcpState::SYN_SENT) {
                set_state(from, TcpState::SYN_RCVD, pkt.ts_ns, pkt.frame);
            }
        } else if (seg.seq == s.isn && from == Role::server) {
            ++hs.synack_retransmissions;
            if (!hs.ack_seen) {
                // The handshake ACK will answer this copy. It answers a SYN
                // retransmitted since the last SYN-ACK, if there was one
                // (the first SYN-ACK was lost), else the server's timer.
                hs.last_synack_ts = pkt.ts_ns;
                if (latest_syn_ts_ > hs.answer_synack_ts) {
                    hs.last_syn_ts = latest_syn_ts_;
                    hs.answer_synack_ts = pkt.ts_ns;
                }
            }
            add_finding(AnomalyKind::synack_retransmission, pkt, from,
                        "SYN-ACK retransmission #" + std::to_string(hs.synack_retransmissions), hs.synack_frame);
        } else if (seg.seq == s.isn && hs.simultaneous_open) {
            add_finding(AnomalyKind::synack_retransmission, pkt, from, "SYN-ACK retransmission (simultaneous open)");
        } else if (from == Role::server && alt_synacks_.size() < kMaxAltSynAcks) {
            // Another SYN-ACK with a different ISN: the client's ACK tells
            // which one it took (see handle_ack).
            alt_synacks_.push_back({seg.seq, pkt.ts_ns, pkt.frame, opts});
        }
        // The receiver of a SYN-ACK that acknowledges its SYN is established.
        if (o.state == TcpState::SYN_SENT || o.state == TcpState::SYN_RCVD) {
            if (acks_syn(o, seg.ack)) set_state(other(from), TcpState::ESTABLISHED, pkt.ts_ns, pkt.frame);
        } else if (!o.syn_sent && o.state == TcpState::CLOSED && facts.midstream) {
            set_state(other(from), TcpState::ESTABLISHED, pkt.ts_ns, pkt.frame);  // its SYN was not captured
        }
    }
    if (seg.payload_len > 0) add_finding(AnomalyKind::syn_with_data, pkt, from, std::to_string(seg.payload_len) + " bytes on a SYN");
}

// A segment (no SYN) whose ACK a SYN-SENT peer cannot accept: nothing but
// its SYN has been sent, so only the SYN's ACK is acceptable.
bool Connection::unacceptable_in_syn_sent(Role from, const TcpSegment& seg) const {
    const Side& o = side_[idx(other(from))];
    return o.state == TcpState::SYN_SENT && o.syn_sent && !o.synack_sent && !acks_syn(o, seg.ack) && !side_[idx(from)].syn_sent;
}

// A segment (no SYN, no data) from a client in SYN-SENT that carries an
// ACK right after its SYN: it got a SYN-ACK the capture did not see. (ACK 0
// is taken for a bogus one -- crafted traffic -- not a server ISN of 2^32-1.)
bool Connection::acks_unseen_synack(Role from, const TcpSegment& seg) const {
    const Side& s = side_[idx(from)];
    return from == Role::client && !facts.midstream && s.state == TcpState::SYN_SENT && !facts.handshake.synack_seen &&
           seg.has(tcpflag::ACK) && !seg.has(tcpflag::RST) && seg.ack != 0 && seg.seq == s.isn + 1 + s.syn_len;
}

bool Connection::window_scaling_known() const {
    // Without both SYNs the scale factors (and so the windows) are unknown.
    return facts.handshake.syn_seen && (facts.handshake.synack_seen || facts.handshake.simultaneous_open);
}

// The right edge of the window `o` last advertised: from its last ACK with
// the scaling known, or -- before any other -- from its SYN-ACK, whose window
// is never scaled (RFC 7323 2.2), so the first flight is checked too.
std::optional<uint32_t> Connection::advertised_right_edge(const Side& o) const {
    if (o.edge_valid) return o.right_edge;
    if (o.ack_seen && o.synack_sent && window_scaling_known()) return o.last_ack + o.last_window;
    return std::nullopt;
}

void Connection::check_ack_and_window(Role from, const PacketView& pkt, const TcpSegment& seg) {
    Side& s = side_[idx(from)];
    const Side& o = side_[idx(other(from))];
    const bool syn_fin_rst = seg.has(tcpflag::SYN) || seg.has(tcpflag::FIN) || seg.has(tcpflag::RST);
    if (seg.window == 0 && !syn_fin_rst) {
        add_finding(AnomalyKind::zero_window, pkt, from, "advertises a zero receive window");
    }
    if (!seg.has(tcpflag::ACK) || seg.has(tcpflag::SYN) || seg.has(tcpflag::RST)) return;
    // Duplicate ACK: a pure ACK repeating ack and window while the peer has
    // unacknowledged data in flight (a window update or keep-alive ACK is not one).
    // A zero window is not a duplicate ACK (the answers to zero-window
    // probes repeat it; Wireshark's rule also asks for a non-zero window).
    const bool pure = seg.payload_len == 0 && !syn_fin_rst && seg.window != 0;
    const bool outstanding = o.reasm.initialized() && static_cast<int64_t>(o.reasm.highest_seen()) > o.reasm.offset_of(seg.ack);
    if (pure && s.ack_seen && seg.ack == s.last_ack && seg.window == s.last_window && outstanding) {
        ++s.dup_acks;
        add_finding(AnomalyKind::duplicate_ack, pkt, from, "duplicate ACK #" + std::to_string(s.dup_acks));
        if (s.dup_acks == 3) add_finding(AnomalyKind::triple_duplicate_ack, pkt, from, "third duplicate ACK for the same number");
    } else if (!s.ack_seen || seg.ack != s.last_ack || seg.window != s.last_window || seg.payload_len > 0) {
        s.dup_acks = 0;
    }
    // The right edge of the window this side advertises.
    if (window_scaling_known()) {
        const uint32_t edge = seg.ack + static_cast<uint32_t>(std::min<uint64_t>(scaled_window(from, seg), UINT32_MAX));
        // A scaled window is rounded to 2^shift bytes, so the edge may move
        // left by less than that without the receiver shrinking anything.
        const int shift = (s.wscale >= 0 && o.wscale >= 0) ? std::min<int>(s.wscale, 14) : 0;
        if (s.edge_valid && static_cast<int32_t>(edge - s.right_edge) <= -(int32_t{1} << shift)) {
            add_finding(AnomalyKind::window_shrink, pkt, from,
                        "right edge of the window moved left by " + std::to_string(s.right_edge - edge) + " bytes");
        }
        s.right_edge = edge;
        s.edge_valid = true;
    }
}

void Connection::handle_ack(Role from, const PacketView& pkt, const TcpSegment& seg) {
    Side& s = side_[idx(from)];
    Side& o = side_[idx(other(from))];
    HandshakeFacts& hs = facts.handshake;
    const uint32_t ack = seg.ack;
    if (!seg.has(tcpflag::SYN) && from == Role::client && hs.synack_seen && !hs.ack_seen && ack != hs.server_isn + 1 &&
        o.reasm.delivered() == 0 && o.reasm.highest_seen() == 0 && !o.fin_sent) {
        // Several SYN-ACKs with different ISNs and the client acknowledges a
        // later one: that is the server's sequence space; the data follows it.
        for (const AltSynAck& alt : alt_synacks_) {
            if (ack != alt.isn + 1) continue;
            o.isn = alt.isn;
            o.rel_base = alt.isn;
            o.reasm.init(alt.isn + 1);
            hs.server_isn = alt.isn;
            hs.synack_ts = hs.answer_synack_ts = hs.last_synack_ts = alt.ts;
            hs.synack_frame = alt.frame;
            hs.server_options = alt.opts;
            break;
        }
    }
    if (!seg.has(tcpflag::SYN)) {
        if (o.state == TcpState::SYN_RCVD && acks_syn(o, ack)) {
            set_state(other(from), TcpState::ESTABLISHED, pkt.ts_ns, pkt.frame);
        }
        if (from == Role::client && hs.synack_seen && !hs.ack_seen) {
            hs.ack_seen = true;
            hs.ack_ts = pkt.ts_ns;
            hs.ack_frame = pkt.frame;
            if (!acks_syn(o, ack)) {
                hs.ack_bad_ack = true;
                add_finding(AnomalyKind::handshake_ack_bad_ack, pkt, from,
                            "handshake ACK acknowledges " + std::to_string(ack - hs.server_isn) + " instead of ISN+1");
            }
        }
    }
    // Our FIN acknowledged by the peer.
    if (o.fin_sent && !o.fin_acked && seq_geq(ack, o.fin_seq + 1)) {
        o.fin_acked = true;
        switch (o.state) {
            case TcpState::FIN_WAIT_1: set_state(other(from), TcpState::FIN_WAIT_2, pkt.ts_ns, pkt.frame); break;
            case TcpState::CLOSING: set_state(other(from), TcpState::TIME_WAIT, pkt.ts_ns, pkt.frame); break;
            case TcpState::LAST_ACK: set_state(other(from), TcpState::CLOSED, pkt.ts_ns, pkt.frame); break;
            default: break;
        }
    }
    // The active closer's last ACK.
    if (s.state == TcpState::FIN_WAIT_2 && s.got_peer_fin && o.fin_sent && seq_geq(ack, o.fin_seq + 1) &&
        !seg.has(tcpflag::FIN)) {
        set_state(from, TcpState::TIME_WAIT, pkt.ts_ns, pkt.frame);
    }
    s.ack_seen = true;
    s.last_ack = ack;
}

// ACKed bytes of the peer's stream the capture never saw: they become a gap,
// and what was buffered behind it is delivered. (Not an ACK a SYN-SENT end
// refuses: it acknowledges nothing of ours.) Idempotent for the same ACK.
void Connection::gap_from_ack(Role from, const PacketView& pkt, uint32_t ack) {
    Side& o = side_[idx(other(from))];
    if (o.reasm.initialized() && !o.stream_ended && !(o.state == TcpState::SYN_SENT && !acks_syn(o, ack))) {
        int64_t ack_off = o.reasm.offset_of(ack);
        if (o.fin_sent) ack_off = std::min<int64_t>(ack_off, static_cast<int64_t>(o.fin_off));
        const uint64_t delivered = o.reasm.delivered();
        if (!o.fin_sent && ack_off == static_cast<int64_t>(delivered) + 1 && o.reasm.highest_seen() <= delivered &&
            !o.reasm.has_buffered()) {
            // One number beyond all of the sender's data: its FIN, most
            // likely, not captured or captured late. Not a gap unless data
            // beyond it follows (handle_data); said once.
            if (o.acked_unseen_one != delivered) {
                o.acked_unseen_one = delivered;
                add_finding(AnomalyKind::ack_unseen_segment, pkt, from,
                            "ACKs 1 sequence number the capture never saw (a FIN not captured or captured later; a "
                            "missing byte only if data follows it)");
            }
            return;
        }
        if (ack_off > static_cast<int64_t>(delivered)) {
            o.acked_unseen_one = UINT64_MAX;
            // Beyond everything captured: the catalogue's ack_unseen_segment
            // (a hole below captured data was reported when it opened). All
            // holes below the ACK become gaps now; bytes that turn up there
            // later are new to the wire, not retransmissions (hole() notes
            // them in `unseen`).
            if (static_cast<uint64_t>(ack_off) > o.reasm.highest_seen()) {
                add_finding(AnomalyKind::ack_unseen_segment, pkt, from,
                            "ACKs " + std::to_string(static_cast<uint64_t>(ack_off) - std::max(o.reasm.highest_seen(), o.reasm.delivered())) +
                                " bytes the capture never saw");
            }
            feeding_ = other(from);
            o.reasm.advance_to(static_cast<uint64_t>(ack_off), pkt.ts_ns, *this);
            maybe_end_stream(other(from), pkt.ts_ns);
        }
    }
}

void Connection::handle_data(Role from, const PacketView& pkt, const TcpSegment& seg) {
    maybe_infer_roles_from_payload(from, seg);
    from = role_of(seg);
    Side& s = side_[idx(from)];
    DirectionFacts& d = facts.dir[idx(from)];
    if (rst_seen_) {
        add_finding(AnomalyKind::data_after_rst, pkt, from, std::to_string(seg.payload_len) + " bytes after the reset");
        return;
    }
    const bool syn = seg.has(tcpflag::SYN);
    const uint32_t seq = syn ? seg.seq + 1 : seg.seq;
    if (!s.reasm.initialized()) s.reasm.init(seq);
    if (s.acked_unseen_one != UINT64_MAX) {
        // Data reaching the number the peer ACKed unseen: it was a byte. If
        // this starts beyond it, that byte was never captured: a gap now.
        const int64_t off = s.reasm.offset_of(seq);
        if (off + static_cast<int64_t>(seg.payload_len) > static_cast<int64_t>(s.acked_unseen_one)) {
            if (off > static_cast<int64_t>(s.acked_unseen_one)) {
                feeding_ = from;
                s.reasm.advance_to(s.acked_unseen_one + 1, pkt.ts_ns, *this);
            }
            s.acked_unseen_one = UINT64_MAX;
        }
    }
    // Keep-alive probe: one byte (or none) at next sequence - 1 (RFC 9293
    // 3.8.4) -- after data, or at the ISN itself (that number is the SYN's,
    // never a data byte). The same byte again while the peer advertises a
    // zero window is the zero-window probe repeated (RFC 9293 3.8.6.1).
    const Side& peer = side_[idx(other(from))];
    if (!syn && !seg.has(tcpflag::FIN) && seg.payload_len == 1 && seq == s.reasm.next_seq() - 1 &&
        (s.reasm.delivered() > 0 || (s.syn_sent && seq == s.isn))) {
        if (peer.edge_valid && peer.last_window == 0 && s.reasm.delivered() > 0) {
            add_finding(AnomalyKind::zero_window_probe, pkt, from, "the 1-byte probe again; the peer still advertises a zero window");
            return;
        }
        ++d.keepalives;
        add_finding(AnomalyKind::keepalive, pkt, from, "1-byte segment at next sequence - 1");
        return;
    }
    // The stream ends at the FIN, whatever order the capture saw them in:
    // bytes beyond it are reported and never reach the stream or its counts;
    // the part before it is handled as any data (a retransmission, or the
    // bytes a FIN captured early was waiting for).
    uint32_t len = seg.payload_len, caplen = seg.captured_len;
    if (s.fin_sent) {
        const int64_t off = s.reasm.offset_of(seq);
        const int64_t beyond = off + static_cast<int64_t>(len) - static_cast<int64_t>(s.fin_off);
        if (beyond > 0) {
            add_finding(AnomalyKind::data_after_fin, pkt, from, "data beyond the sender's FIN");
            if (off >= static_cast<int64_t>(s.fin_off)) return;
            len -= static_cast<uint32_t>(beyond);
            caplen = std::min(caplen, len);
        }
    }
    // Once the stream has ended only retransmissions of delivered bytes can
    // come; they are still counted (add() cannot deliver them again).
    if (s.stream_ended && s.reasm.offset_of(seq) + static_cast<int64_t>(len) > static_cast<int64_t>(s.reasm.delivered())) {
        return;
    }
    // Bytes of a range the peer ACKed before the capture saw them: the
    // stream already holds a gap there, but they are new on the wire.
    uint64_t late = 0;
    if (!s.unseen.empty()) {
        const int64_t so = s.reasm.offset_of(seq);
        const uint64_t a = static_cast<uint64_t>(std::max<int64_t>(so, 0));
        const uint64_t b = static_cast<uint64_t>(std::max<int64_t>(so + len, 0));
        std::vector<std::pair<uint64_t, uint64_t>> rest;
        for (const auto& [u0, u1] : s.unseen) {
            const uint64_t lo = std::max(a, u0), hi = std::min(b, u1);
            if (lo >= hi) {
                rest.emplace_back(u0, u1);
                continue;
            }
            late += hi - lo;
            if (u0 < lo) rest.emplace_back(u0, lo);
            if (hi < u1) rest.emplace_back(hi, u1);
        }
        s.unseen = std::move(rest);
    }
    // Window checks against what the peer last advertised (precedence: a
    // zero-window probe is not "outside the window").
    bool zwp = false;
    const std::optional<uint32_t> right = advertised_right_edge(peer);
    if (right && peer.last_window == 0 && seg.payload_len == 1 && seq == s.reasm.next_seq()) {
        zwp = true;
        add_finding(AnomalyKind::zero_window_probe, pkt, from, "1 byte while the peer advertises a zero window");
    } else if (right) {
        // Data bytes only: a FIN's sequence number is no byte. A FIN is not
        // "window full" either (Wireshark's rule), but its data can overrun.
        const uint32_t end = seq + seg.payload_len;
        if (static_cast<int32_t>(end - *right) > 0) {
            add_finding(AnomalyKind::segment_outside_window, pkt, from,
                        std::to_string(end - *right) + " bytes beyond the receive window the peer advertised");
        } else if (end == *right && !seg.has(tcpflag::FIN)) {
            add_finding(AnomalyKind::window_full, pkt, from, "fills the peer's advertised window exactly");
        }
    }
    if (!facts.midstream && !syn && s.state == TcpState::SYN_SENT && seg.has(tcpflag::ACK) && !facts.handshake.synack_seen) {
        // Data with an ACK from a SYN_SENT client proves a SYN-ACK the
        // capture did not see (one-sided or lossy capture): it is established.
        add_finding(AnomalyKind::ack_unseen_segment, pkt, from, "acknowledges a SYN-ACK the capture never saw");
        set_state(from, TcpState::ESTABLISHED, pkt.ts_ns, pkt.frame);
    } else if (!facts.midstream && !syn && !s.early_data_reported &&
               (s.state == TcpState::SYN_SENT || s.state == TcpState::SYN_RCVD)) {
        s.early_data_reported = true;
        add_finding(AnomalyKind::data_before_handshake, pkt, from,
                    std::string("data while the ") + role_name(from) + " is in " + state_name(s.state));
    }
    feeding_ = from;
    // A segment starting below the furthest byte captured so far, beyond the
    // next one to deliver, lands inside a hole (before data already seen).
    // Where the segment starts relative to everything seen so far: beyond it
    // opens a hole (Wireshark's lost_segment); before it, it lands in one.
    const int64_t seen_end = static_cast<int64_t>(std::max(s.reasm.highest_seen(), s.reasm.delivered()));
    const bool inside_hole = s.reasm.offset_of(seq) < seen_end;
    const bool opens_hole = s.reasm.offset_of(seq) > seen_end;
    const AddResult r = s.reasm.add(seq, seg.payload, caplen, len, pkt.ts_ns, pkt.frame, *this);
    late = std::min<uint64_t>(late, r.old_bytes);
    const uint64_t old_bytes = r.old_bytes - late;
    d.payload_bytes += r.new_bytes + late;
    d.retransmitted_bytes += old_bytes;
    if (old_bytes > 0) {
        ++d.retransmissions;
        if (r.new_bytes == 0 && late == 0 && !zwp) {
            // Which kind of retransmission (exclusive, as Wireshark): the peer
            // had already ACKed it -> spurious; it answers 2+ duplicate ACKs
            // for its first byte -> fast; otherwise a plain retransmission.
            if (peer.ack_seen && seq_geq(peer.last_ack, seq + len)) {
                add_finding(AnomalyKind::spurious_retransmission, pkt, from,
                            std::to_string(old_bytes) + " bytes the peer had already acknowledged");
            } else if (peer.dup_acks >= 2 && peer.last_ack == seq) {
                add_finding(AnomalyKind::fast_retransmission, pkt, from,
                            "after " + std::to_string(peer.dup_acks) + " duplicate ACKs for this sequence number");
            } else {
                add_finding(AnomalyKind::retransmission, pkt, from, std::to_string(old_bytes) + " bytes seen before");
            }
        }
    }
    if (late > 0) {
        ++d.out_of_order;
        add_finding(AnomalyKind::out_of_order, pkt, from,
                    std::to_string(late) + " bytes arrive late; the stream has a gap there");
    }
    if (r.out_of_order && r.new_bytes > 0 && opens_hole) {  // only the segment that opens the hole
        add_finding(AnomalyKind::previous_segment_not_captured, pkt, from, "segment beyond a hole in the stream");
    }
    if ((r.filled_hole || (r.out_of_order && inside_hole)) && r.new_bytes > 0) {
        ++d.out_of_order;
        add_finding(AnomalyKind::out_of_order, pkt, from, "fills a hole before data already seen");
    }
    if (r.conflict) add_finding(AnomalyKind::overlap_conflict, pkt, from, "overlapping bytes differ; first copy kept");
    if (r.capped) add_finding(AnomalyKind::resource_cap, pkt, from, "reassembly buffer cap reached; buffered data flushed with gaps");
    maybe_end_stream(from, pkt.ts_ns);
}

// The FINs in the order they happened, when the capture showed them the
// other way round (see handle_fin): the peer, taken for the active closer
// at its FIN's frame (FIN-WAIT-1), was the passive one -- CLOSE-WAIT and
// LAST-ACK at that frame; this end, taken for its receiver (CLOSE-WAIT),
// is back in ESTABLISHED and sends the first FIN now, already
// acknowledged (FIN-WAIT-1, FIN-WAIT-2); its last ACK will take it to
// TIME-WAIT and the peer to CLOSED. False, changing nothing, when the
// states are not the plain case's.
bool Connection::replay_reordered_close(Role from, const PacketView& pkt) {
    Side& s = side_[idx(from)];
    Side& o = side_[idx(other(from))];
    auto& mine = facts.states[idx(from)];
    auto& theirs = facts.states[idx(other(from))];
    // Only the plain case: the peer still in FIN-WAIT-1 from its FIN, this
    // end taken for its receiver (CLOSE-WAIT) or not moved by it. Anything
    // else (the peer's FIN already acknowledged, so this end's last ACK was
    // seen before its FIN) keeps the old reading.
    const bool peer_plain = last_state_is(other(from), TcpState::FIN_WAIT_1);
    const bool mine_close_wait = last_state_is(from, TcpState::CLOSE_WAIT);
    const TcpState before = mine_close_wait ? (mine.size() > 1 ? mine[mine.size() - 2].state : TcpState::ESTABLISHED) : s.state;
    if (!peer_plain || (before != TcpState::ESTABLISHED && before != TcpState::SYN_RCVD)) return false;
    const int64_t fin_ts = theirs.back().ts_ns;
    const uint64_t fin_frame = theirs.back().frame;
    theirs.back().state = TcpState::CLOSE_WAIT;
    theirs.push_back(StateChange{TcpState::LAST_ACK, fin_ts, fin_frame});
    set_ladder_state(fin_frame, other(from), TcpState::LAST_ACK);
    o.state = TcpState::LAST_ACK;
    if (mine_close_wait) undo_last_state(from);
    set_state(from, TcpState::FIN_WAIT_1, pkt.ts_ns, pkt.frame);
    s.fin_acked = true;
    set_state(from, TcpState::FIN_WAIT_2, pkt.ts_ns, pkt.frame);
    return true;
}

void Connection::handle_fin(Role from, const PacketView& pkt, const TcpSegment& seg) {
    Side& s = side_[idx(from)];
    Side& o = side_[idx(other(from))];
    const uint32_t fin_seq = seg.seq + seg.payload_len + (seg.has(tcpflag::SYN) ? 1 : 0);
    // After a reset both ends are CLOSED: a FIN now reopens nothing (its
    // bytes are already data_after_rst). An end in SYN-SENT cannot close
    // what it has not opened (it would delete the attempt, not send a FIN).
    if (rst_seen_ || s.state == TcpState::SYN_SENT) return;
    if (s.fin_sent) {
        if (fin_seq == s.fin_seq) add_finding(AnomalyKind::fin_retransmission, pkt, from, "FIN sent again", facts.dir[idx(from)].fin_frame);
        return;
    }
    s.fin_sent = true;
    s.fin_seq = fin_seq;
    s.acked_unseen_one = UINT64_MAX;   // this FIN was it, or the number below it is a gap its ACK will declare
    if (!s.reasm.initialized()) s.reasm.init(fin_seq);
    s.fin_off = static_cast<uint64_t>(std::max<int64_t>(0, s.reasm.offset_of(fin_seq)));
    DirectionFacts& d = facts.dir[idx(from)];
    d.fin_seen = true;
    d.fin_ts = pkt.ts_ns;
    d.fin_frame = pkt.frame;
    // Bytes captured beyond the FIN before it arrived (out of order): the
    // stream ends at the FIN, so they leave it and its count.
    if (const uint64_t cut = s.reasm.discard_from(s.fin_off)) {
        d.payload_bytes -= std::min(d.payload_bytes, cut);
        add_finding(AnomalyKind::data_after_fin, pkt, from, std::to_string(cut) + " bytes captured beyond this FIN");
    }
    // Crossed FINs: this one was sent before the peer's FIN arrived.
    bool crossed = o.fin_sent && !(seg.has(tcpflag::ACK) && seq_geq(seg.ack, o.fin_seq + 1));
    if (!first_fin_) {
        first_fin_ = from;
        first_fin_had_ack_ = seg.has(tcpflag::ACK);
        first_fin_ack_ = seg.ack;
    } else if (crossed && *first_fin_ == other(from) && first_fin_had_ack_ && first_fin_ack_ == fin_seq + 1 &&
               replay_reordered_close(from, pkt)) {
        // Not crossed but reordered by the capture: the peer's FIN, seen
        // first, acknowledged exactly this one -- the peer had this FIN
        // before it sent its own (RFC 9293 3.6: it went CLOSE-WAIT, then
        // LAST-ACK), so this end closed first.
        crossed = false;
        first_fin_ = from;
    } else if (crossed) {
        fin_crossed_ = true;
    }
    // We had assumed it received the peer's FIN first; it did not.
    if (crossed && last_state_is(from, TcpState::CLOSE_WAIT)) undo_last_state(from);
    switch (s.state) {
        case TcpState::ESTABLISHED:
        case TcpState::SYN_RCVD:
        case TcpState::CLOSED:
            set_state(from, TcpState::FIN_WAIT_1, pkt.ts_ns, pkt.frame);
            if (crossed) set_state(from, TcpState::CLOSING, pkt.ts_ns, pkt.frame);
            break;
        case TcpState::CLOSE_WAIT: set_state(from, TcpState::LAST_ACK, pkt.ts_ns, pkt.frame); break;
        default: break;
    }
    // The peer receives it.
    o.got_peer_fin = true;
    switch (o.state) {
        case TcpState::ESTABLISHED:
        case TcpState::SYN_RCVD: set_state(other(from), TcpState::CLOSE_WAIT, pkt.ts_ns, pkt.frame); break;
        case TcpState::FIN_WAIT_1:
            if (!o.fin_acked) set_state(other(from), TcpState::CLOSING, pkt.ts_ns, pkt.frame);
            break;
        default: break;
    }
    maybe_end_stream(from, pkt.ts_ns);
}

void Connection::handle_rst(Role from, const PacketView& pkt, const TcpSegment& seg) {
    Side& s = side_[idx(from)];
    Side& o = side_[idx(other(from))];
    if (rst_seen_) return;  // later resets answer stray segments; the first one tells the story
    if (o.state == TcpState::SYN_SENT && o.syn_sent && (!seg.has(tcpflag::ACK) || !acks_syn(o, seg.ack))) {
        // RFC 9293 3.10.7.3: in SYN-SENT a reset is acceptable only if it
        // acknowledges the SYN; the SYN-SENT end drops any other (a stale or
        // injected RST, or one without ACK) and the connection goes on.
        add_finding(AnomalyKind::segment_outside_window, pkt, from,
                    seg.has(tcpflag::ACK) ? "RST acknowledges " + std::to_string(seg.ack - o.isn) +
                                                " instead of the SYN's ISN+1; the SYN-SENT end drops it (RFC 9293 3.10.7.3)"
                                          : std::string("RST without ACK to a SYN-SENT end, which drops it (RFC 9293 3.10.7.3)"));
        return;
    }
    // The RST a SYN-SENT end owes an unacceptable ACK (an old connection's,
    // on a reused 4-tuple), <SEQ=SEG.ACK><CTL=RST>: it stays in SYN-SENT
    // (RFC 9293 3.10.7.3). That ACK already has its finding. (Any other RST
    // from a SYN-SENT end aborts its attempt, as a scanner's does.)
    if (s.state == TcpState::SYN_SENT && s.bad_ack_pending && seg.seq == s.bad_ack) {
        s.bad_ack_pending = false;
        return;
    }
    // Both FINs sent and acknowledged: nothing is left to abort. A reset
    // now answers a stray segment (a repeated last ACK reaching an end
    // that is gone, RFC 9293 3.10.7.1); the close stays a FIN close.
    if (closed()) return;
    // Outside SYN-SENT a reset is acceptable only inside the receiver's
    // window (RFC 9293 3.10.7.4, RFC 5961 3.2); checked where the capture
    // saw the receiver's ACK and window (scaling known; if the receiver has
    // only sent its SYN-ACK, that segment's unscaled window). A stack ignores
    // any other, and so does the story of this connection.
    if (const std::optional<uint32_t> edge = advertised_right_edge(o); edge && s.reasm.initialized()) {
        const uint32_t right = *edge;
        // Also RCV.NXT - 1 when it is the sender's own FIN's number: the
        // abort after a FIN (macOS), which Linux accepts in CLOSE_WAIT,
        // LAST_ACK and CLOSING so the receiver does not stay in CLOSE_WAIT.
        const bool after_own_fin = s.fin_sent && seg.seq == s.fin_seq && seg.seq == o.last_ack - 1;
        if (!after_own_fin && !seg_in_window(seg.seq, o.last_ack, right)) {
            add_finding(AnomalyKind::segment_outside_window, pkt, from,
                        "RST at sequence " + std::to_string(rel_seq(from, seg.seq)) + " outside the receiver's window [" +
                            std::to_string(rel_seq(from, o.last_ack)) + ", " + std::to_string(rel_seq(from, right)) +
                            "); a receiver ignores it (RFC 9293 3.10.7.4)");
            return;
        }
    }
    rst_seen_ = true;
    rst_by_ = from;
    rst_ts_ = pkt.ts_ns;
    rst_frame_ = pkt.frame;
    s.rst_sent = true;
    facts.dir[idx(from)].rst_seen = true;
    facts.close.rst_sender_state = s.state;
    facts.close.rst_after_fin = s.fin_sent || o.fin_sent;
    facts.close.rst_with_data = seg.payload_len > 0;
    if (from == Role::server && o.state == TcpState::SYN_SENT && !facts.handshake.synack_seen) {
        refused_ = true;
        drop_implied_listen();
        facts.close.rst_sender_state = TcpState::CLOSED;
        add_finding(AnomalyKind::connection_refused, pkt, from, "RST answered the SYN");
    } else {
        add_finding(AnomalyKind::rst_abort, pkt, from,
                    std::string("RST from ") + role_name(from) + " in " + state_name(s.state) +
                        (facts.close.rst_after_fin ? " after FIN" : "") + (seg.payload_len ? ", with data" : ""));
    }
    set_state(from, TcpState::CLOSED, pkt.ts_ns, pkt.frame);
    set_state(other(from), TcpState::CLOSED, pkt.ts_ns, pkt.frame);
    for (Role r : {Role::client, Role::server}) {
        Side& x = side_[idx(r)];
        if (x.stream_ended) continue;
        feeding_ = r;
        if (x.reasm.initialized()) x.reasm.flush(pkt.ts_ns, *this);
        end_stream(r, EndReason::rst, pkt.ts_ns);
    }
}

void Connection::note_time_wait_reuse(const PacketView& pkt, uint64_t previous, const char* side, int64_t remaining_ns) {
    add_finding(AnomalyKind::time_wait_reuse, pkt, Role::client,
                "new SYN while connection " + std::to_string(previous) + " is in TIME_WAIT on the " + side + " side (" +
                    std::to_string(remaining_ns / 1000000) + " ms of 2MSL left)");
}

void Connection::drop_implied_listen() {
    // LISTEN was implied by the SYN; a refused or unanswered SYN shows
    // nothing was listening (or nothing answered), so do not claim it.
    auto& v = facts.states[idx(Role::server)];
    if (!v.empty() && v.front().state == TcpState::LISTEN) {
        set_ladder_state(v.front().frame, Role::server, std::nullopt);
        v.erase(v.begin());
    }
}

// The --timeline row of `frame` says `who` moved to `st` (nullopt: did not move).
void Connection::set_ladder_state(uint64_t frame, Role who, std::optional<TcpState> st) {
    for (auto& row : facts.ladder) {
        if (row.frame == frame) (who == Role::client ? row.client_state : row.server_state) = st;
    }
}

// `who` is in `st`, and its latest recorded change was the move there.
bool Connection::last_state_is(Role who, TcpState st) const {
    const auto& changes = facts.states[idx(who)];
    return side_[idx(who)].state == st && !changes.empty() && changes.back().state == st;
}

// Takes back `who`'s latest recorded change (and its ladder column): an
// assumption a later packet disproved. Back to the change before, or
// ESTABLISHED when there is none.
void Connection::undo_last_state(Role who) {
    auto& changes = facts.states[idx(who)];
    set_ladder_state(changes.back().frame, who, std::nullopt);
    changes.pop_back();
    side_[idx(who)].state = changes.empty() ? TcpState::ESTABLISHED : changes.back().state;
}

void Connection::ensure_consumer() {
    if (consumer_made_) return;
    consumer_made_ = true;
    consumer = obs_.make_consumer(facts);
    // A direction can end (a FIN before any byte flowed) before the consumer
    // exists; it still gets that direction's end, once, before anything else.
    if (!consumer) return;
    for (Role r : {Role::client, Role::server}) {
        const Side& s = side_[idx(r)];
        if (s.stream_ended) consumer->on_end(static_cast<StreamDir>(r), s.end_reason, s.end_ts);
    }
    consumer_hot = consumer->hot();
}

// The consumer is made when the first byte or gap is delivered, not when
// data is first buffered: a connection whose bytes all wait behind a hole
// holds no parser state (100,000 such connections would otherwise hold
// ~350 MB of idle HttpStreams).
void Connection::data(const uint8_t* p, size_t n, int64_t ts, uint64_t frame) {
    ensure_consumer();
    if (consumer) consumer->on_data(static_cast<StreamDir>(feeding_), p, n, ts, frame);
}

void Connection::gap(uint64_t n, int64_t ts) {
    facts.dir[idx(feeding_)].missing_bytes += n;
    ensure_consumer();
    if (consumer) consumer->on_gap(static_cast<StreamDir>(feeding_), n, ts);
}

void Connection::hole(uint64_t off, uint64_t n) {
    // Every hole that becomes a gap (ACKed, capped, or at the end): bytes
    // that arrive there later are late, not retransmitted. Bounded: the
    // oldest range is forgotten first.
    auto& unseen = side_[idx(feeding_)].unseen;
    if (unseen.size() >= 16) unseen.erase(unseen.begin());
    unseen.emplace_back(off, off + n);
}

void Connection::maybe_end_stream(Role r, int64_t ts) {
    Side& s = side_[idx(r)];
    if (s.fin_sent && !s.stream_ended && s.reasm.delivered() >= s.fin_off) end_stream(r, EndReason::fin, ts);
}

void Connection::end_stream(Role r, EndReason why, int64_t ts) {
    Side& s = side_[idx(r)];
    if (s.stream_ended) return;
    s.stream_ended = true;
    s.end_reason = why;
    s.end_ts = ts;
    if (consumer) {
        consumer->on_end(static_cast<StreamDir>(r), why, ts);
        consumer_hot = consumer->hot();
    }
}

void Connection::finish(int64_t now, bool evicted) {
    (void)now;
    const int64_t ts = facts.last_ts;
    for (Role r : {Role::client, Role::server}) {
        Side& s = side_[idx(r)];
        if (s.stream_ended) continue;
        feeding_ = r;
        if (s.reasm.initialized()) {
            s.reasm.flush(ts, *this);
            if (s.fin_sent) s.reasm.advance_to(s.fin_off, ts, *this);
        }
        end_stream(r, s.fin_sent ? EndReason::fin : evicted ? EndReason::evicted : EndReason::end_of_capture, ts);
    }
    CloseFacts& c = facts.close;
    const HandshakeFacts& hs = facts.handshake;
    const PacketView last{ts, facts.last_frame, 0, 0, 0, nullptr, 0};
    const bool server_spoke = facts.dir[1].packets > 0;
    const auto& client_states = facts.states[idx(Role::client)];
    const bool client_left_syn_sent = std::any_of(client_states.begin(), client_states.end(), [](const StateChange& sc) {
        return sc.state != TcpState::SYN_SENT && sc.state != TcpState::CLOSED;
    });
    // A server never captured, whose client got past SYN-SENT: it answered
    // from some state the capture cannot tell; do not claim it listened.
    if (!server_spoke && client_left_syn_sent) drop_implied_listen();
    if (refused_) {
        c.kind = CloseKind::refused;
        c.initiator = CloseInitiator::server;
        c.rst_by = Role::server;
        c.ts_ns = rst_ts_;
        c.frame = rst_frame_;
    } else if (rst_seen_) {
        c.kind = CloseKind::rst;
        c.initiator = rst_by_ == Role::client ? CloseInitiator::client : CloseInitiator::server;
        c.rst_by = rst_by_;
        c.ts_ns = rst_ts_;
        c.frame = rst_frame_;
    } else if (hs.syn_seen && !hs.synack_seen && !server_spoke && !client_left_syn_sent) {
        // (A client that left SYN-SENT -- it acknowledged a SYN-ACK the
        // capture did not see -- was answered: a one-sided capture.)
        c.kind = CloseKind::unanswered;
        drop_implied_listen();
        c.ts_ns = ts;
        c.frame = facts.last_frame;
        add_finding(AnomalyKind::syn_unanswered, last, Role::client,
                    "SYN never answered (" + std::to_string(hs.syn_retransmissions) + " retransmissions)", hs.syn_frame);
    } else if (side_[0].fin_sent || side_[1].fin_sent) {
        const Role first = first_fin_.value_or(Role::client);
        c.kind = side_[0].fin_sent && side_[1].fin_sent ? CloseKind::fin : CloseKind::half_closed;
        c.initiator = fin_crossed_ ? CloseInitiator::simultaneous : first == Role::client ? CloseInitiator::client : CloseInitiator::server;
        c.ts_ns = facts.dir[idx(first)].fin_ts;
        c.frame = facts.dir[idx(first)].fin_frame;
        if (c.kind == CloseKind::half_closed) {
            add_finding(AnomalyKind::half_closed_open, last, first,
                        std::string("only the ") + role_name(first) + " sent a FIN by the end");
        }
    } else if (evicted) {
        c.kind = CloseKind::evicted;
        c.ts_ns = ts;
        c.frame = facts.last_frame;
    } else {
        c.kind = CloseKind::open;
        c.ts_ns = ts;
        c.frame = facts.last_frame;
        add_finding(AnomalyKind::open_at_end, last, Role::client, "still open at the end of the capture");
    }
    // Every idle eviction says so, whatever decided the close kind (an
    // unanswered SYN, a half close). A cap eviction already carries its
    // resource_cap finding; it was not idle.
    if (evicted && !cap_evicted) add_finding(AnomalyKind::idle_eviction, last, Role::client, "idle longer than the timeout; evicted");
    for (auto& f : facts.anomalies) {
        if (f.kind == AnomalyKind::syn_unanswered || f.kind == AnomalyKind::open_at_end || f.kind == AnomalyKind::idle_eviction) {
            f.dir = FlowDir::none;
        }
    }
    finished = true;
}

}  // namespace pcaplens
