/*
 * The types of the dora operator API for C, under the header name dora-rs v0.3.6 gave them.
 * They are declared, with the entry points and helpers, in operator_api.h.
 */
#ifndef DORA_OPERATOR_TYPES_H
#define DORA_OPERATOR_TYPES_H

#include "operator_api.h"

#endif /* DORA_OPERATOR_TYPES_H */
