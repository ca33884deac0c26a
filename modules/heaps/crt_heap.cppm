// memmgr:crt_heap: the C runtime's heap (ATL's CCRTHeap) and its aligned family.
module;
#include <cstddef>
#include <string_view>

export module memmgr:crt_heap;

import :errors;
import :platform;
import :system_heap;
import :win32_heap;

export namespace memmgr {

/// The C runtime's heap, as ATL's CCRTHeap: malloc, free, realloc, calloc and the block-size query
/// (_msize on Windows: exactly the size asked for; malloc_usable_size on POSIX: at least that).
///
/// Stateless: every crt_heap is the same heap, and blocks may be freed through any of them.
/// Thread-safe, as the CRT's heap is. It cannot recognise foreign pointers: freeing one is
/// undefined behaviour, as with free().
///
/// It also offers the CRT's aligned family (as _aligned_malloc, _aligned_free, _aligned_msize):
/// blocks aligned to any power of two up to max_alignment, released with free_aligned and measured
/// with size_aligned, never with free or size. That family is the same portable code on both legs
/// (MSVCRT has no _aligned_msize): sizes are exact, and a pointer that is not a live block of the
/// family (a plain crt block, a block already freed) is reported as foreign_block.
///
/// Example usage:
/// \code
///   memmgr::crt_heap heap;
///   if (auto block = heap.allocate(64)) { /* use *block */ heap.free(*block); }
/// \endcode
class crt_heap : public detail::system_heap<detail::os::block_family::crt> {
public:
    static constexpr std::string_view name = "crt_heap";

    /// \returns a block of n bytes aligned to `alignment` (at least guaranteed_alignment).
    /// \errors bad_alignment if alignment is 0, not a power of two or above max_alignment;
    /// size_overflow; out_of_memory.
    [[nodiscard]] result<void*> allocate_aligned(std::size_t n, std::size_t alignment) noexcept;

    /// \effects releases a block of the aligned family; free_aligned(nullptr) does nothing.
    /// \errors foreign_block (also for a block already freed); heap_corrupt when the header in
    /// front of the block was overwritten (the block is kept, its header never followed); then
    /// nothing is freed.
    result<void> free_aligned(void* p) noexcept;

    /// \returns the size asked for when p was allocated by allocate_aligned(n, alignment).
    /// \errors null_pointer; bad_alignment if p is not aligned to `alignment`; foreign_block;
    /// heap_corrupt when the header in front of the block was overwritten.
    [[nodiscard]] result<std::size_t> size_aligned(const void* p,
                                                   std::size_t alignment) const noexcept;

    /// _get_heap_handle, and through it _heapchk (validate), _heapwalk (walk, statistics) and
    /// HeapCompact: \returns a non-owning win32_heap over the heap the C runtime's malloc takes its
    /// blocks from (serialized and growable: walks lock it). It never destroys or clears that heap
    /// (release_all is refused, as on every non-owning heap); free crt_heap blocks with crt_heap.
    /// Windows only in substance: \errors not_supported on POSIX, where glibc's malloc is no heap
    /// object that can be validated or walked, and where the C runtime reports no heap handle.
    [[nodiscard]] static result<win32_heap> native_heap() noexcept;

    /// _heapmin: \effects gives the C runtime heap's unused memory back to the system: _heapmin on
    /// Windows, malloc_trim(0) on POSIX (glibc). Blocks in use are untouched.
    /// \errors not_supported when the C runtime refuses (Wine's _heapmin does, its HeapCompact
    /// being a stub).
    static result<void> trim() noexcept;
};

} // namespace memmgr
