// The C++ test operator of tests/e2e/dataflow_operators.rs: fails on purpose, in the ways a C++ operator
// can fail, depending on the id of the input it receives.
#pragma once

#include <cstdint>
#include <memory>

#include "dora-operator-api.h"

class Operator {
  public:
    std::uint64_t received = 0;
};

// Throws when the environment variable DORA_TEST_THROW_IN_NEW_OPERATOR is set.
std::unique_ptr<Operator> new_operator();

// Inputs by id: `throw` throws a std::runtime_error, `fail` returns an error result, `stop`
// returns a stop result, anything else is echoed on output `echo`.
DoraOnInputResult on_input(Operator &op, rust::Str id, rust::Slice<const std::uint8_t> data,
                           OutputSender &output_sender);
