#include <algorithm>
#include <cmath>

#include "pcaplens/report/record.hpp"

namespace pcaplens {

void LatencyHistogram::add(int64_t ns) {
    if (ns < 0) ns = 0;
    max_ = std::max(max_, ns);  // exact: a 0 ms time reads 0, not the first bucket's 1 ns
    const double lg = std::log10(static_cast<double>(std::max<int64_t>(ns, 1)));
    const int b = std::clamp(static_cast<int>(std::ceil(lg * kPerDecade)), 0, kPerDecade * kDecades);
    ++buckets_[static_cast<size_t>(b)];
    ++count_;
}

double LatencyHistogram::percentile_ms(double p) const {
    if (count_ == 0) return 0;
    const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_))));
    uint64_t seen = 0;
    for (size_t b = 0; b < buckets_.size(); ++b) {
        seen += buckets_[b];
        if (seen >= rank) {
            // The last bucket holds everything from 1000 s up: its only
            // honest upper edge is the maximum.
            if (b + 1 == buckets_.size()) return max_ms();
            const double ns = std::pow(10.0, static_cast<double>(b) / kPerDecade);
            return std::min(ns, static_cast<double>(max_)) / 1e6;
        }
    }
    return max_ms();
}

}  // namespace pcaplens
