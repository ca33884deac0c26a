// The private heap engine's layout: sizes and limits, the bins' size classes, the block header
// and its free-list links, segments, large blocks and their tables. Internal to the engine.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

// The whole-heap check's scans (a segment's headers, the bins and cache lists: comparisons per
// block) are kept out of the fuzzers' coverage instrumentation: their comparisons with the heap's
// secret seal and its neighbours' fields steer nothing, and each called back into libFuzzer, which
// made validate() four times as slow under the fuzzers. ASan still checks every read; the caller
// branches on the verdict. Out of line, so that they are not inlined into an instrumented caller.
#if defined(__clang__)
#define MEMMGR_ENGINE_SCAN [[gnu::noinline, clang::no_sanitize("coverage")]]
#else
#define MEMMGR_ENGINE_SCAN
#endif

namespace memmgr::detail::posix {

inline constexpr std::size_t kib = 1024;
inline constexpr std::size_t mib = 1024 * kib;

inline constexpr std::size_t unit = 16;        // block sizes and offsets are multiples of this
inline constexpr std::size_t header_size = 16; // one header before every payload
inline constexpr std::size_t min_block = 32;   // a header and the two free-list links
inline constexpr std::size_t exact_bins = 64;  // one bin per block size 32, 48, ..., 1040
inline constexpr std::size_t first_log_size = min_block + exact_bins * unit; // 1056
// A segment's blocks must be describable in 32-bit units; 16 GiB leaves ample room.
inline constexpr std::size_t max_segment = std::size_t{16} * 1024 * mib;
inline constexpr std::size_t large_threshold =
    512 * kib; // requests from here on get their own mapping
// What every mapping keeps after its last payload, so that the damage the engine is built to
// survive stays in the mapping of the block it starts from instead of reaching the next one (which
// may be the heap's own object, another segment's header, the page directory): an overflow of up
// to 16 bytes past a block in use, and a write after free of up to 8 bytes at offsets 0 to 47 of a
// freed block, whose payload may be only 16 bytes (so up to 40 bytes past its end).
// - A large block's mapping: at least 16 bytes after the payload (a freed one is unmapped).
inline constexpr std::size_t large_tail = 16;
// - A segment of the bins: 32 bytes after its 16-byte end marker (48 after the last payload).
inline constexpr std::size_t segment_tail = 32;
inline constexpr std::size_t default_initial = 64 * kib;
inline constexpr std::size_t growth_cap = 64 * mib; // segments double up to this
inline constexpr std::size_t inline_segments =
    16;                                         // also bounds how many segments create() may make
inline constexpr std::size_t inline_larges = 4; // more are rare; past them the table gets a page
inline constexpr std::size_t initial_limit = inline_segments * max_segment;
inline constexpr std::size_t max_request = static_cast<std::size_t>(PTRDIFF_MAX);
inline constexpr std::size_t hint_granule_shift = 16; // segment_of()'s table: 64 KiB granules,
inline constexpr std::size_t hint_slots = 128;        // direct-mapped
inline constexpr std::size_t fit_probe =
    8; // entries of a logarithmic bin examined before going higher

// The small-block front end: one LIFO cache per block size below first_log_size (payloads up to
// 1 KiB), the same 64 sizes as the exact bins. A freed block goes there whole, without coalescing,
// while its class is under its cap; past it, to the bins. The caps bound the front end to
// 32 x (32 + 48 + ... + 1040) bytes = 1072 KiB.
inline constexpr std::size_t cache_classes = exact_bins;
inline constexpr std::uint8_t cache_class_cap = 32; // blocks per class
inline constexpr std::size_t cache_max_request = first_log_size - unit - header_size; // 1024

inline constexpr std::uint8_t flag_in_use = 1;
inline constexpr std::uint8_t flag_large = 2;
inline constexpr std::uint8_t flag_cached = 4; // free, held by the front end: never merged

/// \returns the bin of a free block of bs bytes: exact bins below first_log_size, then four bins
/// per power of two. \requires min_block <= bs < max_segment.
inline constexpr std::size_t bin_index(std::size_t bs) noexcept {
    if (bs < first_log_size)
        return bs / unit - min_block / unit;
    const auto log = static_cast<std::size_t>(std::bit_width(bs)) - 1; // >= 10
    return exact_bins + (log - 10) * 4 + ((bs >> (log - 2)) & 3);
}
inline constexpr std::size_t num_bins = bin_index(max_segment - unit) + 1;
inline constexpr std::size_t bitmap_words = (num_bins + 63) / 64;
static_assert(bin_index(first_log_size - unit) == exact_bins - 1);
static_assert(bin_index(first_log_size) == exact_bins);

/// \returns the block size that holds n bytes. \requires n <= max_request.
inline constexpr std::size_t block_size_for(std::size_t n) noexcept {
    return n <= min_block - header_size ? min_block : ((n + unit - 1) & ~(unit - 1)) + header_size;
}

inline constexpr std::size_t round_up(std::size_t n, std::size_t to) noexcept {
    return (n + to - 1) & ~(to - 1);
}

inline std::uintptr_t address(const void* p) noexcept {
    return reinterpret_cast<std::uintptr_t>(p);
}

struct header {
    // The first eight bytes are sealed: a block's own description.
    std::uint32_t size_units; // size of this block, header included; 0: segment end or large block
    std::uint8_t flags;
    std::uint8_t slack;   // in use: payload capacity minus the size asked for (at most 32)
    std::uint16_t unused; // zero
    // Not sealed, so that resizing a neighbour costs one store: checked against the size in the
    // previous block's sealed header instead.
    std::uint32_t prev_units; // size of the block before, in units; 0: first block of a segment
    std::uint32_t seal;       // a checksum of the first word, the header's address and the cookie
};
static_assert(sizeof(header) == header_size);

/// Lives in the first 16 bytes of a free block's payload. Both words are stored encoded (see
/// impl::link_mask): a value written there by anyone but the heap decodes to a wild address, which
/// the checks before every use refuse.
struct free_links {
    std::uintptr_t next;
    std::uintptr_t prev;
};

inline header* header_at(std::uintptr_t a) noexcept {
    return reinterpret_cast<header*>(a);
}
inline header* advance(header* h, std::size_t n) noexcept {
    return header_at(address(h) + n);
}
inline std::size_t block_bytes(const header* h) noexcept {
    return std::size_t{h->size_units} * unit;
}
inline std::size_t capacity(const header* h) noexcept {
    return block_bytes(h) - header_size;
}
inline std::uint32_t units(std::size_t bytes) noexcept {
    return static_cast<std::uint32_t>(bytes / unit);
}
inline free_links& links(header* h) noexcept {
    return *reinterpret_cast<free_links*>(h + 1);
}
inline const free_links& links(const header* h) noexcept {
    return *reinterpret_cast<const free_links*>(h + 1);
}
inline bool in_use(const header* h) noexcept {
    return (h->flags & flag_in_use) != 0;
}
/// Free and in a bin: the only kind of block that merges with a neighbour.
inline bool in_bin(const header* h) noexcept {
    return h->flags == 0;
}
/// The flags a segment block may carry: free in a bin, in use, or cached.
inline bool segment_flags(std::uint8_t flags) noexcept {
    return flags == 0 || flags == flag_in_use || flags == flag_cached;
}
/// \returns the cache class of a block of bs bytes. \requires min_block <= bs < first_log_size.
inline constexpr std::size_t cache_class(std::size_t bs) noexcept {
    return bs / unit - min_block / unit;
}

/// A region of blocks: [first, end) followed by a 16-byte end marker (an in-use header of size 0).
struct segment {
    std::uintptr_t base; // what mmap returned
    std::size_t length;
    header* first;
    bool initial; // made by create(): kept by compact() and release_all()

    header* end() const noexcept { return header_at(base + length - header_size - segment_tail); }
};

struct large_block {
    std::uintptr_t base; // what mmap returned; the header sits here, the payload right after
    std::size_t length;
    std::size_t requested;
};

/// A sorted array of T, inline at first, moved to its own mapping when it outgrows that.
template <class T, std::size_t Inline>
struct table {
    T* data;
    std::size_t count;
    std::size_t capacity;
    std::size_t mapped_bytes; // 0 while data is the inline storage
    T storage[Inline];

    void reset_inline() noexcept {
        data = storage;
        capacity = Inline;
        mapped_bytes = 0;
    }
    /// \returns the number of entries whose base is <= a. Branch-free: the steps depend on count
    /// only, so random addresses (every free looks one up) cost no mispredictions.
    std::size_t upper(std::uintptr_t a) const noexcept {
        if (count == 0)
            return 0;
        const T* first = data;
        for (std::size_t n = count; n > 1;) {
            const std::size_t half = n / 2;
            first += half & (std::size_t{0} - std::size_t{first[half].base <= a}); // no branch
            n -= half;
        }
        return static_cast<std::size_t>(first - data) + (first->base <= a ? 1 : 0);
    }
    void insert(const T& entry) noexcept {
        const std::size_t at = upper(entry.base);
        std::memmove(data + at + 1, data + at, (count - at) * sizeof(T));
        data[at] = entry;
        ++count;
    }
    void erase(std::size_t at) noexcept {
        std::memmove(data + at, data + at + 1, (count - at - 1) * sizeof(T));
        --count;
    }
};

} // namespace memmgr::detail::posix
