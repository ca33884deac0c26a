// memmgr:local_heap: LocalAlloc's fixed blocks (ATL's CLocalHeap).
module;
#include <string_view>

export module memmgr:local_heap;

import :platform;
import :system_heap;

export namespace memmgr {

/// Fixed blocks from LocalAlloc, as ATL's CLocalHeap: LocalAlloc(LMEM_FIXED), LocalFree, LocalSize
/// and LocalReAlloc (LMEM_MOVEABLE to let a block move; without it for resize_in_place).
/// Zeroed blocks come from LMEM_ZEROINIT. Sizes are exact.
///
/// POSIX: the same rules over the process heap shared with com_heap and global_heap.
/// Stateless and thread-safe. Foreign pointers and double frees: as com_heap.
class local_heap : public detail::system_heap<detail::os::block_family::local> {
public:
    static constexpr std::string_view name = "local_heap";
};

} // namespace memmgr
