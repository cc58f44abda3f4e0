/* ___name___: prints every message it hears; ends when its inputs close or dora stops. */
#include <stdio.h>

#include "dora/node_api.h"

int main(void)
{
    void *dora_context = init_dora_context_from_env();
    if (dora_context == NULL) {
        fprintf(stderr, "___name___: cannot join the dataflow: %s\n", dora_last_error());
        return 1;
    }
    for (;;) {
        void *event = dora_next_event(dora_context);
        enum DoraEventType type;
        if (event == NULL) {
            break; /* the event stream ended */
        }
        type = read_dora_event_type(event);
        if (type == DoraEventType_Input) {
            char *id;
            size_t id_len;
            uint8_t *data;
            size_t data_len;
            read_dora_input_id(event, &id, &id_len);
            read_dora_input_data(event, &data, &data_len);
            printf("___name___ heard on `%.*s`: %.*s\n", (int)id_len, id, (int)data_len,
                   (const char *)data);
            fflush(stdout);
        } else if (type == DoraEventType_InputClosed) {
            char *id;
            size_t id_len;
            read_dora_input_id(event, &id, &id_len);
            printf("Input `%.*s` closed\n", (int)id_len, id);
            fflush(stdout);
        }
        free_dora_event(event);
        if (type == DoraEventType_Stop) {
            break;
        }
    }
    free_dora_context(dora_context);
    return 0;
}
