// heap_ptr_migration: code written with ATL's CComHeapPtr (task memory from CoTaskMemAlloc),
// moved to memmgr::heap_ptr<T, com_heap>, with the raw CoTaskMemFree version it replaces.
//
// The API called is StringFromCLSID, which returns the text of a CLSID in task memory the caller
// must free: on Windows the real ole32 function, called through heap_ptr's out-parameter adaptor
// put(); on POSIX a stand-in with the same contract over memmgr::com_heap, as ported code brings.
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#define NOMINMAX
#include <windows.h>
// after windows.h, which it needs
#include <objbase.h>
#endif

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>

import memmgr;

using memmgr::olechar;

#ifdef _WIN32
using guid = GUID;
HRESULT string_from_clsid(const guid& clsid, olechar** out) {
    return ::StringFromCLSID(clsid, out);
}
#else
// What ported code brings along on POSIX: the Windows names it needs, and the API over the task
// allocator.
using HRESULT = std::int32_t;
constexpr HRESULT S_OK = 0;
constexpr auto E_OUTOFMEMORY = static_cast<HRESULT>(0x8007000Eu);
constexpr bool FAILED(HRESULT hr) {
    return hr < 0;
}
struct guid {
    std::uint32_t data1;
    std::uint16_t data2;
    std::uint16_t data3;
    unsigned char data4[8];
};
// A stand-in for StringFromCLSID, with its contract: "{XXXXXXXX-XXXX-...}" in task memory in *out.
HRESULT string_from_clsid(const guid& g, olechar** out) {
    char text[39];
    std::snprintf(text, sizeof text, "{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
                  unsigned{g.data1}, unsigned{g.data2}, unsigned{g.data3}, g.data4[0], g.data4[1],
                  g.data4[2], g.data4[3], g.data4[4], g.data4[5], g.data4[6], g.data4[7]);
    auto block = memmgr::com_heap{}.allocate(sizeof text * sizeof(olechar));
    if (!block) {
        *out = nullptr;
        return E_OUTOFMEMORY;
    }
    auto* chars = static_cast<olechar*>(*block);
    for (std::size_t i = 0; i < sizeof text; ++i)
        chars[i] = static_cast<olechar>(text[i]);
    *out = chars;
    return S_OK;
}
#endif

// The GUID text is ASCII: narrowing each code unit is enough to print it.
std::string narrow(const olechar* s) {
    std::string out;
    for (; *s != 0; ++s)
        out += static_cast<char>(*s);
    return out;
}

const guid example_clsid = {
    0x12345678, 0x9abc, 0xdef0, {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}};

// --- before, raw: every path frees by hand ----------------------------------------------------
HRESULT clsid_text_raw(const guid& clsid, std::string& out) {
    olechar* text = nullptr;
    HRESULT hr = string_from_clsid(clsid, &text);
    if (FAILED(hr))
        return hr;
    try {
        out = narrow(text);
    } catch (...) {
        memmgr::com_heap{}.free(text); // CoTaskMemFree: the line that is easy to forget
        throw;
    }
    memmgr::com_heap{}.free(text);
    return S_OK;
}

// --- before, ATL (not compiled: MinGW has no ATL) ---------------------------------------------
//   HRESULT clsid_text(REFCLSID clsid, std::string& out) {
//       CComHeapPtr<OLECHAR> text;
//       HRESULT hr = StringFromCLSID(clsid, &text); // operator&: only asserts that text is empty
//       if (FAILED(hr))
//           return hr;
//       out = narrow(text);
//       return S_OK;
//   }

// --- after: memmgr::heap_ptr ------------------------------------------------------------------
// CComHeapPtr<T>                 -> heap_ptr<T, com_heap>   (CHeapPtr<T, CCRTAllocator>: crt_heap)
// &p (as an out-parameter)       -> p.put()                 (frees what p held first)
// p.Allocate(n) / Reallocate(n)  -> p.allocate(n) / p.reallocate(n): a result, the block kept on
//                                   failure
// p.Detach() / p.Attach(q)       -> p.release() / p.reset(q)
// p.Free()                       -> p.reset()
HRESULT clsid_text(const guid& clsid, std::string& out) {
    memmgr::heap_ptr<olechar, memmgr::com_heap> text;
    if (HRESULT hr = string_from_clsid(clsid, text.put()); FAILED(hr))
        return hr;
    out = narrow(text.get()); // if this throws, text is still freed
    return S_OK;
}

int main() {
    std::string text;
    if (!FAILED(clsid_text_raw(example_clsid, text)))
        std::cout << "raw CoTaskMemFree: " << text << '\n';
    if (!FAILED(clsid_text(example_clsid, text)))
        std::cout << "heap_ptr:          " << text << '\n';

    // The same pointer, one size: sizeof(heap_ptr<T, com_heap>) == sizeof(T*).
    static_assert(sizeof(memmgr::heap_ptr<olechar, memmgr::com_heap>) == sizeof(olechar*));

    // A buffer grown in steps (CHeapPtr::Reallocate): a failure leaves the old block owned.
    memmgr::heap_ptr<std::uint32_t, memmgr::com_heap> numbers;
    for (std::size_t n = 4; n <= 64; n *= 4) {
        if (auto grown = numbers.reallocate(n); !grown) {
            std::cout << "reallocate: " << grown.error() << '\n';
            return 1;
        }
        numbers[n - 1] = static_cast<std::uint32_t>(n);
    }
    auto too_big = numbers.reallocate(SIZE_MAX / 2);
    std::cout << "reallocate(SIZE_MAX / 2): " << too_big.error() << "; still holding "
              << memmgr::com_heap{}.size(numbers.get()).value() << " bytes, last " << numbers[63]
              << '\n';

    // A private heap's block, the heap referred to (heap_ptr<T, win32_heap&>), made by the
    // throwing helper: n uninitialised elements.
    memmgr::win32_heap arena;
    auto scratch = memmgr::allocate_unique_for_overwrite<char>(arena, 256);
    std::snprintf(scratch.get(), 256, "%s", "scratch space on the arena");
    std::cout << scratch.get() << " (" << arena.statistics()->blocks_in_use << " block in use)\n";
    return 0;
}
