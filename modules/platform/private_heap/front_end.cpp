// The private heap engine's small-block front end, off its inline path: a take the hint table
// could not vouch for, flushing the caches into the bins, unlinking one cached block.
#include "impl.hpp"

namespace memmgr::detail::posix {

void* private_heap::impl::cache_take_unhinted(std::size_t n) noexcept {
    const std::size_t c = n <= unit ? 0 : (n + unit - 1) / unit - 1;
    header* h = cache[c];
    if (!h || damaged)
        return nullptr;
    const std::size_t si = segment_of(address(h));
    if (si == segments.count || !head_sound(segments.data[si], h, c)) {
        corrupt();
        return nullptr;
    }
    return cache_pop(h, c, n);
}

void private_heap::impl::flush_caches() noexcept {
    for (std::size_t c = 0; c < cache_classes; ++c) {
        for (header* h = cache[c]; h; h = cache[c]) {
            header* prev = nullptr;
            header* next = nullptr;
            if (cache_count[c] == 0 || !cached_in_class(h, c) ||
                !mergeable(segments.data[segment_of(address(h))], h, prev, next)) {
                corrupt();
                return;
            }
            cache[c] = next_of(h); // read first: merging rewrites the links
            --cache_count[c];
            merge_into_bins(h, prev, next);
        }
        if (cache_count[c] != 0) {
            corrupt();
            return;
        }
    }
}

bool private_heap::impl::any_cached() const noexcept {
    for (const header* head : cache)
        if (head)
            return true;
    return false;
}

bool private_heap::impl::cache_unlink(header* h) noexcept {
    const std::size_t c = cache_class(block_bytes(h));
    if (cache_count[c] == 0)
        return false;
    header* before = nullptr; // the entry whose link leads to h; nullptr: the head does
    header* at = cache[c];
    for (std::size_t seen = 0; at != h; ++seen) {
        if (!at || seen + 1 >= cache_count[c] || !cached_in_class(at, c))
            return false;
        before = at;
        at = next_of(at);
    }
    if (before)
        put_next(before, next_of(h));
    else
        cache[c] = next_of(h);
    --cache_count[c];
    return true;
}

} // namespace memmgr::detail::posix
