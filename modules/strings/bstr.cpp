// memmgr:bstr's implementation (bstr.cppm states the contract).
module;
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#ifdef _WIN32
struct tagVARIANT; // oaidl.h's VARIANT, as bstr.cppm declares it (its body is only win32.cpp's)
#endif

module memmgr;

namespace memmgr {

namespace {

[[noreturn]] void throw_error(errc why, std::size_t bytes) {
    if (why == errc::out_of_memory)
        throw heap_error(bstr::heap_name, bytes, why);
    throw string_error(why);
}

bstr or_throw(result<bstr>&& r, std::size_t bytes) {
    if (!r)
        throw_error(r.error(), bytes);
    return std::move(*r);
}

result<bstr> adopt_result(const result<void*>& r) noexcept {
    return r.map([](void* p) { return bstr::adopt(static_cast<olechar*>(p)); });
}

result<bstr> from_units(const void* units, std::size_t n) noexcept {
    if (n > max_bstr_length)
        return fail(errc::string_too_long);
    return adopt_result(detail::os::bstr_allocate(units, static_cast<std::uint32_t>(n)));
}

result<bstr> decode_into_new(std::string_view valid_utf8, std::size_t n) noexcept {
    return bstr::allocate(n).map([valid_utf8](bstr b) {
        detail::decode_utf8(valid_utf8, b.data());
        return b;
    });
}

// A new BSTR of na bytes from a, then nb bytes from b.
result<bstr> concat(const void* a, std::size_t na, const void* b, std::size_t nb) noexcept {
    if (na > max_bstr_byte_length || nb > max_bstr_byte_length - na)
        return fail(errc::string_too_long);
    const auto total = static_cast<std::uint32_t>(na + nb);
    return adopt_result(detail::os::bstr_allocate_bytes(nullptr, total)).map([&](bstr joined) {
        auto* out = reinterpret_cast<unsigned char*>(joined.data());
        if (na != 0)
            std::memcpy(out, a, na);
        if (nb != 0)
            std::memcpy(out + na, b, nb);
        return joined;
    });
}

bstr join(bstr_view a, const void* b, std::size_t nb) {
    return or_throw(concat(a.data(), a.byte_size(), b, nb), a.byte_size() + nb);
}

bool same_bytes(const void* a, const void* b, std::size_t n) noexcept {
    return n == 0 || std::memcmp(a, b, n) == 0;
}

unsigned char last_byte(bstr_view v) noexcept {
    return reinterpret_cast<const unsigned char*>(v.data())[v.byte_size() - 1];
}

template <utf16_code_unit A, utf16_code_unit B>
std::strong_ordering compare_units(const A* a, std::size_t na, const B* b,
                                   std::size_t nb) noexcept {
    static_assert(sizeof(A) == sizeof(char16_t) && sizeof(B) == sizeof(char16_t));
    const std::size_t n = na < nb ? na : nb;
    // The common prefix a stretch at a time (memcmp, vectorised), the stretch that differs unit by
    // unit: a byte order is not the code units' order on a little-endian machine.
    constexpr std::size_t stretch = 32;
    std::size_t i = 0;
    while (n - i >= stretch && std::memcmp(a + i, b + i, stretch * sizeof(char16_t)) == 0)
        i += stretch;
    for (; i < n; ++i)
        if (auto c = static_cast<char16_t>(a[i]) <=> static_cast<char16_t>(b[i]); c != 0)
            return c;
    return na <=> nb;
}

// Against plain code units: a BSTR with an odd last byte sorts after its code units alone.
template <utf16_code_unit C>
std::strong_ordering compare_with(bstr_view a, std::basic_string_view<C> b) noexcept {
    if (auto c = compare_units(a.data(), a.size(), b.data(), b.size()); c != 0)
        return c;
    return a.byte_size() % 2 <=> std::size_t{0};
}

} // namespace

// --- bstr_chars, bstr_view ----------------------------------------------------------------------

std::u16string detail::bstr_chars::to_u16string() const {
    std::u16string s(size(), u'\0');
    if (!s.empty())
        std::memcpy(s.data(), p_, s.size() * sizeof(char16_t));
    return s;
}

#ifdef _WIN32
std::wstring detail::bstr_chars::to_wstring() const {
    return std::wstring(as_string_view());
}
#endif

std::string detail::bstr_chars::to_utf8() const {
    return memmgr::to_utf8(as_string_view());
}

bstr bstr_view::clone() const {
    return bstr(*this);
}

bool operator==(bstr_view a, bstr_view b) noexcept {
    return a.byte_size() == b.byte_size() && same_bytes(a.data(), b.data(), a.byte_size());
}

std::strong_ordering operator<=>(bstr_view a, bstr_view b) noexcept {
    if (auto c = compare_units(a.data(), a.size(), b.data(), b.size()); c != 0)
        return c;
    if (auto c = a.byte_size() <=> b.byte_size(); c != 0)
        return c;
    return a.byte_size() % 2 == 0 ? std::strong_ordering::equal : last_byte(a) <=> last_byte(b);
}

bool operator==(bstr_view a, std::u16string_view b) noexcept {
    return a.byte_size() == b.size() * sizeof(char16_t) &&
           same_bytes(a.data(), b.data(), a.byte_size());
}

std::strong_ordering operator<=>(bstr_view a, std::u16string_view b) noexcept {
    return compare_with(a, b);
}

#ifdef _WIN32
bool operator==(bstr_view a, std::wstring_view b) noexcept {
    return a.byte_size() == b.size() * sizeof(wchar_t) &&
           same_bytes(a.data(), b.data(), a.byte_size());
}

std::strong_ordering operator<=>(bstr_view a, std::wstring_view b) noexcept {
    return compare_with(a, b);
}
#endif

bool operator==(bstr_view a, std::string_view utf8) noexcept {
    return a.byte_size() % 2 == 0 && detail::utf8_matches(utf8, a.data(), a.size());
}

bool operator==(bstr_view a, std::u8string_view utf8) noexcept {
    return a == detail::as_chars(utf8);
}

result<void> detail::bstr_chars::copy_to(olechar** out) const noexcept {
    if (out == nullptr)
        return fail(errc::null_pointer);
    *out = nullptr;
    return bstr::copy_of(bstr_view(p_)).map([out](bstr copy) { *out = copy.release(); });
}

#ifdef _WIN32
result<void> detail::bstr_chars::copy_to(tagVARIANT& target) const noexcept {
    return bstr::copy_of(bstr_view(p_)).and_then([&](bstr copy) { return copy.move_to(target); });
}

result<bstr> bstr::copy_of(const tagVARIANT& v) noexcept {
    return detail::os::variant_bstr(&v).and_then(
        [](void* raw) { return copy_of(bstr_view(static_cast<olechar*>(raw))); });
}

result<bstr> bstr::detach_from(tagVARIANT& v) noexcept {
    return detail::os::variant_bstr(&v).map([&v](void* raw) {
        detail::os::variant_forget(&v);
        return adopt(static_cast<olechar*>(raw));
    });
}

result<void> bstr::move_to(tagVARIANT& target) noexcept {
    return detail::os::variant_clear(&target).map(
        [&] { detail::os::variant_set_bstr(&target, release()); });
}
#endif

std::ostream& operator<<(std::ostream& os, bstr_view v) {
    const std::string utf8 = v.to_utf8();
    return os.write(utf8.data(), static_cast<std::streamsize>(utf8.size()));
}

// --- bstr: creation -----------------------------------------------------------------------------

bstr::bstr(std::u16string_view s) : bstr(or_throw(from_utf16(s), s.size() * 2)) {}

#ifdef _WIN32
bstr::bstr(std::wstring_view s) : bstr(or_throw(from_wide(s), s.size() * 2)) {}
#endif

bstr::bstr(std::string_view utf8) {
    auto n = utf16_length(utf8);
    if (!n)
        throw string_error(n.error());
    *this = or_throw(decode_into_new(utf8, *n), *n * sizeof(olechar));
}

bstr::bstr(std::u8string_view utf8) : bstr(detail::as_chars(utf8)) {}

bstr::bstr(std::span<const std::byte> bytes) : bstr(or_throw(from_bytes(bytes), bytes.size())) {}

bstr::bstr(uninitialized_t, size_type n) : bstr(or_throw(allocate(n), n * 2)) {}

bstr::bstr(bstr_view v) : bstr(or_throw(copy_of(v), v.byte_size())) {}

result<bstr> bstr::from_utf16(std::u16string_view s) noexcept {
    return from_units(s.data(), s.size());
}

#ifdef _WIN32
result<bstr> bstr::from_wide(std::wstring_view s) noexcept {
    return from_units(s.data(), s.size());
}
#endif

result<bstr> bstr::from_utf8(std::string_view utf8) noexcept {
    return utf16_length(utf8).and_then([utf8](std::size_t n) { return decode_into_new(utf8, n); });
}

result<bstr> bstr::from_utf8(std::u8string_view utf8) noexcept {
    return from_utf8(detail::as_chars(utf8));
}

result<bstr> bstr::from_bytes(std::span<const std::byte> bytes) noexcept {
    if (bytes.size() > max_bstr_byte_length)
        return fail(errc::string_too_long);
    return adopt_result(
        detail::os::bstr_allocate_bytes(bytes.data(), static_cast<std::uint32_t>(bytes.size())));
}

result<bstr> bstr::allocate(size_type n) noexcept {
    return from_units(nullptr, n);
}

result<bstr> bstr::copy_of(bstr_view v) noexcept {
    if (v.is_null())
        return bstr();
    return concat(v.data(), v.byte_size(), nullptr, 0);
}

result<bstr> bstr::copy_of_bstr(const olechar* raw) noexcept {
    return copy_of(bstr_view(raw));
}

bstr bstr::adopt(olechar* raw) noexcept {
    bstr b;
    b.p_ = raw;
    return b;
}

bstr bstr::clone() const {
    return bstr(view());
}

result<bstr> bstr::try_clone() const noexcept {
    return copy_of(view());
}

// --- bstr: assignment: a new BSTR first, then the old one goes (so a view of *this is safe) ------

bstr& bstr::operator=(bstr_view v) {
    return *this = bstr(v);
}

bstr& bstr::operator=(std::u16string_view s) {
    return *this = bstr(s);
}

#ifdef _WIN32
bstr& bstr::operator=(std::wstring_view s) {
    return *this = bstr(s);
}
#endif

bstr& bstr::operator=(std::string_view utf8) {
    return *this = bstr(utf8);
}

bstr& bstr::operator=(std::u8string_view utf8) {
    return *this = bstr(utf8);
}

// --- bstr: ownership ----------------------------------------------------------------------------

olechar* bstr::release() noexcept {
    return std::exchange(p_, nullptr);
}

olechar** bstr::put() noexcept {
    clear();
    return &p_;
}

void bstr::clear() noexcept {
    destroy(std::exchange(p_, nullptr));
}

void bstr::swap(bstr& other) noexcept {
    std::swap(p_, other.p_);
}

void swap(bstr& a, bstr& b) noexcept {
    a.swap(b);
}

void bstr::destroy(olechar* p) noexcept {
    if (p == nullptr)
        return;
    if (auto freed = detail::os::bstr_free(p); !freed)
        report_deallocation_error(heap_name, p, freed.error());
}

// --- bstr: changes ------------------------------------------------------------------------------

result<void> bstr::try_append(bstr_view s) noexcept {
    return append_bytes(s.data(), s.byte_size());
}

result<void> bstr::try_append(std::u16string_view s) noexcept {
    return append_bytes(s.data(), s.size() * sizeof(char16_t));
}

#ifdef _WIN32
result<void> bstr::try_append(std::wstring_view s) noexcept {
    return append_bytes(s.data(), s.size() * sizeof(wchar_t));
}

bstr& bstr::operator+=(std::wstring_view s) {
    return append_or_throw(s.data(), s.size() * 2);
}
#endif

bstr& bstr::operator+=(bstr_view s) {
    return append_or_throw(s.data(), s.byte_size());
}

bstr& bstr::operator+=(std::u16string_view s) {
    return append_or_throw(s.data(), s.size() * 2);
}

bstr& bstr::append_or_throw(const void* bytes, std::size_t n) {
    if (auto r = append_bytes(bytes, n); !r)
        // The size only counts for out_of_memory, when the string is sound (otherwise it may
        // not be readable: a freed or damaged BSTR).
        throw_error(r.error(), r.error() == errc::out_of_memory ? byte_size() + n : n);
    return *this;
}

result<void> bstr::append_bytes(const void* bytes, std::size_t n) noexcept {
    if (n == 0)
        return {}; // nothing to add: a null bstr stays null
    // Nothing is read from a string that is not live (POSIX tells; Windows cannot).
    std::size_t old = 0;
    if (p_ != nullptr) {
        auto sound = detail::os::bstr_check(p_);
        if (!sound)
            return fail(sound.error());
        old = *sound;
    }
    // A BSTR adopted from other code may hold more than memmgr would make: test old first.
    if (old > max_bstr_byte_length || n > max_bstr_byte_length - old)
        return fail(errc::string_too_long);
    const auto* from = static_cast<const unsigned char*>(bytes);
    const auto* base = reinterpret_cast<const unsigned char*>(p_);
    // The source may lie in this BSTR, its terminator included (c_str() + size() is readable).
    // Only a source within the data can be found again after the block moves; one that reaches
    // past it must be copied before the old block goes.
    const bool in_block = p_ != nullptr && std::greater_equal<>{}(from, base) &&
                          std::less<>{}(from, base + old + sizeof(olechar));
    const bool inside = in_block && std::less<>{}(from, base + old) &&
                        n <= old - static_cast<std::size_t>(from - base);
    if (p_ == nullptr || old % 2 != 0 || n % 2 != 0 || (in_block && !inside)) {
        // Nothing to grow, an odd byte length that no code-unit reallocation can hold, or a source
        // reaching past the data: join the bytes exactly in a new BSTR (this one, and what `bytes`
        // points into, live until then).
        return concat(p_, old, bytes, n).map([this](bstr joined) { swap(joined); });
    }
    // SysReAllocStringLen with the string as its own source keeps its code units, and may grow the
    // block where it is. `bytes` may point into the data (a += a), so note where before it moves.
    const std::size_t offset = inside ? static_cast<std::size_t>(from - base) : 0;
    const auto units = static_cast<std::uint32_t>((old + n) / sizeof(olechar));
    return detail::os::bstr_reallocate(p_, p_, units).map([&](void* grown) {
        p_ = static_cast<olechar*>(grown);
        auto* out = reinterpret_cast<unsigned char*>(p_);
        std::memcpy(out + old, inside ? out + offset : from, n);
    });
}

result<void> bstr::try_resize(size_type n) noexcept {
    if (n > max_bstr_length)
        return fail(errc::string_too_long);
    if (p_ == nullptr) {
        if (n == 0)
            return {};
        return allocate(n).map([&](bstr fresh) {
            std::memset(fresh.p_, 0, n * sizeof(olechar));
            swap(fresh);
        });
    }
    auto sound = detail::os::bstr_check(p_); // its length, once it is known to be live
    if (!sound)
        return fail(sound.error());
    const std::size_t old = *sound;
    return detail::os::bstr_reallocate(p_, p_, static_cast<std::uint32_t>(n)).map([&](void* q) {
        p_ = static_cast<olechar*>(q);
        if (n * sizeof(olechar) > old)
            std::memset(reinterpret_cast<unsigned char*>(p_) + old, 0, n * sizeof(olechar) - old);
    });
}

void bstr::resize(size_type n) {
    if (auto r = try_resize(n); !r)
        throw_error(r.error(), n * 2);
}

// --- bstr: comparisons and joining --------------------------------------------------------------

bool operator==(const bstr& a, const bstr& b) noexcept {
    return a.view() == b.view();
}

std::strong_ordering operator<=>(const bstr& a, const bstr& b) noexcept {
    return a.view() <=> b.view();
}

bool operator==(const bstr& a, bstr_view b) noexcept {
    return a.view() == b;
}

std::strong_ordering operator<=>(const bstr& a, bstr_view b) noexcept {
    return a.view() <=> b;
}

bool operator==(const bstr& a, std::u16string_view b) noexcept {
    return a.view() == b;
}

std::strong_ordering operator<=>(const bstr& a, std::u16string_view b) noexcept {
    return a.view() <=> b;
}

#ifdef _WIN32
bool operator==(const bstr& a, std::wstring_view b) noexcept {
    return a.view() == b;
}

std::strong_ordering operator<=>(const bstr& a, std::wstring_view b) noexcept {
    return a.view() <=> b;
}
#endif

bool operator==(const bstr& a, std::string_view utf8) noexcept {
    return a.view() == utf8;
}

bool operator==(const bstr& a, std::u8string_view utf8) noexcept {
    return a.view() == utf8;
}

bstr operator+(bstr_view a, bstr_view b) {
    return join(a, b.data(), b.byte_size());
}

bstr operator+(bstr_view a, std::u16string_view b) {
    return join(a, b.data(), b.size() * 2);
}

bstr operator+(bstr&& a, bstr_view b) {
    return std::move(a += b);
}

bstr operator+(bstr&& a, std::u16string_view b) {
    return std::move(a += b);
}

#ifdef _WIN32
bstr operator+(bstr_view a, std::wstring_view b) {
    return join(a, b.data(), b.size() * 2);
}

bstr operator+(bstr&& a, std::wstring_view b) {
    return std::move(a += b);
}
#endif

} // namespace memmgr

// --- hashes -------------------------------------------------------------------------------------

std::size_t std::hash<memmgr::bstr_view>::operator()(memmgr::bstr_view v) const noexcept {
    auto bytes = v.as_bytes();
    return std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::size_t std::hash<memmgr::bstr>::operator()(memmgr::bstr_view v) const noexcept {
    return std::hash<memmgr::bstr_view>{}(v);
}
