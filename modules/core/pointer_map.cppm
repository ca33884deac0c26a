// memmgr:pointer_map (internal): a map from non-null pointers to small values, for the
// bookkeeping of heaps built over other heaps (live blocks, recent frees).
//
// Open addressing with linear probing and backward-shift deletion: no allocation per entry, no
// tombstones, one cache line per lookup in the common case. Keys are never dereferenced. Not
// thread-safe; its owners lock. nullptr marks an empty slot, so it is never a key: every operation
// treats it as absent (a lookup of nullptr must not land on an empty slot and "find" it).
module;
#include <bit>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

export module memmgr:pointer_map;

namespace memmgr::detail {

template <class V>
class pointer_map {
public:
    /// \returns whether k is present (never for nullptr).
    [[nodiscard]] bool contains(const void* k) const noexcept { return find(k) != nullptr; }

    /// \returns the value of k, or nullptr (always for k == nullptr).
    [[nodiscard]] V* find(const void* k) noexcept {
        return const_cast<V*>(std::as_const(*this).find(k));
    }
    [[nodiscard]] const V* find(const void* k) const noexcept {
        if (slots_.empty() || k == nullptr)
            return nullptr;
        for (std::size_t i = home(k);; i = next(i)) {
            if (slots_[i].key == k)
                return &slots_[i].value;
            if (slots_[i].key == nullptr)
                return nullptr;
        }
    }

    /// \effects sets k's value to v, adding k if absent. \returns false (and changes nothing) if
    /// the table cannot grow, or for k == nullptr (the empty slots' mark cannot be a key).
    bool insert_or_assign(const void* k, V v) noexcept {
        if (k == nullptr)
            return false;
        // One probe finds k or the empty slot where it goes (as a lookup would stop there).
        std::size_t i = 0;
        if (!slots_.empty()) {
            for (i = home(k); slots_[i].key != nullptr; i = next(i))
                if (slots_[i].key == k) {
                    slots_[i].value = std::move(v);
                    return true;
                }
        }
        if ((size_ + 1) * 4 > slots_.size() * 3) {
            if (!grow())
                return false;
            place(k, std::move(v)); // the table changed: probe it again
        } else {
            slots_[i] = slot{k, std::move(v)};
        }
        ++size_;
        return true;
    }

    /// \effects removes k. \returns false if it was absent (always for nullptr).
    bool erase(const void* k) noexcept {
        if (slots_.empty() || k == nullptr)
            return false;
        std::size_t i = home(k);
        for (;; i = next(i)) {
            if (slots_[i].key == k)
                break;
            if (slots_[i].key == nullptr)
                return false;
        }
        // Backward-shift: pull later entries of the probe run into the hole, so that lookups
        // never need tombstones.
        for (std::size_t j = next(i);; j = next(j)) {
            if (slots_[j].key == nullptr)
                break;
            const std::size_t h = home(slots_[j].key);
            // Move j into i if its home is not in the cyclic range (i, j].
            if ((i < j) ? (h <= i || h > j) : (h <= i && h > j)) {
                slots_[i] = std::move(slots_[j]);
                i = j;
            }
        }
        slots_[i] = slot{};
        --size_;
        return true;
    }

    /// \effects asks the processor to bring k's home slot into the cache, so that a lookup that
    /// follows other work finds it there (a hint: nothing is read, no fault is possible).
    void prefetch(const void* k) const noexcept {
#if defined(__GNUC__) || defined(__clang__)
        if (!slots_.empty())
            __builtin_prefetch(slots_.data() + home(k));
#else
        (void)k;
#endif
    }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

    /// Calls f(key, value) for every entry, in no particular order.
    template <class F>
    void for_each(F&& f) const {
        for (const slot& s : slots_)
            if (s.key != nullptr)
                f(s.key, s.value);
    }

private:
    // An empty V (a set of pointers) takes no room: a slot is the key alone, and twice as many
    // share a cache line.
    struct slot {
        const void* key = nullptr;
        [[no_unique_address]] V value{};
    };

    std::size_t home(const void* k) const noexcept {
        // Fibonacci hashing of the address; the low bits of block addresses are mostly zero.
        const auto x = reinterpret_cast<std::uintptr_t>(k) * std::uint64_t{0x9E3779B97F4A7C15u};
        return static_cast<std::size_t>(x >> shift_);
    }
    std::size_t next(std::size_t i) const noexcept { return (i + 1) & (slots_.size() - 1); }

    void place(const void* k, V v) noexcept {
        std::size_t i = home(k);
        while (slots_[i].key != nullptr)
            i = next(i);
        slots_[i] = slot{k, std::move(v)};
    }

    bool grow() noexcept {
        const std::size_t capacity = slots_.empty() ? 64 : slots_.size() * 2;
        std::vector<slot> old;
        try {
            old = std::exchange(slots_, std::vector<slot>(capacity));
        } catch (...) {
            return false; // slots_ is unchanged: the exchange happens only once the vector exists
        }
        shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
        for (slot& s : old)
            if (s.key != nullptr)
                place(s.key, std::move(s.value));
        return true;
    }

    std::vector<slot> slots_;
    std::size_t size_ = 0;
    unsigned shift_ = 64;
};

} // namespace memmgr::detail
