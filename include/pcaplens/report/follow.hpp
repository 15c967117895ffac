// --follow: the reassembled bytes of one connection, both directions in the
// order they were delivered, each chunk marked with its direction, timestamp
// and frame, capture gaps shown as "[N bytes missing]" (as tshark's
// -z follow,tcp,ascii, with the gaps and ends named). A StreamConsumer that
// wraps the connection's usual consumer (HTTP), so the analysis is unchanged.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "pcaplens/tcp/connection.hpp"
#include "pcaplens/tcp/stream.hpp"

namespace pcaplens {

enum class FollowFormat : uint8_t {
    ascii,  // printable text; CR LF as a line break; other control and non-ASCII bytes escaped (\xNN, \r, \\)
    hex,    // offset, 16 bytes in hex, printable ASCII beside
    raw,    // the bytes of both directions as they are, no markers (for files and pipes)
};

// Receives the formatted output, piece by piece.
using FollowWriter = std::function<void(std::string_view)>;

struct FollowOptions {
    FollowFormat format = FollowFormat::ascii;
    bool color = false;              // colour the direction markers (client red, server blue, as Wireshark)
    size_t max_chunk = 64 * 1024;    // a longer run in one direction is split into several chunks
};

class FollowStream final : public StreamConsumer {
public:
    // `inner` (may be null) receives every call unchanged.
    FollowStream(const TcpConnectionFacts& conn, std::unique_ptr<StreamConsumer> inner, FollowWriter write, FollowOptions opt);
    ~FollowStream() override;
    FollowStream(const FollowStream&) = delete;
    FollowStream& operator=(const FollowStream&) = delete;

    void on_data(StreamDir dir, const uint8_t* data, size_t len, int64_t ts_ns, uint64_t frame) override;
    void on_gap(StreamDir dir, uint64_t len, int64_t ts_ns) override;
    void on_end(StreamDir dir, EndReason why, int64_t ts_ns) override;

    StreamConsumer* inner() const { return inner_.get(); }
    // The connection is finished: writes what is pending and the closing line
    // (byte counts per direction, bytes missing, how it closed).
    void finish(const TcpConnectionFacts& final_facts);

    // Terminal-safe rendering of stream bytes for --follow-format ascii.
    // `pending_cr` carries a CR at the end of one piece over to the next.
    static void render_ascii(std::string& out, const uint8_t* p, size_t n, bool& pending_cr);

private:
    void header();
    void flush_chunk();
    void marker(StreamDir dir, int64_t ts_ns, const std::string& what);

    std::unique_ptr<StreamConsumer> inner_;
    FollowWriter write_;
    FollowOptions opt_;
    uint64_t id_;
    Endpoint client_, server_;
    bool header_done_ = false, finished_ = false;
    // The chunk being gathered (one direction, consecutive deliveries).
    bool chunk_open_ = false;
    StreamDir chunk_dir_ = StreamDir::client_to_server;
    int64_t chunk_ts_ = 0;
    uint64_t chunk_frame_ = 0;
    std::string chunk_;
    uint64_t offset_[2] = {0, 0};     // stream offset per direction (gaps included)
    uint64_t delivered_[2] = {0, 0};  // bytes shown per direction
    uint64_t missing_[2] = {0, 0};
};

}  // namespace pcaplens
