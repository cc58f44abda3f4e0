// ___name___: a dora operator in C++ (the dora C++ operator API, generated with cxx).
//
// dora's bridge includes this header by the name "operator.h": keep the name, the class
// `Operator` and the two functions below.
#pragma once

#include <cstdint>
#include <memory>

#include "dora-operator-api.h"

// The operator's state, kept between inputs.
class Operator {
  public:
    unsigned long received = 0;
};

// Creates the operator when the dataflow starts. An exception fails the node.
std::unique_ptr<Operator> new_operator();

// Handles one input message (`data` is valid during the call only). Send outputs with
// `send_output(output_sender, id, bytes)`. Return a non-empty `error` (or throw) to fail the
// node, `stop = true` to finish this operator.
DoraOnInputResult on_input(Operator &op, rust::Str id, rust::Slice<const std::uint8_t> data,
                           OutputSender &output_sender);
