/*
 * dora operator API for C (and C++): the ABI that `dora runtime` loads from an operator
 * shared library.
 *
 * An operator library exports three functions (declared below):
 *
 *   DoraInitResult_t dora_init_operator(void);
 *       Creates one operator instance; returns its context (any pointer, opaque to dora)
 *       or an error.
 *   OnEventResult_t dora_on_event(RawEvent_t *event, const SendOutput_t *send_output,
 *                                 void *operator_context);
 *       Handles one event; may send outputs during the call with
 *       dora_send_operator_output(). Returns a status (continue / stop this operator /
 *       stop the whole node) or an error.
 *   DoraResult_t dora_drop_operator(void *operator_context);
 *       Destroys the instance.
 *
 * Lifecycle: init once; then one event at a time, always from the same thread: inputs,
 * `input_closed` for each input that will receive nothing more (after the last one the
 * operator is dropped), `stop` when the dataflow stops (the operator is dropped after it).
 * Returning DORA_STATUS_STOP finishes this operator, DORA_STATUS_STOP_ALL the whole node.
 * Returning an error fails the node with the operator's id in the message.
 *
 * Ownership:
 *   - DoraResult_t.error is NULL for success, else a NUL-terminated message allocated with
 *     malloc(). Ownership moves with the value: dora frees the errors you return; you free
 *     (or return) the errors dora_send_operator_output() gives you (dora_free_result()).
 *   - Everything an event points to is owned by dora and valid until dora_on_event()
 *     returns. You may move the Arrow array/schema out (copy the struct, then set the
 *     original's `release` to NULL); you then must release them.
 *   - Output_t and its id and bytes are only read during the send call (bytes are copied).
 *     An Arrow array given in `data_array`/`schema` is moved into dora.
 *   - C++: exceptions must not leave these functions.
 *
 * The helpers below are `static inline`: an operator needs no library to link against,
 * only this header. Build the operator as a shared library (e.g. `cc -shared -fPIC`).
 */
#ifndef DORA_OPERATOR_API_H
#define DORA_OPERATOR_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this ABI; equals `dora_operator_api::raw::DORA_OPERATOR_API_VERSION`. */
#define DORA_OPERATOR_API_VERSION 1

#if defined(_WIN32)
#define DORA_OPERATOR_EXPORT __declspec(dllexport)
#else
#define DORA_OPERATOR_EXPORT __attribute__((visibility("default")))
#endif

/* The Arrow C data interface structs, shared with the node API. */
#include "arrow_c_data.h"

/* Success (error == NULL) or a malloc()ed, NUL-terminated error message. */
typedef struct DoraResult {
    char *error;
} DoraResult_t;

typedef struct DoraInitResult {
    DoraResult_t result;
    void *operator_context;
} DoraInitResult_t;

/* What the operator wants after an event. */
typedef uint8_t DoraStatus_t;
enum {
    DORA_STATUS_CONTINUE = 0, /* keep running */
    DORA_STATUS_STOP = 1,     /* finish this operator */
    DORA_STATUS_STOP_ALL = 2  /* stop every operator of this node */
};

typedef struct OnEventResult {
    DoraResult_t result;
    DoraStatus_t status;
} OnEventResult_t;

typedef struct Metadata {
    /* When the message was sent, in nanoseconds since the UNIX epoch. */
    uint64_t timestamp_ns;
} Metadata_t;

/* One received message. */
typedef struct Input {
    const char *id;          /* the operator's input id, NUL-terminated */
    const uint8_t *data;     /* payload bytes when it is a UInt8 array, else NULL */
    size_t data_len;
    struct ArrowArray *data_array; /* the payload as Arrow (may be moved out) */
    struct ArrowSchema *schema;
    Metadata_t metadata;
} Input_t;

/* Exactly one of the four is set. */
typedef struct RawEvent {
    Input_t *input;           /* a message arrived */
    const char *input_closed; /* this input will receive nothing more */
    bool stop;                /* the dataflow stops */
    const char *error;        /* an error dora reports (informational) */
} RawEvent_t;

/* A message to send. */
typedef struct Output {
    const char *id;                /* the operator's output id, NUL-terminated */
    const uint8_t *data;           /* bytes to send as a UInt8 array (if data_array is NULL) */
    size_t data_len;
    struct ArrowArray *data_array; /* or an Arrow array, moved into dora */
    struct ArrowSchema *schema;
} Output_t;

typedef struct SendOutputFn {
    void *env_ptr;
    DoraResult_t (*call)(void *env_ptr, Output_t *output);
} SendOutputFn_t;

/* How an operator sends; valid during dora_on_event() only. */
typedef struct SendOutput {
    SendOutputFn_t send_output;
} SendOutput_t;

/* The entry points an operator library defines. */
DORA_OPERATOR_EXPORT DoraInitResult_t dora_init_operator(void);
DORA_OPERATOR_EXPORT DoraResult_t dora_drop_operator(void *operator_context);
DORA_OPERATOR_EXPORT OnEventResult_t dora_on_event(RawEvent_t *event,
                                                   const SendOutput_t *send_output,
                                                   void *operator_context);

/* ---- helpers ---- */

/* An error result holding a malloc()ed copy of `message`. */
static inline DoraResult_t dora_result_error(const char *message)
{
    DoraResult_t result;
    size_t len = strlen(message);
    result.error = (char *)malloc(len + 1);
    if (result.error != NULL) {
        memcpy(result.error, message, len + 1);
    }
    return result;
}

/* A successful result. */
static inline DoraResult_t dora_result_ok(void)
{
    DoraResult_t result;
    result.error = NULL;
    return result;
}

/* Frees the error of `result`, if any. */
static inline void dora_free_result(DoraResult_t result)
{
    free(result.error);
}

/* Sends `data_len` bytes (copied) on output `id`. The returned error is yours to free. */
static inline DoraResult_t dora_send_operator_output(const SendOutput_t *send_output,
                                                     const char *id, const uint8_t *data_ptr,
                                                     size_t data_len)
{
    Output_t output;
    if (send_output == NULL || id == NULL || (data_ptr == NULL && data_len > 0)) {
        return dora_result_error("dora_send_operator_output: NULL argument");
    }
    output.id = id;
    output.data = data_ptr;
    output.data_len = data_len;
    output.data_array = NULL;
    output.schema = NULL;
    return send_output->send_output.call(send_output->send_output.env_ptr, &output);
}

/* Sends an Arrow array on output `id`; dora takes ownership of `array` and `schema` (their
 * `release` is NULL afterwards). The returned error is yours to free. */
static inline DoraResult_t dora_send_operator_arrow_output(const SendOutput_t *send_output,
                                                           const char *id,
                                                           struct ArrowArray *array,
                                                           struct ArrowSchema *schema)
{
    Output_t output;
    if (send_output == NULL || id == NULL || array == NULL || schema == NULL) {
        return dora_result_error("dora_send_operator_arrow_output: NULL argument");
    }
    output.id = id;
    output.data = NULL;
    output.data_len = 0;
    output.data_array = array;
    output.schema = schema;
    return send_output->send_output.call(send_output->send_output.env_ptr, &output);
}

/* dora-rs v0.3.6 compatible accessors. */

/* A malloc()ed copy of the input id; free it with dora_free_input_id(). */
static inline char *dora_read_input_id(const Input_t *input)
{
    size_t len;
    char *copy;
    if (input == NULL || input->id == NULL) {
        return NULL;
    }
    len = strlen(input->id);
    copy = (char *)malloc(len + 1);
    if (copy != NULL) {
        memcpy(copy, input->id, len + 1);
    }
    return copy;
}

static inline void dora_free_input_id(char *input_id)
{
    free(input_id);
}

/* Bytes of a UInt8 payload, borrowed from the event (`cap` is 0): valid until
 * dora_on_event() returns. `ptr` is NULL when the payload is not raw bytes. */
typedef struct Vec_uint8 {
    uint8_t *ptr;
    size_t len;
    size_t cap;
} Vec_uint8_t;

static inline Vec_uint8_t dora_read_data(Input_t *input)
{
    Vec_uint8_t data;
    data.ptr = input != NULL ? (uint8_t *)input->data : NULL;
    data.len = data.ptr != NULL ? input->data_len : 0;
    data.cap = 0;
    return data;
}

/* Nothing to free (dora_read_data borrows); kept for v0.3.6 source compatibility. */
static inline void dora_free_data(Vec_uint8_t data)
{
    (void)data;
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DORA_OPERATOR_API_H */
