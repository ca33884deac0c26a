// The private heap engine's small-block pages: the layout (docs/private_heap.md, "Small blocks in
// pages"). Internal to the engine.
//
// A growable heap serves requests of up to 1 KiB from pages of one size class each, with no header
// per block. Pages are the 64 KiB slots of page segments: 4 MiB mappings aligned to 4 MiB, found
// from a block's address through the heap's page directory (a table of the segments, and a hint
// per 4 MiB of address space). A segment's first 256 KiB hold its metadata, out of band: a sealed
// segment header, one sealed descriptor per slot, and per page one state byte per block (0: free;
// otherwise the block is in use and the byte is its slack + 1, so that size() is exact), packed in
// 1 KiB chunks so that pages of 64 or more blocks share the memory's pages. A free
// block holds, in its first 8 bytes, the index + 1 of the next free block of its page, encoded
// (impl::link_mask): a link written by anyone but the heap decodes to an index the checks refuse.
#pragma once

#include <cstddef>
#include <cstdint>

#include "layout.hpp"

namespace memmgr::detail::posix {

inline constexpr std::size_t page_shift = 16; // 64 KiB pages
inline constexpr std::size_t page_bytes = std::size_t{1} << page_shift;
inline constexpr std::size_t pseg_shift = 22; // 4 MiB page segments, aligned to their size
inline constexpr std::size_t pseg_bytes = std::size_t{1} << pseg_shift;
inline constexpr std::size_t pseg_slots = pseg_bytes / page_bytes; // 64
inline constexpr std::size_t meta_slots = 4;                       // the metadata's 256 KiB
inline constexpr std::size_t page_unit = 16;                       // class spacing = alignment
inline constexpr std::size_t page_classes = 64;                    // 16, 32, ..., 1024 bytes
inline constexpr std::size_t page_max_request = page_classes * page_unit;
inline constexpr std::size_t page_max_blocks = page_bytes / page_unit; // 4096
inline constexpr std::size_t descs_offset = 64;                        // after the segment header
inline constexpr std::size_t states_offset = 8192;                     // the state chunks
inline constexpr std::size_t state_chunk = 1024; // a page takes 1, 2 or 4, aligned to as many
inline constexpr std::size_t state_chunks =
    (pseg_slots - meta_slots) * page_max_blocks / state_chunk;
inline constexpr std::size_t pseg_hints = 256; // direct-mapped, per 4 MiB of address space
inline constexpr std::size_t dir_inline_segments = 16;

/// \returns the class of a request of n bytes, n <= page_max_request (0 for n = 0).
constexpr std::size_t page_class(std::size_t n) noexcept {
    return n <= page_unit ? 0 : (n + page_unit - 1) / page_unit - 1;
}

/// What a page segment starts with.
struct pseg_header {
    std::uint64_t seal;  // of the segment's address and the cookie
    std::uint32_t pages; // slots holding a page now (the others are free)
    std::uint32_t unused;
    std::uint64_t chunks[(state_chunks + 63) / 64]; // the state chunks in use
    // Bit s: slot s may hold resident memory (it held a page since the segment was mapped or
    // compact last gave the slot back), so that compact gives back only what it must. Advice
    // only: compact checks each slot's sealed descriptor before it touches the slot.
    std::uint64_t dirty;
};
static_assert(sizeof(pseg_header) <= descs_offset);

/// \returns how many state chunks a page of `capacity` blocks takes: 1, 2 or 4.
constexpr std::size_t chunks_for(std::size_t capacity) noexcept {
    return capacity <= state_chunk ? 1 : capacity <= 2 * state_chunk ? 2 : 4;
}

/// One per slot of a page segment, in its metadata. The shape (area, states, block, recip,
/// capacity, cls) is sealed; the counts and the free list's head are bounds-checked where used.
struct alignas(64) page_desc {
    std::uintptr_t area;  // the slot's first byte: the page's first block
    std::uint8_t* states; // one byte per block: 0 free, else slack + 1; nullptr: a free slot
    page_desc* next;      // in its class's queue (pages with a free block), or the free slots
    page_desc* prev;
    std::uint32_t block; // block size in bytes; 0: a free slot
    std::uint32_t recip; // ceil(2^32 / block): index = offset * recip >> 32, exactly
    // 32 bits each, so that no load of one waits on a narrower store to its neighbour.
    std::uint32_t capacity;  // blocks in the page
    std::uint32_t bump;      // blocks [0, bump) were handed out at least once
    std::uint32_t used;      // blocks in use
    std::uint32_t free_head; // index + 1 of the first free block below bump; 0: none
    std::uint8_t cls;
    std::uint8_t queued; // 1: in its class's queue; 2: in the free slots' list
    std::uint16_t unused;
    std::uint32_t seal;
};
static_assert(sizeof(page_desc) == 64);
static_assert(descs_offset + pseg_slots * sizeof(page_desc) <= states_offset);
static_assert(states_offset + (pseg_slots - meta_slots) * page_max_blocks <=
              meta_slots * page_bytes);

struct page_segment {
    std::uintptr_t base; // aligned to pseg_bytes
    std::size_t length;  // pseg_bytes
};

/// The page directory: mapped at a growable heap's first small allocation. Class queues, the free
/// slots, the table of page segments and its hint.
struct page_directory {
    std::size_t mapped_bytes; // of this directory
    page_desc* queue[page_classes];
    page_desc* free_slots;
    std::size_t free_slot_count;
    table<page_segment, dir_inline_segments> segs;
    std::uint16_t hint[pseg_hints]; // segment index + 1; 0: none
};

inline page_desc* descs_of(std::uintptr_t base) noexcept {
    return reinterpret_cast<page_desc*>(base + descs_offset);
}
inline pseg_header* pseg_of(std::uintptr_t base) noexcept {
    return reinterpret_cast<pseg_header*>(base);
}
inline std::size_t slot_of(const page_desc* d, std::uintptr_t base) noexcept {
    return static_cast<std::size_t>(d - descs_of(base));
}

} // namespace memmgr::detail::posix
