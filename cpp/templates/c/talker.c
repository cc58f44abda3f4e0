/* ___name___: on every `tick`, sends a greeting on `speech`; stops when dora stops. */
#include <stdio.h>
#include <string.h>

#include "dora/node_api.h"

int main(void)
{
    unsigned long count = 0;
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
            read_dora_input_id(event, &id, &id_len);
            if (id_len == strlen("tick") && memcmp(id, "tick", id_len) == 0) {
                char message[64];
                char output[] = "speech";
                int len;
                count++;
                len = snprintf(message, sizeof message, "Hello World #%lu from ___name___", count);
                if (dora_send_output(dora_context, output, strlen(output), message, (size_t)len) !=
                    DORA_OK) {
                    fprintf(stderr, "___name___: sending failed: %s\n", dora_last_error());
                }
            }
        }
        free_dora_event(event);
        if (type == DoraEventType_Stop) {
            break;
        }
    }
    free_dora_context(dora_context);
    return 0;
}
