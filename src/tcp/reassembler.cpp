#include "pcaplens/tcp/reassembler.hpp"

#include <algorithm>
#include <cstring>

namespace pcaplens {

Reassembler::~Reassembler() {
    if (budget_) {
        budget_->buffered -= buffered_;
        budget_->ranges -= chunks_.size();
    }
}

Reassembler::Reassembler(Reassembler&& o) noexcept
    : budget_(o.budget_), initialized_(o.initialized_), next_seq_(o.next_seq_), next_off_(o.next_off_), highest_(o.highest_),
      buffered_(o.buffered_), chunks_(std::move(o.chunks_)), history_(std::move(o.history_)), history_next_(o.history_next_) {
    o.buffered_ = 0;
    o.chunks_.clear();
}

Reassembler& Reassembler::operator=(Reassembler&& o) noexcept {
    if (this != &o) {
        if (budget_) {
            budget_->buffered -= buffered_;
            budget_->ranges -= chunks_.size();
        }
        budget_ = o.budget_;
        initialized_ = o.initialized_;
        next_seq_ = o.next_seq_;
        next_off_ = o.next_off_;
        highest_ = o.highest_;
        buffered_ = o.buffered_;
        chunks_ = std::move(o.chunks_);
        history_ = std::move(o.history_);
        history_next_ = o.history_next_;
        o.buffered_ = 0;
        o.chunks_.clear();
    }
    return *this;
}

void Reassembler::init(uint32_t first_seq) {
    initialized_ = true;
    next_seq_ = first_seq;
    next_off_ = 0;
    highest_ = 0;
}

void Reassembler::release(uint64_t n) {
    buffered_ -= n;
    budget_->buffered -= n;
}

void Reassembler::deliver(const uint8_t* p, uint64_t n, bool missing, int64_t ts, uint64_t frame, ReassemblySink& sink) {
    if (n == 0) return;
    if (missing) {
        sink.gap(n, ts);
    } else {
        sink.data(p, n, ts, frame);
        if (!history_) history_ = std::make_unique<std::array<Delivered, kHistory>>();
        Delivered& h = (*history_)[history_next_];
        history_next_ = (history_next_ + 1) % kHistory;
        h.off = next_off_;
        h.len = static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX));
        if (n >= 16) {  // the usual case, as two fixed-size copies (no library call)
            std::memcpy(h.sample.data(), p, 16);
            std::memcpy(h.sample.data() + 16, p + (n - 16), 16);
        } else {
            std::memcpy(h.sample.data(), p, n);
            std::memcpy(h.sample.data() + 16, p, n);
        }
    }
    next_off_ += n;
    next_seq_ += static_cast<uint32_t>(n);
}

bool Reassembler::compare_history(uint64_t off, const uint8_t* data, uint64_t n) const {
    // True when a sampled byte of recently delivered data differs from `data`.
    if (!history_) return false;
    const uint64_t end = off + n;
    for (const Delivered& h : *history_) {
        if (h.len == 0 || h.off >= end || h.off + h.len <= off) continue;
        const uint64_t head = std::min<uint64_t>(h.len, 16);
        for (uint64_t i = 0; i < head; ++i) {
            const uint64_t a = h.off + i;
            if (a >= off && a < end && data[a - off] != h.sample[i]) return true;
            const uint64_t b = h.off + h.len - head + i;
            if (b >= off && b < end && data[b - off] != h.sample[16 + i]) return true;
        }
    }
    return false;
}

// Every buffered range enters and leaves the map through these two, which
// keep the byte and range accounting (this direction's and the budget's).
// `p` null: a range cut by the snaplen (known to exist, never captured).
void Reassembler::put_chunk(uint64_t off, const uint8_t* p, uint64_t len, int64_t ts, uint64_t frame) {
    if (len == 0) return;
    Chunk c;
    c.len = len;
    c.ts = ts;
    c.frame = frame;
    if (p != nullptr) {
        c.bytes.assign(p, p + len);
        buffered_ += len;
        budget_->buffered += len;
    } else {
        c.missing = true;
    }
    chunks_.emplace(off, std::move(c));
    ++budget_->ranges;
}

Reassembler::Chunk Reassembler::take_chunk(std::map<uint64_t, Chunk>::iterator it) {
    Chunk c = std::move(it->second);
    chunks_.erase(it);
    --budget_->ranges;
    if (!c.missing) release(c.len);
    return c;
}

void Reassembler::fill_missing(uint64_t a, uint64_t b, const uint8_t* bytes) {
    // The missing range holding [a, b) becomes up to three: missing before,
    // the captured bytes, missing after.
    auto it = chunks_.upper_bound(a);
    --it;   // exists: [a, b) lies inside a chunk starting at or before a
    const uint64_t cs = it->first;
    const Chunk old = take_chunk(it);
    put_chunk(cs, nullptr, a - cs, old.ts, old.frame);
    put_chunk(a, bytes, b - a, old.ts, old.frame);
    put_chunk(b, nullptr, cs + old.len - b, old.ts, old.frame);
}

void Reassembler::insert(uint64_t off, const uint8_t* data, uint64_t caplen, uint64_t len, int64_t ts, uint64_t frame,
                         AddResult& r) {
    const uint64_t end = off + len;
    const uint64_t cap_end = off + caplen;
    struct Piece {
        uint64_t a, b;
    };
    std::vector<Piece> holes, fills;
    uint64_t pos = off;
    auto it = chunks_.upper_bound(off);
    if (it != chunks_.begin()) --it;
    for (; it != chunks_.end() && it->first < end; ++it) {
        const uint64_t cs = it->first, ce = cs + it->second.len;
        if (ce <= pos) continue;
        if (cs > pos) holes.push_back({pos, cs});
        const uint64_t os = std::max(pos, cs), oe = std::min(end, ce);
        r.old_bytes += static_cast<uint32_t>(oe - os);
        // Compare the bytes both copies actually hold.
        const uint64_t cs2 = os, ce2 = std::min(oe, cap_end);
        if (!it->second.missing && ce2 > cs2 &&
            std::memcmp(it->second.bytes.data() + (cs2 - cs), data + (cs2 - off), ce2 - cs2) != 0) {
            r.conflict = true;
        }
        // Bytes an earlier copy had cut by the snaplen, captured now: the
        // capture has them after all, so they fill the range (below) instead
        // of becoming a gap. Still old bytes on the wire.
        if (it->second.missing && ce2 > cs2) fills.push_back({cs2, ce2});
        pos = std::max(pos, ce);
    }
    if (pos < end) holes.push_back({pos, end});
    for (const Piece& f : fills) fill_missing(f.a, f.b, data + (f.a - off));
    for (const Piece& h : holes) {
        r.new_bytes += static_cast<uint32_t>(h.b - h.a);
        const uint64_t data_end = std::min(h.b, std::max(h.a, cap_end));
        put_chunk(h.a, data_end > h.a ? data + (h.a - off) : nullptr, data_end - h.a, ts, frame);
        put_chunk(data_end, nullptr, h.b - data_end, ts, frame);
    }
}

void Reassembler::drain(ReassemblySink& sink) {
    while (!chunks_.empty()) {
        auto it = chunks_.begin();
        if (it->first > next_off_) break;
        const uint64_t cs = it->first;
        const Chunk c = take_chunk(it);
        const uint64_t ce = cs + c.len;
        if (ce <= next_off_) continue;
        const uint64_t skip = next_off_ - cs;
        deliver(c.missing ? nullptr : c.bytes.data() + skip, c.len - skip, c.missing, c.ts, c.frame, sink);
    }
}

AddResult Reassembler::add(uint32_t seq, const uint8_t* data, uint32_t caplen, uint32_t len, int64_t ts, uint64_t frame,
                           ReassemblySink& sink) {
    AddResult r;
    if (len == 0) return r;
    caplen = std::min(caplen, len);
    const int64_t s = offset_of(seq);
    const int64_t e = s + len;
    const int64_t next = static_cast<int64_t>(next_off_);
    if (e > 0 && static_cast<uint64_t>(e) > highest_) highest_ = static_cast<uint64_t>(e);
    if (e <= next) {
        r.old_bytes = len;
        if (caplen > 0 && s >= 0 && compare_history(static_cast<uint64_t>(s), data, caplen)) r.conflict = true;
        return r;
    }
    uint64_t skip = 0;
    if (s < next) {
        skip = static_cast<uint64_t>(next - s);
        r.old_bytes = static_cast<uint32_t>(skip);
        if (s >= 0 && caplen > 0 && compare_history(static_cast<uint64_t>(s), data, std::min<uint64_t>(skip, caplen))) {
            r.conflict = true;
        }
    }
    const uint64_t start = static_cast<uint64_t>(s) + skip;
    const uint64_t rem = len - skip;
    const uint64_t cap = caplen > skip ? caplen - skip : 0;
    const uint8_t* p = cap > 0 ? data + skip : nullptr;
    if (start == next_off_ && chunks_.empty()) {
        // Fast path: in order, nothing buffered; no copy.
        r.new_bytes = static_cast<uint32_t>(rem);
        deliver(p, cap, false, ts, frame, sink);
        if (rem > cap) {
            deliver(nullptr, rem - cap, true, ts, frame, sink);
            r.gap_bytes += rem - cap;
        }
        return r;
    }
    if (start > next_off_) r.out_of_order = true;
    else r.filled_hole = true;
    insert(start, p, cap, rem, ts, frame, r);
    if (buffered_ + chunks_.size() * kRangeOverhead > budget_->max_per_direction || chunks_.size() > budget_->max_ranges_per_direction ||
        budget_->buffered + budget_->ranges * kRangeOverhead > budget_->max_total) {
        // Degraded mode: what is buffered goes out now, holes as gaps.
        r.capped = true;
        ++budget_->cap_hits;
        r.gap_bytes += flush(ts, sink);
        return r;
    }
    drain(sink);
    return r;
}

uint64_t Reassembler::discard_from(uint64_t off) {
    uint64_t cut = 0;
    auto it = chunks_.lower_bound(off);
    if (it != chunks_.begin()) {
        Chunk& c = std::prev(it)->second;
        const uint64_t cs = std::prev(it)->first;
        if (cs + c.len > off) {
            const uint64_t drop = cs + c.len - off;
            if (!c.missing) {
                c.bytes.resize(off - cs);
                release(drop);
            }
            c.len = off - cs;
            cut += drop;
        }
    }
    while (it != chunks_.end()) cut += take_chunk(it++).len;
    return cut;
}

uint64_t Reassembler::advance_to(uint64_t off, int64_t ts, ReassemblySink& sink) {
    uint64_t gaps = 0;
    while (next_off_ < off || (!chunks_.empty() && chunks_.begin()->first <= next_off_)) {
        uint64_t target = off;
        if (!chunks_.empty() && chunks_.begin()->first < target) target = chunks_.begin()->first;
        if (target > next_off_) {
            const uint64_t n = target - next_off_;
            sink.hole(next_off_, n);
            sink.gap(n, ts);
            next_off_ += n;
            next_seq_ += static_cast<uint32_t>(n);
            gaps += n;
        }
        drain(sink);
    }
    return gaps;
}

uint64_t Reassembler::flush(int64_t ts, ReassemblySink& sink) {
    if (chunks_.empty()) return 0;
    auto last = std::prev(chunks_.end());
    return advance_to(last->first + last->second.len, ts, sink);
}

}  // namespace pcaplens
