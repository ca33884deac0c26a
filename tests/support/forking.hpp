// Tests that fork() while other threads work (POSIX only): running a check in a child and waiting
// for it with a deadline, so that a child stuck on a lock copied from its parent fails the test
// instead of hanging it.
#pragma once

#if !defined(_WIN32)
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

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

/// What a child of run_in_child did.
struct child_outcome {
    bool forked = false;       // pipe and fork succeeded
    int status = -1;           // its wait status; -1: it did not end in time and was killed
    bool told = false;         // it wrote its verdict
    unsigned char code = 0xff; // its verdict (0: all well); 0xff when it wrote none
    [[nodiscard]] bool hung() const { return forked && status == -1; }
    [[nodiscard]] bool passed() const {
        return forked && status != -1 && WIFEXITED(status) && told && code == 0;
    }
    /// \returns what happened, for a failed check's message.
    [[nodiscard]] std::string said() const {
        if (!forked)
            return "pipe or fork failed";
        if (status == -1)
            return "the child hung and was killed";
        return "the child said " + std::to_string(int{code}) + (told ? "" : " (nothing)") +
               ", wait status " + std::to_string(status);
    }
};

// \effects forks; the child runs f() (which returns 0 when all went well, else a code of its
// choosing below 256), writes that as one byte through a pipe and _exits; the parent waits for it
// within the deadline (wait_or_kill). The verdict comes through the pipe, not the exit status:
// under valgrind that is memcheck's, which counts the memory of the parent's other threads, gone
// in the child, as leaked.
// \returns the child's outcome (`forked` false when pipe or fork failed).
template <class F>
child_outcome run_in_child(F&& f, std::chrono::seconds deadline) {
    child_outcome out;
    int verdict[2];
    if (::pipe(verdict) != 0)
        return out;
    const pid_t child = ::fork();
    if (child < 0) {
        ::close(verdict[0]);
        ::close(verdict[1]);
        return out;
    }
    if (child == 0) {
        const auto code = static_cast<unsigned char>(f());
        ::_exit(::write(verdict[1], &code, 1) == 1 ? 0 : 1);
    }
    ::close(verdict[1]);
    out.forked = true;
    out.status = wait_or_kill(child, deadline);
    out.told = ::read(verdict[0], &out.code, 1) == 1;
    ::close(verdict[0]);
    return out;
}

// \effects up to `rounds` times: waits until `progress` (which the test's other threads count up
// as they work) has grown by `step` since the round before, so that every fork lands among their
// operations (valgrind runs one thread at a time), then runs f in a child (run_in_child, 30 s
// each). Stops after a child that hung or could not be forked: the next fork would only wait.
// \returns every round's outcome, in order.
template <class F>
std::vector<child_outcome> fork_rounds(int rounds, const std::atomic<std::size_t>& progress,
                                       std::size_t step, F&& f) {
    std::vector<child_outcome> outcomes;
    for (int round = 0; round < rounds; ++round) {
        const std::size_t seen = progress.load(std::memory_order_relaxed);
        while (progress.load(std::memory_order_relaxed) < seen + step)
            std::this_thread::yield();
        outcomes.push_back(run_in_child(f, std::chrono::seconds(30)));
        if (!outcomes.back().forked || outcomes.back().hung())
            break;
    }
    return outcomes;
}

} // namespace memmgr_test
#endif
