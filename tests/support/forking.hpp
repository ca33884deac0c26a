// Tests that fork() while other threads work (POSIX only): waiting for a child with a deadline,
// so that a child stuck on a lock copied from its parent fails the test instead of hanging it.
#pragma once

#if !defined(_WIN32)
#include <chrono>
#include <csignal>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace memmgr_test {

// \returns child's wait status, or -1 when it did not end within the deadline (it is then killed).
inline int wait_or_kill(pid_t child, std::chrono::seconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    int status = 0;
    for (;;) {
        const pid_t got = ::waitpid(child, &status, WNOHANG);
        if (got == child)
            return status;
        if (got < 0 || std::chrono::steady_clock::now() > until) {
            ::kill(child, SIGKILL);
            ::waitpid(child, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

} // namespace memmgr_test
#endif
