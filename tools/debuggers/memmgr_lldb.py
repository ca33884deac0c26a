# LLDB formatters for memmgr, the same views as the gdb printers (memmgr_printers.py): bstr and
# bstr_view (the text and its length, read from the BSTR's length prefix), heap_ptr (the block),
# win32_heap (handle and ownership; its options stay expandable) and the stateless heaps by name.
#
# Load them in lldb (or in ~/.lldbinit) from the installed package:
#
#     command script import <prefix>/share/memmgr/lldb/memmgr_lldb.py
#
# They live in the type category "memmgr" (`type category disable memmgr` turns them off).

import lldb

_MAX_CHARS = 4096  # longer strings are shown cut, with "..." (the length is always the real one)


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


def _member(value, name):
    """value's member `name`, looked for in value and then in its base classes."""
    found = value.GetChildMemberWithName(name)
    if found.IsValid():
        return found
    for i in range(value.GetType().GetNumberOfDirectBaseClasses()):
        found = _member(value.GetChildAtIndex(i), name)
        if found.IsValid():
            return found
    return lldb.SBValue()


def bstr_summary(value, internal_dict):
    pointer = _member(value.GetNonSyntheticValue(), "p_")
    address = pointer.GetValueAsUnsigned(0)
    if address == 0:
        return "null (length 0)"
    process = value.GetProcess()
    error = lldb.SBError()
    prefix = process.ReadMemory(address - 4, 4, error)
    if error.Fail():
        return "<unreadable BSTR at 0x%x>" % address
    byte_length = int.from_bytes(prefix, "little")
    shown = min(byte_length, _MAX_CHARS * 2)
    raw = process.ReadMemory(address, shown, error) if shown else b""
    if error.Fail():
        return "<unreadable BSTR at 0x%x>" % address
    text = raw[: len(raw) - len(raw) % 2].decode("utf-16-le", errors="replace")
    suffix = "..." if shown < byte_length else ""
    length = "length %d" % (byte_length // 2)
    if byte_length % 2:
        length += ", %d bytes" % byte_length
    return "%s%s (%s)" % (_quote(text), suffix, length)


def heap_ptr_summary(value, internal_dict):
    pointer = value.GetNonSyntheticValue().GetChildMemberWithName("p_")
    address = pointer.GetValueAsUnsigned(0)
    text = pointer.GetSummary()
    return "0x%x %s" % (address, text) if text else "0x%x" % address


def win32_heap_summary(value, internal_dict):
    raw = value.GetNonSyntheticValue()
    handle = raw.GetChildMemberWithName("handle_").GetValueAsUnsigned(0)
    if handle == 0:
        return "win32_heap (no heap: moved from)"
    owning = raw.GetChildMemberWithName("owning_").GetValueAsUnsigned(0) != 0
    return "win32_heap (%s, handle 0x%x)" % ("owning" if owning else "attached", handle)


def stateless_heap_summary(value, internal_dict):
    return "%s (stateless)" % value.GetType().GetUnqualifiedType().GetName().split("::")[-1]


def __lldb_init_module(debugger, internal_dict):
    module = __name__
    # -e: the members stay expandable under the summary (a heap_ptr's heap, a win32_heap's options).
    for regex, function, flags in (
        (r"^memmgr::bstr(_view)?$", "bstr_summary", ""),
        (r"^memmgr::heap_ptr<.+>$", "heap_ptr_summary", "-e"),
        (r"^memmgr::win32_heap$", "win32_heap_summary", "-e"),
        (r"^memmgr::(crt|com|local|global)_heap$", "stateless_heap_summary", ""),
    ):
        debugger.HandleCommand(
            'type summary add -w memmgr %s -x "%s" -F %s.%s' % (flags, regex, module, function)
        )
    debugger.HandleCommand("type category enable memmgr")
