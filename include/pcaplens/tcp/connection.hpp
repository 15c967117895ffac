// The facts pcaplens establishes about one TCP connection: plain values that
// reporters read once the connection is finished.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pcaplens/decode/packet.hpp"
#include "pcaplens/findings/finding.hpp"

namespace pcaplens {

enum class TcpState : uint8_t {
    CLOSED, LISTEN, SYN_SENT, SYN_RCVD, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSING, TIME_WAIT, CLOSE_WAIT, LAST_ACK
};
const char* state_name(TcpState s);

struct Endpoint {
    IpAddress ip;
    uint16_t port = 0;
    std::string str() const;  // "10.0.0.1:80", "[2001:db8::1]:80"
    // str() written at `out` (room for kMaxText bytes), without a string;
    // returns its end. The text report writes two per connection line.
    static constexpr size_t kMaxText = IpAddress::kMaxText + 8;   // "[", "]:65535"
    char* format(char* out) const;
};

struct StateChange {
    TcpState state = TcpState::CLOSED;
    int64_t ts_ns = 0;
    uint64_t frame = 0;
};

enum class Role : uint8_t { client = 0, server = 1 };
inline const char* role_name(Role r) { return r == Role::client ? "client" : "server"; }

struct NegotiatedOptions {
    int32_t mss = -1;
    int16_t wscale = -1;
    bool sack_permitted = false;
    bool timestamps = false;
};

struct HandshakeFacts {
    bool syn_seen = false, synack_seen = false, ack_seen = false;
    bool complete = false;
    bool simultaneous_open = false;
    int64_t syn_ts = 0, synack_ts = 0, ack_ts = 0;
    // RTT legs pair each packet with the one it answered: the SYN
    // (re)transmission a SYN-ACK answered, that SYN-ACK, and the SYN-ACK
    // (re)transmission the handshake ACK answered (the latest before it).
    int64_t last_syn_ts = 0;
    int64_t answer_synack_ts = 0;
    int64_t last_synack_ts = 0;
    uint64_t syn_frame = 0, synack_frame = 0, ack_frame = 0;
    uint32_t client_isn = 0, server_isn = 0;
    NegotiatedOptions client_options, server_options;
    uint32_t syn_retransmissions = 0;
    uint32_t synack_retransmissions = 0;
    bool synack_bad_ack = false;
    bool ack_bad_ack = false;
    // RTT legs as seen at the capture point.
    std::optional<double> syn_to_synack_ms() const;
    std::optional<double> synack_to_ack_ms() const;
    std::optional<double> rtt_ms() const;
};

enum class CloseKind : uint8_t { fin, half_closed, rst, refused, unanswered, open, evicted };
const char* close_kind_name(CloseKind k);
enum class CloseInitiator : uint8_t { none, client, server, simultaneous };
const char* close_initiator_name(CloseInitiator i);

struct CloseFacts {
    CloseKind kind = CloseKind::open;
    CloseInitiator initiator = CloseInitiator::none;
    int64_t ts_ns = 0;      // time of the first FIN / the RST / the last packet
    uint64_t frame = 0;
    // For resets:
    std::optional<Role> rst_by;
    TcpState rst_sender_state = TcpState::CLOSED;
    bool rst_after_fin = false;
    bool rst_with_data = false;
};

struct TimeWaitFacts {
    Role side = Role::client;
    bool both = false;      // simultaneous close: both ends hold TIME_WAIT
    int64_t start_ns = 0;
    int64_t end_ns = 0;     // expected end: start + 2 MSL
    uint64_t frame = 0;
};

struct DirectionFacts {
    uint64_t packets = 0;
    uint64_t payload_bytes = 0;        // unique payload bytes (each stream byte once)
    uint64_t wire_payload_bytes = 0;   // all payload bytes on the wire incl. retransmissions
    uint64_t retransmitted_bytes = 0;
    uint64_t retransmissions = 0;      // segments that carried only already-seen bytes, or some
    uint64_t missing_bytes = 0;        // delivered to consumers as gaps
    uint64_t out_of_order = 0;
    uint64_t keepalives = 0;
    uint64_t zero_windows = 0;
    uint64_t max_window = 0;           // scaled
    bool fin_seen = false;
    bool rst_seen = false;
    int64_t fin_ts = 0;
    uint64_t fin_frame = 0;
};

// One row of the --timeline ladder.
struct LadderRow {
    int64_t ts_ns = 0;
    uint64_t frame = 0;
    Role from = Role::client;
    uint16_t flags = 0;
    uint32_t rel_seq = 0, rel_ack = 0;
    uint32_t len = 0;
    uint32_t window = 0;
    std::optional<TcpState> client_state, server_state;  // set when this packet moved that side
};

struct TcpConnectionFacts {
    uint64_t id = 0;
    Endpoint client, server;
    bool midstream = false;
    bool roles_inferred = false;
    int64_t first_ts = 0, last_ts = 0;
    uint64_t first_frame = 0, last_frame = 0;
    HandshakeFacts handshake;
    CloseFacts close;
    std::optional<TimeWaitFacts> time_wait;
    std::vector<StateChange> states[2];   // [client], [server]
    DirectionFacts dir[2];                // [client_to_server], [server_to_client]
    std::vector<Finding> anomalies;
    uint64_t anomalies_total = 0;         // including those beyond the per-connection cap
    std::vector<std::pair<AnomalyKind, uint64_t>> anomalies_dropped;  // counts by kind beyond the cap
    std::vector<LadderRow> ladder;        // only with --timeline
    bool ladder_truncated = false;
    TcpState final_state(Role r) const { return states[static_cast<int>(r)].empty() ? TcpState::CLOSED : states[static_cast<int>(r)].back().state; }
};

}  // namespace pcaplens
