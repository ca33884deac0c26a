// The Windows platform layer: the real Win32, COM and CRT calls. Only this file includes
// <windows.h>; nothing it declares is exported.
module;
#define WIN32_LEAN_AND_MEAN
#define NOMINMAX
#include <windows.h>
// after windows.h, which they need
#include <objbase.h>
#include <oleauto.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <malloc.h>

module memmgr;

namespace memmgr::detail::os {

namespace {

// The task allocator's IMalloc, for GetSize and DidAlloc (CoTaskMemAlloc has no size query).
// CoGetMalloc needs no CoInitialize and returns the same process-wide object every time.
IMalloc* task_allocator() noexcept {
    static IMalloc* const instance = [] {
        IMalloc* m = nullptr;
        return SUCCEEDED(::CoGetMalloc(1, &m)) ? m : nullptr;
    }();
    return instance;
}

// com, local and global blocks live on the process heap; IMalloc::DidAlloc asks it whether p is one
// of its blocks in use (HeapValidate), which turns foreign pointers and double frees into errors
// instead of heap corruption. DidAlloc answers 1 (yes), 0 (no) or -1 (cannot tell): only a yes
// lets the pointer through, since acting on a block nobody vouched for is the corruption this
// check exists to prevent. Without a task allocator nothing can be vouched for either.
bool process_heap_block(const void* p) noexcept {
    IMalloc* m = task_allocator();
    return m != nullptr && m->DidAlloc(const_cast<void*>(p)) == 1;
}

UINT local_flags(bool zero) noexcept {
    return LMEM_FIXED | (zero ? LMEM_ZEROINIT : 0u);
}
UINT global_flags(bool zero) noexcept {
    return GMEM_FIXED | (zero ? GMEM_ZEROINIT : 0u);
}

} // namespace

result<void*> block_allocate(block_family f, std::size_t n, bool zero) noexcept {
    void* p = nullptr;
    switch (f) {
    case block_family::crt:
        p = zero ? std::calloc(1, n) : std::malloc(n);
        break;
    case block_family::com:
        p = ::CoTaskMemAlloc(n);
        if (p != nullptr && zero)
            std::memset(p, 0, n);
        break;
    case block_family::local:
        p = ::LocalAlloc(local_flags(zero), n);
        break;
    case block_family::global:
        p = ::GlobalAlloc(global_flags(zero), n);
        break;
    }
    if (p == nullptr)
        return fail(errc::out_of_memory);
    return p;
}

result<void> block_free(block_family f, void* p) noexcept {
    switch (f) {
    case block_family::crt:
        std::free(p);
        return {};
    case block_family::com:
        if (!process_heap_block(p))
            return fail(errc::foreign_block);
        ::CoTaskMemFree(p);
        return {};
    case block_family::local:
        if (!process_heap_block(p) || ::LocalFree(p) != nullptr)
            return fail(errc::foreign_block);
        return {};
    case block_family::global:
        if (!process_heap_block(p) || ::GlobalFree(p) != nullptr)
            return fail(errc::foreign_block);
        return {};
    }
    return fail(errc::not_supported);
}

result<std::size_t> block_size(block_family f, const void* p) noexcept {
    void* q = const_cast<void*>(p); // the size queries take non-const pointers and only read
    switch (f) {
    case block_family::crt:
        return ::_msize(q);
    case block_family::com: {
        IMalloc* m = task_allocator();
        if (m == nullptr)
            return fail(errc::not_supported);
        if (!process_heap_block(q)) // DidAlloc's "cannot tell" (-1) is not a yes
            return fail(errc::foreign_block);
        return m->GetSize(q);
    }
    case block_family::local:
    case block_family::global: {
        if (!process_heap_block(p))
            return fail(errc::foreign_block);
        // A zero-size block and a failure both read 0: the last error tells them apart.
        ::SetLastError(ERROR_SUCCESS);
        const SIZE_T n = f == block_family::local ? ::LocalSize(q) : ::GlobalSize(q);
        if (n == 0 && ::GetLastError() != ERROR_SUCCESS)
            return fail(errc::foreign_block);
        return n;
    }
    }
    return fail(errc::not_supported);
}

result<void*> block_reallocate(block_family f, void* p, std::size_t n) noexcept {
    if (f != block_family::crt && !process_heap_block(p))
        return fail(errc::foreign_block);
    void* q = nullptr;
    switch (f) {
    case block_family::crt:
        q = std::realloc(p, n);
        break;
    case block_family::com:
        q = ::CoTaskMemRealloc(p, n);
        break;
    // LMEM_MOVEABLE/GMEM_MOVEABLE on a fixed block means "may move": memmgr's reallocate may move
    // a block, as every heap's does. (ATL's CLocalHeap and CGlobalHeap pass no flags, so theirs
    // resize a fixed block only in place and fail otherwise; resize_in_place below is that.)
    case block_family::local:
        q = ::LocalReAlloc(p, n, LMEM_MOVEABLE);
        break;
    case block_family::global:
        q = ::GlobalReAlloc(p, n, GMEM_MOVEABLE);
        break;
    }
    if (q == nullptr)
        return fail(errc::out_of_memory);
    return q;
}

result<void> block_resize_in_place(block_family f, void* p, std::size_t n) noexcept {
    if (f == block_family::crt) {
        // _expand resizes in place or fails; it never moves the block.
        if (::_expand(p, n) == nullptr)
            return fail(errc::cannot_resize_in_place);
        return {};
    }
    if (!process_heap_block(p))
        return fail(errc::foreign_block);
    void* q = nullptr;
    switch (f) {
    // Without LMEM_MOVEABLE a fixed block is resized where it is, or not at all.
    case block_family::local:
        q = ::LocalReAlloc(p, n, 0);
        break;
    case block_family::global:
        q = ::GlobalReAlloc(p, n, 0);
        break;
    default:
        return fail(errc::not_supported);
    }
    if (q == nullptr)
        return fail(errc::cannot_resize_in_place);
    return {};
}

// --- BSTRs: oleaut32 ----------------------------------------------------------------------------
// The lengths were checked against memmgr's bounds before these calls (sys_string.cppm): oleaut32's
// own checks differ between versions, and Wine's let a few lengths near 4 GiB through to a 32-bit
// size computation that wraps.

result<void*> bstr_allocate(const void* units, std::uint32_t length) noexcept {
    if (BSTR s = ::SysAllocStringLen(static_cast<const OLECHAR*>(units), length))
        return static_cast<void*>(s);
    return fail(errc::out_of_memory);
}

result<void*> bstr_allocate_bytes(const void* bytes, std::uint32_t byte_length) noexcept {
    if (BSTR s = ::SysAllocStringByteLen(static_cast<const char*>(bytes), byte_length))
        return static_cast<void*>(s);
    return fail(errc::out_of_memory);
}

result<std::uint32_t> bstr_check(const void* s) noexcept {
    // oleaut32 trusts its argument: a stale BSTR is undefined behaviour, as on Windows.
    return bstr_byte_length(s);
}

result<void*> bstr_reallocate(void* s, const void* units, std::uint32_t length) noexcept {
    BSTR b = static_cast<BSTR>(s);
    if (!::SysReAllocStringLen(&b, static_cast<const OLECHAR*>(units), length))
        return fail(errc::out_of_memory);
    return static_cast<void*>(b);
}

result<void> bstr_free(void* s) noexcept {
    ::SysFreeString(static_cast<BSTR>(s));
    return {};
}

// SysStringLen and SysStringByteLen take a BSTR and only read its prefix.
std::uint32_t bstr_length(const void* s) noexcept {
    return ::SysStringLen(static_cast<BSTR>(const_cast<void*>(s)));
}

std::uint32_t bstr_byte_length(const void* s) noexcept {
    return ::SysStringByteLen(static_cast<BSTR>(const_cast<void*>(s)));
}

// --- the CRT's heap ------------------------------------------------------------------------------

void* crt_heap_handle() noexcept {
    return reinterpret_cast<void*>(::_get_heap_handle());
}

result<void> crt_heap_trim() noexcept {
    if (::_heapmin() != 0)
        return fail(errc::not_supported);
    return {};
}

// --- VARIANTs holding a BSTR ---------------------------------------------------------------------

result<void*> variant_bstr(const void* v) noexcept {
    const auto* var = static_cast<const VARIANT*>(v);
    if (V_VT(var) != VT_BSTR)
        return fail(errc::not_a_bstr);
    return static_cast<void*>(V_BSTR(var));
}

void variant_forget(void* v) noexcept {
    auto* var = static_cast<VARIANT*>(v);
    V_BSTR(var) = nullptr;
    V_VT(var) = VT_EMPTY;
}

result<void> variant_clear(void* v) noexcept {
    if (FAILED(::VariantClear(static_cast<VARIANT*>(v))))
        return fail(errc::not_supported);
    return {};
}

void variant_set_bstr(void* v, void* bstr) noexcept {
    auto* var = static_cast<VARIANT*>(v);
    V_VT(var) = VT_BSTR;
    V_BSTR(var) = static_cast<BSTR>(bstr);
}

// --- private heaps
// ---------------------------------------------------------------------------------

result<void*> heap_create(const heap_options& options) noexcept {
    // Windows has the switch for the whole process only (heap handle NULL), and no way back.
    if (options.terminate_on_corruption)
        ::HeapSetInformation(nullptr, HeapEnableTerminationOnCorruption, nullptr, 0);
    const DWORD flags = options.serialize ? 0 : HEAP_NO_SERIALIZE;
    if (HANDLE h = ::HeapCreate(flags, options.initial_size, options.maximum_size))
        return static_cast<void*>(h);
    return fail(errc::out_of_memory);
}

void heap_destroy(void* heap) noexcept {
    ::HeapDestroy(heap);
}

void* heap_process() noexcept {
    return ::GetProcessHeap();
}

namespace {

// The blocks release_all frees, gathered while the heap is locked. Its memory comes from
// VirtualAlloc, so that gathering never enters a heap (the CRT's included) while ours is locked.
class busy_blocks {
public:
    busy_blocks() = default;
    busy_blocks(const busy_blocks&) = delete;
    busy_blocks& operator=(const busy_blocks&) = delete;
    ~busy_blocks() {
        if (items_ != nullptr)
            ::VirtualFree(items_, 0, MEM_RELEASE);
    }
    // \returns false if there is no room and none can be made.
    bool push(void* p) noexcept {
        if (count_ == capacity_ && !grow())
            return false;
        items_[count_++] = p;
        return true;
    }
    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    [[nodiscard]] void* operator[](std::size_t i) const noexcept { return items_[i]; }

private:
    bool grow() noexcept {
        const std::size_t capacity = capacity_ == 0 ? 8192 : capacity_ * 2;
        auto* items = static_cast<void**>(::VirtualAlloc(nullptr, capacity * sizeof(void*),
                                                         MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
        if (items == nullptr)
            return false;
        if (count_ != 0)
            std::memcpy(items, items_, count_ * sizeof(void*));
        if (items_ != nullptr)
            ::VirtualFree(items_, 0, MEM_RELEASE);
        items_ = items;
        capacity_ = capacity;
        return true;
    }
    void** items_ = nullptr;
    std::size_t count_ = 0;
    std::size_t capacity_ = 0;
};

} // namespace

result<void> heap_release_all(void* heap, bool serialized) noexcept {
    // Win32 has no "free everything" call. Destroying the heap and creating another would change
    // the handle under every thread and attached heap using it; instead, with the heap locked (its
    // lock is recursive for the thread holding it), the walk lists the blocks in use and each is
    // freed, so that the heap, its handle and its options stay. Verified under Wine: the walk lists
    // large (directly mapped) blocks too, and none is in use afterwards
    // (win32_heap_tests/release_all_keeps_the_heap_and_frees_every_block).
    if (serialized && !::HeapLock(heap))
        return fail(errc::heap_corrupt);
    busy_blocks blocks;
    bool room = true;
    PROCESS_HEAP_ENTRY entry{};
    entry.lpData = nullptr;
    while (room && ::HeapWalk(heap, &entry)) {
        if ((entry.wFlags & PROCESS_HEAP_ENTRY_BUSY) != 0 &&
            (entry.wFlags & (PROCESS_HEAP_REGION | PROCESS_HEAP_UNCOMMITTED_RANGE)) == 0)
            room = blocks.push(entry.lpData);
    }
    const DWORD why = ::GetLastError();
    result<void> outcome;
    if (!room)
        outcome = fail(errc::out_of_memory); // nothing freed: the heap is as it was
    else if (why != ERROR_NO_MORE_ITEMS)
        outcome = fail(errc::heap_corrupt);
    else
        for (std::size_t i = 0; i < blocks.size(); ++i)
            if (!::HeapFree(heap, 0, blocks[i]))
                outcome = fail(errc::heap_corrupt);
    if (serialized)
        ::HeapUnlock(heap);
    if (outcome)
        (void)::HeapCompact(heap, 0); // give wholly free memory back, as destroying the heap did
    return outcome;
}

result<void*> heap_allocate(void* heap, std::size_t n, bool zero) noexcept {
    if (void* p = ::HeapAlloc(heap, zero ? HEAP_ZERO_MEMORY : 0, n))
        return p;
    return fail(errc::out_of_memory);
}

// HeapValidate on one block is how a private heap tells its own blocks from foreign pointers and
// from blocks already freed; HeapFree on those would corrupt the heap or stop the process.
bool heap_owns(void* heap, const void* p) noexcept {
    return ::HeapValidate(heap, 0, p) != FALSE;
}

namespace {

// Holds a serialized heap's lock (recursive for its thread) across a check and the call it
// guards, so that no other thread's free or release_all comes in between: without it, two threads
// freeing one block (or a free racing release_all) both pass HeapValidate and free it twice. A
// HEAP_NO_SERIALIZE heap is not locked (HeapLock is not for it; one thread uses it at a time).
class locked_heap {
public:
    locked_heap(void* heap, bool serialized) noexcept
        : heap_(serialized && ::HeapLock(heap) ? heap : nullptr) {}
    ~locked_heap() {
        if (heap_ != nullptr)
            ::HeapUnlock(heap_);
    }
    locked_heap(const locked_heap&) = delete;
    locked_heap& operator=(const locked_heap&) = delete;

private:
    void* heap_;
};

} // namespace

result<void> heap_free(void* heap, void* p, bool serialized) noexcept {
    const locked_heap held(heap, serialized);
    if (!heap_owns(heap, p))
        return fail(errc::foreign_block);
    if (!::HeapFree(heap, 0, p))
        return fail(errc::heap_corrupt);
    return {};
}

result<std::size_t> heap_size(void* heap, const void* p, bool serialized) noexcept {
    const locked_heap held(heap, serialized);
    if (!heap_owns(heap, p))
        return fail(errc::foreign_block);
    const SIZE_T n = ::HeapSize(heap, 0, p);
    if (n == static_cast<SIZE_T>(-1))
        return fail(errc::heap_corrupt);
    return n;
}

result<void*> heap_reallocate(void* heap, void* p, std::size_t n, bool in_place_only,
                              bool serialized) noexcept {
    const locked_heap held(heap, serialized);
    if (!heap_owns(heap, p))
        return fail(errc::foreign_block);
    if (void* q = ::HeapReAlloc(heap, in_place_only ? HEAP_REALLOC_IN_PLACE_ONLY : 0, p, n))
        return q;
    return fail(in_place_only ? errc::cannot_resize_in_place : errc::out_of_memory);
}

result<void> heap_validate(void* heap, const void* p) noexcept {
    if (::HeapValidate(heap, 0, p))
        return {};
    return fail(p == nullptr ? errc::heap_corrupt : errc::foreign_block);
}

result<std::size_t> heap_compact(void* heap) noexcept {
    ::SetLastError(ERROR_SUCCESS);
    const SIZE_T largest = ::HeapCompact(heap, 0);
    if (largest == 0 && ::GetLastError() != ERROR_SUCCESS)
        return fail(errc::heap_corrupt);
    return largest;
}

result<void> heap_enable_low_fragmentation(void* heap) noexcept {
    ULONG mode = 2; // the low-fragmentation heap
    if (::HeapSetInformation(heap, HeapCompatibilityInformation, &mode, sizeof mode))
        return {};
    return fail(errc::not_supported);
}

result<void> heap_walk(void* heap, bool serialized, void (*visit)(void*, const heap_entry&),
                       void* context) noexcept {
    if (serialized && !::HeapLock(heap))
        return fail(errc::heap_corrupt);
    PROCESS_HEAP_ENTRY entry{};
    entry.lpData = nullptr;
    while (::HeapWalk(heap, &entry)) {
        // Regions and uncommitted ranges describe the heap's address space, not blocks.
        if ((entry.wFlags & (PROCESS_HEAP_REGION | PROCESS_HEAP_UNCOMMITTED_RANGE)) != 0)
            continue;
        const bool busy = (entry.wFlags & PROCESS_HEAP_ENTRY_BUSY) != 0;
        visit(context, heap_entry{entry.lpData, entry.cbData, entry.cbOverhead, busy});
    }
    const DWORD why = ::GetLastError();
    if (serialized)
        ::HeapUnlock(heap);
    if (why != ERROR_NO_MORE_ITEMS)
        return fail(errc::heap_corrupt);
    return {};
}

void hold_across_fork(block_registry&) noexcept {} // no fork on Windows
void hold_debug_heaps_across_fork(void (*)() noexcept, void (*)() noexcept,
                                  void (*)() noexcept) noexcept {}

} // namespace memmgr::detail::os
