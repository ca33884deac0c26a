// memmgr:memory_manager, the bodies: the destructor, memory_manager's only function that is not
// pure. Defined here, once: importers call it instead of each keeping a weak copy. It is also the
// class's key function, which anchors the vtable and type_info in this unit where a compiler
// follows the Itanium ABI's key-function rule (clang 19 already emits those of a class attached to
// a named module only in the module's own units).
module;

module memmgr;

import :memory_manager;

namespace memmgr {

memory_manager::~memory_manager() = default;

} // namespace memmgr
