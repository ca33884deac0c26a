// The private heap engine's segments: mapping and formatting them, carving blocks out of free
// ones, finding a block from a pointer, freeing into the bins with immediate coalescing (the pages
// of big free runs then go back: decommit.cpp).
#include "impl.hpp"

namespace memmgr::detail::posix {

void private_heap::impl::format(const segment& s) noexcept {
    const std::size_t bytes = address(s.end()) - address(s.first);
    write(s.first, 0, units(bytes), 0, 0);
    write(s.end(), units(bytes), 0, flag_in_use, 0);
    bin_insert(s.first);
}

void private_heap::impl::add_segment(std::uintptr_t base, std::size_t length, header* first,
                                     bool initial) noexcept {
    const segment s{base, length, first, initial};
    segments.insert(s);
    segment_bytes += length;
    on_map(length);
    format(s);
}

header* private_heap::impl::grow(std::size_t bs, status& st) noexcept {
    if (st = make_room(segments); st != status::ok)
        return nullptr;
    const std::size_t need = round_up(bs + header_size + segment_tail, page);
    std::size_t length = segment_bytes < default_initial ? default_initial : segment_bytes;
    length = round_up(length < growth_cap ? length : growth_cap, page);
    if (length < need)
        length = need;
    if (fixed()) {
        if (need > room()) {
            st = status::heap_full;
            return nullptr;
        }
        if (length > room())
            length = room(); // a page multiple: budget and reservations are
    }
    void* mem = map_pages(length);
    if (!mem) {
        st = status::out_of_memory;
        return nullptr;
    }
    add_segment(address(mem), length, static_cast<header*>(mem), false);
    return static_cast<header*>(mem);
}

bool private_heap::impl::carvable(const header* h, std::size_t bs) const noexcept {
    std::size_t si = 0;
    if (!segment_block(h, 0, &si) || block_bytes(h) < bs)
        return false;
    const segment& s = segments.data[si];
    const header* const next = advance(const_cast<header*>(h), block_bytes(h));
    if (!sealed(next) || next->prev_units != h->size_units)
        return false;
    if (!prev_sound(s, h))
        return false;
    return unlinkable(h);
}

void* private_heap::impl::carve(header* h, std::size_t bs, std::size_t n) noexcept {
    if (!carvable(h, bs)) {
        corrupt();
        return nullptr;
    }
    const std::size_t have = block_bytes(h);
    const std::size_t rest = have - bs;
    if (rest >= min_block) {
        header* r = advance(h, bs);
        write(r, units(bs), units(rest), 0, 0);
        set_prev(advance(h, have), units(rest)); // the next block is not in a bin: no merge
        if (bin_index(rest) == bin_index(have)) {
            bin_replace(h, r);
        } else {
            bin_remove(h);
            bin_insert(r);
        }
        write(h, h->prev_units, units(bs), flag_in_use, bs - header_size - n);
        if (waiting_count != 0 && have > cfg.decommit_threshold) [[unlikely]]
            waiting_moved(h, r);
    } else {
        bin_remove(h);
        write(h, h->prev_units, h->size_units, flag_in_use, have - header_size - n);
        if (waiting_count != 0 && have > cfg.decommit_threshold) [[unlikely]]
            waiting_moved(h, nullptr);
    }
    return h + 1;
}

[[gnu::noinline]] void* private_heap::impl::allocate_slow(std::size_t n, bool zero,
                                                          status& st) noexcept {
    if (damaged || !guard_intact()) {
        st = corrupt();
        return nullptr;
    }
    if (n > max_request) {
        st = status::size_overflow;
        return nullptr;
    }
    // A block taken from the pages, the front end or the segments: zeroed if asked, handed out.
    auto served = [&](void* p) {
        if (zero)
            std::memset(p, 0, n);
        st = status::ok;
        return p;
    };
    // A growable heap's small blocks come from its pages; when no page can be mapped, from its
    // segments as a fixed heap's do. Zero-filled blocks from the front end are served here, off
    // the inline path (which then needs no stack frame), and so are heads the inline path could
    // not vouch for. Either source may find damage instead.
    void* taken = nullptr;
    if (n <= page_max_request && !fixed() && alone()) // on fronts: allocate_fronted's pages
        taken = page_take_slow(n);
    if (!taken && !damaged && n <= cache_max_request)
        taken = cache_take_unhinted(n);
    if (taken)
        return served(taken);
    if (damaged) {
        st = status::heap_corrupt;
        return nullptr;
    }
    // A fixed heap first looks for large blocks in its segments: its budget may be all there.
    const bool in_segments = n < large_threshold || (fixed() && n < max_segment - 2 * page);
    if (in_segments) {
        const std::size_t bs = block_size_for(n);
        header* h = find_fit(bs);
        if (!h && !damaged && any_cached()) {
            // The front end's blocks, merged, may hold the room: use it before growing or
            // reporting heap_full.
            flush_caches();
            h = find_fit(bs);
        }
        if (!h && !damaged)
            h = find_fit_anywhere(bs);
        if (damaged) {
            st = status::heap_corrupt;
            return nullptr;
        }
        if (!h && n < large_threshold && !(h = grow(bs, st)))
            return nullptr;
        if (h) {
            void* p = carve(h, bs, n);
            if (!p) {
                st = status::heap_corrupt;
                return nullptr;
            }
            on_allocate(n);
            return served(p);
        }
    }
    return allocate_large(n, st);
}

bool private_heap::impl::neighbours(const segment& s, header* h, header*& prev,
                                    header*& next) const noexcept {
    next = advance(h, block_bytes(h));
    if (!sealed(next) || next->prev_units != h->size_units)
        return false;
    prev = nullptr;
    if (h->prev_units == 0)
        return h == s.first;
    const std::size_t back = std::size_t{h->prev_units} * unit;
    if (back > address(h) - address(s.first))
        return false;
    prev = header_at(address(h) - back);
    return prev->size_units == h->prev_units && (!in_bin(prev) || sealed(prev));
}

bool private_heap::impl::sound_after(const segment& s, header* next) const noexcept {
    const header* after = advance(next, block_bytes(next));
    return address(after) <= address(s.end()) && sealed(after) &&
           after->prev_units == next->size_units;
}

bool private_heap::impl::mergeable(const segment& s, header* h, header*& prev,
                                   header*& next) const noexcept {
    if (!neighbours(s, h, prev, next))
        return false;
    if (in_bin(next) && (!sound_after(s, next) || !unlinkable(next)))
        return false;
    return !prev || !in_bin(prev) || unlinkable(prev);
}

status private_heap::impl::classify(const segment& s, std::uintptr_t a) const noexcept {
    header* const end = s.end();
    header* h = s.first;
    std::uint32_t expect = 0;
    while (address(h) < address(end)) {
        if (!sealed(h) || h->prev_units != expect || h->size_units < min_block / unit ||
            !segment_flags(h->flags) || block_bytes(h) > address(end) - address(h))
            return status::heap_corrupt;
        const std::uintptr_t start = address(h) + header_size;
        if (a == start)
            return status::heap_corrupt; // a real block, but it or a neighbour is damaged
        if (a > start && a <= address(h) + block_bytes(h))
            return in_use(h) ? status::foreign_block : status::double_free;
        expect = h->size_units;
        h = advance(h, block_bytes(h));
    }
    if (h != end || !sealed(end) || end->prev_units != expect)
        return status::heap_corrupt;
    return status::foreign_block;
}

status private_heap::impl::locate(const void* p, found& f) const noexcept {
    const std::uintptr_t a = address(p);
    if (status st = status::ok; page_locate(a, f, st))
        return st;
    if (a % alignment != 0)
        return status::foreign_block;
    if (const std::size_t si = segment_of(a); si != segments.count) {
        const segment& s = segments.data[si];
        header* const end = s.end();
        if (a < address(s.first) + header_size || a > address(end))
            return status::foreign_block;
        header* h = header_at(a - header_size);
        if (!sealed(h) || !segment_flags(h->flags) || h->size_units < min_block / unit ||
            block_bytes(h) > address(end) - address(h))
            return classify(s, a);
        header* prev = nullptr;
        header* next = nullptr;
        if (!neighbours(s, h, prev, next))
            return classify(s, a);
        if (!in_use(h)) // free in a bin, or cached
            return status::double_free;
        f = {h, prev, next, si, 0, false};
        return status::ok;
    }
    // The large-block table lies in the heap object, behind its guard: a long underrun of the
    // first block may have written it (free_to_bins asks first; reallocate and size come here).
    if (!guard_intact())
        return status::heap_corrupt;
    const std::size_t li = larges.upper(a);
    if (li == 0)
        return status::foreign_block;
    const large_block& l = larges.data[li - 1];
    if (a - l.base >= l.length || a != l.base + header_size)
        return status::foreign_block;
    const header* h = header_at(l.base);
    if (!large_header_sound(h))
        return status::heap_corrupt;
    f = {header_at(l.base), nullptr, nullptr, 0, li - 1, true};
    return status::ok;
}

[[gnu::noinline]] status private_heap::impl::free_to_bins(void* p) noexcept {
    if (damaged || !guard_intact())
        return corrupt();
    found f;
    if (const status st = locate(p, f); st != status::ok)
        return noted(st);
    if (f.is_large) {
        release_large(f.large_index);
        return status::ok;
    }
    header* h = f.h;
    const std::size_t size = capacity(h) - h->slack;
    header* prev = nullptr;
    header* next = nullptr;
    if (!mergeable(segments.data[f.segment_index], h, prev, next))
        return corrupt();
    // Checks done: from here on nothing fails.
    on_release(size);
    merge_into_bins(h, prev, next);
    return status::ok;
}

void private_heap::impl::merge_into_bins(header* h, header* prev, header* next) noexcept {
    std::size_t total = block_bytes(h);
    header* after = next;
    // What may still hold committed pages: h, and each neighbour not yet above the threshold
    // (one above it gave its pages back when it got there). Contiguous: [fresh_from, fresh_to).
    std::uintptr_t fresh_from = address(h);
    std::uintptr_t fresh_to = address(next);
    if (in_bin(next)) {
        after = advance(next, block_bytes(next));
        if (block_bytes(next) <= cfg.decommit_threshold)
            fresh_to = address(after);
        else if (waiting_count != 0 && take_waiting(next)) // its pages still wait to go back
            fresh_to = address(after);
        bin_remove(next);
        total += block_bytes(next);
        wipe(next);
    }
    if (prev && in_bin(prev)) {
        if (block_bytes(prev) <= cfg.decommit_threshold)
            fresh_from = address(prev);
        else if (waiting_count != 0 && take_waiting(prev))
            fresh_from = address(prev);
        bin_remove(prev);
        total += block_bytes(prev);
        wipe(h);
        h = prev;
    }
    write(h, h->prev_units, units(total), 0, 0);
    set_prev(after, units(total));
    bin_insert(h);
    if (total > cfg.decommit_threshold) [[unlikely]]
        decommit_later(h, fresh_from, fresh_to);
}

bool private_heap::impl::segment_block(const header* h, std::uint8_t flags,
                                       std::size_t* where) const noexcept {
    const std::size_t si = segment_of(address(h));
    if (si == segments.count)
        return false;
    if (where)
        *where = si;
    return block_in(segments.data[si], h, flags);
}

bool private_heap::impl::block_in(const segment& s, const header* h,
                                  std::uint8_t flags) const noexcept {
    const std::uintptr_t a = address(h);
    if (a < address(s.first) || a >= address(s.end()) || (a - address(s.first)) % unit != 0)
        return false;
    return sealed(h) && h->flags == flags && h->size_units >= min_block / unit &&
           block_bytes(h) <= address(s.end()) - a;
}

bool private_heap::impl::free_in_bin(const header* h, std::size_t b) const noexcept {
    return segment_block(h, 0) && bin_index(block_bytes(h)) == b;
}

bool private_heap::impl::free_in_bin_from(const header* h, std::size_t b,
                                          std::size_t& si) const noexcept {
    const std::uintptr_t a = address(h);
    if (si >= segments.count || a - segments.data[si].base >= segments.data[si].length) {
        si = segment_of(a);
        if (si == segments.count)
            return false;
    }
    return block_in(segments.data[si], h, 0) && bin_index(block_bytes(h)) == b;
}

bool private_heap::impl::cached_in_class(const header* h, std::size_t c) const noexcept {
    return segment_block(h, flag_cached) && block_bytes(h) < first_log_size &&
           cache_class(block_bytes(h)) == c;
}

} // namespace memmgr::detail::posix
