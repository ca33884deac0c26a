// libmemmgr-malloc.so: a TESTING AND BENCHMARKING TOOL, not a feature of memmgr.
//
// Preloaded into a whole program (LD_PRELOAD=libmemmgr-malloc.so), it serves every malloc of the
// process from one serialized memmgr::win32_heap, so that real programs exercise the POSIX private
// heap with allocation patterns nobody here chose. tools/real-programs/run.py runs Debian's
// programs on it and compares them with glibc, jemalloc and mimalloc (docs/benchmarks.md, "Real
// programs"). Linux only: on Windows a process's malloc cannot be replaced this way, and there
// win32_heap is the system's own heap anyway.
//
// It uses memmgr's public API only (`import memmgr;`), as a user's program would:
// - The heap lives in static storage and is created by the first call (the dynamic loader and
//   libc allocate before any constructor of ours runs). Creating it calls no malloc; a call that
//   arrives while it is being created (another thread) is served from a small static arena.
// - Blocks are 16-byte aligned, as win32_heap's. Larger alignments (memalign and its kin)
//   over-allocate, return the aligned address inside the block and record it in a table that maps
//   it to the block; free, realloc and malloc_usable_size look such addresses up there first.
// - At exit (a destructor of this library) the heap is validated and the verdict is appended, one
//   line per process, to the file named by MEMMGR_HEAP_REPORT (the program's own stderr is left
//   alone): "memmgr-heap: valid, N blocks in use (B bytes), pid P, NAME" or
//   "memmgr-heap: INVALID (...)". A free, realloc or malloc_usable_size of a pointer the heap
//   refuses (foreign, already freed) makes the verdict INVALID too: glibc would have aborted.
//
// C++'s operator new and delete need no replacement here: libstdc++'s call malloc and free (and
// aligned_alloc for over-aligned types), which resolve to these.
#include <malloc.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

import memmgr;

namespace {

using memmgr::win32_heap;

constexpr std::size_t heap_alignment = win32_heap::guaranteed_alignment;

// --- the heap ------------------------------------------------------------------------------------

enum : int { heap_none, heap_creating, heap_ready, heap_failed };

alignas(win32_heap) unsigned char heap_storage[sizeof(win32_heap)];
constinit std::atomic<int> heap_state{heap_none};

win32_heap* ready_heap() noexcept {
    return std::launder(reinterpret_cast<win32_heap*>(heap_storage));
}

void hook_fork() noexcept;

/// \returns the heap, creating it at the first call; nullptr while another call creates it, or if
/// it could not be created (the caller then uses the bootstrap arena).
[[gnu::noinline]] win32_heap* create_heap() noexcept {
    int expected = heap_none;
    if (!heap_state.compare_exchange_strong(expected, heap_creating, std::memory_order_acq_rel))
        return expected == heap_ready ? ready_heap() : nullptr;
    auto created = win32_heap::create(); // serialized, growable, Windows' decommit threshold
    if (!created) {
        heap_state.store(heap_failed, std::memory_order_release);
        return nullptr;
    }
    // Never destroyed: the program may free blocks after the last destructor has run.
    ::new (static_cast<void*>(heap_storage)) win32_heap(std::move(*created));
    heap_state.store(heap_ready, std::memory_order_release);
    hook_fork();
    return ready_heap();
}

inline win32_heap* heap() noexcept {
    if (heap_state.load(std::memory_order_acquire) == heap_ready) [[likely]]
        return ready_heap();
    return create_heap();
}

// --- the bootstrap arena: calls that arrive while the heap is being created ---------------------

// Each block: a 16-byte prefix holding its size, then the payload. Never reused (free ignores
// these blocks): only a handful of calls can land here.
constexpr std::size_t bootstrap_bytes = 256 * 1024;
alignas(heap_alignment) unsigned char bootstrap[bootstrap_bytes];
constinit std::atomic<std::size_t> bootstrap_used{0};

bool in_bootstrap(const void* p) noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    const auto b = reinterpret_cast<std::uintptr_t>(bootstrap);
    return a >= b && a < b + bootstrap_bytes;
}

void* bootstrap_allocate(std::size_t n, std::size_t alignment = heap_alignment) noexcept {
    if (n > bootstrap_bytes || alignment > bootstrap_bytes / 2)
        return nullptr;
    const std::size_t need = (n + heap_alignment - 1) / heap_alignment * heap_alignment +
                             heap_alignment + (alignment - heap_alignment);
    const std::size_t at = bootstrap_used.fetch_add(need, std::memory_order_relaxed);
    if (at + need > bootstrap_bytes)
        return nullptr;
    auto payload = reinterpret_cast<std::uintptr_t>(bootstrap + at) + heap_alignment;
    payload = (payload + alignment - 1) / alignment * alignment;
    std::memcpy(reinterpret_cast<void*>(payload - heap_alignment), &n, sizeof n);
    return reinterpret_cast<void*>(payload); // static storage: already zero
}

std::size_t bootstrap_size(const void* p) noexcept {
    std::size_t n = 0;
    std::memcpy(&n, static_cast<const unsigned char*>(p) - heap_alignment, sizeof n);
    return n;
}

// --- refused pointers: what glibc would have aborted on -----------------------------------------

constinit std::atomic<std::size_t> refused_count{0};
constinit std::atomic<int> first_refusal{0};

void refused(memmgr::errc e) noexcept {
    if (refused_count.fetch_add(1, std::memory_order_relaxed) == 0)
        first_refusal.store(static_cast<int>(e), std::memory_order_relaxed);
}

// --- over-aligned blocks: aligned address -> the heap block holding it
// ----------------------------

/// An open-addressing table (linear probing, deletion by moving entries back), its slots in a
/// block of the heap itself, under one mutex. Only addresses aligned to 32 or more can be keys,
/// and only while the table is not empty does free look there.
class aligned_blocks {
public:
    /// \returns false if the table could not grow (nothing recorded then).
    bool insert(win32_heap& h, void* aligned, void* base) noexcept {
        std::lock_guard lock(mutex_);
        if ((used_ + 1) * 2 > capacity_ && !grow(h))
            return false;
        place(key(aligned), base);
        ++used_;
        count_.store(used_, std::memory_order_relaxed);
        return true;
    }

    /// \returns the block holding aligned, or nullptr if aligned was not recorded.
    void* find(const void* aligned) noexcept {
        if (!candidate(aligned))
            return nullptr;
        std::lock_guard lock(mutex_);
        const std::size_t i = index_of(key(aligned));
        return i == npos ? nullptr : slots_[i].base;
    }

    /// \returns the block holding aligned and forgets it, or nullptr if aligned was not recorded.
    void* erase(const void* aligned) noexcept {
        if (!candidate(aligned))
            return nullptr;
        std::lock_guard lock(mutex_);
        std::size_t i = index_of(key(aligned));
        if (i == npos)
            return nullptr;
        void* const base = slots_[i].base;
        // Move back every entry of the run after i that may sit at i (its home is not in (i, j]).
        for (std::size_t j = next(i);; j = next(j)) {
            if (slots_[j].key == 0)
                break;
            const std::size_t home = hash(slots_[j].key);
            const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = {};
        --used_;
        count_.store(used_, std::memory_order_relaxed);
        return base;
    }

    /// For fork(): the table's mutex held across it.
    void lock() noexcept { mutex_.lock(); }
    void unlock() noexcept { mutex_.unlock(); }

private:
    struct slot {
        std::uintptr_t key = 0;
        void* base = nullptr;
    };
    static constexpr std::size_t npos = ~std::size_t{0};

    static std::uintptr_t key(const void* p) noexcept {
        return reinterpret_cast<std::uintptr_t>(p);
    }
    bool candidate(const void* p) const noexcept {
        return key(p) % (2 * heap_alignment) == 0 && count_.load(std::memory_order_relaxed) != 0;
    }
    std::size_t hash(std::uintptr_t k) const noexcept {
        return static_cast<std::size_t>(((k >> 5) * 0x9e3779b97f4a7c15u) >> 32) & (capacity_ - 1);
    }
    std::size_t next(std::size_t i) const noexcept { return (i + 1) & (capacity_ - 1); }
    std::size_t index_of(std::uintptr_t k) const noexcept {
        if (capacity_ == 0)
            return npos;
        for (std::size_t i = hash(k);; i = next(i)) {
            if (slots_[i].key == k)
                return i;
            if (slots_[i].key == 0)
                return npos;
        }
    }
    void place(std::uintptr_t k, void* base) noexcept {
        std::size_t i = hash(k);
        while (slots_[i].key != 0)
            i = next(i);
        slots_[i] = {k, base};
    }
    bool grow(win32_heap& h) noexcept {
        const std::size_t capacity = capacity_ == 0 ? 64 : capacity_ * 2;
        auto block = h.allocate_zeroed(capacity, sizeof(slot));
        if (!block)
            return false;
        slot* const old = slots_;
        const std::size_t old_capacity = capacity_;
        slots_ = static_cast<slot*>(*block);
        capacity_ = capacity;
        for (std::size_t i = 0; i < old_capacity; ++i)
            if (old[i].key != 0)
                place(old[i].key, old[i].base);
        if (old)
            (void)h.free(old);
        return true;
    }

    std::mutex mutex_;
    slot* slots_ = nullptr;
    std::size_t capacity_ = 0; // a power of two, or 0
    std::size_t used_ = 0;
    std::atomic<std::size_t> count_{0}; // used_, readable without the mutex
};

constinit aligned_blocks aligned;

// The heap makes itself fork-safe; the table's mutex is ours to hold across fork(), so that a
// child forked while another thread held it does not wait for it forever. Registered once the
// heap exists (pthread_atfork may allocate). Taken before the heap's lock, as grow() takes them.
void hook_fork() noexcept {
    (void)::pthread_atfork([] { aligned.lock(); }, [] { aligned.unlock(); },
                           [] { aligned.unlock(); });
}

// --- the operations ------------------------------------------------------------------------------

void* out_of_memory() noexcept {
    errno = ENOMEM;
    return nullptr;
}

void* allocate(std::size_t n) noexcept {
    win32_heap* h = heap();
    if (!h) [[unlikely]] {
        void* p = bootstrap_allocate(n);
        return p ? p : out_of_memory();
    }
    auto p = h->allocate(n);
    return p ? *p : out_of_memory();
}

bool power_of_two(std::size_t n) noexcept {
    return n != 0 && (n & (n - 1)) == 0;
}

/// memalign as glibc 2.36 has it: alignments up to 16 are malloc's, others are rounded up to a
/// power of two; one above SIZE_MAX / 2 + 1 is EINVAL.
void* allocate_aligned(std::size_t alignment, std::size_t n) noexcept {
    if (alignment <= heap_alignment)
        return allocate(n);
    if (alignment > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return nullptr;
    }
    while (!power_of_two(alignment))
        alignment += alignment & -alignment; // up to the next power of two
    win32_heap* h = heap();
    if (!h) [[unlikely]] {
        void* p = bootstrap_allocate(n, alignment);
        return p ? p : out_of_memory();
    }
    // The heap's blocks are 16-aligned, so alignment - 16 spare bytes always reach an aligned
    // address; the tail beyond it is given back in place.
    if (n > SIZE_MAX - alignment)
        return out_of_memory();
    auto block = h->allocate(n + alignment - heap_alignment);
    if (!block)
        return out_of_memory();
    void* const base = *block;
    const auto at = reinterpret_cast<std::uintptr_t>(base);
    const std::size_t offset = (alignment - at % alignment) % alignment;
    (void)h->resize_in_place(base, offset + n); // shrinking only: a refusal costs memory, no more
    if (offset == 0)
        return base;
    void* const p = static_cast<unsigned char*>(base) + offset;
    if (!aligned.insert(*h, p, base)) {
        (void)h->free(base);
        return out_of_memory();
    }
    return p;
}

void release(void* p) noexcept {
    if (!p || in_bootstrap(p))
        return;
    if (void* base = aligned.erase(p))
        p = base;
    win32_heap* h = heap();
    if (!h) {
        refused(memmgr::errc::foreign_block);
        return;
    }
    if (auto r = h->free(p); !r)
        refused(r.error());
}

std::size_t usable_size(void* p) noexcept {
    if (!p)
        return 0;
    if (in_bootstrap(p))
        return bootstrap_size(p);
    win32_heap* h = heap();
    if (!h)
        return 0;
    const void* block = p;
    std::size_t offset = 0;
    if (void* base = aligned.find(p)) {
        block = base;
        offset = static_cast<std::size_t>(static_cast<unsigned char*>(p) -
                                          static_cast<unsigned char*>(base));
    }
    auto n = h->size(block);
    if (!n) {
        refused(n.error());
        return 0;
    }
    return *n - offset;
}

void* resize(void* p, std::size_t n) noexcept {
    if (!p)
        return allocate(n);
    if (n == 0) { // glibc frees and returns a null pointer
        release(p);
        return nullptr;
    }
    win32_heap* h = heap();
    if (!h || in_bootstrap(p) || aligned.find(p)) {
        // Not a plain block of the heap: move it to one (glibc's realloc keeps no alignment
        // beyond malloc's either).
        const std::size_t old = usable_size(p);
        void* q = allocate(n);
        if (q) {
            std::memcpy(q, p, old < n ? old : n);
            release(p);
        }
        return q;
    }
    auto q = h->reallocate(p, n);
    if (q)
        return *q;
    const memmgr::errc e = q.error();
    if (e != memmgr::errc::out_of_memory && e != memmgr::errc::size_overflow)
        refused(e);
    return out_of_memory();
}

// --- the verdict at exit -------------------------------------------------------------------------

/// A line built without allocating (the heap is what is being judged).
class line {
public:
    line& operator<<(std::string_view s) noexcept {
        for (char c : s)
            if (used_ < sizeof buffer_)
                buffer_[used_++] = c;
        return *this;
    }
    line& operator<<(std::size_t n) noexcept {
        char digits[24];
        std::size_t count = 0;
        do {
            digits[count++] = static_cast<char>('0' + n % 10);
            n /= 10;
        } while (n != 0);
        while (count != 0)
            *this << std::string_view(&digits[--count], 1);
        return *this;
    }
    /// \effects appends the line to path in one write (O_APPEND: processes do not interleave).
    void append_to(const char* path) const noexcept {
        const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
            return;
        (void)!::write(fd, buffer_, used_);
        ::close(fd);
    }

private:
    char buffer_[512];
    std::size_t used_ = 0;
};

[[gnu::destructor]] void report_at_exit() noexcept {
    const char* path = std::getenv("MEMMGR_HEAP_REPORT");
    if (!path || !*path)
        return;
    line out;
    if (heap_state.load(std::memory_order_acquire) != heap_ready) {
        out << "memmgr-heap: INVALID (the heap was never created)";
    } else if (auto valid = ready_heap()->validate(); !valid) {
        out << "memmgr-heap: INVALID (validate: " << memmgr::describe(valid.error()) << ")";
    } else if (const std::size_t n = refused_count.load(); n != 0) {
        out << "memmgr-heap: INVALID (" << n << (n == 1 ? " pointer" : " pointers")
            << " refused, the first: "
            << memmgr::describe(static_cast<memmgr::errc>(first_refusal.load())) << ")";
    } else if (auto entries = ready_heap()->walk(); !entries) {
        out << "memmgr-heap: INVALID (walk: " << memmgr::describe(entries.error()) << ")";
    } else {
        // The walk's own snapshot is a block in use while it walks: not the program's.
        std::size_t blocks = 0;
        std::size_t bytes = 0;
        for (const memmgr::heap_entry& e : *entries)
            if (e.in_use && e.address != entries->data()) {
                ++blocks;
                bytes += e.size;
            }
        out << "memmgr-heap: valid, " << blocks << " blocks in use (" << bytes << " bytes)";
    }
    out << ", pid " << static_cast<std::size_t>(::getpid()) << ", "
        << std::string_view(program_invocation_short_name) << "\n";
    out.append_to(path);
}

} // namespace

// --- the C interface: what glibc's manual lists for replacing malloc -----------------------------

extern "C" {

[[gnu::visibility("default")]] void* malloc(std::size_t n) noexcept {
    return allocate(n);
}

[[gnu::visibility("default")]] void free(void* p) noexcept {
    release(p);
}

[[gnu::visibility("default")]] void* calloc(std::size_t count, std::size_t size) noexcept {
    win32_heap* h = heap();
    if (!h) [[unlikely]] {
        if (size != 0 && count > SIZE_MAX / size)
            return out_of_memory();
        void* p = bootstrap_allocate(count * size); // static storage: already zero
        return p ? p : out_of_memory();
    }
    auto p = h->allocate_zeroed(count, size); // size_overflow when count x size overflows
    return p ? *p : out_of_memory();
}

[[gnu::visibility("default")]] void* realloc(void* p, std::size_t n) noexcept {
    return resize(p, n);
}

[[gnu::visibility("default")]] void* reallocarray(void* p, std::size_t count,
                                                  std::size_t size) noexcept {
    if (size != 0 && count > SIZE_MAX / size)
        return out_of_memory();
    return resize(p, count * size);
}

[[gnu::visibility("default")]] void* memalign(std::size_t alignment, std::size_t n) noexcept {
    return allocate_aligned(alignment, n);
}

[[gnu::visibility("default")]] void* aligned_alloc(std::size_t alignment, std::size_t n) noexcept {
    return allocate_aligned(alignment, n); // glibc 2.36: the same as memalign
}

[[gnu::visibility("default")]] int posix_memalign(void** out, std::size_t alignment,
                                                  std::size_t n) noexcept {
    if (alignment % sizeof(void*) != 0 || !power_of_two(alignment / sizeof(void*)))
        return EINVAL;
    const int saved = errno;
    void* p = allocate_aligned(alignment, n);
    errno = saved;
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

[[gnu::visibility("default")]] void* valloc(std::size_t n) noexcept {
    return allocate_aligned(static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)), n);
}

[[gnu::visibility("default")]] void* pvalloc(std::size_t n) noexcept {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    if (n > SIZE_MAX - page)
        return out_of_memory();
    return allocate_aligned(page, (n + page - 1) / page * page);
}

[[gnu::visibility("default")]] std::size_t malloc_usable_size(void* p) noexcept {
    return usable_size(p);
}

} // extern "C"
