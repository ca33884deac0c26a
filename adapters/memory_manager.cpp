// memmgr:memory_manager, the bodies: the destructor, memory_manager's only function that is not
// pure. Defined here it is the class's key function, so that its vtable and type_info are emitted
// once, in this unit, rather than in every object that creates a memory_manager_for.
module;

module memmgr;

import :memory_manager;

namespace memmgr {

memory_manager::~memory_manager() = default;

} // namespace memmgr
