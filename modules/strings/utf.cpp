// memmgr:utf's implementation: the UTF-8 <-> UTF-16 codec (utf.cppm states the contract). It is
// all here, templates included, so that editing it recompiles this unit alone.
module;
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

module memmgr;

namespace memmgr {

namespace {

// The code point starting at `p` (which it advances past the sequence), or `ill_formed` (and p
// unspecified) if the bytes at p are not a well-formed UTF-8 sequence. \requires p < end.
constexpr char32_t ill_formed = 0xFFFF'FFFF;
char32_t next_utf8(const unsigned char*& p, const unsigned char* end) noexcept {
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

// The code point starting at `p` (advanced past it): a surrogate pair is combined, an unpaired
// surrogate reads as replacement_character. \requires p < end.
template <utf16_code_unit C>
char32_t next_utf16(const C*& p, const C* end) noexcept {
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

std::size_t utf8_width(char32_t cp) noexcept {
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

// \returns the number of UTF-8 bytes encode_utf8 makes of [p, p + n).
template <utf16_code_unit C>
std::size_t utf8_length(const C* p, std::size_t n) noexcept {
    std::size_t bytes = 0;
    for (const C* end = p + n; p != end;)
        bytes += utf8_width(next_utf16(p, end));
    return bytes;
}

// Writes [p, p + n) as UTF-8 to out, which has room for utf8_length(p, n) bytes. \returns the end
// of what was written.
template <utf16_code_unit C>
char* encode_utf8(const C* p, std::size_t n, char* out) noexcept {
    auto put = [&out](char32_t bits) {
        *out++ = static_cast<char>(static_cast<unsigned char>(bits));
    };
    for (const C* end = p + n; p != end;) {
        const char32_t cp = next_utf16(p, end);
        switch (utf8_width(cp)) {
        case 1:
            put(cp);
            break;
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

// \returns how many bytes from p on, in whole runs of 8, are ASCII (the fast path of both UTF-8
// loops: eight bytes tested with one mask, instead of one code point at a time).
std::size_t ascii_run(const unsigned char* p, const unsigned char* end) noexcept {
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

template <utf16_code_unit C>
C* decode_units(std::string_view utf8, C* out) noexcept {
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

// The code units of [units, units + n) against what utf8 decodes to, one code point at a time.
template <utf16_code_unit C>
bool matches(std::string_view utf8, const C* units, std::size_t n) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
    const C* const last = units + n;
    for (const auto* end = p + utf8.size(); p != end;) {
        const char32_t cp = next_utf8(p, end);
        if (cp == ill_formed)
            return false;
        if (cp < 0x10000) {
            if (units == last || static_cast<char16_t>(*units++) != cp)
                return false;
        } else {
            if (last - units < 2 ||
                static_cast<char16_t>(*units++) != 0xD800 + ((cp - 0x10000) >> 10) ||
                static_cast<char16_t>(*units++) != 0xDC00 + ((cp - 0x10000) & 0x3FF))
                return false;
        }
    }
    return units == last;
}

template <utf16_code_unit C>
std::string utf8_of(std::basic_string_view<C> utf16) {
    std::string s(utf8_length(utf16.data(), utf16.size()), '\0');
    encode_utf8(utf16.data(), utf16.size(), s.data());
    return s;
}

} // namespace

char16_t* detail::decode_utf8(std::string_view valid_utf8, char16_t* out) noexcept {
    return decode_units(valid_utf8, out);
}
#ifdef _WIN32
wchar_t* detail::decode_utf8(std::string_view valid_utf8, wchar_t* out) noexcept {
    return decode_units(valid_utf8, out);
}
#endif

bool detail::utf8_matches(std::string_view utf8, const char16_t* units, std::size_t n) noexcept {
    return matches(utf8, units, n);
}
#ifdef _WIN32
bool detail::utf8_matches(std::string_view utf8, const wchar_t* units, std::size_t n) noexcept {
    return matches(utf8, units, n);
}
#endif

result<std::size_t> utf16_length(std::string_view utf8) noexcept {
    std::size_t units = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
    for (const auto* end = p + utf8.size(); p != end;) {
        if (const std::size_t ascii = *p < 0x80 ? ascii_run(p, end) : 0; ascii != 0) {
            units += ascii;
            p += ascii;
            continue;
        }
        const char32_t cp = next_utf8(p, end);
        if (cp == ill_formed)
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
        decode_units(utf8, s.data());
        return s;
    });
}

result<std::u16string> to_utf16(std::u8string_view utf8) {
    return to_utf16(detail::as_chars(utf8));
}

std::string to_utf8(std::u16string_view utf16) {
    return utf8_of(utf16);
}
#ifdef _WIN32
std::string to_utf8(std::wstring_view utf16) {
    return utf8_of(utf16);
}
#endif

} // namespace memmgr
