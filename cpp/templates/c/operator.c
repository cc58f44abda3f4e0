/* ___name___: a dora operator. For every input it receives, prints it and sends a status
 * line on its `status` output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dora/operator_api.h"

typedef struct {
    unsigned long received;
} Operator;

DoraInitResult_t dora_init_operator(void)
{
    DoraInitResult_t result;
    Operator *op = (Operator *)calloc(1, sizeof(Operator));
    result.operator_context = op;
    result.result = op != NULL ? dora_result_ok() : dora_result_error("out of memory");
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
    Operator *op = (Operator *)operator_context;
    OnEventResult_t result;
    result.result = dora_result_ok();
    result.status = DORA_STATUS_CONTINUE;

    if (event->input != NULL) {
        char status[96];
        int len;
        char *id = dora_read_input_id(event->input);
        op->received++;
        printf("___name___ received input `%s` #%lu\n", id != NULL ? id : "?", op->received);
        dora_free_input_id(id);
        len = snprintf(status, sizeof status, "___name___ handled %lu inputs", op->received);
        /* An error from sending becomes the result: dora then fails the node. */
        result.result =
            dora_send_operator_output(send_output, "status", (const uint8_t *)status, (size_t)len);
    } else if (event->input_closed.ptr != NULL) {
        printf("___name___: input `%.*s` closed\n", (int)event->input_closed.len,
               (const char *)event->input_closed.ptr);
    } else if (event->stop) {
        printf("___name___: stopping\n");
    }
    return result;
}
