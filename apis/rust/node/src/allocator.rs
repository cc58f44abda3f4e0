//! Tuning of the C library's allocator for a node's traffic pattern.
//!
//! Every received message costs a handful of small heap blocks (Arrow array, buffer
//! descriptors, metadata). With a deep input queue (`queue_size` in the thousands), a burst
//! leaves hundreds of thousands of them queued; glibc parks small freed blocks in "fastbins"
//! and coalesces all of them at once on the process's next allocation of a kilobyte or more.
//! That single call then takes tens of milliseconds (measured: 50–90 ms after a burst of
//! 200,000 messages on a 2-core machine), stalling the node at an arbitrary later moment.
//!
//! Disabling fastbins (`M_MXFAST = 0`) makes glibc coalesce each block when it is freed, so
//! the cost is spread evenly over the frees; the per-thread cache (tcache) still serves the
//! common small allocations, so the steady-state cost is unchanged within measurement noise.
//!
//! This is applied once per process when a node joins a dataflow. Setting the environment
//! variable `DORA_KEEP_MALLOC_FASTBINS=1` leaves the allocator as it is (for a node that tunes
//! `mallopt` itself). Other C libraries and custom global allocators are not touched.

/// Environment variable that keeps the allocator's defaults.
pub const KEEP_FASTBINS_ENV: &str = "DORA_KEEP_MALLOC_FASTBINS";

/// Applies the tuning described in the module documentation (once; later calls do nothing).
pub(crate) fn tune() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os(KEEP_FASTBINS_ENV).is_some_and(|v| v != "0" && !v.is_empty()) {
            return;
        }
        disable_fastbins();
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn disable_fastbins() {
    // SAFETY: mallopt only changes allocator parameters; glibc consolidates existing
    // fastbin blocks under the arena lock before applying the new limit. A refusal (it
    // returns 0) leaves the defaults, which are correct, only slower in the case above.
    unsafe { libc::mallopt(libc::M_MXFAST, 0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn disable_fastbins() {}
