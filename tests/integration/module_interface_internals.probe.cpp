// The module interface, part 3: what `import memmgr;` must not bring. memmgr::detail has module
// linkage: the module's own partitions and implementation units use it, an importer cannot name it.
//
// Not a Boost.Test case (hence .probe.cpp, not .test.cpp), since the check is whether this file
// compiles: tests/CMakeLists.txt builds it once per probe below (MEMMGR_PROBE=<n>), each as a
// target outside `all` that a ctest builds.
// Probe 0 names an internal through memmgr::testing and must compile (the positive twin: it shows
// that a failing probe fails on the name it probes, not on this file or its build); every other
// probe names one internal partition's entity in memmgr::detail and must fail to compile.
#include <cstddef>
#include <cstdint>

import memmgr;

// Uses a class template's name as a template argument, so that a probe names it without having to
// pick template arguments of its own.
template <template <auto> class>
struct names_a_template {};

#if MEMMGR_PROBE == 0
int probe() {
    memmgr::testing::pointer_map<int> map;
    return map.insert_or_assign(&map, 1) ? 0 : 1;
}
#elif MEMMGR_PROBE == 1  // :pointer_map
int probe() {
    memmgr::detail::pointer_map<int> map;
    return map.insert_or_assign(&map, 1) ? 0 : 1;
}
#elif MEMMGR_PROBE == 2  // :block_registry
std::size_t probe() {
    return memmgr::detail::block_registry::instance<int>().size();
}
#elif MEMMGR_PROBE == 3  // :over_aligned
void* probe() {
    memmgr::crt_heap heap;
    return memmgr::detail::allocate_aligned_from(heap, 16, 64).value_or(nullptr);
}
#elif MEMMGR_PROBE == 4  // :platform
void* probe() {
    return memmgr::detail::os::heap_process();
}
#elif MEMMGR_PROBE == 5  // :system_heap
names_a_template<memmgr::detail::system_heap> probe;
#elif MEMMGR_PROBE == 6  // :heap_resource's base class
bool probe(const memmgr::detail::resource_over<memmgr::crt_heap>& resource) {
    return resource.is_equal(resource);
}
#elif MEMMGR_PROBE == 7  // :debug_heap's books, the non-template part of every debug_heap
std::size_t probe(const memmgr::detail::debug_ledger& ledger) {
    return ledger.checkpoint().next_request;
}
#elif MEMMGR_PROBE == 8  // :debug_heap's view of the heap beneath it
std::size_t probe() {
    return sizeof(memmgr::detail::debug_base_ops);
}
#elif MEMMGR_PROBE == 9  // :debug_heap's byte scans
std::size_t probe(const unsigned char* p) {
    return memmgr::detail::first_byte_not(p, 8, 0xFD);
}
#elif MEMMGR_PROBE == 10 // :utf
char16_t* probe(char16_t* out) {
    return memmgr::detail::decode_utf8("probe", out);
}
#elif MEMMGR_PROBE == 11 // :sys_string
std::uint32_t probe(const memmgr::olechar* bstr) {
    return memmgr::detail::bstr_prefix(bstr);
}
#elif MEMMGR_PROBE == 12 // :bstr's base class
std::size_t probe(const memmgr::detail::bstr_chars& chars) {
    return chars.size();
}
#elif MEMMGR_PROBE == 13 // :heap_ptr's base class
std::size_t probe(const memmgr::detail::referred_heap_holder<memmgr::win32_heap>& holder) {
    return sizeof(holder);
}
#elif MEMMGR_PROBE == 14 // :win32_heap's debug information anchor
void probe() {
    memmgr::detail::win32_heap_debug_info_anchor();
}
#elif MEMMGR_PROBE == 15 // :check_word
std::uint64_t probe(const void* p) {
    return memmgr::detail::check_word(p, 16);
}
#else
#error "MEMMGR_PROBE: 0 (the positive twin) to 15, as tests/CMakeLists.txt defines them"
#endif
