/*
 * An example_interfaces/srv/AddTwoInts peer built on Eclipse Cyclone DDS with the wire
 * mapping of rmw_cyclonedds, for the bridge's service interop tests.
 *
 *   add_two_ints_peer server SERVICE COUNT TIMEOUT_MS
 *       answers COUNT requests with a + b, then exits
 *   add_two_ints_peer client SERVICE COUNT TIMEOUT_MS
 *       sends request i (a = i, b = 100 * i) for i in 1..=COUNT, one at a time, and checks
 *       each reply's sum
 *
 * Requests go on DDS topic "rq" + SERVICE + "Request", replies on "rr" + SERVICE + "Reply",
 * with ROS 2's default service QoS (reliable, volatile, keep-last 10). Every sample starts
 * with rmw_cyclonedds' request header (client id, sequence number); a server copies it into
 * its reply and a client keeps only replies carrying its own id. Like rmw_cyclonedds, the
 * client waits for both its writer and its reader to be matched before it sends, and the
 * server waits (bounded) for its reply writer to be matched before it answers. Exit status 0
 * when COUNT requests were answered, 1 otherwise; every wait ends after TIMEOUT_MS.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "add_two_ints.h"
#include "dds/dds.h"

static dds_qos_t *service_qos(void) {
  dds_qos_t *qos = dds_create_qos();
  dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_SECS(1));
  dds_qset_durability(qos, DDS_DURABILITY_VOLATILE);
  dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 10);
  return qos;
}

struct endpoints {
  dds_entity_t writer;
  dds_entity_t reader;
};

/* server: reads requests, writes replies; client: the other way round. */
static int make_endpoints(dds_entity_t participant, const char *service, int server,
                          struct endpoints *out) {
  char request_name[256], reply_name[256];
  snprintf(request_name, sizeof request_name, "rq%sRequest", service);
  snprintf(reply_name, sizeof reply_name, "rr%sReply", service);
  dds_entity_t request_topic = dds_create_topic(
      participant, &example_interfaces_srv_dds__AddTwoInts_Request__desc, request_name, NULL, NULL);
  dds_entity_t reply_topic = dds_create_topic(
      participant, &example_interfaces_srv_dds__AddTwoInts_Response__desc, reply_name, NULL, NULL);
  if (request_topic < 0 || reply_topic < 0) {
    fprintf(stderr, "dds_create_topic failed\n");
    return 1;
  }
  dds_qos_t *qos = service_qos();
  out->writer = dds_create_writer(participant, server ? reply_topic : request_topic, qos, NULL);
  out->reader = dds_create_reader(participant, server ? request_topic : reply_topic, qos, NULL);
  dds_delete_qos(qos);
  if (out->writer < 0 || out->reader < 0) {
    fprintf(stderr, "creating the service endpoints failed\n");
    return 1;
  }
  return 0;
}

static int writer_matched(dds_entity_t writer) {
  dds_publication_matched_status_t status = {0};
  dds_get_publication_matched_status(writer, &status);
  return status.current_count > 0;
}

static int reader_matched(dds_entity_t reader) {
  dds_subscription_matched_status_t status = {0};
  dds_get_subscription_matched_status(reader, &status);
  return status.current_count > 0;
}

static int serve(dds_entity_t participant, const char *service, int count, int timeout_ms) {
  struct endpoints e;
  if (make_endpoints(participant, service, 1, &e) != 0) {
    return 1;
  }
  printf("serving %s\n", service);
  fflush(stdout);
  int answered = 0;
  void *samples[1] = {NULL};
  dds_sample_info_t infos[1];
  for (int waited = 0; answered < count && waited < timeout_ms;) {
    int n = dds_take(e.reader, samples, infos, 1, 1);
    if (n > 0 && infos[0].valid_data) {
      const example_interfaces_srv_dds__AddTwoInts_Request_ *request = samples[0];
      example_interfaces_srv_dds__AddTwoInts_Response_ reply = {
          .client_guid = request->client_guid,
          .sequence_number = request->sequence_number,
          .sum = request->a + request->b,
      };
      printf("request: a=%" PRId64 " b=%" PRId64 " seq=%" PRId64 "\n", request->a, request->b,
             request->sequence_number);
      fflush(stdout);
      dds_return_loan(e.reader, samples, n);
      /* Like rmw_cyclonedds: give discovery a bounded moment to match the reply reader. */
      for (int w = 0; !writer_matched(e.writer) && w < 3000; w += 10) {
        dds_sleepfor(DDS_MSECS(10));
      }
      dds_return_t rc = dds_write(e.writer, &reply);
      if (rc != DDS_RETCODE_OK) {
        fprintf(stderr, "dds_write: %s\n", dds_strretcode(-rc));
        return 1;
      }
      answered++;
      continue;
    }
    if (n > 0) {
      dds_return_loan(e.reader, samples, n);
    }
    dds_sleepfor(DDS_MSECS(5));
    waited += 5;
  }
  printf("answered %d\n", answered);
  fflush(stdout);
  /* Let reliable delivery of the last reply complete before the writer goes away. */
  dds_sleepfor(DDS_MSECS(500));
  return answered == count ? 0 : 1;
}

static int call(dds_entity_t participant, const char *service, int count, int timeout_ms) {
  struct endpoints e;
  if (make_endpoints(participant, service, 0, &e) != 0) {
    return 1;
  }
  dds_instance_handle_t client_id = 0;
  if (dds_get_instance_handle(e.writer, &client_id) != DDS_RETCODE_OK) {
    fprintf(stderr, "no instance handle\n");
    return 1;
  }
  int waited = 0;
  while (!(writer_matched(e.writer) && reader_matched(e.reader))) {
    if (waited > timeout_ms) {
      fprintf(stderr, "no server matched on %s\n", service);
      return 1;
    }
    dds_sleepfor(DDS_MSECS(20));
    waited += 20;
  }
  /* The server's side of the match may lag behind ours by a little. */
  dds_sleepfor(DDS_MSECS(300));
  printf("matched\n");
  fflush(stdout);
  int answered = 0;
  for (int i = 1; i <= count; i++) {
    example_interfaces_srv_dds__AddTwoInts_Request_ request = {
        .client_guid = client_id, .sequence_number = i, .a = i, .b = 100 * i};
    dds_return_t rc = dds_write(e.writer, &request);
    if (rc != DDS_RETCODE_OK) {
      fprintf(stderr, "dds_write: %s\n", dds_strretcode(-rc));
      return 1;
    }
    int got = 0;
    void *samples[1] = {NULL};
    dds_sample_info_t infos[1];
    for (int w = 0; !got && w < timeout_ms;) {
      int n = dds_take(e.reader, samples, infos, 1, 1);
      if (n > 0 && infos[0].valid_data) {
        const example_interfaces_srv_dds__AddTwoInts_Response_ *reply = samples[0];
        if (reply->client_guid == client_id && reply->sequence_number == i) {
          printf("reply: seq=%d sum=%" PRId64 "\n", i, reply->sum);
          fflush(stdout);
          if (reply->sum == (int64_t)i + 100 * (int64_t)i) {
            answered++;
          } else {
            printf("wrong sum for seq=%d\n", i);
          }
          got = 1;
        }
        dds_return_loan(e.reader, samples, n);
        continue;
      }
      if (n > 0) {
        dds_return_loan(e.reader, samples, n);
      }
      dds_sleepfor(DDS_MSECS(5));
      w += 5;
    }
    if (!got) {
      printf("no reply for seq=%d\n", i);
    }
  }
  printf("answered %d\n", answered);
  fflush(stdout);
  return answered == count ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s server|client SERVICE COUNT TIMEOUT_MS\n", argv[0]);
    return 2;
  }
  const char *domain_env = getenv("ROS_DOMAIN_ID");
  dds_domainid_t domain = domain_env ? (dds_domainid_t)atoi(domain_env) : 0;
  /* Right after a network namespace is made, the loopback interface may not be listed yet. */
  dds_entity_t participant = -1;
  for (int attempt = 0; attempt < 40 && participant < 0; attempt++) {
    participant = dds_create_participant(domain, NULL, NULL);
    if (participant < 0) {
      dds_sleepfor(DDS_MSECS(50));
    }
  }
  if (participant < 0) {
    fprintf(stderr, "dds_create_participant: %s\n", dds_strretcode(-participant));
    return 1;
  }
  int result;
  if (strcmp(argv[1], "server") == 0) {
    result = serve(participant, argv[2], atoi(argv[3]), atoi(argv[4]));
  } else if (strcmp(argv[1], "client") == 0) {
    result = call(participant, argv[2], atoi(argv[3]), atoi(argv[4]));
  } else {
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    result = 2;
  }
  dds_delete(participant);
  return result;
}
