// memmgr:win32_heap, the bodies: memmgr's rules (sizes, null pointers, a moved-from heap,
// heap_full) over the platform's private heap operations.
module;
#include <cstddef>
#include <utility>
#include <vector>

module memmgr;

import :platform;
import :win32_heap;

namespace memmgr {

namespace {
detail::os::heap_options to_platform(const win32_heap_options& o) noexcept {
    return {o.initial_size,       o.maximum_size,
            o.serialize,          o.terminate_on_corruption,
            o.decommit_threshold, o.decommit_total_threshold};
}
} // namespace

result<win32_heap> win32_heap::create(const win32_heap_options& options) noexcept {
    return detail::os::heap_create(to_platform(options)).map([&](void* handle) {
        return win32_heap(handle, options, true);
    });
}

win32_heap win32_heap::process_heap() noexcept {
    return win32_heap(detail::os::heap_process(), win32_heap_options{}, false);
}

win32_heap win32_heap::attach(void* native_handle, const win32_heap_options& options) noexcept {
    return win32_heap(native_handle, options, false);
}

win32_heap::win32_heap(const win32_heap_options& options)
    : win32_heap(create(options)
                     .or_else([&](errc e) -> result<win32_heap> {
                         throw heap_error(name, options.initial_size, e);
                     })
                     .value()) {}

win32_heap::win32_heap(win32_heap&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), options_(other.options_),
      owning_(std::exchange(other.owning_, false)) {}

win32_heap& win32_heap::operator=(win32_heap&& other) noexcept {
    if (this != &other) {
        reset();
        handle_ = std::exchange(other.handle_, nullptr);
        options_ = other.options_;
        owning_ = std::exchange(other.owning_, false);
    }
    return *this;
}

win32_heap::~win32_heap() {
    reset();
}

result<void*> win32_heap::allocate_zeroed(std::size_t count, std::size_t size) noexcept {
    return live()
        .and_then([&] { return checked_multiply(count, size); })
        .and_then([this](std::size_t n) { return allocate_impl(n, true); });
}

result<std::size_t> win32_heap::size(const void* p) const noexcept {
    if (p == nullptr)
        return fail(errc::null_pointer);
    return live().and_then([&] { return detail::os::heap_size(handle_, p, options_.serialize); });
}

result<void*> win32_heap::reallocate(void* p, std::size_t n) noexcept {
    if (p == nullptr)
        return allocate(n);
    return reallocate_impl(p, n, false);
}

result<void> win32_heap::resize_in_place(void* p, std::size_t n) noexcept {
    if (p == nullptr)
        return fail(errc::null_pointer);
    return reallocate_impl(p, n, true).map([](void*) {});
}

result<void> win32_heap::validate() const noexcept {
    return live().and_then([&] { return detail::os::heap_validate(handle_, nullptr); });
}

result<void> win32_heap::validate(const void* p) const noexcept {
    if (p == nullptr)
        return fail(errc::null_pointer);
    return live().and_then([&] { return detail::os::heap_validate(handle_, p); });
}

bool win32_heap::owns(const void* p) const noexcept {
    return p != nullptr && handle_ != nullptr && detail::os::heap_owns(handle_, p);
}

result<std::vector<heap_entry>> win32_heap::walk() const noexcept {
    return live().and_then([&]() -> result<std::vector<heap_entry>> {
        // Reserving first keeps the crt allocations out of the walk's callback, which runs with
        // the heap locked; the loop grows the reserve if blocks appeared meanwhile.
        std::vector<heap_entry> entries;
        for (std::size_t guess = 64;; guess *= 4) {
            try {
                entries.clear();
                entries.reserve(guess);
            } catch (...) {
                return fail(errc::out_of_memory);
            }
            bool overflowed = false;
            struct sink {
                std::vector<heap_entry>* out;
                bool* overflowed;
            } s{&entries, &overflowed};
            auto walked = detail::os::heap_walk(
                handle_, options_.serialize,
                [](void* c, const heap_entry& e) {
                    auto* to = static_cast<sink*>(c);
                    if (to->out->size() == to->out->capacity())
                        *to->overflowed = true;
                    else
                        to->out->push_back(e);
                },
                &s);
            if (!walked)
                return fail(walked.error());
            if (!overflowed)
                return entries;
        }
    });
}

result<heap_statistics> win32_heap::statistics() const noexcept {
    return walk().map([](const std::vector<heap_entry>& entries) {
        heap_statistics s;
        for (const heap_entry& e : entries) {
            (e.in_use ? s.blocks_in_use : s.free_blocks) += 1;
            (e.in_use ? s.bytes_in_use : s.free_bytes) += e.size;
            s.overhead_bytes += e.overhead;
        }
        return s;
    });
}

result<std::size_t> win32_heap::compact() noexcept {
    return live().and_then([&] { return detail::os::heap_compact(handle_); });
}

result<void> win32_heap::release_all() noexcept {
    if (!owning_)
        return fail(handle_ == nullptr ? errc::heap_destroyed : errc::not_supported);
    return detail::os::heap_release_all(handle_, options_.serialize);
}

result<void> win32_heap::enable_low_fragmentation() noexcept {
    return live().and_then([&] { return detail::os::heap_enable_low_fragmentation(handle_); });
}

bool win32_heap::is_serialized() const noexcept {
    return options_.serialize;
}

bool win32_heap::is_owning() const noexcept {
    return owning_;
}

const win32_heap_options& win32_heap::options() const noexcept {
    return options_;
}

void* win32_heap::native_handle() const noexcept {
    return handle_;
}

bool operator==(const win32_heap& a, const win32_heap& b) noexcept {
    return a.handle_ == b.handle_;
}

win32_heap::win32_heap(void* handle, const win32_heap_options& options, bool owning) noexcept
    : handle_(handle), options_(options), owning_(owning) {
    detail::win32_heap_debug_info_anchor(); // see its comment
}

void win32_heap::reset() noexcept {
    if (owning_ && handle_ != nullptr)
        detail::os::heap_destroy(handle_);
    handle_ = nullptr;
    owning_ = false;
}

result<void> win32_heap::live() const noexcept {
    if (handle_ == nullptr)
        return fail(errc::heap_destroyed);
    return {};
}

// A fixed-size heap that cannot give memory is full, whatever the system says (Windows does not
// tell the two apart).
errc win32_heap::exhausted(errc e) const noexcept {
    return e == errc::out_of_memory && options_.maximum_size != 0 ? errc::heap_full : e;
}

// A moved-from or destroyed heap answers heap_destroyed to everything, an oversized request too.
result<void*> win32_heap::allocate_impl(std::size_t n, bool zero) noexcept {
    return live()
        .and_then([&]() -> result<void*> {
            if (n > max_request_size)
                return fail(errc::size_overflow);
            return detail::os::heap_allocate(handle_, n, zero);
        })
        .map_error([this](errc e) { return exhausted(e); });
}

result<void*> win32_heap::reallocate_impl(void* p, std::size_t n, bool in_place) noexcept {
    return live()
        .and_then([&]() -> result<void*> {
            if (n > max_request_size)
                return fail(errc::size_overflow);
            return detail::os::heap_reallocate(handle_, p, n, in_place, options_.serialize);
        })
        .map_error([this](errc e) { return exhausted(e); });
}

} // namespace memmgr
