//! DDS interop peers and private network namespaces.
//!
//! The peers (`ros2_ws/interop_peers`) are real DDS implementations that ROS 2 uses: Eclipse
//! Cyclone DDS (Debian's `cyclonedds-dev`) and eProsima Fast DDS (`libfastrtps-dev`). A case
//! written against [`DdsPeer`] and declared with [`dds_test!`](crate::dds_test) runs once
//! against each.
//!
//! Every case runs inside a private network namespace ([`in_private_network`]), so discovery
//! traffic never reaches the machine's interfaces, and DDS cases can run in parallel.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
};

use super::{dora, repo};

/// Builds the interop peers (Cyclone DDS and Fast DDS) once per run and returns their folder.
/// Needs Debian's cyclonedds-dev, cyclonedds-tools, libfastrtps-dev and libfastcdr-dev.
pub fn interop_peers() -> &'static Path {
    static PEERS: OnceLock<PathBuf> = OnceLock::new();
    PEERS.get_or_init(|| {
        let out = repo().join("target/ros2-interop-peers");
        let status = Command::new("sh")
            .arg(repo().join("ros2_ws/interop_peers/build.sh"))
            .arg(&out)
            .stdout(Stdio::null())
            .status()
            .expect(
                "running the peer build (needs cyclonedds-dev, cyclonedds-tools, \
                 libfastrtps-dev, libfastcdr-dev, cc, c++; `scripts/test` installs them)",
            );
        assert!(status.success(), "building the DDS interop peers failed");
        out
    })
}

/// The interop peer `name` (`interop_peer`, `string_peer`, ...).
pub fn peer(name: &str) -> PathBuf {
    interop_peers().join(name)
}

/// Runs `script` with `sh` in a fresh network namespace — loopback up with multicast and a
/// 224.0.0.0/4 route, nothing else — so that DDS discovery never leaves the test. `$DORA` is
/// set, plus `env`. Killed after 90 s. Returns whether it succeeded and its output.
pub fn in_private_network(script: &str, cwd: &Path, env: &[(&str, &Path)]) -> (bool, String) {
    let setup =
        "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo";
    let mut command = Command::new("timeout");
    command.args(["-s", "KILL", "90", "unshare"]);
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        // Without root, a user namespace grants the right to make a network namespace.
        command.arg("-r");
    }
    command
        .args(["-n", "sh", "-c", &format!("{setup} && {script}")])
        .current_dir(cwd)
        .env("DORA", dora());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("running unshare");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A dataflow whose bridge node subscribes to the ROS 2 topic `/chatter` (`std_msgs/String`)
/// and whose test node prints the first 5 messages (`received: ...`).
pub const CHATTER_TO_PRINTER: &str = r#"
nodes:
  - id: ros-in
    ros2:
      topic: /chatter
      message_type: std_msgs/String
      direction: subscribe
    outputs: [chatter]
  - id: printer
    path: TEST_NODE
    args: ros-print 5
    inputs:
      chatter: ros-in/chatter
"#;

/// A DDS implementation's `example_interfaces/srv/AddTwoInts` peer, speaking its rmw's
/// service mapping: rmw_cyclonedds (request ids in the payload) or rmw_fastrtps (plain CDR,
/// replies tied to requests by `PID_RELATED_SAMPLE_IDENTITY`).
#[derive(Clone, Copy, Debug)]
pub enum DdsPeer {
    Cyclone,
    FastDds,
}

impl DdsPeer {
    /// The service peer's executable.
    pub fn service_peer(self) -> PathBuf {
        peer(match self {
            Self::Cyclone => "add_two_ints_peer",
            Self::FastDds => "fastdds_add_two_ints_peer",
        })
    }

    /// Shell arguments (after the peer's path) of a client that sends requests
    /// `a = k, b = 100 k` for `k` in `1..=count`, waits up to 20 s, and exits 0 when every
    /// reply came with the right sum.
    pub fn client_args(self, service: &str, count: u32) -> String {
        match self {
            Self::Cyclone => format!("client {service} {count} 20000"),
            Self::FastDds => format!("client {service} 1 100 20000 {count}"),
        }
    }

    /// Shell arguments of a server that answers `count` requests (up to 30 s).
    pub fn server_args(self, service: &str, count: u32) -> String {
        match self {
            Self::Cyclone => format!("server {service} {count} 30000"),
            Self::FastDds => format!("server {service} 30 {count}"),
        }
    }

    /// The line a client prints for the reply to its request `seq` (`a = seq`,
    /// `b = 100 seq`).
    pub fn reply_line(self, seq: u32) -> String {
        let (a, b) = (seq, 100 * seq);
        match self {
            Self::Cyclone => format!("reply: seq={seq} sum={}", a + b),
            Self::FastDds => format!("reply: seq={seq} a={a} b={b} sum: {}", a + b),
        }
    }

    /// The line a server prints for request `seq` from a dataflow client. A Fast DDS server
    /// also checks that the request names the client's reply reader, as rmw_fastrtps does.
    pub fn request_line(self, seq: u32, a: u32, b: u32) -> String {
        match self {
            Self::Cyclone => format!("request: a={a} b={b} seq={seq}"),
            Self::FastDds => format!("request: a={a} b={b} seq={seq} related_to_reader=yes"),
        }
    }
}

/// Declares a test case written once against a [`DdsPeer`] and run against each DDS
/// implementation: `NAME::cyclone_dds` and `NAME::fast_dds`.
#[macro_export]
macro_rules! dds_test {
    ($(#[doc = $doc:literal])* fn $name:ident($peer:ident: DdsPeer) $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn case($peer: $crate::support::dds::DdsPeer) $body

            #[test]
            fn cyclone_dds() {
                case($crate::support::dds::DdsPeer::Cyclone);
            }

            #[test]
            fn fast_dds() {
                case($crate::support::dds::DdsPeer::FastDds);
            }
        }
    };
}
