// The private heap engine's fork safety: pthread_atfork handlers that hold every serialized heap's
// lock across fork(), and the one ordered table through which every layer's handlers run (at_fork).
#include "impl.hpp"

#include <atomic>
#include <mutex>
#include <thread>

#include <pthread.h>

namespace memmgr::detail::posix {

namespace {

// Constant-initialised, so that a fork at any time finds it usable. Registration takes no lock: a
// layer may register while its thread holds a lock of an earlier rank (a debug heap's books, when
// the heap beneath makes its registry on first use), which a fork under way waits for. A slot is
// reserved, written, then published in order; a fork runs what was published when it prepared,
// and releases exactly that: `prepared` belongs to the forking thread (the child inherits its
// copy), so that two threads forking at once, which glibc does not serialise around the handlers
// in every version, never release what the other prepared.
struct fork_table {
    static constexpr std::size_t ranks = 3;
    static constexpr std::size_t per_rank = 4;
    fork_handlers entries[ranks][per_rank]{};
    std::atomic<std::size_t> reserved[ranks]{};
    std::atomic<std::size_t> published[ranks]{};
};
constinit fork_table handlers_table;
constinit thread_local std::size_t prepared[fork_table::ranks]{};

void table_prepare() noexcept {
    for (std::size_t r = 0; r < fork_table::ranks; ++r) {
        const std::size_t n = handlers_table.published[r].load(std::memory_order_acquire);
        prepared[r] = n;
        for (std::size_t i = 0; i < n; ++i)
            handlers_table.entries[r][i].prepare();
    }
}

template <void (*fork_handlers::*which)() noexcept>
void table_release() noexcept {
    for (std::size_t r = fork_table::ranks; r-- > 0;)
        for (std::size_t i = prepared[r]; i-- > 0;)
            (handlers_table.entries[r][i].*which)();
}

} // namespace

bool at_fork(fork_rank rank, fork_handlers h) noexcept {
    static const bool hooked =
        ::pthread_atfork(&table_prepare, &table_release<&fork_handlers::parent>,
                         &table_release<&fork_handlers::child>) == 0;
    const auto r = static_cast<std::size_t>(rank);
    if (!hooked || r >= fork_table::ranks)
        return false;
    const std::size_t n = handlers_table.reserved[r].fetch_add(1, std::memory_order_relaxed);
    if (n >= fork_table::per_rank)
        return false;
    handlers_table.entries[r][n] = h;
    // Published after every earlier registration of the rank (each finishes without waiting).
    for (std::size_t before = n; !handlers_table.published[r].compare_exchange_weak(
             before, n + 1, std::memory_order_release, std::memory_order_relaxed);
         before = n)
        std::this_thread::yield();
    return true;
}

private_heap::impl::fork_list& private_heap::impl::forks() noexcept {
    static constinit fork_list list; // constant-initialised: usable from any handler
    return list;
}

void private_heap::impl::fork_prepare() noexcept {
    forks().lock.lock();
    for (impl* h = forks().first; h; h = h->fork_next)
        h->lock_all();
}

void private_heap::impl::fork_parent() noexcept {
    for (impl* h = forks().first; h; h = h->fork_next)
        h->unlock_all();
    forks().lock.unlock();
}

void private_heap::impl::fork_child() noexcept {
    for (impl* h = forks().first; h; h = h->fork_next) {
        // The child may run without fronts (one thread): every remote free adopted, the fronts'
        // counters in the statistics, while every lock is still held.
        if (h->pages)
            h->settle_fronts();
        if (h->locked_fronts)
            for (page_front& f : h->locked_fronts->fronts) {
                f.lock.reset_after_fork();
                f.stop.store(0, std::memory_order_relaxed);
                f.busy.store(0, std::memory_order_relaxed);
            }
        h->exclusive = false;
        h->locked_fronts = nullptr;
        h->lock.reset_after_fork();
    }
    forks().lock.reset_after_fork();
    forget_owned_fronts();
}

void private_heap::impl::enlist_for_fork() noexcept {
    [[maybe_unused]] static const bool hooked =
        at_fork(fork_rank::private_heaps, {&fork_prepare, &fork_parent, &fork_child});
    const std::lock_guard held(forks().lock);
    fork_next = forks().first;
    if (fork_next)
        fork_next->fork_prev = this;
    forks().first = this;
}

void private_heap::impl::delist_for_fork() noexcept {
    const std::lock_guard held(forks().lock);
    if (fork_prev)
        fork_prev->fork_next = fork_next;
    else if (forks().first == this)
        forks().first = fork_next;
    if (fork_next)
        fork_next->fork_prev = fork_prev;
}

} // namespace memmgr::detail::posix
