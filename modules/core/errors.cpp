// memmgr:errors, the bodies: the error category, the descriptions and heap_error's message.
module;
#include <cstddef>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

module memmgr;

namespace memmgr {

std::string_view describe(errc e) noexcept {
    switch (e) {
    case errc::out_of_memory:
        return "out of memory";
    case errc::size_overflow:
        return "size overflow: the request exceeds the largest possible block";
    case errc::bad_alignment:
        return "bad alignment: not a power of two, or too large";
    case errc::foreign_block:
        return "foreign block: the pointer does not belong to this heap";
    case errc::double_free:
        return "double free: the block was already freed";
    case errc::heap_corrupt:
        return "heap corrupt";
    case errc::heap_full:
        return "heap full: the heap's maximum size is reached";
    case errc::null_pointer:
        return "null pointer where a block is required";
    case errc::cannot_resize_in_place:
        return "the block cannot be resized without moving it";
    case errc::not_supported:
        return "operation not supported by this heap or platform";
    case errc::heap_destroyed:
        return "the heap was destroyed or moved from";
    case errc::invalid_utf8:
        return "invalid UTF-8";
    case errc::string_too_long:
        return "string too long for a BSTR";
    case errc::not_a_bstr:
        return "the VARIANT does not hold a BSTR (VT_BSTR)";
    }
    return "unknown memmgr error";
}

namespace {
class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "memmgr"; }
    std::string message(int code) const override {
        return std::string(describe(static_cast<errc>(code)));
    }
};
} // namespace

std::ostream& operator<<(std::ostream& os, errc e) {
    return os << describe(e);
}

const std::error_category& memmgr_category() noexcept {
    static const category instance;
    return instance;
}

std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), memmgr_category()};
}

heap_error::heap_error(std::string_view heap, std::size_t requested, errc why)
    : message_(message_for(heap, requested, why)), heap_length_(heap.size()), requested_(requested),
      reason_(why) {}

std::string heap_error::message_for(std::string_view heap, std::size_t requested, errc why) {
    std::string text("memmgr: ");
    text.append(heap)
        .append(" could not allocate ")
        .append(std::to_string(requested))
        .append(" bytes: ")
        .append(describe(why));
    return text;
}

const char* heap_error::what() const noexcept {
    return message_.what();
}

std::string_view heap_error::heap() const noexcept {
    return {message_.what() + prefix_length, heap_length_};
}

std::size_t heap_error::requested_size() const noexcept {
    return requested_;
}

errc heap_error::reason() const noexcept {
    return reason_;
}

std::error_code heap_error::code() const noexcept {
    return make_error_code(reason_);
}

} // namespace memmgr
