// memmgr.real.threads: one of the real programs of tools/real-programs/run.py, a TESTING AND
// BENCHMARKING TOOL. Plain C++ over malloc and free (no memmgr): run under the preloaded
// libmemmgr-malloc.so it makes every block cross threads, as servers and pipelines do.
//
// Usage: memmgr.real.threads [messages per producer]   (default 200000)
//
// Two producers malloc messages of 16 bytes to 64 KiB (most small), fill them with a pattern of
// their sequence number and hand them over through one locked queue; two consumers check each
// message, keep the last 256 they took alive for a while (a working set that moves) and free them:
// every block is freed by a thread other than the one that allocated it. Prints the totals and a
// checksum that does not depend on the interleaving, so that any allocator must print the same.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct message {
    std::uint64_t sequence;
    std::size_t size; // bytes of payload after this header
};

class queue {
public:
    void push(message* m) {
        {
            std::unique_lock lock(mutex_);
            not_full_.wait(lock, [&] { return items_.size() < limit; });
            items_.push_back(m);
        }
        not_empty_.notify_one();
    }
    /// \returns the next message, or nullptr once every producer is done and the queue is empty.
    message* pop() {
        std::unique_lock lock(mutex_);
        not_empty_.wait(lock, [&] { return !items_.empty() || producers_ == 0; });
        if (items_.empty())
            return nullptr;
        message* m = items_.front();
        items_.pop_front();
        lock.unlock();
        not_full_.notify_one();
        return m;
    }
    void producer_started() {
        std::lock_guard lock(mutex_);
        ++producers_;
    }
    void producer_done() {
        {
            std::lock_guard lock(mutex_);
            --producers_;
        }
        not_empty_.notify_all();
    }

private:
    static constexpr std::size_t limit = 4096;
    std::mutex mutex_;
    std::condition_variable not_empty_;
    std::condition_variable not_full_;
    std::deque<message*> items_;
    int producers_ = 0;
};

std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    return x;
}

unsigned char byte_of(std::uint64_t sequence, std::size_t i) {
    return static_cast<unsigned char>(sequence * 31 + i);
}

std::size_t size_of(std::uint64_t sequence) {
    const std::uint64_t r = mix(sequence);
    if (r % 100 == 0)
        return 4096 + r / 100 % (60 * 1024); // 1%: 4 to 64 KiB
    if (r % 10 == 0)
        return 256 + r / 10 % 3840; // 9%: 256 bytes to 4 KiB
    return 16 + r / 7 % 240;        // 90%: 16 to 256 bytes
}

void produce(queue& q, std::uint64_t first, std::uint64_t count) {
    for (std::uint64_t s = first; s != first + count; ++s) {
        const std::size_t n = size_of(s);
        auto* m = static_cast<message*>(std::malloc(sizeof(message) + n));
        if (!m) {
            std::fputs("memmgr.real.threads: out of memory\n", stderr);
            std::exit(1);
        }
        m->sequence = s;
        m->size = n;
        auto* payload = reinterpret_cast<unsigned char*>(m + 1);
        for (std::size_t i = 0; i != n; ++i)
            payload[i] = byte_of(s, i);
        q.push(m);
    }
    q.producer_done();
}

struct totals {
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
    std::uint64_t checksum = 0; // a sum: the same whatever the order
    std::uint64_t damaged = 0;
};

void consume(queue& q, totals& t) {
    std::vector<message*> held(256, nullptr);
    std::size_t next = 0;
    while (message* m = q.pop()) {
        const auto* payload = reinterpret_cast<const unsigned char*>(m + 1);
        std::uint64_t sum = m->sequence;
        for (std::size_t i = 0; i != m->size; ++i) {
            if (payload[i] != byte_of(m->sequence, i))
                ++t.damaged;
            sum = sum * 1099511628211u + payload[i];
        }
        t.messages += 1;
        t.bytes += m->size;
        t.checksum += mix(sum);
        std::free(held[next]);
        held[next] = m;
        next = (next + 1) % held.size();
    }
    for (message* m : held)
        std::free(m);
}

} // namespace

int main(int argc, char** argv) {
    const std::uint64_t per_producer = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
    if (per_producer == 0) {
        std::fprintf(stderr, "usage: %s [messages per producer, at least 1]\n", argv[0]);
        return 2;
    }
    queue q;
    q.producer_started();
    q.producer_started();
    totals a;
    totals b;
    std::thread c1(consume, std::ref(q), std::ref(a));
    std::thread c2(consume, std::ref(q), std::ref(b));
    std::thread p1(produce, std::ref(q), 0, per_producer);
    std::thread p2(produce, std::ref(q), per_producer, per_producer);
    p1.join();
    p2.join();
    c1.join();
    c2.join();
    const std::string report = "messages " + std::to_string(a.messages + b.messages) + ", bytes " +
                               std::to_string(a.bytes + b.bytes) + ", checksum " +
                               std::to_string(a.checksum + b.checksum) + ", damaged " +
                               std::to_string(a.damaged + b.damaged) + "\n";
    std::fputs(report.c_str(), stdout);
    return a.damaged + b.damaged == 0 ? 0 : 1;
}
