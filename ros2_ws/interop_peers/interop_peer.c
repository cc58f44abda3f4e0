/*
 * A ROS 2-style Cyclone DDS peer for the bridge's interop tests and benchmark (case 2 to 7 of
 * the ROS 2 bridge issue). ROS 2 naming: DDS topic "rt" + TOPIC, types pkg::msg::dds_::T_.
 *
 *   interop_peer string-pub TOPIC COUNT INTERVAL_MS PREFIX [QOS]   "PREFIX N" messages
 *   interop_peer string-sub TOPIC COUNT TIMEOUT_MS [QOS]           prints "received: TEXT"
 *   interop_peer stamp-pub TOPIC COUNT INTERVAL_MS                 data = send time in ns
 *   interop_peer stamp-sub TOPIC COUNT TIMEOUT_MS                  latency median / p90
 *   interop_peer demo-pub TOPIC COUNT INTERVAL_MS                  dora_demo_msgs/RobotState
 *   interop_peer demo-sub TOPIC COUNT TIMEOUT_MS                   prints "demo ..." lines
 *   interop_peer image-pub TOPIC COUNT RATE_HZ                     640x480 rgb8 frames
 *   interop_peer image-sub TOPIC COUNT TIMEOUT_MS                  checks every frame
 *   interop_peer discovery NODE_NAME TIMEOUT_MS                    reads ros_discovery_info
 *
 * QOS is a comma-separated list of reliable|best_effort, volatile|transient_local, nowait
 * (default: ROS 2's reliable, volatile, keep-last 10; publishers wait for a matching reader
 * unless `nowait`; transient_local keeps the last 10). Readers exit 0 when COUNT samples came
 * in before the timeout; a publisher with `hold` stays alive for TIMEOUT-like 10 s after.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dds/dds.h"
#include "dora_demo.h"
#include "ros2_string.h"

#define IMAGE_WIDTH 640u
#define IMAGE_HEIGHT 480u
#define IMAGE_BYTES (IMAGE_WIDTH * IMAGE_HEIGHT * 3u)

struct qos_options {
  bool reliable;
  bool transient_local;
  bool wait_for_match;
  bool hold;
};

static struct qos_options parse_qos(const char *text) {
  struct qos_options options = {true, false, true, false};
  if (text == NULL) {
    return options;
  }
  if (strstr(text, "best_effort")) options.reliable = false;
  if (strstr(text, "transient_local")) options.transient_local = true;
  if (strstr(text, "nowait")) options.wait_for_match = false;
  if (strstr(text, "hold")) options.hold = true;
  return options;
}

static dds_qos_t *make_qos(struct qos_options options) {
  dds_qos_t *qos = dds_create_qos();
  dds_qset_reliability(qos, options.reliable ? DDS_RELIABILITY_RELIABLE : DDS_RELIABILITY_BEST_EFFORT,
                       DDS_SECS(1));
  dds_qset_durability(qos, options.transient_local ? DDS_DURABILITY_TRANSIENT_LOCAL
                                                    : DDS_DURABILITY_VOLATILE);
  dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 10);
  if (options.transient_local) {
    /* Cyclone keeps for late joiners what the durability service QoS says (by default only
     * the last sample), not what the history QoS says; rmw_cyclonedds sets the former to the
     * latter, and so do we, so that the last 10 samples are kept like a ROS 2 node's. */
    dds_qset_durability_service(qos, 0, DDS_HISTORY_KEEP_LAST, 10, DDS_LENGTH_UNLIMITED,
                                DDS_LENGTH_UNLIMITED, DDS_LENGTH_UNLIMITED);
  }
  return qos;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint8_t pattern(int frame, size_t index) {
  return (uint8_t)(((size_t)frame * 31u + index) % 251u);
}

static dds_entity_t participant;

static dds_entity_t make_topic(const dds_topic_descriptor_t *desc, const char *name) {
  char dds_name[256];
  snprintf(dds_name, sizeof dds_name, "rt%s", name);
  return dds_create_topic(participant, desc, dds_name, NULL, NULL);
}

static dds_entity_t make_writer(const dds_topic_descriptor_t *desc, const char *topic,
                                struct qos_options options) {
  dds_qos_t *qos = make_qos(options);
  dds_entity_t writer = dds_create_writer(participant, make_topic(desc, topic), qos, NULL);
  dds_delete_qos(qos);
  if (writer < 0) {
    fprintf(stderr, "dds_create_writer: %s\n", dds_strretcode(-writer));
    exit(1);
  }
  if (options.wait_for_match) {
    dds_publication_matched_status_t status = {0};
    for (int waited = 0; status.current_count == 0; waited += 10) {
      if (waited > 30000) {
        fprintf(stderr, "no reader matched on %s\n", topic);
        exit(1);
      }
      dds_sleepfor(DDS_MSECS(10));
      dds_get_publication_matched_status(writer, &status);
    }
    printf("matched\n");
    fflush(stdout);
  }
  return writer;
}

static dds_entity_t make_reader(const dds_topic_descriptor_t *desc, const char *topic,
                                struct qos_options options) {
  dds_qos_t *qos = make_qos(options);
  dds_entity_t reader = dds_create_reader(participant, make_topic(desc, topic), qos, NULL);
  dds_delete_qos(qos);
  if (reader < 0) {
    fprintf(stderr, "dds_create_reader: %s\n", dds_strretcode(-reader));
    exit(1);
  }
  printf("subscribed\n");
  fflush(stdout);
  return reader;
}

static void write_or_die(dds_entity_t writer, const void *sample) {
  dds_return_t rc = dds_write(writer, sample);
  if (rc != DDS_RETCODE_OK) {
    fprintf(stderr, "dds_write: %s\n", dds_strretcode(-rc));
    exit(1);
  }
}

/* Takes one sample; returns 1 with *sample loaned, 0 when none is there yet. */
static int take_one(dds_entity_t reader, void **sample) {
  dds_sample_info_t info;
  sample[0] = NULL;
  int n = dds_take(reader, sample, &info, 1, 1);
  if (n > 0 && info.valid_data) {
    return 1;
  }
  if (n > 0) {
    dds_return_loan(reader, sample, n);
  }
  return 0;
}

/* Waits for data on `reader` for at most `ms` milliseconds. */
static void wait_data(dds_entity_t reader, int ms) {
  dds_entity_t waitset = dds_create_waitset(participant);
  dds_entity_t condition = dds_create_readcondition(reader, DDS_ANY_STATE);
  dds_waitset_attach(waitset, condition, 0);
  dds_waitset_wait(waitset, NULL, 0, DDS_MSECS(ms));
  dds_waitset_detach(waitset, condition);
  dds_delete(condition);
  dds_delete(waitset);
}

static int compare_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void print_latency(const char *what, int64_t *latencies, int n) {
  if (n == 0) {
    printf("%s latency: no samples\n", what);
    return;
  }
  qsort(latencies, (size_t)n, sizeof *latencies, compare_i64);
  printf("%s latency: n=%d median=%.1fus p90=%.1fus\n", what, n, latencies[n / 2] / 1000.0,
         latencies[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1] / 1000.0);
}

/* ---- std_msgs/String ---------------------------------------------------------------- */

static int string_pub(const char *topic, int count, int interval_ms, const char *prefix,
                      struct qos_options options, bool stamp) {
  dds_entity_t writer = make_writer(&std_msgs_msg_dds__String__desc, topic, options);
  for (int i = 0; i < count; i++) {
    char text[256];
    if (stamp) {
      snprintf(text, sizeof text, "%lld", (long long)now_ns());
    } else {
      snprintf(text, sizeof text, "%s %d", prefix, i);
    }
    std_msgs_msg_dds__String_ message = {.data = text};
    write_or_die(writer, &message);
    dds_sleepfor(DDS_MSECS(interval_ms));
  }
  printf("published %d\n", count);
  fflush(stdout);
  dds_sleepfor(DDS_MSECS(options.hold ? 10000 : 500));
  return 0;
}

static int string_sub(const char *topic, int count, int timeout_ms, struct qos_options options,
                      bool stamp) {
  dds_entity_t reader = make_reader(&std_msgs_msg_dds__String__desc, topic, options);
  int64_t *latencies = calloc((size_t)count + 1, sizeof *latencies);
  int received = 0;
  int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
  while (received < count && now_ns() < deadline) {
    void *sample[1];
    if (!take_one(reader, sample)) {
      wait_data(reader, 20);
      continue;
    }
    const std_msgs_msg_dds__String_ *message = sample[0];
    if (stamp) {
      latencies[received] = now_ns() - strtoll(message->data, NULL, 10);
    } else {
      printf("received: %s\n", message->data);
      fflush(stdout);
    }
    received++;
    dds_return_loan(reader, sample, 1);
  }
  printf("received %d\n", received);
  if (stamp) {
    /* The first samples include discovery and warm-up: leave out the first tenth. */
    print_latency("string", latencies + received / 10, received - received / 10);
  }
  free(latencies);
  return received == count ? 0 : 1;
}

/* ---- dora_demo_msgs/RobotState -------------------------------------------------------- */

static void demo_fill(dora_demo_msgs_msg_dds__RobotState_ *m, int k, int32_t *codes,
                      char (*tags)[17], uint8_t *payload) {
  memset(m, 0, sizeof *m);
  m->header.stamp.sec = 100 + k;
  m->header.stamp.nanosec = 7;
  m->header.frame_id = "base";
  snprintf(m->name, sizeof m->name, "robot-%d", k);
  m->mode = (uint8_t)(k % 3); /* MODE_IDLE, MODE_MANUAL, MODE_AUTO */
  m->pose.position.x = 1.5 * k;
  m->pose.position.y = -2.25;
  m->pose.position.z = 0.125;
  m->pose.orientation.w = 1.0;
  m->gains[0] = k;
  m->gains[1] = 2.5;
  m->gains[2] = -3.0;
  codes[0] = k;
  codes[1] = -100; /* MIN_CODE */
  m->recent_codes._buffer = codes;
  m->recent_codes._length = 2;
  m->recent_codes._maximum = 2;
  snprintf(tags[0], sizeof tags[0], "a");
  snprintf(tags[1], sizeof tags[1], "tag-%d", k);
  m->tags._buffer = tags;
  m->tags._length = 2;
  m->tags._maximum = 2;
  for (int j = 0; j < 4; j++) {
    snprintf(m->wheels[j].name, sizeof m->wheels[j].name, "w%d", j);
    m->wheels[j].speed = 0.5f * (float)j + (float)k;
    m->wheels[j].temperature = (int16_t)(20 + j);
  }
  int n = k % 5 + 1;
  for (int j = 0; j < n; j++) {
    payload[j] = (uint8_t)((j * k) % 256);
  }
  m->payload._buffer = payload;
  m->payload._length = (uint32_t)n;
  m->payload._maximum = (uint32_t)n;
  m->enabled = k % 2 == 0;
  m->battery = 0.5f; /* the .msg default */
}

static void demo_print(const dora_demo_msgs_msg_dds__RobotState_ *m) {
  printf("demo name=%s mode=%u stamp=%d.%u frame=%s pos=%.3f,%.3f,%.3f ori=%.3f,%.3f,%.3f,%.3f "
         "gains=%.3f,%.3f,%.3f codes=",
         m->name, m->mode, m->header.stamp.sec, m->header.stamp.nanosec, m->header.frame_id,
         m->pose.position.x, m->pose.position.y, m->pose.position.z, m->pose.orientation.x,
         m->pose.orientation.y, m->pose.orientation.z, m->pose.orientation.w, m->gains[0],
         m->gains[1], m->gains[2]);
  for (uint32_t j = 0; j < m->recent_codes._length; j++) {
    printf("%s%d", j ? "," : "", m->recent_codes._buffer[j]);
  }
  printf(" tags=");
  for (uint32_t j = 0; j < m->tags._length; j++) {
    printf("%s%s", j ? "," : "", m->tags._buffer[j]);
  }
  printf(" wheels=");
  for (int j = 0; j < 4; j++) {
    printf("%s%s/%.3f/%d", j ? "," : "", m->wheels[j].name, m->wheels[j].speed,
           m->wheels[j].temperature);
  }
  printf(" payload=");
  for (uint32_t j = 0; j < m->payload._length; j++) {
    printf("%s%u", j ? "," : "", m->payload._buffer[j]);
  }
  printf(" enabled=%s battery=%.3f\n", m->enabled ? "true" : "false", m->battery);
  fflush(stdout);
}

static int demo_pub(const char *topic, int count, int interval_ms) {
  dds_entity_t writer =
      make_writer(&dora_demo_msgs_msg_dds__RobotState__desc, topic, parse_qos(NULL));
  for (int k = 0; k < count; k++) {
    dora_demo_msgs_msg_dds__RobotState_ message;
    int32_t codes[2];
    char tags[2][17];
    uint8_t payload[8];
    demo_fill(&message, k, codes, tags, payload);
    write_or_die(writer, &message);
    dds_sleepfor(DDS_MSECS(interval_ms));
  }
  printf("published %d\n", count);
  fflush(stdout);
  dds_sleepfor(DDS_MSECS(500));
  return 0;
}

static int demo_sub(const char *topic, int count, int timeout_ms) {
  dds_entity_t reader =
      make_reader(&dora_demo_msgs_msg_dds__RobotState__desc, topic, parse_qos(NULL));
  int received = 0;
  int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
  while (received < count && now_ns() < deadline) {
    void *sample[1];
    if (!take_one(reader, sample)) {
      wait_data(reader, 20);
      continue;
    }
    demo_print(sample[0]);
    received++;
    dds_return_loan(reader, sample, 1);
  }
  printf("received %d\n", received);
  return received == count ? 0 : 1;
}

/* ---- sensor_msgs/Image ---------------------------------------------------------------- */

static int image_pub(const char *topic, int count, int rate_hz) {
  dds_entity_t writer = make_writer(&sensor_msgs_msg_dds__Image__desc, topic, parse_qos(NULL));
  uint8_t *data = malloc(IMAGE_BYTES);
  int64_t period = 1000000000 / rate_hz, next = now_ns();
  for (int k = 0; k < count; k++) {
    for (size_t j = 0; j < IMAGE_BYTES; j++) {
      data[j] = pattern(k, j);
    }
    char frame_id[32];
    snprintf(frame_id, sizeof frame_id, "frame %d", k);
    int64_t t = now_ns();
    sensor_msgs_msg_dds__Image_ image = {
        .header = {.stamp = {.sec = (int32_t)(t / 1000000000),
                             .nanosec = (uint32_t)(t % 1000000000)},
                   .frame_id = frame_id},
        .height = IMAGE_HEIGHT,
        .width = IMAGE_WIDTH,
        .encoding = "rgb8",
        .is_bigendian = 0,
        .step = IMAGE_WIDTH * 3,
        .data = {._length = IMAGE_BYTES, ._maximum = IMAGE_BYTES, ._buffer = data},
    };
    write_or_die(writer, &image);
    next += period;
    int64_t left = next - now_ns();
    if (left > 0) {
      dds_sleepfor(left);
    }
  }
  printf("published %d\n", count);
  fflush(stdout);
  dds_sleepfor(DDS_MSECS(1000));
  free(data);
  return 0;
}

static int image_sub(const char *topic, int count, int timeout_ms) {
  dds_entity_t reader = make_reader(&sensor_msgs_msg_dds__Image__desc, topic, parse_qos(NULL));
  int64_t *latencies = calloc((size_t)count + 1, sizeof *latencies);
  int received = 0, bad = 0;
  int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
  while (received < count && now_ns() < deadline) {
    void *sample[1];
    if (!take_one(reader, sample)) {
      wait_data(reader, 20);
      continue;
    }
    int64_t arrival = now_ns();
    const sensor_msgs_msg_dds__Image_ *image = sample[0];
    int k = -1;
    sscanf(image->header.frame_id, "frame %d", &k);
    size_t first_bad = IMAGE_BYTES;
    if (image->data._length != IMAGE_BYTES || image->height != IMAGE_HEIGHT ||
        image->width != IMAGE_WIDTH || image->step != IMAGE_WIDTH * 3 ||
        strcmp(image->encoding, "rgb8") != 0) {
      first_bad = 0;
    } else {
      for (size_t j = 0; j < IMAGE_BYTES; j++) {
        if (image->data._buffer[j] != pattern(k, j)) {
          first_bad = j;
          break;
        }
      }
    }
    if (first_bad == IMAGE_BYTES) {
      printf("frame %d ok\n", k);
    } else {
      printf("frame %d BAD at byte %zu (length %u)\n", k, first_bad, image->data._length);
      bad++;
    }
    fflush(stdout);
    latencies[received] = arrival - ((int64_t)image->header.stamp.sec * 1000000000 +
                                     image->header.stamp.nanosec);
    received++;
    dds_return_loan(reader, sample, 1);
  }
  printf("received %d\n", received);
  print_latency("image", latencies + received / 10, received - received / 10);
  free(latencies);
  return received == count && bad == 0 ? 0 : 1;
}

/* ---- ros_discovery_info --------------------------------------------------------------- */

static void print_gid(const uint8_t *gid) {
  for (int i = 0; i < 16; i++) {
    printf("%02x", gid[i]);
  }
}

/* The DDS topic of the endpoint with GUID `gid`, from Cyclone's own discovery data. */
static const char *endpoint_topic(dds_entity_t builtin, const uint8_t *gid, char *out,
                                  size_t size) {
  void *samples[64] = {NULL};
  dds_sample_info_t infos[64];
  int n = dds_read(builtin, samples, infos, 64, 64);
  out[0] = 0;
  for (int i = 0; i < n; i++) {
    const dds_builtintopic_endpoint_t *endpoint = samples[i];
    if (infos[i].valid_data && memcmp(endpoint->key.v, gid, 16) == 0) {
      snprintf(out, size, "%s", endpoint->topic_name);
    }
  }
  if (n > 0) {
    dds_return_loan(builtin, samples, n);
  }
  return out;
}

static int discovery(const char *node_name, int timeout_ms) {
  dds_qos_t *qos = dds_create_qos();
  dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_SECS(1));
  dds_qset_durability(qos, DDS_DURABILITY_TRANSIENT_LOCAL);
  dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 1);
  dds_entity_t topic = dds_create_topic(participant, &rmw_dds_common_msg_dds__ParticipantEntitiesInfo__desc,
                                        "ros_discovery_info", NULL, NULL);
  dds_entity_t reader = dds_create_reader(participant, topic, qos, NULL);
  dds_delete_qos(qos);
  dds_entity_t publications =
      dds_create_reader(participant, DDS_BUILTIN_TOPIC_DCPSPUBLICATION, NULL, NULL);
  dds_entity_t subscriptions =
      dds_create_reader(participant, DDS_BUILTIN_TOPIC_DCPSSUBSCRIPTION, NULL, NULL);
  int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
  /* A late joiner receives the writer's kept samples one after the other (an early one may
   * list the node before its endpoints): once the node was seen, keep printing what arrives
   * until nothing new comes for 300 ms, so the last lines are the node's current state. */
  int seen = 0;
  int64_t quiet_until = 0;
  while (now_ns() < deadline) {
    void *sample[1];
    if (!take_one(reader, sample)) {
      if (seen && now_ns() >= quiet_until) {
        return 0;
      }
      wait_data(reader, 50);
      continue;
    }
    const rmw_dds_common_msg_dds__ParticipantEntitiesInfo_ *info = sample[0];
    printf("participant ");
    print_gid(info->gid.data);
    printf("\n");
    int found = 0;
    for (uint32_t i = 0; i < info->node_entities_info_seq._length; i++) {
      const rmw_dds_common_msg_dds__NodeEntitiesInfo_ *node = &info->node_entities_info_seq._buffer[i];
      printf("node namespace=%s name=%s readers=%u writers=%u\n", node->node_namespace,
             node->node_name, node->reader_gid_seq._length, node->writer_gid_seq._length);
      if (strcmp(node->node_name, node_name) != 0) {
        continue;
      }
      found = 1;
      /* Give discovery of the endpoints a moment, then name each GID's topic. */
      for (int side = 0; side < 2; side++) {
        const dds_sequence_rmw_dds_common_msg_dds__Gid_ *gids =
            side == 0 ? &node->reader_gid_seq : &node->writer_gid_seq;
        for (uint32_t g = 0; g < gids->_length; g++) {
          char name[256] = "";
          for (int tries = 0; tries < 100 && name[0] == 0; tries++) {
            endpoint_topic(side == 0 ? subscriptions : publications, gids->_buffer[g].data, name,
                           sizeof name);
            if (name[0] == 0) dds_sleepfor(DDS_MSECS(50));
          }
          printf("%s ", side == 0 ? "reader" : "writer");
          print_gid(gids->_buffer[g].data);
          printf(" topic=%s\n", name[0] ? name : "(not discovered)");
        }
      }
    }
    fflush(stdout);
    dds_return_loan(reader, sample, 1);
    if (found) {
      seen = 1;
      quiet_until = now_ns() + 300 * (int64_t)1000000;
    }
  }
  if (seen) {
    return 0;
  }
  printf("node %s not seen\n", node_name);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s MODE ARGS... (see the source)\n", argv[0]);
    return 2;
  }
  const char *domain_env = getenv("ROS_DOMAIN_ID");
  dds_domainid_t domain = domain_env ? (dds_domainid_t)atoi(domain_env) : 0;
  /* Right after a network namespace is made, the loopback interface may not be listed yet. */
  participant = -1;
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
  const char *mode = argv[1], *topic = argv[2];
  int a = argc > 3 ? atoi(argv[3]) : 0, b = argc > 4 ? atoi(argv[4]) : 0;
  int result = 2;
  if (strcmp(mode, "string-pub") == 0 && argc >= 6) {
    result = string_pub(topic, a, b, argv[5], parse_qos(argc > 6 ? argv[6] : NULL), false);
  } else if (strcmp(mode, "string-sub") == 0 && argc >= 5) {
    result = string_sub(topic, a, b, parse_qos(argc > 5 ? argv[5] : NULL), false);
  } else if (strcmp(mode, "stamp-pub") == 0 && argc >= 5) {
    result = string_pub(topic, a, b, "", parse_qos(NULL), true);
  } else if (strcmp(mode, "stamp-sub") == 0 && argc >= 5) {
    result = string_sub(topic, a, b, parse_qos(NULL), true);
  } else if (strcmp(mode, "demo-pub") == 0 && argc >= 5) {
    result = demo_pub(topic, a, b);
  } else if (strcmp(mode, "demo-sub") == 0 && argc >= 5) {
    result = demo_sub(topic, a, b);
  } else if (strcmp(mode, "image-pub") == 0 && argc >= 5) {
    result = image_pub(topic, a, b > 0 ? b : 10);
  } else if (strcmp(mode, "image-sub") == 0 && argc >= 5) {
    result = image_sub(topic, a, b);
  } else if (strcmp(mode, "discovery") == 0) {
    result = discovery(topic, a);
  } else {
    fprintf(stderr, "unknown mode or missing arguments: %s\n", mode);
  }
  dds_delete(participant);
  return result;
}
