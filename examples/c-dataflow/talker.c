/* Timer-driven C talker: on each tick sends a text message and a 64 KiB block filled in place
 * in shared memory; stops after ten ticks. */
#include <stdio.h>
#include <string.h>

#include "dora/node_api.h"

#define MESSAGES 10
#define BLOCK_LEN (64 * 1024)

static int fail(const char *what) {
    const char *error = dora_last_error();
    fprintf(stderr, "talker: %s failed: %s\n", what, error ? error : "(no message)");
    return 1;
}

int main(void) {
    void *context = init_dora_context_from_env();
    if (context == NULL) {
        return fail("init_dora_context_from_env");
    }
    int sent = 0;
    int status = 0;
    while (sent < MESSAGES) {
        void *event = dora_next_event(context);
        if (event == NULL) {
            break; /* the stream ended */
        }
        enum DoraEventType type = read_dora_event_type(event);
        if (type == DoraEventType_Stop) {
            free_dora_event(event);
            break;
        }
        if (type == DoraEventType_Input) {
            char message[64];
            int len = snprintf(message, sizeof message, "hello from C #%d", sent);
            if (dora_send_output(context, "message", strlen("message"), message,
                                 (size_t)len) != DORA_OK) {
                status = fail("dora_send_output");
            }

            uint8_t *block = NULL;
            void *sample = NULL;
            if (dora_allocate_output(context, BLOCK_LEN, &block, &sample) != DORA_OK) {
                status = fail("dora_allocate_output");
            } else {
                for (size_t i = 0; i < BLOCK_LEN; i++) {
                    block[i] = (uint8_t)(i + (size_t)sent);
                }
                if (dora_send_allocated_output(context, "block", strlen("block"), sample) !=
                    DORA_OK) {
                    status = fail("dora_send_allocated_output");
                }
            }
            printf("sent message #%d\n", sent);
            fflush(stdout);
            sent++;
        }
        free_dora_event(event);
    }
    free_dora_context(context);
    return status;
}
