// The private heap engine's public entry points (private_heap.hpp): create, destroy, the process
// heap, and each operation taking the lock (when it must) around the engine's own paths.
#include "impl.hpp"

#include <unistd.h>

#include <new>

namespace memmgr::detail::posix {

private_heap* private_heap::create(const heap_config& config) noexcept {
    // Windows' heap keeps 3 KiB of a fixed heap for itself (Wine's test_HeapCreate: a 256 KiB heap
    // serves 256 KiB - 3 KiB); the heap object, the first block's header and the segment's end
    // marker fit in as much.
    static_assert(impl::self_bytes() + 2 * header_size <= 3 * kib,
                  "the heap object outgrew Windows' 3 KiB allowance");
    const long page_size = ::sysconf(_SC_PAGESIZE);
    const std::size_t page = page_size > 0 ? static_cast<std::size_t>(page_size) : 4096;
    std::size_t maximum = 0;
    if (config.maximum_size != 0) {
        constexpr std::size_t limit = std::size_t{1} << 62; // more than any address space
        maximum = round_up(config.maximum_size < limit ? config.maximum_size : limit, page);
    }
    std::size_t initial = config.initial_size != 0 ? config.initial_size : default_initial;
    if (maximum != 0 && initial > maximum)
        initial = maximum;
    if (initial > initial_limit)
        return nullptr;
    initial = round_up(initial, page);
    const std::size_t smallest =
        round_up(impl::self_bytes() + min_block + header_size + segment_tail, page);
    if (maximum != 0 && smallest > maximum)
        return nullptr;
    if (initial < smallest)
        initial = smallest;

    const std::size_t first_length = initial < max_segment ? initial : max_segment;
    void* mem = map_pages(first_length);
    if (!mem)
        return nullptr;
    auto* h = ::new (mem) impl();
    h->cfg = {initial,
              maximum,
              config.serialize,
              config.terminate_on_corruption,
              config.decommit_threshold,
              config.decommit_total_threshold};
    h->page = page;
    h->budget = maximum != 0 ? maximum : std::numeric_limits<std::size_t>::max();
    h->draw_keys();
    h->write_guard();
    h->segments.reset_inline();
    h->larges.reset_inline();
    h->add_segment(address(mem), first_length, header_at(address(mem) + impl::self_bytes()), true);
    for (std::size_t left = initial - first_length; left != 0;) {
        const std::size_t length = left < max_segment ? left : max_segment;
        void* more = map_pages(length);
        if (!more) {
            destroy(h);
            return nullptr;
        }
        h->add_segment(address(more), length, static_cast<header*>(more), true);
        left -= length;
    }
    if (h->cfg.serialize)
        h->enlist_for_fork();
    return h;
}

void private_heap::destroy(private_heap* heap) noexcept {
    if (!heap)
        return;
    auto& h = static_cast<impl&>(*heap);
    if (h.is_process)
        return;
    if (h.cfg.serialize)
        h.delist_for_fork();
    h.release_pages();
    h.unmap_larges();
    std::size_t own_length = 0;
    for (std::size_t i = 0; i < h.segments.count; ++i) {
        const segment& s = h.segments.data[i];
        if (s.base == address(&h))
            own_length = s.length;
        else
            unmap_pages(s.base, s.length);
    }
    if (h.segments.mapped_bytes)
        unmap_pages(address(h.segments.data), h.segments.mapped_bytes);
    h.~impl();
    unmap_pages(address(heap), own_length);
}

private_heap* private_heap::process() noexcept {
    // A function-local static: initialised once, thread-safely, and never destroyed.
    static private_heap* const instance = [] {
        private_heap* h = create(heap_config{});
        if (h)
            static_cast<impl*>(h)->is_process = true;
        return h;
    }();
    return instance;
}

// allocate and free: without a lock to take, the front end's fast path runs with no stack frame
// and ends in a tail call when it misses; with one, it runs inside the locked variant.
void* private_heap::allocate(std::size_t n, bool zero, status& st) noexcept {
    auto& h = static_cast<impl&>(*this);
    if (h.locking())
        return h.allocate_fronted(n, zero, st);
    return h.allocate_block(n, zero, st);
}

status private_heap::free(void* p) noexcept {
    if (!p)
        return status::ok;
    auto& h = static_cast<impl&>(*this);
    if (h.locking())
        return h.free_fronted(p);
    return h.free_block(p);
}

status private_heap::size(const void* p, std::size_t& out) const noexcept {
    const auto& h = static_cast<const impl&>(*this);
    if (h.locking())
        return h.size_fronted(p, out);
    const impl::every_lock held(h);
    if (h.damaged)
        return status::heap_corrupt;
    impl::found f;
    if (const status st = h.locate(p, f); st != status::ok)
        return h.noted(st);
    if (f.page)
        out = f.page->block + 1 - f.page->states[f.page_index];
    else
        out = f.is_large ? h.larges.data[f.large_index].requested : capacity(f.h) - f.h->slack;
    return status::ok;
}

void* private_heap::reallocate(void* p, std::size_t n, bool in_place_only, status& st) noexcept {
    auto& h = static_cast<impl&>(*this);
    if (h.locking())
        return h.reallocate_fronted(p, n, in_place_only, st);
    const impl::every_lock held(h);
    if (h.damaged) {
        st = status::heap_corrupt;
        return nullptr;
    }
    void* q = h.reallocate_block(p, n, in_place_only, st);
    if (!q)
        st = h.noted(st);
    return q;
}

bool private_heap::owns(const void* p) const noexcept {
    const auto& h = static_cast<const impl&>(*this);
    if (h.locking()) {
        std::size_t ignored = 0;
        return p && h.size_fronted(p, ignored) == status::ok;
    }
    const impl::every_lock held(h);
    impl::found f;
    return p && !h.damaged && h.noted(h.locate(p, f)) == status::ok;
}

status private_heap::validate(const void* p) const noexcept {
    const auto& h = static_cast<const impl&>(*this);
    const impl::every_lock held(h);
    if (h.damaged)
        return status::heap_corrupt;
    if (!p) {
        h.settle();
        return h.noted(h.check_all());
    }
    impl::found f;
    return h.noted(h.locate(p, f));
}

std::size_t private_heap::compact(status& st) noexcept {
    auto& h = static_cast<impl&>(*this);
    const impl::every_lock held(h);
    st = status::heap_corrupt;
    if (h.damaged || !h.guard_intact()) {
        h.corrupt();
        return 0;
    }
    h.settle();
    const std::size_t largest = h.compact_all();
    if (!h.damaged)
        st = status::ok;
    return largest;
}

status private_heap::release_all() noexcept {
    auto& h = static_cast<impl&>(*this);
    if (h.is_process)
        return status::ok;
    const impl::every_lock held(h);
    // Rebuilding rewrites every header, list and the cookie, so it clears damage found in blocks;
    // damage to the heap object itself (its guard broken) leaves the tables it would follow
    // untrusted: the heap then stays damaged and nothing is unmapped, and the caller is told.
    if (!h.guard_intact())
        return h.corrupt();
    h.settle();
    h.release_everything();
    return status::ok;
}

bool private_heap::contains(const void* p, std::size_t n) const noexcept {
    const auto& h = static_cast<const impl&>(*this);
    const impl::every_lock held(h);
    return h.contains_range(address(p), n);
}

status private_heap::walk(void (*visit)(void* context, const block_info& entry),
                          void* context) const noexcept {
    const auto& h = static_cast<const impl&>(*this);
    const impl::every_lock held(h, true);
    h.settle();
    return h.noted(h.visit_all(visit, context));
}

heap_usage private_heap::usage() const noexcept {
    const auto& h = static_cast<const impl&>(*this);
    const impl::every_lock held(h);
    h.settle();
    return h.stats;
}

heap_config private_heap::config() const noexcept {
    const auto& h = static_cast<const impl&>(*this);
    return h.cfg;
}

} // namespace memmgr::detail::posix
