// The C++ dora receiver: records the messages of its `latency` and `throughput` inputs and,
// once both are closed, appends its rows (mode `cxx`) to the results file (`BENCHMARK_CSV`,
// or `benchmark.csv` in the dataflow's folder), in the format of the Rust receiver.
//
// It measures like the Rust receiver (`node/src/record.rs`):
// - latency = the wall clock when `next()` returned the message − dora's metadata timestamp
//   (the sender's clock when it sent; both processes read the same system clock), reported
//   as nearest-rank p50/p90/p99/max over the latency phase;
// - throughput = messages of the throughput phase / (last arrival − first send timestamp).
// It checks every message: the payload length is one of the schedule's sizes, the stamped
// sequence number is the expected one (throughput messages in order, none missing), and at
// the end that every latency and throughput message of every size arrived. Any problem is
// printed and makes the process exit with 1, after the rows were written.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "dora-node-api.h"
#include "plan.hpp"

namespace {

using Clock = std::chrono::system_clock;

constexpr std::size_t kMaxListedProblems = 20;
constexpr const char *kMode = "cxx";
constexpr const char *kCsvHeader =
    "mode,size_bytes,messages,p50_us,p90_us,p99_us,max_us,msgs_per_s,bytes_per_s";

// Nanoseconds since the UNIX epoch of a dora timestamp (NTP64: seconds in the upper 32 bits,
// fraction of a second in the lower 32), converted as uhlc's `NTP64::to_system_time` does.
std::int64_t ntp64_to_unix_ns(std::uint64_t ntp64) {
    const std::uint64_t seconds = ntp64 >> 32;
    const std::uint64_t fraction = ntp64 & 0xFFFFFFFFULL;
    return static_cast<std::int64_t>(seconds * 1000000000ULL + ((fraction * 1000000000ULL) >> 32));
}

std::int64_t unix_ns(Clock::time_point time) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

// What arrived of one size.
struct SizeRecord {
    std::vector<std::int64_t> latencies_ns;
    std::uint64_t throughput_received = 0;
    std::int64_t first_sent_ns = 0;  // send timestamp of the first throughput message
    std::int64_t last_arrival_ns = 0;
};

struct Row {
    std::size_t size;
    std::uint64_t messages;
    double p50_us, p90_us, p99_us, max_us, msgs_per_s, bytes_per_s;
};

class Recorder {
  public:
    void record(bool latency, const rust::Slice<const std::uint8_t> &payload,
                std::int64_t sent_ns, std::int64_t arrival_ns) {
        const std::size_t size = payload.size();
        if (std::find(benchmark::kSizes.begin(), benchmark::kSizes.end(), size) ==
            benchmark::kSizes.end()) {
            problem("a message of " + std::to_string(size) + " bytes, not a size of the schedule");
            return;
        }
        SizeRecord &record = sizes_[size];
        const auto stamped = benchmark::stamped_seq(payload.data(), payload.size());
        if (latency) {
            const std::uint64_t expected = record.latencies_ns.size();
            if (stamped && *stamped != expected) {
                problem("size " + std::to_string(size) + ": latency message " +
                        std::to_string(expected) + " is stamped with seq " +
                        std::to_string(*stamped));
            }
            record.latencies_ns.push_back(std::max<std::int64_t>(arrival_ns - sent_ns, 0));
            return;
        }
        const std::uint64_t expected = record.throughput_received;
        if (stamped && *stamped != expected) {
            problem("size " + std::to_string(size) + ": throughput message out of order, seq " +
                    std::to_string(*stamped) + " where " + std::to_string(expected) +
                    " was expected");
        }
        if (record.throughput_received == 0) {
            record.first_sent_ns = sent_ns;
        }
        record.throughput_received++;
        record.last_arrival_ns = arrival_ns;
    }

    // One row per size of the schedule, and the lost messages added to the problems.
    std::vector<Row> finish() {
        std::vector<Row> rows;
        for (std::size_t size : benchmark::kSizes) {
            auto found = sizes_.find(size);
            if (found == sizes_.end()) {
                lost_.push_back("size " + std::to_string(size) + ": no message arrived");
                continue;
            }
            SizeRecord &record = found->second;
            const std::uint64_t latency_received = record.latencies_ns.size();
            if (latency_received != benchmark::kLatencyMessages) {
                lost_.push_back("size " + std::to_string(size) + ": " +
                                std::to_string(latency_received) + " of " +
                                std::to_string(benchmark::kLatencyMessages) +
                                " latency messages arrived");
            }
            const std::uint64_t throughput_expected = benchmark::throughput_messages(size);
            if (record.throughput_received != throughput_expected) {
                lost_.push_back("size " + std::to_string(size) + ": " +
                                std::to_string(record.throughput_received) + " of " +
                                std::to_string(throughput_expected) +
                                " throughput messages arrived");
            }
            std::sort(record.latencies_ns.begin(), record.latencies_ns.end());
            const auto percentile_us = [&](double p) {
                return percentile_ns(record.latencies_ns, p) / 1000.0;
            };
            const std::int64_t elapsed_ns =
                std::max<std::int64_t>(record.last_arrival_ns - record.first_sent_ns, 0);
            const double msgs_per_s =
                (record.throughput_received == 0 || elapsed_ns == 0)
                    ? 0.0
                    : static_cast<double>(record.throughput_received) / (elapsed_ns / 1e9);
            rows.push_back(Row{size, latency_received, percentile_us(50.0), percentile_us(90.0),
                               percentile_us(99.0), percentile_us(100.0), msgs_per_s,
                               msgs_per_s * static_cast<double>(size)});
        }
        return rows;
    }

    // Every problem, the listed ones first; call after `finish`.
    std::vector<std::string> problems() const {
        std::vector<std::string> all = problems_;
        if (unlisted_problems_ > 0) {
            all.push_back("... and " + std::to_string(unlisted_problems_) + " more problems");
        }
        all.insert(all.end(), lost_.begin(), lost_.end());
        return all;
    }

  private:
    // The nearest-rank `p`th percentile of `sorted` (0 when it is empty), as record.rs.
    static double percentile_ns(const std::vector<std::int64_t> &sorted, double p) {
        if (sorted.empty()) {
            return 0.0;
        }
        auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * sorted.size()));
        rank = std::clamp<std::size_t>(rank, 1, sorted.size());
        return static_cast<double>(sorted[rank - 1]);
    }

    void problem(std::string text) {
        if (problems_.size() < kMaxListedProblems) {
            problems_.push_back(std::move(text));
        } else {
            unlisted_problems_++;
        }
    }

    std::map<std::size_t, SizeRecord> sizes_;
    std::vector<std::string> problems_;
    std::size_t unlisted_problems_ = 0;
    std::vector<std::string> lost_;
};

// Appends `rows` to the CSV file at `path`, writing the header first if the file is empty.
// Throws when the file cannot be written.
void append_rows(const std::string &path, const std::vector<Row> &rows) {
    std::FILE *file = std::fopen(path.c_str(), "a");
    if (file == nullptr) {
        throw std::runtime_error("cannot open " + path);
    }
    bool ok = true;
    if (std::ftell(file) == 0) {
        ok = std::fprintf(file, "%s\n", kCsvHeader) > 0;
    }
    for (const Row &row : rows) {
        ok = ok && std::fprintf(file, "%s,%zu,%llu,%.1f,%.1f,%.1f,%.1f,%.0f,%.0f\n", kMode,
                                row.size, static_cast<unsigned long long>(row.messages),
                                row.p50_us, row.p90_us, row.p99_us, row.max_us, row.msgs_per_s,
                                row.bytes_per_s) > 0;
    }
    ok = (std::fclose(file) == 0) && ok;
    if (!ok) {
        throw std::runtime_error("cannot write " + path);
    }
}

int run() {
    const char *csv = std::getenv("BENCHMARK_CSV");
    const std::string path = (csv != nullptr && *csv != '\0') ? csv : "benchmark.csv";
    auto node = init_dora_node();
    Recorder recorder;
    while (true) {
        auto event = node.events->next();
        const std::int64_t arrival_ns = unix_ns(Clock::now());
        const DoraEventType type = event_type(event);
        if (type == DoraEventType::Stop || type == DoraEventType::AllInputsClosed) {
            break;
        }
        if (type == DoraEventType::Error) {
            std::cerr << "benchmark-cxx-receiver: error event: "
                      << std::string(event->error_message()) << std::endl;
            continue;
        }
        if (type != DoraEventType::Input) {
            continue;
        }
        const std::string id(event->input_id());
        if (id != "latency" && id != "throughput") {
            throw std::runtime_error("unknown input `" + id + "`");
        }
        const std::int64_t sent_ns = ntp64_to_unix_ns(event->input_timestamp());
        recorder.record(id == "latency", event->input_data(), sent_ns, arrival_ns);
    }

    const std::vector<Row> rows = recorder.finish();
    append_rows(path, rows);
    for (const Row &row : rows) {
        std::printf("%s size=%zu latency p50=%.1fus p99=%.1fus (%llu messages), throughput "
                    "%.0f msg/s\n",
                    kMode, row.size, row.p50_us, row.p99_us,
                    static_cast<unsigned long long>(row.messages), row.msgs_per_s);
    }
    std::printf("%s: %zu rows appended to %s\n", kMode, rows.size(), path.c_str());
    std::fflush(stdout);
    const std::vector<std::string> problems = recorder.problems();
    for (const std::string &problem : problems) {
        std::cerr << kMode << ": " << problem << std::endl;
    }
    if (!problems.empty()) {
        std::cerr << "benchmark-cxx-receiver: " << problems.size() << " problems, see above"
                  << std::endl;
        return 1;
    }
    return 0;
}

}  // namespace

int main() {
    try {
        return run();
    } catch (const std::exception &error) {
        std::cerr << "benchmark-cxx-receiver: " << error.what() << std::endl;
        return 1;
    }
}
