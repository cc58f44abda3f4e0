// C++ node of the C++ API tests: prints the metadata parameters of each message on its
// `data` input through the typed getters, one `param <key> <type> <value>` line each, then
// the messages of the errors a wrong key and a wrong type raise.
#include <cstdint>
#include <iostream>
#include <string>

#include "dora-node-api.h"

namespace {

const char *type_name(ParameterType type) {
    switch (type) {
    case ParameterType::Bool: return "bool";
    case ParameterType::Integer: return "int";
    case ParameterType::Float: return "float";
    case ParameterType::String: return "string";
    case ParameterType::ListInt: return "int_list";
    case ParameterType::ListFloat: return "float_list";
    case ParameterType::ListString: return "string_list";
    }
    return "unknown";
}

template <typename List> void print_list(const List &values) {
    std::cout << "[";
    bool first = true;
    for (const auto &value : values) {
        std::cout << (first ? "" : ",") << value;
        first = false;
    }
    std::cout << "]";
}

void print_parameters(const DoraEvent &event) {
    for (const rust::String &key_string : event.input_parameter_keys()) {
        std::string key(key_string);
        ParameterType type = event.input_parameter_type(key);
        std::cout << "param " << key << " " << type_name(type) << " ";
        switch (type) {
        case ParameterType::Bool: std::cout << (event.input_parameter_bool(key) ? "true" : "false"); break;
        case ParameterType::Integer: std::cout << event.input_parameter_int(key); break;
        case ParameterType::Float: std::cout << event.input_parameter_float(key); break;
        case ParameterType::String: std::cout << std::string(event.input_parameter_string(key)); break;
        case ParameterType::ListInt: print_list(event.input_parameter_int_list(key)); break;
        case ParameterType::ListFloat: print_list(event.input_parameter_float_list(key)); break;
        case ParameterType::ListString: {
            std::cout << "[";
            bool first = true;
            for (const rust::String &value : event.input_parameter_string_list(key)) {
                std::cout << (first ? "" : ",") << std::string(value);
                first = false;
            }
            std::cout << "]";
            break;
        }
        }
        std::cout << std::endl;
    }
    try {
        event.input_parameter_int("missing");
        std::cout << "no error for a missing key" << std::endl;
    } catch (const rust::Error &error) {
        std::cout << "missing: " << error.what() << std::endl;
    }
    try {
        event.input_parameter_int("frame");
        std::cout << "no error for a wrong type" << std::endl;
    } catch (const rust::Error &error) {
        std::cout << "wrong type: " << error.what() << std::endl;
    }
}

} // namespace

int main() {
    try {
        auto node = init_dora_node();
        while (true) {
            auto event = node.events->next();
            auto type = event_type(event);
            if (type == DoraEventType::Stop || type == DoraEventType::AllInputsClosed) {
                break;
            }
            if (type == DoraEventType::Input) {
                print_parameters(*event);
            }
        }
    } catch (const std::exception &error) {
        std::cerr << "cxx_metadata_receiver: " << error.what() << std::endl;
        return 1;
    }
    return 0;
}
