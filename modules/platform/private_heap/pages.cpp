// The private heap engine's small-block pages, off the inline path (pages.hpp has the layout,
// impl.hpp the inline take and put): the page directory, mapping page segments, starting and
// retiring pages, and the queues of pages with room; what a refused pointer is; locate, resize,
// walk, check, compact and release for the blocks of pages.
#include "impl.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <iterator>

namespace memmgr::detail::posix {

namespace {

/// \returns whether the n state bytes from s are all 0: the states of the blocks a page never
/// handed out, checked by every walk and validate (up to 4,096 bytes a page). One memcmp against
/// zeros: libc's vector loop, and one range check where a sanitizer intercepts it (a word loop
/// was 5 % of the private heap fuzzer's time, each load checked by ASan).
MEMMGR_ENGINE_SCAN bool states_clear(const std::uint8_t* s, std::size_t n) noexcept {
    static constexpr std::uint8_t zeros[page_max_blocks] = {};
    return n <= page_max_blocks && std::memcmp(s, zeros, n) == 0;
}

} // namespace

// --- the directory and the segments
// ----------------------------------------------------------------

bool private_heap::impl::make_directory() noexcept {
    const std::size_t length = round_up(sizeof(page_directory), page);
    void* mem = map_pages(length);
    if (!mem)
        return false;
    auto* dir = ::new (mem) page_directory{};
    dir->mapped_bytes = length;
    dir->segs.reset_inline();
    on_map(length);
    // Made while every lock is held (a reallocation moving a block): its fronts are held too, so
    // that no thread runs on them before unlock_all.
    if (exclusive) {
        for (page_front& f : dir->fronts) {
            f.lock.lock();
            f.stop.store(1, std::memory_order_relaxed); // published below: no owner inside yet
        }
        locked_fronts = dir;
    }
    // Published last: a thread of another front reads it without a lock (directory()).
    std::atomic_ref(pages).store(dir, std::memory_order_release);
    return true;
}

std::uint64_t private_heap::impl::pseg_seal(std::uintptr_t base) const noexcept {
    return mix(base ^ cookie ^ 0x7f4a7c159e3779b9u) | 1u;
}

namespace {
// Where the next page segment is asked for, process-wide: just below the last one mapped (the
// kernel places mappings down the address space), or where the last one unmapped was. Aligned, so
// that the kernel's answer usually is at the first try; a hint only (relaxed: any value will do).
std::atomic<std::uintptr_t> pseg_hint{0};
} // namespace

bool private_heap::impl::map_pseg() noexcept {
    if (make_room(pages->segs) != status::ok)
        return false;
    // An aligned mapping: the kernel's choice when it happens to be aligned (at the hint, most
    // often), else twice the size trimmed to the aligned part.
    void* mem = map_pages(pseg_bytes, pseg_hint.load(std::memory_order_relaxed));
    if (!mem)
        return false;
    std::uintptr_t base = address(mem);
    if (base % pseg_bytes != 0) {
        unmap_pages(base, pseg_bytes);
        mem = map_pages(2 * pseg_bytes);
        if (!mem)
            return false;
        const std::uintptr_t start = address(mem);
        base = round_up(start, pseg_bytes);
        if (base != start)
            unmap_pages(start, base - start);
        if (start + 2 * pseg_bytes != base + pseg_bytes)
            unmap_pages(base + pseg_bytes, start + 2 * pseg_bytes - base - pseg_bytes);
    }
    on_map(pseg_bytes);
    pseg_hint.store(base - pseg_bytes, std::memory_order_relaxed);
    pseg_of(base)->seal = pseg_seal(base);
    pseg_of(base)->pages = 0;
    // The free slots in address order: the lowest is taken first.
    for (std::size_t slot = pseg_slots; slot-- > meta_slots;) {
        page_desc* d = descs_of(base) + slot;
        store_relaxed(d->area, base + slot * page_bytes);
        reseal_desc(d);
        push_free_slot(d);
    }
    pages->segs.insert({base, pseg_bytes});
    return true;
}

bool private_heap::impl::unmap_pseg(std::size_t i) noexcept {
    const page_segment s = pages->segs.data[i];
    // The segment's count of pages is not sealed: every slot must be a free slot, by its sealed
    // descriptor, before any is unlinked and the memory goes.
    for (std::size_t slot = meta_slots; slot < pseg_slots; ++slot) {
        const page_desc* d = descs_of(s.base) + slot;
        if (!desc_sound(d) || d->block != 0 || d->queued != 2) [[unlikely]] {
            corrupt();
            return false;
        }
    }
    for (std::size_t slot = meta_slots; slot < pseg_slots; ++slot)
        if (!unlink_free_slot(descs_of(s.base) + slot)) [[unlikely]]
            return false;
    pages->segs.erase(i);
    back_inline(pages->segs);
    unmap_pages(s.base, s.length);
    pseg_hint.store(s.base, std::memory_order_relaxed);
    on_unmap(s.length);
    return true;
}

void private_heap::impl::release_pages(bool keep_directory) noexcept {
    if (!pages)
        return;
    for (std::size_t i = 0; i < pages->segs.count; ++i) {
        unmap_pages(pages->segs.data[i].base, pages->segs.data[i].length);
        on_unmap(pages->segs.data[i].length);
    }
    if (pages->segs.count != 0) // the highest, where the next heap's first one may go
        pseg_hint.store(pages->segs.data[pages->segs.count - 1].base, std::memory_order_relaxed);
    if (pages->segs.mapped_bytes) {
        unmap_pages(address(pages->segs.data), pages->segs.mapped_bytes);
        on_unmap(pages->segs.mapped_bytes);
    }
    if (keep_directory) {
        // Its fronts' locks are held by the caller, and other threads may wait on them.
        page_directory& dir = *pages;
        dir.free_slots = nullptr;
        dir.free_slot_count = 0;
        dir.segs.reset_inline();
        dir.segs.count = 0;
        for (auto& h : dir.hint)
            h = 0;
        for (page_front& f : dir.fronts) {
            f.used_bytes = f.used_blocks = f.allocations = 0;
            for (std::size_t c = 0; c < page_classes; ++c) {
                f.queue[c] = f.full[c] = nullptr;
                std::atomic_ref(f.remote[c]).store(0, std::memory_order_relaxed);
            }
        }
        return;
    }
    const std::size_t length = pages->mapped_bytes;
    unmap_pages(address(pages), length);
    on_unmap(length);
    pages = nullptr;
}

std::size_t private_heap::impl::pseg_index(std::uintptr_t a) const noexcept {
    const std::size_t i = pages->segs.upper(a);
    if (i == 0 || a - pages->segs.data[i - 1].base >= pages->segs.data[i - 1].length)
        return pages->segs.count;
    return i - 1;
}

// --- slots and queues
// ------------------------------------------------------------------------------

void private_heap::impl::reseal_desc(page_desc* d) const noexcept {
    store_relaxed(d->seal, desc_seal(d));
}

namespace {

// The free slots, a front's class queue and its list of full pages are the same doubly linked
// list of descriptors; `queued` says which one a descriptor is on (2: the free slots, 1: a queue,
// 3: a full list).
void link_first(page_desc*& head, page_desc* d, std::uint8_t queued) noexcept {
    d->queued = queued;
    d->prev = nullptr;
    d->next = head;
    if (head)
        head->prev = d;
    head = d;
}

} // namespace

void private_heap::impl::push_free_slot(page_desc* d) noexcept {
    link_first(pages->free_slots, d, 2);
    ++pages->free_slot_count;
}

bool private_heap::impl::is_descriptor(const page_desc* p) const noexcept {
    const std::uintptr_t a = address(p);
    const std::size_t i = pseg_index(a);
    if (i == pages->segs.count)
        return false;
    const std::uintptr_t first = pages->segs.data[i].base + descs_offset;
    return a >= first + meta_slots * sizeof(page_desc) &&
           a < first + pseg_slots * sizeof(page_desc) && (a - first) % sizeof(page_desc) == 0;
}

bool private_heap::impl::linked_in(page_desc* const& head, const page_desc* d,
                                   std::uint8_t queued) const noexcept {
    // A descriptor's links are not sealed: before they are written through (the classic unlink
    // write), each neighbour must be a descriptor of the heap's page segments that points back.
    if (d->queued != queued)
        return false;
    if (d->prev ? !is_descriptor(d->prev) || d->prev->next != d : head != d)
        return false;
    return !d->next || (is_descriptor(d->next) && d->next->prev == d);
}

bool private_heap::impl::unlink_free_slot(page_desc* d) noexcept {
    if (!unlink_checked(pages->free_slots, d, 2))
        return false;
    --pages->free_slot_count;
    return true;
}

void private_heap::impl::enqueue(page_desc* d) noexcept {
    link_first(pages->fronts[d->owner].queue[d->cls], d, 1);
}

bool private_heap::impl::unlink_checked(page_desc*& head, page_desc* d,
                                        std::uint8_t queued) noexcept {
    if (!linked_in(head, d, queued)) [[unlikely]] {
        corrupt();
        return false;
    }
    if (d->prev)
        d->prev->next = d->next;
    else
        head = d->next;
    if (d->next)
        d->next->prev = d->prev;
    d->next = d->prev = nullptr;
    d->queued = 0;
    return true;
}

bool private_heap::impl::dequeue(page_desc* d) noexcept {
    return unlink_checked(pages->fronts[d->owner].queue[d->cls], d, 1);
}

void private_heap::impl::push_full(page_desc* d) noexcept {
    link_first(pages->fronts[d->owner].full[d->cls], d, 3);
}

bool private_heap::impl::unlink_full(page_desc* d) noexcept {
    return unlink_checked(pages->fronts[d->owner].full[d->cls], d, 3);
}

bool private_heap::impl::chunk_run_of(const page_desc& d, chunk_run& run) const noexcept {
    const std::uintptr_t base = d.area & ~(pseg_bytes - 1);
    const std::size_t k = chunks_for(d.capacity);
    const std::uintptr_t offset = address(d.states) - (base + states_offset);
    if (address(d.states) < base + states_offset || offset % (k * state_chunk) != 0 ||
        offset / state_chunk >= state_chunks)
        return false;
    const std::size_t first = offset / state_chunk;
    run = {first / 64, ((std::uint64_t{1} << k) - 1) << (first % 64)};
    return true;
}

bool private_heap::impl::chunks_agree(std::uintptr_t base) const noexcept {
    // The segment header's bitmap of state chunks is not sealed: an overflow or a write after free
    // past the end of the mapping before this segment reaches it. The chunks in use are what the
    // pages' sealed descriptors say; the bitmap is believed only where it agrees.
    std::uint64_t in_use[(state_chunks + 63) / 64]{};
    for (std::size_t slot = meta_slots; slot < pseg_slots; ++slot) {
        const page_desc* d = descs_of(base) + slot;
        if (!desc_sound(d) || d->area != base + slot * page_bytes)
            return false;
        if (d->block == 0)
            continue;
        chunk_run run;
        if (!chunk_run_of(*d, run) || (in_use[run.word] & run.bits) != 0) // two pages, one chunk
            return false;
        in_use[run.word] |= run.bits;
    }
    return std::equal(std::begin(in_use), std::end(in_use), std::begin(pseg_of(base)->chunks));
}

page_desc* private_heap::impl::start_page(std::size_t c, std::size_t owner, bool may_map) noexcept {
    if (!pages->free_slots && !(may_map && map_pseg()))
        return nullptr;
    page_desc* d = pages->free_slots;
    if (!is_descriptor(d) || !desc_sound(d) || d->block != 0 || d->queued != 2) {
        corrupt();
        return nullptr;
    }
    const auto block = static_cast<std::uint32_t>((c + 1) * page_unit);
    const std::uintptr_t base = d->area & ~(pseg_bytes - 1);
    const std::size_t capacity = page_capacity(block, d->area);
    // The state bytes: the first free run of 1, 2 or 4 chunks aligned to its length. With at most
    // 59 other pages in the segment, each in one aligned group of 4, a group is always free.
    const std::size_t k = chunks_for(capacity);
    std::uint64_t* const chunks = pseg_of(base)->chunks;
    if (!chunks_agree(base)) {
        corrupt();
        return nullptr;
    }
    std::size_t first = state_chunks;
    for (std::size_t at = 0; at < state_chunks; at += k) {
        const std::uint64_t run = ((std::uint64_t{1} << k) - 1) << (at % 64);
        if ((chunks[at / 64] & run) == 0) {
            chunks[at / 64] |= run;
            first = at;
            break;
        }
    }
    if (first == state_chunks) {
        corrupt();
        return nullptr;
    }
    if (!unlink_free_slot(d))
        return nullptr;
    auto* const states =
        reinterpret_cast<std::uint8_t*>(base + states_offset + first * state_chunk);
    if (alone()) {
        std::memset(states, 0, capacity);
    } else {
        // On fronts, a thread of another front may be reading these bytes through a stale
        // pointer into the page that had them: stored atomically, and that thread, if it
        // claims one, finds the page changed and gives it back (front_release).
        for (std::size_t i = 0; i < capacity; ++i)
            std::atomic_ref(states[i]).store(0, std::memory_order_relaxed);
    }
    d->bump = 0;
    d->used = 0;
    d->free_head = 0;
    store_shape(d, states, block,
                static_cast<std::uint32_t>(((std::uint64_t{1} << 32) + block - 1) / block),
                static_cast<std::uint16_t>(capacity), static_cast<std::uint8_t>(c),
                static_cast<std::uint8_t>(owner));
    ++pseg_of(base)->pages;
    pseg_of(base)->dirty |= std::uint64_t{1} << slot_of(d, base);
    enqueue(d);
    return d;
}

void* private_heap::impl::page_full(page_desc* d, void* p) noexcept {
    // Blocks other fronts' threads freed here may give it room again (none without fronts).
    if (std::atomic_ref(d->remote).load(std::memory_order_relaxed) != 0 && adopt_remote(d) &&
        d->used < d->capacity)
        return p;
    if (dequeue(d))
        push_full(d);
    return p;
}

status private_heap::impl::page_freed_edge(page_desc* d, std::uint32_t was) noexcept {
    if (was == d->capacity)
        page_unfull(d);
    if (d->used == 0)
        page_emptied(d);
    return status::ok;
}

void private_heap::impl::page_unfull(page_desc* d) noexcept {
    // It becomes the head: an empty page kept as the head before goes (one empty page per class).
    page_desc* const old = pages->fronts[d->owner].queue[d->cls];
    if (!unlink_full(d))
        return;
    enqueue(d);
    if (old && old->used == 0)
        retire(old);
}

void private_heap::impl::page_emptied(page_desc* d) noexcept {
    // The head of its queue stays: the next allocation of the class would start a page again.
    if (pages->fronts[d->owner].queue[d->cls] == d)
        return;
    retire(d);
}

void private_heap::impl::retire(page_desc* d) noexcept {
    // The count that says the page is empty is not sealed: its state bytes must agree (none in
    // use or pending in the whole page, whatever bump, unsealed too, says) before its slot can be
    // given back, reused or unmapped with the blocks a damaged count forgot. Otherwise the page
    // stays, and the heap is damaged. (Its seal first: the head a page_unfull replaces was last
    // checked when a block was taken from it.)
    if (!desc_sound(d) || !states_clear(d->states, d->capacity)) [[unlikely]] {
        corrupt();
        return;
    }
    // A page in use is on its class queue (1) or its full list (3), whatever its queued byte,
    // unsealed, was written to say.
    if (d->queued == 1 ? !dequeue(d) : d->queued != 3 || !unlink_full(d)) {
        if (!damaged)
            corrupt();
        return;
    }
    // On fronts (the owner's lock held), the slot goes back under the heap's lock, and its
    // segment stays mapped: unmapping changes the table of page segments, which every front reads
    // under its own lock only (compact() unmaps it, holding every lock).
    const bool on_fronts = !alone();
    std::unique_lock<heap_lock> held(lock, std::defer_lock);
    if (on_fronts)
        held.lock();
    const std::uintptr_t base = d->area & ~(pseg_bytes - 1);
    const std::size_t first = (address(d->states) - (base + states_offset)) / state_chunk;
    const std::size_t k = chunks_for(d->capacity);
    pseg_of(base)->chunks[first / 64] &= ~(((std::uint64_t{1} << k) - 1) << (first % 64));
    d->bump = d->used = d->free_head = 0;
    store_shape(d, nullptr, 0, 0, 0, 0, 0); // atomic stores: see start_page
    push_free_slot(d);
    if (--pseg_of(base)->pages == 0 && pages->segs.count > 1 && on_fronts) {
        std::atomic_ref(pages->sweep).store(1, std::memory_order_relaxed);
    } else if (pseg_of(base)->pages == 0 && pages->segs.count > 1) {
        const std::size_t i = pseg_index(base);
        if (i != pages->segs.count)
            unmap_pseg(i);
    }
}

// --- the slow paths of allocate and free
// -----------------------------------------------------------

void* private_heap::impl::page_take_slow(std::size_t n) noexcept {
    if (!pages && !make_directory())
        return nullptr;
    if (void* p = page_take(n))
        return p;
    if (pages->fronts[0].queue[page_class(n)]) {
        // A page with room that the inline path refused: its descriptor or its free list's head
        // is damaged.
        corrupt();
        return nullptr;
    }
    if (!start_page(page_class(n)))
        return nullptr;
    return page_take(n);
}

status private_heap::impl::page_put_unhinted(void* p) noexcept {
    if (damaged)
        return status::heap_corrupt;
    const std::uintptr_t a = address(p);
    const std::size_t i = pseg_index(a);
    if (i == pages->segs.count)
        return free_to_segments(p);
    if (i < 0xffff)
        pages->hint[(a >> pseg_shift) % pseg_hints] = static_cast<std::uint16_t>(i + 1);
    return page_release(a, pages->segs.data[i].base);
}

status private_heap::impl::page_refusal(std::uintptr_t a, std::uintptr_t base) const noexcept {
    // As for the blocks of segments (docs/private_heap.md, "Detection"): a 16-aligned pointer
    // into a free block (or a free slot, or a block never handed out) is a double free; into a
    // block in use, or anywhere else, a foreign block.
    const std::size_t slot = (a - base) >> page_shift;
    if (slot < meta_slots || a % alignment != 0)
        return status::foreign_block;
    const page_desc* d = descs_of(base) + slot;
    if (!desc_sound(d))
        return corrupt();
    if (d->block == 0)
        return status::double_free;
    // One thread, or every lock held: on fronts, a refusal read under one front is decided here
    // again under every lock (free_exact), where nothing changes meanwhile. A block past bump has
    // state 0 (validate checks it).
    if (!page_form_sound(plain_view(d)))
        return corrupt();
    const std::size_t idx = (a - d->area) / d->block;
    if (idx >= d->capacity)
        return status::foreign_block;
    const std::uint8_t state = std::atomic_ref(d->states[idx]).load(std::memory_order_relaxed);
    if (state == 0 || state == pending_state) // pending: freed by a thread of another front
        return status::double_free;
    if (a != d->area + idx * d->block || state > d->block + 1)
        return state > d->block + 1 ? corrupt() : status::foreign_block;
    return corrupt(); // a block in use that the fast path refused
}

bool private_heap::impl::page_shape_sound(const page_desc* d) const noexcept {
    return page_form_sound(plain_view(d)) && d->bump <= d->capacity && d->used <= d->bump &&
           d->free_head <= d->bump;
}

bool private_heap::impl::page_form_sound(const desc_view& v) const noexcept {
    return v.owner < front_count && v.block >= page_unit && v.block <= page_max_request &&
           v.block % page_unit == 0 && v.cls == v.block / page_unit - 1 &&
           v.capacity == page_capacity(v.block, v.area) &&
           v.recip == ((std::uint64_t{1} << 32) + v.block - 1) / v.block;
}

// --- locate, size, reallocate
// ----------------------------------------------------------------------

bool private_heap::impl::page_locate(std::uintptr_t a, found& f, status& st) const noexcept {
    if (!pages)
        return false;
    const std::size_t i = pseg_index(a);
    if (i == pages->segs.count)
        return false;
    const std::uintptr_t base = pages->segs.data[i].base;
    const std::size_t slot = (a - base) >> page_shift;
    const page_desc* d = descs_of(base) + slot;
    if (slot < meta_slots || a % alignment != 0 || !desc_sound(d) || d->block == 0 ||
        !page_shape_sound(d)) {
        st = page_refusal(a, base);
        return true;
    }
    const std::size_t off = a - d->area;
    const std::size_t idx = off / d->block;
    if (off % d->block != 0 || idx >= d->bump || d->states[idx] == 0 ||
        d->states[idx] > d->block + 1 || d->states[idx] == pending_state) {
        st = page_refusal(a, base);
        return true;
    }
    f = {};
    f.page = const_cast<page_desc*>(d);
    f.page_index = idx;
    st = status::ok;
    return true;
}

void* private_heap::impl::page_reallocate(void* p, const found& f, std::size_t n,
                                          bool in_place_only, status& st) noexcept {
    page_desc* d = f.page;
    const std::size_t old = d->block + 1 - d->states[f.page_index];
    // Within the block, as long as the slack fits its state byte.
    if (n <= d->block && d->block - n <= max_slack) {
        d->states[f.page_index] = static_cast<std::uint8_t>(d->block - n + 1);
        on_used(n, old);
        st = status::ok;
        return p;
    }
    if (in_place_only) {
        st = status::cannot_resize_in_place;
        return nullptr;
    }
    return move_block(p, old, n, st);
}

// --- whole heap
// ------------------------------------------------------------------------------------

bool private_heap::impl::pages_contain(std::uintptr_t a, std::size_t n) const noexcept {
    if (!pages)
        return false;
    const std::size_t i = pseg_index(a);
    if (i == pages->segs.count)
        return false;
    const page_segment& s = pages->segs.data[i];
    return a >= s.base + meta_slots * page_bytes && s.base + s.length - a >= n;
}

status private_heap::impl::visit_pages(void (*visit)(void*, const block_info&),
                                       void* context) const noexcept {
    if (!pages)
        return status::ok;
    for (std::size_t i = 0; i < pages->segs.count; ++i) {
        const std::uintptr_t base = pages->segs.data[i].base;
        for (std::size_t slot = meta_slots; slot < pseg_slots; ++slot) {
            const page_desc* d = descs_of(base) + slot;
            if (!desc_sound(d))
                return status::heap_corrupt;
            if (d->block == 0) {
                visit(context, {reinterpret_cast<void*>(d->area), page_bytes, 0, false, true});
                continue;
            }
            if (!page_shape_sound(d))
                return status::heap_corrupt;
            if (!states_clear(d->states + d->bump, d->capacity - d->bump))
                return status::heap_corrupt;
            for (std::size_t idx = 0; idx < d->bump; ++idx) {
                void* at = reinterpret_cast<void*>(d->area + idx * d->block);
                const std::size_t s = d->states[idx];
                if (s > d->block + 1 || s == pending_state) // none pending: settle_fronts
                    return status::heap_corrupt;
                // The overhead is the slack: size + overhead is the block, as for a segment's
                // blocks it is the block less its header.
                if (s == 0)
                    visit(context, {at, d->block, 0, false, true});
                else
                    visit(context, {at, d->block + 1 - s, s - 1, true, true});
            }
            // The blocks never handed out are one free block, as the rest of a segment is.
            if (d->bump < d->capacity)
                visit(context, {reinterpret_cast<void*>(d->area + d->bump * d->block),
                                (d->capacity - d->bump) * d->block, 0, false, true});
        }
    }
    return status::ok;
}

bool private_heap::impl::pages_sound(tally& t, std::size_t& reserved) const noexcept {
    if (!pages)
        return true;
    const page_directory& dir = *pages;
    if (dir.segs.count > dir.segs.capacity)
        return false;
    reserved += dir.mapped_bytes + dir.segs.mapped_bytes;
    const std::size_t all_slots = dir.segs.count * (pseg_slots - meta_slots);
    // The free slots' list and the class queues: each entry a sound descriptor of the right kind,
    // linked both ways, the walks bounded by the slots there are.
    std::size_t free_listed = 0;
    const page_desc* prev = nullptr;
    for (const page_desc* d = dir.free_slots; d; prev = d, d = d->next) {
        if (++free_listed > all_slots || !is_descriptor(d) || !desc_sound(d) || d->block != 0 ||
            d->queued != 2 || d->prev != prev)
            return false;
    }
    if (free_listed != dir.free_slot_count)
        return false;
    // Each front's queues (pages with room) and full lists (pages without), every page in the
    // lists of its owner.
    std::size_t queued = 0;
    const auto list_sound = [&](const page_desc* d, std::size_t k, std::size_t c, bool full) {
        for (prev = nullptr; d; prev = d, d = d->next) {
            if (++queued > all_slots || !is_descriptor(d) || !desc_sound(d) || d->block == 0 ||
                !page_shape_sound(d) || d->cls != c || d->owner != k ||
                d->queued != (full ? 3 : 1) || d->prev != prev || (d->used == d->capacity) != full)
                return false;
        }
        return true;
    };
    // Most of the 2 x 64 heads of each front are empty (the fronts no thread ran on, all of them):
    // a tight look at each, and the walk only where there is a list.
    for (std::size_t k = 0; k < front_count; ++k) {
        const page_front& f = dir.fronts[k];
        for (std::size_t c = 0; c < page_classes; ++c) {
            if ((f.queue[c] && !list_sound(f.queue[c], k, c, false)) ||
                (f.full[c] && !list_sound(f.full[c], k, c, true)))
                return false;
        }
    }
    std::size_t free_found = 0;
    std::size_t queued_found = 0;
    for (std::size_t i = 0; i < dir.segs.count; ++i) {
        const page_segment& s = dir.segs.data[i];
        if (s.base % pseg_bytes != 0 || s.length != pseg_bytes ||
            (i > 0 && s.base <= dir.segs.data[i - 1].base))
            return false;
        if (pseg_of(s.base)->seal != pseg_seal(s.base))
            return false;
        reserved += s.length;
        std::size_t active = 0;
        std::size_t chunks = 0;
        for (std::size_t slot = meta_slots; slot < pseg_slots; ++slot) {
            const page_desc* d = descs_of(s.base) + slot;
            if (!desc_sound(d) || d->area != s.base + slot * page_bytes)
                return false;
            if (d->block == 0) {
                if (d->queued != 2)
                    return false;
                ++free_found;
                continue;
            }
            ++active;
            if (!page_sound(*d, t, chunks))
                return false;
            ++queued_found; // page_sound: in its queue or its full list
        }
        // No chunk in use but those of the pages (each page's own were checked marked).
        std::size_t marked = 0;
        for (const std::uint64_t word : pseg_of(s.base)->chunks)
            marked += static_cast<std::size_t>(std::popcount(word));
        if (active != pseg_of(s.base)->pages || marked != chunks)
            return false;
    }
    return free_found == free_listed && queued_found == queued;
}

bool private_heap::impl::page_sound(const page_desc& d, tally& t,
                                    std::size_t& chunks) const noexcept {
    if (!page_shape_sound(&d) || d.queued != (d.used < d.capacity ? 1 : 3) ||
        std::atomic_ref(const_cast<std::uint16_t&>(d.remote)).load(std::memory_order_relaxed) != 0)
        return false;
    // Its state chunks: inside the segment's, aligned to their count, marked in use.
    chunk_run run;
    if (!chunk_run_of(d, run) ||
        (pseg_of(d.area & ~(pseg_bytes - 1))->chunks[run.word] & run.bits) != run.bits)
        return false;
    chunks += chunks_for(d.capacity);
    if (!states_clear(d.states + d.bump, d.capacity - d.bump)) // bump <= capacity: shape_sound
        return false;
    std::size_t in_use = 0;
    for (std::size_t idx = 0; idx < d.bump; ++idx) {
        const std::size_t s = d.states[idx];
        if (s > d.block + 1 || s == pending_state) // none pending: settle_fronts adopted them
            return false;
        if (s != 0) {
            ++in_use;
            t.used_bytes += d.block + 1 - s;
        }
    }
    if (in_use != d.used)
        return false;
    t.used_blocks += in_use;
    // The free list holds every free block below bump once: as many entries, each free, none
    // seen twice.
    std::uint64_t seen[page_max_blocks / 64]{};
    std::size_t listed = 0;
    for (std::size_t v = d.free_head; v != 0;) {
        const std::size_t idx = v - 1;
        if (++listed > d.bump - d.used || idx >= d.bump || d.states[idx] != 0 ||
            (seen[idx / 64] >> (idx % 64) & 1) != 0)
            return false;
        seen[idx / 64] |= std::uint64_t{1} << (idx % 64);
        const auto* slot = reinterpret_cast<const std::uintptr_t*>(d.area + idx * d.block);
        v = static_cast<std::size_t>(*slot ^ link_mask(slot));
        if (v > d.bump)
            return false;
    }
    return listed == d.bump - d.used;
}

std::size_t private_heap::impl::compact_pages() noexcept {
    if (!pages)
        return 0;
    // Empty pages kept at the head of their queue go too, then every wholly free segment; the
    // pages of the free slots left are given back to the OS. Every descriptor is checked before
    // it is followed or its slot touched, as validate checks them.
    const std::size_t all_slots = pages->segs.count * (pseg_slots - meta_slots);
    std::size_t seen = 0;
    for (std::size_t k = 0; k < front_count; ++k) {
        for (std::size_t c = 0; c < page_classes; ++c) {
            const page_desc* prev = nullptr;
            for (page_desc* d = pages->fronts[k].queue[c]; d;) {
                if (++seen > all_slots || !is_descriptor(d) || !desc_sound(d) || d->block == 0 ||
                    d->cls != c || d->owner != k || d->queued != 1 || d->prev != prev) {
                    corrupt();
                    return 0;
                }
                page_desc* const next = d->next;
                if (d->used == 0)
                    retire(d);
                else
                    prev = d;
                d = next;
            }
        }
    }
    for (std::size_t i = pages->segs.count; i-- > 0;)
        if (pseg_of(pages->segs.data[i].base)->pages == 0 && !unmap_pseg(i))
            return 0;
    std::size_t largest = 0;
    for (std::size_t i = 0; i < pages->segs.count; ++i) {
        const std::uintptr_t base = pages->segs.data[i].base;
        std::uint64_t dirty = pseg_of(base)->dirty;
        // Runs of adjacent free slots that held pages go back in one call each; slots never used
        // since they were mapped or last given back are left alone (no system call for them).
        std::uintptr_t run = 0;
        std::uintptr_t run_end = 0;
        for (std::size_t slot = meta_slots; slot < pseg_slots; ++slot) {
            const page_desc* d = descs_of(base) + slot;
            if (!desc_sound(d) || d->area != base + slot * page_bytes) {
                corrupt();
                return 0;
            }
            const std::uint64_t bit = std::uint64_t{1} << slot;
            if (d->block != 0)
                continue;
            largest = page_bytes;
            if ((dirty & bit) == 0)
                continue;
            dirty &= ~bit;
            if (run_end != d->area) {
                if (run != run_end)
                    ::madvise(reinterpret_cast<void*>(run), run_end - run, MADV_DONTNEED);
                run = d->area;
            }
            run_end = d->area + page_bytes;
        }
        if (run != run_end)
            ::madvise(reinterpret_cast<void*>(run), run_end - run, MADV_DONTNEED);
        pseg_of(base)->dirty = dirty;
    }
    return largest;
}

} // namespace memmgr::detail::posix
