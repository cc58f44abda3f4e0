//! ROS 2 services through the bridge, each case run against a Cyclone DDS peer speaking
//! rmw_cyclonedds' service mapping and a Fast DDS peer speaking rmw_fastrtps' (plain CDR
//! payloads, requests naming the client's reply reader as related sample identity, replies
//! tied to their request by `PID_RELATED_SAMPLE_IDENTITY`): a dataflow server answers peer
//! clients, and a dataflow client gets its answers from a peer server.
//!
//! Every case runs inside a private network namespace, and every wait is bounded (the peers'
//! own timeouts, the polling loops, `timeout -s KILL`).

use std::path::Path;

use crate::{
    dds_test,
    support::{
        dds::{self, DdsPeer},
        helpers::ros2_service_node,
        Dataflow,
    },
};

fn in_private_network(peer: DdsPeer, script: &str, cwd: &Path) -> String {
    dds::in_private_network(script, cwd, &[("PEER", &peer.service_peer())]).1
}

fn dataflow(yaml: &str) -> Dataflow {
    Dataflow::new(&yaml.replace("SERVICE_NODE", &ros2_service_node().display().to_string()))
}

/// A dataflow whose `add-service` bridge node serves `/add_two_ints` through the `adder`
/// node, which answers `count` requests.
fn server_dataflow(count: u32) -> Dataflow {
    dataflow(&format!(
        r#"
nodes:
  - id: add-service
    ros2:
      service: /add_two_ints
      service_type: example_interfaces/AddTwoInts
      role: server
    outputs: [request]
    inputs:
      reply: adder/sum
  - id: adder
    path: SERVICE_NODE
    args: add-server {count}
    inputs:
      request: add-service/request
    outputs: [sum]
"#
    ))
}

dds_test! {
    /// The Fast DDS client sends its three requests at once, so each reply must find its own
    /// request by the related sample identity.
    fn ros2_service_dataflow_server_answers_a_client(peer: DdsPeer) {
        let dataflow = server_dataflow(3);
        let script = format!(
            r#"
"$DORA" run dataflow.yml --grace-duration 1s > run.out 2>&1 &
run=$!
"$PEER" {client} > peer.out 2>&1; echo "peer-exit=$?"
kill -TERM $run; wait $run
cat peer.out run.out
"#,
            client = peer.client_args("/add_two_ints", 3)
        );
        let output = in_private_network(peer, &script, dataflow.cwd());
        assert!(output.contains("peer-exit=0"), "{output}");
        for seq in 1..=3 {
            assert!(output.contains(&peer.reply_line(seq)), "{output}");
        }
        assert!(output.contains("answered 3"), "{output}");
        assert!(
            !output.contains("ignored a reply"),
            "every reply named this client and a pending request: {output}"
        );
        // The dataflow saw the requests with integer request ids.
        assert!(
            output.contains("[adder] request a=1 b=100 id=Some(Integer(1))"),
            "{output}"
        );
    }
}

dds_test! {
    /// Both clients' reply readers see every reply; each keeps only those that name it and
    /// exits 0 only when each of its requests got its reply.
    fn ros2_service_dataflow_server_answers_two_clients_each_with_its_own_replies(
        peer: DdsPeer
    ) {
        let dataflow = server_dataflow(6);
        let script = format!(
            r#"
"$DORA" run dataflow.yml --grace-duration 1s > run.out 2>&1 &
run=$!
"$PEER" {client} > one.out 2>&1 &
one=$!
"$PEER" {client} > two.out 2>&1; echo "two-exit=$?"
wait $one; echo "one-exit=$?"
kill -TERM $run; wait $run
echo "--- one"; cat one.out; echo "--- two"; cat two.out; cat run.out
"#,
            client = peer.client_args("/add_two_ints", 3)
        );
        let output = in_private_network(peer, &script, dataflow.cwd());
        assert!(output.contains("one-exit=0"), "{output}");
        assert!(output.contains("two-exit=0"), "{output}");
        let (one, two) = output
            .split_once("--- two")
            .unwrap_or_else(|| panic!("{output}"));
        for seq in 1..=3 {
            assert!(one.contains(&peer.reply_line(seq)), "{output}");
            assert!(two.contains(&peer.reply_line(seq)), "{output}");
        }
        assert_eq!(
            output.matches("[adder] request ").count(),
            6,
            "the dataflow answered each client's requests once: {output}"
        );
    }
}

dds_test! {
    fn ros2_service_dataflow_client_gets_answers_from_a_server(peer: DdsPeer) {
        let dataflow = dataflow(
            r#"
nodes:
  - id: caller
    path: SERVICE_NODE
    args: add-client 3
    outputs: [request]
    inputs:
      reply: add-client/reply
  - id: add-client
    ros2:
      service: add_two_ints
      service_type: example_interfaces/srv/AddTwoInts
      role: client
    outputs: [reply]
    inputs:
      request: caller/request
"#,
        );
        let script = format!(
            r#"
"$PEER" {server} > peer.out 2>&1 &
peer=$!
"$DORA" run dataflow.yml --grace-duration 1s > run.out 2>&1 &
run=$!
wait $peer; echo "peer-exit=$?"
for i in $(seq 100); do grep -q "replies 3" run.out && break; sleep 0.05; done
kill -TERM $run; wait $run
cat peer.out run.out
"#,
            server = peer.server_args("/add_two_ints", 3)
        );
        let output = in_private_network(peer, &script, dataflow.cwd());
        assert!(output.contains("peer-exit=0"), "{output}");
        for k in 1..=3 {
            assert!(
                output.contains(&peer.request_line(k, k, 1000 * k)),
                "{output}"
            );
            assert!(
                output.contains(&format!("[caller] reply req-{k} sum={}", 1001 * k)),
                "the reply carries the request's request_id: {output}"
            );
        }
    }
}
