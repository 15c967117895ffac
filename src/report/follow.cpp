// --follow: one connection's reassembled bytes, for people (ascii, hex) or
// programs (raw). Never lets bytes from the wire reach a terminal unescaped
// in ascii or hex.
#include "pcaplens/report/follow.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "pcaplens/report/reporters.hpp"

namespace pcaplens {

namespace {

const char* dir_text(StreamDir d) { return d == StreamDir::client_to_server ? "client -> server" : "server -> client"; }
const char* arrow(StreamDir d) { return d == StreamDir::client_to_server ? ">>>" : "<<<"; }

}  // namespace

void FollowStream::render_ascii(std::string& out, const uint8_t* p, size_t n, bool& pending_cr) {
    for (size_t i = 0; i < n; ++i) {
        const unsigned char c = p[i];
        if (pending_cr) {
            pending_cr = false;
            if (c == '\n') {
                out += '\n';
                continue;
            }
            out += "\\r";
        }
        if (c == '\r') {
            pending_cr = true;
        } else if (c == '\n' || c == '\t') {
            out += static_cast<char>(c);
        } else if (c == '\\') {
            out += "\\\\";
        } else if (c >= 0x20 && c < 0x7F) {
            out += static_cast<char>(c);
        } else {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        }
    }
}

FollowStream::FollowStream(const TcpConnectionFacts& conn, std::unique_ptr<StreamConsumer> inner, FollowWriter write, FollowOptions opt)
    : inner_(std::move(inner)), write_(std::move(write)), opt_(opt), id_(conn.id), client_(conn.client), server_(conn.server) {
    if (opt_.max_chunk == 0) opt_.max_chunk = 1;
}

FollowStream::~FollowStream() = default;

void FollowStream::header() {
    if (header_done_) return;
    header_done_ = true;
    if (opt_.format == FollowFormat::raw) return;
    std::string h = "=== connection " + std::to_string(id_) + ": " + client_.str() + " (client) <-> " + server_.str() + " (server), " +
                    (opt_.format == FollowFormat::hex ? "hex" : "ascii") + "\n";
    write_(h);
}

void FollowStream::marker(StreamDir dir, int64_t ts_ns, const std::string& what) {
    if (opt_.format == FollowFormat::raw) return;
    std::string m;
    if (opt_.color) m += dir == StreamDir::client_to_server ? "\033[31m" : "\033[34m";
    m += arrow(dir);
    m += ' ';
    m += dir_text(dir);
    m += "  ";
    m += format_ts(ts_ns);
    m += "  ";
    m += what;
    if (opt_.color) m += "\033[0m";
    m += '\n';
    write_(m);
}

void FollowStream::flush_chunk() {
    if (!chunk_open_) return;
    chunk_open_ = false;
    const size_t d = static_cast<size_t>(chunk_dir_);
    const uint64_t start = offset_[d] - chunk_.size();
    if (opt_.format == FollowFormat::raw) {
        write_(chunk_);
        chunk_.clear();
        return;
    }
    marker(chunk_dir_, chunk_ts_, "frame " + std::to_string(chunk_frame_) + "  " + std::to_string(chunk_.size()) + " bytes");
    std::string body;
    const auto* p = reinterpret_cast<const uint8_t*>(chunk_.data());
    if (opt_.format == FollowFormat::ascii) {
        bool cr = false;
        render_ascii(body, p, chunk_.size(), cr);
        if (cr) body += "\\r";
        if (!body.empty() && body.back() != '\n') body += '\n';
    } else {
        for (size_t i = 0; i < chunk_.size(); i += 16) {
            char b[16];
            std::snprintf(b, sizeof b, "%08" PRIx64 "  ", start + i);
            body += b;
            std::string txt;
            for (size_t j = 0; j < 16; ++j) {
                if (i + j < chunk_.size()) {
                    std::snprintf(b, sizeof b, "%02x ", p[i + j]);
                    body += b;
                    txt += p[i + j] >= 0x20 && p[i + j] < 0x7F ? static_cast<char>(p[i + j]) : '.';
                } else {
                    body += "   ";
                }
                if (j == 7) body += ' ';
            }
            body += " |" + txt + "|\n";
        }
    }
    write_(body);
    chunk_.clear();
}

void FollowStream::on_data(StreamDir dir, const uint8_t* data, size_t len, int64_t ts_ns, uint64_t frame) {
    if (inner_) inner_->on_data(dir, data, len, ts_ns, frame);
    if (len == 0) return;
    header();
    const size_t d = static_cast<size_t>(dir);
    delivered_[d] += len;
    while (len > 0) {
        if (chunk_open_ && (chunk_dir_ != dir || chunk_.size() >= opt_.max_chunk)) flush_chunk();
        if (!chunk_open_) {
            chunk_open_ = true;
            chunk_dir_ = dir;
            chunk_ts_ = ts_ns;
            chunk_frame_ = frame;
        }
        const size_t take = std::min(len, opt_.max_chunk - chunk_.size());
        chunk_.append(reinterpret_cast<const char*>(data), take);
        offset_[d] += take;
        data += take;
        len -= take;
    }
}

void FollowStream::on_gap(StreamDir dir, uint64_t len, int64_t ts_ns) {
    if (inner_) inner_->on_gap(dir, len, ts_ns);
    header();
    flush_chunk();
    const size_t d = static_cast<size_t>(dir);
    missing_[d] += len;
    offset_[d] += len;
    marker(dir, ts_ns, "[" + std::to_string(len) + " bytes missing]");
}

void FollowStream::on_end(StreamDir dir, EndReason why, int64_t ts_ns) {
    if (inner_) inner_->on_end(dir, why, ts_ns);
    header();
    flush_chunk();
    marker(dir, ts_ns, std::string("end (") + end_reason_name(why) + ")");
}

void FollowStream::finish(const TcpConnectionFacts& t) {
    if (finished_) return;
    finished_ = true;
    header();
    flush_chunk();
    if (opt_.format == FollowFormat::raw) return;
    std::string close = close_kind_name(t.close.kind);
    if (t.close.initiator == CloseInitiator::simultaneous) close += " (simultaneous)";
    else if (t.close.initiator != CloseInitiator::none) close += std::string(" by ") + close_initiator_name(t.close.initiator);
    std::string f = "=== connection " + std::to_string(id_) + ": client -> server " + std::to_string(delivered_[0]) + " bytes, server -> client " +
                    std::to_string(delivered_[1]) + " bytes";
    if (missing_[0] + missing_[1]) {
        f += "; missing " + std::to_string(missing_[0]) + " and " + std::to_string(missing_[1]) + " bytes";
    } else {
        f += "; nothing missing";
    }
    f += "; close: " + close + "\n";
    write_(f);
}

}  // namespace pcaplens
