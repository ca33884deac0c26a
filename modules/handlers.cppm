// memmgr:handlers: what the throwing layers do with errors they cannot throw.
//
// std::pmr::memory_resource::deallocate and std::allocator's deallocate must not throw, yet a heap
// may refuse a pointer (a foreign block, a double free). Those errors go to one process-wide
// handler; by default it reports the error on stderr and aborts, as the CRT's debug heap does.
module;
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string_view>

export module memmgr:handlers;

import :errors;

export namespace memmgr {

/// Called with the heap's name, the pointer and the reason when a deallocation through an adapter
/// fails. It may log, record, abort or throw (throwing ends in std::terminate when the adapter is
/// called from a noexcept context, which deallocate always is).
using deallocation_error_handler = void (*)(std::string_view heap, void* p, errc why);

/// The default handler: writes "memmgr: <heap> could not free <p>: <why>" to stderr and aborts.
[[noreturn]] void abort_on_deallocation_error(std::string_view heap, void* p, errc why) {
    std::fprintf(stderr, "memmgr: %.*s could not free %p: %.*s\n", static_cast<int>(heap.size()),
                 heap.data(), p, static_cast<int>(describe(why).size()), describe(why).data());
    std::abort();
}

namespace detail {
inline std::atomic<deallocation_error_handler> deallocation_handler{&abort_on_deallocation_error};
} // namespace detail

/// \effects installs h (nullptr: the default) for every thread. \returns the previous handler.
deallocation_error_handler set_deallocation_error_handler(deallocation_error_handler h) noexcept {
    return detail::deallocation_handler.exchange(h != nullptr ? h : &abort_on_deallocation_error);
}

/// \returns the handler in force.
[[nodiscard]] deallocation_error_handler get_deallocation_error_handler() noexcept {
    return detail::deallocation_handler.load();
}

/// \effects calls the handler in force. Used by the adapters; available to other layers.
void report_deallocation_error(std::string_view heap, void* p, errc why) {
    get_deallocation_error_handler()(heap, p, why);
}

} // namespace memmgr
