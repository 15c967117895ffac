// Names of TCP states, close kinds and stream end reasons, and the
// handshake's derived timings.
#include <charconv>

#include "pcaplens/tcp/connection.hpp"
#include "pcaplens/tcp/stream.hpp"

namespace pcaplens {

std::string Endpoint::str() const {
    char buf[kMaxText];
    return std::string(buf, format(buf));
}

char* Endpoint::format(char* p) const {
    if (ip.family == 6) *p++ = '[';
    p = ip.format(p);
    if (ip.family == 6) *p++ = ']';
    *p++ = ':';
    return std::to_chars(p, p + 5, port).ptr;
}

const char* state_name(TcpState s) {
    switch (s) {
        case TcpState::CLOSED: return "CLOSED";
        case TcpState::LISTEN: return "LISTEN";
        case TcpState::SYN_SENT: return "SYN_SENT";
        case TcpState::SYN_RCVD: return "SYN_RCVD";
        case TcpState::ESTABLISHED: return "ESTABLISHED";
        case TcpState::FIN_WAIT_1: return "FIN_WAIT_1";
        case TcpState::FIN_WAIT_2: return "FIN_WAIT_2";
        case TcpState::CLOSING: return "CLOSING";
        case TcpState::TIME_WAIT: return "TIME_WAIT";
        case TcpState::CLOSE_WAIT: return "CLOSE_WAIT";
        case TcpState::LAST_ACK: return "LAST_ACK";
    }
    return "?";
}

const char* close_kind_name(CloseKind k) {
    switch (k) {
        case CloseKind::fin: return "fin";
        case CloseKind::half_closed: return "half_closed";
        case CloseKind::rst: return "rst";
        case CloseKind::refused: return "refused";
        case CloseKind::unanswered: return "unanswered";
        case CloseKind::open: return "open";
        case CloseKind::evicted: return "evicted";
    }
    return "?";
}

const char* close_initiator_name(CloseInitiator i) {
    switch (i) {
        case CloseInitiator::none: return "none";
        case CloseInitiator::client: return "client";
        case CloseInitiator::server: return "server";
        case CloseInitiator::simultaneous: return "simultaneous";
    }
    return "?";
}

const char* end_reason_name(EndReason r) {
    switch (r) {
        case EndReason::fin: return "fin";
        case EndReason::rst: return "rst";
        case EndReason::end_of_capture: return "end_of_capture";
        case EndReason::evicted: return "evicted";
    }
    return "?";
}

namespace {
// A leg whose answer is stamped before the packet it answers is not a
// measurement: two capture clocks merged (mergecap of two taps), or a
// capture that reordered the handshake across queues. Unknown, not negative.
std::optional<double> leg_ms(int64_t question_ts, int64_t answer_ts) {
    if (answer_ts < question_ts) return std::nullopt;
    return static_cast<double>(answer_ts - question_ts) / 1e6;
}
}  // namespace

std::optional<double> HandshakeFacts::syn_to_synack_ms() const {
    if (!syn_seen || !synack_seen) return std::nullopt;
    return leg_ms(last_syn_ts, answer_synack_ts);
}
std::optional<double> HandshakeFacts::synack_to_ack_ms() const {
    if (!synack_seen || !ack_seen) return std::nullopt;
    return leg_ms(last_synack_ts, ack_ts);
}
// The two legs' sum: a SYN-ACK retransmitted by the server's timer (no new
// SYN) does not stretch the first leg, and a lost SYN-ACK does not stretch
// the second. Unknown when either leg is.
std::optional<double> HandshakeFacts::rtt_ms() const {
    const auto a = syn_to_synack_ms(), b = synack_to_ack_ms();
    if (!a || !b) return std::nullopt;
    return static_cast<double>((answer_synack_ts - last_syn_ts) + (ack_ts - last_synack_ts)) / 1e6;
}

}  // namespace pcaplens
