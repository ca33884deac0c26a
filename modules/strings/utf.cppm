// memmgr:utf: UTF-8 <-> UTF-16 conversion, strict one way and total the other.
//
// UTF-8 in is validated as the Unicode standard defines well-formed UTF-8 (its table 3-7): an
// overlong form, a surrogate encoded in UTF-8 (U+D800..U+DFFF), a value above U+10FFFF, a byte that
// cannot start a sequence and a sequence cut short are all errc::invalid_utf8. Nothing is ever
// guessed or replaced on the way in.
//
// UTF-16 out to UTF-8 never fails: BSTRs received from other code may hold unpaired surrogates, and
// each unpaired surrogate code unit becomes U+FFFD (the replacement character, EF BF BD), as
// WideCharToMultiByte does without WC_ERR_INVALID_CHARS and as the WHATWG encoding standard does.
// UTF-16 to UTF-16 (std::u16string, std::wstring) copies code units as they are, lossless.
module;
#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>

export module memmgr:utf;

import :errors;

export namespace memmgr {

/// A character type that holds one UTF-16 code unit: char16_t, and wchar_t where it is 16 bits
/// wide (Windows). Satisfied by: char16_t everywhere, wchar_t on Windows, memmgr::olechar.
template <class C>
concept utf16_code_unit = (std::same_as<C, char16_t> || std::same_as<C, wchar_t>) && sizeof(C) == 2;

/// What unpaired surrogates become in UTF-8.
inline constexpr char32_t replacement_character = U'\uFFFD';

/// \returns the number of UTF-16 code units utf8 encodes. \errors invalid_utf8.
[[nodiscard]] result<std::size_t> utf16_length(std::string_view utf8) noexcept;
[[nodiscard]] result<std::size_t> utf16_length(std::u8string_view utf8) noexcept;

/// \returns utf8 as UTF-16. \errors invalid_utf8. \throws std::bad_alloc from std::u16string.
[[nodiscard]] result<std::u16string> to_utf16(std::string_view utf8);
[[nodiscard]] result<std::u16string> to_utf16(std::u8string_view utf8);

/// \returns utf16 as UTF-8, each unpaired surrogate as U+FFFD. \throws std::bad_alloc.
[[nodiscard]] std::string to_utf8(std::u16string_view utf16);
#ifdef _WIN32
[[nodiscard]] std::string to_utf8(std::wstring_view utf16);
#endif

} // namespace memmgr

// Internal (module linkage): what bstr's implementation needs of the codec, whose bodies live in
// utf.cpp with the rest of it.
namespace memmgr::detail {

/// Writes valid_utf8, which utf16_length has accepted, as UTF-16 to out, which has room for the
/// utf16_length(valid_utf8) code units. \returns the end of what was written.
char16_t* decode_utf8(std::string_view valid_utf8, char16_t* out) noexcept;
#ifdef _WIN32
wchar_t* decode_utf8(std::string_view valid_utf8, wchar_t* out) noexcept;
#endif

/// \returns true if utf8 is well-formed and decodes to exactly the n code units at `units` (an
/// unpaired surrogate never matches: UTF-8 cannot encode one). Allocates nothing.
[[nodiscard]] bool utf8_matches(std::string_view utf8, const char16_t* units,
                                std::size_t n) noexcept;
#ifdef _WIN32
[[nodiscard]] bool utf8_matches(std::string_view utf8, const wchar_t* units,
                                std::size_t n) noexcept;
#endif

/// utf8's bytes, as the char-based functions take them. Inline: a cast, shared by utf.cpp and
/// bstr.cpp, that no call should stand for.
[[nodiscard]] inline std::string_view as_chars(std::u8string_view utf8) noexcept {
    return {reinterpret_cast<const char*>(utf8.data()), utf8.size()};
}

} // namespace memmgr::detail
