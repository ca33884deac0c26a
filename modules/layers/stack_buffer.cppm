// memmgr:stack_buffer: _malloca/_freea done as RAII, and as a std::pmr::memory_resource.
module;
#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <type_traits>
#include <utility>

export module memmgr:stack_buffer;

import :errors;
import :concepts;
import :handlers;
import :over_aligned;
import :crt_heap;

export namespace memmgr {

/// N bytes inside the object (on the stack, when the object is a local), the heap H beyond (H may
/// be a reference to a heap that lives elsewhere): what
/// _malloca does for one buffer, for any number of allocations, as a std::pmr::memory_resource.
///
/// Allocations are carved from the inline bytes while they fit (aligned as asked, and to at least
/// inline_granule bytes); anything that does not fit goes to H (through the over-alignment logic
/// of the adapters, and the allocation failure handler), and is freed by deallocate or, at the
/// latest, when the buffer is destroyed. Inline bytes are reclaimed when the inline blocks after
/// the one deallocated are all gone (stack order); otherwise they stay used until the buffer goes,
/// as with a monotonic buffer.
///
/// Bad deallocations are reported, never acted on: each inline start address is handed out once in
/// the buffer's life (reclaimed bytes are reused from the next start not yet handed out), so a
/// stale or double deallocation of an inline block cannot be mistaken for the block now there. It
/// is reported to report_deallocation_error as errc::double_free, a pointer into the inline bytes
/// that is no block's start as errc::foreign_block, and nothing is released either way. The size
/// given back is not trusted: the bytes reclaimed never reach a live block.
///
/// Not thread-safe (a stack buffer belongs to one scope). is_equal only to itself.
/// \throws heap_error from allocate when H fails, or for a bad alignment or size.
///
/// Example usage:
/// \code
///   memmgr::stack_buffer<1024> scratch;                       // _malloca(…) and _freea in one
///   std::pmr::vector<int> small(&scratch);                    // stays on the stack while it fits
///   void* p = scratch.allocate(n);                            // n bytes, inline or on the heap
/// \endcode
template <std::size_t N, class H = crt_heap>
requires heap<std::remove_cvref_t<H>>
class stack_buffer final : public std::pmr::memory_resource {
    static_assert(N > 0, "a stack_buffer needs at least one inline byte.");
    using heap_type = std::remove_cvref_t<H>;

public:
    template <class... Args>
    requires std::is_constructible_v<H, Args&&...>
    explicit stack_buffer(Args&&... args) : heap_(std::forward<Args>(args)...) {}

    stack_buffer(const stack_buffer&) = delete;
    stack_buffer& operator=(const stack_buffer&) = delete;

    /// \effects frees whatever went to the heap and was not deallocated.
    ~stack_buffer() override {
        for (spilled* s = spilled_; s != nullptr;) {
            spilled* next = s->next;
            (void)detail::free_aligned_from(heap_, s->block, s->alignment);
            delete s;
            s = next;
        }
    }

    /// \returns whether p lies in the inline bytes.
    [[nodiscard]] bool on_stack(const void* p) const noexcept {
        const auto* b = static_cast<const std::byte*>(p);
        return b >= inline_ && b < inline_ + N;
    }
    /// \returns the inline bytes in use (including alignment padding).
    [[nodiscard]] std::size_t inline_used() const noexcept { return used_; }
    static constexpr std::size_t inline_capacity = N;
    /// Inline blocks start at multiples of this many bytes (from the buffer's start): the
    /// bookkeeping of inline blocks has one bit per granule.
    static constexpr std::size_t inline_granule = 8;
    /// \returns how many allocations went to the heap and are still held.
    [[nodiscard]] std::size_t spilled_blocks() const noexcept {
        std::size_t n = 0;
        for (const spilled* s = spilled_; s != nullptr; s = s->next)
            ++n;
        return n;
    }
    [[nodiscard]] heap_type& heap() noexcept { return heap_; }

private:
    struct spilled {
        void* block;
        std::size_t alignment;
        spilled* next;
    };

    void* do_allocate(std::size_t bytes, std::size_t alignment) override {
        if (!valid_alignment(alignment))
            throw heap_error(heap_type::name, bytes, errc::bad_alignment);
        if (const std::size_t offset = inline_start(alignment);
            offset < N && inline_size(bytes) <= N - offset) {
            used_ = offset + inline_size(bytes);
            mark(handed_out_, offset / inline_granule);
            mark(live_, offset / inline_granule);
            return inline_ + offset;
        }
        auto block = allocate_with_retry(heap_type::name, bytes, [&] {
            return detail::allocate_aligned_from(heap_, bytes, alignment);
        });
        if (!block)
            throw heap_error(heap_type::name, bytes, block.error());
        try { // the record after the block: a handler that throws leaves nothing behind
            spilled_ = new spilled{*block, alignment, spilled_};
        } catch (...) {
            (void)detail::free_aligned_from(heap_, *block, alignment);
            throw;
        }
        return *block;
    }

    // Inline, a zero-byte allocation takes one byte: every block has an address of its own, inside
    // the buffer (so that it is given back there, not searched for among the heap's blocks).
    static constexpr std::size_t inline_size(std::size_t bytes) noexcept {
        return bytes == 0 ? 1 : bytes;
    }

    // \returns the offset where an inline block aligned to `alignment` would start: past the bytes
    // in use, at a start never handed out before (N or more when none is left).
    std::size_t inline_start(std::size_t alignment) const noexcept {
        const std::size_t step = alignment < inline_granule ? inline_granule : alignment;
        const auto base = reinterpret_cast<std::uintptr_t>(inline_);
        const std::uintptr_t first = (base + used_ + step - 1) & ~(std::uintptr_t{step} - 1);
        std::size_t offset = static_cast<std::size_t>(first - base);
        while (offset < N && marked(handed_out_, offset / inline_granule))
            offset += step;
        return offset;
    }

    // The size and the alignment given back are not trusted: an inline block's extent comes from
    // the bookkeeping, a spilled block is freed with the alignment it was allocated with.
    void do_deallocate(void* p, std::size_t /*bytes*/, std::size_t /*alignment*/) override {
        if (on_stack(p)) {
            const auto offset = static_cast<std::size_t>(static_cast<std::byte*>(p) - inline_);
            const std::size_t granule = offset / inline_granule;
            if (offset % inline_granule != 0 || !marked(handed_out_, granule))
                return report_deallocation_error(heap_type::name, p, errc::foreign_block);
            if (!marked(live_, granule)) // its start is never handed out again: a stale pointer
                return report_deallocation_error(heap_type::name, p, errc::double_free);
            unmark(live_, granule);
            // Stack order: with no live block after it, everything from p on is free again (the
            // size given is not needed, so a wrong one cannot release a live block's bytes).
            if (!live_after(granule))
                used_ = offset;
            return;
        }
        for (spilled** link = &spilled_; *link != nullptr; link = &(*link)->next) {
            if ((*link)->block == p) {
                spilled* gone = *link;
                // Refused by the heap beneath (damage there): the record stays, so that nothing
                // is lost and the destructor tries again.
                if (auto freed = detail::free_aligned_from(heap_, p, gone->alignment); !freed)
                    return report_deallocation_error(heap_type::name, p, freed.error());
                *link = gone->next;
                delete gone;
                return;
            }
        }
        report_deallocation_error(heap_type::name, p, errc::foreign_block);
    }

    bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
        return this == &other;
    }

    // One bit per inline granule: where a block started at some time (handed_out_), where a live
    // block starts (live_).
    static constexpr std::size_t granules = (N + inline_granule - 1) / inline_granule;
    static constexpr std::size_t bitmap_words = (granules + 63) / 64;
    using bitmap = std::uint64_t[bitmap_words];
    static bool marked(const bitmap& b, std::size_t i) noexcept {
        return (b[i / 64] >> (i % 64)) & 1u;
    }
    static void mark(bitmap& b, std::size_t i) noexcept {
        b[i / 64] |= std::uint64_t{1} << (i % 64);
    }
    static void unmark(bitmap& b, std::size_t i) noexcept {
        b[i / 64] &= ~(std::uint64_t{1} << (i % 64));
    }
    // \returns whether a live block starts past granule i.
    bool live_after(std::size_t i) const noexcept {
        std::size_t word = i / 64;
        std::uint64_t bits = (i % 64 == 63) ? 0 : live_[word] & (~std::uint64_t{0} << (i % 64 + 1));
        while (bits == 0) {
            if (++word == bitmap_words)
                return false;
            bits = live_[word];
        }
        return true;
    }

    alignas(std::max_align_t) std::byte inline_[N];
    std::size_t used_ = 0;
    bitmap handed_out_{};
    bitmap live_{};
    spilled* spilled_ = nullptr;
    H heap_;
};

} // namespace memmgr
