// memmgr: the table of contents. `import memmgr;` brings every public name below.
//
// The folders are the layers, lowest first:
//
//   core/      the vocabulary (errors, concepts, handlers) and internal data structures
//   platform/  the one interface to the operating system (Win32 on Windows, portable backends)
//   heaps/     the five ATL memory managers
//   layers/    decorators and composites over any heap
//   strings/   UTF conversions, the Sys*String family, bstr
//   adapters/  every heap in the standard library's and ATL's terms
//
// The rule: a partition imports only partitions of its own layer or of a layer listed before
// its own. `tools/dev layers` checks it. Every interface partition is exported here; those marked
// "internal" export nothing (their names have module linkage), they are listed so that the module
// is well-formed ([module.unit]/3) and so that templates defined in the public partitions can use
// them.
export module memmgr;

// core/
export import :errors;         // errc, result<T>, heap_error (a std::bad_alloc), checked_multiply
export import :concepts;       // heap and its refinements, heap_entry, guaranteed_alignment_v
export import :handlers;       // what adapters do with errors they cannot throw
export import :pointer_map;    // internal: an open-addressing pointer map for heap bookkeeping
export import :block_registry; // internal: live blocks of heaps built over another allocator
export import :check_word;     // internal: keyed check words over the words heaps follow
export import :over_aligned;   // internal: any power-of-two alignment over any heap

// platform/
export import :platform; // internal: Win32 on Windows, portable backends on POSIX

// heaps/
export import :system_heap; // internal: the base of the four stateless heaps
export import :crt_heap;    // crt_heap: malloc & co. and the aligned family (CCRTHeap)
export import :com_heap;    // com_heap: CoTaskMemAlloc & co. (CComHeap)
export import :local_heap;  // local_heap: LocalAlloc fixed blocks (CLocalHeap)
export import :global_heap; // global_heap: GlobalAlloc fixed blocks (CGlobalHeap)
export import :win32_heap;  // win32_heap: private heaps (CWin32Heap)

// layers/
export import :decorator;     // heap_decorator<Layer, H, OwnState>: the skeleton every layer shares
export import :debug_heap;    // debug_heap<H>: the CRT debug heap: guards, quarantine, leaks
export import :failing_heap;  // failing_heap<H>: fault injection (fail the Nth, or past N bytes)
export import :counting_heap; // counting_heap<H>: live and peak blocks and bytes, totals
export import :stack_buffer;  // stack_buffer<N, H>: N bytes inline, a heap beyond (_malloca)

// strings/
export import :utf;        // UTF-8 <-> UTF-16: strict in, U+FFFD for unpaired surrogates out
export import :sys_string; // olechar, BSTR limits, the SysAllocString family on raw BSTRs
export import :bstr;       // bstr: a BSTR as a move-only value; bstr_view, hashes, operator<<

// adapters/
export import :memory_manager; // memory_manager: IAtlMemMgr as a virtual interface, and a wrapper
export import :heap_resource;  // heap_resource<H>: a pmr::memory_resource; scoped_default_resource
export import :resource_heap;  // resource_heap: any std::pmr::memory_resource as a heap
export import :heap_allocator; // heap_allocator<T, H>: a std::allocator-compatible allocator
export import :heap_ptr;       // heap_ptr<T, H>: owns one raw block of any heap (CHeapPtr);
                               // allocate_unique

// Not the API: the internals memmgr's own tests and fuzzers reach for, in memmgr::testing.
export import :testing;
