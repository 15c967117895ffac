// Internal: one tracked connection while it is alive.
#pragma once
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "flow_key.hpp"
#include "pcaplens/tcp/analyzer.hpp"

namespace pcaplens {

struct Side {
    // Grouped by size, not by topic: 216 bytes instead of 232, which keeps
    // Connection (two of these) in jemalloc's 1,280-byte class instead of
    // the 1,536-byte one -- ~2.4 MB less memory first touched at the 1 GB
    // bench trace's peak.
    uint64_t fin_off = 0;          // stream offset of the FIN
    int64_t end_ts = 0;
    uint64_t highest_ack_off = 0;  // furthest peer offset acknowledged
    // The peer ACKed one sequence number beyond all of this side's data, at
    // this offset, and nothing of it was captured: most likely its FIN, not
    // captured or captured after that ACK (a FIN carries no byte). It becomes
    // a one-byte gap only if data beyond it follows. UINT64_MAX: none.
    uint64_t acked_unseen_one = UINT64_MAX;
    uint32_t isn = 0;
    uint32_t syn_len = 0;          // data bytes on its SYN (TCP Fast Open): the SYN's ACK may cover them
    uint32_t bad_ack = 0;
    uint32_t rel_base = 0;         // ISN, or first sequence seen - 1 when joined midstream
    uint32_t fin_seq = 0;          // sequence number the FIN occupies
    uint32_t last_ack = 0;
    uint32_t last_window = 0;      // raw
    uint32_t dup_acks = 0;         // consecutive duplicate ACKs sent by this side
    uint32_t right_edge = 0;       // ack + scaled window this side last advertised
    int16_t wscale = -1;           // from its SYN
    TcpState state = TcpState::CLOSED;
    bool syn_sent = false;
    bool synack_sent = false;
    bool bad_ack_pending = false;  // in SYN-SENT, got an ACK not of its SYN; owes a RST with SEQ = that ACK
    bool rel_base_set = false;
    bool fin_sent = false;
    bool fin_acked = false;        // the peer acknowledged our FIN
    bool got_peer_fin = false;     // saw the peer's FIN arrive
    bool stream_ended = false;     // consumer told
    EndReason end_reason = EndReason::fin;  // why and when it ended (end_ts), for a consumer made later
    bool rst_sent = false;
    bool ack_seen = false;
    bool early_data_reported = false;
    bool edge_valid = false;       // right_edge known (window scaling known)
    // Stream ranges the peer ACKed before the capture saw them (they became
    // gaps); bytes arriving there later are new to the wire, not
    // retransmissions. Bounded: the oldest range is forgotten first.
    std::vector<std::pair<uint64_t, uint64_t>> unseen;
    Reassembler reasm;
    explicit Side(ReassemblyBudget& b) : reasm(b) {}
};

// Whether `ack` acknowledges the SYN `s` sent: ISN + 1, or with data on the
// SYN (TCP Fast Open, RFC 7413) also ISN + 1 + its length -- a server that
// accepts the data acknowledges it with the SYN, one that refuses it only
// the SYN (RFC 9293 3.10.7.3: SND.UNA < SEG.ACK =< SND.NXT).
inline bool acks_syn_at(uint32_t ack, uint32_t syn_seq, uint32_t syn_len) {
    return ack == syn_seq + 1 || (syn_len > 0 && ack == syn_seq + 1 + syn_len);
}
inline bool acks_syn(const Side& s, uint32_t ack) { return s.syn_sent && acks_syn_at(ack, s.isn, s.syn_len); }

class Connection final : public ReassemblySink {
public:
    Connection(uint64_t id, const TcpConfig& cfg, ReassemblyBudget& budget, ConnectionObserver& obs);
    // Handles one segment. `from` is decided by the caller from the endpoints.
    void on_segment(const PacketView& pkt, const TcpSegment& seg);
    // Finish: flush streams, decide the close kind. `evicted` when idle-evicted.
    void finish(int64_t now, bool evicted);

    Role role_of(const TcpSegment& seg) const;
    bool closed() const;               // nothing more is expected (RST, both FINs acked, refused)
    void release_closed_state();       // once closed(): frees what no later packet can use (see there)
    bool accepts_new_syn(const TcpSegment& seg) const;  // a bare SYN that starts a new connection
    // Flow-table fields first: the lookup of every packet reads them.
    ConnKey key;
    uint64_t key_hash = 0;
    Connection* lru_prev = nullptr;    // flow table's LRU lists (intrusive)
    Connection* lru_next = nullptr;
    bool in_closing_list = false;
    int64_t last_active = 0;
    TcpConnectionFacts facts;
    std::unique_ptr<StreamConsumer> consumer;
    StreamConsumer::Hot consumer_hot;  // consumer->hot(), refreshed after each on_end()
    // Starts loading what the consumer reads for a segment with payload
    // from this direction (the connection's own lines are loaded by now).
    void prefetch_consumer(const TcpSegment& seg) const {
        if (consumer_hot.object == nullptr) return;
        __builtin_prefetch(consumer_hot.object);
        if (consumer_hot.state == nullptr) return;
        __builtin_prefetch(consumer_hot.state);
        __builtin_prefetch(consumer_hot.state + consumer_hot.dir_state[static_cast<size_t>(role_of(seg))]);
    }
    void note_time_wait_reuse(const PacketView& pkt, uint64_t previous, const char* side, int64_t remaining_ns);
    bool finished = false;
    bool cap_evicted = false;          // evicted by the connection cap, not for idleness

    // Starts loading the lines a segment touches: the flow-table fields, the
    // per-direction counters, both sides' sequence state, the consumer.
    void prefetch() const {
        __builtin_prefetch(this);
        __builtin_prefetch(&facts.last_ts);
        __builtin_prefetch(&facts.dir[0]);
        __builtin_prefetch(&facts.dir[1]);
        __builtin_prefetch(&consumer);
        __builtin_prefetch(&side_[0]);
        __builtin_prefetch(&side_[0].reasm);
        __builtin_prefetch(&side_[1]);
        __builtin_prefetch(&side_[1].reasm);
    }

    // The first two steps of prefetch_finish(): the whole object, then (its
    // pointers loaded by then) the vectors finishing reads behind it.
    void prefetch_object() const {
        for (size_t off = 0; off < sizeof(Connection); off += 64) __builtin_prefetch(reinterpret_cast<const char*>(this) + off);
    }
    void prefetch_finish_vectors() const {
        if (!facts.anomalies.empty()) __builtin_prefetch(facts.anomalies.data());
        for (const auto& v : facts.states) {
            if (!v.empty()) __builtin_prefetch(v.data());
        }
    }
    // Before finishing a connection that has lingered (cold), one step per
    // call, each step's pointers loaded by the previous one: the object; its
    // vectors and the consumer object; the consumer's results. The flow
    // table takes one step per batch of packets for the lingering
    // connection next in line, and at the end of the input the three steps
    // a few connections ahead of the one being finished. A lingering
    // connection was last touched seconds ago, and finishing it otherwise
    // waits on ~25 misses one after another (cachegrind, 1 GB trace).
    static constexpr int kFinishPrefetchSteps = 3;
    void prefetch_finish(int step) const {
        switch (step) {
            case 0: prefetch_object(); break;
            case 1:
                prefetch_finish_vectors();
                if (consumer) {
                    const auto* o = reinterpret_cast<const char*>(consumer.get());
                    for (size_t off = 0; off < 256; off += 64) __builtin_prefetch(o + off);
                }
                break;
            case 2:
                if (consumer) consumer->prefetch_results();
                break;
            default: break;
        }
    }

    // ReassemblySink, for the direction currently being fed.
    void data(const uint8_t* p, size_t n, int64_t ts, uint64_t frame) override;
    void gap(uint64_t n, int64_t ts) override;
    void hole(uint64_t off, uint64_t n) override;

private:
    void init_roles(const TcpSegment& seg);
    void maybe_infer_roles_from_payload(Role from, const TcpSegment& seg);
    void swap_roles();
    void set_state(Role r, TcpState s, int64_t ts, uint64_t frame);
    void add_finding(AnomalyKind k, const PacketView& pkt, Role from, std::string detail, uint64_t frame2 = 0);
    void handle_syn(Role from, const PacketView& pkt, const TcpSegment& seg);
    void handle_ack(Role from, const PacketView& pkt, const TcpSegment& seg);
    void check_ack_and_window(Role from, const PacketView& pkt, const TcpSegment& seg);
    bool window_scaling_known() const;
    std::optional<uint32_t> advertised_right_edge(const Side& o) const;
    bool unacceptable_in_syn_sent(Role from, const TcpSegment& seg) const;
    bool acks_unseen_synack(Role from, const TcpSegment& seg) const;
    void handle_data(Role from, const PacketView& pkt, const TcpSegment& seg);
    void gap_from_ack(Role from, const PacketView& pkt, uint32_t ack);
    void handle_fin(Role from, const PacketView& pkt, const TcpSegment& seg);
    bool replay_reordered_close(Role from, const PacketView& pkt);   // FINs seen in the wrong order (handle_fin)
    void set_ladder_state(uint64_t frame, Role who, std::optional<TcpState> st);
    bool last_state_is(Role who, TcpState st) const;
    void undo_last_state(Role who);
    void handle_rst(Role from, const PacketView& pkt, const TcpSegment& seg);
    void maybe_end_stream(Role r, int64_t ts);
    void end_stream(Role r, EndReason why, int64_t ts);
    void ensure_consumer();
    void drop_implied_listen();
    uint32_t rel_seq(Role r, uint32_t seq) const;
    uint64_t scaled_window(Role r, const TcpSegment& seg) const;

    const TcpConfig& cfg_;
    ConnectionObserver& obs_;
    Side side_[2];
    Role feeding_ = Role::client;
    bool consumer_made_ = false;
    bool roles_final_ = false;
    bool rst_seen_ = false;
    uint32_t first_fin_ack_ = 0;     // the ACK the first FIN seen carried (first_fin_had_ack_)
    int64_t rst_ts_ = 0;
    uint64_t rst_frame_ = 0;
    Role rst_by_ = Role::client;
    bool refused_ = false;
    bool fin_crossed_ = false;
    bool first_fin_had_ack_ = false;
    struct AltSynAck {  // a later SYN-ACK with a different ISN (at most kMaxAltSynAcks kept)
        uint32_t isn = 0;
        int64_t ts = 0;
        uint64_t frame = 0;
        NegotiatedOptions opts;
    };
    static constexpr size_t kMaxAltSynAcks = 8;
    std::vector<AltSynAck> alt_synacks_;
    std::optional<Role> first_fin_;
    int64_t latest_syn_ts_ = 0;      // the client's latest SYN (re)transmission
    LadderRow* row_ = nullptr;       // ladder row of the packet being handled
};

}  // namespace pcaplens
