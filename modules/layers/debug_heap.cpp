// memmgr:debug_heap's bodies that are neither templates nor inline: the byte scans and the texts
// (describe, the leak report); the books every debug_heap keeps are in debug_ledger.cpp. Editing
// one rebuilds this unit alone, not every importer of memmgr.
module;
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

module memmgr;

import :debug_heap;

// --- the byte scans behind every guard and quarantine check, a word at a time -----------------
//
// Under a fuzzer's coverage instrumentation every comparison of these loops would call back into
// the fuzzer (most of a fuzz run's time went there); their branches say nothing about the heap's
// state, so the scans are left uninstrumented. The attribute changes nothing in other builds.
#if defined(__clang__)
#define MEMMGR_DATA_SCAN [[clang::no_sanitize("coverage")]]
#else
#define MEMMGR_DATA_SCAN
#endif

namespace memmgr::detail {

namespace {

/// \returns the word at p with every byte that equals the pattern's cleared.
std::uint64_t byte_difference(const unsigned char* p, std::uint64_t pattern) noexcept {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);
    return word ^ pattern;
}

/// \returns the offset in memory of the first (or last) non-zero byte of d, which is not 0.
std::size_t first_set_byte(std::uint64_t d) noexcept {
    const int bits =
        std::endian::native == std::endian::little ? std::countr_zero(d) : std::countl_zero(d);
    return static_cast<std::size_t>(bits) / 8;
}
std::size_t last_set_byte(std::uint64_t d) noexcept {
    const int bits =
        std::endian::native == std::endian::little ? std::countl_zero(d) : std::countr_zero(d);
    return 7 - static_cast<std::size_t>(bits) / 8;
}

// The word loops: four words per comparison, then the word that differs, then its byte.
MEMMGR_DATA_SCAN std::size_t first_word_not(const unsigned char* p, std::size_t n,
                                            unsigned char v) noexcept {
    const std::uint64_t pattern = 0x0101010101010101u * v;
    std::size_t i = 0;
    for (; n - i >= 32; i += 32)
        if ((byte_difference(p + i, pattern) | byte_difference(p + i + 8, pattern) |
             byte_difference(p + i + 16, pattern) | byte_difference(p + i + 24, pattern)) != 0)
            break;
    for (; n - i >= 8; i += 8)
        if (const std::uint64_t d = byte_difference(p + i, pattern); d != 0)
            return i + first_set_byte(d);
    for (; i < n; ++i)
        if (p[i] != v)
            return i;
    return n;
}

MEMMGR_DATA_SCAN std::size_t last_word_not(const unsigned char* p, std::size_t n,
                                           unsigned char v) noexcept {
    const std::uint64_t pattern = 0x0101010101010101u * v;
    std::size_t end = n; // [0, end) is left to scan
    for (; end >= 32; end -= 32)
        if ((byte_difference(p + end - 32, pattern) | byte_difference(p + end - 24, pattern) |
             byte_difference(p + end - 16, pattern) | byte_difference(p + end - 8, pattern)) != 0)
            break;
    for (; end >= 8; end -= 8)
        if (const std::uint64_t d = byte_difference(p + end - 8, pattern); d != 0)
            return end - 8 + last_set_byte(d);
    while (end-- > 0)
        if (p[end] != v)
            return end;
    return n;
}

// Long runs, chunk by chunk: a run of bytes all equal to its first is one that equals itself moved
// by one byte, so once the first byte is known to be v, one memcmp settles a chunk. memcmp is the
// C library's vector loop, and under AddressSanitizer one range check instead of one per load (a
// fuzzer spent a tenth of its time in the word loops); the word loop then runs only over the chunk
// that differs, or the tail.
constexpr std::size_t scan_chunk = 4096;

} // namespace

MEMMGR_DATA_SCAN std::size_t first_byte_not(const unsigned char* p, std::size_t n,
                                            unsigned char v) noexcept {
    if (n == 0 || p[0] != v)
        return 0;
    std::size_t i = 0; // p[i] == v
    while (n - i > scan_chunk && std::memcmp(p + i, p + i + 1, scan_chunk) == 0)
        i += scan_chunk; // [i, i + scan_chunk] all equal p[i]
    return i + first_word_not(p + i, n - i, v);
}

MEMMGR_DATA_SCAN std::size_t last_byte_not(const unsigned char* p, std::size_t n,
                                           unsigned char v) noexcept {
    if (n == 0)
        return n;
    if (p[n - 1] != v)
        return n - 1;
    std::size_t end = n; // p[end - 1] == v; [0, end) is left to scan
    while (end > scan_chunk &&
           std::memcmp(p + end - scan_chunk - 1, p + end - scan_chunk, scan_chunk) == 0)
        end -= scan_chunk; // [end - scan_chunk - 1, end) all equal p[end - 1]
    const std::size_t at = last_word_not(p, end, v);
    return at == end ? n : at;
}

} // namespace memmgr::detail

namespace memmgr {

namespace {

std::string_view kind_text(debug_problem_kind k) noexcept {
    switch (k) {
    case debug_problem_kind::overrun_before:
        return "overrun before";
    case debug_problem_kind::overrun_after:
        return "overrun after";
    case debug_problem_kind::written_after_free:
        return "write after free in";
    case debug_problem_kind::double_free:
        return "double free of";
    case debug_problem_kind::foreign_block:
        return "free of a foreign pointer, not a";
    case debug_problem_kind::wrong_heap:
        return "free through the wrong heap of";
    case debug_problem_kind::base_heap_corrupt:
        return "corruption in the heap beneath, near";
    case debug_problem_kind::base_refused_free:
        return "the heap beneath refused to free";
    }
    return "problem with";
}

std::string_view type_text(block_type t) noexcept {
    switch (t) {
    case block_type::normal:
        return "normal";
    case block_type::client:
        return "client";
    case block_type::ignore:
        return "ignore";
    }
    return "unknown";
}

std::string location_text(const std::source_location& where) {
    if (where.file_name() == nullptr || *where.file_name() == '\0')
        return "an unknown place";
    return std::string(where.file_name()) + "(" + std::to_string(where.line()) + ") in " +
           where.function_name();
}

std::string pointer_text(const void* p) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%p", p);
    return buffer;
}

} // namespace

std::string describe(const debug_problem& p) {
    std::string text = "memmgr debug_heap: ";
    text.append(kind_text(p.kind)).append(" block");
    if (p.request != 0)
        text.append(" {").append(std::to_string(p.request)).append("}");
    text.append(" at ").append(pointer_text(p.address));
    if (p.request != 0) {
        text.append(", ").append(type_text(p.type)).append(", ").append(std::to_string(p.size));
        text.append(" bytes, allocated at ").append(location_text(p.where));
    }
    switch (p.kind) {
    case debug_problem_kind::overrun_before:
        text.append(": bad guard byte ")
            .append(std::to_string(p.offset))
            .append(" before the block");
        break;
    case debug_problem_kind::overrun_after:
        text.append(": bad guard byte ").append(std::to_string(p.offset)).append(" past the end");
        break;
    case debug_problem_kind::written_after_free:
        text.append(": byte ").append(std::to_string(p.offset)).append(" changed after free");
        break;
    default:
        break;
    }
    return text;
}

void abort_on_debug_problem(const debug_problem& p) {
    std::fprintf(stderr, "%s\n", describe(p).c_str());
    std::abort();
}

debug_difference difference(const debug_checkpoint& later,
                            const debug_checkpoint& earlier) noexcept {
    debug_difference d;
    for (std::size_t t = 0; t < block_type_count; ++t) {
        d.blocks[t] = static_cast<std::ptrdiff_t>(later.blocks[t]) -
                      static_cast<std::ptrdiff_t>(earlier.blocks[t]);
        d.bytes[t] = static_cast<std::ptrdiff_t>(later.bytes[t]) -
                     static_cast<std::ptrdiff_t>(earlier.bytes[t]);
    }
    d.peak_bytes = later.peak_bytes;
    d.allocations = later.next_request - earlier.next_request;
    return d;
}

std::string leak_report(const std::vector<debug_block>& blocks) {
    if (blocks.empty())
        return {};
    std::string text = "memmgr debug_heap: detected memory leaks!\nDumping objects ->\n";
    for (const debug_block& b : blocks) {
        text.append("{").append(std::to_string(b.request)).append("} ");
        text.append(type_text(b.type)).append(" block at ").append(pointer_text(b.address));
        text.append(", ").append(std::to_string(b.size)).append(" bytes long, allocated at ");
        text.append(location_text(b.where)).append("\n Data: <");
        const std::size_t shown = std::min(b.size, b.first_bytes.size());
        for (std::size_t i = 0; i < shown; ++i) {
            const unsigned char c = b.first_bytes[i];
            text.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : ' ');
        }
        text.append(">");
        for (std::size_t i = 0; i < shown; ++i) {
            char hex[4];
            std::snprintf(hex, sizeof hex, " %02X", b.first_bytes[i]);
            text.append(hex);
        }
        text.append("\n");
    }
    text.append("Object dump complete.\n");
    return text;
}

void write_leak_report(std::ostream& out, const std::vector<debug_block>& blocks) {
    out << leak_report(blocks);
}

} // namespace memmgr
