// ___name___: prints every message it hears; ends when its inputs close or dora stops.
#include <iostream>
#include <string>

#include "dora-node-api.h"

int main() {
    try {
        auto node = init_dora_node();
        while (true) {
            auto event = node.events->next();
            auto type = event_type(event);
            if (type == DoraEventType::Stop || type == DoraEventType::AllInputsClosed) {
                break;
            }
            if (type == DoraEventType::InputClosed) {
                std::cout << "Input `" << std::string(event->input_id()) << "` closed"
                          << std::endl;
            } else if (type == DoraEventType::Input) {
                auto input = event_as_input(std::move(event));
                std::string text(input.data.begin(), input.data.end());
                std::cout << "___name___ heard on `" << std::string(input.id) << "`: " << text
                          << std::endl;
            }
        }
        return 0;
    } catch (const rust::Error &error) {
        std::cerr << "___name___: " << error.what() << std::endl;
        return 1;
    }
}
