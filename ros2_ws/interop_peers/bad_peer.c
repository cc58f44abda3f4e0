/*
 * Publishes payloads that are not std_msgs/String under std_msgs/String's DDS type name, for
 * the bridge's bad-input test: a reader of std_msgs/String cannot decode them.
 *
 *   bad_peer TOPIC COUNT INTERVAL_MS
 *
 * Waits for a matching reader first (ROS 2 default QoS), exits 0 after COUNT writes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bad_string.h"
#include "dds/dds.h"

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s TOPIC COUNT INTERVAL_MS\n", argv[0]);
    return 2;
  }
  dds_entity_t participant = -1;
  for (int attempt = 0; attempt < 40 && participant < 0; attempt++) {
    participant = dds_create_participant(DDS_DOMAIN_DEFAULT, NULL, NULL);
    if (participant < 0) {
      dds_sleepfor(DDS_MSECS(50));
    }
  }
  if (participant < 0) {
    fprintf(stderr, "dds_create_participant: %s\n", dds_strretcode(-participant));
    return 1;
  }
  char name[256];
  snprintf(name, sizeof name, "rt%s", argv[1]);
  dds_entity_t topic =
      dds_create_topic(participant, &std_msgs_msg_dds__String__desc, name, NULL, NULL);
  dds_qos_t *qos = dds_create_qos();
  dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_SECS(1));
  dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 10);
  dds_entity_t writer = dds_create_writer(participant, topic, qos, NULL);
  dds_delete_qos(qos);
  dds_publication_matched_status_t status = {0};
  for (int waited = 0; status.current_count == 0; waited += 10) {
    if (waited > 30000) {
      fprintf(stderr, "no reader matched\n");
      return 1;
    }
    dds_sleepfor(DDS_MSECS(10));
    dds_get_publication_matched_status(writer, &status);
  }
  int count = atoi(argv[2]);
  for (int i = 0; i < count; i++) {
    /* As a string this would claim 0x7fffffff bytes. */
    std_msgs_msg_dds__String_ message = {.data = 0x7fffffffLL};
    dds_write(writer, &message);
    dds_sleepfor(DDS_MSECS(atoi(argv[3])));
  }
  printf("bad published %d\n", count);
  fflush(stdout);
  dds_sleepfor(DDS_MSECS(500));
  dds_delete(participant);
  return 0;
}
