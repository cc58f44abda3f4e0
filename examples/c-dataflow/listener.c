/* C listener: prints the talker's messages and checks its shared-memory blocks. */
#include <stdio.h>
#include <string.h>

#include "dora/node_api.h"

static int id_is(const char *id, size_t id_len, const char *expected) {
    return id_len == strlen(expected) && memcmp(id, expected, id_len) == 0;
}

int main(void) {
    void *context = init_dora_context_from_env();
    if (context == NULL) {
        const char *error = dora_last_error();
        fprintf(stderr, "listener: cannot start: %s\n", error ? error : "(no message)");
        return 1;
    }
    int blocks = 0;
    int status = 0;
    void *event;
    while ((event = dora_next_event(context)) != NULL) {
        enum DoraEventType type = read_dora_event_type(event);
        char *id = NULL;
        size_t id_len = 0;
        if (type == DoraEventType_Input) {
            uint8_t *data = NULL;
            size_t data_len = 0;
            read_dora_input_id(event, &id, &id_len);
            read_dora_input_data(event, &data, &data_len);
            if (id_is(id, id_len, "message")) {
                printf("received message: %.*s\n", (int)data_len, (const char *)data);
            } else if (id_is(id, id_len, "block")) {
                /* Byte i of block k is (i + k) mod 256. */
                size_t bad = 0;
                for (size_t i = 0; i < data_len; i++) {
                    if (data[i] != (uint8_t)(i + (size_t)blocks)) {
                        bad++;
                    }
                }
                printf("received block #%d: %zu bytes, %s\n", blocks, data_len,
                       bad == 0 ? "contents ok" : "CORRUPTED");
                if (bad != 0) {
                    status = 1;
                }
                blocks++;
            }
        } else if (type == DoraEventType_InputClosed) {
            read_dora_input_id(event, &id, &id_len);
            printf("input closed: %.*s\n", (int)id_len, id);
        } else if (type == DoraEventType_Stop) {
            free_dora_event(event);
            break;
        }
        fflush(stdout);
        free_dora_event(event);
    }
    free_dora_context(context);
    return status;
}
