# The Natvis check (memmgr.tests.natvis): no Visual Studio runs here, so this checks what can be
# checked without one: tools/debuggers/memmgr.natvis is well-formed XML in Natvis's namespace, every type
# it matches is a class memmgr exports, and every member its expressions read (p_, handle_,
# options_.serialize, ...) is declared in memmgr's sources, so that renaming a member without the
# Natvis file fails here. Run by gdb's own Python (the gdb test's dependency, no other interpreter):
#   MEMMGR_NATVIS=<file> MEMMGR_SOURCE_DIR=<repo> gdb -nx -batch -x natvis_check.py
import os
import pathlib
import re
import xml.etree.ElementTree as ET

NS = "{http://schemas.microsoft.com/vstudio/debugger/natvis/2010}"
natvis = pathlib.Path(os.environ["MEMMGR_NATVIS"])
root_dir = pathlib.Path(os.environ["MEMMGR_SOURCE_DIR"])
sources = {
    p: p.read_text(encoding="utf-8")
    for folder in ("modules", "adapters")
    for p in (root_dir / folder).rglob("*.cppm")
}
problems = []

try:
    tree = ET.parse(natvis)
except ET.ParseError as e:
    problems.append("not well-formed XML: %s" % e)
    tree = None

if tree is not None:
    root = tree.getroot()
    if root.tag != NS + "AutoVisualizer":
        problems.append("the root is %s, not Natvis's AutoVisualizer" % root.tag)
    types = root.findall(NS + "Type")
    if not types:
        problems.append("no Type element")
    for t in types:
        names = [t.get("Name")] + [a.get("Name") for a in t.findall(NS + "AlternativeType")]
        declared_in = []
        for name in names:
            m = re.fullmatch(r"memmgr::([a-z_0-9]+)(<.*>)?", name or "")
            if not m:
                problems.append("type %r is not a memmgr:: class" % name)
                continue
            files = [
                p
                for p, text in sources.items()
                if "export namespace memmgr" in text
                and re.search(r"^(class|struct) %s\b" % m.group(1), text, re.M)
            ]
            if not files:
                problems.append("type %r: no exported class or struct of that name" % name)
            declared_in += files
        # The expressions: every text and Condition of the type's elements.
        expressions = [e.text or "" for e in t.iter()] + [
            e.get("Condition") or "" for e in t.iter()
        ]
        text = " ".join(expressions)
        text = re.sub(r'"[^"]*"', "", text)  # no string literals
        members = set(re.findall(r"\b([a-z][a-z0-9_]*_)(?![a-z0-9_(])", text))
        fields = set(re.findall(r"\b[a-z][a-z0-9_]*_\.([a-z][a-z0-9_]*)\b", text))
        everything = "\n".join(sources.values())
        for member in sorted(members):
            if not re.search(r"\b%s\s*(=|;|\{)" % member, everything):
                problems.append("%s: member %s is declared nowhere" % (names[0], member))
        for field in sorted(fields):
            if not re.search(r"\b%s\s*=" % field, everything):
                problems.append("%s: field %s is declared nowhere" % (names[0], field))

for p in problems:
    print("natvis: FAIL: %s" % p)
if not problems:
    print("natvis: ok (%d types)" % len(types))
