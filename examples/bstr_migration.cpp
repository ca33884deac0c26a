// bstr_migration: one COM-style function written twice, with raw BSTRs and with memmgr::bstr.
//
// The function builds "<name> has <count> items" and returns it through a BSTR* out-parameter, as a
// COM method does. It calls an API that returns a BSTR the caller must free: on Windows the real
// oleaut32 VarBstrFromI4, called through bstr's out-parameter adaptor put(); on POSIX a stand-in
// with the same contract, written as ported Windows code is (memmgr's SysAllocString family).
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#define NOMINMAX
#include <windows.h>
// after windows.h, which it needs
#include <oleauto.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <new>
#include <string>
#include <system_error>

import memmgr;

using memmgr::olechar;

#ifdef _WIN32
// The real API: oleaut32 allocates the BSTR, the caller frees it.
HRESULT number_to_bstr(LONG n, olechar** out) {
    return ::VarBstrFromI4(n, LOCALE_INVARIANT, 0, out);
}
#else
// What ported code brings along on POSIX (as CoreCLR's PAL does): the Windows names it needs.
using HRESULT = std::int32_t;
using LONG = std::int32_t;
constexpr HRESULT S_OK = 0;
constexpr auto E_OUTOFMEMORY = static_cast<HRESULT>(0x8007000Eu);
constexpr auto E_POINTER = static_cast<HRESULT>(0x80004003u);
constexpr bool FAILED(HRESULT hr) {
    return hr < 0;
}
#define OLESTR(s) u##s

// A stand-in for VarBstrFromI4, with its contract: a new BSTR in *out, which the caller frees.
HRESULT number_to_bstr(LONG n, olechar** out) {
    const std::string digits = std::to_string(n);
    *out = memmgr::sys_alloc_string_len(nullptr, static_cast<std::uint32_t>(digits.size()));
    if (*out == nullptr)
        return E_OUTOFMEMORY;
    std::copy(digits.begin(), digits.end(), *out);
    return S_OK;
}
#endif

// --- before: raw BSTRs ---------------------------------------------------------------------------
// Every early return must free what was allocated so far, by hand; the lengths, copies and the
// terminator are by hand too.
HRESULT describe_raw(olechar* name, LONG count, olechar** result) {
    if (result == nullptr)
        return E_POINTER;
    *result = nullptr;
    olechar* number = nullptr;
    HRESULT hr = number_to_bstr(count, &number);
    if (FAILED(hr))
        return hr;
    const olechar has[] = OLESTR(" has ");
    const olechar items[] = OLESTR(" items");
    const std::uint32_t name_length = memmgr::sys_string_len(name);
    const std::uint32_t number_length = memmgr::sys_string_len(number);
    olechar* text = memmgr::sys_alloc_string_len(nullptr, name_length + 5 + number_length + 6);
    if (text == nullptr) {
        memmgr::sys_free_string(number); // the line that is easy to forget
        return E_OUTOFMEMORY;
    }
    olechar* at = std::copy_n(name, name_length, text);
    at = std::copy_n(has, 5, at);
    at = std::copy_n(number, number_length, at);
    std::copy_n(items, 6, at);
    memmgr::sys_free_string(number);
    *result = text;
    return S_OK;
}

// --- after: memmgr::bstr -------------------------------------------------------------------------
// Whatever happens, `number` and `text` free themselves; only the result's ownership moves out.
HRESULT describe(memmgr::bstr_view name, LONG count, olechar** result) try {
    if (result == nullptr)
        return E_POINTER;
    memmgr::bstr number;
    if (HRESULT hr = number_to_bstr(count, number.put()); FAILED(hr))
        return hr;
    memmgr::bstr text = name + OLESTR(" has ") + number + OLESTR(" items");
    *result = text.release();
    return S_OK;
} catch (const std::bad_alloc&) { // memmgr::heap_error is one
    return E_OUTOFMEMORY;
}

int main() {
    const memmgr::bstr name("Caf\xC3\xA9 cr\xC3\xA8me"); // UTF-8 in, a UTF-16 BSTR out

    olechar* raw = nullptr;
    if (!FAILED(describe_raw(name.get(), 42, &raw))) {
        std::cout << "raw BSTRs:     " << memmgr::bstr_view(raw) << '\n';
        memmgr::sys_free_string(raw);
    }

    memmgr::bstr described;
    if (!FAILED(describe(name, 42, described.put())))
        std::cout << "memmgr::bstr:  " << described << " (" << described.size() << " code units, "
                  << described.byte_size() << " bytes)\n";

    // Calling again through put() frees the previous result first: nothing leaks.
    if (!FAILED(describe(name, 7, described.put())))
        std::cout << "again:         " << described << '\n';

    // Bad input is an error, never garbage: by value, or as an exception.
    auto invalid = memmgr::bstr::from_utf8("\xC0\xAF");
    std::cout << "from_utf8(\"\\xC0\\xAF\"): " << std::error_code(invalid.error()).message()
              << '\n';
    try {
        const memmgr::bstr overlong("\xC0\xAF"); // an overlong '/', the classic path trick
    } catch (const memmgr::string_error& e) {
        std::cout << "bstr(\"\\xC0\\xAF\"): string_error: " << e.what() << '\n';
    }
    return 0;
}
