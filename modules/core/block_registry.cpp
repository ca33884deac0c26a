// memmgr:block_registry, the bodies: every operation is one lookup in the pointer map under the
// registry's lock.
module;
#include <cstddef>
#include <mutex>

module memmgr;

import :block_registry;

namespace memmgr::detail {

bool block_registry::add(const void* p) noexcept {
    std::lock_guard lock(mutex_);
    return live_.insert_or_assign(p, true);
}

bool block_registry::remove(const void* p) noexcept {
    std::lock_guard lock(mutex_);
    return live_.erase(p);
}

block_registry::removal
block_registry::remove_checked(const void* p, bool (*sound)(const void*) noexcept) noexcept {
    std::lock_guard lock(mutex_);
    if (!live_.contains(p))
        return removal::not_live;
    if (!sound(p))
        return removal::refused;
    (void)live_.erase(p);
    return removal::removed;
}

bool block_registry::contains(const void* p) const noexcept {
    std::lock_guard lock(mutex_);
    return live_.contains(p);
}

std::size_t block_registry::size() const noexcept {
    std::lock_guard lock(mutex_);
    return live_.size();
}

void block_registry::lock() const noexcept {
    mutex_.lock();
}

void block_registry::unlock() const noexcept {
    mutex_.unlock();
}

} // namespace memmgr::detail
