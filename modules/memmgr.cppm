// memmgr: the table of contents. `import memmgr;` brings every part below.
//
// Each line re-exports one partition; see the partition's file for its contract.
export module memmgr;

export import :errors;         // errc, result<T>, heap_error (a std::bad_alloc), checked_multiply
export import :concepts;       // heap and its refinements, heap_entry, guaranteed_alignment_v
export import :system_heap;    // detail::system_heap, the base of the four stateless heaps
export import :crt_heap;       // crt_heap: malloc & co. and the aligned family (CCRTHeap)
export import :com_heap;       // com_heap: CoTaskMemAlloc & co. (CComHeap)
export import :local_heap;     // local_heap: LocalAlloc fixed blocks (CLocalHeap)
export import :global_heap;    // global_heap: GlobalAlloc fixed blocks (CGlobalHeap)
export import :win32_heap;     // win32_heap: private heaps (CWin32Heap)
export import :memory_manager; // memory_manager: IAtlMemMgr as a virtual interface, and a wrapper
export import :handlers;       // what adapters do with errors they cannot throw
export import :pointer_map;    // detail: an open-addressing pointer map for heap bookkeeping
export import :debug_heap;     // debug_heap<H>: guards, fills, quarantine, leaks, checkpoints (CRT debug heap)
export import :failing_heap;   // failing_heap<H>: fault injection (fail the Nth, or past N bytes)
export import :counting_heap;  // counting_heap<H>: live and peak blocks and bytes, totals
export import :stack_buffer;   // stack_buffer<N, H>: N bytes inline, a heap beyond (_malloca)
export import :utf;            // UTF-8 <-> UTF-16: strict in, U+FFFD for unpaired surrogates out
export import :sys_string;     // olechar, BSTR limits, the SysAllocString family on raw BSTRs
export import :bstr;           // bstr: a BSTR as a move-only value; bstr_view, hashes, operator<<

// adapters/: every heap in the standard library's terms.
export import :over_aligned;   // detail: any power-of-two alignment over any heap
export import :heap_resource;  // heap_resource<H>: a std::pmr::memory_resource; scoped_default_resource
export import :resource_heap;  // resource_heap: any std::pmr::memory_resource as a heap
export import :heap_allocator; // heap_allocator<T, H>: a std::allocator-compatible allocator

// Internal: the platform layer (Win32 on Windows, portable backends on POSIX) and the registry of
// live blocks used by heaps built over another allocator.
import :platform;
import :block_registry;
