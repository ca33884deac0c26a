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

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "../../core/light_lock.hpp"
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
/// A serialized heap used by several threads serves its pages from this many fronts, each with its
/// own class queues (docs/private_heap.md, "Fronts"). A thread owns one of the first
/// front_count - 1 while it runs, if one is free and the system has asymmetric fences
/// (membarrier); the others share the last, under its lock.
inline constexpr std::size_t front_count = 8;
inline constexpr std::size_t shared_front = front_count - 1;
/// The state byte of a block freed by a thread of another front, on its page's remote list until
/// the owner adopts it. An in-use block's state is its slack + 1 <= 254 (resize keeps it so).
inline constexpr std::uint8_t pending_state = 255;
inline constexpr std::size_t max_slack = 253;

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

/// The last slot of a segment leaves this many bytes after its last block (layout.hpp, large_tail
/// and segment_tail, says why): an overflow past a block in use, or a write after free at offsets
/// 0 to 47 of a 16-byte block, stays in the page segment instead of reaching the next mapping.
inline constexpr std::size_t page_tail = 48;

/// \returns how many blocks of `block` bytes the page at `area` holds.
constexpr std::size_t page_capacity(std::size_t block, std::uintptr_t area) noexcept {
    const bool last = ((area + page_bytes) & (pseg_bytes - 1)) == 0;
    return (last ? page_bytes - page_tail : page_bytes) / block;
}

/// \returns how many state chunks a page of `capacity` blocks takes: 1, 2 or 4.
constexpr std::size_t chunks_for(std::size_t capacity) noexcept {
    return capacity <= state_chunk ? 1 : capacity <= 2 * state_chunk ? 2 : 4;
}

/// One per slot of a page segment, in its metadata. The shape (area, states, block, recip,
/// capacity, cls, owner) is sealed; the counts and the free list's head are bounds-checked where
/// used. Written by the owner front (under its lock) but for `remote`, which any thread pushes to.
/// A thread of another front reads the shape and the seal while the owner may be starting or
/// retiring the page (a stale pointer): those fields are stored and read atomically (relaxed,
/// impl::store_shape and impl::view_of), and the view trusted once it passes its seal.
struct alignas(64) page_desc {
    std::uintptr_t area;  // the slot's first byte: the page's first block
    std::uint8_t* states; // one byte per block: 0 free, else slack + 1; nullptr: a free slot
    page_desc* next;      // in its front's class queue or full list, or the free slots
    page_desc* prev;
    std::uint32_t block; // block size in bytes; 0: a free slot
    std::uint32_t recip; // ceil(2^32 / block): index = offset * recip >> 32, exactly
    // 32 bits each, so that no load of one waits on a narrower store to its neighbour.
    std::uint32_t bump;      // blocks [0, bump) were handed out at least once
    std::uint32_t used;      // blocks in use, the remote list's included
    std::uint32_t free_head; // index + 1 of the first free block below bump; 0: none
    // capacity, cls and owner make one 32-bit word, sealed as one (impl::desc_seal).
    std::uint16_t capacity; // blocks in the page (<= 4096; written when the page starts only)
    std::uint8_t cls;
    std::uint8_t owner; // the front whose lists hold the page
    // Atomic (std::atomic_ref): index + 1 of the last block another front's thread freed here, its
    // link (encoded, as the free list's) naming the one before; 0: none. Adopted by the owner.
    std::uint16_t remote;
    std::uint8_t queued; // 1: in its class's queue; 2: in the free slots' list; 3: in the full list
    std::uint8_t unused;
    std::uint32_t seal;
};
static_assert(offsetof(page_desc, cls) == offsetof(page_desc, capacity) + 2 &&
              offsetof(page_desc, owner) == offsetof(page_desc, capacity) + 3);
static_assert(sizeof(page_desc) == 64);
static_assert(descs_offset + pseg_slots * sizeof(page_desc) <= states_offset);
static_assert(states_offset + (pseg_slots - meta_slots) * page_max_blocks <=
              meta_slots * page_bytes);

struct page_segment {
    std::uintptr_t base; // aligned to pseg_bytes
    std::size_t length;  // pseg_bytes
};

/// A front (docs/private_heap.md, "Fronts"): a lock and the class queues of the pages it owns. A
/// serialized heap's thread keeps one front (private_heap::impl::front_index) while other threads
/// run; single-threaded, and in heaps that are not serialized, front 0 serves alone. A front is
/// aligned to a cache line, its lock and queues apart from the flags other fronts' threads set.
struct alignas(64) page_front {
    // Taken by the threads that share the front, and by lock_all. A thread that owns the front
    // (docs/private_heap.md, "Fronts") takes no lock: it sets `busy` for each operation, and
    // lock_all sets `stop`, fences every thread (membarrier) and waits for `busy` to clear; an
    // owner that finds `stop` set takes the lock instead.
    light_lock lock;
    std::atomic<std::uint32_t> busy;
    std::atomic<std::uint32_t> stop;
    // Changes to the statistics since they were last folded into the heap's (fold_fronts), made
    // while the heap runs on fronts: wrapping sums, as a front may free more than it allocated.
    std::size_t used_bytes;
    std::size_t used_blocks;
    std::size_t allocations;
    page_desc* queue[page_classes]; // pages with a free block
    page_desc* full[page_classes];  // pages without: only frees from other fronts reach them
    // Atomic (std::atomic_ref): 1 when a thread of another front freed a block of one of this
    // front's pages of the class, so that the full pages are looked at before a new page starts.
    alignas(64) std::uint8_t remote[page_classes];
};

/// The page directory: mapped at a growable heap's first small allocation. The fronts, the free
/// slots, the table of page segments and its hint. While a heap runs on fronts the directory is
/// never unmapped before destroy() (the fronts' locks are in it), the table of page segments
/// changes only under every lock, and the free slots and the segments' headers under the heap's.
struct page_directory {
    std::size_t mapped_bytes; // of this directory
    page_desc* free_slots;
    std::size_t free_slot_count;
    table<page_segment, dir_inline_segments> segs;
    std::uint16_t hint[pseg_hints]; // segment index + 1; 0: none (atomic_ref while on fronts)
    // Atomic (std::atomic_ref): 1 when a page segment emptied while the heap ran on fronts, which
    // cannot unmap it under one front's lock; the free that emptied it unmaps it under every lock.
    std::uint8_t sweep;
    // Atomic (std::atomic_ref): 1 when a block went onto a page's remote list since settle_fronts
    // last ran, so that the whole-heap operations skip the scan of every descriptor otherwise.
    std::uint8_t remote_since_settle;
    page_front fronts[front_count];
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
