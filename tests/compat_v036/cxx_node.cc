// A C++ node using the C++ node API the way dora-rs v0.3.6's example does: errors of
// `send_output` come back in a `DoraResult`, they are not thrown.
#include "dora-node-api.h"

#include <iostream>
#include <string>
#include <vector>

int main()
{
    auto dora_node = init_dora_node();
    unsigned char counter = 0;
    while (true) {
        // Both spellings of "next event" of v0.3.6.
        auto event = counter % 2 == 0 ? dora_node.events->next() : next_event(dora_node.events);
        auto ty = event_type(event);
        if (ty == DoraEventType::AllInputsClosed) {
            break;
        } else if (ty == DoraEventType::Input) {
            auto input = event_as_input(std::move(event));
            counter += 1;
            std::cout << "cxx node received " << std::string(input.id) << ": "
                      << std::string(input.data.begin(), input.data.end())
                      << " (counter: " << (unsigned int)counter << ")" << std::endl;
            std::vector<unsigned char> out_vec{counter};
            rust::Slice<const uint8_t> out_slice{out_vec.data(), out_vec.size()};
            auto result = send_output(dora_node.send_output, "counter", out_slice);
            auto error = std::string(result.error);
            if (!error.empty()) {
                std::cerr << "Error: " << error << std::endl;
                return -1;
            }
        } else if (ty == DoraEventType::InputClosed) {
            std::cout << "cxx node input closed" << std::endl;
        } else if (ty == DoraEventType::Stop) {
            std::cout << "cxx node stop" << std::endl;
        } else if (ty == DoraEventType::Error || ty == DoraEventType::Unknown) {
            std::cerr << "Unknown event type " << static_cast<int>(ty) << std::endl;
        }
    }
    auto result = send_output(dora_node.send_output, "no-such-output",
                              rust::Slice<const uint8_t>{});
    std::cout << "unknown output: "
              << (std::string(result.error).empty() ? "accepted" : "error returned")
              << std::endl;
    return 0;
}
