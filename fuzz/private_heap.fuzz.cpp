// Fuzz harness: the POSIX private heap engine (modules/platform/private_heap.hpp), driven directly,
// without modules, with what win32_heap cannot reach: any initial and maximum size, the process
// heap, in-place-only reallocation, owns, usage() and config(), and damaged headers.
//
// The input chooses the heap (the process heap, or a new one and its configuration), then a
// sequence of operations checked against the reference model (fuzz/support/model.hpp): allocate
// (zeroed or not), free, size, reallocate (in place only or not), owns and validate of a block,
// validate of the whole heap, walk, usage, compact, release_all, and deliberate misuse (stale,
// foreign and interior pointers) with the status docs/private_heap.md promises. A `damage`
// operation flips bits of a header: from then on only validate, size and free are asked (they must
// report heap_corrupt, never act), and the input ends with the heap destroyed, as a program that
// found corruption would.
#include "private_heap.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "support/model.hpp"

namespace {

using memmgr::detail::posix::block_info;
using memmgr::detail::posix::heap_config;
using memmgr::detail::posix::private_heap;
using memmgr::detail::posix::status;
using memmgr_fuzz::address;
using memmgr_fuzz::model;
using memmgr_fuzz::require;

constexpr std::size_t header_size = 16;

// \returns every block of heap, in a vector whose storage is reused from walk to walk.
const std::vector<block_info>& walk(const private_heap& heap) {
    static std::vector<block_info> entries = [] {
        std::vector<block_info> v;
        v.reserve(4096);
        return v;
    }();
    entries.clear();
    heap.walk(
        [](void* c, const block_info& e) {
            auto* out = static_cast<std::vector<block_info>*>(c);
            if (out->size() < out->capacity()) // no allocation while the heap is locked
                out->push_back(e);
        },
        &entries);
    require(entries.size() < entries.capacity(), "the walk fits the snapshot");
    return entries;
}

class runner {
public:
    runner(FuzzedDataProvider& in, private_heap* heap, bool is_process)
        : in_(in), heap_(heap), process_(is_process) {
        require(heap_ != nullptr, "create() gives a heap");
        require(other_ != nullptr, "create() gives a second heap");
        status st = status::ok;
        foreign_ = other_->allocate(64, false, st);
        require(foreign_ != nullptr, "the second heap gives a block");
    }
    runner(const runner&) = delete;
    runner& operator=(const runner&) = delete;
    ~runner() {
        private_heap::destroy(other_);
        private_heap::destroy(heap_);
    }

    void run() {
        for (int ops = 0; ops < 1500 && in_.remaining_bytes() > 0; ++ops) {
            step();
            if (damaged_)
                return; // the heap is only destroyed now
        }
        model_.require_all_intact();
        while (void* p = model_.pick(in_)) {
            model_.remove(p);
            require(heap_->free(p) == status::ok, "freeing a live block succeeds");
        }
        check_usage();
        require(heap_->validate(nullptr) == status::ok, "an emptied heap validates");
    }

private:
    bool fixed() const { return heap_->config().maximum_size != 0; }

    void step() {
        // Each operation once per entry: the ones listed more often are chosen more often.
        using operation = void (runner::*)();
        static constexpr operation operations[] = {
            &runner::allocate,   &runner::allocate,    &runner::allocate, &runner::reallocate,
            &runner::reallocate, &runner::free,        &runner::free,     &runner::one_block,
            &runner::check_walk, &runner::check_usage, &runner::compact,  &runner::release_all,
            &runner::misuse,     &runner::misuse,      &runner::damage,   &runner::validate};
        const auto pick = in_.ConsumeIntegralInRange<std::size_t>(0, std::size(operations) - 1);
        (this->*operations[pick])();
    }

    void validate() {
        require(heap_->validate(nullptr) == status::ok, "a heap used properly validates");
    }

    void require_acceptable(status st, std::size_t n) const {
        if (memmgr_fuzz::oversized(n))
            require(st == status::size_overflow, "an oversized request fails with size_overflow");
        else
            require(st == status::heap_full && fixed(), "a proper request succeeds");
    }

    void allocate() {
        const std::size_t n = memmgr_fuzz::size_from(in_);
        const bool zero = in_.ConsumeBool();
        if (!memmgr_fuzz::oversized(n) && !model_.has_room(n))
            return;
        status st = status::ok;
        void* p = heap_->allocate(n, zero, st);
        if (p == nullptr)
            return require_acceptable(st, n);
        require(st == status::ok && !memmgr_fuzz::oversized(n), "an allocation succeeds as asked");
        require(!zero || memmgr_test::all_zero(p, n), "a zeroed block is zero");
        added(p, n);
    }

    void reallocate() {
        void* p = in_.ConsumeBool() ? model_.pick(in_) : nullptr;
        const std::size_t n = memmgr_fuzz::size_from(in_);
        const bool in_place = in_.ConsumeBool();
        const std::size_t old = p ? model_.at(p).size : 0;
        if (!memmgr_fuzz::oversized(n) && n > old && !model_.has_room(n - old))
            return;
        status st = status::ok;
        void* q = heap_->reallocate(p, n, in_place, st);
        if (q == nullptr) {
            if (!(in_place && p && st == status::cannot_resize_in_place))
                require_acceptable(st, n);
            if (p)
                model_.require_intact(p);
            return;
        }
        require(!in_place || p == nullptr || q == p, "an in-place reallocation does not move");
        if (p == nullptr)
            return added(q, n);
        const memmgr_fuzz::block b = model_.at(p);
        require(memmgr_fuzz::intact(q, b.size < n ? b.size : n, b.seed),
                "reallocate keeps the first min(old, n) bytes");
        model_.take(p, q != p);
        added(q, n);
    }

    void free() {
        if (void* p = model_.pick(in_)) {
            model_.remove(p);
            require(heap_->free(p) == status::ok, "freeing a live block succeeds");
        }
    }

    void one_block() {
        void* p = model_.pick(in_);
        if (p == nullptr)
            return;
        std::size_t n = 0;
        require(heap_->size(p, n) == status::ok && n == model_.at(p).size, "size is exact");
        require(heap_->owns(p), "the heap owns its live blocks");
        require(heap_->validate(p) == status::ok, "a live block validates");
        model_.require_intact(p);
    }

    void check_walk() {
        const std::vector<block_info>& entries = walk(*heap_);
        for (const block_info& e : entries) {
            require(address(e.address) % private_heap::alignment == 0, "walked blocks are aligned");
            require(e.overhead >= header_size, "every block has a header");
        }
        model_.require_walk_matches(entries);
    }

    void check_usage() {
        const auto u = heap_->usage();
        require(u.used_blocks == model_.count(), "usage counts the live blocks");
        require(u.used_bytes == model_.bytes(), "usage counts the live bytes");
        require(u.reserved_bytes <= u.peak_reserved_bytes && u.used_bytes <= u.peak_used_bytes,
                "peaks are peaks");
        if (fixed())
            require(u.peak_reserved_bytes <= heap_->config().maximum_size,
                    "a fixed heap never maps more than its maximum");
    }

    void compact() {
        const std::size_t largest = heap_->compact();
        std::size_t seen = 0;
        for (const block_info& e : walk(*heap_))
            if (!e.in_use && e.size > seen)
                seen = e.size;
        require(largest == seen, "compact reports the largest free block");
        require(heap_->validate(nullptr) == status::ok, "a compacted heap validates");
        model_.require_all_intact();
    }

    void release_all() {
        heap_->release_all();
        if (process_) { // the process heap is never emptied
            model_.require_all_intact();
            return check_walk();
        }
        model_.drop_all();
        const auto u = heap_->usage();
        require(u.used_blocks == 0 && u.used_bytes == 0, "release_all frees every block");
        require(u.reserved_bytes == heap_->config().initial_size,
                "release_all keeps the initial segments only");
        require(heap_->validate(nullptr) == status::ok, "a released heap validates");
    }

    // What the engine must say of q, which is not one of its live blocks.
    status expected_refusal(const void* q) const {
        return memmgr_fuzz::private_heap_says_double_free(walk(*heap_), q) ? status::double_free
                                                                           : status::foreign_block;
    }

    void misuse() {
        int on_stack = 0;
        void* q = nullptr;
        switch (in_.ConsumeIntegralInRange<int>(0, 4)) {
        case 0:
        case 1:
            q = model_.pick_stale(in_);
            break;
        case 2:
            q = in_.ConsumeBool() ? static_cast<void*>(&on_stack) : foreign_;
            break;
        default:
            if (void* p = model_.pick(in_))
                q = static_cast<char*>(p) +
                    in_.ConsumeIntegralInRange<std::size_t>(1, model_.at(p).size + 2 * header_size);
        }
        if (q == nullptr || model_.live(q))
            return;
        const status expected = expected_refusal(q);
        std::size_t n = 0;
        status st = status::ok;
        switch (in_.ConsumeIntegralInRange<int>(0, 3)) {
        case 0:
            require(heap_->free(q) == expected, "free refuses as documented");
            break;
        case 1:
            require(heap_->size(q, n) == expected, "size refuses as documented");
            break;
        case 2:
            require(heap_->reallocate(q, 64, in_.ConsumeBool(), st) == nullptr && st == expected,
                    "reallocate refuses as documented");
            break;
        default:
            require(heap_->validate(q) == expected && !heap_->owns(q),
                    "validate and owns refuse as documented");
        }
        require(heap_->validate(nullptr) == status::ok, "a refused pointer changes nothing");
        check_usage();
    }

    // Flips bits of one header (a block in use or a free block): validate must find it, and free
    // and size of the damaged block must refuse. The input ends there.
    void damage() {
        const std::vector<block_info>& entries = walk(*heap_);
        if (entries.empty() || process_) // the process heap outlives the input: never damaged
            return;
        damaged_ = true;
        const block_info e =
            entries[in_.ConsumeIntegralInRange<std::size_t>(0, entries.size() - 1)];
        auto* header = static_cast<unsigned char*>(e.address) - header_size;
        const std::size_t at = in_.ConsumeIntegralInRange<std::size_t>(0, header_size - 1);
        header[at] ^= in_.ConsumeIntegralInRange<unsigned char>(1, 255);
        if (heap_->validate(nullptr) != status::heap_corrupt)
            std::fprintf(stderr,
                         "byte %zu of the header of a %s block of %zu bytes (+%zu) damaged\n", at,
                         e.in_use ? "used" : "free", e.size, e.overhead);
        require(heap_->validate(nullptr) == status::heap_corrupt,
                "validate finds a damaged header");
        require(!heap_->owns(e.address), "a damaged block is not owned");
        std::size_t n = 0;
        const status sized = heap_->size(e.address, n);
        require(sized == status::heap_corrupt || sized == status::foreign_block,
                "size refuses a damaged block");
        const status freed = heap_->free(e.address);
        if (freed != status::heap_corrupt && freed != status::foreign_block)
            std::fprintf(stderr, "free of the damaged %s block answered %d\n",
                         e.in_use ? "used" : "free", static_cast<int>(freed));
        require(freed == status::heap_corrupt || freed == status::foreign_block,
                "free refuses a damaged block");
        // Any other block: freed if its own neighbourhood is sound, refused otherwise; never worse.
        if (void* p = model_.pick(in_)) {
            const status other = heap_->free(p);
            require(other == status::ok || other == status::heap_corrupt,
                    "a block next to damage is freed or refused");
        }
        require(heap_->validate(nullptr) == status::heap_corrupt, "the damage stays found");
    }

    void added(void* p, std::size_t n) {
        model_.add(p, n, in_.ConsumeIntegral<unsigned char>(), private_heap::alignment);
        std::size_t size = 0;
        require(heap_->size(p, size) == status::ok && size == n,
                "a new block has the size asked for");
    }

    FuzzedDataProvider& in_;
    private_heap* heap_;
    bool process_;
    bool damaged_ = false;
    private_heap* other_ = private_heap::create(heap_config{});
    void* foreign_ = nullptr;
    model model_;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    if (in.ConsumeIntegralInRange<int>(0, 15) == 0) { // the process-wide heap, never destroyed
        runner(in, private_heap::process(), true).run();
        return 0;
    }
    heap_config config;
    config.initial_size = in.ConsumeIntegralInRange<std::size_t>(0, 2 << 20);
    if (in.ConsumeBool())
        config.maximum_size = in.ConsumeIntegralInRange<std::size_t>(1, 8 << 20);
    config.serialize = in.ConsumeBool();
    runner(in, private_heap::create(config), false).run();
    return 0;
}
