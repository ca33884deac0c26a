// The POSIX platform layer: portable backends that keep the Windows semantics documented on each
// heap. Only this file names POSIX or glibc APIs (the private heap engine it forwards to lives in
// private_heap.hpp and private_heap/, plain C++ over mmap).
module;
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <malloc.h>
#include <mutex>
#include <pthread.h>

#include "private_heap.hpp"

module memmgr;

import :block_registry;
import :check_word;

namespace memmgr::detail::os {

namespace {

// --- the process heap of com, local and global blocks
// ---------------------------------------------- Windows keeps CoTaskMem, Local and Global blocks
// on one process heap that knows each block's size exactly and can tell its blocks from foreign
// pointers. Here: glibc's malloc plus a 16-byte header (which keeps the payload 16-aligned) holding
// the size asked for, and a registry of live blocks (block_registry.cppm) that screens every
// pointer before it is used.
//
// The header sits where an underrun of the block before lands, so it carries a check word over the
// size and the block's address: a damaged header is reported (heap_corrupt) instead of being
// followed (a damaged size once made reallocate copy past the block).
struct block_header {
    std::size_t size;
    std::uint64_t check; // also keeps the payload 16-aligned
};
static_assert(sizeof(block_header) == system_alignment);

std::uint64_t check_of(const block_header* h) noexcept {
    return check_word(h, h->size);
}

struct process_heap_blocks {};
block_registry& live_blocks() noexcept {
    static block_registry& r = []() -> block_registry& {
        block_registry& made = block_registry::instance<process_heap_blocks>();
        hold_across_fork(made);
        return made;
    }();
    return r;
}

// The registries fork() holds (hold_across_fork), under a lock of their own; constant-initialised,
// so that the handlers may run whenever a thread forks.
struct fork_held_registries {
    std::mutex lock;
    block_registry* held[8]{};
    std::size_t count = 0;
};
constinit fork_held_registries fork_registries;

void registries_prepare() noexcept {
    fork_registries.lock.lock();
    for (std::size_t i = 0; i < fork_registries.count; ++i)
        fork_registries.held[i]->lock();
}

// In the parent and in the child: the thread that forked holds every lock, in both processes.
void registries_release() noexcept {
    for (std::size_t i = fork_registries.count; i-- > 0;)
        fork_registries.held[i]->unlock();
    fork_registries.lock.unlock();
}

block_header* header_of(const void* p) noexcept {
    return reinterpret_cast<block_header*>(const_cast<char*>(static_cast<const char*>(p)) -
                                           sizeof(block_header));
}

void* payload_of(block_header* h) noexcept {
    return h + 1;
}

// \returns whether the header of p, a live block, is intact.
bool header_sound(const void* p) noexcept {
    const block_header* h = header_of(p);
    return h->check == check_of(h);
}

// \returns success when p is a live block whose header is sound. \errors foreign_block,
// heap_corrupt.
result<void> check_live(const void* p) noexcept {
    return live_blocks().read_live(p, &header_sound, [] {});
}

// The end of a move from the live block p into the new block q, both of family f (one of the
// process heap's registered families): in one hold of the registry's lock, p is checked (live, and
// sound(p)), copy(p's size) fills q, and p is forgotten; then p's memory goes. A free of p on
// another thread (the caller's double free) comes wholly before (the move is refused, q given back)
// or after (refused): the copy never reads a block a racing free gave back, and p is never released
// twice. q at p's address means p was freed meanwhile and its memory is q's.
// \returns q, or foreign_block or heap_corrupt (q given back).
template <class Copy>
result<void*> moved_into(block_family f, void* p, void* q, bool (*sound)(const void*) noexcept,
                         Copy copy) noexcept {
    result<void*> r = fail(errc::foreign_block);
    if (q != p)
        live_blocks().with_live(p, [&]() noexcept {
            if (!sound(p)) {
                r = fail(errc::heap_corrupt);
                return false;
            }
            copy(header_of(p)->size);
            r = q;
            return true; // forgotten: no other thread can free it from here on
        });
    if (!r) {
        (void)block_free(f, q);
        return r;
    }
    std::free(header_of(p));
    return r;
}

// Failure injection for tests, what an IMallocSpy whose PreAlloc returns 0 does on Windows: how
// many more process-heap allocations may succeed (never_fails: all of them).
constexpr std::size_t never_fails = SIZE_MAX;
std::atomic<std::size_t> allocations_allowed{never_fails};

// \returns false when the allocation must fail; otherwise uses one up.
bool allocation_allowed() noexcept {
    std::size_t n = allocations_allowed.load(std::memory_order_relaxed);
    while (n != never_fails) {
        if (n == 0)
            return false;
        if (allocations_allowed.compare_exchange_weak(n, n - 1, std::memory_order_relaxed))
            return true;
    }
    return true;
}

} // namespace

void hold_across_fork(block_registry& r) noexcept {
    // Registered once, with the first registry; if that fails, the registries work as before,
    // without fork safety. Their rank puts them after the debug heaps' books and before the private
    // heaps (a thread that holds a registry's lock may grow its table through operator new, which
    // a preloaded malloc may serve from a heap).
    [[maybe_unused]] static const bool hooked =
        posix::at_fork(posix::fork_rank::registries,
                       {&registries_prepare, &registries_release, &registries_release});
    const std::lock_guard held(fork_registries.lock);
    if (fork_registries.count < std::size(fork_registries.held))
        fork_registries.held[fork_registries.count++] = &r;
}

void hold_debug_heaps_across_fork(void (*prepare)() noexcept, void (*parent)() noexcept,
                                  void (*child)() noexcept) noexcept {
    (void)posix::at_fork(posix::fork_rank::debug_heaps, {prepare, parent, child});
}

void process_heap_fail_after(std::size_t successes) noexcept {
    allocations_allowed.store(successes, std::memory_order_relaxed);
}

result<void*> block_allocate(block_family f, std::size_t n, bool zero) noexcept {
    if (f == block_family::crt) {
        if (void* p = zero ? std::calloc(1, n) : std::malloc(n))
            return p;
        return fail(errc::out_of_memory);
    }
    // As on Windows, GlobalAlloc never makes an empty fixed block: a zero-byte request gets one
    // byte (LocalAlloc and CoTaskMemAlloc do make empty blocks).
    if (f == block_family::global && n == 0)
        n = 1;
    if (!allocation_allowed())
        return fail(errc::out_of_memory);
    // n <= max_request_size, so the header cannot make the sum wrap.
    const std::size_t total = sizeof(block_header) + n;
    void* raw = zero ? std::calloc(1, total) : std::malloc(total);
    if (raw == nullptr)
        return fail(errc::out_of_memory);
    auto* h = static_cast<block_header*>(raw);
    h->size = n;
    h->check = check_of(h);
    void* p = payload_of(h);
    if (!live_blocks().add(p)) {
        std::free(raw);
        return fail(errc::out_of_memory);
    }
    return p;
}

result<void> block_free(block_family f, void* p) noexcept {
    if (f == block_family::crt) {
        std::free(p);
        return {};
    }
    // The header is looked at only once p is known to be a block (p may be any value), and under
    // the registry's lock: of two threads freeing p at once, the second finds p gone and reads
    // nothing at it (before, it could read the header of a block the first had freed). A damaged
    // header: the block stays (registered), as damaged blocks do on every memmgr heap.
    switch (live_blocks().remove_checked(p, &header_sound)) {
    case block_registry::removal::not_live:
        return fail(errc::foreign_block);
    case block_registry::removal::refused:
        return fail(errc::heap_corrupt);
    case block_registry::removal::removed:
        break;
    }
    std::free(header_of(p));
    return {};
}

result<std::size_t> block_size(block_family f, const void* p) noexcept {
    if (f == block_family::crt)
        return ::malloc_usable_size(const_cast<void*>(p)); // only reads the chunk header
    // Checked and read in one hold of the registry's lock: a free of p on another thread
    // meanwhile (the caller's race) comes wholly before or after, never between.
    return live_blocks().read_live(p, &header_sound, [p] { return header_of(p)->size; });
}

result<void> block_resize_in_place(block_family f, void* p, std::size_t n) noexcept {
    if (f == block_family::crt) {
        // glibc has no _expand; a block can take any size up to what its chunk holds.
        if (n > ::malloc_usable_size(p))
            return fail(errc::cannot_resize_in_place);
        return {};
    }
    if (f == block_family::com)
        return fail(errc::not_supported);
    result<void> r = fail(errc::foreign_block);
    live_blocks().with_live(p, [&]() noexcept {
        // glibc's chunk may hold more than was asked for; within it the block can grow in place.
        block_header* h = header_of(p);
        if (!header_sound(p))
            r = fail(errc::heap_corrupt);
        else if (sizeof(block_header) + n > ::malloc_usable_size(h))
            r = fail(errc::cannot_resize_in_place);
        else {
            h->size = n;
            h->check = check_of(h);
            r = {};
        }
        return false;
    });
    return r;
}

result<void*> block_reallocate(block_family f, void* p, std::size_t n) noexcept {
    if (f == block_family::crt) {
        if (void* q = std::realloc(p, n))
            return q;
        return fail(errc::out_of_memory);
    }
    if (f != block_family::com && block_resize_in_place(f, p, n))
        return p;
    // Not realloc: the new block must be registered before the old one goes, so that a failure at
    // any step leaves p live and untouched.
    if (auto live = check_live(p); !live)
        return fail(live.error());
    auto q = block_allocate(f, n, false);
    if (!q)
        return q;
    return moved_into(f, p, *q, &header_sound,
                      [&](std::size_t old) { std::memcpy(*q, p, old < n ? old : n); });
}

// --- the CRT's heap: glibc's malloc
// ---------------------------------------------------------------

void* crt_heap_handle() noexcept {
    return nullptr;
}

result<void> crt_heap_trim() noexcept {
    (void)::malloc_trim(0); // 1 if memory went back, 0 if there was none to give: both success
    return {};
}

// --- BSTRs on the process heap ------------------------------------------------------------------
// Windows' x64 layout, which oleaut32 builds on a task-allocator block: 4 unused bytes, the 4-byte
// length in bytes, the data, then zero bytes from the end of the data through the wide NUL that
// follows the last (possibly half-filled) code unit:
//
//   block (16-aligned)   +4             +8 = the BSTR (8-aligned)        +8+L  +8+2*ceil(L/2)
//   | unused (zero)     | byte length L | data: L bytes                 | 0.. | 0 0 |
//
// The block is an ordinary com-family block (so com_heap, and the registry that screens it, see
// BSTRs as Windows' task allocator does), and the data sits 8 bytes in: 8-aligned, as on Windows.

namespace {

constexpr std::size_t bstr_header = 8;
constexpr std::size_t bstr_prefix = sizeof(std::uint32_t);

// Everything after the header: the data, rounded up to whole code units, and the wide NUL.
std::size_t bstr_tail(std::uint32_t byte_length) noexcept {
    return (std::size_t{byte_length} + 1) / 2 * 2 + sizeof(char16_t);
}

char* bstr_block(const void* s) noexcept {
    return const_cast<char*>(static_cast<const char*>(s)) - bstr_header;
}

} // namespace

result<void*> bstr_allocate_bytes(const void* bytes, std::uint32_t byte_length) noexcept {
    return block_allocate(block_family::com, bstr_header + bstr_tail(byte_length), false)
        .map([&](void* block) -> void* {
            char* s = static_cast<char*>(block) + bstr_header;
            std::memset(block, 0, bstr_header - bstr_prefix);
            std::memcpy(s - bstr_prefix, &byte_length, bstr_prefix);
            if (bytes != nullptr)
                std::memcpy(s, bytes, byte_length);
            std::memset(s + byte_length, 0, bstr_tail(byte_length) - byte_length);
            return s;
        });
}

result<void*> bstr_allocate(const void* units, std::uint32_t length) noexcept {
    // length <= max_bstr_length, so the byte length fits 32 bits.
    return bstr_allocate_bytes(units, length * std::uint32_t{sizeof(char16_t)});
}

// \returns whether the BSTR whose block is `block`, live (the registry's lock held), is sound: the
// block's header, and a length prefix that fits the block.
bool bstr_block_sound(const void* block) noexcept {
    // The prefix is read only once the block is known to hold it (a com block of under 8 bytes
    // passed as a BSTR does not).
    const char* s = static_cast<const char*>(block) + bstr_header;
    return header_sound(block) && header_of(block)->size >= bstr_header &&
           bstr_header + bstr_tail(bstr_byte_length(s)) <= header_of(block)->size;
}

result<std::uint32_t> bstr_check(const void* s) noexcept {
    // The prefix is read only once the block is known to be live, in the same hold of the lock.
    return live_blocks().read_live(bstr_block(s), &bstr_block_sound,
                                   [s]() noexcept { return bstr_byte_length(s); });
}

result<void*> bstr_reallocate(void* s, const void* units, std::uint32_t length) noexcept {
    // s passed bstr_check (every caller asks it first, and takes the length from it).
    // A new block first: a failure leaves s as it was, and units may point into s while it lives.
    const std::uint32_t new_bytes = length * std::uint32_t{sizeof(char16_t)};
    auto fresh = bstr_allocate_bytes(nullptr, new_bytes);
    if (!fresh)
        return fresh;
    const auto copy = [&](std::size_t) {
        if (units == nullptr || units == s) {
            // Whole code units are kept, as oleaut32 keeps them: an odd byte length's half-filled
            // last unit goes with its zero high byte, which would otherwise stay uninitialised.
            const std::uint32_t old_bytes = bstr_byte_length(s);
            const std::size_t kept = (std::size_t{old_bytes} + 1) / 2 * 2;
            std::memcpy(*fresh, s, kept < new_bytes ? kept : new_bytes);
        } else {
            std::memcpy(*fresh, units, new_bytes);
        }
    };
    auto moved =
        moved_into(block_family::com, bstr_block(s), bstr_block(*fresh), &bstr_block_sound, copy);
    if (!moved)
        return fail(moved.error());
    return fresh;
}

result<void> bstr_free(void* s) noexcept {
    return block_free(block_family::com, bstr_block(s));
}

std::uint32_t bstr_byte_length(const void* s) noexcept {
    std::uint32_t n = 0;
    std::memcpy(&n, static_cast<const char*>(s) - bstr_prefix, bstr_prefix);
    return n;
}

std::uint32_t bstr_length(const void* s) noexcept {
    return bstr_byte_length(s) / std::uint32_t{sizeof(char16_t)};
}

std::size_t process_heap_blocks_in_use() noexcept {
    return live_blocks().size();
}

// --- private heaps: forwarded to the engine
// ----------------------------------------------------------

namespace {

using posix::private_heap;
using posix::status;

private_heap* engine(void* heap) noexcept {
    return static_cast<private_heap*>(heap);
}

errc to_errc(status s) noexcept {
    switch (s) {
    case status::ok:
        break;
    case status::out_of_memory:
        return errc::out_of_memory;
    case status::heap_full:
        return errc::heap_full;
    case status::size_overflow:
        return errc::size_overflow;
    case status::foreign_block:
        return errc::foreign_block;
    case status::double_free:
        return errc::double_free;
    case status::heap_corrupt:
        return errc::heap_corrupt;
    case status::cannot_resize_in_place:
        return errc::cannot_resize_in_place;
    }
    return errc::heap_corrupt; // an ok status is never converted
}

result<void> to_result(status s) noexcept {
    if (s == status::ok)
        return {};
    return fail(to_errc(s));
}

} // namespace

result<void*> heap_create(const heap_options& options) noexcept {
    const posix::heap_config config{options.initial_size,       options.maximum_size,
                                    options.serialize,          options.terminate_on_corruption,
                                    options.decommit_threshold, options.decommit_total_threshold};
    if (private_heap* h = private_heap::create(config))
        return static_cast<void*>(h);
    return fail(errc::out_of_memory);
}

void heap_destroy(void* heap) noexcept {
    private_heap::destroy(engine(heap));
}

void* heap_process() noexcept {
    return private_heap::process();
}

result<void> heap_release_all(void* heap, bool) noexcept {
    // Under the engine's lock when serialized; the handle stays.
    return to_result(engine(heap)->release_all());
}

result<void*> heap_allocate(void* heap, std::size_t n, bool zero) noexcept {
    status s = status::ok;
    if (void* p = engine(heap)->allocate(n, zero, s))
        return p;
    return fail(to_errc(s));
}

// The engine checks and acts under one acquisition of its lock: `serialized` is its business.
result<void> heap_free(void* heap, void* p, bool) noexcept {
    return to_result(engine(heap)->free(p));
}

result<std::size_t> heap_size(void* heap, const void* p, bool) noexcept {
    std::size_t n = 0;
    return to_result(engine(heap)->size(p, n)).map([&n] { return n; });
}

result<void*> heap_reallocate(void* heap, void* p, std::size_t n, bool in_place_only,
                              bool) noexcept {
    status s = status::ok;
    if (void* q = engine(heap)->reallocate(p, n, in_place_only, s))
        return q;
    return fail(to_errc(s));
}

bool heap_owns(void* heap, const void* p) noexcept {
    return engine(heap)->owns(p);
}

result<void> heap_validate(void* heap, const void* p) noexcept {
    return to_result(engine(heap)->validate(p));
}

result<std::size_t> heap_compact(void* heap) noexcept {
    status s = status::ok;
    const std::size_t largest = engine(heap)->compact(s);
    if (s != status::ok)
        return fail(to_errc(s));
    return largest;
}

result<void> heap_enable_low_fragmentation(void*) noexcept {
    // The engine's small-block front end (per-size caches before the coalescing bins, see
    // docs/private_heap.md) is always on, for every heap: there is nothing left to switch on.
    return {};
}

result<void> heap_walk(void* heap, bool, void (*visit)(void*, const heap_entry&),
                       void* context) noexcept {
    struct forward {
        void (*visit)(void*, const heap_entry&);
        void* context;
    } f{visit, context};
    // A damaged heap says heap_corrupt (the entries visited before the damage are the caller's
    // to discard), never a truncated list that looks complete.
    return to_result(engine(heap)->walk(
        [](void* c, const posix::block_info& b) {
            const auto* fw = static_cast<const forward*>(c);
            fw->visit(fw->context, heap_entry{b.address, b.size, b.overhead, b.in_use});
        },
        &f));
}

} // namespace memmgr::detail::os
