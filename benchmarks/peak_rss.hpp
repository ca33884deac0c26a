// Peak resident set size of this process (VmHWM), for the memory figures.
#pragma once

#include <cstddef>
#include <fstream>
#include <string>

namespace memmgr_bench {

inline std::size_t peak_rss_bytes() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "VmHWM:") {
            std::size_t kib = 0;
            status >> kib;
            return kib * 1024;
        }
        std::getline(status, key);
    }
    return 0;
}

} // namespace memmgr_bench
