/* A C operator written against the dora-rs v0.3.6 operator API (including its
 * operator_types.h): answers each `counter` byte with its double on `doubled`. */
#include "operator_api.h"
#include "operator_types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

DoraInitResult_t dora_init_operator(void)
{
    /* The entry points have the types v0.3.6 checks them against. */
    DoraInitOperator_t init = {.init_operator = dora_init_operator};
    DoraDropOperator_t drop = {.drop_operator = dora_drop_operator};
    DoraOnEvent_t on_event = {.on_event = dora_on_event};
    (void)init;
    (void)drop;
    (void)on_event;

    DoraInitResult_t result = {.operator_context = malloc(1)};
    return result;
}

DoraResult_t dora_drop_operator(void *operator_context)
{
    free(operator_context);
    DoraResult_t result = {.error = NULL};
    return result;
}

OnEventResult_t dora_on_event(RawEvent_t *event, const SendOutput_t *send_output,
                              void *operator_context)
{
    (void)operator_context;
    OnEventResult_t result = {.status = DORA_STATUS_CONTINUE};
    if (event->input != NULL) {
        char *id = dora_read_input_id(event->input);
        Vec_uint8_t data = dora_read_data(event->input);
        if (id != NULL && strcmp(id, "counter") == 0 && data.ptr != NULL && data.len == 1) {
            uint8_t doubled = (uint8_t)(data.ptr[0] * 2);
            printf("c operator doubles %d\n", data.ptr[0]);
            result.result = dora_send_operator_output(send_output, "doubled", &doubled, 1);
        }
        dora_free_data(data);
        dora_free_input_id(id);
    }
    if (event->stop) {
        printf("c operator received stop event\n");
    }
    return result;
}
