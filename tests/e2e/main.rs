//! End-to-end tests: the real `dora` binary driving real node processes in every language,
//! real sockets, shared memory and DDS peers. One test binary, a module per area
//! (`<area>_<topic>`), sharing the fixtures of [`support`].
//!
//! Every test makes its own temporary folders and random ports, waits for readiness signals
//! with a deadline instead of sleeping, and ends every process it started, so the tests run in
//! parallel. DDS cases run in private network namespaces. The helper binaries they need (test
//! nodes, operators, C/C++ builds, DDS peers) are built once per run.

mod support;

mod api_c;
mod api_compat_v036;
mod api_cxx;
mod api_python;
mod cli_broken_pipe;
mod cli_build;
mod cli_check;
mod cli_check_budgets;
mod cli_check_descriptor;
mod cli_graph;
mod cli_help;
mod cli_new;
mod control_plane;
mod control_plane_access;
mod control_plane_cli;
mod control_plane_limits;
mod control_plane_recovery;
mod dataflow_dynamic_nodes;
mod dataflow_operators;
mod dataflow_restart;
mod dataflow_run;
mod ros2_bridge;
mod ros2_interop;
mod ros2_launch;
mod ros2_node_api;
mod ros2_services;
