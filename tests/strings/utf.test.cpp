// memmgr:utf: UTF-8 in is strict (every class of ill-formed input is an error, at every position),
// UTF-16 out to UTF-8 is total (unpaired surrogates become U+FFFD), and every scalar value makes
// the round trip.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "support/blocks.hpp"

import memmgr;

using memmgr::errc;
using namespace memmgr_test;
using namespace std::string_view_literals;

namespace {

// Ill-formed UTF-8, one of each kind the Unicode standard's table 3-7 excludes.
struct bad_input {
    std::string_view bytes;
    const char* why;
};
constexpr bad_input ill_formed[] = {
    {"\x80"sv, "a continuation byte with no lead"},
    {"\xBF"sv, "a continuation byte with no lead"},
    {"\xC0\x80"sv, "overlong NUL (C0)"},
    {"\xC1\xBF"sv, "overlong U+007F (C1)"},
    {"\xE0\x80\x80"sv, "overlong three-byte NUL"},
    {"\xE0\x9F\xBF"sv, "overlong U+07FF in three bytes"},
    {"\xF0\x80\x80\x80"sv, "overlong four-byte NUL"},
    {"\xF0\x8F\xBF\xBF"sv, "overlong U+FFFF in four bytes"},
    {"\xED\xA0\x80"sv, "the surrogate U+D800 encoded in UTF-8"},
    {"\xED\xBF\xBF"sv, "the surrogate U+DFFF encoded in UTF-8"},
    {"\xED\xA0\xBD\xED\xB8\x80"sv, "a surrogate pair encoded in UTF-8 (CESU-8)"},
    {"\xF4\x90\x80\x80"sv, "U+110000, past the last code point"},
    {"\xF5\x80\x80\x80"sv, "a lead byte past F4"},
    {"\xFF"sv, "FF never appears"},
    {"\xFE"sv, "FE never appears"},
    {"\xC3"sv, "a two-byte sequence cut short"},
    {"\xE2\x82"sv, "a three-byte sequence cut short"},
    {"\xF0\x9F\x98"sv, "a four-byte sequence cut short"},
    {"\xE2\x28\xA1"sv, "a non-continuation byte inside a sequence"},
    {"\xC3\xC3\xA9"sv, "a lead byte where a continuation byte belongs"},
};

// Well-formed boundaries: the first and last code point of each sequence length and around the
// surrogates, with their UTF-16 form.
struct good_input {
    std::string_view utf8;
    std::u16string_view utf16;
};
constexpr good_input boundaries[] = {
    {"\x00"sv, u"\u0000"sv},
    {"\x7F"sv, u"\u007F"sv},
    {"\xC2\x80"sv, u"\u0080"sv},
    {"\xDF\xBF"sv, u"\u07FF"sv},
    {"\xE0\xA0\x80"sv, u"\u0800"sv},
    {"\xED\x9F\xBF"sv, u"\uD7FF"sv},
    {"\xEE\x80\x80"sv, u"\uE000"sv},
    {"\xEF\xBF\xBF"sv, u"\uFFFF"sv},
    {"\xF0\x90\x80\x80"sv, u"\U00010000"sv},
    {"\xF4\x8F\xBF\xBF"sv, u"\U0010FFFF"sv},
};

std::u16string unit(char16_t u) {
    return std::u16string(1, u);
}

} // namespace

BOOST_AUTO_TEST_SUITE(utf_tests)

BOOST_AUTO_TEST_CASE(well_formed_boundaries_convert_both_ways) {
    for (const auto& [utf8, utf16] : boundaries) {
        BOOST_TEST_CONTEXT("UTF-16 " << std::u16string(utf16).size() << " unit(s), first "
                                     << static_cast<unsigned>(utf16[0])) {
            auto length = memmgr::utf16_length(utf8);
            BOOST_REQUIRE(length);
            BOOST_TEST(*length == utf16.size());
            auto converted = memmgr::to_utf16(utf8);
            BOOST_REQUIRE(converted);
            BOOST_TEST((*converted == utf16));
            BOOST_TEST(memmgr::to_utf8(utf16) == utf8);
        }
    }
}

BOOST_AUTO_TEST_CASE(every_kind_of_ill_formed_utf8_is_an_error_wherever_it_stands) {
    for (const auto& [bytes, why] : ill_formed) {
        BOOST_TEST_CONTEXT(why) {
            // Alone, after good text, and before good text: never skipped, never replaced.
            for (const std::string& text : {std::string(bytes), "abc\xC3\xA9" + std::string(bytes),
                                            std::string(bytes) + "xyz"}) {
                BOOST_TEST(fails_with(memmgr::utf16_length(text), errc::invalid_utf8));
                BOOST_TEST(fails_with(memmgr::to_utf16(text), errc::invalid_utf8));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(char8_t_input_follows_the_same_rules) {
    BOOST_TEST((memmgr::to_utf16(u8"Grüße, 世界 🌍"sv).value() == u"Grüße, 世界 🌍"sv));
    const char8_t truncated[] = {0xF0, 0x9F, 0x8C};
    BOOST_TEST(fails_with(memmgr::to_utf16(std::u8string_view(truncated, 3)), errc::invalid_utf8));
    BOOST_TEST(memmgr::utf16_length(u8"🌍"sv).value() == 2u);
}

BOOST_AUTO_TEST_CASE(embedded_nuls_are_characters) {
    auto converted = memmgr::to_utf16("a\0b\0"sv);
    BOOST_REQUIRE(converted);
    BOOST_TEST((*converted == u"a\0b\0"sv));
    BOOST_TEST(memmgr::to_utf8(u"\0x\0"sv) == "\0x\0"sv);
}

BOOST_AUTO_TEST_CASE(unpaired_surrogates_become_the_replacement_character) {
    constexpr std::string_view fffd = "\xEF\xBF\xBD";
    BOOST_TEST((memmgr::replacement_character == U'\uFFFD'));
    // A lone high surrogate: alone, at the end, before a non-surrogate, before another high one.
    BOOST_TEST(memmgr::to_utf8(unit(0xD800)) == fffd);
    BOOST_TEST(memmgr::to_utf8(u"a" + unit(0xDBFF)) == "a" + std::string(fffd));
    BOOST_TEST(memmgr::to_utf8(unit(0xD800) + u"b") == std::string(fffd) + "b");
    BOOST_TEST(memmgr::to_utf8(unit(0xD800) + unit(0xD800) + unit(0xDC00)) ==
               std::string(fffd) + "\xF0\x90\x80\x80");
    // A lone low surrogate, and a pair in the wrong order: one U+FFFD per code unit.
    BOOST_TEST(memmgr::to_utf8(unit(0xDC00)) == fffd);
    BOOST_TEST(memmgr::to_utf8(unit(0xDFFF) + unit(0xD800)) ==
               std::string(fffd) + std::string(fffd));
    // A proper pair is one four-byte character.
    BOOST_TEST(memmgr::to_utf8(unit(0xD83C) + unit(0xDF0D)) == "\xF0\x9F\x8C\x8D");
}

BOOST_AUTO_TEST_CASE(every_scalar_value_makes_the_round_trip) {
    // All 1,112,064 scalar values in one string: UTF-16 -> UTF-8 -> UTF-16 gives it back exactly,
    // and the UTF-8 is what the encoding's definition says, length for length.
    std::u16string all;
    std::size_t expected_utf8 = 0;
    for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        if (cp < 0x10000) {
            all.push_back(static_cast<char16_t>(cp));
        } else {
            all.push_back(static_cast<char16_t>(0xD800 + ((cp - 0x10000) >> 10)));
            all.push_back(static_cast<char16_t>(0xDC00 + ((cp - 0x10000) & 0x3FF)));
        }
        expected_utf8 += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }
    const std::string utf8 = memmgr::to_utf8(all);
    BOOST_TEST(utf8.size() == expected_utf8);
    auto back = memmgr::to_utf16(utf8);
    BOOST_REQUIRE(back);
    BOOST_TEST((*back == all));
}

BOOST_AUTO_TEST_CASE(string_error_carries_the_reason) {
    const memmgr::string_error e(errc::invalid_utf8);
    BOOST_TEST(e.reason() == errc::invalid_utf8);
    BOOST_TEST((e.code() == std::error_code(errc::invalid_utf8)));
    BOOST_TEST(std::string_view(e.what()).find("invalid UTF-8") != std::string_view::npos);
}

BOOST_AUTO_TEST_SUITE_END()
