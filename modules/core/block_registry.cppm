// memmgr:block_registry (internal): the set of live blocks of a heap built over another
// allocator, so that it can tell its own blocks from everything else without reading memory
// around the pointer it is given: a foreign pointer, a pointer into the middle of a block and a
// block already freed are all "not live", and are reported before anything is touched.
//
// A block already freed cannot be told from one never allocated once the set has forgotten it,
// so both read as errc::foreign_block (Windows' HeapValidate gives the same answer).
module;
#include <cstddef>
#include <mutex>
#include <new>
#include <type_traits>

export module memmgr:block_registry;

import :errors;
import :pointer_map;

namespace memmgr::detail {

class block_registry {
public:
    /// \returns false (and registers nothing) if the set cannot grow.
    bool add(const void* p) noexcept;

    /// \returns false if p was not live.
    bool remove(const void* p) noexcept;

    /// What remove_checked found.
    enum class removal { removed, not_live, refused };

    /// \effects if p is live and sound(p) says its header is intact, forgets p; the check and the
    /// removal are one step under the lock, so that of two threads freeing p at once the second
    /// finds it gone and never reads at p.
    /// \returns removed; not_live (nothing was read at p); refused (sound(p) was false: p stays
    /// live).
    removal remove_checked(const void* p, bool (*sound)(const void*) noexcept) noexcept;

    /// \effects if p is live, calls use() with the lock held, and forgets p if use returns true:
    /// nothing frees p meanwhile (every free removes it under the lock), so use may read and
    /// write p's block, as long as it takes no other lock of this registry.
    /// \returns false (use not called) if p is not live.
    template <class F>
    bool with_live(const void* p, F&& use) noexcept(noexcept(use())) {
        const std::lock_guard lock(mutex_);
        if (!live_.contains(p))
            return false;
        if (use())
            (void)live_.erase(p);
        return true;
    }

    /// \returns read() (nothing when it returns void) if p is live and sound(p) says its header is
    /// intact, all in one hold of the lock (with_live): no free of p comes between the check and
    /// the read. \errors foreign_block (p not live: nothing read at p), heap_corrupt (not sound).
    template <class Read>
    auto read_live(const void* p, bool (*sound)(const void*) noexcept, Read read) noexcept
        -> result<std::invoke_result_t<Read&>> {
        using value = std::invoke_result_t<Read&>;
        result<value> r = fail(errc::foreign_block);
        with_live(p, [&]() noexcept {
            if (!sound(p))
                r = fail(errc::heap_corrupt);
            else if constexpr (std::is_void_v<value>) {
                read();
                r = result<void>{};
            } else {
                r = read();
            }
            return false;
        });
        return r;
    }

    /// \returns whether p is live.
    [[nodiscard]] bool contains(const void* p) const noexcept;

    /// \returns the number of live blocks.
    [[nodiscard]] std::size_t size() const noexcept;

    /// \effects takes (lock) or releases (unlock) the registry's lock, which every other member
    /// takes for its own time. For the platform's fork handlers only (os::hold_across_fork), which
    /// hold it across fork() so that the child gets a consistent, unlocked copy.
    void lock() const noexcept;
    void unlock() const noexcept;

    /// A registry that lives as long as the process: the heaps it serves may free blocks from the
    /// destructors of other static objects. Made in static storage at first use and never
    /// destroyed: no allocation that could fail there (a `new` that threw ended the process inside
    /// this noexcept function; the table itself grows later, where a failure is an answer).
    template <class Tag>
    static block_registry& instance() noexcept {
        alignas(block_registry) static unsigned char storage[sizeof(block_registry)];
        static block_registry* const r = ::new (static_cast<void*>(storage)) block_registry;
        return *r;
    }

private:
    mutable std::mutex mutex_;
    pointer_map<bool> live_;
};

} // namespace memmgr::detail
