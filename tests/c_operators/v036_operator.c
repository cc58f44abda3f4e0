/*
 * A C operator for tests/e2e/dataflow_operators.rs written the dora-rs v0.3.6 way: it reads inputs only
 * through dora_read_input_id / dora_read_data, reads `input_closed` as a Vec_uint8_t, and
 * builds its errors by hand as a malloc()ed Vec_uint8_t (no helper of ours).
 *
 * What it does depends on the input a message arrives on:
 *   - `tick`: sends `tick N` on `echo`; after 3 ticks returns DORA_STATUS_STOP.
 *   - `echo`: prints `c got <id>: <bytes>`.
 *   - `fail`: returns the error `c operator failing on purpose on <id>`.
 *   - `bad-send`: sends on the undeclared output `nope` and returns dora's error.
 * A closed input is printed as `c closed <id>`, stop as `c stop`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dora/operator_api.h"

/* The entry points have the v0.3.6 types (a mismatch fails to compile). */
static const DoraInitOperator_t init_type = {dora_init_operator};
static const DoraDropOperator_t drop_type = {dora_drop_operator};
static const DoraOnEvent_t on_event_type = {dora_on_event};

static DoraResult_t error_of(const char *prefix, const char *id)
{
    DoraResult_t result;
    Vec_uint8_t *error = (Vec_uint8_t *)malloc(sizeof(Vec_uint8_t));
    size_t len = strlen(prefix) + strlen(id);
    char *text = (char *)malloc(len + 1);
    snprintf(text, len + 1, "%s%s", prefix, id);
    /* Not NUL-terminated as far as dora knows: only `len` bytes count. */
    error->ptr = (uint8_t *)text;
    error->len = len;
    error->cap = len + 1;
    result.error = error;
    return result;
}

DoraInitResult_t dora_init_operator(void)
{
    DoraInitResult_t result = {{NULL}, NULL};
    result.operator_context = calloc(1, sizeof(unsigned));
    (void)init_type;
    (void)drop_type;
    (void)on_event_type;
    return result;
}

DoraResult_t dora_drop_operator(void *operator_context)
{
    DoraResult_t result = {NULL};
    free(operator_context);
    return result;
}

OnEventResult_t dora_on_event(RawEvent_t *event, const SendOutput_t *send_output,
                              void *operator_context)
{
    unsigned *ticks = (unsigned *)operator_context;
    OnEventResult_t result = {{NULL}, DORA_STATUS_CONTINUE};

    if (event->input != NULL) {
        Input_t *input = event->input;
        char *id = dora_read_input_id(input);
        if (strcmp(id, "tick") == 0) {
            char text[32];
            int len;
            *ticks += 1;
            len = snprintf(text, sizeof text, "tick %u", *ticks);
            result.result =
                dora_send_operator_output(send_output, "echo", (const uint8_t *)text, (size_t)len);
            if (*ticks == 3) {
                result.status = DORA_STATUS_STOP;
            }
        } else if (strcmp(id, "echo") == 0) {
            Vec_uint8_t data = dora_read_data(input);
            if (data.ptr == NULL) {
                result.result = error_of("expected bytes on ", id);
            } else {
                printf("c got %s: %.*s\n", id, (int)data.len, (const char *)data.ptr);
            }
            dora_free_data(data);
        } else if (strcmp(id, "fail") == 0) {
            result.result = error_of("c operator failing on purpose on ", id);
        } else if (strcmp(id, "bad-send") == 0) {
            result.result =
                dora_send_operator_output(send_output, "nope", (const uint8_t *)"x", 1);
        }
        dora_free_input_id(id);
    }
    if (event->input_closed.ptr != NULL) {
        Vec_uint8_t closed = event->input_closed;
        printf("c closed %.*s\n", (int)closed.len, (const char *)closed.ptr);
    }
    if (event->stop) {
        printf("c stop\n");
    }
    return result;
}
