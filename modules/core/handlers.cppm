// memmgr:handlers: process-wide handlers for what the throwing layers meet.
//
// - Allocation failures (as _set_new_handler): before an adapter throws, it calls the allocation
//   failure handler, which may free memory and ask for a retry.
// - Deallocation errors: std::pmr::memory_resource::deallocate and std::allocator's deallocate
//   must not throw, yet a heap may refuse a pointer (a foreign block, a double free). Those go to
//   the deallocation error handler; by default it reports on stderr and aborts, as the CRT's
//   debug heap does.
module;
#include <cstddef>
#include <string_view>

export module memmgr:handlers;

import :errors;

export namespace memmgr {

/// Called with the heap's name, the size asked for and the reason when an allocation through an
/// adapter fails with out_of_memory or heap_full. \returns true to have the allocation retried
/// (after freeing something), false to let it fail (as a new_handler that returns or throws).
using allocation_failure_handler = bool (*)(std::string_view heap, std::size_t size, errc why);

/// \effects installs h (nullptr: none) for every thread. \returns the previous handler.
allocation_failure_handler set_allocation_failure_handler(allocation_failure_handler h) noexcept;

/// \returns the handler in force (nullptr when none).
[[nodiscard]] allocation_failure_handler get_allocation_failure_handler() noexcept;

/// \returns `first` (the result of a first attempt), or while it is a failure with out_of_memory or
/// heap_full and the allocation failure handler asks for a retry, the result of attempt() called
/// again. Other errors (size_overflow, bad_alignment) are never retried.
template <class Result, class Attempt>
Result retry_allocation(std::string_view heap, std::size_t size, Result first, Attempt&& attempt) {
    while (!first && (first.error() == errc::out_of_memory || first.error() == errc::heap_full)) {
        const allocation_failure_handler h = get_allocation_failure_handler();
        if (h == nullptr || !h(heap, size, first.error()))
            break;
        first = attempt();
    }
    return first;
}

/// \returns attempt(), retried as retry_allocation says.
template <class Attempt>
auto allocate_with_retry(std::string_view heap, std::size_t size, Attempt&& attempt) {
    return retry_allocation(heap, size, attempt(), attempt);
}

/// Called with the heap's name, the pointer and the reason when a deallocation through an adapter
/// fails. It may log, record, abort or throw (throwing ends in std::terminate when the adapter is
/// called from a noexcept context, which deallocate always is).
using deallocation_error_handler = void (*)(std::string_view heap, void* p, errc why);

/// The default handler: writes "memmgr: <heap> could not free <p>: <why>" to stderr and aborts.
[[noreturn]] void abort_on_deallocation_error(std::string_view heap, void* p, errc why);

/// \effects installs h (nullptr: the default) for every thread. \returns the previous handler.
deallocation_error_handler set_deallocation_error_handler(deallocation_error_handler h) noexcept;

/// \returns the handler in force.
[[nodiscard]] deallocation_error_handler get_deallocation_error_handler() noexcept;

/// \effects calls the handler in force. Used by the adapters; available to other layers.
void report_deallocation_error(std::string_view heap, void* p, errc why);

} // namespace memmgr
