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
//
// Raw BSTRs (olechar*, and any pointer to 16-bit code units) never become string views silently:
// a view of a pointer would read to its first NUL, although a BSTR's length is in its prefix and
// may count NULs, and would be undefined for the null BSTR, a valid (empty) string. Every overload
// that takes a UTF-16 string view therefore has a deleted twin for such pointers; the explicit
// doors are bstr_view(raw) (a view through the prefix, null included), bstr::copy_of_bstr(raw) (a
// copy) and bstr::adopt(raw) (ownership). String literals are arrays, not pointers: they still
// convert.
//
// Bodies live in bstr.cpp, except the accessors and the moves, which are marked inline: each is a
// load or two, as std::string_view's are, and a call would cost more than the work. (In a named
// module a member defined in its class is not implicitly inline; without the keyword an importer
// would call it.)
module;
#include <compare>
#include <cstddef>
#include <functional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#ifdef _WIN32
// oaidl.h's VARIANT, declared (not defined) here, in the global module, where the Windows headers
// declare it too: bstr's VARIANT functions name it without bringing <oaidl.h> to importers.
struct tagVARIANT;
#endif

export module memmgr:bstr;

import :errors;
import :sys_string;
import :utf;

// Internal (module linkage): the base of both exported classes, reachable through them.
namespace memmgr::detail {

/// A pointer to 16-bit code units (olechar*, const char16_t*, ...), which is what a raw BSTR looks
/// like: the type the deleted overloads refuse. An array (a string literal) is not one.
template <class T>
concept utf16_pointer =
    std::is_pointer_v<T> && utf16_code_unit<std::remove_cv_t<std::remove_pointer_t<T>>>;

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
    [[nodiscard]] inline olechar* get() const noexcept { return p_; }
    /// \returns true for the null BSTR, which otherwise reads as the empty string.
    [[nodiscard]] inline bool is_null() const noexcept { return p_ == nullptr; }
    /// SysStringLen: \returns the length in code units, from the prefix (embedded NULs count).
    [[nodiscard]] inline size_type size() const noexcept { return byte_size() / sizeof(olechar); }
    [[nodiscard]] inline size_type length() const noexcept { return size(); }
    /// SysStringByteLen: \returns the length in bytes, from the prefix; odd for strings made from
    /// an odd number of bytes, whose last byte is then part of no code unit.
    [[nodiscard]] inline size_type byte_size() const noexcept {
        return p_ == nullptr ? 0 : bstr_prefix(p_);
    }
    /// \returns size() == 0 (null, empty, or a single byte).
    [[nodiscard]] inline bool empty() const noexcept { return size() == 0; }
    /// \returns !empty(). Null reads as the empty string and equals it, so both are false (unlike
    /// CComBSTR's operator!, which tests for null alone: is_null() does that).
    [[nodiscard]] inline explicit operator bool() const noexcept { return !empty(); }

    [[nodiscard]] inline const olechar* data() const noexcept { return p_; }
    [[nodiscard]] inline const olechar* begin() const noexcept { return p_; }
    [[nodiscard]] inline const olechar* end() const noexcept { return p_ + size(); }
    /// \requires i < size(), or i == size() for the terminator of a non-null BSTR.
    [[nodiscard]] inline const olechar& operator[](size_type i) const noexcept { return p_[i]; }

    /// \returns the code units followed by a NUL: the BSTR itself, or "" for null (never nullptr),
    /// for APIs that need a real string.
    [[nodiscard]] inline const olechar* c_str() const noexcept {
        return p_ != nullptr ? p_ : empty_;
    }
    /// \returns the size() code units as a std::basic_string_view<olechar>.
    [[nodiscard]] inline string_view_type as_string_view() const noexcept {
        return {c_str(), size()};
    }
    /// \returns the byte_size() bytes, an odd last byte included.
    [[nodiscard]] inline std::span<const std::byte> as_bytes() const noexcept {
        return {reinterpret_cast<const std::byte*>(p_), byte_size()};
    }

    /// \returns the code units as they are (unpaired surrogates included). \throws std::bad_alloc.
    [[nodiscard]] std::u16string to_u16string() const;
#ifdef _WIN32
    /// \returns the code units as they are. \throws std::bad_alloc.
    [[nodiscard]] std::wstring to_wstring() const;
#endif
    /// \returns the string as UTF-8, each unpaired surrogate as U+FFFD (an odd last byte, being no
    /// code unit, is not converted). \throws std::bad_alloc.
    [[nodiscard]] std::string to_utf8() const;

    /// CComBSTR::CopyTo, for an out-parameter: \effects stores in *out a new BSTR with the same
    /// bytes (nullptr for null), which the caller then owns. *out is not freed first: by the COM
    /// rules an out-parameter holds nothing yet.
    /// \errors null_pointer (out is null); out_of_memory, and then *out is nullptr.
    result<void> copy_to(olechar** out) const noexcept;
#ifdef _WIN32
    /// Windows only: \effects makes a copy of this BSTR, then VariantClear(target) (which frees
    /// what it held), then stores the copy in it as VT_BSTR. \errors out_of_memory (the copy could
    /// not be made), not_supported (VariantClear refused); target is untouched either way.
    result<void> copy_to(tagVARIANT& target) const noexcept;
#endif

protected:
    constexpr bstr_chars() noexcept = default;
    constexpr explicit bstr_chars(olechar* p) noexcept : p_(p) {}

    olechar* p_ = nullptr;

private:
    static constexpr olechar empty_[1] = {};
};

} // namespace memmgr::detail

export namespace memmgr {

class bstr;

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
    /// Views `raw`, which must be a BSTR or nullptr (the null BSTR, which reads as empty): the
    /// prefix before it is read. Explicit, as a plain string (a std::u16string's data) is no BSTR.
    constexpr explicit bstr_view(const olechar* raw) noexcept
        : bstr_chars(const_cast<olechar*>(raw)) {}

    /// \returns an owning copy (as bstr::copy_of). \throws string_error, heap_error.
    [[nodiscard]] bstr clone() const;

    /// Ordinal and length-aware: code units compared by value (embedded NULs included), a proper
    /// prefix sorts first, null equals empty; between equal code units an odd byte length's last
    /// byte breaks the tie (none sorts first). Equal views have equal bytes.
    friend bool operator==(bstr_view a, bstr_view b) noexcept;
    friend std::strong_ordering operator<=>(bstr_view a, bstr_view b) noexcept;
    friend bool operator==(bstr_view a, std::u16string_view b) noexcept;
    friend std::strong_ordering operator<=>(bstr_view a, std::u16string_view b) noexcept;
#ifdef _WIN32
    friend bool operator==(bstr_view a, std::wstring_view b) noexcept;
    friend std::strong_ordering operator<=>(bstr_view a, std::wstring_view b) noexcept;
#endif
    /// \returns true if utf8 is well-formed UTF-8 and decodes to exactly a's code units (never for
    /// an odd byte length, nor for unpaired surrogates, which UTF-8 cannot encode). No ordering
    /// with UTF-8 text: ill-formed text has no place in the order of code units.
    friend bool operator==(bstr_view a, std::string_view utf8) noexcept;
    friend bool operator==(bstr_view a, std::u8string_view utf8) noexcept;

    // A raw pointer is no string view: compare bstr_view(raw) instead.
    template <detail::utf16_pointer P>
    friend bool operator==(bstr_view, const P&) = delete;
    template <detail::utf16_pointer P>
    friend std::strong_ordering operator<=>(bstr_view, const P&) = delete;
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
    inline bstr(bstr&& other) noexcept : bstr_chars(std::exchange(other.p_, nullptr)) {}
    /// \effects frees this BSTR and takes other's; other is null afterwards.
    inline bstr& operator=(bstr&& other) noexcept {
        if (this != &other)
            destroy(std::exchange(p_, std::exchange(other.p_, nullptr)));
        return *this;
    }
    inline ~bstr() { destroy(p_); }

    // --- creation, throwing: string_error (invalid_utf8, string_too_long) or heap_error ---------
    /// \effects a BSTR of s's code units, embedded NULs and unpaired surrogates kept.
    explicit bstr(std::u16string_view s);
#ifdef _WIN32
    explicit bstr(std::wstring_view s);
#endif
    /// \effects a BSTR of utf8 converted to UTF-16; invalid UTF-8 throws string_error.
    explicit bstr(std::string_view utf8);
    explicit bstr(std::u8string_view utf8);
    /// SysAllocStringByteLen: \effects a BSTR of exactly these bytes (odd counts too).
    explicit bstr(std::span<const std::byte> bytes);
    /// SysAllocStringLen(nullptr, n): \effects n uninitialised code units and a wide NUL, to be
    /// filled through data() (typically by an API given get() and n) and used as is.
    bstr(uninitialized_t, size_type n);
    /// \effects an owning copy of v, byte for byte (as copy_of).
    explicit bstr(bstr_view v);
    /// A raw BSTR does not convert: bstr(bstr_view(raw)) or copy_of_bstr(raw) copies it through its
    /// prefix, adopt(raw) takes it.
    template <detail::utf16_pointer P>
    bstr(const P&) = delete;

    // --- assignment, throwing as the constructors; on error nothing changes --------------------
    /// \effects replaces the BSTR with one made as the matching constructor makes it (a new BSTR;
    /// the old one is freed after). Assigning a view of this bstr itself is safe.
    bstr& operator=(bstr_view v);
    bstr& operator=(std::u16string_view s);
#ifdef _WIN32
    bstr& operator=(std::wstring_view s);
#endif
    bstr& operator=(std::string_view utf8);
    bstr& operator=(std::u8string_view utf8);
    template <detail::utf16_pointer P>
    bstr& operator=(const P&) = delete;

    // --- creation, by value: noexcept, result<bstr> -------------------------------------------
    [[nodiscard]] static result<bstr> from_utf16(std::u16string_view s) noexcept;
#ifdef _WIN32
    [[nodiscard]] static result<bstr> from_wide(std::wstring_view s) noexcept;
#endif
    template <detail::utf16_pointer P>
    static result<bstr> from_utf16(const P&) = delete;
#ifdef _WIN32
    template <detail::utf16_pointer P>
    static result<bstr> from_wide(const P&) = delete;
#endif
    /// \errors invalid_utf8 (nothing is allocated), string_too_long, out_of_memory.
    [[nodiscard]] static result<bstr> from_utf8(std::string_view utf8) noexcept;
    [[nodiscard]] static result<bstr> from_utf8(std::u8string_view utf8) noexcept;
    /// SysAllocStringByteLen: the byte length is exactly bytes.size().
    [[nodiscard]] static result<bstr> from_bytes(std::span<const std::byte> bytes) noexcept;
    /// n uninitialised code units and a wide NUL (see the uninitialized_t constructor).
    [[nodiscard]] static result<bstr> allocate(size_type n) noexcept;
    /// \returns a copy of v with the same bytes (an odd byte length kept); null for null.
    [[nodiscard]] static result<bstr> copy_of(bstr_view v) noexcept;
    /// \returns a copy of the raw BSTR `raw` (or nullptr: null), read through its length prefix,
    /// so embedded NULs and an odd byte length are kept: copy_of(bstr_view(raw)).
    [[nodiscard]] static result<bstr> copy_of_bstr(const olechar* raw) noexcept;
    /// Takes ownership of `raw`, a BSTR from SysAllocString's allocator, or nullptr.
    [[nodiscard]] static bstr adopt(olechar* raw) noexcept;
#ifdef _WIN32
    /// Windows only. \returns a copy of the BSTR `v` holds (VT_BSTR; a null bstrVal gives null);
    /// v is unchanged. \errors not_a_bstr for any other type (VT_BYREF included), out_of_memory.
    [[nodiscard]] static result<bstr> copy_of(const tagVARIANT& v) noexcept;
    /// Windows only. \returns the BSTR `v` holds, taken over: v is VT_EMPTY afterwards and frees
    /// nothing when cleared. \errors not_a_bstr for any other type; v is then untouched.
    [[nodiscard]] static result<bstr> detach_from(tagVARIANT& v) noexcept;
#endif

    /// \returns a copy with the same bytes; throwing form of copy_of.
    [[nodiscard]] bstr clone() const;
    [[nodiscard]] result<bstr> try_clone() const noexcept;

    // --- ownership across raw code -------------------------------------------------------------
    /// \returns the BSTR, which the caller now owns (and must free); this is null afterwards.
    [[nodiscard]] olechar* release() noexcept;
    /// The out-parameter adaptor for `HRESULT f(BSTR*)`: \effects frees the current value, then
    /// \returns the address of the (now null) BSTR for f to store its result in. Unlike CComBSTR's
    /// operator&, which hands out the address with the old value still in it, nothing can leak.
    [[nodiscard]] olechar** put() noexcept;
    /// \effects frees the BSTR; this is null afterwards.
    void clear() noexcept;
#ifdef _WIN32
    /// Windows only: \effects VariantClear(target) (which frees what it held), then hands this
    /// BSTR to it as VT_BSTR; this is null afterwards. \errors not_supported if VariantClear
    /// refuses (target untouched); this bstr then keeps its BSTR.
    result<void> move_to(tagVARIANT& target) noexcept;
#endif
    void swap(bstr& other) noexcept;
    friend void swap(bstr& a, bstr& b) noexcept;

    // --- access --------------------------------------------------------------------------------
    using bstr_chars::begin;
    using bstr_chars::data;
    using bstr_chars::end;
    using bstr_chars::operator[];
    [[nodiscard]] inline olechar* data() noexcept { return p_; }
    [[nodiscard]] inline olechar* begin() noexcept { return p_; }
    [[nodiscard]] inline olechar* end() noexcept { return p_ + size(); }
    [[nodiscard]] inline olechar& operator[](size_type i) noexcept { return p_[i]; }

    [[nodiscard]] inline bstr_view view() const noexcept { return bstr_view(p_); }
    inline operator bstr_view() const noexcept { return view(); } // NOLINT: usable as a view

    // --- changes -------------------------------------------------------------------------------
    /// \effects appends s's bytes. Growth reallocates the BSTR to the exact new length, as
    /// SysReAllocStringLen does (it may move); when either side has an odd byte length the bytes
    /// are joined exactly in a new BSTR. On error nothing changes. \errors string_too_long,
    /// out_of_memory.
    result<void> try_append(bstr_view s) noexcept;
    result<void> try_append(std::u16string_view s) noexcept;
#ifdef _WIN32
    result<void> try_append(std::wstring_view s) noexcept;
    bstr& operator+=(std::wstring_view s);
#endif
    bstr& operator+=(bstr_view s);
    bstr& operator+=(std::u16string_view s);
    template <detail::utf16_pointer P>
    result<void> try_append(const P&) = delete;
    template <detail::utf16_pointer P>
    bstr& operator+=(const P&) = delete;

    /// \effects makes size() n: the first code units kept, new ones zero (as std::string::resize);
    /// a null bstr stays null for n == 0. On error nothing changes. \errors string_too_long,
    /// out_of_memory.
    result<void> try_resize(size_type n) noexcept;
    void resize(size_type n);

    friend bool operator==(const bstr& a, const bstr& b) noexcept;
    friend std::strong_ordering operator<=>(const bstr& a, const bstr& b) noexcept;
    friend bool operator==(const bstr& a, bstr_view b) noexcept;
    friend std::strong_ordering operator<=>(const bstr& a, bstr_view b) noexcept;
    friend bool operator==(const bstr& a, std::u16string_view b) noexcept;
    friend std::strong_ordering operator<=>(const bstr& a, std::u16string_view b) noexcept;
#ifdef _WIN32
    friend bool operator==(const bstr& a, std::wstring_view b) noexcept;
    friend std::strong_ordering operator<=>(const bstr& a, std::wstring_view b) noexcept;
#endif
    /// As bstr_view's: the UTF-8 text decodes to exactly these code units.
    friend bool operator==(const bstr& a, std::string_view utf8) noexcept;
    friend bool operator==(const bstr& a, std::u8string_view utf8) noexcept;
    template <detail::utf16_pointer P>
    friend bool operator==(const bstr&, const P&) = delete;
    template <detail::utf16_pointer P>
    friend std::strong_ordering operator<=>(const bstr&, const P&) = delete;

    /// \returns a new BSTR of a's bytes followed by b's. \throws string_error, heap_error.
    friend bstr operator+(bstr_view a, bstr_view b);
    friend bstr operator+(bstr_view a, std::u16string_view b);
    /// \returns a with b appended (a's BSTR reused where it can grow).
    friend bstr operator+(bstr&& a, bstr_view b);
    friend bstr operator+(bstr&& a, std::u16string_view b);
#ifdef _WIN32
    friend bstr operator+(bstr_view a, std::wstring_view b);
    friend bstr operator+(bstr&& a, std::wstring_view b);
#endif
    template <detail::utf16_pointer P>
    friend bstr operator+(bstr&&, const P&) = delete;

private:
    // Frees p (nullptr does nothing); a failure goes to report_deallocation_error.
    static void destroy(olechar* p) noexcept;
    // What every append comes to: n bytes from `bytes`, which may lie in this BSTR.
    result<void> append_bytes(const void* bytes, std::size_t n) noexcept;
    bstr& append_or_throw(const void* bytes, std::size_t n);
};

// The joining operators are bstr's friends and are declared here too, so that two bstr_views (or a
// bstr_view and a string) find them.
bstr operator+(bstr_view a, bstr_view b);
bstr operator+(bstr_view a, std::u16string_view b);
#ifdef _WIN32
bstr operator+(bstr_view a, std::wstring_view b);
#endif
// A raw BSTR joined as a view would be read to its first NUL: join bstr_view(raw) instead.
template <detail::utf16_pointer P>
bstr operator+(bstr_view, const P&) = delete;

/// \effects writes v as UTF-8 (unpaired surrogates as U+FFFD).
std::ostream& operator<<(std::ostream& os, bstr_view v);

} // namespace memmgr

/// Hashes agree with ==: they cover exactly the bytes (so null and empty hash alike).
/// std::hash<bstr> is transparent, for lookups by bstr_view in an unordered container keyed by bstr
/// (with std::equal_to<>).
template <>
struct std::hash<memmgr::bstr_view> {
    [[nodiscard]] std::size_t operator()(memmgr::bstr_view v) const noexcept;
};
template <>
struct std::hash<memmgr::bstr> {
    using is_transparent = void;
    [[nodiscard]] std::size_t operator()(memmgr::bstr_view v) const noexcept;
};
