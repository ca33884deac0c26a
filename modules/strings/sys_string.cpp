// memmgr:sys_string's implementation: memmgr's argument checks in front of the platform layer's
// BSTR functions (oleaut32 on Windows, the com process heap on POSIX).
module;
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

module memmgr;

namespace memmgr {

namespace {
olechar* as_bstr(const result<void*>& r) noexcept {
    return r ? static_cast<olechar*>(*r) : nullptr;
}
} // namespace

olechar* sys_alloc_string(const olechar* psz) noexcept {
    if (psz == nullptr)
        return nullptr;
    const std::size_t n = std::char_traits<olechar>::length(psz);
    if (n > max_bstr_length)
        return nullptr;
    return sys_alloc_string_len(psz, static_cast<std::uint32_t>(n));
}

olechar* sys_alloc_string_len(const olechar* psz, std::uint32_t len) noexcept {
    if (len > max_bstr_length)
        return nullptr;
    return as_bstr(detail::os::bstr_allocate(psz, len));
}

olechar* sys_alloc_string_byte_len(const char* psz, std::uint32_t len) noexcept {
    if (len > max_bstr_byte_length)
        return nullptr;
    return as_bstr(detail::os::bstr_allocate_bytes(psz, len));
}

bool sys_realloc_string_len(olechar** pbstr, const olechar* psz, std::uint32_t len) noexcept {
    if (pbstr == nullptr || len > max_bstr_length)
        return false;
    olechar* const old = *pbstr;
    // Nothing is read from a string that is not live (POSIX tells; Windows cannot), and its length
    // is read in the same step as the check.
    std::uint32_t old_bytes = 0;
    if (old != nullptr) {
        auto checked = detail::os::bstr_check(old);
        if (!checked)
            return false;
        old_bytes = *checked;
    }
    // oleaut32 may move the block before it copies from psz, so a source inside the string (other
    // than the string itself, which means "keep") is copied into a new string first. Inside means
    // anywhere in its units, a half-filled last unit and the terminator included.
    const bool inside = old != nullptr && psz != old && std::greater_equal<>{}(psz, old) &&
                        std::less<>{}(psz, old + (old_bytes + 1) / 2 + 1);
    olechar* fresh = old == nullptr || inside ? sys_alloc_string_len(psz, len)
                                              : as_bstr(detail::os::bstr_reallocate(old, psz, len));
    if (fresh == nullptr)
        return false;
    if (inside)
        sys_free_string(old);
    *pbstr = fresh;
    return true;
}

bool sys_realloc_string(olechar** pbstr, const olechar* psz) noexcept {
    if (pbstr == nullptr)
        return false;
    // Made before the old one goes, so that psz may point into it (oleaut32 frees first).
    olechar* fresh = sys_alloc_string(psz);
    if (fresh == nullptr && psz != nullptr)
        return false;
    sys_free_string(*pbstr);
    *pbstr = fresh;
    return true;
}

void sys_free_string(olechar* bstr) noexcept {
    if (bstr != nullptr)
        (void)detail::os::bstr_free(bstr);
}

std::uint32_t sys_string_len(const olechar* bstr) noexcept {
    return bstr == nullptr ? 0 : detail::os::bstr_length(bstr);
}

std::uint32_t sys_string_byte_len(const olechar* bstr) noexcept {
    return bstr == nullptr ? 0 : detail::os::bstr_byte_length(bstr);
}

} // namespace memmgr
