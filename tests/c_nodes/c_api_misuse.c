/* Calls the dora C API wrongly on purpose and prints what each call returned; every call must
 * report an error and return, never crash. Prints "misuse checks done: failures=N" at the
 * end and exits 0 when every check behaved. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dora/node_api.h"

static int failures = 0;

/* Prints `check NAME: got G, expected E, error=MESSAGE` and counts mismatches. */
static void check(const char *name, long long got, long long expected) {
    const char *error = dora_last_error();
    int ok = got == expected;
    printf("check %s: %s got=%lld expected=%lld error=%s\n", name, ok ? "ok" : "FAILED", got,
           expected, error ? error : "(none)");
    fflush(stdout);
    if (!ok) {
        failures++;
    }
}

/* Checks that the last call set an error message (void functions report only that way). */
static void check_error_set(const char *name) {
    check(name, dora_last_error() != NULL, 1);
}

static void misuse_before_init(void) {
    char id[] = "out";
    char data[] = "x";
    check("send_output_null_context", dora_send_output(NULL, id, 3, data, 1),
          DORA_ERR_NULL_ARGUMENT);
    check("send_output_bogus_context", dora_send_output((void *)0x1234, id, 3, data, 1),
          DORA_ERR_INVALID_HANDLE);
    check("next_event_null_context", dora_next_event(NULL) == NULL, 1);
    check_error_set("next_event_null_context_error");
    free_dora_context(NULL);
    check_error_set("free_null_context");
    check("event_type_null", read_dora_event_type(NULL), DoraEventType_Unknown);
    uint8_t *ptr = (uint8_t *)1;
    size_t len = 99;
    read_dora_input_data(NULL, &ptr, &len);
    check("input_data_null_event", ptr == NULL && len == 0, 1);
    check_error_set("input_data_null_event_error");
    read_dora_input_data(NULL, NULL, NULL);
    check_error_set("input_data_null_everything");
    check("timestamp_null_event", (long long)read_dora_input_timestamp(NULL), 0);
    free_dora_event(NULL);
    dora_free_allocated_output(NULL);
    check("send_allocated_null_sample", dora_send_allocated_output(NULL, "out", 3, NULL),
          DORA_ERR_NULL_ARGUMENT);
}

static void misuse_with_context(void *context) {
    char data[] = "payload";
    char unknown[] = "nope";
    check("send_output_unknown_output",
          dora_send_output(context, unknown, strlen(unknown), data, strlen(data)),
          DORA_ERR_UNKNOWN_OUTPUT);
    check("send_output_null_id", dora_send_output(context, NULL, 3, data, strlen(data)),
          DORA_ERR_NULL_ARGUMENT);
    char bad_utf8[] = {'o', (char)0xff, 't', 0};
    check("send_output_invalid_utf8_id", dora_send_output(context, bad_utf8, 3, data, 1),
          DORA_ERR_INVALID_ARGUMENT);
    check("send_output_null_data", dora_send_output(context, "out", 3, NULL, 5),
          DORA_ERR_NULL_ARGUMENT);
    check("send_output_ok", dora_send_output(context, "out", 3, data, strlen(data)), DORA_OK);
    check("send_output_empty_ok", dora_send_output(context, "out", 3, NULL, 0), DORA_OK);

    void *sample = NULL;
    uint8_t *buffer = NULL;
    check("allocate_null_out_ptr", dora_allocate_output(context, 16, NULL, &sample),
          DORA_ERR_NULL_ARGUMENT);
    check("allocate_null_context", dora_allocate_output(NULL, 16, &buffer, &sample),
          DORA_ERR_NULL_ARGUMENT);
    check("allocate_null_context_outputs", buffer == NULL && sample == NULL, 1);
    check("allocate_ok", dora_allocate_output(context, 8192, &buffer, &sample), DORA_OK);
    memset(buffer, 7, 8192);
    check("send_allocated_unknown_output", dora_send_allocated_output(context, "nope", 4, sample),
          DORA_ERR_UNKNOWN_OUTPUT);
    check("allocate_again_ok", dora_allocate_output(context, 8192, &buffer, &sample), DORA_OK);
    dora_free_allocated_output(sample);
    check("allocate_third_ok", dora_allocate_output(context, 100, &buffer, &sample), DORA_OK);
    check("send_allocated_ok", dora_send_allocated_output(context, "out", 3, sample), DORA_OK);
}

static void misuse_stop_event(void *stop) {
    check("stop_event_type", read_dora_event_type(stop), DoraEventType_Stop);
    uint8_t *data = (uint8_t *)1;
    size_t data_len = 99;
    read_dora_input_data(stop, &data, &data_len);
    check("input_data_of_stop", data == NULL && data_len == 0, 1);
    check_error_set("input_data_of_stop_error");
    char *id = (char *)1;
    size_t id_len = 99;
    read_dora_input_id(stop, &id, &id_len);
    check("input_id_of_stop", id == NULL && id_len == 0, 1);
    check_error_set("input_id_of_stop_error");
    check("timestamp_of_stop", (long long)read_dora_input_timestamp(stop), 0);
    check("event_error_of_stop", read_dora_event_error(stop, &id, &id_len),
          DORA_ERR_WRONG_EVENT_TYPE);
}

static void misuse_after_free(void *context) {
    char data[] = "late";
    check("send_output_after_free", dora_send_output(context, "out", 3, data, 4),
          DORA_ERR_INVALID_HANDLE);
    check("next_event_after_free", dora_next_event(context) == NULL, 1);
    check_error_set("next_event_after_free_error");
    void *sample = NULL;
    uint8_t *buffer = NULL;
    check("allocate_after_free", dora_allocate_output(context, 16, &buffer, &sample),
          DORA_ERR_INVALID_HANDLE);
    free_dora_context(context);
    check_error_set("double_free_context");
}

int main(void) {
    misuse_before_init();

    void *context = init_dora_context_from_env();
    if (context == NULL) {
        fprintf(stderr, "init failed: %s\n", dora_last_error());
        return 1;
    }
    int stopped = 0;
    int ticks = 0;
    void *event;
    while ((event = dora_next_event(context)) != NULL) {
        enum DoraEventType type = read_dora_event_type(event);
        if (type == DoraEventType_Input && ticks++ == 0) {
            misuse_with_context(context);
            printf("waiting for stop\n");
            fflush(stdout);
        } else if (type == DoraEventType_Stop) {
            misuse_stop_event(event);
            stopped = 1;
        }
        free_dora_event(event);
        if (stopped) {
            break;
        }
    }
    check("got_stop", stopped, 1);
    free_dora_context(context);
    misuse_after_free(context);

    printf("misuse checks done: failures=%d\n", failures);
    return 0;
}
