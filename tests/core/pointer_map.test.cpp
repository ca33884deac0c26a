// memmgr:pointer_map (detail): the bookkeeping table behind debug_heap and the POSIX process heap,
// checked against std::unordered_map over random operations that force collisions, wrap-around
// probe runs and backward-shift deletions.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

import memmgr;

BOOST_AUTO_TEST_SUITE(pointer_map_tests)

BOOST_AUTO_TEST_CASE(agrees_with_unordered_map_under_random_operations) {
    memmgr::testing::pointer_map<std::uint64_t> table;
    std::unordered_map<const void*, std::uint64_t> model;
    std::mt19937_64 rng(42);
    // Keys from a small pool of 16-aligned addresses, so that inserts, erases and re-inserts of the
    // same keys interleave and the table grows through several sizes.
    std::vector<const void*> pool;
    for (std::uintptr_t i = 1; i <= 3000; ++i)
        pool.push_back(reinterpret_cast<const void*>(i * 16));
    int mismatches = 0;
    for (int step = 0; step < 200000; ++step) {
        const void* k = pool[rng() % pool.size()];
        switch (rng() % 3) {
        case 0: {
            const std::uint64_t v = rng();
            BOOST_REQUIRE(table.insert_or_assign(k, v));
            model[k] = v;
            break;
        }
        case 1:
            mismatches += table.erase(k) != (model.erase(k) == 1);
            break;
        default: {
            const auto* found = table.find(k);
            const auto it = model.find(k);
            mismatches += (found == nullptr) != (it == model.end());
            if (found != nullptr && it != model.end())
                mismatches += *found != it->second;
        }
        }
        mismatches += table.size() != model.size();
    }
    BOOST_TEST(mismatches == 0);
    std::size_t visited = 0;
    table.for_each([&](const void* k, std::uint64_t v) {
        ++visited;
        BOOST_TEST(model.at(k) == v);
    });
    BOOST_TEST(visited == model.size());
}

// With an empty value type the table is a set of pointers (debug_heap's live blocks): the slots
// hold the key alone, and inserts, erases and lookups agree with std::unordered_set through growth
// and backward-shift deletions; an insert of a present key changes nothing.
BOOST_AUTO_TEST_CASE(a_map_to_an_empty_type_is_a_set_of_pointers) {
    struct mark {};
    memmgr::testing::pointer_map<mark> table;
    std::unordered_set<const void*> model;
    std::mt19937_64 rng(7);
    int mismatches = 0;
    for (int step = 0; step < 100000; ++step) {
        const auto* k = reinterpret_cast<const void*>((rng() % 2000 + 1) * 16);
        switch (rng() % 3) {
        case 0:
            BOOST_REQUIRE(table.insert_or_assign(k, mark{}));
            model.insert(k);
            break;
        case 1:
            mismatches += table.erase(k) != (model.erase(k) == 1);
            break;
        default:
            mismatches += table.contains(k) != model.contains(k);
        }
        mismatches += table.size() != model.size();
    }
    BOOST_TEST(mismatches == 0);
    std::size_t visited = 0;
    table.for_each([&](const void* k, mark) { visited += model.contains(k) ? 1 : 0; });
    BOOST_TEST(visited == model.size());
}

BOOST_AUTO_TEST_CASE(an_empty_map_finds_nothing) {
    memmgr::testing::pointer_map<int> table;
    int x = 0;
    BOOST_TEST(!table.contains(&x));
    BOOST_TEST(!table.erase(&x));
    BOOST_TEST(table.empty());
}

// nullptr marks the empty slots: it must never read as a key, in an empty table, in a table that
// exists (where its lookup once landed on an empty slot and "found" it), or once inserted.
BOOST_AUTO_TEST_CASE(nullptr_is_never_a_key) {
    memmgr::testing::pointer_map<int> table;
    BOOST_TEST(!table.contains(nullptr));
    int x = 0;
    BOOST_TEST(table.insert_or_assign(&x, 1));
    BOOST_TEST(!table.contains(nullptr));
    BOOST_TEST((table.find(nullptr) == nullptr));
    BOOST_TEST(!table.insert_or_assign(nullptr, 2));
    BOOST_TEST(!table.contains(nullptr));
    BOOST_TEST(!table.erase(nullptr));
    BOOST_TEST(table.size() == 1u);
    BOOST_TEST(*table.find(&x) == 1);
}

BOOST_AUTO_TEST_SUITE_END()
