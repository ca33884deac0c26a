// The private heap engine's reallocation: in place within a segment when the neighbour allows,
// else by moving.
#include "impl.hpp"

namespace memmgr::detail::posix {

status private_heap::impl::release_cached_neighbour(const found& f, std::size_t bs) noexcept {
    header* next = f.next;
    const segment& s = segments.data[f.segment_index];
    if (!sound_after(s, next))
        return status::heap_corrupt;
    header* after = advance(next, block_bytes(next));
    std::size_t avail = block_bytes(f.h) + block_bytes(next);
    if (in_bin(after)) {
        if (!sound_after(s, after) || !unlinkable(after))
            return status::heap_corrupt;
        avail += block_bytes(after);
    }
    if (bs > avail)
        return status::cannot_resize_in_place;
    if (!cache_unlink(next))
        return status::heap_corrupt;
    merge_into_bins(next, nullptr, advance(next, block_bytes(next)));
    return status::ok;
}

status private_heap::impl::resize_in_place(const found& f, std::size_t n) noexcept {
    if (n >= max_segment - 2 * page)
        return status::cannot_resize_in_place;
    header* h = f.h;
    header* next = f.next;
    const std::size_t bs = block_size_for(n);
    const std::size_t have = block_bytes(h);
    if (bs > have && next->flags == flag_cached)
        if (const status st = release_cached_neighbour(f, bs); st != status::ok)
            return st;
    const bool next_free = in_bin(next);
    header* after = next;
    std::size_t avail = have;
    if (next_free) {
        after = advance(next, block_bytes(next));
        if (address(after) > address(segments.data[f.segment_index].end()) || !sealed(after) ||
            after->prev_units != next->size_units || !unlinkable(next))
            return status::heap_corrupt;
        avail += block_bytes(next);
    }
    if (bs > avail)
        return status::cannot_resize_in_place;
    const std::size_t old = capacity(h) - h->slack;
    const std::size_t rest = avail - bs;
    // What of the new free tail still holds pages: none yet (an empty range).
    std::uintptr_t fresh_from = std::numeric_limits<std::uintptr_t>::max();
    std::uintptr_t fresh_to = 0;
    if (next_free) {
        if (waiting_count != 0 && block_bytes(next) > cfg.decommit_threshold && take_waiting(next))
            [[unlikely]] { // its pages still wait to go back
            fresh_from = address(next);
            fresh_to = address(after);
        }
        bin_remove(next);
        wipe(next);
    }
    if (rest >= min_block) {
        header* r = advance(h, bs);
        write(r, units(bs), units(rest), 0, 0);
        set_prev(after, units(rest));
        bin_insert(r);
        write(h, h->prev_units, units(bs), flag_in_use, bs - header_size - n);
        // A shrink frees the block's tail: given back as a free would. A growth's remainder comes
        // from the free neighbour, whose pages went back when it was freed, or still wait to.
        if (bs < have) {
            fresh_from = address(r);
            if (fresh_to == 0)
                fresh_to = next_free ? address(next) : address(after);
        }
        if (rest > cfg.decommit_threshold && fresh_to > fresh_from) [[unlikely]]
            decommit_later(r, fresh_from, fresh_to);
    } else {
        // Only without a free neighbour (which alone is >= min_block): the block keeps its
        // size.
        if (next_free)
            set_prev(after, units(avail));
        write(h, h->prev_units, units(avail), flag_in_use, avail - header_size - n);
    }
    on_used(n, old);
    return status::ok;
}

void* private_heap::impl::reallocate_block(void* p, std::size_t n, bool in_place_only,
                                           status& st) noexcept {
    if (!p)
        return allocate_block(n, false, st);
    found f;
    if (st = locate(p, f); st != status::ok)
        return nullptr;
    if (n > max_request) {
        st = status::size_overflow;
        return nullptr;
    }
    if (f.page)
        return page_reallocate(p, f, n, in_place_only, st);
    if (f.is_large)
        return reallocate_large(p, f, n, in_place_only, st);
    const std::size_t old = capacity(f.h) - f.h->slack;
    st = resize_in_place(f, n);
    if (st == status::ok)
        return p;
    if (st != status::cannot_resize_in_place || in_place_only)
        return nullptr;
    return move_block(p, old, n, st);
}

void* private_heap::impl::move_block(void* p, std::size_t old, std::size_t n, status& st) noexcept {
    void* q = allocate_moved(n, st);
    if (!q)
        return nullptr;
    std::memcpy(q, p, old < n ? old : n);
    // p is found again: the allocation may have split its neighbour. A damaged neighbour found
    // now leaves p in use, and the heap damaged: q is not handed out then.
    if (free_moved(p) != status::ok) {
        st = status::heap_corrupt;
        return nullptr;
    }
    return q;
}

} // namespace memmgr::detail::posix
