// Fuzz harness: bstr, its conversions, append, comparison and hashing, against a reference model.
//
// Four bstr slots, each mirrored by what it must hold: null, or its exact bytes (a BSTR may have an
// odd byte length). The input is a sequence of operations on them: creation from arbitrary bytes
// as UTF-8 (by value and throwing), from arbitrary 16-bit code units, from raw bytes (the
// SysAllocStringByteLen form), as an uninitialised buffer filled through data(); append in every
// form (+=, try_append, +, bstr&& +, the string itself or a part of it as the source); resize;
// clone; move, swap, clear, release and adopt, put; comparison and hashing of two slots; conversion
// back to UTF-8 and UTF-16; lengths past the 32-bit limit.
//
// The UTF-8 oracle is utfcpp (libutfcpp-dev), an implementation independent of memmgr's: a string
// is valid UTF-8 exactly when utfcpp says so, and then it must decode to utfcpp's code units and
// come back byte for byte; otherwise memmgr must say errc::invalid_utf8 and allocate nothing. Going
// to UTF-8, each unpaired surrogate must become U+FFFD (docs/bstr.md). Every input ends with all
// its BSTRs freed: the POSIX process heap must hold as many blocks as before.
#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>
#include <utf8.h>

#include "support/model.hpp"

import memmgr;

namespace {

using memmgr::bstr;
using memmgr::bstr_view;
using memmgr::errc;
using memmgr_fuzz::require;

/// What a slot must hold: nothing (a null bstr), or exactly these bytes.
using expected_bytes = std::optional<std::string>;

// The oracles below are the harness's bookkeeping: out of line and out of coverage
// instrumentation (MEMMGR_FUZZ_BOOKKEEPING), like the model's, so that their loops neither call
// back into libFuzzer for every code unit nor steer the fuzzer.

MEMMGR_FUZZ_BOOKKEEPING std::string bytes_of(std::u16string_view units) {
    std::string out(units.size() * 2, '\0');
    if (!units.empty())
        std::memcpy(out.data(), units.data(), out.size());
    return out;
}

/// The whole code units of a BSTR's bytes (an odd last byte is no code unit).
MEMMGR_FUZZ_BOOKKEEPING std::u16string units_of(std::string_view bytes) {
    std::u16string out(bytes.size() / 2, u'\0');
    if (!out.empty())
        std::memcpy(out.data(), bytes.data(), out.size() * 2);
    return out;
}

/// docs/bstr.md's rule, with utfcpp encoding: pairs become one code point, every unpaired
/// surrogate U+FFFD.
MEMMGR_FUZZ_BOOKKEEPING std::string reference_utf8(std::u16string_view units) {
    std::string out;
    out.reserve(units.size() * 3); // at most 3 bytes a unit (a pair: 4 bytes for 2 units)
    for (std::size_t i = 0; i < units.size(); ++i) {
        const char32_t u = units[i];
        char32_t cp = u;
        if (u >= 0xD800 && u <= 0xDBFF && i + 1 < units.size() && units[i + 1] >= 0xDC00 &&
            units[i + 1] <= 0xDFFF) {
            cp = 0x10000 + ((u - 0xD800) << 10) + (units[i + 1] - 0xDC00);
            ++i;
        } else if (u >= 0xD800 && u <= 0xDFFF) {
            cp = 0xFFFD;
        }
        utf8::append(cp, std::back_inserter(out));
    }
    return out;
}

/// The documented order, computed on the model: code units by value with a proper prefix first,
/// then the byte length (an odd last byte sorts after none), then that last byte.
MEMMGR_FUZZ_BOOKKEEPING std::strong_ordering reference_order(std::string_view a,
                                                             std::string_view b) {
    // Unit by unit, read in place (little-endian, as the bytes were written).
    const std::size_t units = std::min(a.size(), b.size()) / 2;
    for (std::size_t k = 0; k < units; ++k) {
        char16_t x = 0;
        char16_t y = 0;
        std::memcpy(&x, a.data() + 2 * k, 2);
        std::memcpy(&y, b.data() + 2 * k, 2);
        if (x != y)
            return x <=> y;
    }
    if (auto c = a.size() / 2 <=> b.size() / 2; c != 0)
        return c; // a proper prefix first
    if (auto c = a.size() <=> b.size(); c != 0)
        return c;
    if (a.size() % 2 == 0)
        return std::strong_ordering::equal;
    return static_cast<unsigned char>(a.back()) <=> static_cast<unsigned char>(b.back());
}

std::string_view bytes_view(const bstr& s) {
    const auto b = s.as_bytes();
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

class runner {
public:
    explicit runner(FuzzedDataProvider& in) : in_(in) {}

    // The slots an operation chose are checked against the model after it, every slot every
    // few dozen operations and at the end; here and only here.
    void run() {
        int ops = 0;
        for (; ops < 400 && in_.remaining_bytes() > 0; ++ops) {
            chosen_ = 0;
            step();
            const unsigned check = ops % full_check_every == 0 ? ~0u : chosen_;
            for (std::size_t i = 0; i < slots; ++i)
                if (check >> i & 1)
                    require_matches(i);
        }
        for (std::size_t i = 0; i < slots; ++i)
            require_matches(i);
    }

private:
    static constexpr std::size_t slots = 4;
    static constexpr int full_check_every = 32;
    // Appends that would take a string past this are skipped: doubling a string 400 times is no
    // test of anything but the machine's memory, and every operation's checks scale with it.
    static constexpr std::size_t longest = 16 * 1024;

    std::size_t bytes_in(std::size_t i) const { return model_[i] ? model_[i]->size() : 0; }
    /// \returns what slot i holds, as bytes (none for a null slot).
    std::string_view bytes_in_model(std::size_t i) const {
        return model_[i] ? std::string_view(*model_[i]) : std::string_view();
    }

    void step() {
        using operation = void (runner::*)();
        static constexpr operation operations[] = {
            &runner::from_utf8,       &runner::from_utf8,      &runner::from_near_valid_utf8,
            &runner::from_utf16,      &runner::from_bytes,     &runner::filled_buffer,
            &runner::append,          &runner::append,         &runner::append_self,
            &runner::concatenate,     &runner::resize,         &runner::clone,
            &runner::transfer,        &runner::compare,        &runner::compare,
            &runner::round_trip,      &runner::past_the_limit, &runner::lengths_only,
            &runner::stale_or_damaged};
        const auto pick = in_.ConsumeIntegralInRange<std::size_t>(0, std::size(operations) - 1);
        (this->*operations[pick])();
    }

    // \returns a slot chosen by the input, remembered as one this operation touches.
    std::size_t slot() {
        const auto i = in_.ConsumeIntegralInRange<std::size_t>(0, slots - 1);
        chosen_ |= 1u << i;
        return i;
    }

    // Puts s into slot i, which must then hold `bytes` (nullopt: null).
    void store(std::size_t i, bstr s, expected_bytes bytes) {
        s_[i] = std::move(s);
        model_[i] = std::move(bytes);
    }

    MEMMGR_FUZZ_BOOKKEEPING void require_matches(std::size_t i) {
        const bstr& s = s_[i];
        const expected_bytes& m = model_[i];
        require(s.is_null() == !m.has_value(), "a bstr is null exactly when the model says so");
        const std::string_view want = m ? std::string_view(*m) : std::string_view();
        require(s.byte_size() == want.size(), "byte_size() is the model's length");
        require(s.size() == want.size() / 2, "size() counts whole code units");
        require(bytes_view(s) == want, "a bstr holds the model's bytes");
        // The wide NUL after the data (after the whole units: SysAllocStringByteLen writes it at
        // the byte length, rounded down to a code unit, plus one more byte for an odd length).
        require(s.c_str()[s.size()] == 0 || want.size() % 2 != 0, "a wide NUL follows the units");
        if (!s.is_null())
            require(memmgr::sys_string_byte_len(s.get()) == want.size(),
                    "SysStringByteLen agrees with the model");
    }

    // --- creation
    // ---------------------------------------------------------------------------------

    // Arbitrary bytes as UTF-8: valid exactly when utfcpp says so.
    void from_utf8() { take_utf8(in_.ConsumeRandomLengthString(512)); }

    // Valid UTF-8 (code points from the input, encoded by utfcpp), then perhaps one byte damaged: a
    // shortcut to the edges of well-formedness that arbitrary bytes reach slowly.
    void from_near_valid_utf8() {
        std::string text;
        const auto n = in_.ConsumeIntegralInRange<std::size_t>(0, 48);
        for (std::size_t k = 0; k < n && in_.remaining_bytes() > 0; ++k) {
            auto cp = in_.ConsumeIntegralInRange<std::uint32_t>(0, 0x10FFFF);
            if (in_.ConsumeBool())
                cp &= 0xFF; // ASCII and Latin-1: the fast path and its edges
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD;
            utf8::append(static_cast<char32_t>(cp), std::back_inserter(text));
        }
        if (!text.empty() && in_.ConsumeBool()) {
            const auto at = in_.ConsumeIntegralInRange<std::size_t>(0, text.size() - 1);
            text[at] = static_cast<char>(in_.ConsumeIntegral<std::uint8_t>());
        }
        if (!text.empty() && in_.ConsumeBool())
            text.resize(in_.ConsumeIntegralInRange<std::size_t>(0, text.size() - 1)); // cut short
        take_utf8(text);
    }

    void take_utf8(const std::string& text) {
        const bool valid = utf8::is_valid(text.begin(), text.end());
        std::u16string units;
        if (valid) {
            units.reserve(text.size());
            utf8::utf8to16(text.begin(), text.end(), std::back_inserter(units));
        }

        const auto length = memmgr::utf16_length(text);
        require(length.has_value() == valid, "utf16_length accepts exactly the valid UTF-8");
        require(!valid || *length == units.size(), "utf16_length counts utfcpp's code units");
        if (!valid)
            require(length.error() == errc::invalid_utf8, "ill-formed UTF-8 is invalid_utf8");

        const std::size_t i = slot();
        const auto blocks = live_blocks();
        switch (in_.ConsumeIntegralInRange(0, 2)) {
        case 0: {
            auto r = bstr::from_utf8(text);
            require(r.has_value() == valid, "from_utf8 accepts exactly the valid UTF-8");
            if (!r) {
                require(r.error() == errc::invalid_utf8, "from_utf8 says invalid_utf8");
                require(live_blocks() == blocks, "refused UTF-8 allocates nothing");
                return;
            }
            store(i, std::move(*r), bytes_of(units));
            break;
        }
        case 1: {
            const std::u8string u8(text.begin(), text.end());
            auto r = bstr::from_utf8(std::u8string_view(u8));
            require(r.has_value() == valid, "from_utf8 (char8_t) accepts exactly the valid UTF-8");
            if (!r)
                return;
            store(i, std::move(*r), bytes_of(units));
            break;
        }
        default:
            try {
                bstr s(text);
                require(valid, "the constructor accepts only valid UTF-8");
                store(i, std::move(s), bytes_of(units));
            } catch (const memmgr::string_error& e) {
                require(!valid && e.reason() == errc::invalid_utf8,
                        "the constructor throws string_error(invalid_utf8) for ill-formed UTF-8");
                require(live_blocks() == blocks, "refused UTF-8 allocates nothing");
                return;
            }
        }
        if (valid)
            require(s_[i].to_utf8() == text, "valid UTF-8 comes back byte for byte");
    }

    std::u16string units_from_input() {
        const auto n = in_.ConsumeIntegralInRange<std::size_t>(0, 200);
        std::u16string units;
        units.reserve(n);
        for (std::size_t k = 0; k < n && in_.remaining_bytes() > 0; ++k) {
            auto u = in_.ConsumeIntegral<std::uint16_t>();
            if (in_.ConsumeBool()) // surrogates in both halves of the range, often
                u = static_cast<std::uint16_t>(0xD800 | (u & 0x07FF));
            units.push_back(static_cast<char16_t>(u));
        }
        return units;
    }

    void from_utf16() {
        const auto units = units_from_input();
        auto r = bstr::from_utf16(units);
        require(r.has_value(), "any code units make a bstr");
        require(*r == std::u16string_view(units), "a bstr equals the units it was made from");
        require(r->to_u16string() == units, "to_u16string gives the units back");
        store(slot(), std::move(*r), bytes_of(units));
    }

    void from_bytes() {
        const auto raw =
            in_.ConsumeBytes<std::byte>(in_.ConsumeIntegralInRange<std::size_t>(0, 99));
        auto r = bstr::from_bytes(raw);
        require(r.has_value(), "any bytes make a bstr");
        store(slot(), std::move(*r),
              std::string(reinterpret_cast<const char*>(raw.data()), raw.size()));
    }

    // The uninitialised buffer an API fills through data(), as with SysAllocStringLen(NULL, n).
    void filled_buffer() {
        const auto n = in_.ConsumeIntegralInRange<std::size_t>(0, 64);
        const auto seed = in_.ConsumeIntegral<std::uint16_t>();
        bstr s(memmgr::uninitialized, n);
        require(s.size() == n && !s.is_null(), "the buffer has the size asked for");
        require(s.c_str()[n] == 0, "the buffer is terminated");
        std::u16string units(n, u'\0');
        for (std::size_t k = 0; k < n; ++k)
            units[k] = s[k] = static_cast<char16_t>(seed + 31 * k);
        store(slot(), std::move(s), bytes_of(units));
    }

    // --- change
    // -----------------------------------------------------------------------------------

    // Appending nothing leaves the bstr as it was (a null one stays null); anything else gives a
    // BSTR holding both.
    void append() {
        const std::size_t i = slot();
        const std::size_t j = slot();
        const auto form = in_.ConsumeIntegralInRange(0, 3);
        if (bytes_in(i) + bytes_in(j) > longest)
            return;
        std::string added(bytes_in_model(j)); // a copy: s_[j] may be s_[i]
        const std::u16string units = units_of(added);
        switch (form) {
        case 0:
            s_[i] += s_[j].view();
            break;
        case 1:
            require(s_[i].try_append(s_[j].view()).has_value(), "try_append succeeds");
            break;
        case 2: // plain code units: an odd last byte of the source is not one
            s_[i] += std::u16string_view(units);
            break;
        default:
            require(s_[i].try_append(std::u16string_view(units)).has_value(),
                    "try_append (code units) succeeds");
        }
        if (form >= 2)
            added = bytes_of(units);
        if (!added.empty()) {
            if (!model_[i])
                model_[i].emplace();
            *model_[i] += added;
        }
    }

    // The string itself, or a part of it, as the source (the SysReAllocStringLen aliasing rule).
    void append_self() {
        const std::size_t i = slot();
        if (!model_[i] || 2 * bytes_in(i) > longest)
            return;
        // Up to and including the unit at size(), which c_str() makes readable: the terminator,
        // or an odd last byte and a zero byte.
        const auto units = model_[i]->size() / 2;
        const auto from = in_.ConsumeIntegralInRange<std::size_t>(0, units);
        const auto count = in_.ConsumeIntegralInRange<std::size_t>(0, units + 1 - from);
        if (in_.ConsumeBool()) {
            *model_[i] += *model_[i];
            s_[i] += s_[i].view();
        } else {
            *model_[i] += (*model_[i] + std::string(2, '\0')).substr(from * 2, count * 2);
            s_[i] += std::u16string_view(s_[i].c_str() + from, count);
        }
    }

    void concatenate() {
        const std::size_t i = slot();
        const std::size_t j = slot();
        const std::size_t into = slot();
        if (bytes_in(i) + bytes_in(j) > longest)
            return;
        std::string joined_bytes(bytes_in_model(i));
        joined_bytes += bytes_in_model(j);
        if (in_.ConsumeBool()) { // view + view: always a new BSTR
            bstr joined = s_[i].view() + s_[j].view();
            store(into, std::move(joined), std::move(joined_bytes));
            return;
        }
        // bstr&& + view appends to the left string (as +=) and moves it out.
        expected_bytes want =
            bytes_in(j) == 0 ? model_[i] : expected_bytes(std::move(joined_bytes));
        bstr joined = std::move(s_[i]) + s_[j].view();
        require(s_[i].is_null(), "the left operand of bstr&& + is moved from");
        model_[i].reset();
        store(into, std::move(joined), std::move(want));
    }

    void resize() {
        const std::size_t i = slot();
        const auto n = in_.ConsumeIntegralInRange<std::size_t>(0, 300);
        if (!model_[i] && n == 0) {
            s_[i].resize(0); // a null bstr stays null
            return;
        }
        std::string want = model_[i].value_or(std::string());
        want.resize(n * 2, '\0'); // keeps the first bytes, zero-fills the rest
        if (in_.ConsumeBool())
            s_[i].resize(n);
        else
            require(s_[i].try_resize(n).has_value(), "try_resize succeeds");
        model_[i] = std::move(want);
    }

    void clone() {
        const std::size_t i = slot();
        const std::size_t into = slot();
        bstr copy = in_.ConsumeBool() ? s_[i].clone() : s_[i].try_clone().value();
        require(copy.is_null() || copy.get() != s_[i].get(), "a clone is a new BSTR");
        require(copy == s_[i], "a clone equals its source");
        const expected_bytes want = model_[i];
        store(into, std::move(copy), want);
    }

    void transfer() {
        const std::size_t i = slot();
        const std::size_t j = slot();
        switch (in_.ConsumeIntegralInRange(0, 4)) {
        case 0: // move assignment
            if (i != j) {
                s_[j] = std::move(s_[i]);
                model_[j] = std::exchange(model_[i], std::nullopt);
            }
            break;
        case 1:
            swap(s_[i], s_[j]);
            std::swap(model_[i], model_[j]);
            break;
        case 2:
            s_[i].clear();
            model_[i].reset();
            break;
        case 3: { // out to raw code and back
            memmgr::olechar* raw = s_[i].release();
            require(s_[i].is_null(), "release leaves the bstr null");
            s_[i] = bstr::adopt(raw);
            break;
        }
        default: { // an out-parameter: put() frees the old value first
            memmgr::olechar** out = s_[i].put();
            require(*out == nullptr, "put() hands out a null BSTR");
            *out = memmgr::sys_alloc_string_len(u"put", 3);
            model_[i] = bytes_of(u"put");
        }
        }
    }

    // --- observation
    // ------------------------------------------------------------------------------

    void compare() {
        const std::size_t i = slot();
        const std::size_t j = slot();
        const std::string_view a = bytes_in_model(i);
        const std::string_view b = bytes_in_model(j);
        const bstr& x = s_[i];
        const bstr& y = s_[j];
        const auto order = reference_order(a, b);
        require((x <=> y) == order, "<=> is the documented order");
        require((y <=> x) == (0 <=> order), "<=> is antisymmetric");
        require((x == y) == (a == b), "== means the same bytes");
        require((x.view() == y.view()) == (a == b), "views compare as their bstrs");
        require((x.view() <=> y.view()) == order, "views order as their bstrs");
        if (a == b) {
            require(std::hash<bstr>{}(x.view()) == std::hash<bstr>{}(y.view()),
                    "equal bstrs hash alike");
        }
        require(std::hash<bstr>{}(x.view()) == std::hash<bstr_view>{}(x.view()),
                "hash<bstr> and hash<bstr_view> agree");
        const auto units = units_of(b);
        const std::string_view unit_bytes = b.substr(0, units.size() * 2); // bytes_of(units)
        require((x == std::u16string_view(units)) == (a == unit_bytes),
                "== with code units means the same bytes");
        require((x <=> std::u16string_view(units)) == reference_order(a, unit_bytes),
                "<=> with code units is the documented order");
        // Transparent lookup finds a view without a copy, exactly when an equal bstr is there.
        lookup_.insert(y.clone());
        const bool found = lookup_.find(x.view()) != lookup_.end();
        lookup_.clear(); // keeps its buckets for the next comparison
        require(found == (a == b), "lookup by view agrees with ==");
    }

    void round_trip() {
        const std::size_t i = slot();
        const auto units = units_of(bytes_in_model(i));
        const std::string utf8 = s_[i].to_utf8();
        require(utf8 == reference_utf8(units), "to_utf8 follows the unpaired-surrogate rule");
        require(utf8::is_valid(utf8.begin(), utf8.end()), "to_utf8 gives valid UTF-8");
        require(s_[i].to_u16string() == units, "to_u16string is lossless");
        auto back = bstr::from_utf8(utf8);
        require(back.has_value(), "to_utf8's output is accepted back");
        std::u16string repaired;
        repaired.reserve(utf8.size());
        utf8::utf8to16(utf8.begin(), utf8.end(), std::back_inserter(repaired));
        require(*back == std::u16string_view(repaired), "and decodes as utfcpp decodes it");
    }

    // Lengths past the limit are refused before anything is allocated, and change nothing.
    void past_the_limit() {
        constexpr std::size_t too_long[] = {std::size_t{memmgr::max_bstr_length} + 1,
                                            std::size_t{0xFFFF'FFFF}, std::size_t{1} << 32,
                                            SIZE_MAX};
        const auto n = too_long[in_.ConsumeIntegralInRange<std::size_t>(0, 3)];
        const std::size_t i = slot();
        const auto blocks = live_blocks();
        auto r = bstr::allocate(n);
        require(!r && r.error() == errc::string_too_long,
                "allocate past the limit: string_too_long");
        auto resized = s_[i].try_resize(n);
        require(!resized && resized.error() == errc::string_too_long,
                "try_resize past the limit: string_too_long");
        try {
            s_[i].resize(n);
            require(false, "resize past the limit throws");
        } catch (const memmgr::string_error& e) {
            require(e.reason() == errc::string_too_long, "resize throws string_too_long");
        }
        require(live_blocks() == blocks, "nothing is allocated for a refused length");
    }

    // A freed BSTR, or a live one whose length prefix was written past its block, given to be
    // resized (POSIX, where the com heap's registry can tell): refused before anything is read
    // from it, and nothing changes. ASan sees any read of the freed one.
    void stale_or_damaged() {
        const std::size_t i = slot();
        if (!model_[i])
            return;
        const auto n = in_.ConsumeIntegralInRange<std::uint32_t>(0, 300);
        if (in_.ConsumeBool()) {
            memmgr::olechar* const raw = s_[i].release();
            model_[i].reset();
            memmgr::sys_free_string(raw);
            memmgr::olechar* stale = raw;
            require(!memmgr::sys_realloc_string_len(&stale, nullptr, n) && stale == raw,
                    "a freed BSTR is not reallocated");
            memmgr::sys_free_string(raw); // a double free: detected, nothing happens
            return;
        }
        auto* prefix = reinterpret_cast<unsigned char*>(s_[i].get()) - 4;
        std::uint32_t was = 0;
        std::memcpy(&was, prefix, sizeof was);
        // Past what the block holds: the data rounded up to whole units, then the wide NUL.
        const std::uint32_t wild = was + 2 + in_.ConsumeIntegral<std::uint16_t>();
        std::memcpy(prefix, &wild, sizeof wild);
        const auto blocks = live_blocks();
        const auto resized = s_[i].try_resize(n);
        memmgr::olechar* raw = s_[i].get();
        const bool raw_refused =
            !memmgr::sys_realloc_string_len(&raw, nullptr, n) && raw == s_[i].get();
        std::memcpy(prefix, &was, sizeof was); // mended before anything is required
        require(!resized && resized.error() == errc::heap_corrupt,
                "try_resize refuses a prefix past the block: heap_corrupt");
        require(raw_refused, "sys_realloc_string_len refuses a prefix past the block");
        require(live_blocks() == blocks, "nothing is allocated for a damaged BSTR");
    }

    // utf16_length and to_utf16 on arbitrary bytes, against utfcpp.
    void lengths_only() {
        const std::string text = in_.ConsumeRandomLengthString(256);
        const bool valid = utf8::is_valid(text.begin(), text.end());
        auto units = memmgr::to_utf16(text);
        require(units.has_value() == valid, "to_utf16 accepts exactly the valid UTF-8");
        if (!valid)
            return;
        std::u16string want;
        utf8::utf8to16(text.begin(), text.end(), std::back_inserter(want));
        require(*units == want, "to_utf16 decodes as utfcpp does");
        require(memmgr::to_utf8(std::u16string_view(*units)) == text, "and encodes back");
    }

    static std::size_t live_blocks() { return memmgr::testing::process_heap_blocks_in_use(); }

    FuzzedDataProvider& in_;
    std::array<bstr, slots> s_{};
    std::array<expected_bytes, slots> model_{};
    unsigned chosen_ = 0; // the slots the current operation chose, a bit each
    std::unordered_set<bstr, std::hash<bstr>, std::equal_to<>> lookup_; // empty between operations
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto before = memmgr::testing::process_heap_blocks_in_use();
    {
        FuzzedDataProvider in(data, size);
        runner(in).run();
    }
    require(memmgr::testing::process_heap_blocks_in_use() == before,
            "every BSTR of the input is freed");
    return 0;
}
