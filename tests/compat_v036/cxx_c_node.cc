// A C++ node using the C node API the way dora-rs v0.3.6's C++ example does: the C header
// included inside `extern "C"`, the payload read through a `char *`.
extern "C" {
#include "node_api.h"
}

#include <iostream>
#include <string>

static int run(void *dora_context)
{
    int forwarded = 0;
    while (true) {
        void *event = dora_next_event(dora_context);
        if (event == NULL) {
            break;
        }
        enum DoraEventType ty = read_dora_event_type(event);
        if (ty == DoraEventType_Input) {
            char *id_ptr;
            size_t id_len;
            read_dora_input_id(event, &id_ptr, &id_len);
            std::string id(id_ptr, id_len);
            char *data_ptr;
            size_t data_len;
            read_dora_input_data(event, &data_ptr, &data_len);
            std::string data(data_ptr, data_len);
            std::cout << "cxx c-api node received `" << id << "`: " << data << std::endl;
            std::string out_id = "message";
            int result = dora_send_output(dora_context, &out_id[0], out_id.length(), &data[0],
                                          data.length());
            if (result != 0) {
                std::cerr << "failed to send output" << std::endl;
                free_dora_event(event);
                return 1;
            }
            forwarded++;
        } else if (ty == DoraEventType_Stop) {
            std::cout << "cxx c-api node received stop event" << std::endl;
        }
        free_dora_event(event);
    }
    std::cout << "cxx c-api node forwarded " << forwarded << " messages" << std::endl;
    return 0;
}

int main()
{
    auto dora_context = init_dora_context_from_env();
    if (dora_context == NULL) {
        std::cerr << "failed to init dora context" << std::endl;
        return 1;
    }
    auto ret = run(dora_context);
    free_dora_context(dora_context);
    return ret;
}
