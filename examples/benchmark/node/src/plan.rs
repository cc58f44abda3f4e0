//! The schedule of a benchmark run, identical for dora and for the floor.
//!
//! 1. A pause until the start (by default [`SETTLE`] from now), so that every process has
//!    started and the machine is calm.
//! 2. **Latency phases**, one per size of [`SIZES`], in order: [`LATENCY_MESSAGES`]
//!    messages, [`LATENCY_INTERVAL`] apart, so each one finds the receiver idle (waiting in a
//!    blocking call) and measures a full wake-up.
//! 3. **Throughput phases**, one per size, in order: [`throughput_messages`] messages back to
//!    back; the receiver must get every one of them. Each is followed by a pause of
//!    [`SETTLE`], so that the backlog it may leave is drained before the next one starts.
//!
//! All latency phases come before the first throughput phase: a burst leaves work behind
//! (a deep queue to drain, shared memory regions to give back and unmap), and a latency
//! phase that overlaps it would measure that clean-up instead of an idle receiver's wake-up.
//!
//! # Modes taking turns
//!
//! The machine this runs on may be shared: its speed changes by several times in phases of a
//! few seconds. Modes run one whole schedule after the other (about a minute each) would each
//! meet a different machine, and their ratio would measure the machine. So `run.sh` starts
//! the modes together, on one [`Schedule`] (environment variables, see
//! [`Schedule::from_env`]), and they take turns:
//!
//! - The latency phase of a size is cut into blocks of [`LATENCY_BLOCK`] messages (100 ms),
//!   and the modes send their blocks in turn (mode 0's first block, mode 1's, …, mode 0's
//!   second block, …). The modes compared at a size are thus measured within the same three
//!   seconds, each message still 10 ms or more after the previous one of any mode, and only
//!   one mode is ever active.
//! - The throughput phases take turns on an exclusive lock on a shared file, each held for
//!   the phase and its [`SETTLE`] pause.

use std::{
    fs::File,
    os::fd::AsRawFd,
    path::PathBuf,
    thread,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::{message::Header, Result};

/// Payload sizes in bytes, the ones of dora-rs's benchmark.
pub const SIZES: [usize; 11] = [
    0, 8, 64, 512, 2048, 4096, 16384, 40960, 409600, 4096000, 40960000,
];

/// Messages per latency phase.
pub const LATENCY_MESSAGES: u64 = 100;

/// Time between two messages of a latency phase.
pub const LATENCY_INTERVAL: Duration = Duration::from_millis(10);

/// Latency messages a mode sends in one turn (see the module documentation).
pub const LATENCY_BLOCK: u64 = 10;

/// Pause between the latency phases of two sizes.
pub const SIZE_GAP: Duration = Duration::from_millis(100);

/// Pause before the first phase and after each throughput phase: long enough for a receiver
/// to work through the backlog a throughput phase leaves in its queue (200,000 messages at
/// 100k/s), so that it does not slow down the next throughput phase.
pub const SETTLE: Duration = Duration::from_millis(2000);

/// Messages per throughput phase for `size`: enough for the phase to last a few hundred
/// milliseconds in both modes on a small machine. Above 40 KB the floor is bound by copying
/// (about 4 GB in total per size), while dora does not copy and goes faster.
pub fn throughput_messages(size: usize) -> u64 {
    const LARGE_TOTAL_BYTES: u64 = 4_000_000_000;
    match size {
        0..=2048 => 200_000,
        2049..=40960 => 100_000,
        _ => (LARGE_TOTAL_BYTES / size as u64).clamp(50, 10_000),
    }
}

/// The two phases of each size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Messages spaced apart, each finding the receiver idle.
    Latency,
    /// Messages back to back.
    Throughput,
}

impl Phase {
    /// The name of the phase, also the dora output and input id that carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Latency => "latency",
            Phase::Throughput => "throughput",
        }
    }

    /// The phase named `name` (see [`Phase::as_str`]).
    pub fn from_name(name: &str) -> Result<Phase> {
        match name {
            "latency" => Ok(Phase::Latency),
            "throughput" => Ok(Phase::Throughput),
            other => Err(format!("unknown phase `{other}`").into()),
        }
    }
}

/// How a sender gets one message to the receiver; one implementation per mode.
pub trait Transport {
    /// Sends a message of `header.size` bytes described by `header`. The send timestamp is
    /// taken as late as possible, right before the payload leaves (or is lent to) the sender.
    fn send(&mut self, header: Header) -> Result<()>;
}

/// Environment variable: when the first latency message is due, in nanoseconds since the
/// Unix epoch.
pub const START_ENV: &str = "BENCHMARK_START_NS";
/// Environment variable: the modes that take turns, comma-separated, in the order of their
/// turns.
pub const MODES_ENV: &str = "BENCHMARK_MODES";
/// Environment variable: the file whose exclusive lock the throughput phases take turns on.
pub const LOCK_ENV: &str = "BENCHMARK_LOCK";

/// A start later than this means the mode was not ready in time: its latency messages would
/// no longer fall in its turns.
const LATE_LIMIT: Duration = Duration::from_secs(1);

/// When a mode sends, alone or taking turns with others (see the module documentation).
#[derive(Debug)]
pub struct Schedule {
    /// When the first latency window begins.
    start: SystemTime,
    /// This mode's turn among the modes.
    turn: u32,
    /// How many modes take turns.
    modes: u32,
    /// The file the throughput phases take turns on; `None` when running alone.
    lock: Option<PathBuf>,
}

impl Schedule {
    /// A mode running alone: starts [`SETTLE`] from now.
    pub fn alone() -> Schedule {
        Schedule {
            start: SystemTime::now() + SETTLE,
            turn: 0,
            modes: 1,
            lock: None,
        }
    }

    /// The schedule of `mode` that [`START_ENV`], [`MODES_ENV`] and [`LOCK_ENV`] describe
    /// (all three, or none: then [`Schedule::alone`]).
    pub fn from_env(mode: &str) -> Result<Schedule> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Schedule::from_values(mode, var(START_ENV), var(MODES_ENV), var(LOCK_ENV))
    }

    /// [`Schedule::from_env`] with the variables' values.
    fn from_values(
        mode: &str,
        start: Option<String>,
        modes: Option<String>,
        lock: Option<String>,
    ) -> Result<Schedule> {
        let (start, modes, lock) = match (start, modes, lock) {
            (None, None, None) => return Ok(Schedule::alone()),
            (Some(start), Some(modes), Some(lock)) => (start, modes, lock),
            _ => {
                return Err(format!(
                    "set all of {START_ENV}, {MODES_ENV} and {LOCK_ENV}, or none of them"
                )
                .into())
            }
        };
        let start: u64 = start
            .parse()
            .map_err(|_| format!("{START_ENV}=`{start}` is not a number of nanoseconds"))?;
        let modes: Vec<&str> = modes.split(',').map(str::trim).collect();
        let turn = modes
            .iter()
            .position(|m| *m == mode)
            .ok_or_else(|| format!("{MODES_ENV}=`{}` does not list `{mode}`", modes.join(",")))?;
        Ok(Schedule {
            start: UNIX_EPOCH + Duration::from_nanos(start),
            turn: turn as u32,
            modes: modes.len() as u32,
            lock: Some(lock.into()),
        })
    }

    /// The time the latency phases of one size take, all modes together.
    fn size_span(&self) -> Duration {
        LATENCY_INTERVAL * (LATENCY_MESSAGES as u32 * self.modes) + SIZE_GAP
    }

    /// When the latency message `seq` of the size at `size_index` is due: in this mode's
    /// turn of block `seq / LATENCY_BLOCK`.
    fn message_due(&self, size_index: u32, seq: u64) -> SystemTime {
        let block = (seq / LATENCY_BLOCK) as u32;
        let in_block = (seq % LATENCY_BLOCK) as u32;
        let turns = block * self.modes + self.turn;
        self.start
            + self.size_span() * size_index
            + LATENCY_INTERVAL * (turns * LATENCY_BLOCK as u32 + in_block)
    }

    /// When every mode's latency phases are over.
    fn latency_end(&self) -> SystemTime {
        self.start + self.size_span() * SIZES.len() as u32
    }

    /// Waits for this mode's turn to load the machine; the turn lasts as long as the
    /// returned guard.
    fn take_turn(&self) -> Result<Option<File>> {
        let Some(path) = &self.lock else {
            return Ok(None);
        };
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|err| format!("cannot open the lock file {}: {err}", path.display()))?;
        loop {
            // SAFETY: flock on a descriptor we own; the lock ends when the file is closed.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(Some(file));
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(format!("cannot lock {}: {err}", path.display()).into());
            }
        }
    }
}

fn sleep_until(due: SystemTime) {
    if let Ok(wait) = due.duration_since(SystemTime::now()) {
        thread::sleep(wait);
    }
}

/// Sends the whole schedule through `transport`, at the times `schedule` gives.
pub fn run(transport: &mut impl Transport, schedule: &Schedule) -> Result<()> {
    if let Ok(late) = SystemTime::now().duration_since(schedule.start) {
        if late > LATE_LIMIT {
            return Err(format!(
                "ready {} ms after the common start: its latency messages would not fall in \
                 its turns (start the modes earlier, or with a later {START_ENV})",
                late.as_millis()
            )
            .into());
        }
    }
    for (size_index, size) in SIZES.into_iter().enumerate() {
        for seq in 0..LATENCY_MESSAGES {
            sleep_until(schedule.message_due(size_index as u32, seq));
            transport.send(Header {
                phase: Phase::Latency,
                size,
                seq,
                count: LATENCY_MESSAGES,
            })?;
        }
    }
    // No burst before every mode's last latency message.
    sleep_until(schedule.latency_end());
    for size in SIZES {
        let _turn = schedule.take_turn()?;
        let count = throughput_messages(size);
        for seq in 0..count {
            transport.send(Header {
                phase: Phase::Throughput,
                size,
                seq,
                count,
            })?;
        }
        thread::sleep(SETTLE);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taking_turns(mode: &str) -> Schedule {
        Schedule::from_values(
            mode,
            Some("1000000000000".into()),
            Some("dora,cxx,floor".into()),
            Some("/tmp/lock".into()),
        )
        .expect("a schedule")
    }

    /// Every latency message of every mode, in time order: (due, mode, size index, seq).
    fn all_messages(schedules: &[(&str, Schedule)]) -> Vec<(SystemTime, String, u32, u64)> {
        let mut messages = Vec::new();
        for (mode, schedule) in schedules {
            for size_index in 0..SIZES.len() as u32 {
                for seq in 0..LATENCY_MESSAGES {
                    let due = schedule.message_due(size_index, seq);
                    messages.push((due, mode.to_string(), size_index, seq));
                }
            }
        }
        messages.sort();
        messages
    }

    #[test]
    fn modes_take_turns_in_blocks_never_closer_than_the_interval() {
        let schedules: Vec<_> = ["dora", "cxx", "floor"]
            .into_iter()
            .map(|mode| (mode, taking_turns(mode)))
            .collect();
        let messages = all_messages(&schedules);
        for pair in messages.windows(2) {
            let gap = pair[1].0.duration_since(pair[0].0).expect("in order");
            assert!(gap >= LATENCY_INTERVAL, "{pair:?} are {gap:?} apart");
        }
        // Blocks of 10 of one mode, the modes in the listed order, sizes in order.
        let first: Vec<_> = messages
            .iter()
            .take(31)
            .map(|(_, mode, size, seq)| (mode.as_str(), *size, *seq))
            .collect();
        assert_eq!(first[0], ("dora", 0, 0));
        assert_eq!(first[9], ("dora", 0, 9));
        assert_eq!(first[10], ("cxx", 0, 0));
        assert_eq!(first[20], ("floor", 0, 0));
        assert_eq!(first[30], ("dora", 0, 10));
        // A size's phases, all modes, end before the next size's begin.
        let last_of_size_0 = messages.iter().filter(|m| m.2 == 0).map(|m| m.0).max();
        let first_of_size_1 = messages.iter().filter(|m| m.2 == 1).map(|m| m.0).min();
        assert!(last_of_size_0 < first_of_size_1);
        // The bursts begin after every latency message.
        let last = messages.last().expect("messages").0;
        for (_, schedule) in &schedules {
            assert!(schedule.latency_end() > last);
        }
    }

    #[test]
    fn a_mode_alone_sends_each_size_10_ms_apart() {
        let schedule = Schedule::alone();
        for seq in 1..LATENCY_MESSAGES {
            let gap = schedule
                .message_due(3, seq)
                .duration_since(schedule.message_due(3, seq - 1))
                .expect("in order");
            assert_eq!(gap, LATENCY_INTERVAL);
        }
    }

    #[test]
    fn incomplete_or_wrong_variables_are_refused() {
        let some = |text: &str| Some(text.to_owned());
        let error = |result: Result<Schedule>| result.expect_err("refused").to_string();
        assert!(error(Schedule::from_values("dora", some("1"), None, None)).contains("set all"));
        assert!(error(Schedule::from_values(
            "dora",
            some("soon"),
            some("dora"),
            some("/tmp/lock")
        ))
        .contains("`soon` is not a number"));
        assert!(error(Schedule::from_values(
            "python",
            some("1"),
            some("dora,floor"),
            some("/tmp/lock")
        ))
        .contains("does not list `python`"));
        assert!(Schedule::from_values("dora", None, None, None).is_ok());
    }
}
