#include "operator.h"

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

std::unique_ptr<Operator> new_operator() {
    if (std::getenv("DORA_TEST_THROW_IN_NEW_OPERATOR") != nullptr) {
        throw std::runtime_error("thrown in new_operator on purpose");
    }
    return std::make_unique<Operator>();
}

DoraOnInputResult on_input(Operator &op, rust::Str id, rust::Slice<const std::uint8_t> data,
                           OutputSender &output_sender) {
    op.received++;
    const std::string input(id);
    if (input == "throw") {
        throw std::runtime_error("thrown on purpose");
    }
    if (input == "fail") {
        return DoraOnInputResult{rust::String("failing on purpose"), false};
    }
    if (input == "stop") {
        std::cout << "cxx test operator: stop after " << op.received << " inputs" << std::endl;
        return DoraOnInputResult{rust::String(), true};
    }
    DoraSendOutputResult sent = send_output(output_sender, rust::Str("echo"), data);
    return DoraOnInputResult{std::move(sent.error), false};
}
