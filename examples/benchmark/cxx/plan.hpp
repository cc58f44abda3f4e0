// The benchmark schedule and payload stamp for the C++ pair: the same as the Rust pair's
// (`node/src/plan.rs` and `node/src/message.rs`), which are the reference; keep them equal.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace benchmark {

// Payload sizes in bytes, in the order they are sent (`plan::SIZES`).
constexpr std::array<std::size_t, 11> kSizes = {
    0, 8, 64, 512, 2048, 4096, 16384, 40960, 409600, 4096000, 40960000};

// Messages per latency phase (`plan::LATENCY_MESSAGES`).
constexpr std::uint64_t kLatencyMessages = 100;

// Time between two messages of a latency phase (`plan::LATENCY_INTERVAL`).
constexpr std::chrono::milliseconds kLatencyInterval{10};

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
