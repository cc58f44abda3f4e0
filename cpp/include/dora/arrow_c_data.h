/*
 * The Arrow C data interface structs (ABI defined by the Apache Arrow specification, "The
 * Arrow C data interface"), for C and C++ code that exchanges Arrow arrays with dora without
 * depending on an Arrow library. If Arrow's own header was included first, its identical
 * definitions are used (the ARROW_C_DATA_INTERFACE guard is the one the specification names).
 *
 * Ownership follows the specification: whoever holds a struct whose `release` is not NULL
 * must eventually call `release(&s)`, which sets `release` to NULL. dora's sending functions
 * move the structs (they are released afterwards); receiving functions fill them and the
 * caller releases them.
 */
#ifndef DORA_ARROW_C_DATA_H
#define DORA_ARROW_C_DATA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
    /* Array type description */
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;

    /* Release callback */
    void (*release)(struct ArrowSchema *);
    /* Opaque producer-specific data */
    void *private_data;
};

struct ArrowArray {
    /* Array data description */
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;

    /* Release callback */
    void (*release)(struct ArrowArray *);
    /* Opaque producer-specific data */
    void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DORA_ARROW_C_DATA_H */
