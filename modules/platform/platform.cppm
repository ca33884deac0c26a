// memmgr:platform: the only door to the operating system.
//
// This partition is internal: memmgr.cppm re-exports it, but it exports nothing. It declares, with
// no OS type in sight, the primitive operations the heaps are built on; exactly one implementation
// unit defines them: modules/platform/win32.cpp on Windows (the real Win32/COM/CRT calls) and
// modules/platform/posix.cpp elsewhere (portable backends with Windows semantics). Every function
// is noexcept and reports failure by value.
//
// Callers have already checked sizes against max_request_size and handled null pointers, zero-size
// reallocations and "heap full" (see each heap); the functions below do the raw operation.
module;
#include <cstddef>
#include <cstdint>

export module memmgr:platform;

import :errors;
import :concepts;
import :block_registry;

namespace memmgr::detail::os {

/// The system heaps: stateless, process-wide, thread-safe.
enum class block_family : unsigned char {
    crt,    ///< malloc & co. Windows: the CRT's heap. POSIX: glibc's malloc.
    com,    ///< CoTaskMemAlloc & co. POSIX: the process heap below.
    local,  ///< LocalAlloc(LMEM_FIXED) & co. POSIX: the process heap below.
    global, ///< GlobalAlloc(GMEM_FIXED) & co. POSIX: the process heap below.
};
// On Windows com, local and global blocks all live on the process heap (GetProcessHeap), so each
// of the three can free the others' blocks. The POSIX backend keeps that: it gives the three one
// tagged-block heap (malloc + a 16-byte header holding the size and a tag) and therefore the same
// answers.

/// Every system heap block is aligned to 16 bytes (x86_64 Windows heaps, MSVCRT, glibc).
inline constexpr std::size_t system_alignment = 16;

/// \effects POSIX: from now on, fork() takes r's lock before it copies the process (after every
/// other registry given here, and before the private heaps' locks) and releases it in the parent
/// and in the child, as the private heaps' own locks are (docs/private_heap.md, "fork"): a child
/// forked while another thread used r finds it consistent and unlocked. At most 8 registries;
/// more are left unprotected. Windows: nothing (no fork).
void hold_across_fork(block_registry& r) noexcept;
/// \effects POSIX: from now on fork() calls prepare before it copies the process, and parent or
/// child after it in each process: before every registry's and private heap's handlers, and after
/// them on the way back, since a debug heap's operations hold its books while they call those.
/// Windows: nothing (no fork).
void hold_debug_heaps_across_fork(void (*prepare)() noexcept, void (*parent)() noexcept,
                                  void (*child)() noexcept) noexcept;

result<void*> block_allocate(block_family f, std::size_t n, bool zero) noexcept;
result<void> block_free(block_family f, void* p) noexcept;                           // p != nullptr
result<std::size_t> block_size(block_family f, const void* p) noexcept;              // p != nullptr
result<void*> block_reallocate(block_family f, void* p, std::size_t n) noexcept;     // p, n != 0
result<void> block_resize_in_place(block_family f, void* p, std::size_t n) noexcept; // not com

/// _get_heap_handle: the heap the CRT's malloc allocates from, as a private-heap handle (below).
/// Windows: the HANDLE the CRT reports (nullptr if it reports none). POSIX: nullptr, as glibc's
/// malloc is no heap object.
void* crt_heap_handle() noexcept;
/// _heapmin: gives the CRT heap's unused memory back to the system. Windows: _heapmin, whose
/// failure is not_supported. POSIX: glibc's malloc_trim(0), which cannot fail.
result<void> crt_heap_trim() noexcept;

// --- private heaps (win32_heap)
// ------------------------------------------------------------------- A heap is named by an opaque
// handle: a HANDLE from HeapCreate on Windows, the engine's private_heap* on POSIX.

struct heap_options {
    std::size_t initial_size;
    std::size_t maximum_size; ///< 0: growable
    bool serialize;
    bool terminate_on_corruption; ///< fail fast at the first damage found (see win32_heap_options)
    std::size_t decommit_threshold;       ///< POSIX: free runs above this give their pages back
    std::size_t decommit_total_threshold; ///< POSIX: ... once more than this many bytes wait
};

result<void*> heap_create(const heap_options& options) noexcept;
void heap_destroy(void* heap) noexcept;
void* heap_process() noexcept; ///< the process's default heap (never destroyed)
/// Frees every block of an owned heap at once and keeps the heap and its handle. A serialized heap
/// is locked meanwhile, so other threads' operations come before or after it, never during.
/// \errors out_of_memory (Windows: the list of blocks to free cannot be held; nothing is freed),
/// heap_corrupt (Windows: the walk or a free failed).
result<void> heap_release_all(void* heap, bool serialized) noexcept;

result<void*> heap_allocate(void* heap, std::size_t n, bool zero) noexcept;
// free, size and reallocate screen p first (foreign_block); on a serialized heap the check and
// the operation are one step under the heap's lock, so that a concurrent free or release_all of p
// cannot come between them.
result<void> heap_free(void* heap, void* p, bool serialized) noexcept;              // p != nullptr
result<std::size_t> heap_size(void* heap, const void* p, bool serialized) noexcept; // p != nullptr
result<void*> heap_reallocate(void* heap, void* p, std::size_t n, bool in_place_only,
                              bool serialized) noexcept;
bool heap_owns(void* heap, const void* p) noexcept;
result<void> heap_validate(void* heap, const void* p) noexcept; // p == nullptr: the whole heap
result<std::size_t> heap_compact(void* heap) noexcept;
result<void> heap_enable_low_fragmentation(void* heap) noexcept;
/// Calls visit(context, entry) for each block, in use or free. A serialized heap is locked
/// meanwhile (Windows: HeapLock, which a HEAP_NO_SERIALIZE heap must not be given).
result<void> heap_walk(void* heap, bool serialized,
                       void (*visit)(void* context, const heap_entry& entry),
                       void* context) noexcept;

// --- BSTRs (sys_string, bstr) --------------------------------------------------------------------
// A BSTR is named by the address of its first code unit; the 4 bytes before it hold its length in
// bytes (SysStringByteLen), and a wide NUL follows its data. `units` are 16-bit code units, `bytes`
// raw bytes; either may be null, which leaves the data uninitialised (the terminator is always
// written). Callers have already checked lengths against max_bstr_byte_length (sys_string.cppm).
// Windows: oleaut32's SysAllocString family. POSIX: the same layout over the com process heap.

result<void*> bstr_allocate(const void* units, std::uint32_t length) noexcept; // SysAllocStringLen
result<void*> bstr_allocate_bytes(const void* bytes, std::uint32_t byte_length) noexcept;
/// Whether s may be read and reallocated: s != nullptr. \returns its byte length
/// (SysStringByteLen), read in the same step as the check (POSIX: under the registry's lock, so
/// that a free racing the caller's comes wholly before or after). \errors where the backend can
/// tell (POSIX: foreign_block for a pointer that is not a live BSTR, freed ones included, read
/// nowhere; heap_corrupt for a block too small for a BSTR or a length prefix that does not fit its
/// block). Windows cannot tell: success.
result<std::uint32_t> bstr_check(const void* s) noexcept;
/// SysReAllocStringLen: s != nullptr. units == s keeps the old data (as units == nullptr does);
/// units may point into s. On failure s is untouched and still owned. \requires s passed
/// bstr_check (its callers ask it first, for the length too, and it is not asked twice).
result<void*> bstr_reallocate(void* s, const void* units, std::uint32_t length) noexcept;
/// SysFreeString: s != nullptr. \errors foreign_block where the backend can tell (POSIX: a pointer
/// that is not a live BSTR, double frees included); nothing is freed then. Windows cannot tell.
result<void> bstr_free(void* s) noexcept;
std::uint32_t bstr_length(const void* s) noexcept;      // SysStringLen: s != nullptr
std::uint32_t bstr_byte_length(const void* s) noexcept; // SysStringByteLen: s != nullptr

#ifdef _WIN32
// --- VARIANTs holding a BSTR (bstr; Windows only) ------------------------------------------------
// v is a VARIANT*, passed as void* so that no OS type appears here.

/// \returns v's bstrVal (possibly null) if v's type is exactly VT_BSTR. \errors not_a_bstr.
result<void*> variant_bstr(const void* v) noexcept;
/// \effects makes v VT_EMPTY without freeing what it held (its BSTR has been taken over).
void variant_forget(void* v) noexcept;
/// VariantClear: \effects frees what v holds and makes it VT_EMPTY. \errors not_supported when
/// VariantClear refuses (an invalid type, a locked array); v is then untouched.
result<void> variant_clear(void* v) noexcept;
/// \effects makes v, which holds nothing (VT_EMPTY), a VT_BSTR holding bstr.
void variant_set_bstr(void* v, void* bstr) noexcept;
#endif

#ifndef _WIN32
/// The number of live blocks of the POSIX process heap (com, local and global blocks, and every
/// BSTR): what the tests count leaks with. Windows has no such count (its tests use an IMallocSpy).
std::size_t process_heap_blocks_in_use() noexcept;
/// Makes every process-heap allocation after the next `successes` fail with out_of_memory;
/// SIZE_MAX lifts that. Test support, as an IMallocSpy is on Windows.
void process_heap_fail_after(std::size_t successes) noexcept;
#endif

} // namespace memmgr::detail::os
