/* A C node written against the dora-rs v0.3.6 node API: forwards every `status` line it
 * receives as `message`, reading the payload through a `char *` as v0.3.6 declared it. */
#include <stdio.h>
#include <string.h>

#include "node_api.h"

int main(void)
{
    void *dora_context = init_dora_context_from_env();
    if (dora_context == NULL) {
        fprintf(stderr, "failed to init dora context\n");
        return -1;
    }
    int forwarded = 0;
    while (1) {
        void *event = dora_next_event(dora_context);
        if (event == NULL) {
            break;
        }
        enum DoraEventType ty = read_dora_event_type(event);
        if (ty == DoraEventType_Input) {
            char *id;
            size_t id_len;
            read_dora_input_id(event, &id, &id_len);
            char *data;
            size_t data_len;
            read_dora_input_data(event, &data, &data_len);
            unsigned long long timestamp = read_dora_input_timestamp(event);
            printf("c node received `%.*s` (timestamp %s): %.*s\n", (int)id_len, id,
                   timestamp != 0 ? "set" : "missing", (int)data_len, data);
            char out_id[] = "message";
            char out_data[256];
            int out_len = snprintf(out_data, sizeof(out_data), "%.*s", (int)data_len, data);
            if (dora_send_output(dora_context, out_id, strlen(out_id), out_data, out_len) != 0) {
                fprintf(stderr, "failed to send output\n");
                return 1;
            }
            forwarded++;
        } else if (ty == DoraEventType_InputClosed) {
            printf("c node received InputClosed event\n");
        } else if (ty == DoraEventType_Stop) {
            printf("c node received stop event\n");
        } else if (ty == DoraEventType_Error) {
            printf("c node received an error event\n");
        } else {
            printf("c node received unexpected event: %d\n", ty);
        }
        free_dora_event(event);
    }
    free_dora_context(dora_context);
    printf("c node forwarded %d messages\n", forwarded);
    return 0;
}
