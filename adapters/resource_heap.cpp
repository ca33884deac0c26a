// memmgr:resource_heap, the bodies: the 16-byte header in front of each block and its check word.
module;
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory_resource>

module memmgr;

import :check_word;
import :resource_heap;

namespace memmgr {

namespace {

// The header: the size asked for, then the check word; as large as the alignment promised, so
// that the block after it keeps that alignment.
constexpr std::size_t header_size = resource_heap::guaranteed_alignment;

void* raw_of(const void* p) noexcept {
    return const_cast<char*>(static_cast<const char*>(p)) - header_size;
}

std::size_t check_of(const void* p, std::size_t n) noexcept {
    return static_cast<std::size_t>(detail::check_word(p, n));
}

// \returns the size in p's header once its check word holds. \errors foreign_block.
result<std::size_t> stored_size(const void* p) noexcept {
    std::size_t n;
    std::size_t check;
    std::memcpy(&n, raw_of(p), sizeof n);
    std::memcpy(&check, static_cast<const char*>(raw_of(p)) + sizeof n, sizeof check);
    if (check != check_of(p, n) || n > max_request_size - header_size)
        return fail(errc::foreign_block);
    return n;
}

} // namespace

resource_heap::resource_heap(std::pmr::memory_resource* r) noexcept : resource_(r) {}

result<void*> resource_heap::allocate(std::size_t n) noexcept {
    if (n > max_request_size - header_size)
        return fail(errc::size_overflow);
    void* raw = nullptr;
    try { // only the resource's call: on the MinGW leg more code here let its bad_alloc escape
        raw = resource_->allocate(header_size + n, guaranteed_alignment);
    } catch (...) {
        // Not `catch (const std::bad_alloc&)`: on the MinGW leg a bad_alloc thrown by
        // libstdc++'s monotonic_buffer_resource is not matched by that clause in module code
        // (docs/toolchain.md). A resource has nothing else to throw.
        return fail(errc::out_of_memory);
    }
    void* p = static_cast<char*>(raw) + header_size;
    const std::size_t check = check_of(p, n);
    std::memcpy(raw, &n, sizeof n);
    std::memcpy(static_cast<char*>(raw) + sizeof n, &check, sizeof check);
    return p;
}

result<void> resource_heap::free(void* p) noexcept {
    if (p == nullptr)
        return {};
    return stored_size(p).and_then([&](std::size_t n) -> result<void> {
        // Wiped first, so that a stale p is refused once the resource has the block; put back if
        // the resource throws instead of taking it, so that the block can still be freed.
        char* check_word_at = static_cast<char*>(raw_of(p)) + sizeof n;
        std::size_t check;
        std::memcpy(&check, check_word_at, sizeof check);
        const std::size_t wiped = 0;
        std::memcpy(check_word_at, &wiped, sizeof wiped);
        try { // deallocate is not noexcept: a checking resource may throw
            resource_->deallocate(raw_of(p), header_size + n, guaranteed_alignment);
        } catch (...) {
            std::memcpy(check_word_at, &check, sizeof check);
            return fail(errc::out_of_memory);
        }
        return {};
    });
}

result<std::size_t> resource_heap::size(const void* p) const noexcept {
    if (p == nullptr)
        return fail(errc::null_pointer);
    return stored_size(p);
}

result<void*> resource_heap::reallocate(void* p, std::size_t n) noexcept {
    if (p == nullptr)
        return allocate(n);
    return stored_size(p).and_then([&](std::size_t old) {
        return allocate(n).and_then([&](void* q) -> result<void*> {
            std::memcpy(q, p, old < n ? old : n);
            if (auto freed = free(p); !freed) { // the resource threw: p stays, q goes
                (void)free(q);
                return fail(freed.error());
            }
            return q;
        });
    });
}

std::pmr::memory_resource* resource_heap::resource() const noexcept {
    return resource_;
}

bool operator==(const resource_heap& a, const resource_heap& b) noexcept {
    return a.resource_->is_equal(*b.resource_);
}

} // namespace memmgr
