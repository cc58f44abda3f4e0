// ___name___: on every `tick`, sends a greeting on `speech`; stops when dora stops.
#include <iostream>
#include <string>

#include "dora-node-api.h"

int main() {
    try {
        auto node = init_dora_node();
        unsigned long count = 0;
        while (true) {
            auto event = node.events->next();
            auto type = event_type(event);
            if (type == DoraEventType::Stop || type == DoraEventType::AllInputsClosed) {
                break;
            }
            if (type != DoraEventType::Input) {
                continue;
            }
            if (std::string(event->input_id()) == "tick") {
                count++;
                std::string message =
                    "Hello World #" + std::to_string(count) + " from ___name___";
                send_output_bytes(node.send_output, "speech",
                                  rust::Slice<const uint8_t>(
                                      reinterpret_cast<const uint8_t *>(message.data()),
                                      message.size()));
            }
        }
        return 0;
    } catch (const rust::Error &error) {
        std::cerr << "___name___: " << error.what() << std::endl;
        return 1;
    }
}
