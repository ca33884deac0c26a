// Leak checks for task memory (CoTaskMemAlloc's heap, where every BSTR lives): how many of its
// blocks are live now, compared with when a task_memory was made. Include it after `import
// memmgr;`.
//
// POSIX: memmgr's own process heap keeps a registry of live blocks; its size is the count.
// Windows: the real oleaut32 and ole32 (Wine's, on this leg). task_memory_win32.cpp installs an
// IMallocSpy once for the whole run, which sees every CoTaskMemAlloc, CoTaskMemRealloc and
// CoTaskMemFree, and first turns oleaut32's BSTR cache off (SetOaNoCache): otherwise a freed BSTR
// goes into the cache instead of back to the task allocator, and a leak could not be told from a
// cached string.
//
// Failure injection (the BSTR failure sweep): task_allocations_fail_after(n) makes every
// task-allocator allocation or reallocation after the next n fail. POSIX: memmgr's process-heap
// hook (it covers local and global blocks too). Windows: the same spy, whose PreAlloc and
// PreRealloc then return 0, which IMallocSpy defines as "fail this request".
#pragma once

#include <cstddef>
#include <cstdint>

namespace memmgr_test {

#if defined(_WIN32)
/// Task-allocator blocks allocated since the spy was installed (on the first call) and still live.
/// \throws std::runtime_error if the spy cannot be installed.
std::size_t task_blocks_in_use();
/// Every task-allocator allocation after the next `successes` fails; SIZE_MAX: none does.
void task_allocations_fail_after(std::size_t successes);
/// From now on IMalloc::DidAlloc answers -1 ("cannot tell") for p (nullptr: for no block), as an
/// allocator that cannot vouch for its blocks does (MAPI's IMalloc answers -1 for every block).
void task_did_alloc_cannot_tell(const void* p);
/// \returns whether the C runtime's malloc allocates from the process heap, where com_heap,
/// local_heap and global_heap live: (HANDLE)_get_heap_handle() == GetProcessHeap(). True for the
/// Universal CRT on Windows; false for msvcrt.dll and under Wine 8 for both CRTs.
bool crt_heap_is_process_heap();
/// \returns (void*)_get_heap_handle(): the heap the C runtime's malloc allocates from.
void* crt_heap_handle();
#else
/// POSIX has no IMalloc::DidAlloc (its registry of live blocks screens pointers): nothing to do.
inline void task_did_alloc_cannot_tell(const void*) {}
/// POSIX: glibc's malloc is never the process heap of com, local and global blocks.
inline bool crt_heap_is_process_heap() {
    return false;
}
/// POSIX: glibc's malloc has no heap handle.
inline void* crt_heap_handle() {
    return nullptr;
}
inline std::size_t task_blocks_in_use() {
    return memmgr::testing::process_heap_blocks_in_use();
}
inline void task_allocations_fail_after(std::size_t successes) {
    memmgr::testing::process_heap_fail_after(successes);
}
#endif

/// Failures on from construction (after `successes` more allocations) until destruction.
class failing_task_allocations {
public:
    explicit failing_task_allocations(std::size_t successes) {
        task_allocations_fail_after(successes);
    }
    failing_task_allocations(const failing_task_allocations&) = delete;
    failing_task_allocations& operator=(const failing_task_allocations&) = delete;
    ~failing_task_allocations() { lift(); }
    /// Lets every allocation succeed again, before destruction.
    void lift() { task_allocations_fail_after(SIZE_MAX); }
};

/// The change in live task-allocator blocks since construction.
class task_memory {
public:
    task_memory() : baseline_(task_blocks_in_use()) {}
    [[nodiscard]] std::ptrdiff_t live() const {
        return static_cast<std::ptrdiff_t>(task_blocks_in_use()) -
               static_cast<std::ptrdiff_t>(baseline_);
    }

private:
    std::size_t baseline_;
};

} // namespace memmgr_test
