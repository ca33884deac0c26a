// Fuzz harness: operation sequences on every Linux heap and on debug_heap, checked against a
// reference model (fuzz/support/model.hpp: every live block's size and contents, no overlaps).
//
// The first input byte picks the heap: crt_heap, com_heap, local_heap, global_heap, win32_heap
// (growable, fixed-size, no-serialize), debug_heap<win32_heap> or debug_heap<com_heap> (with a
// recording problem handler). The rest is a sequence of operations: allocate (sizes from 0 to
// 2 MiB, and sizes above max_request_size), allocate_zeroed (with overflowing counts), reallocate,
// resize_in_place, free, size, walk, validate, compact, release_all / destroy, the crt aligned
// family and heap_resource with good and bad alignments, and deliberate misuse: double frees,
// stale pointers, foreign pointers and pointers into blocks, on the heaps that document detecting
// them (docs/heaps.md), each with the documented errc. crt_heap gets no misuse: freeing a foreign
// pointer is undefined there, as with free().
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "support/model.hpp"

import memmgr;

namespace {

using memmgr::errc;
using memmgr_fuzz::address;
using memmgr_fuzz::model;
using memmgr_fuzz::require;

/// \returns the error of r, which must be a refusal (`what` says what must be refused): error()
/// of a result that succeeded reads whatever its storage holds, which could match by chance.
template <class R>
errc refusal_of(const R& r, const char* what) {
    require(!r, what);
    return r.error();
}

template <class H>
inline constexpr bool is_debug_heap = false;
template <class B>
inline constexpr bool is_debug_heap<memmgr::debug_heap<B>> = true;

// Heaps that report a pointer that is not a live block instead of acting on it (docs/heaps.md).
template <class H>
inline constexpr bool detects_misuse = !std::is_same_v<H, memmgr::crt_heap>;

// glibc's malloc_usable_size may report more than was asked for; every other heap is exact, and
// global_heap never makes an empty block (as GlobalAlloc), though resizing one in place to 0 bytes
// leaves 0 (as GlobalReAlloc does; docs/reliability.md).
template <class H>
bool size_agrees(std::size_t reported, std::size_t asked, bool in_place = false) {
    if constexpr (std::is_same_v<H, memmgr::crt_heap>)
        return reported >= asked;
    else if constexpr (std::is_same_v<H, memmgr::global_heap>)
        return reported == (asked == 0 && !in_place ? 1 : asked);
    else
        return reported == asked;
}

// Blocks of other heaps, made once for the whole run (not per input: making heaps is slow), for
// the foreign-pointer operations.
struct outsiders {
    memmgr::crt_heap crt;
    memmgr::win32_heap other_private;
    memmgr::debug_heap<memmgr::crt_heap> other_debug;
    void* crt_block = crt.allocate(48).value();
    void* private_block = other_private.allocate(48).value();
    void* debug_block = other_debug.allocate(48).value();

    outsiders() = default;
    outsiders(const outsiders&) = delete;
    outsiders& operator=(const outsiders&) = delete;
    ~outsiders() {
        (void)crt.free(crt_block);
        (void)other_private.free(private_block);
        (void)other_debug.free(debug_block);
    }

    static outsiders& instance() {
        static outsiders the_outsiders;
        return the_outsiders;
    }
};

enum class verb { free, size, reallocate };

const char* verb_name(verb v) {
    return v == verb::free ? "free" : v == verb::size ? "size" : "reallocate";
}

// Runs one input's operations on a heap of type H, made (and remade after `destroy`) by make.
template <class H, class Make>
class runner {
    // A size for an allocation (memmgr_fuzz::size_from). A debug heap fills every byte of a block
    // when it hands it out and again when it takes it back, as the CRT's does, so each page of a
    // big block is faulted in and written twice whatever the model samples: over a debug heap,
    // seven in eight of the big sizes (above 64 KiB) are folded below 64 KiB. The eighth keeps
    // the debug heap over the base heap's large blocks; the plain heaps keep every size.
    std::size_t request_size() {
        std::size_t n = memmgr_fuzz::size_from(in_);
        if constexpr (is_debug_heap<H>)
            if (n > memmgr_fuzz::dense_limit && !memmgr_fuzz::oversized(n) && n % 8 != 0)
                n %= memmgr_fuzz::dense_limit;
        return n;
    }

public:
    runner(FuzzedDataProvider& in, Make make) : in_(in), make_(make) { make_(heap_, problems_); }

    void run() {
        for (int ops = 0; ops < 1500 && in_.remaining_bytes() > 0; ++ops)
            step();
        finish();
    }

private:
    H& heap() { return *heap_; }

    void step() {
        // Each operation once per entry: the ones listed more often are chosen more often.
        using operation = void (runner::*)();
        static constexpr operation operations[] = {&runner::allocate,
                                                   &runner::allocate,
                                                   &runner::allocate,
                                                   &runner::allocate_zeroed,
                                                   &runner::reallocate,
                                                   &runner::reallocate,
                                                   &runner::resize_in_place,
                                                   &runner::free,
                                                   &runner::free,
                                                   &runner::size,
                                                   &runner::inspect,
                                                   &runner::destroy,
                                                   &runner::misuse,
                                                   &runner::aligned_family,
                                                   &runner::through_a_resource,
                                                   &runner::require_all_intact,
                                                   &runner::damage};
        const auto pick = in_.ConsumeIntegralInRange<std::size_t>(0, std::size(operations) - 1);
        freed_before_ = std::exchange(just_freed_, {});
        (this->*operations[pick])();
        require(problems_.empty(), "a debug_heap reports no problem for proper use");
        if (++since_whole_check_ >= whole_check_at_most)
            whole_check();
    }

    // The whole heap is checked (walk and validate, against the model) when the input asks for it
    // (inspect), at most every whole_check_at_least operations, and at least every
    // whole_check_at_most: a walk of the engine was a third of the harness's time when it came
    // after every inspect. Each operation checks what it touched.
    static constexpr int whole_check_at_least = 16;
    static constexpr int whole_check_at_most = 48;

    void whole_check() {
        since_whole_check_ = 0;
        if constexpr (memmgr::walkable_heap<H>) {
            auto entries = heap().walk();
            require(entries.has_value(), "a walk succeeds");
            model_.require_walk_matches(*entries);
        }
        if constexpr (memmgr::validating_heap<H>)
            require(heap().validate().has_value(), "a heap used properly validates");
        model_.require_prefixes_intact(); // whole when freed, at the end, or when the input asks
    }

    void require_all_intact() { model_.require_all_intact(); }

    // Accepts the failures a heap may give for a proper request of n bytes: size_overflow for
    // sizes above max_request_size, heap_full for a fixed-size heap; nothing else.
    void require_acceptable(errc e, std::size_t n) {
        if (memmgr_fuzz::oversized(n))
            require(e == errc::size_overflow, "an oversized request fails with size_overflow");
        else
            require(e == errc::heap_full && fixed_size(), "a proper request succeeds");
    }

    bool fixed_size() {
        if constexpr (std::is_same_v<H, memmgr::win32_heap>)
            return heap().options().maximum_size != 0;
        else
            return false;
    }

    void allocate() {
        const std::size_t n = request_size();
        if (!memmgr_fuzz::oversized(n) && !model_.has_room(n))
            return;
        auto p = heap().allocate(n);
        if (!p)
            return require_acceptable(p.error(), n);
        require(!memmgr_fuzz::oversized(n), "an oversized request fails");
        added(*p, n);
    }

    void allocate_zeroed() {
        if constexpr (memmgr::zeroing_heap<H>) {
            std::size_t count = in_.ConsumeIntegralInRange<std::size_t>(0, 64);
            std::size_t each = in_.ConsumeIntegralInRange<std::size_t>(0, 256);
            if (in_.ConsumeBool()) { // a count x size beyond max_request_size, or wrapping around
                each += 1;
                count = memmgr::max_request_size / each + 1 +
                        in_.ConsumeIntegralInRange<std::size_t>(0, 1) * (SIZE_MAX / each / 2);
            }
            // The expectation is computed here, not by memmgr::checked_multiply, which the heaps
            // themselves use: a wrapped product the library let through must not pass as right.
            std::size_t product = 0;
            const bool fits = !__builtin_mul_overflow(count, each, &product) &&
                              product <= memmgr::max_request_size;
            const std::optional<std::size_t> n =
                fits ? std::optional<std::size_t>(product) : std::nullopt;
            if (n && !model_.has_room(*n))
                return;
            auto p = heap().allocate_zeroed(count, each);
            if (!n) {
                require(!p && p.error() == errc::size_overflow,
                        "an overflowing count x size fails with size_overflow");
                return;
            }
            if (!p)
                return require_acceptable(p.error(), *n);
            require(memmgr_fuzz::zeroed(*p, *n), "allocate_zeroed gives zero bytes");
            added(*p, *n);
        }
    }

    void reallocate() {
        void* p = in_.ConsumeBool() ? model_.pick(in_) : nullptr;
        const std::size_t n = request_size();
        const std::size_t old = p ? model_.at(p).size : 0;
        if (!memmgr_fuzz::oversized(n) && n > old && !model_.has_room(n - old))
            return;
        auto q = heap().reallocate(p, n);
        if (!q) {
            require_acceptable(q.error(), n);
            if (p)
                model_.require_intact(p); // a failed reallocate leaves the block as it was
            return;
        }
        if (p == nullptr)
            return added(*q, n);
        const memmgr_fuzz::block b = model_.at(p);
        const std::size_t kept = b.size < n ? b.size : n;
        require(memmgr_fuzz::intact_prefix(*q, kept, b.seed, b.size),
                "reallocate keeps the first min(old, n) bytes");
        model_.take(p, *q != p);
        added(*q, n);
    }

    void resize_in_place() {
        if constexpr (memmgr::resizable_in_place_heap<H>) {
            void* p = model_.pick(in_);
            if (p == nullptr)
                return;
            const std::size_t n = request_size();
            const memmgr_fuzz::block b = model_.at(p);
            if (!memmgr_fuzz::oversized(n) && n > b.size && !model_.has_room(n - b.size))
                return;
            auto r = heap().resize_in_place(p, n);
            if (!r) {
                if (r.error() != errc::cannot_resize_in_place)
                    require_acceptable(r.error(), n);
                return model_.require_intact(p);
            }
            require(!memmgr_fuzz::oversized(n), "an oversized resize fails");
            const std::size_t kept = b.size < n ? b.size : n;
            require(memmgr_fuzz::intact_prefix(p, kept, b.seed, b.size),
                    "resize_in_place keeps the contents");
            model_.take(p, false);
            added(p, n, true);
        }
    }

    void free() {
        void* p = model_.pick(in_);
        if (p == nullptr)
            return;
        const memmgr_fuzz::block b = model_.remove(p);
        require(heap().free(p).has_value(), "freeing a live block succeeds");
        just_freed_ = {p, b.size};
    }

    // Damage a debug_heap must find, made by the input: bytes written past a live block's end
    // (into its guard), or into the block the previous operation freed (in the quarantine). check()
    // must report exactly that, with the block and the offset of the first damaged byte; the damage
    // is then mended, and check() finds nothing again.
    void damage() {
        if constexpr (is_debug_heap<H>) {
            const memmgr::debug_options& o = heap().options();
            const auto flip = in_.ConsumeIntegralInRange<unsigned char>(1, 255); // never 0
            unsigned char* at = nullptr;
            std::size_t from = 0;
            std::size_t count = 0;
            unsigned char fill = 0;
            memmgr::debug_problem_kind kind{};
            if (in_.ConsumeBool()) {
                void* p = model_.pick(in_);
                if (p == nullptr || o.guard_size == 0)
                    return;
                at = static_cast<unsigned char*>(p);
                from = model_.at(p).size +
                       in_.ConsumeIntegralInRange<std::size_t>(0, o.guard_size - 1);
                count = in_.ConsumeIntegralInRange<std::size_t>(1, model_.at(p).size +
                                                                       o.guard_size - from);
                fill = o.guard_fill;
                kind = memmgr::debug_problem_kind::overrun_after;
            } else {
                // The block freed by the previous operation is the newest in the quarantine.
                const auto [p, n] = freed_before_;
                if (p == nullptr || o.quarantine == 0 || n == 0)
                    return;
                at = static_cast<unsigned char*>(p);
                from = in_.ConsumeIntegralInRange<std::size_t>(0, n - 1);
                count = in_.ConsumeIntegralInRange<std::size_t>(1, n - from);
                fill = o.freed_fill;
                kind = memmgr::debug_problem_kind::written_after_free;
                just_freed_ = freed_before_; // still the newest: it may be damaged again
            }
            std::memset(at + from, fill ^ flip, count);
            require(heap().check() == 1 && problems_.size() == 1, "check() finds the damage, once");
            const memmgr::debug_problem& found = problems_[0];
            const std::size_t offset =
                kind == memmgr::debug_problem_kind::overrun_after ? from - found.size : from;
            require(found.kind == kind && found.address == at && found.offset == offset,
                    "the damage is reported with its block and the offset of its first byte");
            problems_.clear();
            if (kind == memmgr::debug_problem_kind::overrun_after && o.quarantine == 0 &&
                in_.ConsumeBool()) {
                // Not mended: the block is freed with its guard damaged. The free reports the
                // same damage and still frees the block (its own bytes are intact); without a
                // quarantine the damaged guard goes back to the heap beneath with it.
                const memmgr_fuzz::block b = model_.remove(at);
                require(heap().free(at).has_value(), "a block with a damaged guard is freed");
                require(problems_.size() == 1 && problems_[0].kind == kind &&
                            problems_[0].address == at && problems_[0].offset == offset,
                        "free reports the damaged guard with its block and offset");
                problems_.clear();
                just_freed_ = {at, b.size};
                return;
            }
            if (kind == memmgr::debug_problem_kind::written_after_free && o.check_every == 0 &&
                in_.ConsumeBool() && evicted_reporting(at, offset))
                return;
            std::memset(at + from, fill, count);
            require(heap().check() == 0 && problems_.empty(), "mended damage is not reported");
        }
    }

    /// \effects leaves the damage of the newest quarantined block `at` (its first damaged byte at
    /// `offset`) unmended and frees new blocks until the quarantine evicts it: that free must
    /// report the damage, once, with its block and offset, and free it; the frees before it
    /// report nothing. \returns false, the damage still in place, when the heap beneath ran out
    /// of room first (a fixed heap) or the block was not evicted after `quarantine` frees.
    [[gnu::noinline]] bool evicted_reporting(unsigned char* at, std::size_t offset) {
        const std::size_t frees = heap().options().quarantine;
        for (std::size_t k = 0; k < frees; ++k) {
            const std::size_t n = in_.ConsumeIntegralInRange<std::size_t>(0, 64);
            auto filler = heap().allocate(n);
            if (!filler)
                return false;
            added(*filler, n); // and then freed, as the model knows (the debug heap's ring does)
            model_.remove(*filler);
            require(heap().free(*filler).has_value(), "a filler block is freed");
            if (problems_.empty())
                continue;
            require(problems_.size() == 1 &&
                        problems_[0].kind == memmgr::debug_problem_kind::written_after_free &&
                        problems_[0].address == at && problems_[0].offset == offset,
                    "the quarantine's eviction reports the damage with its block and offset");
            problems_.clear();
            just_freed_ = {};
            require(heap().check() == 0 && problems_.empty(),
                    "an evicted block's damage is reported once");
            return true;
        }
        require(false, "the newest quarantined block leaves after as many frees as it holds");
        return false;
    }

    void size() {
        void* p = model_.pick(in_);
        if (p == nullptr)
            return;
        auto s = heap().size(p);
        const std::size_t n = model_.at(p).size; // a 0-byte global block may be either kind
        require(s && (size_agrees<H>(*s, n) || size_agrees<H>(*s, n, true)),
                "size reports what was asked for");
    }

    // owns, validate of a block and compact, where the heap has them, and the whole heap unless
    // it was checked a moment ago.
    void inspect() {
        if (since_whole_check_ >= whole_check_at_least)
            whole_check();
        if constexpr (memmgr::validating_heap<H>) {
            if (void* p = model_.pick(in_)) {
                require(heap().owns(p), "a heap owns its live blocks");
                require(heap().validate(p).has_value(), "a live block validates");
            }
        }
        if constexpr (memmgr::compactable_heap<H>)
            require(heap().compact().has_value(), "compact succeeds");
    }

    // Every block at once: release_all or the heap destroyed and made anew (a private heap), or
    // every block freed one by one (the process-wide heaps).
    void destroy() {
        // The blocks about to go are checked whole (nothing else would, before the end).
        if constexpr (std::is_same_v<H, memmgr::win32_heap> || is_debug_heap<H>)
            model_.require_all_intact();
        if constexpr (std::is_same_v<H, memmgr::win32_heap>) {
            if (in_.ConsumeBool()) {
                require(heap().release_all().has_value(), "release_all succeeds on an owning heap");
                return model_.drop_all();
            }
            H gone = std::move(heap());
            require_destroyed(heap());
        } else if constexpr (!is_debug_heap<H>) {
            while (void* p = model_.pick(in_)) {
                model_.remove(p);
                require(heap().free(p).has_value(), "freeing a live block succeeds");
            }
            return;
        }
        model_.drop_all();
        model_.forget_freed();
        heap_.reset();
        make_(heap_, problems_);
    }

    // A moved-from win32_heap holds no heap: every operation says heap_destroyed.
    void require_destroyed(memmgr::win32_heap& h) {
        int local = 0;
        const auto destroyed = [](const auto& r) {
            return !r && r.error() == errc::heap_destroyed;
        };
        require(destroyed(h.allocate(8)), "allocate after destroy");
        require(destroyed(h.free(&local)), "free after destroy");
        require(destroyed(h.size(&local)), "size after destroy");
        require(destroyed(h.reallocate(&local, 8)), "reallocate after destroy");
        require(destroyed(h.walk()), "walk after destroy");
        require(destroyed(h.validate()), "validate after destroy");
        require(destroyed(h.release_all()), "release_all after destroy");
        require(!h.owns(&local), "a destroyed heap owns nothing");
    }

    // A pointer that is not a live block: stale (freed earlier), foreign (the stack, another heap's
    // block) or inside a live block. The heap must refuse it with the documented errc and change
    // nothing.
    void misuse() {
        if constexpr (detects_misuse<H>) {
            int on_stack = 0;
            void* q = nullptr;
            const int source = in_.ConsumeIntegralInRange<int>(0, 5);
            // The stack and the outsiders' blocks lie in other allocators' memory, never in this
            // heap's: what the heap must say of them is known without asking where its blocks are.
            const bool elsewhere = source >= 2 && source <= 4;
            switch (source) {
            case 0:
            case 1:
                q = model_.pick_stale(in_);
                break;
            case 2:
                q = &on_stack;
                break;
            case 3:
                q = outsiders_.crt_block;
                break;
            case 4:
                q = in_.ConsumeBool() ? outsiders_.private_block : outsiders_.debug_block;
                break;
            default:
                if (void* p = model_.pick(in_))
                    q = static_cast<char*>(p) +
                        in_.ConsumeIntegralInRange<std::size_t>(1, model_.at(p).size + 32);
            }
            if (q == nullptr || model_.live(q))
                return;
            const auto how = static_cast<verb>(in_.ConsumeIntegralInRange<int>(0, 2));
            const errc expected = expected_refusal(q, how, elsewhere);
            errc got{};
            if (how == verb::free)
                got = refusal_of(heap().free(q), "a misused free is refused");
            else if (how == verb::size)
                got = refusal_of(heap().size(q), "a misused size is refused");
            else
                got = refusal_of(heap().reallocate(q, 64), "a misused reallocate is refused");
            if (got != expected)
                std::fprintf(stderr, "%s: %s of %p (misuse %d) gave \"%s\", expected \"%s\"\n",
                             std::string(H::name).c_str(), verb_name(how), q, source,
                             std::string(memmgr::describe(got)).c_str(),
                             std::string(memmgr::describe(expected)).c_str());
            require(got == expected, "a pointer that is not a live block is refused as documented");
            if constexpr (is_debug_heap<H>) {
                if (how == verb::free) {
                    require(problems_.size() == 1 &&
                                problems_[0].kind == expected_kind(q, expected),
                            "debug_heap reports the refused free to its handler");
                    problems_.clear();
                }
            }
            if constexpr (memmgr::validating_heap<H>)
                require(heap().validate().has_value(), "a refused pointer changes nothing");
            if (void* p = model_.pick(in_))
                model_.require_intact(p);
        }
    }

    // What the heap must say of q, which is not one of its live blocks (docs/heaps.md, "Bad
    // input"); `elsewhere`: q is known to lie outside the heap's memory.
    errc expected_refusal(const void* q, verb how, bool elsewhere) {
        (void)elsewhere; // only the private heap's answer depends on where q is
        if constexpr (is_debug_heap<H>) {
            // It remembers recent frees (more than one input makes); size and reallocate only know
            // whether a block is live.
            return how == verb::free && model_.freed(q) ? errc::double_free : errc::foreign_block;
        } else if constexpr (std::is_same_v<H, memmgr::win32_heap>) {
            (void)how; // the POSIX engine: the same answer from free, size and reallocate
            // Only a 16-aligned pointer inside the heap can be a double free (the rule of
            // private_heap_says_double_free): the walk, the dearest step of the operation, is
            // taken only for those.
            if (elsewhere || address(q) % 16 != 0)
                return errc::foreign_block;
            auto entries = heap().walk();
            require(entries.has_value(), "a walk succeeds");
            return memmgr_fuzz::private_heap_says_double_free(*entries, q) ? errc::double_free
                                                                           : errc::foreign_block;
        } else {
            (void)how; // com, local, global: the registry of live blocks knows only live blocks
            return errc::foreign_block;
        }
    }

    memmgr::debug_problem_kind expected_kind(const void* q, errc e) const {
        if (e == errc::double_free)
            return memmgr::debug_problem_kind::double_free;
        return q == outsiders_.debug_block ? memmgr::debug_problem_kind::wrong_heap
                                           : memmgr::debug_problem_kind::foreign_block;
    }

    // crt_heap's aligned family: good alignments honoured and sized exactly, bad ones refused,
    // a second free_aligned refused.
    void aligned_family() {
        if constexpr (std::is_same_v<H, memmgr::crt_heap>) {
            const std::size_t alignment = alignment_from();
            const std::size_t n = in_.ConsumeIntegralInRange<std::size_t>(0, 4096);
            auto p = heap().allocate_aligned(n, alignment);
            if (!memmgr::valid_alignment(alignment)) {
                require(!p && p.error() == errc::bad_alignment, "a bad alignment is refused");
                return;
            }
            require(p && address(*p) % alignment == 0, "an aligned block is aligned");
            require(!model_.overlaps(*p, n), "an aligned block overlaps no live block");
            require(heap().size_aligned(*p, alignment).value_or(n + 1) == n,
                    "aligned size is exact");
            memmgr_fuzz::paint(*p, n, 5);
            require(heap().free_aligned(*p).has_value(), "free_aligned frees an aligned block");
            const auto again = heap().free_aligned(*p);
            require(!again && again.error() == errc::foreign_block,
                    "a second free_aligned is refused");
        }
    }

    // heap_resource over the heap: any power of two up to 64 KiB honoured, others a heap_error.
    void through_a_resource() {
        memmgr::heap_resource<H&> resource(heap());
        const std::size_t alignment = alignment_from();
        const std::size_t n = request_size();
        if (!memmgr_fuzz::oversized(n) && !model_.has_room(n + alignment))
            return;
        void* p = nullptr;
        try {
            p = resource.allocate(n, alignment);
        } catch (const memmgr::heap_error& e) {
            if (!memmgr::valid_alignment(alignment))
                require(e.reason() == errc::bad_alignment, "a bad alignment is a heap_error");
            else
                require_acceptable(e.reason(), n);
            return;
        }
        require(memmgr::valid_alignment(alignment) && !memmgr_fuzz::oversized(n),
                "a bad alignment or size is refused");
        require(address(p) % alignment == 0, "heap_resource honours the alignment");
        require(!model_.overlaps(p, n), "a resource block overlaps no live block");
        void* block = memmgr::testing::heap_block_of<H>(p, alignment); // what the heap handed out
        model_.handed_out_elsewhere(block);
        memmgr_fuzz::paint(p, n, 9);
        require(memmgr_fuzz::intact(p, n, 9), "a resource block holds what was written");
        resource.deallocate(p, n, alignment);
        model_.freed_elsewhere(block);
    }

    std::size_t alignment_from() {
        const auto shift = in_.ConsumeIntegralInRange<unsigned>(0, 18);
        switch (in_.ConsumeIntegralInRange<int>(0, 7)) {
        case 0:
            return 0;
        case 1:
            return (std::size_t{1} << shift) + 1 + shift; // never a power of two above 1
        default:
            return std::size_t{1} << shift; // up to 2^18: too large from 2^17
        }
    }

    void added(void* p, std::size_t n, bool in_place = false) {
        model_.add(p, n, in_.ConsumeIntegral<unsigned char>(), H::guaranteed_alignment);
        auto s = heap().size(p);
        if (!s || !size_agrees<H>(*s, n, in_place))
            std::fprintf(stderr, "%s: a block of %zu bytes at %p: size() says %s\n",
                         std::string(H::name).c_str(), n, p,
                         s ? std::to_string(*s).c_str()
                           : std::string(memmgr::describe(s.error())).c_str());
        require(s && size_agrees<H>(*s, n, in_place), "a new block has the size asked for");
    }

    void finish() {
        whole_check();
        inspect();
        while (void* p = model_.pick(in_)) {
            model_.remove(p);
            require(heap().free(p).has_value(), "freeing a live block succeeds");
        }
        whole_check();
        inspect();
        require(problems_.empty(), "a debug_heap reports no problem for proper use");
    }

    FuzzedDataProvider& in_;
    Make make_;
    std::vector<memmgr::debug_problem> problems_; // before heap_: a debug_heap's handler fills it
    std::optional<H> heap_;
    model model_;
    // The block (and its size) the current and the previous operation freed, if they did.
    std::pair<void*, std::size_t> just_freed_{};
    std::pair<void*, std::size_t> freed_before_{};
    int since_whole_check_ = 0; // operations since the whole heap was last checked
    outsiders& outsiders_ = outsiders::instance();
};

template <class H>
void stateless(std::optional<H>& slot, std::vector<memmgr::debug_problem>&) {
    slot.emplace();
}

// Runs the input on a heap of type H made by make (by default, a stateless heap). \returns 0, as
// libFuzzer's entry point does.
template <class H, class Make = decltype(&stateless<H>)>
int run(FuzzedDataProvider& in, Make make = &stateless<H>) {
    runner<H, Make>(in, make).run();
    return 0;
}

// A win32_heap whose options come from the input.
auto private_heap_maker(memmgr::win32_heap_options options) {
    return [options](std::optional<memmgr::win32_heap>& slot, std::vector<memmgr::debug_problem>&) {
        slot.emplace(memmgr::win32_heap::create(options).value());
    };
}

// A debug_heap over B whose options come from the input, recording its problems.
template <class B>
auto debug_maker(memmgr::debug_options options) {
    return [options](std::optional<memmgr::debug_heap<B>>& slot,
                     std::vector<memmgr::debug_problem>& problems) {
        slot.emplace(options);
        slot->set_problem_handler(
            [&problems](const memmgr::debug_problem& p) { problems.push_back(p); });
    };
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    const auto which = in.ConsumeIntegralInRange<int>(0, 8);
    memmgr::win32_heap_options options;
    options.initial_size = in.ConsumeIntegralInRange<std::size_t>(0, 1 << 20);
    memmgr::debug_options debug;
    debug.guard_size = in.ConsumeIntegralInRange<std::size_t>(0, 32);
    debug.quarantine = in.ConsumeIntegralInRange<std::size_t>(0, 16);
    // A whole-heap check every few dozen operations at most: each one scans every guard and
    // every quarantined block, and more often finds nothing more.
    debug.check_every = in.ConsumeBool() ? 0 : in.ConsumeIntegralInRange<std::size_t>(16, 64);
    switch (which) {
    case 0:
        return run<memmgr::crt_heap>(in);
    case 1:
        return run<memmgr::com_heap>(in);
    case 2:
        return run<memmgr::local_heap>(in);
    case 3:
        return run<memmgr::global_heap>(in);
    case 4:
        return run<memmgr::win32_heap>(in, private_heap_maker(options));
    case 5:
        options.maximum_size = in.ConsumeIntegralInRange<std::size_t>(16 << 10, 4 << 20);
        return run<memmgr::win32_heap>(in, private_heap_maker(options));
    case 6:
        options.serialize = false;
        return run<memmgr::win32_heap>(in, private_heap_maker(options));
    case 7:
        return run<memmgr::debug_heap<memmgr::win32_heap>>(in,
                                                           debug_maker<memmgr::win32_heap>(debug));
    default:
        return run<memmgr::debug_heap<memmgr::com_heap>>(in, debug_maker<memmgr::com_heap>(debug));
    }
}
