// An example_interfaces/srv/AddTwoInts peer built on eProsima Fast DDS (Debian's
// libfastrtps-dev) that puts requests and replies on the wire the way rmw_fastrtps does, for
// the bridge's service interop tests.
//
//   fastdds_add_two_ints_peer server SERVICE SECONDS [COUNT]
//       answers every request with a + b for SECONDS seconds, or until COUNT requests were
//       answered
//   fastdds_add_two_ints_peer client SERVICE A B TIMEOUT_MS [COUNT]
//       sends COUNT (default 1) requests at once, request i (1-based) being (A * i, B * i),
//       then waits for their replies and prints `sum: N` for each
//
// The wire mapping, as rmw_fastrtps (Humble and later) uses it:
// - requests on DDS topic "rq" + SERVICE + "Request" of type
//   example_interfaces::srv::dds_::AddTwoInts_Request_, replies on "rr" + SERVICE + "Reply" of
//   type example_interfaces::srv::dds_::AddTwoInts_Response_; payloads are the plain ROS 2
//   messages in CDR with the standard 4-byte encapsulation header (no request header);
// - ROS 2's default service QoS: reliable, volatile, keep-last 10;
// - a client writes each request with the GUID of its reply reader as the related sample
//   identity's writer GUID (sequence number unknown); the request's own sample identity
//   (request writer GUID + RTPS sequence number) is the request id;
// - a server answers with the related sample identity set to the request's sample identity,
//   its writer GUID replaced by the request's related writer GUID when that is known (the
//   client's reply reader); when that GUID is a reader, the server first waits (bounded) for
//   its reply writer to match that reader;
// - a client keeps a reply only when its related writer GUID is its reply reader's or its
//   request writer's, and ties it to a request by the related sequence number.
//
// Like a ROS 2 client calling wait_for_service, the client sends only once both its request
// writer and its reply reader are matched. The participant uses UDPv4 only (no shared-memory
// transport), so that everything it says goes through the network stack. The domain is
// ROS_DOMAIN_ID (default 0). Exit status 0 when all requests were answered correctly (client)
// or COUNT requests were answered (server with COUNT), 1 otherwise, 2 on bad arguments.

#include <fastcdr/Cdr.h>
#include <fastcdr/FastBuffer.h>
#include <fastcdr/exceptions/Exception.h>
#include <fastdds/dds/domain/DomainParticipant.hpp>
#include <fastdds/dds/domain/DomainParticipantFactory.hpp>
#include <fastdds/dds/publisher/DataWriter.hpp>
#include <fastdds/dds/publisher/DataWriterListener.hpp>
#include <fastdds/dds/publisher/Publisher.hpp>
#include <fastdds/dds/subscriber/DataReader.hpp>
#include <fastdds/dds/subscriber/SampleInfo.hpp>
#include <fastdds/dds/subscriber/Subscriber.hpp>
#include <fastdds/dds/topic/Topic.hpp>
#include <fastdds/dds/topic/TopicDataType.hpp>
#include <fastdds/rtps/common/InstanceHandle.h>
#include <fastdds/rtps/common/WriteParams.h>
#include <fastdds/rtps/transport/UDPv4TransportDescriptor.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace fdds = eprosima::fastdds::dds;
namespace rtps = eprosima::fastrtps::rtps;
using Clock = std::chrono::steady_clock;

namespace {

struct Request {
  int64_t a = 0;
  int64_t b = 0;
};

struct Response {
  int64_t sum = 0;
};

// The CDR form of the two message types: a plain struct of int64 fields after the
// encapsulation header, in the writer's native byte order.
template <typename T>
class Int64Type : public fdds::TopicDataType {
 public:
  explicit Int64Type(const char* name) {
    setName(name);
    m_typeSize = 4 + sizeof(T);
    m_isGetKeyDefined = false;
    // rmw_fastrtps does not announce XTypes type objects either.
    auto_fill_type_object(false);
    auto_fill_type_information(false);
  }

  bool serialize(void* data, rtps::SerializedPayload_t* payload) override {
    const T* value = static_cast<const T*>(data);
    eprosima::fastcdr::FastBuffer buffer(reinterpret_cast<char*>(payload->data),
                                         payload->max_size);
    eprosima::fastcdr::Cdr cdr(buffer, eprosima::fastcdr::Cdr::DEFAULT_ENDIAN,
                               eprosima::fastcdr::Cdr::DDS_CDR);
    payload->encapsulation =
        cdr.endianness() == eprosima::fastcdr::Cdr::BIG_ENDIANNESS ? CDR_BE : CDR_LE;
    try {
      cdr.serialize_encapsulation();
      write_fields(cdr, *value);
    } catch (const eprosima::fastcdr::exception::Exception&) {
      return false;
    }
    payload->length = static_cast<uint32_t>(cdr.getSerializedDataLength());
    return true;
  }

  bool deserialize(rtps::SerializedPayload_t* payload, void* data) override {
    T* value = static_cast<T*>(data);
    eprosima::fastcdr::FastBuffer buffer(reinterpret_cast<char*>(payload->data),
                                         payload->length);
    eprosima::fastcdr::Cdr cdr(buffer, eprosima::fastcdr::Cdr::DEFAULT_ENDIAN,
                               eprosima::fastcdr::Cdr::DDS_CDR);
    try {
      cdr.read_encapsulation();
      read_fields(cdr, *value);
    } catch (const eprosima::fastcdr::exception::Exception&) {
      return false;
    }
    return true;
  }

  std::function<uint32_t()> getSerializedSizeProvider(void*) override {
    return [] { return static_cast<uint32_t>(4 + sizeof(T)); };
  }

  void* createData() override { return new T(); }

  void deleteData(void* data) override { delete static_cast<T*>(data); }

  bool getKey(void*, rtps::InstanceHandle_t*, bool) override { return false; }

 private:
  static void write_fields(eprosima::fastcdr::Cdr& cdr, const Request& r) { cdr << r.a << r.b; }
  static void write_fields(eprosima::fastcdr::Cdr& cdr, const Response& r) { cdr << r.sum; }
  static void read_fields(eprosima::fastcdr::Cdr& cdr, Request& r) { cdr >> r.a >> r.b; }
  static void read_fields(eprosima::fastcdr::Cdr& cdr, Response& r) { cdr >> r.sum; }
};

// Tracks which readers a writer is matched with (Fast DDS 2.9 has no
// DataWriter::get_matched_subscriptions), as rmw_fastrtps' service listener does.
class MatchedReaders : public fdds::DataWriterListener {
 public:
  void on_publication_matched(fdds::DataWriter*,
                              const fdds::PublicationMatchedStatus& status) override {
    std::lock_guard<std::mutex> lock(mutex_);
    rtps::GUID_t reader = rtps::iHandle2GUID(status.last_subscription_handle);
    if (status.current_count_change > 0) {
      readers_.insert(reader);
    } else if (status.current_count_change < 0) {
      readers_.erase(reader);
    }
  }

  bool contains(const rtps::GUID_t& reader) {
    std::lock_guard<std::mutex> lock(mutex_);
    return readers_.count(reader) > 0;
  }

  bool any() {
    std::lock_guard<std::mutex> lock(mutex_);
    return !readers_.empty();
  }

 private:
  std::mutex mutex_;
  std::set<rtps::GUID_t> readers_;
};

struct Endpoints {
  fdds::DomainParticipant* participant = nullptr;
  fdds::DataWriter* writer = nullptr;
  fdds::DataReader* reader = nullptr;
  MatchedReaders matched;
};

int64_t sequence_of(const rtps::SequenceNumber_t& seq) {
  return (static_cast<int64_t>(seq.high) << 32) | static_cast<int64_t>(seq.low);
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

fdds::DomainParticipant* make_participant() {
  const char* domain_env = std::getenv("ROS_DOMAIN_ID");
  fdds::DomainId_t domain = domain_env ? static_cast<fdds::DomainId_t>(std::atoi(domain_env)) : 0;
  fdds::DomainParticipantQos qos = fdds::PARTICIPANT_QOS_DEFAULT;
  qos.name("fastdds_add_two_ints_peer");
  qos.transport().use_builtin_transports = false;
  qos.transport().user_transports.push_back(
      std::make_shared<eprosima::fastdds::rtps::UDPv4TransportDescriptor>());
  return fdds::DomainParticipantFactory::get_instance()->create_participant(domain, qos);
}

// server: reads requests and writes replies; client: the other way round.
bool make_endpoints(const std::string& service, bool server, Endpoints& e) {
  e.participant = make_participant();
  if (e.participant == nullptr) {
    std::fprintf(stderr, "creating the participant failed\n");
    return false;
  }
  fdds::TypeSupport request_type(
      new Int64Type<Request>("example_interfaces::srv::dds_::AddTwoInts_Request_"));
  fdds::TypeSupport response_type(
      new Int64Type<Response>("example_interfaces::srv::dds_::AddTwoInts_Response_"));
  if (request_type.register_type(e.participant) != ReturnCode_t::RETCODE_OK ||
      response_type.register_type(e.participant) != ReturnCode_t::RETCODE_OK) {
    std::fprintf(stderr, "registering the types failed\n");
    return false;
  }
  fdds::Topic* request_topic = e.participant->create_topic(
      "rq" + service + "Request", request_type.get_type_name(), fdds::TOPIC_QOS_DEFAULT);
  fdds::Topic* reply_topic = e.participant->create_topic(
      "rr" + service + "Reply", response_type.get_type_name(), fdds::TOPIC_QOS_DEFAULT);
  fdds::Publisher* publisher = e.participant->create_publisher(fdds::PUBLISHER_QOS_DEFAULT);
  fdds::Subscriber* subscriber = e.participant->create_subscriber(fdds::SUBSCRIBER_QOS_DEFAULT);
  if (request_topic == nullptr || reply_topic == nullptr || publisher == nullptr ||
      subscriber == nullptr) {
    std::fprintf(stderr, "creating the topics, publisher or subscriber failed\n");
    return false;
  }

  fdds::DataWriterQos writer_qos = fdds::DATAWRITER_QOS_DEFAULT;
  writer_qos.reliability().kind = fdds::RELIABLE_RELIABILITY_QOS;
  writer_qos.durability().kind = fdds::VOLATILE_DURABILITY_QOS;
  writer_qos.history().kind = fdds::KEEP_LAST_HISTORY_QOS;
  writer_qos.history().depth = 10;
  writer_qos.data_sharing().off();
  fdds::DataReaderQos reader_qos = fdds::DATAREADER_QOS_DEFAULT;
  reader_qos.reliability().kind = fdds::RELIABLE_RELIABILITY_QOS;
  reader_qos.durability().kind = fdds::VOLATILE_DURABILITY_QOS;
  reader_qos.history().kind = fdds::KEEP_LAST_HISTORY_QOS;
  reader_qos.history().depth = 10;
  reader_qos.data_sharing().off();

  e.writer = publisher->create_datawriter(server ? reply_topic : request_topic, writer_qos,
                                          &e.matched, fdds::StatusMask::publication_matched());
  e.reader = subscriber->create_datareader(server ? request_topic : reply_topic, reader_qos);
  if (e.writer == nullptr || e.reader == nullptr) {
    std::fprintf(stderr, "creating the service endpoints failed\n");
    return false;
  }
  return true;
}

bool reader_matched(fdds::DataReader* reader) {
  fdds::SubscriptionMatchedStatus status;
  reader->get_subscription_matched_status(status);
  return status.current_count > 0;
}

int serve(Endpoints& e, const std::string& service, int seconds, int count) {
  std::printf("serving %s\n", service.c_str());
  std::fflush(stdout);
  int answered = 0;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end && (count <= 0 || answered < count)) {
    Request request;
    fdds::SampleInfo info;
    if (e.reader->take_next_sample(&request, &info) != ReturnCode_t::RETCODE_OK) {
      sleep_ms(5);
      continue;
    }
    if (!info.valid_data) {
      continue;
    }
    // The identity the reply is related to: the request's, addressed to the client's reply
    // reader when the request names it.
    rtps::SampleIdentity related = info.sample_identity;
    const rtps::GUID_t& named = info.related_sample_identity.writer_guid();
    if (named != rtps::GUID_t::unknown()) {
      related.writer_guid() = named;
    }
    std::printf("request: a=%lld b=%lld seq=%lld related_to_reader=%s\n",
                static_cast<long long>(request.a), static_cast<long long>(request.b),
                static_cast<long long>(sequence_of(info.sample_identity.sequence_number())),
                named.entityId.is_reader() ? "yes" : "no");
    std::fflush(stdout);
    if (named.entityId.is_reader()) {
      for (int waited = 0; !e.matched.contains(named) && waited < 3000; waited += 10) {
        sleep_ms(10);
      }
      if (!e.matched.contains(named)) {
        std::printf("the client's reply reader never matched\n");
        std::fflush(stdout);
        continue;
      }
    }
    Response reply;
    reply.sum = request.a + request.b;
    rtps::WriteParams params;
    params.related_sample_identity(related);
    if (!e.writer->write(&reply, params)) {
      std::fprintf(stderr, "writing a reply failed\n");
      return 1;
    }
    answered++;
  }
  std::printf("answered %d\n", answered);
  std::fflush(stdout);
  // Let reliable delivery of the last reply complete before the writer goes away.
  e.writer->wait_for_acknowledgments(eprosima::fastrtps::Duration_t(1, 0));
  return count <= 0 || answered == count ? 0 : 1;
}

int call(Endpoints& e, const std::string& service, int64_t a, int64_t b, int timeout_ms,
         int count) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!(e.matched.any() && reader_matched(e.reader))) {
    if (Clock::now() > deadline) {
      std::printf("no server matched on %s\n", service.c_str());
      return 1;
    }
    sleep_ms(20);
  }
  std::printf("matched %s\n", service.c_str());
  std::fflush(stdout);

  const rtps::GUID_t reader_guid = e.reader->guid();
  const rtps::GUID_t writer_guid = e.writer->guid();
  // Request sequence number -> (a, b).
  std::map<int64_t, Request> awaiting;
  for (int i = 1; i <= count; i++) {
    Request request;
    request.a = a * i;
    request.b = b * i;
    rtps::WriteParams params;
    params.related_sample_identity().writer_guid() = reader_guid;
    if (!e.writer->write(&request, params)) {
      std::fprintf(stderr, "writing a request failed\n");
      return 1;
    }
    awaiting[sequence_of(params.sample_identity().sequence_number())] = request;
  }

  int answered = 0;
  bool wrong = false;
  while (!awaiting.empty() && Clock::now() < deadline) {
    Response reply;
    fdds::SampleInfo info;
    if (e.reader->take_next_sample(&reply, &info) != ReturnCode_t::RETCODE_OK) {
      sleep_ms(5);
      continue;
    }
    if (!info.valid_data) {
      continue;
    }
    const rtps::SampleIdentity& related = info.related_sample_identity;
    if (related.writer_guid() != reader_guid && related.writer_guid() != writer_guid) {
      std::printf("ignored a reply for another client\n");
      continue;
    }
    auto found = awaiting.find(sequence_of(related.sequence_number()));
    if (found == awaiting.end()) {
      std::printf("ignored a reply to no pending request (seq=%lld)\n",
                  static_cast<long long>(sequence_of(related.sequence_number())));
      continue;
    }
    const Request request = found->second;
    awaiting.erase(found);
    std::printf("reply: seq=%lld a=%lld b=%lld sum: %lld\n",
                static_cast<long long>(sequence_of(related.sequence_number())),
                static_cast<long long>(request.a), static_cast<long long>(request.b),
                static_cast<long long>(reply.sum));
    if (reply.sum == request.a + request.b) {
      answered++;
    } else {
      std::printf("wrong sum\n");
      wrong = true;
    }
  }
  std::printf("answered %d\n", answered);
  std::fflush(stdout);
  return answered == count && !wrong ? 0 : 1;
}

int usage(const char* program) {
  std::fprintf(stderr,
               "usage: %s server SERVICE SECONDS [COUNT]\n"
               "       %s client SERVICE A B TIMEOUT_MS [COUNT]\n",
               program, program);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    return usage(argv[0]);
  }
  const std::string mode = argv[1];
  const std::string service = argv[2];
  const bool server = mode == "server";
  if (!server && (mode != "client" || argc < 6)) {
    return usage(argv[0]);
  }
  Endpoints e;
  int result = 1;
  if (make_endpoints(service, server, e)) {
    if (server) {
      result = serve(e, service, std::atoi(argv[3]), argc > 4 ? std::atoi(argv[4]) : 0);
    } else {
      result = call(e, service, std::atoll(argv[3]), std::atoll(argv[4]), std::atoi(argv[5]),
                    argc > 6 ? std::atoi(argv[6]) : 1);
    }
  }
  if (e.participant != nullptr) {
    e.participant->delete_contained_entities();
    fdds::DomainParticipantFactory::get_instance()->delete_participant(e.participant);
  }
  std::fflush(stdout);
  return result;
}
