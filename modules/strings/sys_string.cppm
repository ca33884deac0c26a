// memmgr:sys_string: olechar, the BSTR length limits and the SysAllocString family on raw BSTRs,
// for code being ported from Windows (or talking to code that was).
//
// On Windows each function forwards to oleaut32 after memmgr's argument checks; on POSIX it
// implements the same semantics over the com process heap, in Windows' memory layout: a 4-byte
// byte-length prefix directly before the data, 16-bit code units, a terminating wide NUL, data
// aligned to 8 bytes (docs/bstr.md draws it). New code uses memmgr::bstr instead.
module;
#include <cstddef>
#include <cstdint>
#include <cstring>

export module memmgr:sys_string;

import :errors;

export namespace memmgr {

/// OLECHAR: one UTF-16 code unit of a BSTR. wchar_t on Windows, where BSTR is wchar_t*, so that
/// memmgr and Windows APIs exchange pointers without casts; char16_t elsewhere.
#ifdef _WIN32
using olechar = wchar_t;
#else
using olechar = char16_t;
#endif
static_assert(sizeof(olechar) == 2, "a BSTR is made of 16-bit code units");

/// The longest BSTR memmgr makes, in bytes: 4 GiB - 32, so that the whole block (an 8-byte header,
/// the data and the wide NUL, rounded up to 16) stays below 4 GiB and no 32-bit size computation
/// wraps, in oleaut32 or anywhere else. Longer requests fail before any allocator is asked.
inline constexpr std::uint32_t max_bstr_byte_length = 0xFFFF'FFE0u;
/// The longest BSTR memmgr makes, in code units (max_bstr_byte_length / 2).
inline constexpr std::uint32_t max_bstr_length = max_bstr_byte_length / sizeof(olechar);

/// SysAllocString: \returns a BSTR holding psz up to its first NUL, or nullptr if psz is null,
/// longer than max_bstr_length, or memory runs out.
[[nodiscard]] olechar* sys_alloc_string(const olechar* psz) noexcept;

/// SysAllocStringLen: \returns a BSTR of len code units copied from psz (embedded NULs kept) and a
/// wide NUL; psz == nullptr leaves the code units uninitialised. nullptr if len > max_bstr_length
/// or memory runs out.
[[nodiscard]] olechar* sys_alloc_string_len(const olechar* psz, std::uint32_t len) noexcept;

/// SysAllocStringByteLen: \returns a BSTR whose byte length is exactly len (odd lengths too), with
/// len bytes copied from psz (uninitialised if psz is null), then zero bytes through the wide NUL
/// after the last, possibly half-filled, code unit. nullptr if len > max_bstr_byte_length or memory
/// runs out.
[[nodiscard]] olechar* sys_alloc_string_byte_len(const char* psz, std::uint32_t len) noexcept;

/// SysReAllocStringLen: \effects makes *pbstr a BSTR of len code units: copied from psz, which may
/// point into *pbstr; or, if psz is null or *pbstr itself, the old code units kept (as many as fit;
/// any further ones uninitialised). A null *pbstr is allocated as by sys_alloc_string_len.
/// \returns false, and leaves *pbstr untouched, if pbstr is null, len > max_bstr_length or memory
/// runs out; on POSIX also if *pbstr is not a live BSTR (a freed one, say: nothing is read from
/// it) or its length prefix was overwritten past its block (Windows: undefined, as in oleaut32).
[[nodiscard]] bool sys_realloc_string_len(olechar** pbstr, const olechar* psz,
                                          std::uint32_t len) noexcept;

/// SysReAllocString: \effects replaces *pbstr with sys_alloc_string(psz) (psz may point into
/// *pbstr) and frees the old one. \returns false, and leaves *pbstr untouched, if pbstr is null or
/// the new string cannot be made.
[[nodiscard]] bool sys_realloc_string(olechar** pbstr, const olechar* psz) noexcept;

/// SysFreeString: \effects frees bstr; nullptr does nothing. A pointer that is not a live BSTR is
/// undefined on Windows; on POSIX it is detected and left alone.
void sys_free_string(olechar* bstr) noexcept;

/// SysStringLen: \returns the length in code units from the prefix (0 for nullptr); never scans.
[[nodiscard]] std::uint32_t sys_string_len(const olechar* bstr) noexcept;

/// SysStringByteLen: \returns the length in bytes from the prefix (0 for nullptr).
[[nodiscard]] std::uint32_t sys_string_byte_len(const olechar* bstr) noexcept;

} // namespace memmgr

// Internal (module linkage).
namespace memmgr::detail {

/// The byte length in the prefix of a non-null BSTR, read where Windows keeps it, without a call.
/// Inline: bstr's size() and byte_size() are this read, and should cost no more than it.
[[nodiscard]] inline std::uint32_t bstr_prefix(const olechar* bstr) noexcept {
    std::uint32_t n = 0;
    std::memcpy(&n, reinterpret_cast<const unsigned char*>(bstr) - sizeof n, sizeof n);
    return n;
}

} // namespace memmgr::detail
