// ___name___: a dora node. For every input it receives, prints it and sends a status line
// on its `status` output; stops when its inputs close or dora stops.
#include <iostream>
#include <string>

#include "dora-node-api.h"

int main() {
    try {
        auto node = init_dora_node();
        unsigned long received = 0;
        while (true) {
            auto event = node.events->next();
            auto type = event_type(event);
            if (type == DoraEventType::Stop || type == DoraEventType::AllInputsClosed) {
                break;
            }
            if (type == DoraEventType::InputClosed) {
                std::cout << "___name___: input `" << std::string(event->input_id())
                          << "` closed" << std::endl;
            } else if (type == DoraEventType::Input) {
                received++;
                std::cout << "___name___ received input `" << std::string(event->input_id())
                          << "` #" << received << std::endl;
                std::string status = "___name___ handled " + std::to_string(received) + " inputs";
                send_output_bytes(node.send_output, "status",
                                  rust::Slice<const uint8_t>(
                                      reinterpret_cast<const uint8_t *>(status.data()),
                                      status.size()));
            }
        }
        return 0;
    } catch (const rust::Error &error) {
        std::cerr << "___name___: " << error.what() << std::endl;
        return 1;
    }
}
