// ccombstr_migration: code written with ATL's CComBSTR, moved to memmgr::bstr line by line.
//
// A COM-style component with a raw-BSTR API around it: a BSTR comes in from an API (owned by the
// receiver), a caller's BSTR comes in as an in-parameter (owned by the caller), a BSTR goes out
// through a BSTR* out-parameter, and, on Windows, through a VARIANT. Each step shows the CComBSTR
// line it replaces in a comment. CComBSTR itself is not compiled here: MinGW ships no ATL.
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#define NOMINMAX
#include <windows.h>
// after windows.h, which it needs
#include <oleauto.h>
#endif

#include <cstdint>
#include <iostream>
#include <new>
#include <string_view>

import memmgr;

using memmgr::bstr;
using memmgr::bstr_view;
using memmgr::olechar;

#ifdef _WIN32
using memmgr_hresult = HRESULT;
#else
using memmgr_hresult = std::int32_t; // what ported code calls HRESULT
#endif
constexpr memmgr_hresult ok = 0;
constexpr auto e_pointer = static_cast<memmgr_hresult>(0x80004003u);
constexpr auto e_outofmemory = static_cast<memmgr_hresult>(0x8007000Eu);

namespace {

// An API that returns a new BSTR which the caller must free: a record name with an embedded NUL
// (its length is in the prefix; a C-string copy would stop at "Acme").
olechar* api_read_name() {
    const bstr made(std::string_view("Acme\0Corp", 9)); // 9 bytes of UTF-8, a NUL among them
    return memmgr::sys_alloc_string_len(made.get(), static_cast<std::uint32_t>(made.size()));
}

// A COM method: `name` is an in-parameter (the caller owns it), `result` an out-parameter.
memmgr_hresult label_for(olechar* name, olechar** result) noexcept try {
    if (result == nullptr)
        return e_pointer;
    *result = nullptr;
    // CComBSTR label(name);        reads `name` to its first NUL, and is undefined for null
    // memmgr: bstr label(name) does not compile; bstr_view reads the prefix, null included.
    const bstr_view in(name);
    if (in.empty()) // CComBSTR: if (!label) tests null only; a view of null or "" is empty alike
        return memmgr::bstr(u"(unnamed)").copy_to(result) ? ok : e_outofmemory;
    bstr label("Label: "); // CComBSTR label(L"Label: ");
    label += in;           // label.AppendBSTR(name);  (whole, by its prefix)
    // label.CopyTo(result): a copy for the caller, this one still ours (and freed on return).
    if (!label.copy_to(result))
        return e_outofmemory;
    return ok;
} catch (const std::bad_alloc&) { // memmgr::heap_error is one
    return e_outofmemory;
}

} // namespace

int main() {
    // CComBSTR received; received.Attach(api_read_name());   (ownership taken over)
    bstr received = bstr::adopt(api_read_name());
    // CComBSTR copy(raw_in_param) copies to the first NUL; copy_of_bstr copies by the prefix.
    const bstr copy = bstr::copy_of_bstr(received.get()).value();
    std::cout << "received " << received.size() << " code units, copied " << copy.size() << '\n';

    // The out-parameter: the caller frees what it receives (CComBSTR out; label_for(.., &out)).
    bstr out;
    if (label_for(received.get(), out.put()) != ok)
        return 1;
    std::cout << "label: \"" << out << "\" (" << out.size() << " code units)\n";
    if (out != bstr_view(bstr(std::u16string_view(u"Label: Acme\0Corp", 16))))
        return 1;
    bstr unnamed;
    if (label_for(nullptr, unnamed.put()) != ok || unnamed != "(unnamed)")
        return 1;
    std::cout << "null name: \"" << unnamed << "\"\n";

    // CComBSTR assignments from text: bstr takes string views and UTF-8.
    out = "caf\xC3\xA9";                        // out = L"café";
    std::cout << "reassigned: " << out << '\n'; // UTF-8 out
    if (out != "caf\xC3\xA9")                   // compares with UTF-8 text, by its code units
        return 1;

#ifdef _WIN32
    // VARIANTs (Windows only). CComVariant v(out); and CComBSTR(v.bstrVal) become:
    VARIANT v;
    ::VariantInit(&v);
    if (!out.copy_to(v)) // v = VT_BSTR holding a copy; what v held before is cleared first
        return 1;
    bstr back = bstr::copy_of(v).value();      // a copy; v keeps its own
    bstr taken = bstr::detach_from(v).value(); // v.Detach-like: v is VT_EMPTY, nothing leaks
    std::cout << "from a VARIANT: " << back << ", then taken: " << taken
              << (V_VT(&v) == VT_EMPTY ? " (VARIANT now empty)" : " (VARIANT still full!)") << '\n';
    if (!taken.move_to(v)) // handed over: v owns it now
        return 1;
    ::VariantClear(&v);
#endif

    // CComBSTR::Detach: ownership out to raw code, which frees it.
    olechar* raw = out.release();
    memmgr::sys_free_string(raw);
    std::cout << "ccombstr_migration: ok\n";
    return 0;
}
