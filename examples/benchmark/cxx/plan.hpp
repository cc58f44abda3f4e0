// The benchmark schedule and payload stamp for the C++ pair: the same as the Rust pair's
// (`node/src/plan.rs` and `node/src/message.rs`), which are the reference; keep them equal.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace benchmark {

// Payload sizes in bytes, in the order they are sent (`plan::SIZES`).
constexpr std::array<std::size_t, 11> kSizes = {
    0, 8, 64, 512, 2048, 4096, 16384, 40960, 409600, 4096000, 40960000};

// Messages per latency phase (`plan::LATENCY_MESSAGES`).
constexpr std::uint64_t kLatencyMessages = 100;

// Time between two messages of a latency phase (`plan::LATENCY_INTERVAL`).
constexpr std::chrono::milliseconds kLatencyInterval{10};

// Latency messages a mode sends in one turn (`plan::LATENCY_BLOCK`).
constexpr std::uint64_t kLatencyBlock = 10;

// Pause between the latency phases of two sizes (`plan::SIZE_GAP`).
constexpr std::chrono::milliseconds kSizeGap{100};

// Pause before the first phase and after each throughput phase (`plan::SETTLE`).
constexpr std::chrono::milliseconds kSettle{2000};

// Messages per throughput phase for `size` (`plan::throughput_messages`).
constexpr std::uint64_t throughput_messages(std::size_t size) {
    constexpr std::uint64_t kLargeTotalBytes = 4000000000ULL;
    if (size <= 2048) {
        return 200000;
    }
    if (size <= 40960) {
        return 100000;
    }
    std::uint64_t count = kLargeTotalBytes / size;
    return count < 50 ? 50 : (count > 10000 ? 10000 : count);
}

// When a mode sends, alone or taking turns with the other modes (`plan::Schedule`): a common
// start (`BENCHMARK_START_NS`, nanoseconds since the Unix epoch), the mode's turn among the
// blocks of latency messages (its place in `BENCHMARK_MODES`, comma-separated), and a file
// whose exclusive lock the throughput phases take turns on (`BENCHMARK_LOCK`). Without them,
// the mode runs alone and starts `kSettle` from now.
class Schedule {
public:
    // Holds the throughput turn until destroyed (nothing when running alone).
    class Turn {
    public:
        explicit Turn(int fd) : fd_(fd) {}
        Turn(Turn &&other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
        Turn(const Turn &) = delete;
        Turn &operator=(const Turn &) = delete;
        Turn &operator=(Turn &&) = delete;
        ~Turn() {
            if (fd_ >= 0) {
                ::close(fd_);
            }
        }

    private:
        int fd_;
    };

    static Schedule from_env(const std::string &mode) {
        const char *start = std::getenv("BENCHMARK_START_NS");
        const char *modes_env = std::getenv("BENCHMARK_MODES");
        const char *lock = std::getenv("BENCHMARK_LOCK");
        auto set = [](const char *value) { return value != nullptr && *value != '\0'; };
        Schedule schedule;
        if (!set(start) && !set(modes_env) && !set(lock)) {
            schedule.start_ = std::chrono::system_clock::now() + kSettle;
            return schedule;
        }
        if (!set(start) || !set(modes_env) || !set(lock)) {
            throw std::runtime_error(
                "set all of BENCHMARK_START_NS, BENCHMARK_MODES and BENCHMARK_LOCK, or none");
        }
        char *end = nullptr;
        const unsigned long long ns = std::strtoull(start, &end, 10);
        if (*end != '\0') {
            throw std::runtime_error(std::string("BENCHMARK_START_NS=`") + start +
                                     "` is not a number of nanoseconds");
        }
        // The mode's place in the comma-separated list, and the list's length.
        unsigned index = 0;
        unsigned count = 0;
        bool found = false;
        const std::string modes = modes_env;
        for (std::size_t begin = 0; begin <= modes.size(); count++) {
            std::size_t end = modes.find(',', begin);
            if (end == std::string::npos) {
                end = modes.size();
            }
            if (!found && modes.substr(begin, end - begin) == mode) {
                index = count;
                found = true;
            }
            begin = end + 1;
        }
        if (!found) {
            throw std::runtime_error("BENCHMARK_MODES=`" + modes + "` does not list `" + mode +
                                     "`");
        }
        schedule.start_ = std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::nanoseconds(ns)));
        schedule.turn_ = index;
        schedule.modes_ = count;
        schedule.lock_ = lock;
        return schedule;
    }

    // Fails when the common start passed more than a second ago (`plan::run`).
    void check_not_late() const {
        const auto late = std::chrono::system_clock::now() - start_;
        if (late > std::chrono::seconds(1)) {
            throw std::runtime_error(
                "ready " +
                std::to_string(
                    std::chrono::duration_cast<std::chrono::milliseconds>(late).count()) +
                " ms after the common start: its latency messages would not fall in its "
                "turns");
        }
    }

    // Sleeps until the latency message `seq` of the size at `size_index` is due: in this
    // mode's turn of block `seq / kLatencyBlock` (`Schedule::message_due`).
    void sleep_until_message(std::uint32_t size_index, std::uint64_t seq) const {
        const std::uint64_t turns = (seq / kLatencyBlock) * modes_ + turn_;
        std::this_thread::sleep_until(start_ + size_span() * size_index +
                                      kLatencyInterval * (turns * kLatencyBlock +
                                                          seq % kLatencyBlock));
    }

    // Sleeps until every mode's latency phases are over.
    void sleep_until_latency_end() const {
        std::this_thread::sleep_until(start_ + size_span() * kSizes.size());
    }

    // Waits for this mode's turn to load the machine.
    Turn take_turn() const {
        if (lock_.empty()) {
            return Turn(-1);
        }
        const int fd = ::open(lock_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            throw std::runtime_error("cannot open the lock file " + lock_ + ": " +
                                     std::strerror(errno));
        }
        Turn turn(fd);
        while (::flock(fd, LOCK_EX) != 0) {
            if (errno != EINTR) {
                throw std::runtime_error("cannot lock " + lock_ + ": " + std::strerror(errno));
            }
        }
        return turn;
    }

private:
    // The time the latency phases of one size take, all modes together.
    std::chrono::milliseconds size_span() const {
        return kLatencyInterval * (kLatencyMessages * modes_) + kSizeGap;
    }

    std::chrono::system_clock::time_point start_;
    std::uint32_t turn_ = 0;
    std::uint32_t modes_ = 1;
    std::string lock_;
};

// Writes `seq` little-endian into the first 8 bytes of `payload`, when it has that many
// (`message::stamp`): the only bytes of a payload the sender touches.
inline void stamp(std::uint8_t *payload, std::size_t len, std::uint64_t seq) {
    if (len < 8) {
        return;
    }
    for (std::size_t i = 0; i < 8; i++) {
        payload[i] = static_cast<std::uint8_t>(seq >> (8 * i));
    }
}

// The sequence number `stamp` wrote, none below 8 bytes (`message::stamped_seq`).
inline std::optional<std::uint64_t> stamped_seq(const std::uint8_t *payload, std::size_t len) {
    if (len < 8) {
        return std::nullopt;
    }
    std::uint64_t seq = 0;
    for (std::size_t i = 0; i < 8; i++) {
        seq |= static_cast<std::uint64_t>(payload[i]) << (8 * i);
    }
    return seq;
}

}  // namespace benchmark
