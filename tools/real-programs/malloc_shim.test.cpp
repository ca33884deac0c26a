// memmgr.real.malloc_tests: libmemmgr-malloc.so's C interface, run with the library preloaded
// (ctest sets LD_PRELOAD). A testing tool's own test: what every program run on it relies on.
#define BOOST_TEST_MODULE memmgr_real_malloc
#include <boost/test/unit_test.hpp>

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

/// \returns n, unknown to the compiler (which otherwise checks memalign's constant alignments).
std::size_t opaque(std::size_t n) {
    volatile std::size_t hidden = n;
    return hidden;
}

/// \returns p, which the compiler must now assume is used (it may otherwise elide a malloc and
/// free pair, and with it the very call under test).
template <class T>
T* escape(T* p) {
    asm volatile("" : : "r"(p) : "memory");
    return p;
}

bool aligned_to(const void* p, std::size_t alignment) {
    return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

void fill(void* p, std::size_t n, unsigned char seed) {
    auto* bytes = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i != n; ++i)
        bytes[i] = static_cast<unsigned char>(seed + i * 7);
}

bool holds(const void* p, std::size_t n, unsigned char seed) {
    const auto* bytes = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i != n; ++i)
        if (bytes[i] != static_cast<unsigned char>(seed + i * 7))
            return false;
    return true;
}

// A child for the verdict tests: this executable run again with MEMMGR_REAL_MALLOC_CHILD set does
// what it names before Boost.Test starts, and exits, so that the library writes its verdict. (A
// forked child calling exit() from inside a test would run Boost.Test's exit handlers, which
// crash in a forked copy whose report goes to a file.)
void child_sound() {
    void* p = escape(std::malloc(64));
    void* q = escape(::memalign(256, 64));
    std::free(p);
    std::free(q);
}

void child_bad_free() {
    auto* p = static_cast<unsigned char*>(escape(std::malloc(64)));
    std::free(escape(p + 16)); // not a block: glibc would abort; the heap refuses it
    std::free(p);
}

[[maybe_unused]] const bool child_ran = [] {
    const char* what = std::getenv("MEMMGR_REAL_MALLOC_CHILD");
    if (!what)
        return false;
    std::string_view(what) == "bad_free" ? child_bad_free() : child_sound();
    std::exit(0); // the library's destructor writes the verdict
}();

/// \returns the verdict line this executable wrote at its exit, run again as the child `what`.
std::string verdict_of_child(const char* what) {
    char path[] = "/tmp/memmgr-real-malloc-XXXXXX";
    const int fd = ::mkstemp(path);
    BOOST_REQUIRE(fd >= 0);
    ::close(fd);
    const pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        ::setenv("MEMMGR_HEAP_REPORT", path, 1);
        ::setenv("MEMMGR_REAL_MALLOC_CHILD", what, 1);
        char name[] = "memmgr.real.malloc_tests";
        char* argv[] = {name, nullptr};
        ::execv("/proc/self/exe", argv);
        ::_exit(127);
    }
    int status = 0;
    BOOST_REQUIRE_EQUAL(::waitpid(child, &status, 0), child);
    BOOST_REQUIRE_MESSAGE(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                          "the child did not exit cleanly (status " << status << ")");
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    ::unlink(path);
    return line;
}

} // namespace

BOOST_AUTO_TEST_SUITE(malloc_shim_tests)

BOOST_AUTO_TEST_CASE(runs_on_memmgrs_heap) {
    // win32_heap's sizes are exact; glibc's malloc would say 104 here.
    void* p = escape(std::malloc(100));
    BOOST_REQUIRE(p);
    BOOST_TEST_REQUIRE(::malloc_usable_size(p) == 100u,
                       "libmemmgr-malloc.so is not preloaded (set LD_PRELOAD)");
    std::free(p);
}

BOOST_AUTO_TEST_CASE(malloc_gives_usable_16_aligned_blocks) {
    std::vector<std::pair<void*, std::size_t>> blocks;
    for (std::size_t n : {0u, 1u, 15u, 16u, 17u, 1000u, 65536u, 600000u, 3u << 20}) {
        void* p = std::malloc(n);
        BOOST_REQUIRE(p);
        BOOST_TEST(aligned_to(p, 16));
        BOOST_TEST(::malloc_usable_size(p) >= n);
        fill(p, n, static_cast<unsigned char>(n));
        blocks.emplace_back(p, n);
    }
    for (auto [p, n] : blocks) {
        BOOST_TEST(holds(p, n, static_cast<unsigned char>(n)));
        std::free(p);
    }
    std::free(nullptr);
    BOOST_TEST(::malloc_usable_size(nullptr) == 0u);
}

BOOST_AUTO_TEST_CASE(calloc_zeroes_and_checks_overflow) {
    auto* p = static_cast<unsigned char*>(std::calloc(1000, 3));
    BOOST_REQUIRE(p);
    BOOST_TEST(std::all_of(p, p + 3000, [](unsigned char b) { return b == 0; }));
    std::free(p);
    errno = 0;
    BOOST_TEST(std::calloc(SIZE_MAX / 2, 3) == nullptr);
    BOOST_TEST(errno == ENOMEM);
}

BOOST_AUTO_TEST_CASE(realloc_keeps_contents_and_frees_at_zero) {
    void* p = std::realloc(nullptr, 40);
    BOOST_REQUIRE(p);
    fill(p, 40, 3);
    p = std::realloc(p, 100000);
    BOOST_REQUIRE(p);
    BOOST_TEST(holds(p, 40, 3));
    BOOST_TEST(::malloc_usable_size(p) >= 100000u);
    p = std::realloc(p, 20);
    BOOST_REQUIRE(p);
    BOOST_TEST(holds(p, 20, 3));
    BOOST_TEST(std::realloc(p, 0) == nullptr); // glibc's answer: p is freed
}

BOOST_AUTO_TEST_CASE(reallocarray_checks_overflow) {
    void* p = ::reallocarray(nullptr, 10, 10);
    BOOST_REQUIRE(p);
    fill(p, 100, 9);
    errno = 0;
    BOOST_TEST(::reallocarray(p, SIZE_MAX / 4, 8) == nullptr);
    BOOST_TEST(errno == ENOMEM);
    BOOST_TEST(holds(p, 100, 9)); // untouched, still ours to free
    std::free(p);
}

BOOST_AUTO_TEST_CASE(over_aligned_blocks_are_aligned_usable_and_freeable) {
    for (std::size_t alignment = 32; alignment <= 65536; alignment *= 2) {
        for (std::size_t n : {1u, 100u, 5000u, 700000u}) {
            void* a = ::memalign(alignment, n);
            void* b = std::aligned_alloc(alignment, n);
            void* c = nullptr;
            BOOST_REQUIRE_EQUAL(::posix_memalign(&c, alignment, n), 0);
            for (void* p : {a, b, c}) {
                BOOST_REQUIRE(p);
                BOOST_TEST(aligned_to(p, alignment));
                BOOST_TEST(::malloc_usable_size(p) >= n);
                fill(p, n, 5);
            }
            for (void* p : {a, b, c}) {
                BOOST_TEST(holds(p, n, 5));
                std::free(p);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(realloc_of_an_aligned_block_keeps_its_contents) {
    void* p = ::memalign(4096, 300);
    BOOST_REQUIRE(p);
    fill(p, 300, 11);
    void* q = std::realloc(p, 9000);
    BOOST_REQUIRE(q);
    BOOST_TEST(holds(q, 300, 11));
    BOOST_TEST(::malloc_usable_size(q) >= 9000u);
    std::free(q);
}

BOOST_AUTO_TEST_CASE(many_aligned_blocks_freed_in_any_order) {
    // Enough to grow the table of aligned blocks several times and to empty it again.
    std::mt19937 rng(7);
    std::vector<std::pair<void*, unsigned char>> blocks;
    for (int i = 0; i != 3000; ++i) {
        const std::size_t alignment = std::size_t{32} << (rng() % 8);
        void* p = ::memalign(alignment, 8 + rng() % 200);
        BOOST_REQUIRE(p);
        BOOST_REQUIRE(aligned_to(p, alignment));
        fill(p, 8, static_cast<unsigned char>(i));
        blocks.emplace_back(p, static_cast<unsigned char>(i));
        if (rng() % 3 == 0) { // and plain blocks between them, some freed early
            std::free(escape(std::malloc(48)));
        }
    }
    std::shuffle(blocks.begin(), blocks.end(), rng);
    for (auto [p, seed] : blocks) {
        BOOST_TEST(holds(p, 8, seed));
        std::free(p);
    }
}

BOOST_AUTO_TEST_CASE(bad_alignments_are_refused_as_glibc_does) {
    void* p = reinterpret_cast<void*>(1);
    BOOST_TEST(::posix_memalign(&p, opaque(24), 10) == EINVAL); // not a power of two
    BOOST_TEST(::posix_memalign(&p, opaque(4), 10) == EINVAL);  // below sizeof(void*)
    BOOST_TEST(p == reinterpret_cast<void*>(1));                // left alone
    errno = 0;
    BOOST_TEST(::memalign(opaque(SIZE_MAX / 2 + 2), 10) == nullptr);
    BOOST_TEST(errno == EINVAL);
    void* q = ::memalign(opaque(48), 10); // glibc rounds up to the next power of two
    BOOST_REQUIRE(q);
    BOOST_TEST(aligned_to(q, 64));
    std::free(q);
}

BOOST_AUTO_TEST_CASE(valloc_and_pvalloc_give_pages) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    void* v = ::valloc(10);
    void* pv = ::pvalloc(1);
    BOOST_REQUIRE(v);
    BOOST_REQUIRE(pv);
    BOOST_TEST(aligned_to(v, page));
    BOOST_TEST(aligned_to(pv, page));
    BOOST_TEST(::malloc_usable_size(pv) >= page); // pvalloc rounds the size up to a page
    std::free(v);
    std::free(pv);
}

BOOST_AUTO_TEST_CASE(fork_while_other_threads_allocate_aligned_blocks) {
    // A child forked while another thread holds the table of aligned blocks (or the heap) must
    // still allocate: the library holds both across fork(). A hung child is killed by its alarm.
    std::atomic<bool> stop{false};
    std::vector<std::thread> hammers;
    for (int t = 0; t != 2; ++t)
        hammers.emplace_back([&stop, t] {
            std::size_t i = 0;
            while (!stop.load(std::memory_order_relaxed))
                std::free(escape(::memalign(std::size_t{64} << (i++ % 6),
                                            std::size_t{100} + 10 * static_cast<std::size_t>(t))));
        });
    int hung = 0;
    for (int f = 0; f != 40; ++f) {
        const pid_t child = ::fork();
        BOOST_REQUIRE(child >= 0);
        if (child == 0) {
            ::alarm(10);
            void* p = escape(::memalign(128, 64));
            void* q = escape(std::malloc(64));
            std::free(p);
            std::free(q);
            ::_exit(p && q ? 0 : 1);
        }
        int status = 0;
        BOOST_REQUIRE_EQUAL(::waitpid(child, &status, 0), child);
        hung += WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
    }
    stop = true;
    for (auto& t : hammers)
        t.join();
    BOOST_TEST(hung == 0);
}

BOOST_AUTO_TEST_CASE(the_verdict_at_exit_says_valid_for_a_sound_program) {
    const std::string line = verdict_of_child("sound");
    BOOST_TEST(line.rfind("memmgr-heap: valid, ", 0) == 0, line);
}

BOOST_AUTO_TEST_CASE(the_verdict_at_exit_says_invalid_after_a_bad_free) {
    const std::string line = verdict_of_child("bad_free");
    BOOST_TEST(line.rfind("memmgr-heap: INVALID (1 pointer refused, the first: ", 0) == 0, line);
}

BOOST_AUTO_TEST_SUITE_END()
