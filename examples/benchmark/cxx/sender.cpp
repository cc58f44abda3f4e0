// The C++ dora sender: sends the benchmark schedule (plan.hpp) on its `latency` and
// `throughput` outputs.
//
// Each payload is a buffer lent by dora (`allocate_output`, shared memory from 4 KiB on),
// filled in place (only the 8-byte sequence number is written) and sent without a copy
// (`send_allocated_output`); dora takes the metadata timestamp when it sends. Unlike the Rust
// sender, no metadata parameters travel with the message: the receiver knows the size from
// the payload length and the rest from the schedule.
#include <cstdint>
#include <exception>
#include <iostream>
#include <thread>

#include "dora-node-api.h"
#include "plan.hpp"

namespace {

void send(rust::Box<OutputSender> &sender, const char *output, std::size_t size,
          std::uint64_t seq) {
    auto sample = allocate_output(sender, size);
    auto payload = sample->data();
    benchmark::stamp(payload.data(), payload.size(), seq);
    send_allocated_output(sender, output, std::move(sample));
}

}  // namespace

int main() {
    try {
        auto node = init_dora_node();
        const auto schedule = benchmark::Schedule::from_env("cxx");
        schedule.check_not_late();
        // All latency phases first, then the throughput phases (see `plan.rs`).
        for (std::uint32_t index = 0; index < benchmark::kSizes.size(); index++) {
            for (std::uint64_t seq = 0; seq < benchmark::kLatencyMessages; seq++) {
                schedule.sleep_until_message(index, seq);
                send(node.send_output, "latency", benchmark::kSizes[index], seq);
            }
        }
        schedule.sleep_until_latency_end();
        for (std::size_t size : benchmark::kSizes) {
            const auto turn = schedule.take_turn();
            const std::uint64_t count = benchmark::throughput_messages(size);
            for (std::uint64_t seq = 0; seq < count; seq++) {
                send(node.send_output, "throughput", size, seq);
            }
            std::this_thread::sleep_for(benchmark::kSettle);
        }
        return 0;
    } catch (const std::exception &error) {
        std::cerr << "benchmark-cxx-sender: " << error.what() << std::endl;
        return 1;
    }
}
