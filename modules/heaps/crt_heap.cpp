// memmgr:crt_heap, the bodies: the aligned family, portable code over crt_heap's plain blocks.
module;
#include <cstddef>
#include <cstdint>

module memmgr;

import :block_registry;
import :crt_heap;
import :check_word;
import :platform;

namespace memmgr {

namespace {

// The aligned family's header sits right before the aligned payload: where the block really starts,
// the size asked for, and a check word over both and the payload's address (keyed by the
// process's secret), so that an underrun that rewrote them is found before they are followed.
// Live blocks are registered (block_registry.cppm), so that pointers are checked before their
// header is read, and read in the same hold of the registry's lock.
struct aligned_header {
    void* raw;
    std::size_t size;
    std::uintptr_t check;
};

std::uintptr_t check_of(const aligned_header& h, const void* p) noexcept {
    return static_cast<std::uintptr_t>(
        detail::check_word(p, reinterpret_cast<std::uintptr_t>(h.raw), h.size));
}

struct crt_aligned_blocks {};
detail::block_registry& aligned_blocks() noexcept {
    static detail::block_registry& r = []() -> detail::block_registry& {
        auto& made = detail::block_registry::instance<crt_aligned_blocks>();
        detail::os::hold_across_fork(made);
        return made;
    }();
    return r;
}

aligned_header* aligned_header_of(const void* p) noexcept {
    return reinterpret_cast<aligned_header*>(const_cast<char*>(static_cast<const char*>(p)) -
                                             sizeof(aligned_header));
}

bool aligned_sound(const void* p) noexcept {
    const aligned_header& h = *aligned_header_of(p);
    return h.check == check_of(h, p);
}

} // namespace

result<void*> crt_heap::allocate_aligned(std::size_t n, std::size_t alignment) noexcept {
    if (!valid_alignment(alignment))
        return fail(errc::bad_alignment);
    if (n > max_request_size)
        return fail(errc::size_overflow);
    const std::size_t a = alignment < guaranteed_alignment ? guaranteed_alignment : alignment;
    // Room for the header and for moving up to the next multiple of a; cannot wrap, as
    // n <= PTRDIFF_MAX and a <= max_alignment.
    return allocate(n + sizeof(aligned_header) + a).and_then([&](void* raw) -> result<void*> {
        const auto first = reinterpret_cast<std::uintptr_t>(raw) + sizeof(aligned_header);
        auto* p = reinterpret_cast<void*>((first + a - 1) & ~(std::uintptr_t{a} - 1));
        aligned_header& h = *aligned_header_of(p);
        h = aligned_header{raw, n, 0};
        h.check = check_of(h, p);
        if (!aligned_blocks().add(p)) {
            (void)free(raw);
            return fail(errc::out_of_memory);
        }
        return p;
    });
}

result<void> crt_heap::free_aligned(void* p) noexcept {
    if (p == nullptr)
        return {};
    // Checked and forgotten in one hold of the lock; then p is this call's alone.
    switch (aligned_blocks().remove_checked(p, &aligned_sound)) {
    case detail::block_registry::removal::not_live:
        return fail(errc::foreign_block);
    case detail::block_registry::removal::refused:
        return fail(errc::heap_corrupt); // damaged: kept, never followed
    case detail::block_registry::removal::removed:
        break;
    }
    return free(aligned_header_of(p)->raw);
}

result<std::size_t> crt_heap::size_aligned(const void* p, std::size_t alignment) const noexcept {
    if (p != nullptr &&
        (!valid_alignment(alignment) || reinterpret_cast<std::uintptr_t>(p) % alignment != 0))
        return fail(errc::bad_alignment);
    if (p == nullptr)
        return fail(errc::null_pointer);
    return aligned_blocks().read_live(p, &aligned_sound,
                                      [p] { return aligned_header_of(p)->size; });
}

result<win32_heap> crt_heap::native_heap() noexcept {
    void* handle = detail::os::crt_heap_handle();
    if (handle == nullptr)
        return fail(errc::not_supported);
    return win32_heap::attach(handle, {.serialize = true});
}

result<void> crt_heap::trim() noexcept {
    return detail::os::crt_heap_trim();
}

} // namespace memmgr
