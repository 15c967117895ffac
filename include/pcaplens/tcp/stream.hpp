// What stream consumers (HTTP today) see of a TCP connection: its reassembled
// bytes in stream order, explicit gaps for bytes the capture never saw, and
// the end of each direction. A consumer never sees packets.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pcaplens {

enum class StreamDir : uint8_t { client_to_server = 0, server_to_client = 1 };
inline StreamDir opposite(StreamDir d) {
    return d == StreamDir::client_to_server ? StreamDir::server_to_client : StreamDir::client_to_server;
}

enum class EndReason : uint8_t { fin, rst, end_of_capture, evicted };
const char* end_reason_name(EndReason r);

class StreamConsumer {
public:
    virtual ~StreamConsumer() = default;
    // `frame` is the packet that delivered (or completed) these bytes, for evidence.
    virtual void on_data(StreamDir dir, const uint8_t* data, size_t len, int64_t ts_ns, uint64_t frame) = 0;
    // `len` bytes at this point of the stream were not captured.
    virtual void on_gap(StreamDir dir, uint64_t len, int64_t ts_ns) = 0;
    // No more bytes will come in `dir`. Called once per direction.
    virtual void on_end(StreamDir dir, EndReason why, int64_t ts_ns) = 0;
    // Where the state the next on_data() reads lives, so the caller can
    // start loading it a few packets ahead: the object itself (its vtable
    // pointer), and the head of a separately allocated state with the offset
    // in it of each direction's own state. Asked when the consumer is made
    // and after each on_end() (which may free that state); a hint only.
    struct Hot {
        const void* object = nullptr;
        const char* state = nullptr;     // null: none beyond the object
        uint16_t dir_state[2] = {0, 0};  // by StreamDir
    };
    virtual Hot hot() const { return Hot{this, nullptr, {0, 0}}; }
    // The connection is about to be finished, most likely after lingering
    // closed for seconds (cold): start loading what taking the consumer's
    // results reads behind the object itself. A hint only.
    virtual void prefetch_results() const {}
};

}  // namespace pcaplens
