// memmgr:errors: codes, categories, messages, checked arithmetic and heap_error.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <new>
#include <set>
#include <string>
#include <system_error>
#include <type_traits>

import memmgr;

using memmgr::errc;

// Catching by value after an out-of-memory must not throw again.
static_assert(std::is_nothrow_copy_constructible_v<memmgr::heap_error>);
static_assert(std::is_nothrow_copy_assignable_v<memmgr::heap_error>);

BOOST_AUTO_TEST_SUITE(errors_tests)

BOOST_AUTO_TEST_CASE(errc_converts_to_error_code_in_memmgr_category) {
    std::error_code ec = errc::heap_full;
    BOOST_TEST(ec.value() == static_cast<int>(errc::heap_full));
    BOOST_TEST(std::string(ec.category().name()) == "memmgr");
    BOOST_TEST(&ec.category() == &memmgr::memmgr_category());
    BOOST_TEST(ec == errc::heap_full);
    BOOST_TEST(ec != errc::out_of_memory);
}

BOOST_AUTO_TEST_CASE(every_code_has_its_own_readable_message) {
    std::set<std::string> seen;
    for (int v = static_cast<int>(errc::out_of_memory); v <= static_cast<int>(errc::not_a_bstr);
         ++v) {
        const auto message = memmgr::make_error_code(static_cast<errc>(v)).message();
        BOOST_TEST_INFO("code " << v);
        BOOST_TEST(!message.empty());
        BOOST_TEST(message != "unknown memmgr error");
        BOOST_TEST(seen.insert(message).second, "message repeated: " << message);
    }
    BOOST_TEST(memmgr::make_error_code(static_cast<errc>(999)).message() == "unknown memmgr error");
}

BOOST_AUTO_TEST_CASE(checked_multiply_rejects_wrap_and_oversize) {
    BOOST_TEST(*memmgr::checked_multiply(0, SIZE_MAX) == 0u);
    BOOST_TEST(*memmgr::checked_multiply(SIZE_MAX, 0) == 0u);
    BOOST_TEST(*memmgr::checked_multiply(1000, 24) == 24000u);

    const auto wraps = memmgr::checked_multiply(SIZE_MAX / 2 + 1, 2); // == 0 modulo 2^64
    BOOST_REQUIRE(!wraps);
    BOOST_TEST(wraps.error() == errc::size_overflow);

    const auto too_big = memmgr::checked_multiply(memmgr::max_request_size / 8 + 1, 8);
    BOOST_REQUIRE(!too_big);
    BOOST_TEST(too_big.error() == errc::size_overflow);
    BOOST_TEST(*memmgr::checked_multiply(memmgr::max_request_size / 8, 8) <=
               memmgr::max_request_size);
}

BOOST_AUTO_TEST_CASE(heap_error_is_a_bad_alloc_that_says_who_and_how_much) {
    try {
        throw memmgr::heap_error("win32_heap", 4096, errc::heap_full);
    } catch (const std::bad_alloc& e) {
        const std::string what = e.what();
        BOOST_TEST(what.find("win32_heap") != std::string::npos);
        BOOST_TEST(what.find("4096") != std::string::npos);
        BOOST_TEST(what.find("heap full") != std::string::npos);
        const auto* he = dynamic_cast<const memmgr::heap_error*>(&e);
        BOOST_REQUIRE(he != nullptr);
        BOOST_TEST(he->heap() == "win32_heap");
        BOOST_TEST(he->requested_size() == 4096u);
        BOOST_TEST(he->reason() == errc::heap_full);
        BOOST_TEST(he->code() == errc::heap_full);
    }
}

BOOST_AUTO_TEST_CASE(result_carries_value_or_errc) {
    memmgr::result<int> good = 7;
    memmgr::result<int> bad = memmgr::fail(errc::bad_alignment);
    BOOST_TEST(good.has_value());
    BOOST_TEST(*good == 7);
    BOOST_TEST(!bad.has_value());
    BOOST_TEST(bad.error() == errc::bad_alignment);
    BOOST_TEST(bad.value_or(3) == 3);
}

BOOST_AUTO_TEST_SUITE_END()
