// Reverses the bytes of every `shouted` message and sends them on `reversed`.
#include "operator.h"

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

std::unique_ptr<Operator> new_operator() { return std::make_unique<Operator>(); }

DoraOnInputResult on_input(Operator &op, rust::Str id, rust::Slice<const std::uint8_t> data,
                           OutputSender &output_sender) {
    if (std::string(id) != "shouted") {
        return DoraOnInputResult{rust::String("unexpected input `" + std::string(id) + "`"),
                                 false};
    }
    std::vector<std::uint8_t> reversed(data.begin(), data.end());
    std::reverse(reversed.begin(), reversed.end());
    op.reversed++;
    std::cout << "cxx operator: reversed message " << op.reversed << std::endl;
    DoraSendOutputResult sent = send_output(
        output_sender, rust::Str("reversed"),
        rust::Slice<const std::uint8_t>{reversed.data(), reversed.size()});
    // An error from dora (say, an undeclared output) fails the node, naming this operator.
    return DoraOnInputResult{std::move(sent.error), false};
}
