// The private heap engine's fork safety: pthread_atfork handlers that hold every serialized heap's
// lock across fork().
#include "impl.hpp"

#include <pthread.h>

namespace memmgr::detail::posix {

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
        ::pthread_atfork(&fork_prepare, &fork_parent, &fork_child) == 0;
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
