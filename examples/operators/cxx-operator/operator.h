// A C++ operator on the dora C++ operator API (cxx): reverses every message it receives.
//
// The bridge glue compiled into the operator's shared library includes this header by the
// name "operator.h": it declares the `Operator` class and the two functions dora calls.
#pragma once

#include <cstdint>
#include <memory>

#include "dora-operator-api.h"

class Operator {
  public:
    // How many messages this operator reversed.
    std::uint64_t reversed = 0;
};

// Called once when the dataflow starts.
std::unique_ptr<Operator> new_operator();

// Called for every input message. `data` and `output_sender` are valid during the call only.
DoraOnInputResult on_input(Operator &op, rust::Str id, rust::Slice<const std::uint8_t> data,
                           OutputSender &output_sender);
