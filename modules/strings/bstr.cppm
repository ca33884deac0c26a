// memmgr:bstr: a BSTR as a move-only value (bstr), a view of one received as an in-parameter
// (bstr_view), their comparisons, hashes and stream output.
//
// The BSTR rules (the caller allocates and frees what it passes in; whoever receives a BSTR frees
// it) become ownership: a bstr frees its BSTR when it goes, hands it out with release(), takes one
// in with adopt(), and receives one from an API through put(), which frees the old value first.
//
// Errors: the value-returning forms (from_*, allocate, copy_of, try_*) are noexcept and return
// result<T> with errc::invalid_utf8, errc::string_too_long or errc::out_of_memory; the throwing
// forms (constructors, clone, +=, +, resize) throw string_error for the first two and heap_error
// (a std::bad_alloc naming "bstr") for the third. docs/bstr.md has the whole contract.
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

export module memmgr:bstr;

import :errors;
import :handlers;
import :utf;
import :sys_string;
import :platform;

export namespace memmgr {

class bstr;

namespace detail {

/// What bstr and bstr_view share: reading one BSTR (or null) through its length prefix.
class bstr_chars {
public:
    using value_type = olechar;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using const_reference = const olechar&;
    using const_pointer = const olechar*;
    using const_iterator = const olechar*;
    /// The string view type of a BSTR's code units: std::u16string_view on POSIX, std::wstring_view
    /// on Windows.
    using string_view_type = std::basic_string_view<olechar>;

    /// \returns the BSTR (nullptr if null), to pass as a BSTR in-parameter. Ownership stays.
    [[nodiscard]] olechar* get() const noexcept { return p_; }
    /// \returns true for the null BSTR, which otherwise reads as the empty string.
    [[nodiscard]] bool is_null() const noexcept { return p_ == nullptr; }
    /// SysStringLen: \returns the length in code units, from the prefix (embedded NULs count).
    [[nodiscard]] size_type size() const noexcept { return byte_size() / sizeof(olechar); }
    [[nodiscard]] size_type length() const noexcept { return size(); }
    /// SysStringByteLen: \returns the length in bytes, from the prefix; odd for strings made from
    /// an odd number of bytes, whose last byte is then part of no code unit.
    [[nodiscard]] size_type byte_size() const noexcept {
        return p_ == nullptr ? 0 : bstr_prefix(p_);
    }
    /// \returns size() == 0 (null, empty, or a single byte).
    [[nodiscard]] bool empty() const noexcept { return size() == 0; }

    [[nodiscard]] const olechar* data() const noexcept { return p_; }
    [[nodiscard]] const olechar* begin() const noexcept { return p_; }
    [[nodiscard]] const olechar* end() const noexcept { return p_ + size(); }
    /// \requires i < size(), or i == size() for the terminator of a non-null BSTR.
    [[nodiscard]] const olechar& operator[](size_type i) const noexcept { return p_[i]; }

    /// \returns the code units followed by a NUL: the BSTR itself, or "" for null (never nullptr),
    /// for APIs that need a real string.
    [[nodiscard]] const olechar* c_str() const noexcept { return p_ != nullptr ? p_ : empty_; }
    /// \returns the size() code units as a std::basic_string_view<olechar>.
    [[nodiscard]] string_view_type as_string_view() const noexcept { return {c_str(), size()}; }
    /// \returns the byte_size() bytes, an odd last byte included.
    [[nodiscard]] std::span<const std::byte> as_bytes() const noexcept {
        return {reinterpret_cast<const std::byte*>(p_), byte_size()};
    }

    /// \returns the code units as they are (unpaired surrogates included). \throws std::bad_alloc.
    [[nodiscard]] std::u16string to_u16string() const {
        std::u16string s(size(), u'\0');
        if (!s.empty())
            std::memcpy(s.data(), p_, s.size() * sizeof(char16_t));
        return s;
    }
#ifdef _WIN32
    /// \returns the code units as they are. \throws std::bad_alloc.
    [[nodiscard]] std::wstring to_wstring() const { return std::wstring(as_string_view()); }
#endif
    /// \returns the string as UTF-8, each unpaired surrogate as U+FFFD (an odd last byte, being no
    /// code unit, is not converted). \throws std::bad_alloc.
    [[nodiscard]] std::string to_utf8() const {
        std::string s(utf8_length(p_, size()), '\0');
        encode_utf8(p_, size(), s.data());
        return s;
    }

protected:
    constexpr bstr_chars() noexcept = default;
    constexpr explicit bstr_chars(olechar* p) noexcept : p_(p) {}

    olechar* p_ = nullptr;

private:
    static constexpr olechar empty_[1] = {};
};

} // namespace detail

/// A non-owning view of a BSTR, typically one received as an in-parameter: its length comes from
/// the prefix, so embedded NULs are part of it. Cheap to copy; the BSTR must outlive it.
///
/// Example usage:
/// \code
///   HRESULT Name::Set(BSTR name) { auto v = memmgr::bstr_view(name); if (v.empty()) ... }
/// \endcode
class bstr_view : public detail::bstr_chars {
public:
    /// The null BSTR.
    constexpr bstr_view() noexcept = default;
    /// Views `raw`, which must be a BSTR or nullptr: the prefix before it is read. Explicit, as a
    /// plain string (a literal, a std::u16string's data) is no BSTR.
    constexpr explicit bstr_view(olechar* raw) noexcept : bstr_chars(raw) {}

    /// \returns an owning copy (as bstr::copy_of). \throws string_error, heap_error.
    [[nodiscard]] bstr clone() const;

    /// Ordinal and length-aware: code units compared by value (embedded NULs included), a proper
    /// prefix sorts first, null equals empty; between equal code units an odd byte length's last
    /// byte breaks the tie (none sorts first). Equal views have equal bytes.
    friend bool operator==(bstr_view a, bstr_view b) noexcept {
        return a.byte_size() == b.byte_size() && same_bytes(a.p_, b.p_, a.byte_size());
    }
    friend std::strong_ordering operator<=>(bstr_view a, bstr_view b) noexcept {
        if (auto c = compare_units(a.p_, a.size(), b.p_, b.size()); c != 0)
            return c;
        if (auto c = a.byte_size() <=> b.byte_size(); c != 0)
            return c;
        return a.byte_size() % 2 == 0 ? std::strong_ordering::equal : last_byte(a) <=> last_byte(b);
    }
    friend bool operator==(bstr_view a, std::u16string_view b) noexcept {
        return a.byte_size() == b.size() * sizeof(char16_t) &&
               same_bytes(a.p_, b.data(), a.byte_size());
    }
    friend std::strong_ordering operator<=>(bstr_view a, std::u16string_view b) noexcept {
        return compare_with(a, b);
    }
#ifdef _WIN32
    friend bool operator==(bstr_view a, std::wstring_view b) noexcept {
        return a.byte_size() == b.size() * sizeof(wchar_t) &&
               same_bytes(a.p_, b.data(), a.byte_size());
    }
    friend std::strong_ordering operator<=>(bstr_view a, std::wstring_view b) noexcept {
        return compare_with(a, b);
    }
#endif

private:
    static bool same_bytes(const void* a, const void* b, std::size_t n) noexcept {
        return n == 0 || std::memcmp(a, b, n) == 0;
    }
    static unsigned char last_byte(bstr_view v) noexcept {
        return reinterpret_cast<const unsigned char*>(v.p_)[v.byte_size() - 1];
    }
    template <utf16_code_unit A, utf16_code_unit B>
    static std::strong_ordering compare_units(const A* a, std::size_t na, const B* b,
                                              std::size_t nb) noexcept {
        const std::size_t n = na < nb ? na : nb;
        for (std::size_t i = 0; i < n; ++i)
            if (auto c = static_cast<char16_t>(a[i]) <=> static_cast<char16_t>(b[i]); c != 0)
                return c;
        return na <=> nb;
    }
    // Against plain code units: a BSTR with an odd last byte sorts after its code units alone.
    template <utf16_code_unit C>
    static std::strong_ordering compare_with(bstr_view a, std::basic_string_view<C> b) noexcept {
        if (auto c = compare_units(a.p_, a.size(), b.data(), b.size()); c != 0)
            return c;
        return a.byte_size() % 2 <=> std::size_t{0};
    }
};

/// The tag of bstr's constructor that makes an uninitialised buffer.
struct uninitialized_t {
    explicit uninitialized_t() = default;
};
inline constexpr uninitialized_t uninitialized{};

/// One BSTR, owned: freed (SysFreeString) when the bstr goes. Move-only; clone() copies.
///
/// A default-constructed or moved-from bstr is null and allocates nothing; null reads as the empty
/// string, and is_null() tells the two apart. A bstr is a contiguous range of olechar (its size()
/// code units); get() is the raw BSTR for in-parameters, put() the out-parameter adaptor, release()
/// and adopt() move ownership across raw code.
///
/// Storage comes from SysAllocString's allocator: oleaut32 (the COM task allocator) on Windows, the
/// com process heap in the same layout on POSIX, so a BSTR from a bstr can be handed to any code
/// that calls SysFreeString, and vice versa.
///
/// Example usage:
/// \code
///   memmgr::bstr name("Grüße");                   // UTF-8 in, UTF-16 BSTR out; throws if invalid
///   auto label = memmgr::bstr::from_utf8(input);  // the same as a result<bstr>
///   memmgr::bstr out;
///   HRESULT hr = VarBstrFromI4(42, LOCALE_USER_DEFAULT, 0, out.put());
///   std::cout << name + out;                      // "Grüße42", written as UTF-8
///   return label->release();                      // ownership to the caller of a COM method
/// \endcode
class bstr : public detail::bstr_chars {
public:
    using reference = olechar&;
    using pointer = olechar*;
    using iterator = olechar*;

    /// The heap name in the heap_error a bstr throws.
    static constexpr std::string_view heap_name = "bstr";
    /// \returns the most code units a bstr holds (max_bstr_length).
    [[nodiscard]] static constexpr size_type max_size() noexcept { return max_bstr_length; }

    /// The null BSTR: allocates nothing.
    constexpr bstr() noexcept = default;
    bstr(const bstr&) = delete; // a copy is explicit: clone()
    bstr& operator=(const bstr&) = delete;
    /// \effects takes other's BSTR; other is null afterwards.
    bstr(bstr&& other) noexcept : bstr_chars(std::exchange(other.p_, nullptr)) {}
    /// \effects frees this BSTR and takes other's; other is null afterwards.
    bstr& operator=(bstr&& other) noexcept {
        if (this != &other)
            destroy(std::exchange(p_, std::exchange(other.p_, nullptr)));
        return *this;
    }
    ~bstr() { destroy(p_); }

    // --- creation, throwing: string_error (invalid_utf8, string_too_long) or heap_error ---------
    /// \effects a BSTR of s's code units, embedded NULs and unpaired surrogates kept.
    explicit bstr(std::u16string_view s) : bstr(or_throw(from_utf16(s), s.size() * 2)) {}
#ifdef _WIN32
    explicit bstr(std::wstring_view s) : bstr(or_throw(from_wide(s), s.size() * 2)) {}
#endif
    /// \effects a BSTR of utf8 converted to UTF-16; invalid UTF-8 throws string_error.
    explicit bstr(std::string_view utf8);
    explicit bstr(std::u8string_view utf8) : bstr(detail::as_chars(utf8)) {}
    /// SysAllocStringByteLen: \effects a BSTR of exactly these bytes (odd counts too).
    explicit bstr(std::span<const std::byte> bytes)
        : bstr(or_throw(from_bytes(bytes), bytes.size())) {}
    /// SysAllocStringLen(nullptr, n): \effects n uninitialised code units and a wide NUL, to be
    /// filled through data() (typically by an API given get() and n) and used as is.
    bstr(uninitialized_t, size_type n) : bstr(or_throw(allocate(n), n * 2)) {}
    /// \effects an owning copy of v, byte for byte (as copy_of).
    explicit bstr(bstr_view v) : bstr(or_throw(copy_of(v), v.byte_size())) {}

    // --- creation, by value: noexcept, result<bstr> -------------------------------------------
    [[nodiscard]] static result<bstr> from_utf16(std::u16string_view s) noexcept {
        return from_units(s.data(), s.size());
    }
#ifdef _WIN32
    [[nodiscard]] static result<bstr> from_wide(std::wstring_view s) noexcept {
        return from_units(s.data(), s.size());
    }
#endif
    /// \errors invalid_utf8 (nothing is allocated), string_too_long, out_of_memory.
    [[nodiscard]] static result<bstr> from_utf8(std::string_view utf8) noexcept {
        return utf16_length(utf8).and_then(
            [utf8](std::size_t n) { return decode_into_new(utf8, n); });
    }
    [[nodiscard]] static result<bstr> from_utf8(std::u8string_view utf8) noexcept {
        return from_utf8(detail::as_chars(utf8));
    }
    /// SysAllocStringByteLen: the byte length is exactly bytes.size().
    [[nodiscard]] static result<bstr> from_bytes(std::span<const std::byte> bytes) noexcept {
        if (bytes.size() > max_bstr_byte_length)
            return fail(errc::string_too_long);
        return adopt_result(detail::os::bstr_allocate_bytes(
            bytes.data(), static_cast<std::uint32_t>(bytes.size())));
    }
    /// n uninitialised code units and a wide NUL (see the uninitialized_t constructor).
    [[nodiscard]] static result<bstr> allocate(size_type n) noexcept {
        return from_units(nullptr, n);
    }
    /// \returns a copy of v with the same bytes (an odd byte length kept); null for null.
    [[nodiscard]] static result<bstr> copy_of(bstr_view v) noexcept {
        if (v.is_null())
            return bstr();
        return concat(v.data(), v.byte_size(), nullptr, 0);
    }
    /// Takes ownership of `raw`, a BSTR from SysAllocString's allocator, or nullptr.
    [[nodiscard]] static bstr adopt(olechar* raw) noexcept { return bstr(adopting{}, raw); }

    /// \returns a copy with the same bytes; throwing form of copy_of.
    [[nodiscard]] bstr clone() const { return bstr(view()); }
    [[nodiscard]] result<bstr> try_clone() const noexcept { return copy_of(view()); }

    // --- ownership across raw code -------------------------------------------------------------
    /// \returns the BSTR, which the caller now owns (and must free); this is null afterwards.
    [[nodiscard]] olechar* release() noexcept { return std::exchange(p_, nullptr); }
    /// The out-parameter adaptor for `HRESULT f(BSTR*)`: \effects frees the current value, then
    /// \returns the address of the (now null) BSTR for f to store its result in. Unlike CComBSTR's
    /// operator&, which hands out the address with the old value still in it, nothing can leak.
    [[nodiscard]] olechar** put() noexcept {
        clear();
        return &p_;
    }
    /// \effects frees the BSTR; this is null afterwards.
    void clear() noexcept { destroy(std::exchange(p_, nullptr)); }
    void swap(bstr& other) noexcept { std::swap(p_, other.p_); }
    friend void swap(bstr& a, bstr& b) noexcept { a.swap(b); }

    // --- access --------------------------------------------------------------------------------
    using bstr_chars::begin;
    using bstr_chars::data;
    using bstr_chars::end;
    using bstr_chars::operator[];
    [[nodiscard]] olechar* data() noexcept { return p_; }
    [[nodiscard]] olechar* begin() noexcept { return p_; }
    [[nodiscard]] olechar* end() noexcept { return p_ + size(); }
    [[nodiscard]] olechar& operator[](size_type i) noexcept { return p_[i]; }

    [[nodiscard]] bstr_view view() const noexcept { return bstr_view(p_); }
    operator bstr_view() const noexcept { return view(); } // NOLINT: a bstr is usable as a view

    // --- changes -------------------------------------------------------------------------------
    /// \effects appends s's bytes. Growth reallocates the BSTR to the exact new length, as
    /// SysReAllocStringLen does (it may move); when either side has an odd byte length the bytes
    /// are joined exactly in a new BSTR. On error nothing changes. \errors string_too_long,
    /// out_of_memory.
    result<void> try_append(bstr_view s) noexcept { return append_bytes(s.data(), s.byte_size()); }
    result<void> try_append(std::u16string_view s) noexcept {
        return append_bytes(s.data(), s.size() * sizeof(char16_t));
    }
#ifdef _WIN32
    result<void> try_append(std::wstring_view s) noexcept {
        return append_bytes(s.data(), s.size() * sizeof(wchar_t));
    }
    bstr& operator+=(std::wstring_view s) { return append_or_throw(s.data(), s.size() * 2); }
#endif
    bstr& operator+=(bstr_view s) { return append_or_throw(s.data(), s.byte_size()); }
    bstr& operator+=(std::u16string_view s) { return append_or_throw(s.data(), s.size() * 2); }

    /// \effects makes size() n: the first code units kept, new ones zero (as std::string::resize);
    /// a null bstr stays null for n == 0. On error nothing changes. \errors string_too_long,
    /// out_of_memory.
    result<void> try_resize(size_type n) noexcept;
    void resize(size_type n) {
        if (auto r = try_resize(n); !r)
            throw_error(r.error(), n * 2);
    }

    friend bool operator==(const bstr& a, const bstr& b) noexcept { return a.view() == b.view(); }
    friend std::strong_ordering operator<=>(const bstr& a, const bstr& b) noexcept {
        return a.view() <=> b.view();
    }
    friend bool operator==(const bstr& a, bstr_view b) noexcept { return a.view() == b; }
    friend std::strong_ordering operator<=>(const bstr& a, bstr_view b) noexcept {
        return a.view() <=> b;
    }
    friend bool operator==(const bstr& a, std::u16string_view b) noexcept { return a.view() == b; }
    friend std::strong_ordering operator<=>(const bstr& a, std::u16string_view b) noexcept {
        return a.view() <=> b;
    }
#ifdef _WIN32
    friend bool operator==(const bstr& a, std::wstring_view b) noexcept { return a.view() == b; }
    friend std::strong_ordering operator<=>(const bstr& a, std::wstring_view b) noexcept {
        return a.view() <=> b;
    }
#endif

    /// \returns a new BSTR of a's bytes followed by b's. \throws string_error, heap_error.
    friend bstr operator+(bstr_view a, bstr_view b) { return joined(a, b.data(), b.byte_size()); }
    friend bstr operator+(bstr_view a, std::u16string_view b) {
        return joined(a, b.data(), b.size() * 2);
    }
    /// \returns a with b appended (a's BSTR reused where it can grow).
    friend bstr operator+(bstr&& a, bstr_view b) { return std::move(a += b); }
    friend bstr operator+(bstr&& a, std::u16string_view b) { return std::move(a += b); }
#ifdef _WIN32
    friend bstr operator+(bstr_view a, std::wstring_view b) {
        return joined(a, b.data(), b.size() * 2);
    }
    friend bstr operator+(bstr&& a, std::wstring_view b) { return std::move(a += b); }
#endif

private:
    struct adopting {};
    bstr(adopting, olechar* raw) noexcept : bstr_chars(raw) {}

    static void destroy(olechar* p) noexcept {
        if (p == nullptr)
            return;
        if (auto freed = detail::os::bstr_free(p); !freed)
            report_deallocation_error(heap_name, p, freed.error());
    }
    static result<bstr> adopt_result(const result<void*>& r) noexcept {
        return r.map([](void* p) { return adopt(static_cast<olechar*>(p)); });
    }
    static result<bstr> from_units(const void* units, std::size_t n) noexcept {
        if (n > max_bstr_length)
            return fail(errc::string_too_long);
        return adopt_result(detail::os::bstr_allocate(units, static_cast<std::uint32_t>(n)));
    }
    static result<bstr> decode_into_new(std::string_view valid_utf8, std::size_t n) noexcept {
        return allocate(n).map([valid_utf8](bstr b) {
            detail::decode_utf8(valid_utf8, b.p_);
            return b;
        });
    }
    /// A new BSTR of na bytes from a, then nb bytes from b.
    static result<bstr> concat(const void* a, std::size_t na, const void* b,
                               std::size_t nb) noexcept;
    result<void> append_bytes(const void* bytes, std::size_t n) noexcept;

    [[noreturn]] static void throw_error(errc why, std::size_t bytes) {
        if (why == errc::out_of_memory)
            throw heap_error(heap_name, bytes, why);
        throw string_error(why);
    }
    static bstr or_throw(result<bstr>&& r, std::size_t bytes) {
        if (!r)
            throw_error(r.error(), bytes);
        return std::move(*r);
    }
    static bstr joined(bstr_view a, const void* b, std::size_t nb) {
        return or_throw(concat(a.data(), a.byte_size(), b, nb), a.byte_size() + nb);
    }
    bstr& append_or_throw(const void* bytes, std::size_t n) {
        if (auto r = append_bytes(bytes, n); !r)
            throw_error(r.error(), byte_size() + n);
        return *this;
    }
};

inline bstr bstr_view::clone() const { return bstr(*this); }

// The joining operators are bstr's friends (they use its internals) and are declared here too, so
// that two bstr_views (or a bstr_view and a string) find them.
bstr operator+(bstr_view a, bstr_view b);
bstr operator+(bstr_view a, std::u16string_view b);
#ifdef _WIN32
bstr operator+(bstr_view a, std::wstring_view b);
#endif

/// \effects writes v as UTF-8 (unpaired surrogates as U+FFFD).
std::ostream& operator<<(std::ostream& os, bstr_view v);

} // namespace memmgr

/// Hashes agree with ==: they cover exactly the bytes (so null and empty hash alike).
/// std::hash<bstr> is transparent, for lookups by bstr_view in an unordered container keyed by bstr
/// (with std::equal_to<>).
template <>
struct std::hash<memmgr::bstr_view> {
    [[nodiscard]] std::size_t operator()(memmgr::bstr_view v) const noexcept {
        auto bytes = v.as_bytes();
        return std::hash<std::string_view>{}(
            std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }
};
template <>
struct std::hash<memmgr::bstr> {
    using is_transparent = void;
    [[nodiscard]] std::size_t operator()(memmgr::bstr_view v) const noexcept {
        return std::hash<memmgr::bstr_view>{}(v);
    }
};

// --- implementation -----------------------------------------------------------------------------

namespace memmgr {

bstr::bstr(std::string_view utf8) {
    auto n = utf16_length(utf8);
    if (!n)
        throw string_error(n.error());
    *this = or_throw(decode_into_new(utf8, *n), *n * sizeof(olechar));
}

result<bstr> bstr::concat(const void* a, std::size_t na, const void* b, std::size_t nb) noexcept {
    if (na > max_bstr_byte_length || nb > max_bstr_byte_length - na)
        return fail(errc::string_too_long);
    const auto total = static_cast<std::uint32_t>(na + nb);
    return adopt_result(detail::os::bstr_allocate_bytes(nullptr, total)).map([&](bstr joined) {
        auto* out = reinterpret_cast<unsigned char*>(joined.p_);
        if (na != 0)
            std::memcpy(out, a, na);
        if (nb != 0)
            std::memcpy(out + na, b, nb);
        return joined;
    });
}

result<void> bstr::append_bytes(const void* bytes, std::size_t n) noexcept {
    if (n == 0)
        return {}; // nothing to add: a null bstr stays null
    const std::size_t old = byte_size();
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
    const std::size_t old = byte_size();
    return detail::os::bstr_reallocate(p_, p_, static_cast<std::uint32_t>(n)).map([&](void* q) {
        p_ = static_cast<olechar*>(q);
        if (n * sizeof(olechar) > old)
            std::memset(reinterpret_cast<unsigned char*>(p_) + old, 0, n * sizeof(olechar) - old);
    });
}

std::ostream& operator<<(std::ostream& os, bstr_view v) {
    const std::string utf8 = v.to_utf8();
    return os.write(utf8.data(), static_cast<std::streamsize>(utf8.size()));
}

} // namespace memmgr
