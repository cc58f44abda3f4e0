//! The floor: the benchmark schedule through a plain Unix stream socket between two
//! processes, with no framework.
//!
//! ```text
//! benchmark-floor [--csv PATH]
//! ```
//!
//! The process creates a socket pair and re-executes itself as the receiver
//! (`--receive FD`), which inherits one end. The sender writes each message as one frame — a
//! [`FRAME_HEADER_LEN`]-byte header with the send time, then the whole payload — and the
//! receiver reads the frame completely before taking its arrival time. Unlike dora's shared
//! memory, the payload is copied through the kernel: that is what a socket costs. The
//! receiver appends its rows (mode `floor`) to PATH (default: `BENCHMARK_CSV`, or
//! `benchmark.csv`).

use std::{
    env,
    io::{BufReader, ErrorKind, Read, Write},
    os::{
        fd::{AsRawFd, FromRawFd, RawFd},
        unix::{net::UnixStream, process::CommandExt},
    },
    path::PathBuf,
    process::{Command, ExitCode},
    time::SystemTime,
};

use dora_benchmark::{
    conclude,
    message::{stamp, Header, FRAME_HEADER_LEN},
    plan::{self, Transport},
    record::Recorder,
    results, Result,
};

/// What the command line asks for.
enum Role {
    /// Start the receiver, then send the schedule.
    Send { csv: PathBuf },
    /// Receive on the inherited socket `fd`.
    Receive { fd: RawFd, csv: PathBuf },
}

impl Role {
    fn from_args(args: impl Iterator<Item = String>) -> Result<Role> {
        let mut csv = results::default_path();
        let mut fd = None;
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("`{arg}` needs a value"));
            match arg.as_str() {
                "--csv" => csv = value()?.into(),
                "--receive" => fd = Some(value()?.parse()?),
                other => return Err(format!("unexpected argument `{other}`").into()),
            }
        }
        Ok(match fd {
            Some(fd) => Role::Receive { fd, csv },
            None => Role::Send { csv },
        })
    }
}

/// Writes frames into the socket, reusing one buffer per size.
struct SocketSender {
    stream: UnixStream,
    frame: Vec<u8>,
}

impl Transport for SocketSender {
    fn send(&mut self, header: Header) -> Result<()> {
        self.frame.resize(FRAME_HEADER_LEN + header.size, 0);
        let (head, payload) = self.frame.split_at_mut(FRAME_HEADER_LEN);
        stamp(payload, header.seq);
        let head: &mut [u8; FRAME_HEADER_LEN] = head.try_into()?;
        header.encode(SystemTime::now(), head);
        self.stream.write_all(&self.frame)?;
        Ok(())
    }
}

fn send(csv: PathBuf) -> Result<()> {
    let (stream, child_end) = UnixStream::pair()?;
    let fd = child_end.as_raw_fd();
    let mut command = Command::new(env::current_exe()?);
    command
        .arg("--receive")
        .arg(fd.to_string())
        .arg("--csv")
        .arg(&csv);
    // SAFETY: runs between fork and exec and only calls fcntl, which is async-signal-safe,
    // on a copied integer.
    unsafe {
        command.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    drop(child_end);
    let sent = plan::Schedule::from_env("floor").and_then(|schedule| {
        plan::run(
            &mut SocketSender {
                stream,
                frame: Vec::new(),
            },
            &schedule,
        )
    });
    // The sender's end is closed by now: the receiver sees the end of the stream.
    let status = child.wait()?;
    sent?;
    if !status.success() {
        return Err(format!("the receiver failed: {status}").into());
    }
    Ok(())
}

fn receive(fd: RawFd, csv: PathBuf) -> Result<()> {
    // SAFETY: the parent passed this descriptor for us alone and nothing else uses it.
    let stream = unsafe { UnixStream::from_raw_fd(fd) };
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut recorder = Recorder::default();
    let mut head = [0; FRAME_HEADER_LEN];
    let mut payload = Vec::new();
    loop {
        match reader.read_exact(&mut head) {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::UnexpectedEof => break,
            Err(err) => return Err(err.into()),
        }
        let (header, sent) = Header::decode(&head)?;
        payload.resize(header.size, 0);
        reader.read_exact(&mut payload)?;
        recorder.record(header, sent, SystemTime::now(), &payload);
    }
    conclude(recorder, "floor", &csv)
}

fn main() -> ExitCode {
    let result = Role::from_args(env::args().skip(1)).and_then(|role| match role {
        Role::Send { csv } => send(csv),
        Role::Receive { fd, csv } => receive(fd, csv),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("benchmark-floor: {err}");
            ExitCode::FAILURE
        }
    }
}
