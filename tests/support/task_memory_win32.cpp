// The Windows half of task_memory.hpp: an IMallocSpy that keeps the set of live task-allocator
// blocks, installed once (CoRegisterMallocSpy) and never revoked, since ole32 refuses to revoke a
// spy while blocks it saw are still live. Test code, so it may name Windows APIs.
#include "windows.hpp"

#include <cstddef>
#include <cstdint>
#include <malloc.h> // _get_heap_handle
#include <mutex>
#include <stdexcept>
#include <unordered_set>

namespace memmgr_test {

namespace {

class live_block_spy final : public IMallocSpy {
public:
    std::size_t live() {
        std::lock_guard lock(mutex_);
        return live_.size();
    }

    HRESULT STDMETHODCALLTYPE QueryInterface(REFIID riid, void** object) override {
        if (riid == IID_IUnknown || riid == IID_IMallocSpy) {
            *object = this;
            return S_OK;
        }
        *object = nullptr;
        return E_NOINTERFACE;
    }
    // A static object: COM's reference counting has nothing to free.
    ULONG STDMETHODCALLTYPE AddRef() override { return 2; }
    ULONG STDMETHODCALLTYPE Release() override { return 1; }

    void fail_after(std::size_t successes) {
        std::lock_guard lock(mutex_);
        allowed_ = successes;
    }

    // Returning 0 makes ole32 fail the request (for a non-zero size), without calling Post*.
    SIZE_T STDMETHODCALLTYPE PreAlloc(SIZE_T size) override { return allowed() ? size : 0; }
    void* STDMETHODCALLTYPE PostAlloc(void* p) override {
        if (p != nullptr)
            insert(p);
        return p;
    }
    void* STDMETHODCALLTYPE PreFree(void* p, BOOL) override {
        erase(p);
        return p;
    }
    void STDMETHODCALLTYPE PostFree(BOOL) override {}
    SIZE_T STDMETHODCALLTYPE PreRealloc(void* p, SIZE_T size, void** request, BOOL) override {
        *request = p;
        if (!allowed())
            return 0;
        std::lock_guard lock(mutex_);
        reallocating_ = p;
        return size;
    }
    void* STDMETHODCALLTYPE PostRealloc(void* p, BOOL) override {
        if (p != nullptr) { // a failed reallocation leaves the old block live
            erase(reallocating_);
            insert(p);
        }
        return p;
    }
    void* STDMETHODCALLTYPE PreGetSize(void* p, BOOL) override { return p; }
    SIZE_T STDMETHODCALLTYPE PostGetSize(SIZE_T size, BOOL) override { return size; }
    void* STDMETHODCALLTYPE PreDidAlloc(void* p, BOOL) override { return p; }
    int STDMETHODCALLTYPE PostDidAlloc(void* request, BOOL, int did) override {
        std::lock_guard lock(mutex_);
        return request != nullptr && request == cannot_tell_ ? -1 : did;
    }

    void cannot_tell(const void* p) {
        std::lock_guard lock(mutex_);
        cannot_tell_ = p;
    }
    void STDMETHODCALLTYPE PreHeapMinimize() override {}
    void STDMETHODCALLTYPE PostHeapMinimize() override {}

private:
    void insert(void* p) {
        std::lock_guard lock(mutex_);
        live_.insert(p);
    }
    void erase(void* p) {
        std::lock_guard lock(mutex_);
        live_.erase(p);
    }
    // Uses up one allowed allocation; false when there is none left.
    bool allowed() {
        std::lock_guard lock(mutex_);
        if (allowed_ == SIZE_MAX)
            return true;
        if (allowed_ == 0)
            return false;
        --allowed_;
        return true;
    }

    std::mutex mutex_;
    std::unordered_set<void*> live_;
    void* reallocating_ = nullptr;
    std::size_t allowed_ = SIZE_MAX;
    const void* cannot_tell_ = nullptr; // DidAlloc answers -1 for this block
};

live_block_spy& installed_spy() {
    static live_block_spy spy;
    static const bool installed = [] {
        // SetOaNoCache is exported by oleaut32 but not declared by MinGW's headers.
        using no_cache_fn = void(WINAPI*)();
        if (HMODULE oleaut = ::GetModuleHandleW(L"oleaut32.dll")) {
            if (auto no_cache = reinterpret_cast<no_cache_fn>(
                    reinterpret_cast<void*>(::GetProcAddress(oleaut, "SetOaNoCache"))))
                no_cache();
            else
                return false;
        } else {
            return false;
        }
        return SUCCEEDED(::CoRegisterMallocSpy(&spy));
    }();
    if (!installed)
        throw std::runtime_error("task_memory: cannot turn oleaut32's BSTR cache off or install "
                                 "the IMallocSpy that counts task-allocator blocks");
    return spy;
}

} // namespace

std::size_t task_blocks_in_use() {
    return installed_spy().live();
}

void task_allocations_fail_after(std::size_t successes) {
    installed_spy().fail_after(successes);
}

void task_did_alloc_cannot_tell(const void* p) {
    installed_spy().cannot_tell(p);
}

bool crt_heap_is_process_heap() {
    return reinterpret_cast<HANDLE>(::_get_heap_handle()) == ::GetProcessHeap();
}

void* crt_heap_handle() {
    return reinterpret_cast<void*>(::_get_heap_handle());
}

} // namespace memmgr_test
