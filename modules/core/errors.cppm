// memmgr:errors: error codes, tl::expected-based results and the exception thrown by the throwing
// layers.
//
// The low layer (heaps) is noexcept and reports failure by value: result<T> holds either the value
// or an errc. The allocator layer turns an errc into heap_error, a std::bad_alloc subclass that
// says which heap failed and for what size.
module;
#include <cstddef>
#include <cstdint>
#include <new>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include <tl/expected.hpp>

export module memmgr:errors;

export namespace memmgr {

/// Why a memmgr operation failed. The values are stable: they may be stored or sent across an ABI.
enum class errc : int {
    out_of_memory = 1, ///< the heap (or the system beneath it) has no memory for the request
    size_overflow,     ///< the size asked for, or count x size, exceeds what any block can hold
    bad_alignment,     ///< an alignment that is zero, not a power of two, or beyond the limit
    foreign_block,     ///< the pointer was not allocated by this heap
    double_free,       ///< the block was already freed
    heap_corrupt,      ///< a heap structure or a block's guard bytes were overwritten
    heap_full,         ///< a heap created with a maximum size has reached it
    null_pointer,      ///< a null pointer where a block is required
    cannot_resize_in_place, ///< an in-place resize would have to move the block
    not_supported,          ///< the heap or the platform does not offer the operation
    heap_destroyed,         ///< the heap was destroyed (or moved from) before the call
    invalid_utf8,           ///< a byte sequence that is not well-formed UTF-8
    string_too_long,        ///< a string longer than a BSTR's 32-bit byte-length prefix can hold
    not_a_bstr,             ///< a VARIANT whose type is not VT_BSTR where a BSTR is required
};

/// The error category of memmgr's codes; its name is "memmgr".
[[nodiscard]] const std::error_category& memmgr_category() noexcept;

/// \returns std::error_code{static_cast<int>(e), memmgr_category()}; found by ADL, so that
/// std::error_code ec = memmgr::errc::heap_full; works.
[[nodiscard]] std::error_code make_error_code(errc e) noexcept;

/// \returns a short English description of e, as in std::error_code::message().
[[nodiscard]] std::string_view describe(errc e) noexcept;

/// \effects writes describe(e) to os (so that errc values read well in logs and test reports).
std::ostream& operator<<(std::ostream& os, errc e);

using tl::expected;
using tl::unexpected;

/// The result of an operation that can fail: a T or the errc saying why not.
template <class T>
using result = tl::expected<T, errc>;

/// \returns an unexpected errc, for `return memmgr::fail(errc::heap_full);`.
[[nodiscard]] constexpr tl::unexpected<errc> fail(errc e) noexcept {
    return tl::unexpected<errc>(e);
}

/// The largest size any heap accepts. Larger requests fail with errc::size_overflow before the
/// heap is asked, so that SIZE_MAX and wrapped-around arithmetic never reach an OS allocator.
inline constexpr std::size_t max_request_size = static_cast<std::size_t>(PTRDIFF_MAX);

/// The largest alignment any memmgr operation accepts (the Windows allocation granularity). Larger
/// alignments, zero and non-powers of two fail with errc::bad_alignment.
inline constexpr std::size_t max_alignment = 65536;

/// \returns true if a is a power of two no larger than max_alignment.
[[nodiscard]] constexpr bool valid_alignment(std::size_t a) noexcept {
    return a != 0 && (a & (a - 1)) == 0 && a <= max_alignment;
}

/// \returns count x size, or errc::size_overflow if the product wraps or exceeds max_request_size.
[[nodiscard]] constexpr result<std::size_t> checked_multiply(std::size_t count,
                                                             std::size_t size) noexcept {
    if (size != 0 && count > max_request_size / size)
        return fail(errc::size_overflow);
    return count * size;
}

/// Thrown by the throwing layers (adapters, allocators, bstr) when a heap fails.
///
/// It is a std::bad_alloc, so existing `catch (const std::bad_alloc&)` handlers keep working, and
/// it says which heap failed, for what size, and why.
class heap_error : public std::bad_alloc {
public:
    /// \effects builds the message "memmgr: <heap> could not allocate <size> bytes: <reason>".
    heap_error(std::string_view heap, std::size_t requested, errc why);

    /// \returns the message built at construction.
    [[nodiscard]] const char* what() const noexcept override;
    /// \returns the name of the heap that failed, e.g. "win32_heap".
    [[nodiscard]] std::string_view heap() const noexcept;
    /// \returns the size in bytes that was asked for.
    [[nodiscard]] std::size_t requested_size() const noexcept;
    /// \returns why the heap failed.
    [[nodiscard]] errc reason() const noexcept;
    /// \returns reason() as a std::error_code.
    [[nodiscard]] std::error_code code() const noexcept;

private:
    static constexpr std::size_t prefix_length = 8; // "memmgr: "
    static std::string message_for(std::string_view heap, std::size_t requested, errc why);

    // The text lives in a std::runtime_error, whose copies never throw (as every standard
    // exception's): so does heap_error's, which catching by value needs after an out-of-memory.
    std::runtime_error message_;
    std::size_t heap_length_;
    std::size_t requested_;
    errc reason_;
};

/// Thrown by the throwing layers (bstr's constructors) when a string cannot be converted or stored:
/// errc::invalid_utf8 or errc::string_too_long. Memory exhaustion is a heap_error instead.
class string_error : public std::system_error {
public:
    explicit string_error(errc why) : std::system_error(make_error_code(why)), reason_(why) {}
    /// \returns why the string was refused.
    [[nodiscard]] errc reason() const noexcept { return reason_; }

private:
    errc reason_;
};

} // namespace memmgr

// Reachable through `import memmgr;` (a specialization is not exported: it names nothing new).
template <>
struct std::is_error_code_enum<memmgr::errc> : std::true_type {};
