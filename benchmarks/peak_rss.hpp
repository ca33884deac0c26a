// Resident set size of this process, now (VmRSS) and at its peak (VmHWM), for the memory figures.
#pragma once

#include <cstddef>
#include <fstream>
#include <string>

namespace memmgr_bench {

// \returns a field of /proc/self/status given in kB (VmHWM: the peak, VmRSS: now), in bytes.
inline std::size_t status_bytes(const std::string& field) {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == field) {
            std::size_t kib = 0;
            status >> kib;
            return kib * 1024;
        }
        std::getline(status, key);
    }
    return 0;
}

inline std::size_t peak_rss_bytes() {
    return status_bytes("VmHWM:");
}
inline std::size_t rss_bytes() {
    return status_bytes("VmRSS:");
}

} // namespace memmgr_bench
