/*
 * dora operator API for C (and C++): the ABI that `dora runtime` loads from an operator
 * shared library. Source compatible with the C operator API of dora-rs v0.3.6: the types,
 * field order and field types an operator can use, the three entry points and the helpers
 * dora_read_input_id / dora_free_input_id / dora_read_data / dora_free_data /
 * dora_send_operator_output are the same. (Input_t, Output_t, Metadata_t and SendOutput_t
 * are opaque there; here their fields are visible, a superset an operator may ignore.)
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
 * Returning an error fails the node with the operator's id and the error's text in the
 * message.
 *
 * Ownership:
 *   - DoraResult_t.error is NULL for success, else a malloc()ed Vec_uint8_t whose `ptr` is a
 *     malloc()ed buffer holding the message's `len` bytes (UTF-8, no NUL needed). Ownership
 *     moves with the value: dora frees (free()) both for the errors you return; you free (or
 *     return) the errors dora_send_operator_output() gives you (dora_free_result()). Errors
 *     made by dora are also NUL-terminated. dora_result_error() builds one.
 *   - Everything an event points to (the input, the bytes of `input_closed` and `error`) is
 *     owned by dora and valid until dora_on_event() returns. `input_closed.ptr` and
 *     `error.ptr` are NULL when not set; when set they are also NUL-terminated. You may move
 *     the Arrow array/schema out (copy the struct, then set the original's `release` to
 *     NULL); you then must release them.
 *   - dora_read_input_id() and dora_read_data() return copies that are yours: free them
 *     with dora_free_input_id() and dora_free_data().
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
#define DORA_OPERATOR_API_VERSION 2

#if defined(_WIN32)
#define DORA_OPERATOR_EXPORT __declspec(dllexport)
#else
#define DORA_OPERATOR_EXPORT __attribute__((visibility("default")))
#endif

/* The Arrow C data interface structs, shared with the node API. */
#include "arrow_c_data.h"

/* Bytes: `len` bytes at `ptr` in a buffer of `cap` bytes. */
typedef struct Vec_uint8 {
    uint8_t *ptr;
    size_t len;
    size_t cap;
} Vec_uint8_t;

/* Success (error == NULL) or an error message (see Ownership above). */
typedef struct DoraResult {
    Vec_uint8_t *error;
} DoraResult_t;

typedef struct DoraInitResult {
    DoraResult_t result;
    void *operator_context;
} DoraInitResult_t;

/* What the operator wants after an event. */
enum DoraStatus {
    DORA_STATUS_CONTINUE = 0, /* keep running */
    DORA_STATUS_STOP = 1,     /* finish this operator */
    DORA_STATUS_STOP_ALL = 2  /* stop every operator of this node */
};
typedef uint8_t DoraStatus_t;

typedef struct OnEventResult {
    DoraResult_t result;
    DoraStatus_t status;
} OnEventResult_t;

typedef struct Metadata {
    /* When the message was sent, in nanoseconds since the UNIX epoch. */
    uint64_t timestamp_ns;
} Metadata_t;

/* One received message. Portable code reads it with dora_read_input_id() and
 * dora_read_data(). */
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
    Vec_uint8_t input_closed; /* the id of an input that will receive nothing more */
    bool stop;                /* the dataflow stops */
    Vec_uint8_t error;        /* an error dora reports (informational) */
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

/* The entry points' types, as structs holding a pointer (as in dora-rs v0.3.6), so an
 * operator can check its definitions against them at compile time. */
typedef struct DoraInitOperator {
    DoraInitResult_t (*init_operator)(void);
} DoraInitOperator_t;

typedef struct DoraDropOperator {
    DoraResult_t (*drop_operator)(void *);
} DoraDropOperator_t;

typedef struct DoraOnEvent {
    OnEventResult_t (*on_event)(RawEvent_t *, const SendOutput_t *, void *);
} DoraOnEvent_t;

/* ---- helpers ---- */

/* An error result holding a malloc()ed copy of `message` (NUL-terminated as well). When
 * memory runs out the message is empty (ptr NULL); only when not even the Vec_uint8_t can
 * be allocated is the result NULL, i.e. success. */
static inline DoraResult_t dora_result_error(const char *message)
{
    DoraResult_t result;
    size_t len = message != NULL ? strlen(message) : 0;
    result.error = (Vec_uint8_t *)malloc(sizeof(Vec_uint8_t));
    if (result.error != NULL) {
        result.error->ptr = (uint8_t *)malloc(len + 1);
        result.error->len = 0;
        result.error->cap = 0;
        if (result.error->ptr != NULL) {
            if (len > 0) {
                memcpy(result.error->ptr, message, len);
            }
            result.error->ptr[len] = 0;
            result.error->len = len;
            result.error->cap = len + 1;
        }
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
    if (result.error != NULL) {
        free(result.error->ptr);
        free(result.error);
    }
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

/* dora-rs v0.3.6 accessors. */

/* A malloc()ed, NUL-terminated copy of the input id; free it with dora_free_input_id().
 * NULL when `input` is NULL or memory runs out. */
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

/* A malloc()ed copy of the payload's bytes, yours until dora_free_data() (it may outlive
 * the event). `ptr` is NULL when the payload is not a UInt8 array (or memory runs out). */
static inline Vec_uint8_t dora_read_data(Input_t *input)
{
    Vec_uint8_t data;
    data.ptr = NULL;
    data.len = 0;
    data.cap = 0;
    if (input == NULL || input->data == NULL) {
        return data;
    }
    data.ptr = (uint8_t *)malloc(input->data_len > 0 ? input->data_len : 1);
    if (data.ptr != NULL) {
        if (input->data_len > 0) {
            memcpy(data.ptr, input->data, input->data_len);
        }
        data.len = input->data_len;
        data.cap = input->data_len;
    }
    return data;
}

static inline void dora_free_data(Vec_uint8_t data)
{
    free(data.ptr);
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DORA_OPERATOR_API_H */
