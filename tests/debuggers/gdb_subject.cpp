// What the gdb test (gdb_printers.cmake) looks at: a program, built with -g, that holds a bstr, a
// bstr_view, heap_ptr in each form and the heaps, and stops in inspect_here() with them alive.
#include <cstring>
#include <span>
#include <string_view>

import memmgr;

// The breakpoint: gdb stops here and looks one frame up, at main's locals.
[[gnu::noinline]] void inspect_here() {
    asm volatile(""); // keeps the call
}

int main() {
    memmgr::bstr text("Caf\xC3\xA9 \xE2\x82\xAC 5"); // "Café € 5": two non-ASCII code units
    memmgr::bstr with_nul(std::u16string_view(u"a\0b", 3));
    const char bytes[] = {'a', 0, 'b', 0, 'c'};        // u"ab" and half a code unit
    memmgr::bstr odd(std::as_bytes(std::span(bytes))); // SysAllocStringByteLen: 5 bytes
    memmgr::bstr empty("");
    memmgr::bstr null;
    memmgr::bstr_view view = text;

    memmgr::heap_ptr<char16_t, memmgr::com_heap> block;
    if (!block.allocate(6))
        return 1;
    std::memcpy(block.get(), u"block", 6 * sizeof(char16_t));

    memmgr::win32_heap arena({.maximum_size = 1 << 20, .serialize = false});
    memmgr::heap_ptr<int, memmgr::win32_heap&> numbers(arena);
    if (!numbers.allocate(4))
        return 1;
    numbers[0] = 42;
    memmgr::heap_ptr<void, memmgr::crt_heap> nothing;
    memmgr::com_heap task_allocator;

    inspect_here();
    return text.size() == 8 && with_nul.size() == 3 && odd.byte_size() == 5 && empty.empty() &&
                   null.is_null() && view.size() == 8 && nothing == nullptr &&
                   sizeof(task_allocator) == 1
               ? 0
               : 1;
}
