// Receives the sender's frames through the Arrow C data interface, checks every value, and
// prints the shared memory region the values were read from.
#include <cstdint>
#include <iostream>
#include <string>

#include "dora-node-api.h"
#include "dora/arrow_c_data.h"

int main() {
    try {
        auto node = init_dora_node();
        int frames = 0;
        bool all_ok = true;
        while (true) {
            auto event = node.events->next();
            auto type = event_type(event);
            if (type == DoraEventType::Stop || type == DoraEventType::AllInputsClosed) {
                break;
            }
            if (type == DoraEventType::InputClosed) {
                std::cout << "input closed: " << std::string(event->input_id()) << std::endl;
                continue;
            }
            if (type != DoraEventType::Input) {
                continue;
            }
            ArrowArray array{};
            ArrowSchema schema{};
            event_as_arrow_input(event, reinterpret_cast<uint8_t *>(&array),
                                 reinterpret_cast<uint8_t *>(&schema));
            bool ok = std::string(schema.format) == "i" && array.n_buffers == 2;
            const int32_t *values = nullptr;
            if (ok) {
                values = static_cast<const int32_t *>(array.buffers[1]) + array.offset;
                int32_t first = frames * 1000;
                for (int64_t i = 0; i < array.length; i++) {
                    if (values[i] != first + static_cast<int32_t>(i)) {
                        ok = false;
                        break;
                    }
                }
            }
            std::string region(shared_memory_region(reinterpret_cast<uintptr_t>(values)));
            std::cout << "received frame #" << frames << ": " << array.length
                      << " Int32 values " << (ok ? "ok" : "WRONG") << " from region " << region
                      << std::endl;
            all_ok = all_ok && ok;
            frames++;
            // Releasing the exported array hands the shared buffer back to the sender.
            array.release(&array);
            schema.release(&schema);
        }
        return all_ok ? 0 : 1;
    } catch (const rust::Error &error) {
        std::cerr << "receiver: " << error.what() << std::endl;
        return 1;
    }
}
