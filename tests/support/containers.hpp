// What the adapters' tests share (tests/adapters/): the heaps every adapter is tried over, the same
// container workload over any allocator, over-aligned types, and a private heap's live blocks.
// Include after `import memmgr;`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <forward_list>
#include <list>
#include <map>
#include <memory>
#include <memory_resource>
#include <numeric>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace memmgr_test {

using all_heaps = std::tuple<memmgr::crt_heap, memmgr::com_heap, memmgr::local_heap,
                             memmgr::global_heap, memmgr::win32_heap>;

// A string long enough never to fit in the small-string buffer, so that it allocates.
inline std::string long_text(int i) {
    return "a string long enough to need a block of its own #" + std::to_string(i);
}

template <class A>
using alloc_string = std::basic_string<char, std::char_traits<char>, A>;

// The same workload over any allocator: every container, filled, changed and checked. Returns the
// number of checks that failed (0 when the containers behaved).
template <class Alloc>
int exercise_containers(const Alloc& alloc) {
    using traits = std::allocator_traits<Alloc>;
    using string = alloc_string<typename traits::template rebind_alloc<char>>;
    int failures = 0;
    auto check = [&](bool ok) {
        failures += ok ? 0 : 1;
    };

    std::vector<int, typename traits::template rebind_alloc<int>> v(alloc);
    for (int i = 0; i < 1000; ++i)
        v.push_back(i);
    check(std::accumulate(v.begin(), v.end(), 0) == 499500);

    std::deque<int, typename traits::template rebind_alloc<int>> d(alloc);
    for (int i = 0; i < 1000; ++i)
        (i % 2 ? d.push_back(i) : d.push_front(i));
    check(d.size() == 1000u);

    std::list<int, typename traits::template rebind_alloc<int>> l(alloc);
    for (int i = 0; i < 300; ++i)
        l.push_back(i);
    l.remove_if([](int x) { return x % 3 == 0; });
    check(l.size() == 200u);

    std::forward_list<int, typename traits::template rebind_alloc<int>> f(alloc);
    for (int i = 0; i < 300; ++i)
        f.push_front(i);
    check(f.front() == 299);

    using kv = std::pair<const int, string>;
    std::map<int, string, std::less<>, typename traits::template rebind_alloc<kv>> m(alloc);
    for (int i = 0; i < 300; ++i)
        m.emplace(i, string(long_text(i).c_str(), alloc));
    m.erase(7);
    check(m.size() == 299u && std::string_view(m.at(8)) == long_text(8));

    std::set<int, std::less<>, typename traits::template rebind_alloc<int>> s(alloc);
    for (int i = 0; i < 300; ++i)
        s.insert(i * 7 % 307); // 307 is prime: 300 distinct keys
    check(s.size() == 300u);

    std::unordered_map<int, int, std::hash<int>, std::equal_to<>,
                       typename traits::template rebind_alloc<std::pair<const int, int>>>
        u(alloc);
    for (int i = 0; i < 1000; ++i)
        u[i] = i * i;
    check(u.size() == 1000u && u[30] == 900);

    string text(alloc);
    for (int i = 0; i < 100; ++i)
        text += "abc";
    text.resize(150);
    check(text.size() == 150u && std::string_view(text).substr(0, 3) == "abc");
    return failures;
}

struct alignas(64) cache_line {
    std::uint64_t values[8];
};
struct alignas(4096) page {
    unsigned char bytes[4096];
};

// What a heap walk says is in use, where the heap can walk; the checking heap counts itself.
inline std::size_t blocks_in_use(const memmgr::win32_heap& heap) {
    return heap.statistics().value().blocks_in_use;
}

} // namespace memmgr_test
