// ___name___: for every input it receives, prints it and sends a status line on its
// `status` output.
#include "operator.h"

#include <iostream>
#include <string>

std::unique_ptr<Operator> new_operator() { return std::make_unique<Operator>(); }

DoraOnInputResult on_input(Operator &op, rust::Str id, rust::Slice<const std::uint8_t> data,
                           OutputSender &output_sender) {
    (void)data;
    op.received++;
    std::cout << "___name___ received input `" << std::string(id) << "` #" << op.received
              << std::endl;
    std::string status = "___name___ handled " + std::to_string(op.received) + " inputs";
    DoraSendOutputResult sent =
        send_output(output_sender, rust::Str("status"),
                    rust::Slice<const std::uint8_t>(
                        reinterpret_cast<const std::uint8_t *>(status.data()), status.size()));
    // A non-empty error (for instance, `status` not declared as an output) fails the node.
    return DoraOnInputResult{std::move(sent.error), false};
}
