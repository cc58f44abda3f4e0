/*
 * A ROS 2-style peer built on Eclipse Cyclone DDS, for the bridge's interop tests.
 *
 *   string_peer pub TOPIC COUNT INTERVAL_MS PREFIX   publishes "PREFIX N" on rt/TOPIC
 *   string_peer sub TOPIC COUNT TIMEOUT_MS           prints each received message
 *
 * Both use ROS 2's default QoS (reliable, volatile, keep-last 10) and ROS 2 naming
 * (DDS topic "rt" + topic, type std_msgs::msg::dds_::String_). The publisher waits until a
 * reader matched before it starts, so no sample is lost to discovery. Exit status 0 when
 * COUNT messages went out / came in, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dds/dds.h"
#include "ros2_string.h"

static dds_entity_t make_topic(dds_entity_t participant, const char *name) {
  char dds_name[256];
  snprintf(dds_name, sizeof dds_name, "rt%s", name);
  return dds_create_topic(participant, &std_msgs_msg_dds__String__desc, dds_name, NULL, NULL);
}

static dds_qos_t *ros2_default_qos(void) {
  dds_qos_t *qos = dds_create_qos();
  dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_SECS(1));
  dds_qset_durability(qos, DDS_DURABILITY_VOLATILE);
  dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 10);
  return qos;
}

static int publish(dds_entity_t participant, const char *topic_name, int count, int interval_ms,
                   const char *prefix) {
  dds_entity_t topic = make_topic(participant, topic_name);
  dds_qos_t *qos = ros2_default_qos();
  dds_entity_t writer = dds_create_writer(participant, topic, qos, NULL);
  dds_delete_qos(qos);
  if (writer < 0) {
    fprintf(stderr, "dds_create_writer: %s\n", dds_strretcode(-writer));
    return 1;
  }
  dds_publication_matched_status_t status = {0};
  for (int waited = 0; status.current_count == 0; waited += 20) {
    if (waited > 30000) {
      fprintf(stderr, "no reader matched on %s\n", topic_name);
      return 1;
    }
    dds_sleepfor(DDS_MSECS(20));
    dds_get_publication_matched_status(writer, &status);
  }
  printf("matched\n");
  fflush(stdout);
  for (int i = 0; i < count; i++) {
    char text[256];
    snprintf(text, sizeof text, "%s %d", prefix, i);
    std_msgs_msg_dds__String_ message = {.data = text};
    dds_return_t rc = dds_write(writer, &message);
    if (rc != DDS_RETCODE_OK) {
      fprintf(stderr, "dds_write: %s\n", dds_strretcode(-rc));
      return 1;
    }
    dds_sleepfor(DDS_MSECS(interval_ms));
  }
  printf("published %d\n", count);
  fflush(stdout);
  /* Give reliable delivery a moment to complete before the writer goes away. */
  dds_sleepfor(DDS_MSECS(500));
  return 0;
}

static int subscribe(dds_entity_t participant, const char *topic_name, int count, int timeout_ms) {
  dds_entity_t topic = make_topic(participant, topic_name);
  dds_qos_t *qos = ros2_default_qos();
  dds_entity_t reader = dds_create_reader(participant, topic, qos, NULL);
  dds_delete_qos(qos);
  if (reader < 0) {
    fprintf(stderr, "dds_create_reader: %s\n", dds_strretcode(-reader));
    return 1;
  }
  printf("subscribed\n");
  fflush(stdout);
  int received = 0;
  void *samples[1] = {NULL};
  dds_sample_info_t infos[1];
  for (int waited = 0; received < count && waited < timeout_ms; ) {
    int n = dds_take(reader, samples, infos, 1, 1);
    if (n > 0 && infos[0].valid_data) {
      const std_msgs_msg_dds__String_ *message = samples[0];
      printf("received: %s\n", message->data);
      fflush(stdout);
      received++;
      dds_return_loan(reader, samples, n);
      continue;
    }
    if (n > 0) {
      dds_return_loan(reader, samples, n);
    }
    dds_sleepfor(DDS_MSECS(5));
    waited += 5;
  }
  printf("received %d\n", received);
  return received == count ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s pub TOPIC COUNT INTERVAL_MS PREFIX | sub TOPIC COUNT TIMEOUT_MS\n",
            argv[0]);
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
  if (strcmp(argv[1], "pub") == 0 && argc >= 6) {
    result = publish(participant, argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
  } else if (strcmp(argv[1], "sub") == 0) {
    result = subscribe(participant, argv[2], atoi(argv[3]), atoi(argv[4]));
  } else {
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    result = 2;
  }
  dds_delete(participant);
  return result;
}
