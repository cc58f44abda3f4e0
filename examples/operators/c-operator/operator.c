/* A C operator: shouts every message it receives (upper case) on output `shouted`. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dora/operator_api.h"

typedef struct {
    unsigned long count;
} Shouter;

DoraInitResult_t dora_init_operator(void)
{
    DoraInitResult_t result;
    Shouter *shouter = (Shouter *)calloc(1, sizeof(Shouter));
    result.operator_context = shouter;
    result.result = shouter != NULL ? dora_result_ok() : dora_result_error("out of memory");
    return result;
}

DoraResult_t dora_drop_operator(void *operator_context)
{
    free(operator_context);
    return dora_result_ok();
}

OnEventResult_t dora_on_event(RawEvent_t *event, const SendOutput_t *send_output,
                              void *operator_context)
{
    Shouter *shouter = (Shouter *)operator_context;
    OnEventResult_t result;
    result.result = dora_result_ok();
    result.status = DORA_STATUS_CONTINUE;

    if (event->input != NULL) {
        char *id = dora_read_input_id(event->input);
        if (id != NULL && strcmp(id, "message") == 0) {
            Vec_uint8_t data = dora_read_data(event->input);
            uint8_t *shouted = (uint8_t *)malloc(data.len + 1);
            size_t i;
            if (shouted == NULL) {
                dora_free_data(data);
                dora_free_input_id(id);
                result.result = dora_result_error("out of memory");
                return result;
            }
            for (i = 0; i < data.len; i++) {
                shouted[i] = (uint8_t)toupper(data.ptr[i]);
            }
            shouter->count++;
            printf("c operator: message %lu: %.*s\n", shouter->count, (int)data.len,
                   (const char *)data.ptr);
            result.result = dora_send_operator_output(send_output, "shouted", shouted, data.len);
            free(shouted);
            dora_free_data(data);
        }
        dora_free_input_id(id);
    } else if (event->input_closed.ptr != NULL) {
        printf("c operator: `%.*s` closed after %lu messages\n", (int)event->input_closed.len,
               (const char *)event->input_closed.ptr, shouter->count);
    } else if (event->stop) {
        printf("c operator: stop\n");
    }
    return result;
}
