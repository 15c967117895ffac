// Several capture files merged into one time-ordered stream.
#include "pcaplens/capture/source.hpp"

#include <algorithm>

namespace pcaplens {

MergedFileSource::MergedFileSource(const std::vector<std::string>& paths, const std::string& bpf) : bpf_(bpf) {
    // Every file being merged keeps a mapped window, whose pages count in the
    // resident set: they share kPcapMapWindow, down to 256 KiB each.
    const size_t window = std::max(kPcapMapWindow / std::max<size_t>(paths.size(), 1), size_t{256} << 10);
    for (const auto& p : paths) {
        readers_.push_back(open_capture_file(p, window));
        total_ += readers_.back()->stats().file_size;
    }
    pending_.resize(readers_.size());
    has_pending_.assign(readers_.size(), false);
    handed_.resize(readers_.size());
    for (size_t i = 0; i < readers_.size(); ++i) {
        has_pending_[i] = readers_[i]->next(pending_[i]);
        pending_[i].file_index = static_cast<uint32_t>(i);
    }
    // Compile the filter eagerly for the first link type of each file so a
    // bad expression is a usage error before any output is produced.
    if (!bpf_.empty()) {
        for (size_t i = 0; i < readers_.size(); ++i) {
            if (has_pending_[i]) (void)accept(pending_[i]);
        }
        if (readers_.empty() || filters_.empty()) BpfFilter probe(bpf_, 1);
    }
}

bool MergedFileSource::accept(const PacketView& p) {
    if (bpf_.empty()) return true;
    for (auto& [lt, f] : filters_) {
        if (lt == p.linktype) return f->matches(p);
    }
    filters_.emplace_back(p.linktype, std::make_unique<BpfFilter>(bpf_, p.linktype));
    return filters_.back().second->matches(p);
}

MergedFileSource::Admit MergedFileSource::admit(PacketView& p, size_t file) {
    if (filter_error_) return Admit::stop;
    p.file_index = static_cast<uint32_t>(file);
    bool matched = false;
    try {
        matched = accept(p);
    } catch (const UsageError& e) {
        // The file's packet number of `p`: what was handed out of it before,
        // plus one (its reader may have read further ahead, in a batch).
        const FileStats& st = readers_[file]->stats();
        filter_error_ = st.path + ": packet " + std::to_string(handed_[file].packets + 1) + ": " + e.what() +
                        "; reading stopped there";
        return Admit::stop;
    }
    frame_ += p.records_before;   // frames Wireshark gives to records that hold no packet
    p.frame = ++frame_;
    ++seen_;
    HandedOut& h = handed_[file];
    if (++h.packets == 1) h.first_ts_ns = p.ts_ns;
    h.last_ts_ns = p.ts_ns;
    h.bytes += p.caplen;
    h.wire_bytes += p.wirelen;
    if (matched) return Admit::take;
    ++filtered_;
    return Admit::skip;
}

bool MergedFileSource::next(PacketView& out) {
    if (readers_.size() == 1) return next_batch(&out, 1) == 1;
    for (;;) {
        if (last_ != SIZE_MAX) {
            has_pending_[last_] = readers_[last_]->next(pending_[last_]);
            last_ = SIZE_MAX;
        }
        // The earliest packet; on equal times the one of the later file, as
        // mergecap (Wireshark 4.0) orders them -- frame numbers must match
        // Wireshark's on the merged file.
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < readers_.size(); ++i) {
            if (has_pending_[i] && (best == SIZE_MAX || pending_[i].ts_ns <= pending_[best].ts_ns)) best = i;
        }
        if (best == SIZE_MAX) return false;
        last_ = best;
        out = pending_[best];
        switch (admit(out, best)) {
            case Admit::take: return true;
            case Admit::skip: break;
            case Admit::stop: return false;
        }
    }
}

// Several files: each packet needs the merge decision, one at a time. One
// file: nothing to merge, so its reader's batches go straight to the caller,
// numbered and filtered in place; the packet the constructor read ahead goes
// alone (reading on may move it).
size_t MergedFileSource::next_batch(PacketView* out, size_t max) {
    if (readers_.size() != 1) return next(out[0]) ? 1 : 0;
    for (;;) {
        size_t got = 0;
        if (last_ == SIZE_MAX) {
            last_ = 0;
            if (!has_pending_[0]) return 0;
            out[0] = pending_[0];
            got = 1;
        } else {
            got = readers_[0]->next_batch(out, max);
            if (got == 0) return 0;
        }
        if (bpf_.empty()) return number_unfiltered(out, got);
        size_t kept = 0;
        for (size_t i = 0; i < got; ++i) {
            const Admit a = admit(out[i], 0);
            if (a == Admit::stop) return kept;   // and 0 from the next call on
            if (a == Admit::skip) continue;
            if (kept != i) out[kept] = out[i];
            ++kept;
        }
        if (kept > 0) return kept;
    }
}

// One file and no filter: every packet is taken, so what admit() does per
// packet is done for the batch in one loop, without its call and try block
// (~45 of ~1,870 instructions a packet on the bench trace).
size_t MergedFileSource::number_unfiltered(PacketView* out, size_t got) {
    HandedOut& h = handed_[0];
    uint64_t frame = frame_, bytes = 0, wire_bytes = 0;
    for (size_t i = 0; i < got; ++i) {
        PacketView& p = out[i];
        p.file_index = 0;
        frame += p.records_before;   // frames Wireshark gives to records that hold no packet
        p.frame = ++frame;
        bytes += p.caplen;
        wire_bytes += p.wirelen;
    }
    if (h.packets == 0) h.first_ts_ns = out[0].ts_ns;
    h.packets += got;
    h.last_ts_ns = out[got - 1].ts_ns;
    h.bytes += bytes;
    h.wire_bytes += wire_bytes;
    frame_ = frame;
    seen_ += got;
    return got;
}

std::vector<FileStats> MergedFileSource::file_stats() const {
    std::vector<FileStats> v;
    v.reserve(readers_.size());
    for (size_t i = 0; i < readers_.size(); ++i) {
        FileStats st = readers_[i]->stats();
        const HandedOut& h = handed_[i];
        st.packets = h.packets;
        st.bytes = h.bytes;
        st.wire_bytes = h.wire_bytes;
        st.first_ts_ns = h.first_ts_ns;
        st.last_ts_ns = h.last_ts_ns;
        v.push_back(std::move(st));
    }
    return v;
}

uint64_t MergedFileSource::bytes_read() const {
    uint64_t n = 0;
    for (const auto& r : readers_) n += r->position();
    return n;
}

}  // namespace pcaplens
