/*
 * A tiny turtlesim on Eclipse Cyclone DDS, for the ROS 2 bridge example's interop test:
 * subscribes to rt/turtle1/cmd_vel (geometry_msgs/Twist), integrates the velocity, and
 * publishes rt/turtle1/pose (turtlesim/Pose) every 50 ms, with ROS 2's default QoS.
 *
 *   turtle_peer DURATION_MS MIN_COMMANDS
 *
 * Prints each command it gets; exit status 0 when at least MIN_COMMANDS arrived.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dds/dds.h"
#include "turtle.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s DURATION_MS MIN_COMMANDS\n", argv[0]);
    return 2;
  }
  int duration_ms = atoi(argv[1]);
  int min_commands = atoi(argv[2]);
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
  dds_qos_t *qos = dds_create_qos();
  dds_qset_reliability(qos, DDS_RELIABILITY_RELIABLE, DDS_SECS(1));
  dds_qset_durability(qos, DDS_DURABILITY_VOLATILE);
  dds_qset_history(qos, DDS_HISTORY_KEEP_LAST, 10);
  dds_entity_t cmd_topic = dds_create_topic(participant, &geometry_msgs_msg_dds__Twist__desc,
                                            "rt/turtle1/cmd_vel", NULL, NULL);
  dds_entity_t pose_topic = dds_create_topic(participant, &turtlesim_msg_dds__Pose__desc,
                                             "rt/turtle1/pose", NULL, NULL);
  dds_entity_t reader = dds_create_reader(participant, cmd_topic, qos, NULL);
  dds_entity_t writer = dds_create_writer(participant, pose_topic, qos, NULL);
  dds_delete_qos(qos);
  if (reader < 0 || writer < 0) {
    fprintf(stderr, "creating the reader or writer failed\n");
    return 1;
  }
  turtlesim_msg_dds__Pose_ pose = {.x = 5.5f, .y = 5.5f};
  int commands = 0;
  void *samples[1] = {NULL};
  dds_sample_info_t infos[1];
  for (int elapsed = 0; elapsed < duration_ms; elapsed += 50) {
    int n;
    while ((n = dds_take(reader, samples, infos, 1, 1)) > 0) {
      if (infos[0].valid_data) {
        const geometry_msgs_msg_dds__Twist_ *twist = samples[0];
        printf("cmd_vel: linear.x=%.2f angular.z=%.2f\n", twist->linear.x, twist->angular.z);
        fflush(stdout);
        pose.linear_velocity = (float)twist->linear.x;
        pose.angular_velocity = (float)twist->angular.z;
        commands++;
      }
      dds_return_loan(reader, samples, n);
    }
    pose.theta += pose.angular_velocity * 0.05f;
    pose.x += pose.linear_velocity * cosf(pose.theta) * 0.05f;
    pose.y += pose.linear_velocity * sinf(pose.theta) * 0.05f;
    dds_write(writer, &pose);
    dds_sleepfor(DDS_MSECS(50));
  }
  printf("commands %d\n", commands);
  dds_delete(participant);
  return commands >= min_commands ? 0 : 1;
}
