// memmgr:bstr, the raw-BSTR rule: a raw BSTR (olechar*, or any pointer to 16-bit code units) never
// becomes a string view silently, since a view of a pointer reads to its first NUL while a BSTR's
// length is in its prefix, and is undefined for the null BSTR, which is valid.
//
// Not a Boost.Test case (hence .probe.cpp), since the check is whether this file compiles:
// tests/CMakeLists.txt builds it once per probe (MEMMGR_PROBE=<n>) on the Linux legs, each as a
// target outside `all` that a ctest builds. Probe 0 is the positive twin and must compile: the
// explicit doors, and literals, which are arrays, not pointers. Every other probe is one implicit
// path and must fail with clang's error for a deleted function (tests/bstr_tests has the same as
// type traits).
#include <string_view>

import memmgr;

using memmgr::bstr;
using memmgr::bstr_view;
using memmgr::olechar;

#if MEMMGR_PROBE == 0
bool probe(olechar* raw) {
    bstr copy = bstr::copy_of_bstr(raw).value(); // copied through its prefix
    bstr same(bstr_view{raw});                   // the same, throwing
    bstr owner = bstr::adopt(raw);               // ownership taken
    bstr text(u"literal");                       // an array, not a pointer
    text = u"literal";
    text += u"!";
    return copy == bstr_view(raw) && same == copy && owner == bstr_view(raw) && text == u"x" &&
           (bstr_view(raw) <=> copy) == 0 && (bstr_view(raw) + bstr_view(raw)).size() > 0 &&
           (owner.release() != nullptr);
}
#elif MEMMGR_PROBE == 1  // direct construction
bstr probe(olechar* raw) {
    return bstr(raw);
}
#elif MEMMGR_PROBE == 2  // copy-initialisation
bstr probe(olechar* raw) {
    bstr b = raw;
    return b;
}
#elif MEMMGR_PROBE == 3  // equality with an owner
bool probe(const bstr& b, olechar* raw) {
    return b == raw;
}
#elif MEMMGR_PROBE == 4  // equality, reversed, with a const pointer
bool probe(const bstr& b, const olechar* raw) {
    return raw == b;
}
#elif MEMMGR_PROBE == 5  // equality with a view
bool probe(bstr_view v, olechar* raw) {
    return v == raw;
}
#elif MEMMGR_PROBE == 6  // ordering
bool probe(const bstr& b, olechar* raw) {
    return b < raw;
}
#elif MEMMGR_PROBE == 7  // assignment
void probe(bstr& b, olechar* raw) {
    b = raw;
}
#elif MEMMGR_PROBE == 8  // appending
void probe(bstr& b, olechar* raw) {
    b += raw;
}
#elif MEMMGR_PROBE == 9  // joining
bstr probe(bstr_view v, olechar* raw) {
    return v + raw;
}
#elif MEMMGR_PROBE == 10 // joining to a temporary
bstr probe(olechar* raw) {
    return bstr(u"x") + raw;
}
#elif MEMMGR_PROBE == 11 // the by-value factory
bool probe(olechar* raw) {
    return bstr::from_utf16(raw).has_value();
}
#elif MEMMGR_PROBE == 12 // the by-value append
bool probe(bstr& b, olechar* raw) {
    return b.try_append(raw).has_value();
}
#else
#error "MEMMGR_PROBE: 0 (the positive twin) to 12, as tests/CMakeLists.txt defines them"
#endif
