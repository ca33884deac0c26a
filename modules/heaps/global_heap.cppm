// memmgr:global_heap: GlobalAlloc's fixed blocks (ATL's CGlobalHeap).
module;
#include <string_view>

export module memmgr:global_heap;

import :platform;
import :system_heap;

export namespace memmgr {

/// Fixed blocks from GlobalAlloc, as ATL's CGlobalHeap: GlobalAlloc(GMEM_FIXED), GlobalFree,
/// GlobalSize and GlobalReAlloc (GMEM_MOVEABLE to let a block move; without it for
/// resize_in_place). Zeroed blocks come from GMEM_ZEROINIT. Sizes are exact, with one Windows rule
/// kept on both legs: GlobalAlloc never makes an empty fixed block, so allocate(0) (and
/// reallocate(p, 0)) gives a block whose size is 1.
///
/// POSIX: the same rules over the process heap shared with com_heap and local_heap.
/// Stateless and thread-safe. Foreign pointers and double frees: as com_heap.
class global_heap : public detail::system_heap<detail::os::block_family::global> {
public:
    static constexpr std::string_view name = "global_heap";
};

} // namespace memmgr
