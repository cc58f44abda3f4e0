/* ___name___: a dora node. For every input it receives, prints it and sends a status line
 * on its `status` output; stops when its inputs close or dora stops. */
#include <stdio.h>
#include <string.h>

#include "dora/node_api.h"

int main(void)
{
    unsigned long received = 0;
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
            char status[96];
            char output[] = "status";
            int len;
            read_dora_input_id(event, &id, &id_len);
            received++;
            printf("___name___ received input `%.*s` #%lu\n", (int)id_len, id, received);
            fflush(stdout);
            len = snprintf(status, sizeof status, "___name___ handled %lu inputs", received);
            if (dora_send_output(dora_context, output, strlen(output), status, (size_t)len) !=
                DORA_OK) {
                fprintf(stderr, "___name___: sending failed: %s\n", dora_last_error());
            }
        } else if (type == DoraEventType_InputClosed) {
            char *id;
            size_t id_len;
            read_dora_input_id(event, &id, &id_len);
            printf("___name___: input `%.*s` closed\n", (int)id_len, id);
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
