// Sends five 1 MiB Int32 Arrow arrays ("frames"), each written in place into shared memory and
// sent without a copy, one per timer tick.
#include <cstdint>
#include <cstring>
#include <iostream>

#include "dora-node-api.h"
#include "dora/arrow_c_data.h"

namespace {

constexpr int64_t kValues = 262144;  // 1 MiB of Int32
constexpr int kFrames = 5;

// The ArrowArray of a frame points into the sample; dora owns that memory, so releasing the
// struct only frees the buffer list.
struct FrameArray {
    const void *buffers[2];
};

void release_frame_array(ArrowArray *array) {
    delete static_cast<FrameArray *>(array->private_data);
    array->release = nullptr;
}

void release_static_schema(ArrowSchema *schema) { schema->release = nullptr; }

void send_frame(rust::Box<OutputSender> &sender, int frame) {
    auto sample = allocate_output(sender, kValues * sizeof(int32_t));
    rust::Slice<uint8_t> buffer = sample->data();
    // Frame k holds k*1000, k*1000+1, ... written directly into the shared buffer.
    auto *values = reinterpret_cast<int32_t *>(buffer.data());
    for (int64_t i = 0; i < kValues; i++) {
        values[i] = frame * 1000 + static_cast<int32_t>(i);
    }

    auto *owner = new FrameArray{{nullptr, buffer.data()}};
    ArrowArray array{};
    array.length = kValues;
    array.n_buffers = 2;
    array.buffers = owner->buffers;
    array.release = release_frame_array;
    array.private_data = owner;
    ArrowSchema schema{};
    schema.format = "i";  // Int32
    schema.flags = ARROW_FLAG_NULLABLE;
    schema.release = release_static_schema;

    std::string region(shared_memory_region(reinterpret_cast<uintptr_t>(buffer.data())));
    send_allocated_arrow_output(sender, "frame", std::move(sample),
                                reinterpret_cast<uint8_t *>(&array),
                                reinterpret_cast<uint8_t *>(&schema));
    std::cout << "sent frame #" << frame << ": " << kValues << " Int32 values from region "
              << region << std::endl;
}

}  // namespace

int main() {
    try {
        auto node = init_dora_node();
        int frame = 0;
        while (frame < kFrames) {
            auto event = node.events->next();
            auto type = event_type(event);
            if (type == DoraEventType::Stop || type == DoraEventType::AllInputsClosed) {
                break;
            }
            if (type == DoraEventType::Input) {
                send_frame(node.send_output, frame++);
            }
        }
        return 0;
    } catch (const rust::Error &error) {
        std::cerr << "sender: " << error.what() << std::endl;
        return 1;
    }
}
