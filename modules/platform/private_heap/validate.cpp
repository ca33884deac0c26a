// The private heap engine's cold paths: damage, the whole-heap check, walk, compact and
// release_all.
#include "impl.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

namespace memmgr::detail::posix {

[[gnu::cold]] MEMMGR_ENGINE_SCAN status private_heap::impl::corrupt() const noexcept {
    if (cfg.terminate_on_corruption) {
        static constexpr char message[] =
            "memmgr: private heap corruption detected; terminating (terminate_on_corruption)\n";
        [[maybe_unused]] const auto written = ::write(2, message, sizeof message - 1);
        std::abort();
    }
    auto& self = const_cast<impl&>(*this); // every impl is made in mutable memory by create()
    self.damaged = true;
    // The front end's caches test `damaged` themselves: they belong to the heap's lock, which a
    // thread finding damage on its front alone does not hold. The pages' inline paths are made to
    // miss: no page to take from, no segment hinted. On fronts, a thread holding its own front's
    // lock alone leaves the lists as they are: the fronts' paths test `damaged` first.
    if (pages && alone()) {
        for (page_front& f : pages->fronts)
            for (auto& q : f.queue)
                q = nullptr;
        for (auto& h : pages->hint)
            h = 0;
    }
    return status::heap_corrupt;
}

bool private_heap::impl::contains_range(std::uintptr_t a, std::size_t n) const noexcept {
    if (pages_contain(a, n))
        return true;
    if (const std::size_t si = segment_of(a); si != segments.count) {
        const segment& s = segments.data[si];
        return a >= address(s.first) && s.base + s.length - a >= n;
    }
    const std::size_t li = larges.upper(a);
    return li != 0 && a - larges.data[li - 1].base < larges.data[li - 1].length &&
           larges.data[li - 1].base + larges.data[li - 1].length - a >= n;
}

MEMMGR_ENGINE_SCAN bool private_heap::impl::segment_sound(const segment& s,
                                                          tally& t) const noexcept {
    header* const end = s.end();
    header* h = s.first;
    std::uint32_t expect = 0;
    bool after_free = false;
    while (address(h) < address(end)) {
        if (!sealed(h) || h->prev_units != expect || h->size_units < min_block / unit ||
            !segment_flags(h->flags) || block_bytes(h) > address(end) - address(h))
            return false;
        if (in_use(h)) {
            if (h->slack > capacity(h))
                return false;
            ++t.used_blocks;
            t.used_bytes += capacity(h) - h->slack;
            after_free = false;
        } else if (h->flags == flag_cached) {
            // Found again in its class list by check_all; it may touch free blocks either side.
            if (h->slack != 0 || block_bytes(h) >= first_log_size)
                return false;
            ++t.cached_blocks;
            after_free = false;
        } else {
            // Two free blocks in bins side by side: a merge was missed.
            if (after_free || h->slack != 0)
                return false;
            after_free = true;
            ++t.free_blocks;
        }
        expect = h->size_units;
        h = advance(h, block_bytes(h));
    }
    return h == end && sealed(end) && end->prev_units == expect && end->size_units == 0 &&
           end->flags == flag_in_use && end->slack == 0;
}

MEMMGR_ENGINE_SCAN bool private_heap::impl::lists_sound(const tally& t) const noexcept {
    std::size_t listed = 0;
    for (std::size_t b = 0; b < num_bins; ++b) {
        const bool marked = (bitmap[b / 64] >> (b % 64) & 1) != 0;
        if (marked != (bins[b] != nullptr))
            return false;
        const header* prev = nullptr;
        for (header* h = bins[b]; h; h = next_of(h)) {
            if (++listed > t.free_blocks || !free_in_bin(h, b) || prev_of(h) != prev)
                return false;
            prev = h;
        }
    }
    // Each entry of a bin is a distinct free block (a repeat would break its back link, and a
    // block belongs to one bin only), so equal counts mean every free block is listed once.
    if (listed != t.free_blocks || free_count != t.free_blocks)
        return false;
    // Every cached block is in the list of its class, once: the lists hold exactly as many
    // blocks as the walk found, each a genuine cached block of the right size.
    std::size_t cached_listed = 0;
    for (std::size_t c = 0; c < cache_classes; ++c) {
        std::size_t count = 0;
        for (header* h = cache[c]; h; h = next_of(h)) {
            if (++cached_listed > t.cached_blocks || !cached_in_class(h, c))
                return false;
            ++count;
        }
        if (count != cache_count[c] || count > cache_class_cap)
            return false;
    }
    if (cached_listed != t.cached_blocks)
        return false;
    for (std::size_t b = num_bins; b < bitmap_words * 64; ++b)
        if ((bitmap[b / 64] >> (b % 64) & 1) != 0)
            return false;
    return true;
}

status private_heap::impl::check_all() const noexcept {
    std::size_t reserved = segments.mapped_bytes + larges.mapped_bytes;
    tally counted;
    if (damaged || !guard_intact() || segments.count == 0 || segments.count > segments.capacity ||
        larges.count > larges.capacity)
        return status::heap_corrupt;
    for (std::size_t i = 0; i < segments.count; ++i) {
        const segment& s = segments.data[i];
        if (i > 0 && s.base - segments.data[i - 1].base < segments.data[i - 1].length)
            return status::heap_corrupt;
        const std::uintptr_t first = s.base == address(this) ? s.base + self_bytes() : s.base;
        if (address(s.first) != first || s.length % page != 0)
            return status::heap_corrupt;
        reserved += s.length;
        if (!segment_sound(s, counted))
            return status::heap_corrupt;
    }
    if (!lists_sound(counted) || !pages_sound(counted, reserved))
        return status::heap_corrupt;
    for (std::size_t i = 0; i < larges.count; ++i) {
        const large_block& l = larges.data[i];
        if (i > 0 && l.base - larges.data[i - 1].base < larges.data[i - 1].length)
            return status::heap_corrupt;
        if (segment_of(l.base) != segments.count || l.length % page != 0 ||
            l.length < header_size + large_tail ||
            l.requested > l.length - header_size - large_tail)
            return status::heap_corrupt;
        if (!large_header_sound(header_at(l.base)))
            return status::heap_corrupt;
        reserved += l.length;
        ++counted.used_blocks;
        counted.used_bytes += l.requested;
    }
    if (reserved != stats.reserved_bytes || counted.used_blocks != stats.used_blocks ||
        counted.used_bytes != stats.used_bytes)
        return status::heap_corrupt;
    return status::ok;
}

std::size_t private_heap::impl::compact_all() noexcept {
    flush_caches();
    if (damaged)
        return 0;
    for (std::size_t i = segments.count; i-- > 0;) {
        const segment s = segments.data[i];
        if (s.initial || !in_bin(s.first) || !sealed(s.first) ||
            block_bytes(s.first) != address(s.end()) - address(s.first))
            continue;
        if (!unlinkable(s.first)) {
            corrupt();
            return 0;
        }
        bin_remove(s.first);
        segments.erase(i);
        unmap_pages(s.base, s.length);
        segment_bytes -= s.length;
        on_unmap(s.length);
    }
    back_inline(segments);
    give_back_waiting(0);
    std::size_t largest = compact_pages();
    std::size_t seen = 0;
    for (std::size_t b = 0; b < num_bins; ++b) {
        for (header* h = bins[b]; h; h = next_of(h)) {
            if (++seen > free_count || !free_in_bin(h, b)) {
                corrupt();
                return 0;
            }
            const std::size_t bytes = block_bytes(h);
            if (capacity(h) > largest)
                largest = capacity(h);
            // Give back the pages of a big free block, keeping its header and links. One above
            // the decommit threshold gave them back when it got there or once they had waited
            // (merge_into_bins, give_back_waiting above, and release_all for the initial
            // segments): advising it again would cost a system call and change nothing.
            const std::uintptr_t from = round_up(address(h + 1) + sizeof(free_links), page);
            const std::uintptr_t to = (address(h) + bytes) & ~(page - 1);
            if (bytes >= 64 * kib && bytes <= cfg.decommit_threshold && to > from)
                ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
        }
    }
    return largest;
}

void private_heap::impl::release_everything() noexcept {
    // While other threads may use the heap, it keeps its directory (reserved still counts it): its
    // fronts' locks are held now, and threads may be waiting on them.
    release_pages(locking());
    unmap_larges();
    std::size_t kept = 0;
    for (std::size_t i = 0; i < segments.count; ++i) {
        const segment s = segments.data[i];
        if (s.initial) {
            segments.data[kept++] = s;
        } else {
            unmap_pages(s.base, s.length);
            segment_bytes -= s.length;
            on_unmap(s.length);
        }
    }
    segments.count = kept;
    back_inline(segments);
    // A new cookie voids every header written so far, so stale pointers into the old blocks
    // are not mistaken for blocks.
    draw_keys();
    write_guard();
    damaged = false;
    free_count = 0;
    waiting_count = 0; // every block is new; the segments kept are given back whole below
    waiting_bytes = 0;
    for (auto& word : bitmap)
        word = 0;
    for (auto& bin : bins)
        bin = nullptr;
    for (std::size_t c = 0; c < cache_classes; ++c) {
        cache[c] = nullptr;
        cache_count[c] = 0;
    }
    for (std::size_t i = 0; i < segments.count; ++i) {
        format(segments.data[i]);
        // Every block freed at once: as a free would, the pages of a big run go back.
        if (block_bytes(segments.data[i].first) > cfg.decommit_threshold)
            decommit(segments.data[i].first, address(segments.data[i].first),
                     address(segments.data[i].end()));
    }
    stats.used_bytes = 0;
    stats.used_blocks = 0;
}

MEMMGR_ENGINE_SCAN bool private_heap::impl::walkable(const header* h, std::uint32_t expect,
                                                     const header* end) const noexcept {
    return sealed(h) && h->prev_units == expect && h->size_units >= min_block / unit &&
           segment_flags(h->flags) && block_bytes(h) <= address(end) - address(h) &&
           !(in_use(h) && h->slack > capacity(h));
}

status private_heap::impl::visit_all(void (*visit)(void*, const block_info&),
                                     void* context) const noexcept {
    if (damaged || !guard_intact())
        return status::heap_corrupt;
    for (std::size_t i = 0; i < segments.count; ++i) {
        const segment& s = segments.data[i];
        header* const end = s.end();
        header* h = s.first;
        std::uint32_t expect = 0;
        while (address(h) < address(end)) {
            // Each header is checked before it is reported or followed.
            if (!walkable(h, expect, end))
                return status::heap_corrupt;
            if (in_use(h))
                visit(context, {h + 1, capacity(h) - h->slack, header_size + h->slack, true});
            else
                visit(context, {h + 1, capacity(h), header_size, false});
            expect = h->size_units;
            h = advance(h, block_bytes(h));
        }
        if (h != end || !sealed(end) || end->prev_units != expect || end->size_units != 0)
            return status::heap_corrupt;
    }
    if (const status st = visit_pages(visit, context); st != status::ok)
        return st;
    for (std::size_t i = 0; i < larges.count; ++i) {
        const large_block& l = larges.data[i];
        if (!large_header_sound(header_at(l.base)))
            return status::heap_corrupt;
        visit(context, {header_at(l.base) + 1, l.requested, l.length - l.requested, true});
    }
    return status::ok;
}

} // namespace memmgr::detail::posix
