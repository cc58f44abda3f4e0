// ___name___: a dora operator in C++ (on the C operator ABI of dora/operator_api.h). For
// every input it receives, prints it and sends a status line on its `status` output.
//
// Exceptions must not leave the dora_* functions: each catches them and returns an error,
// which fails the node with this operator's name.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "dora/operator_api.h"

namespace {

class Operator {
  public:
    DoraResult_t on_input(const Input_t &input, const SendOutput_t *send_output) {
        received_++;
        std::cout << "___name___ received input `" << input.id << "` #" << received_
                  << std::endl;
        std::string status = "___name___ handled " + std::to_string(received_) + " inputs";
        return dora_send_operator_output(send_output, "status",
                                         reinterpret_cast<const uint8_t *>(status.data()),
                                         status.size());
    }

  private:
    unsigned long received_ = 0;
};

}  // namespace

extern "C" DoraInitResult_t dora_init_operator(void) {
    DoraInitResult_t result{};
    try {
        result.operator_context = new Operator();
    } catch (const std::exception &error) {
        result.result = dora_result_error(error.what());
    }
    return result;
}

extern "C" DoraResult_t dora_drop_operator(void *operator_context) {
    delete static_cast<Operator *>(operator_context);
    return dora_result_ok();
}

extern "C" OnEventResult_t dora_on_event(RawEvent_t *event, const SendOutput_t *send_output,
                                         void *operator_context) {
    OnEventResult_t result{};
    result.status = DORA_STATUS_CONTINUE;
    try {
        auto *op = static_cast<Operator *>(operator_context);
        if (event->input != nullptr) {
            result.result = op->on_input(*event->input, send_output);
        } else if (event->input_closed != nullptr) {
            std::cout << "___name___: input `" << event->input_closed << "` closed" << std::endl;
        } else if (event->stop) {
            std::cout << "___name___: stopping" << std::endl;
        }
    } catch (const std::exception &error) {
        result.result = dora_result_error(error.what());
    }
    return result;
}
