// The private heap engine's large blocks: one mapping each, grown with mremap.
#include "impl.hpp"

#include <sys/mman.h>

namespace memmgr::detail::posix {

void* private_heap::impl::allocate_large(std::size_t n, status& st) noexcept {
    if (st = make_room(larges); st != status::ok)
        return nullptr;
    const std::size_t length =
        round_up(n + header_size + large_tail, page); // n <= PTRDIFF_MAX: no wrap
    if (length > room()) {
        st = status::heap_full;
        return nullptr;
    }
    void* mem = map_pages(length);
    if (!mem) {
        st = status::out_of_memory;
        return nullptr;
    }
    auto* h = static_cast<header*>(mem);
    write(h, 0, 0, flag_in_use | flag_large, 0);
    larges.insert({address(mem), length, n});
    on_map(length);
    on_allocate(n);
    st = status::ok;
    return h + 1; // fresh pages are zero already
}

void private_heap::impl::release_large(std::size_t i) noexcept {
    const large_block l = larges.data[i];
    larges.erase(i);
    unmap_pages(l.base, l.length);
    on_unmap(l.length);
    on_release(l.requested);
}

void* private_heap::impl::reallocate_large(void* p, const found& f, std::size_t n,
                                           bool in_place_only, status& st) noexcept {
    if (n < large_threshold && !in_place_only) {
        // Small again: move into a segment if there is room, else shrink the mapping below.
        const std::size_t old = larges.data[f.large_index].requested;
        status moved;
        if (void* q = allocate_moved(n, moved)) {
            std::memcpy(q, p, old < n ? old : n);
            if (free_moved(p) != status::ok) {
                st = status::heap_corrupt;
                return nullptr;
            }
            st = status::ok;
            return q;
        }
        if (moved == status::heap_corrupt) {
            st = moved;
            return nullptr;
        }
    }
    large_block& l = larges.data[f.large_index];
    const std::size_t length = round_up(n + header_size + large_tail, page);
    if (length < l.length) {
        unmap_pages(l.base + length, l.length - length);
        on_unmap(l.length - length);
        l.length = length;
    } else if (length > l.length) {
        const std::size_t extra = length - l.length;
        if (extra > room()) {
            if (in_place_only) { // as Windows says for any in-place failure
                st = status::cannot_resize_in_place;
                return nullptr;
            }
        } else if (std::size_t li = f.large_index;
                   void* q = remap_large(li, length, in_place_only)) {
            on_used(n, larges.data[li].requested); // li: where the entry is now
            larges.data[li].requested = n;
            st = status::ok;
            return q;
        }
        if (in_place_only) {
            st = status::cannot_resize_in_place;
            return nullptr;
        }
        const std::size_t old = l.requested;
        void* q = allocate_moved(n, st); // may move the larges table: l is stale
        if (!q)
            return nullptr;
        std::memcpy(q, p, old);
        if (free_moved(p) != status::ok) {
            st = status::heap_corrupt;
            return nullptr;
        }
        return q;
    }
    on_used(n, l.requested);
    l.requested = n;
    st = status::ok;
    return p;
}

void* private_heap::impl::remap_large(std::size_t& i, std::size_t length,
                                      bool in_place_only) noexcept {
    const large_block l = larges.data[i];
    void* const old = reinterpret_cast<void*>(l.base);
#ifdef MREMAP_MAYMOVE
    void* const got = ::mremap(old, l.length, length, in_place_only ? 0 : MREMAP_MAYMOVE);
    if (got == MAP_FAILED)
        return nullptr; // the old mapping is untouched
#elif defined(MAP_FIXED_NOREPLACE)
    void* const want = reinterpret_cast<void*>(l.base + l.length);
    void* got = ::mmap(want, length - l.length, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (got != want) {
        if (got != MAP_FAILED) // an old kernel took the address as a hint
            ::munmap(got, length - l.length);
        return nullptr;
    }
    got = old;
#else
    return nullptr;
#endif
    on_map(length - l.length);
    if (got == old) {
        larges.data[i].length = length;
        return header_at(l.base) + 1;
    }
    // Moved: the seal covers the header's address, and the table is sorted by address.
    header* const h = static_cast<header*>(got);
    write(h, 0, 0, flag_in_use | flag_large, 0);
    larges.erase(i);
    larges.insert({address(got), length, l.requested});
    i = larges.upper(address(got)) - 1;
    return h + 1;
}

void private_heap::impl::unmap_larges() noexcept {
    for (std::size_t i = 0; i < larges.count; ++i) {
        unmap_pages(larges.data[i].base, larges.data[i].length);
        on_unmap(larges.data[i].length);
    }
    larges.count = 0;
    back_inline(larges);
}

} // namespace memmgr::detail::posix
