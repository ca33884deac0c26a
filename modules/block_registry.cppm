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
#include <unordered_set>

export module memmgr:block_registry;

namespace memmgr::detail {

class block_registry {
public:
    /// \returns false (and registers nothing) if the set cannot grow.
    bool add(const void* p) noexcept {
        std::lock_guard lock(mutex_);
        try {
            live_.insert(p);
            return true;
        } catch (const std::bad_alloc&) {
            return false;
        }
    }

    /// \returns false if p was not live.
    bool remove(const void* p) noexcept {
        std::lock_guard lock(mutex_);
        return live_.erase(p) != 0;
    }

    [[nodiscard]] bool contains(const void* p) const noexcept {
        std::lock_guard lock(mutex_);
        return live_.contains(p);
    }

    /// \returns the number of live blocks.
    [[nodiscard]] std::size_t size() const noexcept {
        std::lock_guard lock(mutex_);
        return live_.size();
    }

    /// Records that the live block `from` moved to `to`. \returns false if it cannot (then `from`
    /// stays registered).
    bool move(const void* from, const void* to) noexcept {
        std::lock_guard lock(mutex_);
        if (from == to)
            return true;
        try {
            live_.insert(to);
        } catch (const std::bad_alloc&) {
            return false;
        }
        live_.erase(from);
        return true;
    }

    /// A registry that lives as long as the process: the heaps it serves may free blocks from the
    /// destructors of other static objects. Reachable, so never reported as a leak.
    template <class Tag>
    static block_registry& instance() noexcept {
        static block_registry* const r = new block_registry;
        return *r;
    }

private:
    mutable std::mutex mutex_;
    std::unordered_set<const void*> live_;
};

} // namespace memmgr::detail
