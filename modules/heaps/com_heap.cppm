// memmgr:com_heap: the COM task allocator (ATL's CComHeap).
module;
#include <string_view>

export module memmgr:com_heap;

import :platform;
import :system_heap;

export namespace memmgr {

/// The COM task allocator, as ATL's CComHeap: CoTaskMemAlloc, CoTaskMemFree, CoTaskMemRealloc and
/// IMalloc::GetSize. Blocks from it may be handed to (or received from) COM interfaces whose
/// contract says CoTaskMemFree.
///
/// Windows: the real calls; IMalloc::DidAlloc screens every free, size and reallocate, so a
/// foreign pointer or a double free is errc::foreign_block, not heap corruption. POSIX: a task
/// allocator with the same rules (exact sizes, 16-byte alignment, a pointer that is not a live
/// block, double frees included, reported as foreign_block).
/// Stateless and thread-safe. On both legs com_heap, local_heap and global_heap share the process
/// heap, so each accepts the others' blocks (as Windows does).
class com_heap : public detail::system_heap<detail::os::block_family::com> {
public:
    static constexpr std::string_view name = "com_heap";
};

} // namespace memmgr
