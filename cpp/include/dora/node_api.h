/*
 * dora node API for C.
 *
 * Link with the static library `libdora_node_api_c.a` (CMake target `dora::node_api_c`, which
 * also adds the system libraries it needs: pthread, dl, m, rt).
 *
 * The functions and signatures of dora-rs v0.3.6 are kept, so existing C nodes build
 * unchanged. Additions: error codes, dora_last_error, read_dora_event_error,
 * read_dora_input_bytes, and a zero-copy output pair (dora_allocate_output /
 * dora_send_allocated_output).
 *
 * Errors: functions returning `int` return DORA_OK (0) or a negative DoraErrorCode. Functions
 * kept from v0.3.6 that return no code report an error by a NULL / 0 / DoraEventType_Unknown
 * result. In both cases dora_last_error() then returns a message. No function aborts the
 * process or unwinds on bad arguments (NULL pointers, freed contexts, unknown outputs, the
 * wrong kind of event).
 *
 * Handles and ownership:
 * - A context (from init_dora_context_from_env) is owned by the caller until
 *   free_dora_context. Context handles are never reused: using a freed context returns
 *   DORA_ERR_INVALID_HANDLE. A context may be used from several threads.
 * - An event (from dora_next_event) is owned by the caller until free_dora_event; pointers
 *   read from it (id, data, error message) borrow from it and are valid until then. Events do
 *   not depend on their context staying alive.
 * - A sample (from dora_allocate_output) is owned by the caller until it is passed to
 *   dora_send_allocated_output (which always consumes it) or dora_free_allocated_output.
 * - Passing an event or sample pointer that was already freed is undefined behaviour, as for
 *   free(3); NULL is always accepted and reported.
 */
#ifndef DORA_NODE_API_H
#define DORA_NODE_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes returned by the functions that return `int`. */
enum DoraErrorCode {
    DORA_OK = 0,
    /* A required pointer argument was NULL. */
    DORA_ERR_NULL_ARGUMENT = -1,
    /* The context (or event/sample) is not live: never created, or already freed. */
    DORA_ERR_INVALID_HANDLE = -2,
    /* A malformed argument: an id that is not UTF-8, a sample of another context. */
    DORA_ERR_INVALID_ARGUMENT = -3,
    /* The event is not of the kind the function reads (e.g. input data of a Stop event). */
    DORA_ERR_WRONG_EVENT_TYPE = -4,
    /* The input holds an Arrow type that cannot be read as bytes. */
    DORA_ERR_UNSUPPORTED_DATA_TYPE = -5,
    /* The output id is not an output of this node in the dataflow. */
    DORA_ERR_UNKNOWN_OUTPUT = -6,
    /* The output was closed. */
    DORA_ERR_OUTPUT_CLOSED = -7,
    /* A shared memory region could not be created or mapped. */
    DORA_ERR_SHARED_MEMORY = -8,
    /* The node could not join the dataflow, or talk to the daemon or a receiver. */
    DORA_ERR_NODE = -9,
    /* The library panicked internally; dora_last_error() says where. */
    DORA_ERR_PANIC = -10
};

/* Kind of an event (values as in dora-rs v0.3.6). */
enum DoraEventType {
    /* The dataflow is stopping: finish up and free the context. */
    DoraEventType_Stop,
    /* A message on one of the node's inputs. */
    DoraEventType_Input,
    /* An input's source finished; no more messages arrive on it. */
    DoraEventType_InputClosed,
    /* Receiving failed; read_dora_event_error gives the message. */
    DoraEventType_Error,
    /* Any other event, or an invalid event pointer (dora_last_error() is then set). */
    DoraEventType_Unknown
};

/*
 * Joins the dataflow this process was started for (by `dora run` / `dora start`).
 * Returns a context, owned by the caller until free_dora_context, or NULL on error (for
 * example when not started by dora; see dora_last_error()).
 */
void *init_dora_context_from_env(void);

/*
 * Frees a context: closes its outputs (receivers get InputClosed) and leaves the dataflow.
 * NULL and already freed contexts are ignored (and reported through dora_last_error()).
 */
void free_dora_context(void *dora_context);

/*
 * Blocks until the next event. Returns an event, owned by the caller until free_dora_event,
 * or NULL when the event stream has ended (after Stop, or when all inputs are closed; then
 * dora_last_error() is NULL) or on error (invalid context; dora_last_error() is set).
 */
void *dora_next_event(void *dora_context);

/* Frees an event and invalidates every pointer read from it. NULL is ignored. */
void free_dora_event(void *dora_event);

/* The kind of an event; DoraEventType_Unknown for NULL or invalid events. */
enum DoraEventType read_dora_event_type(void *dora_event);

/*
 * Input id of an Input or InputClosed event: *out_ptr points into the event (NOT
 * NUL-terminated, valid until free_dora_event), *out_len is its length in bytes.
 * On other events or errors writes NULL and 0 and sets dora_last_error().
 */
void read_dora_input_id(void *dora_event, char **out_ptr, size_t *out_len);

/*
 * Payload of an Input event whose data are bytes (an Arrow UInt8 array): *out_ptr points
 * to the read-only data (shared memory from 4 KiB on, never copied; valid until
 * free_dora_event), *out_len is its length. An empty/Null payload (timer ticks) gives NULL
 * and 0 without error. Other events or Arrow types give NULL and 0 and set
 * dora_last_error().
 *
 * The signature is dora-rs v0.3.6's (`char **`). Writing through the pointer is an error
 * (the data may be read-only shared memory): prefer read_dora_input_bytes below, which says
 * so in its type. A `uint8_t **` is accepted too, from C11 on and in C++ (see below).
 */
void read_dora_input_data(void *dora_event, char **out_ptr, size_t *out_len);

/* read_dora_input_data with a const-correct byte pointer; same results and lifetime. */
static inline void read_dora_input_bytes(void *dora_event, const uint8_t **out_ptr,
                                         size_t *out_len)
{
    char *data = NULL;
    read_dora_input_data(dora_event, out_ptr != NULL ? &data : NULL, out_len);
    if (out_ptr != NULL) {
        *out_ptr = (const uint8_t *)data;
    }
}

/*
 * The sender's timestamp of an Input event (hybrid logical clock, NTP64 format: seconds in
 * the upper 32 bits, fraction of a second in the lower 32), or 0 for other events (with
 * dora_last_error() set).
 */
unsigned long long read_dora_input_timestamp(void *dora_event);

/*
 * Message of an Error event: *out_ptr points into the event (NOT NUL-terminated, valid until
 * free_dora_event). Returns DORA_OK, or an error code with NULL and 0 written.
 */
int read_dora_event_error(void *dora_event, char **out_ptr, size_t *out_len);

/*
 * Sends data_len bytes from data_ptr on output `id` (id_ptr/id_len: UTF-8, not necessarily
 * NUL-terminated). The bytes are copied once (into shared memory from 4 KiB on); data_ptr
 * may be NULL when data_len is 0. The caller keeps ownership of both buffers.
 * Returns DORA_OK or a negative error code (e.g. DORA_ERR_UNKNOWN_OUTPUT).
 */
int dora_send_output(void *dora_context, char *id_ptr, size_t id_len, char *data_ptr,
                     size_t data_len);

/*
 * Zero-copy output, step 1: lends a writable buffer of `len` bytes. On success writes its
 * address to *out_ptr and a sample handle to *out_sample; on error writes NULL to both.
 * From 4 KiB on the buffer is shared memory that receivers map directly: what is written
 * there is never copied. The caller owns the sample until it passes it to
 * dora_send_allocated_output or dora_free_allocated_output.
 */
int dora_allocate_output(void *dora_context, size_t len, uint8_t **out_ptr, void **out_sample);

/*
 * Zero-copy output, step 2: sends a sample of this context as bytes on output `id`.
 * The sample is consumed whatever the result (do not write to its buffer, send or free it
 * afterwards), unless the sample itself is rejected (NULL or invalid). Returns DORA_OK or a
 * negative error code.
 */
int dora_send_allocated_output(void *dora_context, const char *id_ptr, size_t id_len,
                               void *sample);

/* Returns an unsent sample to its pool. NULL is ignored. */
void dora_free_allocated_output(void *sample);

/*
 * The message of the last failed dora call on this thread, NUL-terminated and owned by the
 * library (valid until the next dora call on this thread), or NULL if that call succeeded.
 */
const char *dora_last_error(void);

#ifdef __cplusplus
} /* extern "C" */

/* C++: read_dora_input_data also takes a `uint8_t **`. A template, so that NULL and nullptr
 * still pick the function above; declared with C++ linkage even when this header is
 * included inside an `extern "C"` block, as dora-rs v0.3.6 examples do. */
extern "C++" {
template <typename T> struct DoraBytePointerOnly {};
template <> struct DoraBytePointerOnly<uint8_t> {
    typedef void type;
};

template <typename T>
inline typename DoraBytePointerOnly<T>::type read_dora_input_data(void *dora_event,
                                                                  T **out_ptr,
                                                                  size_t *out_len)
{
    read_dora_input_data(dora_event, reinterpret_cast<char **>(out_ptr), out_len);
}
}
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
/* C11 and later: read_dora_input_data also takes a `uint8_t **` (earlier versions of this
 * API declared it so). Any other pointer type is checked against `char **` as usual. The
 * macro evaluates each argument once; the function's address is still
 * `&read_dora_input_data`. */
#define read_dora_input_data(dora_event, out_ptr, out_len)                                \
    read_dora_input_data((dora_event),                                                    \
                         _Generic((out_ptr), uint8_t **: (char **)(out_ptr),              \
                                  default: (out_ptr)),                                     \
                         (out_len))
#endif

#endif /* DORA_NODE_API_H */
