// memmgr:heap_resource, the bodies: scoped_default_resource (heap_resource itself is a template).
module;
#include <memory_resource>

module memmgr;

import :heap_resource;

namespace memmgr {

scoped_default_resource::scoped_default_resource(std::pmr::memory_resource* r) noexcept
    : previous_(std::pmr::set_default_resource(r)) {}

scoped_default_resource::~scoped_default_resource() {
    std::pmr::set_default_resource(previous_);
}

std::pmr::memory_resource* scoped_default_resource::previous() const noexcept {
    return previous_;
}

} // namespace memmgr
