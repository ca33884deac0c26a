// The private heap engine's segregated free lists (bins): finding a free block that fits.
#include "impl.hpp"

namespace memmgr::detail::posix {

header* private_heap::impl::find_fit(std::size_t bs) const noexcept {
    std::size_t i = bin_index(bs);
    if (i < exact_bins) {
        if (bins[i])
            return bins[i];
    } else if (header* h = first_fit_in(i, bs, fit_probe)) {
        return h;
    }
    i = next_bin(i + 1);
    return i < num_bins ? bins[i] : nullptr;
}

header* private_heap::impl::find_fit_anywhere(std::size_t bs) const noexcept {
    const std::size_t i = bin_index(bs);
    // An exact bin holds one size: find_fit has seen it.
    return i < exact_bins ? nullptr : first_fit_in(i, bs, SIZE_MAX);
}

header* private_heap::impl::first_fit_in(std::size_t i, std::size_t bs,
                                         std::size_t limit) const noexcept {
    std::size_t probed = 0;
    for (header* h = bins[i]; h && probed < limit; h = next_of(h), ++probed) {
        if (probed >= free_count || !free_in_bin(h, i)) {
            corrupt();
            return nullptr;
        }
        if (block_bytes(h) >= bs)
            return h;
    }
    return nullptr;
}

} // namespace memmgr::detail::posix
