// memmgr:handlers, the bodies: the two process-wide handlers and the default one.
module;
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string_view>

module memmgr;

namespace memmgr {

namespace {
// Atomic: a handler may be installed while other threads allocate. constinit: other static
// objects may allocate, free or install a handler from their constructors, whatever the order in
// which units are initialised.
constinit std::atomic<allocation_failure_handler> allocation_handler{nullptr};
constinit std::atomic<deallocation_error_handler> deallocation_handler{
    &abort_on_deallocation_error};
} // namespace

allocation_failure_handler set_allocation_failure_handler(allocation_failure_handler h) noexcept {
    return allocation_handler.exchange(h);
}

allocation_failure_handler get_allocation_failure_handler() noexcept {
    return allocation_handler.load();
}

void abort_on_deallocation_error(std::string_view heap, void* p, errc why) {
    std::fprintf(stderr, "memmgr: %.*s could not free %p: %.*s\n", static_cast<int>(heap.size()),
                 heap.data(), p, static_cast<int>(describe(why).size()), describe(why).data());
    std::abort();
}

deallocation_error_handler set_deallocation_error_handler(deallocation_error_handler h) noexcept {
    return deallocation_handler.exchange(h != nullptr ? h : &abort_on_deallocation_error);
}

deallocation_error_handler get_deallocation_error_handler() noexcept {
    return deallocation_handler.load();
}

void report_deallocation_error(std::string_view heap, void* p, errc why) {
    get_deallocation_error_handler()(heap, p, why);
}

} // namespace memmgr
