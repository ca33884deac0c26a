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
#include <cstring>
#include <cstdint>
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

export namespace memmgr::detail {

/// The code point starting at `p` (which it advances past the sequence), or `ill_formed` (and p
/// unspecified) if the bytes at p are not a well-formed UTF-8 sequence. \requires p < end.
inline constexpr char32_t ill_formed = 0xFFFF'FFFF;
[[nodiscard]] constexpr char32_t next_utf8(const unsigned char*& p,
                                           const unsigned char* end) noexcept {
    const unsigned lead = *p++;
    if (lead < 0x80)
        return lead;
    // The lead byte sets how many continuation bytes follow and, for four leads, narrows the range
    // of the first one: that is what excludes overlongs (E0, F0), surrogates (ED) and values past
    // U+10FFFF (F4). C0, C1 and F5..FF never start a sequence; 80..BF only continue one.
    std::size_t extra = 0;
    char32_t cp = 0;
    unsigned low = 0x80;
    unsigned high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        extra = 1;
        cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        extra = 2;
        cp = lead & 0x0F;
        low = lead == 0xE0 ? 0xA0 : low;
        high = lead == 0xED ? 0x9F : high;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        extra = 3;
        cp = lead & 0x07;
        low = lead == 0xF0 ? 0x90 : low;
        high = lead == 0xF4 ? 0x8F : high;
    } else {
        return ill_formed;
    }
    if (static_cast<std::size_t>(end - p) < extra)
        return ill_formed;
    for (std::size_t i = 0; i < extra; ++i) {
        const unsigned b = p[i];
        if (b < low || b > high)
            return ill_formed;
        low = 0x80;
        high = 0xBF;
        cp = (cp << 6) | (b & 0x3F);
    }
    p += extra;
    return cp;
}

/// The code point starting at `p` (advanced past it): a surrogate pair is combined, an unpaired
/// surrogate reads as replacement_character. \requires p < end.
template <utf16_code_unit C>
[[nodiscard]] constexpr char32_t next_utf16(const C*& p, const C* end) noexcept {
    const char32_t u = static_cast<char16_t>(*p++);
    if (u < 0xD800 || u > 0xDFFF)
        return u;
    if (u <= 0xDBFF && p != end) {
        const char32_t v = static_cast<char16_t>(*p);
        if (v >= 0xDC00 && v <= 0xDFFF) {
            ++p;
            return 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00);
        }
    }
    return replacement_character;
}

[[nodiscard]] constexpr std::size_t utf8_width(char32_t cp) noexcept {
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/// \returns the number of UTF-8 bytes to_utf8 makes of [p, p + n).
template <utf16_code_unit C>
[[nodiscard]] constexpr std::size_t utf8_length(const C* p, std::size_t n) noexcept {
    std::size_t bytes = 0;
    for (const C* end = p + n; p != end;)
        bytes += utf8_width(next_utf16(p, end));
    return bytes;
}

/// Writes [p, p + n) as UTF-8 to out, which has room for utf8_length(p, n) bytes. \returns the end
/// of what was written.
template <utf16_code_unit C>
char* encode_utf8(const C* p, std::size_t n, char* out) noexcept {
    auto put = [&out](char32_t bits) {
        *out++ = static_cast<char>(static_cast<unsigned char>(bits));
    };
    for (const C* end = p + n; p != end;) {
        const char32_t cp = next_utf16(p, end);
        switch (utf8_width(cp)) {
        case 1: put(cp); break;
        case 2:
            put(0xC0 | (cp >> 6));
            put(0x80 | (cp & 0x3F));
            break;
        case 3:
            put(0xE0 | (cp >> 12));
            put(0x80 | ((cp >> 6) & 0x3F));
            put(0x80 | (cp & 0x3F));
            break;
        default:
            put(0xF0 | (cp >> 18));
            put(0x80 | ((cp >> 12) & 0x3F));
            put(0x80 | ((cp >> 6) & 0x3F));
            put(0x80 | (cp & 0x3F));
            break;
        }
    }
    return out;
}

/// \returns how many bytes from p on, in whole runs of 8, are ASCII (the fast path of both UTF-8
/// loops: eight bytes tested with one mask, instead of one code point at a time).
inline std::size_t ascii_run(const unsigned char* p, const unsigned char* end) noexcept {
    std::size_t n = 0;
    while (end - p - static_cast<std::ptrdiff_t>(n) >= 8) {
        std::uint64_t word;
        std::memcpy(&word, p + n, 8);
        if ((word & 0x8080808080808080u) != 0)
            break;
        n += 8;
    }
    return n;
}

/// Writes utf8, which utf16_length has accepted, as UTF-16 to out, which has room for the
/// utf16_length(utf8) code units. \returns the end of what was written.
template <utf16_code_unit C>
C* decode_utf8(std::string_view utf8, C* out) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
    for (const auto* end = p + utf8.size(); p != end;) {
        if (const std::size_t ascii = *p < 0x80 ? ascii_run(p, end) : 0; ascii != 0) {
            for (std::size_t i = 0; i < ascii; ++i)
                out[i] = static_cast<C>(p[i]);
            out += ascii;
            p += ascii;
            continue;
        }
        const char32_t cp = next_utf8(p, end);
        if (cp < 0x10000) {
            *out++ = static_cast<C>(cp);
        } else {
            *out++ = static_cast<C>(0xD800 + ((cp - 0x10000) >> 10));
            *out++ = static_cast<C>(0xDC00 + ((cp - 0x10000) & 0x3FF));
        }
    }
    return out;
}

/// utf8's bytes, as the char-based functions above take them.
[[nodiscard]] inline std::string_view as_chars(std::u8string_view utf8) noexcept {
    return {reinterpret_cast<const char*>(utf8.data()), utf8.size()};
}

} // namespace memmgr::detail

// --- implementation -----------------------------------------------------------------------------

namespace memmgr {

result<std::size_t> utf16_length(std::string_view utf8) noexcept {
    std::size_t units = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
    for (const auto* end = p + utf8.size(); p != end;) {
        if (const std::size_t ascii = *p < 0x80 ? detail::ascii_run(p, end) : 0; ascii != 0) {
            units += ascii;
            p += ascii;
            continue;
        }
        const char32_t cp = detail::next_utf8(p, end);
        if (cp == detail::ill_formed)
            return fail(errc::invalid_utf8);
        units += cp < 0x10000 ? 1 : 2;
    }
    return units;
}

result<std::size_t> utf16_length(std::u8string_view utf8) noexcept {
    return utf16_length(detail::as_chars(utf8));
}

result<std::u16string> to_utf16(std::string_view utf8) {
    return utf16_length(utf8).map([utf8](std::size_t n) {
        std::u16string s(n, u'\0');
        detail::decode_utf8(utf8, s.data());
        return s;
    });
}

result<std::u16string> to_utf16(std::u8string_view utf8) {
    return to_utf16(detail::as_chars(utf8));
}

namespace {
template <utf16_code_unit C>
std::string utf8_of(std::basic_string_view<C> utf16) {
    std::string s(detail::utf8_length(utf16.data(), utf16.size()), '\0');
    detail::encode_utf8(utf16.data(), utf16.size(), s.data());
    return s;
}
} // namespace

std::string to_utf8(std::u16string_view utf16) { return utf8_of(utf16); }
#ifdef _WIN32
std::string to_utf8(std::wstring_view utf16) { return utf8_of(utf16); }
#endif

} // namespace memmgr
