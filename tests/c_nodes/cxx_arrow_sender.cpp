// C++ node of the C++ API tests: sends Arrow arrays built by hand with the Arrow C data
// interface to `cpp-test-receiver` (Rust), and checks the struct array it echoes back.
//
// Outputs, all sent on the first tick:
//   int32           [1, -2, 3, null, 5]                  send_arrow_output (one copy)
//   struct          {a: int32 [10, 20, 30], b: utf8 ["x", "yy", "zzz"]}
//   int32_in_place  [42, 43, 44, 45] written into an allocated sample, send_allocated_arrow_output
//   big             262144 Int32 (1 MiB) written into an allocated sample, sent without copying;
//                   prints `big sent region=<shared memory region of the written values>`
// Input `echo`: the struct array back from the receiver, read with event_as_arrow_input.
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "dora-node-api.h"
#include "dora/arrow_c_data.h"

namespace {

// Owns the buffers and children of an exported ArrowArray; freed by its release callback.
struct ArrayOwner {
    std::vector<std::vector<uint8_t>> storage;
    std::vector<const void *> buffers;
    std::vector<ArrowArray *> children;
};

void release_array(ArrowArray *array) {
    auto *owner = static_cast<ArrayOwner *>(array->private_data);
    for (ArrowArray *child : owner->children) {
        if (child->release != nullptr) {
            child->release(child);
        }
        delete child;
    }
    delete owner;
    array->release = nullptr;
}

// An array whose buffers are copies of `buffers`; an empty buffer is exported as NULL.
ArrowArray make_array(int64_t length, int64_t null_count,
                      std::vector<std::vector<uint8_t>> buffers,
                      std::vector<ArrowArray> children = {}) {
    auto *owner = new ArrayOwner{std::move(buffers), {}, {}};
    for (auto &buffer : owner->storage) {
        owner->buffers.push_back(buffer.empty() ? nullptr : buffer.data());
    }
    for (auto &child : children) {
        owner->children.push_back(new ArrowArray(child));
    }
    ArrowArray array{};
    array.length = length;
    array.null_count = null_count;
    array.n_buffers = static_cast<int64_t>(owner->buffers.size());
    array.n_children = static_cast<int64_t>(owner->children.size());
    array.buffers = owner->buffers.data();
    array.children = owner->children.empty() ? nullptr : owner->children.data();
    array.release = release_array;
    array.private_data = owner;
    return array;
}

struct SchemaOwner {
    std::string format;
    std::string name;
    std::vector<ArrowSchema *> children;
};

void release_schema(ArrowSchema *schema) {
    auto *owner = static_cast<SchemaOwner *>(schema->private_data);
    for (ArrowSchema *child : owner->children) {
        if (child->release != nullptr) {
            child->release(child);
        }
        delete child;
    }
    delete owner;
    schema->release = nullptr;
}

ArrowSchema make_schema(std::string format, std::string name,
                        std::vector<ArrowSchema> children = {}) {
    auto *owner = new SchemaOwner{std::move(format), std::move(name), {}};
    for (auto &child : children) {
        owner->children.push_back(new ArrowSchema(child));
    }
    ArrowSchema schema{};
    schema.format = owner->format.c_str();
    schema.name = owner->name.c_str();
    schema.flags = ARROW_FLAG_NULLABLE;
    schema.n_children = static_cast<int64_t>(owner->children.size());
    schema.children = owner->children.empty() ? nullptr : owner->children.data();
    schema.release = release_schema;
    schema.private_data = owner;
    return schema;
}

template <typename T> std::vector<uint8_t> bytes_of(const std::vector<T> &values) {
    std::vector<uint8_t> bytes(values.size() * sizeof(T));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return bytes;
}

// An array over memory someone else owns (an allocated sample): release only marks it.
struct BorrowedArray {
    std::vector<const void *> buffers;
};

void release_borrowed(ArrowArray *array) {
    delete static_cast<BorrowedArray *>(array->private_data);
    array->release = nullptr;
}

ArrowArray borrowed_int32(const uint8_t *values, int64_t length) {
    auto *owner = new BorrowedArray{{nullptr, values}};
    ArrowArray array{};
    array.length = length;
    array.n_buffers = 2;
    array.buffers = owner->buffers.data();
    array.release = release_borrowed;
    array.private_data = owner;
    return array;
}

void send_in_place(rust::Box<OutputSender> &sender, const char *id, int32_t first,
                   int64_t length, bool print_region) {
    auto sample = allocate_output(sender, static_cast<size_t>(length) * sizeof(int32_t));
    auto buffer = sample->data();
    for (int64_t i = 0; i < length; i++) {
        int32_t value = first + static_cast<int32_t>(i);
        std::memcpy(buffer.data() + i * sizeof(int32_t), &value, sizeof value);
    }
    if (print_region) {
        auto address = reinterpret_cast<uintptr_t>(buffer.data());
        std::cout << id << " sent region=" << std::string(shared_memory_region(address))
                  << std::endl;
    }
    ArrowArray array = borrowed_int32(buffer.data(), length);
    ArrowSchema schema = make_schema("i", "");
    send_allocated_arrow_output(sender, id, std::move(sample),
                                reinterpret_cast<uint8_t *>(&array),
                                reinterpret_cast<uint8_t *>(&schema));
}

void send_all(rust::Box<OutputSender> &sender) {
    // Int32 with a null at index 3: validity bits 0b10111.
    ArrowArray int32 = make_array(5, 1, {{0x17}, bytes_of<int32_t>({1, -2, 3, 0, 5})});
    ArrowSchema int32_schema = make_schema("i", "");
    send_arrow_output(sender, "int32", reinterpret_cast<uint8_t *>(&int32),
                      reinterpret_cast<uint8_t *>(&int32_schema));

    ArrowArray a = make_array(3, 0, {{}, bytes_of<int32_t>({10, 20, 30})});
    ArrowArray b = make_array(3, 0,
                              {{}, bytes_of<int32_t>({0, 1, 3, 6}),
                               {'x', 'y', 'y', 'z', 'z', 'z'}});
    ArrowArray strukt = make_array(3, 0, {{}}, {a, b});
    ArrowSchema strukt_schema =
        make_schema("+s", "", {make_schema("i", "a"), make_schema("u", "b")});
    send_arrow_output(sender, "struct", reinterpret_cast<uint8_t *>(&strukt),
                      reinterpret_cast<uint8_t *>(&strukt_schema));

    send_in_place(sender, "int32_in_place", 42, 4, false);
    send_in_place(sender, "big", 1000, 262144, true);
}

// Reads the echoed struct array through the Arrow C data interface.
bool check_echo(const rust::Box<DoraEvent> &event) {
    ArrowArray array{};
    ArrowSchema schema{};
    event_as_arrow_input(event, reinterpret_cast<uint8_t *>(&array),
                         reinterpret_cast<uint8_t *>(&schema));
    bool ok = std::string(schema.format) == "+s" && array.length == 3 && array.n_children == 2 &&
              std::string(schema.children[0]->name) == "a";
    if (ok) {
        const ArrowArray *a = array.children[0];
        auto *values = static_cast<const int32_t *>(a->buffers[1]) + a->offset;
        ok = values[0] == 10 && values[1] == 20 && values[2] == 30;
        const ArrowArray *b = array.children[1];
        auto *offsets = static_cast<const int32_t *>(b->buffers[1]) + b->offset;
        auto *chars = static_cast<const char *>(b->buffers[2]);
        ok = ok && std::string(chars + offsets[2], chars + offsets[3]) == "zzz";
    }
    array.release(&array);
    schema.release(&schema);
    return ok;
}

} // namespace

int main() {
    try {
        auto node = init_dora_node();
        bool sent = false;
        bool echoed = false;
        while (!echoed) {
            auto event = node.events->next();
            auto type = event_type(event);
            if (type == DoraEventType::Stop || type == DoraEventType::AllInputsClosed) {
                break;
            }
            if (type != DoraEventType::Input) {
                continue;
            }
            std::string id(event->input_id());
            if (id == "tick" && !sent) {
                send_all(node.send_output);
                sent = true;
            } else if (id == "echo") {
                bool ok = check_echo(event);
                std::cout << "echo " << (ok ? "ok" : "MISMATCH") << std::endl;
                echoed = true;
            }
        }
        // Errors are exceptions: an unknown output is reported, not fatal.
        try {
            send_output_bytes(node.send_output, "no-such-output", rust::Slice<const uint8_t>{});
            std::cout << "unknown output accepted" << std::endl;
        } catch (const rust::Error &error) {
            std::cout << "unknown output rejected: " << error.what() << std::endl;
        }
        // An Arrow array that is not inside the sample it is sent with is refused.
        try {
            auto sample = allocate_output(node.send_output, 16);
            static const int32_t elsewhere[4] = {1, 2, 3, 4};
            ArrowArray array = borrowed_int32(reinterpret_cast<const uint8_t *>(elsewhere), 4);
            ArrowSchema schema = make_schema("i", "");
            send_allocated_arrow_output(node.send_output, "int32_in_place", std::move(sample),
                                        reinterpret_cast<uint8_t *>(&array),
                                        reinterpret_cast<uint8_t *>(&schema));
            std::cout << "array outside sample accepted" << std::endl;
        } catch (const rust::Error &error) {
            std::cout << "array outside sample rejected: " << error.what() << std::endl;
        }
        try {
            send_arrow_output(node.send_output, "int32", nullptr, nullptr);
            std::cout << "null array accepted" << std::endl;
        } catch (const rust::Error &error) {
            std::cout << "null array rejected: " << error.what() << std::endl;
        }
        return echoed ? 0 : 1;
    } catch (const std::exception &error) {
        std::cerr << "cxx_arrow_sender: " << error.what() << std::endl;
        return 1;
    }
}
