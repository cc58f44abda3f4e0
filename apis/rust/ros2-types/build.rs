//! Marks this package's targets with `cfg(dora_ros2_types)`.
//!
//! `tests/ros2_types.rs` sits in the workspace's `tests/` folder, where the root package also
//! picks it up as a test target; the file is gated on this cfg so only this package builds it.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(dora_ros2_types)");
    println!("cargo::rustc-cfg=dora_ros2_types");
}
