// The private heap engine's giving pages back: the pages of a free run above the decommit
// threshold wait, resident, on a short list until more than decommit_total_threshold bytes of them
// wait; then the oldest go back to the kernel. A run used again before that costs no system call
// and no page fault (docs/private_heap.md, "Giving memory back").
#include "impl.hpp"

#include <sys/mman.h>

namespace memmgr::detail::posix {

std::pair<std::uintptr_t, std::uintptr_t>
private_heap::impl::decommit_span(const header* h, std::uintptr_t from,
                                  std::uintptr_t to) const noexcept {
    const std::uintptr_t first = round_up(address(h + 1) + sizeof(free_links), page);
    const std::uintptr_t last = (address(h) + block_bytes(h)) & ~(page - 1);
    from &= ~(page - 1);
    to = to < last ? round_up(to, page) : last;
    return {from < first ? first : from, to > last ? last : to};
}

[[gnu::noinline]] void private_heap::impl::decommit(const header* h, std::uintptr_t from,
                                                    std::uintptr_t to) noexcept {
    if (!segment_block(h, 0))
        return;
    const auto [first, last] = decommit_span(h, from, to);
    if (last > first)
        ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

void private_heap::impl::decommit_later(const header* h, std::uintptr_t from,
                                        std::uintptr_t to) noexcept {
    if (cfg.decommit_total_threshold == 0) {
        decommit(h, from, to);
        return;
    }
    const auto [first, last] = decommit_span(h, from, to);
    if (last <= first)
        return;
    if (waiting_count >= max_waiting) { // the list is full: the oldest goes back now
        decommit(waiting[0], 0, std::numeric_limits<std::uintptr_t>::max());
        waiting_count = max_waiting;
        drop_waiting(0);
    }
    const std::size_t n = (last - first) / page;
    const auto counted = static_cast<std::uint32_t>(n < UINT32_MAX ? n : UINT32_MAX);
    waiting[waiting_count] = h;
    waiting_pages[waiting_count] = counted;
    ++waiting_count;
    waiting_bytes += counted * page;
    if (waiting_bytes > cfg.decommit_total_threshold)
        give_back_waiting(cfg.decommit_total_threshold / 2);
}

void private_heap::impl::give_back_waiting(std::size_t keep) noexcept {
    const std::size_t count = waiting_count < max_waiting ? waiting_count : max_waiting;
    std::size_t gone = 0;
    std::size_t left = waiting_bytes;
    while (gone < count && left > keep) {
        // Gives nothing back unless the entry is a free block of a segment still.
        decommit(waiting[gone], 0, std::numeric_limits<std::uintptr_t>::max());
        const std::size_t bytes = waiting_pages[gone] * page;
        left -= bytes < left ? bytes : left;
        ++gone;
    }
    for (std::size_t i = gone; i < count; ++i) {
        waiting[i - gone] = waiting[i];
        waiting_pages[i - gone] = waiting_pages[i];
    }
    waiting_count = static_cast<std::uint8_t>(count - gone);
    waiting_bytes = waiting_count == 0 ? 0 : left;
}

bool private_heap::impl::take_waiting(const header* h) noexcept {
    for (std::size_t i = 0; i < waiting_count && i < max_waiting; ++i) {
        if (waiting[i] == h) {
            drop_waiting(i);
            return true;
        }
    }
    return false;
}

void private_heap::impl::waiting_moved(const header* h, const header* rest) noexcept {
    for (std::size_t i = 0; i < waiting_count && i < max_waiting; ++i) {
        if (waiting[i] != h)
            continue;
        const auto [first, last] =
            rest ? decommit_span(rest, 0, std::numeric_limits<std::uintptr_t>::max())
                 : std::pair<std::uintptr_t, std::uintptr_t>{0, 0};
        if (last <= first) {
            drop_waiting(i);
            return;
        }
        // At most what rest holds: the part taken is in use now.
        const std::size_t n = (last - first) / page;
        if (n < waiting_pages[i]) {
            waiting_bytes -= (waiting_pages[i] - n) * page;
            waiting_pages[i] = static_cast<std::uint32_t>(n);
        }
        waiting[i] = rest;
        return;
    }
}

void private_heap::impl::drop_waiting(std::size_t i) noexcept {
    const std::size_t bytes = waiting_pages[i] * page;
    waiting_bytes -= bytes < waiting_bytes ? bytes : waiting_bytes;
    const std::size_t count = waiting_count < max_waiting ? waiting_count : max_waiting;
    for (std::size_t j = i + 1; j < count; ++j) {
        waiting[j - 1] = waiting[j];
        waiting_pages[j - 1] = waiting_pages[j];
    }
    waiting_count = static_cast<std::uint8_t>(count - 1);
}

} // namespace memmgr::detail::posix
