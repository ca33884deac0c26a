# GDB pretty-printers for memmgr: bstr and bstr_view (the text and its length, read from the BSTR's
# length prefix), heap_ptr (the block and, for stateful heaps, the heap), and the heaps (win32_heap:
# handle, ownership and options; the stateless heaps by name).
#
# Load them in gdb (or in ~/.gdbinit) from the installed package:
#
#     source <prefix>/share/memmgr/gdb/memmgr_printers.py
#
# Sourcing registers them for every object file, and sourcing twice replaces them (no duplicates).
# A bstr is a pointer to 16-bit code units (char16_t on POSIX, wchar_t on Windows) with the byte
# length in the 4 bytes before it; the text is decoded from those bytes as UTF-16, so embedded NULs
# are shown (as \0) and an unpaired surrogate reads U+FFFD, as memmgr's own conversion does.

import re

import gdb
import gdb.printing

_MAX_CHARS = 4096  # longer strings are shown cut, with "..." (the length is always the real one)


def _field(value, name):
    """value's member `name`, looked for in value's type and then in its base classes."""
    for f in value.type.strip_typedefs().fields():
        if f.name == name:
            return value[f]
    for f in value.type.strip_typedefs().fields():
        if f.is_base_class:
            found = _field(value.cast(f.type), name)
            if found is not None:
                return found
    return None


def _quote(text):
    out = []
    for ch in text:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch == "\0":
            out.append("\\0")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    return 'u"' + "".join(out) + '"'


def _describe_bstr(pointer):
    """'u"text" (length n)' for a BSTR pointer; 'null' for a null one."""
    address = int(pointer)
    if address == 0:
        return "null (length 0)"
    inferior = gdb.selected_inferior()
    try:
        byte_length = int.from_bytes(bytes(inferior.read_memory(address - 4, 4)), "little")
        shown = min(byte_length, _MAX_CHARS * 2)
        raw = bytes(inferior.read_memory(address, shown)) if shown else b""
    except gdb.MemoryError:
        return "<unreadable BSTR at 0x%x>" % address
    text = raw[: len(raw) - len(raw) % 2].decode("utf-16-le", errors="replace")
    suffix = "..." if shown < byte_length else ""
    length = "length %d" % (byte_length // 2)
    if byte_length % 2:
        length += ", %d bytes" % byte_length
    return "%s%s (%s)" % (_quote(text), suffix, length)


class BstrPrinter:
    """memmgr::bstr and memmgr::bstr_view."""

    def __init__(self, value):
        self.value = value

    def to_string(self):
        return _describe_bstr(_field(self.value, "p_"))


class HeapPtrPrinter:
    """memmgr::heap_ptr<T, H>: the block (gdb shows a character block's text) and the heap it
    refers to or holds; a stateless heap is named in the type and shown nowhere else."""

    def __init__(self, value):
        self.value = value

    def to_string(self):
        # As gdb prints the pointer itself: the address, and a character block's text.
        return _field(self.value, "p_").format_string(raw=False)

    def children(self):
        heap = _field(self.value, "heap_")
        if heap is not None:
            if heap.type.strip_typedefs().code == gdb.TYPE_CODE_PTR:
                yield "heap", heap.dereference()
            else:
                yield "heap", heap


class Win32HeapPrinter:
    """memmgr::win32_heap: its handle, whether it owns the heap, and its options."""

    def __init__(self, value):
        self.value = value

    def to_string(self):
        handle = int(self.value["handle_"])
        if handle == 0:
            return "win32_heap (no heap: moved from)"
        kind = "owning" if bool(self.value["owning_"]) else "attached"
        return "win32_heap (%s, handle 0x%x)" % (kind, handle)

    def children(self):
        options = self.value["options_"]
        for name in (
            "initial_size",
            "maximum_size",
            "serialize",
            "terminate_on_corruption",
            "decommit_threshold",
            "decommit_total_threshold",
        ):
            yield name, options[name]


class StatelessHeapPrinter:
    """crt_heap, com_heap, local_heap, global_heap: no state, every object the same heap."""

    def __init__(self, value):
        self.value = value

    def to_string(self):
        name = self.value.type.strip_typedefs().unqualified().tag or str(self.value.type)
        return "%s (stateless)" % name.split("::")[-1]


def _build():
    printers = gdb.printing.RegexpCollectionPrettyPrinter("memmgr")
    printers.add_printer("bstr", r"^memmgr::bstr$", BstrPrinter)
    printers.add_printer("bstr_view", r"^memmgr::bstr_view$", BstrPrinter)
    printers.add_printer("heap_ptr", r"^memmgr::heap_ptr<.*>$", HeapPtrPrinter)
    printers.add_printer("win32_heap", r"^memmgr::win32_heap$", Win32HeapPrinter)
    printers.add_printer(
        "stateless_heap", r"^memmgr::(crt|com|local|global)_heap$", StatelessHeapPrinter
    )
    return printers


def register(objfile=None):
    """Registers the printers for objfile (None: every object file); replaces earlier ones."""
    gdb.printing.register_pretty_printer(objfile, _build(), replace=True)


register()
