// The failure sweep, on both legs: each container operation is re-run with the k-th allocation
// failing, for k = 0, 1, 2... until the operation completes, through both routes from a heap to a
// container (heap_resource with std::pmr containers, heap_allocator with std containers) on the
// checking heap. After every injected failure:
// - the heap_error says out_of_memory;
// - the operation's exception guarantee holds (docs/reliability.md): strong, the container is as it
//   was; basic, the container is valid (its size matches what it holds) and usable (the operation
//   then succeeds on it);
// - once the containers are gone, no block is left, none was refused, none was misaligned.
// Then BSTR operations, with the k-th task-allocator allocation failing (task_memory.hpp: memmgr's
// process heap on POSIX, oleaut32 under an IMallocSpy on Windows): every by-value form says
// out_of_memory, every throwing form throws heap_error naming "bstr", the bstr keeps its old value
// (docs/bstr.md: nothing is ever half-done), and no task-allocator block is left.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <list>
#include <map>
#include <memory_resource>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "support/blocks.hpp"

import memmgr;

#include "support/checking_heap.hpp"
#include "support/task_memory.hpp"

using namespace memmgr_test;

namespace {

using checked = checking_heap<>;

// The two routes from a heap to a standard container.
struct pmr_route {
    struct context {
        checked heap;
        memmgr::heap_resource<checked&> resource{heap};
        std::pmr::memory_resource* alloc() { return &resource; }
    };
    template <class T>
    using vector = std::pmr::vector<T>;
    template <class T>
    using list = std::pmr::list<T>;
    template <class K, class V>
    using map = std::pmr::map<K, V>;
    template <class K, class V>
    using unordered_map = std::pmr::unordered_map<K, V>;
    using string = std::pmr::string;
    // Elements are constructed with the container's resource (uses-allocator construction).
    template <class F>
    static void with_text(context&, const char* text, F emplace) {
        emplace(text);
    }
};

struct allocator_route {
    struct context {
        checked heap;
        memmgr::heap_allocator<char, checked> alloc() { return heap; }
    };
    template <class T>
    using allocator = memmgr::heap_allocator<T, checked>;
    template <class T>
    using vector = std::vector<T, allocator<T>>;
    template <class T>
    using list = std::list<T, allocator<T>>;
    template <class K, class V>
    using map = std::map<K, V, std::less<K>, allocator<std::pair<const K, V>>>;
    template <class K, class V>
    using unordered_map =
        std::unordered_map<K, V, std::hash<K>, std::equal_to<K>, allocator<std::pair<const K, V>>>;
    using string = std::basic_string<char, std::char_traits<char>, allocator<char>>;
    // Elements need the allocator passed: a stateful heap_allocator has no default.
    template <class F>
    static void with_text(context& ctx, const char* text, F emplace) {
        emplace(text, ctx.alloc());
    }
};

using routes = std::tuple<pmr_route, allocator_route>;

// Long enough never to fit in the small-string buffer: every string is a block of the heap.
std::string long_text(int i) {
    return "a string that needs a block of the heap for itself, number " + std::to_string(i);
}

// A container's contents as plain strings, in a form that outlives the heap and compares: each
// element in iteration order (sorted for unordered containers, whose order a rehash changes).
std::string text_of(int v) {
    return std::to_string(v);
}
template <class S>
requires requires(const S& s) { std::string_view(s); }
std::string text_of(const S& s) {
    return std::string(std::string_view(s));
}
template <class K, class V>
std::string text_of(const std::pair<K, V>& kv) {
    return text_of(kv.first) + "=" + text_of(kv.second);
}

template <class C>
std::vector<std::string> contents(const C& c) {
    if constexpr (std::is_same_v<typename C::value_type, char>) {
        return {text_of(c)};
    } else {
        std::vector<std::string> out;
        for (const auto& e : c)
            out.push_back(text_of(e));
        if constexpr (requires { typename C::hasher; })
            std::ranges::sort(out);
        return out;
    }
}

// A valid container: it holds as many elements as it says.
template <class C>
bool valid(const C& c) {
    return static_cast<std::size_t>(std::distance(c.begin(), c.end())) == c.size();
}

enum class guarantee { strong, basic };

// What one operation works on: the container `c`, and whatever else it needs (prepared before
// failures are injected, so that the sweep counts the operation's own allocations only).
template <class C, class Extra = int>
struct subject {
    C c;
    Extra extra{};
};

// Runs `operation` on what `prepare` builds, with the k-th allocation failing, for every k until it
// completes. \returns the number of failures injected (and checked).
template <class Route, class Prepare, class Operation>
std::size_t sweep(std::string_view what, guarantee promised, Prepare prepare, Operation operation) {
    std::size_t failures = 0;
    for (std::size_t k = 0;; ++k) {
        BOOST_TEST_CONTEXT(what << " with allocation " << k << " failing") {
            typename Route::context ctx;
            bool completed = false;
            {
                auto s = prepare(ctx);
                const auto before = contents(s.c);
                ctx.heap.fail_after(k);
                try {
                    operation(s, ctx);
                    completed = true;
                } catch (const memmgr::heap_error& e) {
                    ++failures;
                    BOOST_TEST(e.reason() == memmgr::errc::out_of_memory);
                    ctx.heap.never_fail();
                    BOOST_TEST(valid(s.c));
                    if (promised == guarantee::strong)
                        BOOST_TEST(contents(s.c) == before, boost::test_tools::per_element());
                    operation(s, ctx); // usable: now it succeeds
                    BOOST_TEST(valid(s.c));
                }
                ctx.heap.never_fail();
            }
            BOOST_TEST(ctx.heap.leak_free());
            BOOST_TEST(ctx.heap.refused_frees() == 0u);
            BOOST_TEST(ctx.heap.misaligned_blocks() == 0u);
            if (completed)
                break;
        }
    }
    BOOST_TEST(failures > 0u, what << ": the sweep injected failures");
    BOOST_TEST_MESSAGE("failure sweep: " << what << ": " << failures << " failures");
    return failures;
}

template <class Route>
typename Route::string make_string(typename Route::context& ctx, int i) {
    return typename Route::string(long_text(i).c_str(), ctx.alloc());
}

// A container of n elements made by make(ctx, i), its capacity exhausted where it has one.
template <class C, class Context, class Make>
C filled_with(Context& ctx, int n, Make make) {
    C c(ctx.alloc());
    for (int i = 0; i < n; ++i)
        c.insert(c.end(), make(ctx, i));
    if constexpr (requires { c.shrink_to_fit(); })
        c.shrink_to_fit();
    return c;
}

// A copy made with the allocator-extended copy constructor: on the same heap on both routes (a
// plain copy of a pmr container would go to the default resource).
template <class C>
void copy_of(const C& c) {
    const C copy(c, c.get_allocator());
    BOOST_TEST(contents(copy) == contents(c), boost::test_tools::per_element());
}

template <class Route>
std::pair<const int, typename Route::string> entry(typename Route::context& ctx, int i) {
    return {i, make_string<Route>(ctx, i)};
}

// A map (or unordered_map) of 12 entries, and a string to insert.
template <class Route, class Map>
subject<Map, typename Route::string> prepare_map(typename Route::context& ctx) {
    return {filled_with<Map>(ctx, 12, entry<Route>), make_string<Route>(ctx, 70)};
}

// What map and unordered_map share: inserting one element is strong ([associative.reqmts.except],
// [unord.req.except]); a copy leaves the source as it was.
template <class Route, class Map>
void sweep_single_insertions(const std::string& name) {
    sweep<Route>(name + "::emplace", guarantee::strong, prepare_map<Route, Map>,
                 [](auto& s, auto&) { s.c.emplace(70, s.extra); });
    sweep<Route>(name + "::insert", guarantee::strong, prepare_map<Route, Map>,
                 [](auto& s, auto&) { s.c.insert({71, s.extra}); });
    sweep<Route>(name + "::try_emplace", guarantee::strong, prepare_map<Route, Map>,
                 [](auto& s, auto&) { s.c.try_emplace(72, s.extra); });
    sweep<Route>(name + " copy construction", guarantee::strong, prepare_map<Route, Map>,
                 [](auto& s, auto&) { copy_of(s.c); });
}

// --- BSTR operations
// ------------------------------------------------------------------------------

using memmgr::bstr;
using memmgr::olechar;

// What a BSTR operation works on: the string it changes, a second one it reads, and a container
// of BSTRs; all made before failures are injected.
struct bstr_subject {
    bstr s{u"a BSTR to change"};
    bstr other{u"and one to read"};
    bstr odd{std::as_bytes(std::span("odd", 3))}; // an odd byte length
    std::vector<bstr> many;
    olechar* raw = nullptr; // for the SysAllocString family; freed by the subject
    bstr_subject() {
        many.reserve(8); // so that only BSTRs are allocated from the task allocator below
        for (int i = 0; i < 3; ++i)
            many.push_back(bstr::from_utf8("element " + std::to_string(i)).value());
        raw = memmgr::sys_alloc_string_len(bstr(u"raw").get(), 3);
    }
    bstr_subject(const bstr_subject&) = delete;
    bstr_subject& operator=(const bstr_subject&) = delete;
    ~bstr_subject() { memmgr::sys_free_string(raw); }
};

// Everything an operation may change, as plain values that outlive the BSTRs.
struct bstr_state {
    std::string s, other, raw;
    std::vector<std::string> many;
    bool s_null = false;
    friend bool operator==(const bstr_state&, const bstr_state&) = default;
};

std::string bytes_of(memmgr::bstr_view v) {
    const auto b = v.as_bytes();
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

bstr_state state_of(const bstr_subject& x) {
    bstr_state st{bytes_of(x.s.view()),
                  bytes_of(x.other.view()),
                  bytes_of(memmgr::bstr_view(x.raw)),
                  {},
                  x.s.is_null()};
    for (const auto& b : x.many)
        st.many.push_back(bytes_of(b.view()));
    return st;
}

// A by-value form's failure, thrown so that the sweep handles both forms alike.
struct refused {
    memmgr::errc why;
};
template <class T>
T value_of(memmgr::result<T>&& r) {
    if (!r)
        throw refused{r.error()};
    if constexpr (!std::is_void_v<T>)
        return std::move(*r);
}
void succeeded(bool ok) {
    if (!ok)
        throw refused{memmgr::errc::out_of_memory};
}

// Runs `operation` on a fresh bstr_subject with every task allocation after the k-th failing, for
// k = 0, 1, 2... until it completes. \returns the number of failures injected (and checked).
template <class Operation>
std::size_t sweep_bstr(std::string_view what, Operation operation) {
    std::size_t failures = 0;
    for (std::size_t k = 0;; ++k) {
        BOOST_TEST_CONTEXT(what << " with task allocation " << k << " failing") {
            task_memory task;
            bool completed = false;
            {
                bstr_subject x;
                const bstr_state before = state_of(x);
                failing_task_allocations failing(k);
                try {
                    operation(x);
                    completed = true;
                } catch (const memmgr::heap_error& e) {
                    ++failures;
                    BOOST_TEST(e.reason() == memmgr::errc::out_of_memory);
                    BOOST_TEST(std::string_view(e.what()).find("bstr") != std::string_view::npos,
                               "the heap_error names bstr: " << e.what());
                } catch (const refused& r) {
                    ++failures;
                    BOOST_TEST(r.why == memmgr::errc::out_of_memory);
                }
                failing.lift();
                if (!completed) {
                    BOOST_TEST((state_of(x) == before), "strong: nothing changed");
                    operation(x); // usable: now it succeeds
                }
            }
            BOOST_TEST(task.live() == 0, "no task-allocator block is left");
            if (completed)
                break;
        }
    }
    BOOST_TEST(failures > 0u, what << ": the sweep injected failures");
    BOOST_TEST_MESSAGE("failure sweep: " << what << ": " << failures << " failures");
    return failures;
}

} // namespace

BOOST_AUTO_TEST_SUITE(failure_sweep_tests)

BOOST_AUTO_TEST_CASE_TEMPLATE(vector_of_int, R, routes) {
    using vec = typename R::template vector<int>;
    auto prepare = [](auto& ctx) {
        return subject<vec>{filled_with<vec>(ctx, 20, [](auto&, int i) { return i; })};
    };
    sweep<R>("vector<int>::push_back", guarantee::strong, prepare,
             [](auto& s, auto&) { s.c.push_back(99); });
    sweep<R>("vector<int>::insert (middle, one)", guarantee::strong, prepare,
             [](auto& s, auto&) { s.c.insert(s.c.begin() + 5, 99); });
    sweep<R>("vector<int>::insert (middle, range)", guarantee::strong, prepare, [](auto& s, auto&) {
        const int more[] = {7, 8, 9};
        s.c.insert(s.c.begin() + 5, std::begin(more), std::end(more));
    });
    sweep<R>("vector<int>::resize", guarantee::strong, prepare,
             [](auto& s, auto&) { s.c.resize(100); });
    sweep<R>("vector<int>::reserve", guarantee::strong, prepare,
             [](auto& s, auto&) { s.c.reserve(100); });
    sweep<R>("vector<int>::assign", guarantee::basic, prepare,
             [](auto& s, auto&) { s.c.assign(50, 3); });
    sweep<R>("vector<int> copy construction", guarantee::strong, prepare,
             [](auto& s, auto&) { copy_of(s.c); });
}

BOOST_AUTO_TEST_CASE_TEMPLATE(vector_of_string, R, routes) {
    using vec = typename R::template vector<typename R::string>;
    using with_value = subject<vec, typename R::string>;
    auto prepare = [](auto& ctx) {
        return with_value{filled_with<vec>(ctx, 8, make_string<R>), make_string<R>(ctx, 100)};
    };
    sweep<R>("vector<string>::push_back (copy)", guarantee::strong, prepare,
             [](auto& s, auto&) { s.c.push_back(s.extra); });
    sweep<R>("vector<string>::emplace_back", guarantee::strong, prepare, [](auto& s, auto& ctx) {
        R::with_text(ctx, long_text(7).c_str(), [&](auto... args) { s.c.emplace_back(args...); });
    });
    sweep<R>("vector<string>::insert (middle, copy)", guarantee::basic, prepare,
             [](auto& s, auto&) { s.c.insert(s.c.begin() + 3, s.extra); });
    sweep<R>("vector<string> copy construction", guarantee::strong, prepare,
             [](auto& s, auto&) { copy_of(s.c); });
    sweep<R>(
        "vector<string> copy assignment", guarantee::basic,
        [&](auto& ctx) {
            return subject<vec, vec>{filled_with<vec>(ctx, 3, make_string<R>),
                                     filled_with<vec>(ctx, 8, make_string<R>)};
        },
        [](auto& s, auto&) { s.c = s.extra; });
}

BOOST_AUTO_TEST_CASE_TEMPLATE(string, R, routes) {
    using with_value = subject<typename R::string, typename R::string>;
    auto prepare = [](auto& ctx) {
        return with_value{make_string<R>(ctx, 1), make_string<R>(ctx, 2)};
    };
    sweep<R>("string::append", guarantee::basic, prepare,
             [](auto& s, auto&) { s.c.append(s.extra); });
    sweep<R>(
        "string::push_back (at capacity)", guarantee::basic,
        [](auto& ctx) {
            auto s = with_value{make_string<R>(ctx, 1), make_string<R>(ctx, 2)};
            s.c.shrink_to_fit();
            while (s.c.size() < s.c.capacity())
                s.c.push_back('+');
            return s;
        },
        [](auto& s, auto&) { s.c.push_back('!'); });
    sweep<R>("string::insert (middle)", guarantee::basic, prepare,
             [](auto& s, auto&) { s.c.insert(5, s.extra); });
    sweep<R>("string::assign", guarantee::basic, prepare,
             [](auto& s, auto&) { s.c.assign(500, 'x'); });
    sweep<R>("string::resize", guarantee::basic, prepare,
             [](auto& s, auto&) { s.c.resize(500, 'y'); });
    sweep<R>("string copy construction", guarantee::strong, prepare,
             [](auto& s, auto&) { copy_of(s.c); });
    sweep<R>(
        "string copy assignment", guarantee::basic,
        [](auto& ctx) {
            return with_value{typename R::string("short", ctx.alloc()), make_string<R>(ctx, 3)};
        },
        [](auto& s, auto&) { s.c = s.extra; });
}

BOOST_AUTO_TEST_CASE_TEMPLATE(map, R, routes) {
    using map_type = typename R::template map<int, typename R::string>;
    sweep_single_insertions<R, map_type>("map");
    sweep<R>(
        "map copy assignment", guarantee::basic,
        [](auto& ctx) {
            return subject<map_type, map_type>{filled_with<map_type>(ctx, 3, entry<R>),
                                               filled_with<map_type>(ctx, 10, entry<R>)};
        },
        [](auto& s, auto&) { s.c = s.extra; });
}

BOOST_AUTO_TEST_CASE_TEMPLATE(list, R, routes) {
    using list_type = typename R::template list<typename R::string>;
    auto prepare = [](auto& ctx) {
        return subject<list_type, typename R::string>{
            filled_with<list_type>(ctx, 6, make_string<R>), make_string<R>(ctx, 60)};
    };
    sweep<R>("list::push_back", guarantee::strong, prepare,
             [](auto& s, auto&) { s.c.push_back(s.extra); });
    sweep<R>("list::emplace_front", guarantee::strong, prepare, [](auto& s, auto& ctx) {
        R::with_text(ctx, long_text(61).c_str(), [&](auto... args) { s.c.emplace_front(args...); });
    });
    sweep<R>("list::insert (middle, several)", guarantee::strong, prepare,
             [](auto& s, auto&) { s.c.insert(std::next(s.c.begin(), 2), 3, s.extra); });
    sweep<R>("list::assign", guarantee::basic, prepare,
             [](auto& s, auto&) { s.c.assign(9, s.extra); });
    sweep<R>("list copy construction", guarantee::strong, prepare,
             [](auto& s, auto&) { copy_of(s.c); });
}

BOOST_AUTO_TEST_CASE_TEMPLATE(unordered_map, R, routes) {
    using map_type = typename R::template unordered_map<int, typename R::string>;
    sweep_single_insertions<R, map_type>("unordered_map");
    sweep<R>("unordered_map::rehash", guarantee::strong, prepare_map<R, map_type>,
             [](auto& s, auto&) { s.c.rehash(s.c.bucket_count() * 8); });
}

// bstr (docs/bstr.md): every operation either completes or leaves the bstr as it was. The
// results are consumed inside the operations, which keeps what they allocate alive until the check.
BOOST_AUTO_TEST_CASE(bstr_operations) {
    using namespace std::string_view_literals;
    std::size_t failures = 0;
    // creation
    failures += sweep_bstr("bstr::from_utf8", [](bstr_subject& x) {
        x.s = value_of(bstr::from_utf8("Grüße aus einer Übung"sv));
    });
    failures += sweep_bstr("bstr(std::string_view)", [](bstr_subject& x) { x.s = bstr("über"sv); });
    failures += sweep_bstr("bstr::from_bytes (odd length)", [](bstr_subject& x) {
        x.s = value_of(bstr::from_bytes(std::as_bytes(std::span("odd", 3))));
    });
    failures += sweep_bstr("bstr(uninitialized, n)", [](bstr_subject& x) {
        x.s = bstr(memmgr::uninitialized, 40);
        std::ranges::fill(x.s, u'x');
    });
    failures += sweep_bstr("bstr::clone", [](bstr_subject& x) { x.s = x.other.clone(); });
    failures +=
        sweep_bstr("bstr::try_clone", [](bstr_subject& x) { x.s = value_of(x.other.try_clone()); });
    // append: the reallocating path (even lengths), the joining path (an odd length), the string
    // itself as the source, and the two operator+ forms
    failures += sweep_bstr("bstr::operator+= (bstr)", [](bstr_subject& x) { x.s += x.other; });
    failures += sweep_bstr("bstr::try_append (code units)",
                           [](bstr_subject& x) { value_of(x.s.try_append(u" and more"sv)); });
    failures +=
        sweep_bstr("bstr::operator+= (odd byte length)", [](bstr_subject& x) { x.s += x.odd; });
    failures += sweep_bstr("bstr::operator+= (itself)", [](bstr_subject& x) { x.s += x.s; });
    failures += sweep_bstr("bstr_view + bstr_view",
                           [](bstr_subject& x) { x.s = x.s.view() + x.other.view(); });
    failures += sweep_bstr("bstr&& + bstr_view",
                           [](bstr_subject& x) { x.s = std::move(x.s) + x.other.view(); });
    failures += sweep_bstr("bstr::resize (longer)", [](bstr_subject& x) { x.s.resize(300); });
    failures += sweep_bstr("bstr::try_resize (shorter)",
                           [](bstr_subject& x) { value_of(x.s.try_resize(4)); });
    // the SysAllocString family on raw BSTRs
    failures += sweep_bstr("sys_realloc_string_len", [](bstr_subject& x) {
        succeeded(memmgr::sys_realloc_string_len(&x.raw, x.other.get(),
                                                 static_cast<std::uint32_t>(x.other.size())));
    });
    failures += sweep_bstr("sys_realloc_string_len (a part of itself)", [](bstr_subject& x) {
        succeeded(memmgr::sys_realloc_string_len(&x.raw, x.raw + 1, 2));
    });
    failures += sweep_bstr("sys_alloc_string_len", [](bstr_subject& x) {
        olechar* fresh = memmgr::sys_alloc_string_len(x.other.get(), 5);
        succeeded(fresh != nullptr);
        memmgr::sys_free_string(std::exchange(x.raw, fresh));
    });
    // BSTRs in containers: a copy element by element, and insertions whose new element is a clone
    failures += sweep_bstr("vector<bstr>::push_back (a clone)",
                           [](bstr_subject& x) { x.many.push_back(x.other.clone()); });
    failures += sweep_bstr("vector<bstr> copied by clone", [](bstr_subject& x) {
        std::vector<bstr> copy;
        copy.reserve(x.many.size());
        for (const auto& b : x.many)
            copy.push_back(b.clone());
        BOOST_TEST((copy == x.many));
    });
    failures += sweep_bstr("unordered_set<bstr>::insert (a clone)", [](bstr_subject& x) {
        std::unordered_set<bstr, std::hash<bstr>, std::equal_to<>> set;
        set.reserve(8);
        set.insert(x.other.clone());
        set.insert(x.s.clone());
        BOOST_TEST(set.count(x.other.view()) == 1u);
    });
    BOOST_TEST_MESSAGE("failure sweep: bstr: " << failures << " failures in all");
}

BOOST_AUTO_TEST_SUITE_END()
