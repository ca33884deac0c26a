// The private heap engine's segregated free lists (bins): finding a free block that fits.
#include "impl.hpp"

namespace memmgr::detail::posix {

header* private_heap::impl::find_fit(std::size_t bs) const noexcept {
    std::size_t i = bin_index(bs);
    if (i < exact_bins) {
        if (bins[i])
            return bins[i];
    } else if (header* h = best_fit_in(i, bs, fit_probe)) {
        return h;
    }
    // Every block of a higher bin holds bs: an exact bin's head is as good as any of its blocks,
    // a logarithmic bin's blocks differ by up to a quarter, and the smallest of those probed is
    // split, keeping the bigger ones whole for the requests that need them.
    i = next_bin(i + 1);
    if (i >= num_bins)
        return nullptr;
    return i < exact_bins ? bins[i] : best_fit_in(i, bs, fit_probe);
}

header* private_heap::impl::find_fit_anywhere(std::size_t bs) const noexcept {
    const std::size_t i = bin_index(bs);
    // An exact bin holds one size: find_fit has seen it.
    return i < exact_bins ? nullptr : best_fit_in(i, bs, SIZE_MAX);
}

header* private_heap::impl::best_fit_in(std::size_t i, std::size_t bs,
                                        std::size_t limit) const noexcept {
    header* best = nullptr;
    std::size_t best_bytes = SIZE_MAX;
    std::size_t probed = 0;
    std::size_t si = segments.count; // the segment of the entry before: none yet
    for (header* h = bins[i]; h && probed < limit; h = next_of(h), ++probed) {
        if (probed >= free_count || !free_in_bin_from(h, i, si)) {
            corrupt();
            return nullptr;
        }
        const std::size_t have = block_bytes(h);
        if (have >= bs && have < best_bytes) {
            best = h;
            best_bytes = have;
            // Close enough: what is left (too little to split, or a sixteenth of the request at
            // most) is not worth the probes that might find less.
            if (have - bs < min_block || have - bs <= bs / 16)
                break;
        }
    }
    return best;
}

} // namespace memmgr::detail::posix
