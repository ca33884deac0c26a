// The private heap engine's fronts (docs/private_heap.md, "Fronts"): how a serialized heap's
// threads share it. Each thread keeps one of front_count fronts, each with its own class queues in
// the page directory: a front of its own, which it holds for an operation by a flag and no atomic
// read-modify-write (lock_all stops it with an asymmetric fence, membarrier), or the shared front,
// under its lock. A small block's allocation, and a free into a page of the thread's own front,
// hold that front only. A free into another front's page takes no other lock: it claims the block
// (compare-exchange on its state byte, so that a second free of it is still a double free) and
// pushes it onto the page's atomic remote list, which the owner adopts, checking every link, when
// it needs blocks from that page. Everything else takes the heap's lock, and the whole-heap
// operations every lock (lock_all), after which the single-threaded paths run.
//
// A thread reads another front's page descriptor while its owner may be retiring or restarting
// the page (the pointer is stale): each sealed field is stored and loaded atomically, the view is
// trusted once it passes its seal, and a claim is checked against a second view. Whatever a front
// refuses (a seal that fails, a state that says not in use) is asked again under every lock
// (free_exact, and the same in size_fronted and reallocate_fronted), where nothing changes
// meanwhile: a read another thread tore is never taken for damage.
#include "impl.hpp"

#include <pthread.h>
#include <sched.h>

#if defined(__linux__) && __has_include(<linux/membarrier.h>)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#define MEMMGR_HAS_MEMBARRIER 1
#endif

namespace memmgr::detail::posix {

namespace {

// The running thread's front: its index + 1, with owned_bit when the thread owns it; 0 before its
// first operation on fronts. Initial-exec: the engine is also linked into a preloaded malloc,
// where the general model would call __tls_get_addr on every operation.
constexpr std::uint32_t owned_bit = 0x100;
[[gnu::tls_model("initial-exec")]] constinit thread_local std::uint32_t thread_front = 0;

// Process-wide, as the thread's front is the same in every heap: which fronts a live thread owns,
// and how many live threads share each (a thread lets go of its front when it ends, through a
// key's destructor, so that the threads running at once spread over the fronts).
constinit std::atomic<std::uint32_t> front_owned[front_count]{};
constinit std::atomic<std::uint32_t> front_users[front_count]{};

/// Whether this process may have owned fronts: membarrier's private expedited fence registered.
bool fences_available() noexcept {
#ifdef MEMMGR_HAS_MEMBARRIER
    static const bool registered =
        ::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    return registered;
#else
    return false;
#endif
}

/// A full memory barrier on every running thread of the process (the owners' side of the fence
/// is a compiler barrier only). \requires fences_available().
void fence_every_thread() noexcept {
#ifdef MEMMGR_HAS_MEMBARRIER
    ::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
#endif
}

void let_go(void* value) noexcept {
    const auto ticket = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(value));
    const std::size_t k = (ticket & (owned_bit - 1)) - 1;
    if (k >= front_count)
        return;
    if ((ticket & owned_bit) != 0) {
        // What this thread frees after this (other keys' destructors) goes through the shared
        // front, under its lock: the next thread to own the front may already be running.
        thread_front = shared_front + 1;
        front_users[shared_front].fetch_add(1, std::memory_order_relaxed);
        front_owned[k].store(0, std::memory_order_release);
    } else {
        front_users[k].fetch_sub(1, std::memory_order_relaxed);
    }
}

pthread_key_t* exit_key() noexcept {
    static pthread_key_t key;
    static const bool made = ::pthread_key_create(&key, &let_go) == 0;
    return made ? &key : nullptr;
}

[[gnu::noinline]] std::uint32_t choose_front() noexcept {
    pthread_key_t* const key = exit_key();
    std::uint32_t ticket = 0;
    // A front of its own if one is free (and can be given back when the thread ends), else the
    // shared front; without fences, the front fewest threads share.
    if (key && fences_available()) {
        for (std::size_t k = 0; k < shared_front && ticket == 0; ++k) {
            std::uint32_t expected = 0;
            if (front_owned[k].load(std::memory_order_relaxed) == 0 &&
                front_owned[k].compare_exchange_strong(expected, 1, std::memory_order_acquire))
                ticket = static_cast<std::uint32_t>(k + 1) | owned_bit;
        }
        if (ticket == 0)
            ticket = shared_front + 1;
    } else {
        std::size_t best = 0;
        std::uint32_t fewest = front_users[0].load(std::memory_order_relaxed);
        for (std::size_t k = 1; k < front_count; ++k) {
            const std::uint32_t users = front_users[k].load(std::memory_order_relaxed);
            if (users < fewest) {
                fewest = users;
                best = k;
            }
        }
        ticket = static_cast<std::uint32_t>(best + 1);
    }
    if ((ticket & owned_bit) == 0)
        front_users[(ticket & (owned_bit - 1)) - 1].fetch_add(1, std::memory_order_relaxed);
    // Set before the key: pthread_setspecific may allocate (keys past the first 32), which comes
    // back here with the front already chosen.
    thread_front = ticket;
    if (key)
        ::pthread_setspecific(*key, reinterpret_cast<void*>(std::uintptr_t{ticket}));
    return ticket;
}

} // namespace

private_heap::impl::front_id private_heap::impl::my_front() noexcept {
    std::uint32_t ticket = thread_front;
    if (ticket == 0) [[unlikely]]
        ticket = choose_front();
    return {(ticket & (owned_bit - 1)) - 1, (ticket & owned_bit) != 0};
}

#ifdef MEMMGR_FUZZ_FRONT_EXCHANGE
std::uint32_t exchange_thread_front(std::uint32_t ticket) noexcept {
    const std::uint32_t was = thread_front != 0 ? thread_front : choose_front();
    thread_front = ticket;
    return was;
}
#endif

void private_heap::impl::forget_owned_fronts() noexcept {
    // In the child of a fork: its one thread keeps its front, the others' threads are gone.
    const std::uint32_t ticket = thread_front;
    for (std::size_t k = 0; k < front_count; ++k) {
        const bool mine = ticket == (static_cast<std::uint32_t>(k + 1) | owned_bit);
        front_owned[k].store(mine ? 1 : 0, std::memory_order_relaxed);
        front_users[k].store(ticket == k + 1 ? 1 : 0, std::memory_order_relaxed);
    }
}

// --- every lock ----------------------------------------------------------------------------------

void private_heap::impl::stop_fronts(page_directory& dir) noexcept {
    for (page_front& f : dir.fronts) {
        f.lock.lock();
        f.stop.store(1, std::memory_order_relaxed);
    }
    if (!fences_available())
        return; // no front is owned
    fence_every_thread();
    for (page_front& f : dir.fronts)
        while (f.busy.load(std::memory_order_acquire) != 0)
            sched_yield(); // an owner in the middle of one allocation or free
}

void private_heap::impl::lock_all() const noexcept {
    for (;;) {
        page_directory* const dir = directory();
        if (dir)
            stop_fronts(*dir);
        lock.lock();
        // The directory is made under the heap's lock: if there was none and there is none now,
        // no front can be in use until this lock is released.
        if (dir || !pages) {
            locked_fronts = dir;
            exclusive = true;
            return;
        }
        lock.unlock();
    }
}

void private_heap::impl::unlock_all() const noexcept {
    page_directory* const dir = locked_fronts;
    exclusive = false;
    locked_fronts = nullptr;
    lock.unlock();
    if (dir)
        for (std::size_t k = front_count; k-- > 0;) {
            dir->fronts[k].stop.store(0, std::memory_order_release);
            dir->fronts[k].lock.unlock();
        }
}

// --- remote frees --------------------------------------------------------------------------------

bool private_heap::impl::adopt_remote(page_desc* d) noexcept {
    std::uint32_t v = std::atomic_ref(d->remote).exchange(0, std::memory_order_acquire);
    page_front& f = pages->fronts[d->owner];
    // Each step clears a pending state byte, and only a pending block is taken: a cycle, or a
    // link naming a block twice, stops at the block seen before; bounded by bump.
    while (v != 0) {
        const std::size_t idx = v - 1;
        if (idx >= d->bump || d->bump > d->capacity || d->used == 0) {
            corrupt();
            return false;
        }
        std::atomic_ref state(d->states[idx]);
        auto* slot = reinterpret_cast<std::uintptr_t*>(d->area + idx * d->block);
        const std::uint64_t word = *slot ^ link_mask(slot);
        const std::uint64_t next = word & 0xffff;
        const std::uint64_t was = word >> 16; // the block's state before its free
        if (state.load(std::memory_order_relaxed) != pending_state || next > d->bump || was == 0 ||
            was > d->block + 1 || was > max_slack + 1) {
            corrupt();
            return false;
        }
        state.store(0, std::memory_order_relaxed);
        *slot = std::uintptr_t{d->free_head} ^ link_mask(slot);
        d->free_head = static_cast<std::uint32_t>(idx + 1);
        --d->used;
        f.used_bytes -= d->block + 1 - was;
        --f.used_blocks;
        v = static_cast<std::uint32_t>(next);
    }
    return true;
}

void private_heap::impl::settle_fronts() noexcept {
    if (damaged)
        return;
    // Every lock is held: the pushes that set the flag are over, and none comes before it clears.
    // Without any, no page has a remote list, and the scan of every descriptor is skipped.
    std::atomic_ref pending(pages->remote_since_settle);
    const bool scan = pending.load(std::memory_order_relaxed) != 0;
    for (std::size_t i = 0; scan && i < pages->segs.count; ++i) {
        const std::uintptr_t base = pages->segs.data[i].base;
        for (std::size_t slot = meta_slots; slot < pseg_slots; ++slot) {
            page_desc* const d = descs_of(base) + slot;
            // What fails here is left for validate to report.
            if (!desc_sound(d) || d->block == 0 || !page_shape_sound(d) ||
                std::atomic_ref(d->remote).load(std::memory_order_relaxed) == 0)
                continue;
            const bool was_full = d->queued == 3;
            if (!adopt_remote(d))
                return;
            // Not page_unfull: retiring a page here could unmap the segment being walked.
            if (was_full && d->used < d->capacity) {
                if (!unlink_full(d))
                    return;
                enqueue(d);
            }
        }
    }
    pending.store(0, std::memory_order_relaxed);
    for (page_front& f : pages->fronts) {
        if (scan) // else no flag was set since the last settle cleared them all
            for (auto& flag : f.remote)
                std::atomic_ref(flag).store(0, std::memory_order_relaxed);
        on_used(f.used_bytes, 0);
        stats.used_blocks += f.used_blocks;
        stats.total_allocations += f.allocations;
        f.used_bytes = f.used_blocks = f.allocations = 0;
    }
}

// --- allocate ------------------------------------------------------------------------------------

page_desc* private_heap::impl::front_refill(std::size_t c, page_front& f, std::size_t k,
                                            bool& map) noexcept {
    // Full pages that other fronts' threads freed blocks of first, then a new page.
    std::atomic_ref flag(f.remote[c]);
    if (flag.load(std::memory_order_relaxed) != 0 &&
        flag.exchange(0, std::memory_order_acquire) != 0) {
        const std::size_t limit = pages->segs.count * (pseg_slots - meta_slots);
        std::size_t seen = 0;
        for (page_desc* d = f.full[c]; d;) {
            if (++seen > limit || !is_descriptor(d) || !desc_sound(d) || d->owner != k ||
                d->queued != 3 || d->cls != c) {
                corrupt();
                return nullptr;
            }
            page_desc* const next = d->next;
            if (std::atomic_ref(d->remote).load(std::memory_order_relaxed) != 0) {
                if (!adopt_remote(d))
                    return nullptr;
                if (d->used < d->capacity)
                    page_unfull(d);
            }
            d = next;
        }
        if (f.queue[c])
            return f.queue[c];
    }
    const std::lock_guard held(lock);
    if (damaged)
        return nullptr;
    if (!pages->free_slots) {
        map = true; // the caller maps a page segment, holding every lock
        return nullptr;
    }
    return start_page(c, k, false);
}

[[gnu::always_inline]] void* private_heap::impl::front_take(std::size_t n, page_front& f,
                                                            std::size_t k, bool& map) noexcept {
    const std::size_t c = page_class(n);
    page_desc* d = f.queue[c];
    if (!d && !(d = front_refill(c, f, k, map)))
        return nullptr;
    if (!desc_sound(d) || d->owner != k) {
        corrupt();
        return nullptr;
    }
    if (d->free_head == 0 && std::atomic_ref(d->remote).load(std::memory_order_relaxed) != 0 &&
        !adopt_remote(d))
        return nullptr;
    std::size_t idx = d->free_head;
    if (idx != 0) {
        --idx;
        // As page_take checks them: the head within the blocks handed out (and the page) before
        // anything is read through it, and free, its link too.
        if (idx >= d->bump || d->bump > d->capacity) {
            corrupt();
            return nullptr;
        }
        const auto* slot = reinterpret_cast<const std::uintptr_t*>(d->area + idx * d->block);
        const std::uint64_t next = *slot ^ link_mask(slot);
        if (std::atomic_ref(d->states[idx]).load(std::memory_order_relaxed) != 0 ||
            next > d->bump) {
            corrupt();
            return nullptr;
        }
        d->free_head = static_cast<std::uint32_t>(next);
    } else if (d->bump < d->capacity &&
               std::atomic_ref(d->states[d->bump]).load(std::memory_order_relaxed) == 0) {
        idx = d->bump++; // never handed out (as page_take checks: a bump written down is refused)
    } else {
        corrupt(); // a full page in a queue of pages with room, or a bump written down
        return nullptr;
    }
    // Release: a thread of another front that claims this block (front_release) then sees the
    // page's fields as they are now, not as they were before the page started.
    std::atomic_ref(d->states[idx])
        .store(static_cast<std::uint8_t>(d->block - n + 1), std::memory_order_release);
    f.used_bytes += n;
    ++f.used_blocks;
    ++f.allocations;
    void* const p = reinterpret_cast<void*>(d->area + idx * d->block);
    if (++d->used == d->capacity)
        return page_full(d, p);
    return p;
}

void* private_heap::impl::allocate_fronted(std::size_t n, bool zero, status& st) noexcept {
    st = status::ok;
    if (n <= page_max_request && !fixed()) {
        const front_id me = my_front();
        const std::size_t k = me.index;
        page_directory* dir = directory();
        if (!dir) {
            const std::lock_guard held(lock);
            if (!pages && !damaged)
                make_directory();
            dir = pages;
        }
        for (int attempt = 0; dir && attempt < 3; ++attempt) {
            bool map = false;
            void* p = nullptr;
            {
                page_front& f = dir->fronts[k];
                const front_hold held(f, me.owned);
                if (damaged) {
                    st = status::heap_corrupt;
                    return nullptr;
                }
                p = front_take(n, f, k, map);
                if (!p && damaged) {
                    st = status::heap_corrupt;
                    return nullptr;
                }
            }
            if (p) {
                if (zero)
                    std::memset(p, 0, n);
                return p;
            }
            if (!map)
                break;
            // No free slot: map a page segment, which changes the table every front reads.
            lock_all();
            const bool mapped = !damaged && (pages->free_slots || map_pseg());
            unlock_all();
            if (!mapped)
                break; // no memory for pages: the segments serve it, as without fronts
        }
    }
    const std::lock_guard held(lock);
    if (n <= cache_max_request && !zero)
        if (void* p = cache_take(n))
            return p;
    return allocate_slow(n, zero, st); // not from the pages: alone() is false
}

// --- free ----------------------------------------------------------------------------------------

[[gnu::always_inline]] status private_heap::impl::front_release(std::uintptr_t a,
                                                                std::uintptr_t base, page_front& f,
                                                                std::size_t k, bool exact,
                                                                bool& refused) noexcept {
    const std::size_t slot = (a - base) >> page_shift;
    page_desc* const d = descs_of(base) + slot;
    // Each field loaded atomically, trusted once the seal passes: if the page is another front's,
    // its owner may be retiring or restarting it right now (p is then stale).
    const desc_view v = view_of(d);
    if (slot < meta_slots || !view_sound(v, d) || v.block == 0) [[unlikely]]
        return front_refusal(a, base, exact, refused);
    const std::size_t off = a - v.area;
    const std::size_t idx = (off * v.recip) >> 32;
    if (idx * v.block != off || idx >= v.capacity) [[unlikely]]
        return front_refusal(a, base, exact, refused);
    std::atomic_ref state(v.states[idx]);
    std::uint8_t s = state.load(std::memory_order_relaxed);
    if (v.owner == k) {
        // By compare-exchange: a thread of another front freeing the same block (a double free)
        // claims it the same way, and whichever comes second is refused.
        if (idx >= d->bump || s == 0 || s == pending_state || s > v.block + 1 ||
            !state.compare_exchange_strong(s, 0, std::memory_order_relaxed)) [[unlikely]]
            return front_refusal(a, base, exact, refused);
        auto* link = reinterpret_cast<std::uintptr_t*>(a);
        *link = std::uintptr_t{d->free_head} ^ link_mask(link);
        d->free_head = static_cast<std::uint32_t>(idx + 1);
        f.used_bytes -= v.block + 1 - s;
        --f.used_blocks;
        const std::uint32_t was = d->used--;
        if (was == v.capacity || was == 1) [[unlikely]]
            return page_freed_edge(d, was);
        return status::ok;
    }
    // Another front's page: claim the block, then push it. Acquire: the claim reads the state
    // that the allocation of the block stored (release), so the page's fields read next are at
    // least that allocation's.
    do {
        if (s == 0 || s == pending_state || s > v.block + 1) [[unlikely]]
            return front_refusal(a, base, exact, refused);
    } while (!state.compare_exchange_weak(s, pending_state, std::memory_order_acquire,
                                          std::memory_order_relaxed));
    if (view_of(d) != v) [[unlikely]] {
        // The page was retired and restarted between the view and the claim (p is stale): the
        // byte is another block's now. Given back (anyone who met it pending was refused and
        // waits for every lock, so for this front), and asked again under every lock.
        std::uint8_t claimed = pending_state;
        state.compare_exchange_strong(claimed, s, std::memory_order_relaxed);
        return front_refusal(a, base, exact, refused);
    }
    // The block is this thread's alone now, and its page cannot retire (it counts as in use until
    // adopted): its first word links it, with its old state (so that the owner knows the size it
    // held), encoded as the free list's links are.
    auto* link = reinterpret_cast<std::uintptr_t*>(a);
    std::atomic_ref head(d->remote);
    std::uint16_t old = head.load(std::memory_order_relaxed);
    do {
        *link = (std::uintptr_t{old} | std::uintptr_t{s} << 16) ^ link_mask(link);
    } while (!head.compare_exchange_weak(old, static_cast<std::uint16_t>(idx + 1),
                                         std::memory_order_release, std::memory_order_relaxed));
    std::atomic_ref flag(pages->fronts[v.owner].remote[v.cls]);
    if (flag.load(std::memory_order_relaxed) == 0)
        flag.store(1, std::memory_order_release);
    std::atomic_ref pending(pages->remote_since_settle);
    if (pending.load(std::memory_order_relaxed) == 0)
        pending.store(1, std::memory_order_relaxed);
    return status::ok;
}

status private_heap::impl::free_fronted(void* p) noexcept {
    for (;;) {
        if (page_directory* const dir = directory()) {
            bool paged = false;
            bool refused = false;
            const status st = free_to_front(p, *dir, paged, refused);
            if (std::atomic_ref(dir->sweep).load(std::memory_order_relaxed) != 0) [[unlikely]]
                sweep_segments();
            if (refused) [[unlikely]]
                return free_exact(p);
            if (paged)
                return st;
        }
        const std::lock_guard held(lock);
        if (damaged)
            return status::heap_corrupt;
        // A page segment mapped since the fronts were asked (p stale or foreign: a block in it was
        // handed out after this call began) is the fronts' to answer: its pages' counts and state
        // bytes belong to their owners, not to this lock.
        if (in_page_segment(p))
            continue;
        return free_to_segments(p);
    }
}

status private_heap::impl::free_exact(void* p) noexcept {
    lock_all();
    status st = status::heap_corrupt;
    if (!damaged) {
        const std::uintptr_t a = address(p);
        const std::size_t si = pseg_index(a); // pages: the directory outlives the fronts
        if (si < pages->segs.count) {
            const front_id me = my_front();
            bool refused = false;
            st = front_release(a, pages->segs.data[si].base, pages->fronts[me.index], me.index,
                               true, refused);
        } else {
            st = free_to_segments(p); // its segment unmapped meanwhile
        }
    }
    unlock_all();
    return st;
}

void private_heap::impl::sweep_segments() noexcept {
    lock_all();
    if (std::atomic_ref(pages->sweep).exchange(0, std::memory_order_relaxed) != 0 && !damaged)
        for (std::size_t i = pages->segs.count; i-- > 0 && pages->segs.count > 1;)
            if (pseg_of(pages->segs.data[i].base)->pages == 0 && !unmap_pseg(i))
                break;
    unlock_all();
}

status private_heap::impl::free_to_front(void* p, page_directory& dir, bool& paged,
                                         bool& refused) noexcept {
    {
        const front_id me = my_front();
        const std::size_t k = me.index;
        page_front& f = dir.fronts[k];
        const front_hold held(f, me.owned);
        paged = true;
        if (damaged)
            return status::heap_corrupt;
        // The table of page segments changes only under every lock: stable under this one.
        const std::uintptr_t a = address(p);
        const std::uintptr_t base = a & ~(pseg_bytes - 1);
        std::atomic_ref hint(dir.hint[(a >> pseg_shift) % pseg_hints]);
        std::size_t si = std::size_t{hint.load(std::memory_order_relaxed)} - 1; // wraps: none
        if (si >= dir.segs.count || dir.segs.data[si].base != base) {
            si = pseg_index(a);
            if (si < dir.segs.count && si < 0xffff)
                hint.store(static_cast<std::uint16_t>(si + 1), std::memory_order_relaxed);
        }
        if (si < dir.segs.count)
            return front_release(a, dir.segs.data[si].base, f, k, false, refused);
    }
    paged = false; // in no page segment: the caller goes on to the segments
    return status::ok;
}

// --- size, owns, reallocate ----------------------------------------------------------------------

void private_heap::impl::page_block_fronted(const void* p, page_directory& dir, page_desc*& d,
                                            desc_view& v, std::size_t& idx, std::uint8_t& s,
                                            bool& paged, bool& refused) const noexcept {
    const std::uintptr_t a = address(p);
    const std::size_t si = pseg_index(a); // stable under any front (free_to_front)
    paged = si < dir.segs.count;
    if (!paged)
        return;
    const std::uintptr_t base = dir.segs.data[si].base;
    const std::size_t slot = (a - base) >> page_shift;
    d = descs_of(base) + slot;
    v = view_of(d); // as front_release reads it
    if (slot < meta_slots || a % alignment != 0 || !view_sound(v, d) || v.block == 0 ||
        !page_form_sound(v)) {
        refused = true;
        return;
    }
    const std::size_t off = a - v.area;
    idx = off / v.block;
    s = std::atomic_ref(v.states[idx < v.capacity ? idx : 0]).load(std::memory_order_relaxed);
    if (off % v.block != 0 || idx >= v.capacity || s == 0 || s == pending_state || s > v.block + 1)
        refused = true;
}

status private_heap::impl::size_fronted(const void* p, std::size_t& out) const noexcept {
    for (;;) {
        if (page_directory* const dir = directory()) {
            bool paged = false;
            bool refused = false;
            {
                const front_id me = my_front();
                const front_hold held(dir->fronts[me.index], me.owned);
                if (damaged)
                    return status::heap_corrupt;
                page_desc* d = nullptr;
                desc_view v{};
                std::size_t idx = 0;
                std::uint8_t s = 0;
                page_block_fronted(p, *dir, d, v, idx, s, paged, refused);
                if (paged && !refused) {
                    out = v.block + 1 - s;
                    return status::ok;
                }
            }
            if (refused) {
                // Asked again under every lock, where the single-threaded answer is exact (a
                // block freed by another front's thread, pending, is a double free there).
                const every_lock held(*this);
                if (damaged)
                    return status::heap_corrupt;
                found f;
                if (const status st = locate(p, f); st != status::ok)
                    return noted(st);
                if (f.page)
                    out = f.page->block + 1 - f.page->states[f.page_index];
                else
                    out = f.is_large ? larges.data[f.large_index].requested
                                     : capacity(f.h) - f.h->slack;
                return status::ok;
            }
        }
        const std::lock_guard held(lock);
        if (damaged)
            return status::heap_corrupt;
        if (in_page_segment(p))
            continue; // mapped since (a stale or foreign p): answered on fronts, as above
        found f;
        if (const status st = locate(p, f); st != status::ok)
            return noted(st);
        out = f.is_large ? larges.data[f.large_index].requested : capacity(f.h) - f.h->slack;
        return status::ok;
    }
}

void* private_heap::impl::reallocate_fronted(void* p, std::size_t n, bool in_place_only,
                                             status& st) noexcept {
    if (!p)
        return allocate_fronted(n, false, st);
    for (;;) {
        if (page_directory* const dir = directory()) {
            std::size_t old = 0;
            bool paged = false;
            bool refused = false;
            {
                const front_id me = my_front();
                page_front& f = dir->fronts[me.index];
                const front_hold held(f, me.owned);
                if (damaged) {
                    st = status::heap_corrupt;
                    return nullptr;
                }
                page_desc* d = nullptr;
                desc_view v{};
                std::size_t idx = 0;
                std::uint8_t s = 0;
                page_block_fronted(p, *dir, d, v, idx, s, paged, refused);
                if (paged && !refused && n > max_request) {
                    st = status::size_overflow;
                    return nullptr;
                }
                if (paged && !refused) {
                    old = v.block + 1 - s;
                    // Within the block: its state byte only, by compare-exchange (a thread of
                    // another front may be freeing it: a double free, refused to whichever comes
                    // second), then the page checked unchanged, as front_release does.
                    if (n <= v.block && v.block - n <= max_slack) {
                        std::atomic_ref state(v.states[idx]);
                        const auto now = static_cast<std::uint8_t>(v.block - n + 1);
                        if (!state.compare_exchange_strong(s, now, std::memory_order_acq_rel)) {
                            refused = true;
                        } else if (view_of(d) != v) {
                            std::uint8_t mine = now;
                            state.compare_exchange_strong(mine, s, std::memory_order_relaxed);
                            refused = true;
                        } else {
                            f.used_bytes += n - old; // wrapping, as every front's counters
                            st = status::ok;
                            return p;
                        }
                    }
                }
            }
            if (refused) {
                // Asked again under every lock: the single-threaded code's exact verdict.
                const every_lock held(*this);
                if (damaged) {
                    st = status::heap_corrupt;
                    return nullptr;
                }
                void* const q = reallocate_block(p, n, in_place_only, st);
                if (!q)
                    st = noted(st);
                return q;
            }
            if (paged) { // a block of a page that must move
                if (in_place_only) {
                    st = status::cannot_resize_in_place;
                    return nullptr;
                }
                void* const q = allocate_fronted(n, false, st);
                if (!q)
                    return nullptr;
                {
                    // The copy under this thread's front: a free of p on another thread
                    // meanwhile (a double free, the caller's race) may empty p's page, but its
                    // segment cannot be unmapped while a front is held (that takes every front),
                    // and one unmapped before the hold is seen here. Either way nothing outside
                    // the heap's mappings is read.
                    const front_id me = my_front();
                    const front_hold held(dir->fronts[me.index], me.owned);
                    if (in_page_segment(p))
                        std::memcpy(q, p, old < n ? old : n);
                }
                // p is checked again by its free: a free of it on another thread meanwhile (a
                // double free) leaves q unused, and is reported.
                if (const status freed = free_fronted(p); freed != status::ok) {
                    (void)free_fronted(q);
                    st = freed;
                    return nullptr;
                }
                return q;
            }
        }
        const std::lock_guard held(lock);
        if (damaged) {
            st = status::heap_corrupt;
            return nullptr;
        }
        if (in_page_segment(p))
            continue; // mapped since: the fronts' to answer (free_fronted says why)
        void* const q = reallocate_block(p, n, in_place_only, st);
        if (!q)
            st = noted(st);
        return q;
    }
}

} // namespace memmgr::detail::posix
