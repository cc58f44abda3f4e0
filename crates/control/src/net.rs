//! Framed, versioned connections of the control plane (CLI, coordinator, daemons).
//!
//! Frames are those of [`dora_message::frame`]. The connecting side sends a [`Handshake`]
//! first; the accepting side answers within [`HANDSHAKE_TIMEOUT`] or drops the connection.
//! Anything else — garbage, a truncated or oversized frame, another protocol version — ends
//! that connection with a logged reason and affects nothing else.
//!
//! # Budgets after the handshake
//!
//! Every frame is read under [`FrameLimits`]: its length prefix is checked against the
//! connection's budget before anything is allocated, its body must arrive within
//! [`FrameLimits::deadline`] of the prefix (a peer that announces a frame and stalls is
//! dropped with a reason), and the body's buffer grows as bytes arrive instead of being
//! allocated at the announced length, so an unfinished frame costs what was sent, not what
//! was announced. CLI requests get [`FrameLimits::CLI`] (a request is a dataflow's text at
//! most); everything else [`FrameLimits::DEFAULT`].

use std::{net::SocketAddr, path::Path, time::Duration};

use dora_message::{
    coordinator::{Handshake, HandshakeReply, Role},
    frame::{self, FrameError},
    PROTOCOL_VERSION,
};
use eyre::WrapErr;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpStream, UnixStream},
};

use crate::access::{self, Token};

/// How long a new connection may take to introduce itself.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// What one connection may cost per frame: the largest body, and how long the body may take
/// to arrive once its length prefix did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// The largest frame body accepted (at most [`frame::MAX_FRAME_LEN`]).
    pub max_len: u64,
    /// The time a body may take regardless of its size.
    pub deadline_floor: Duration,
    /// The slowest link assumed, in bytes per second: a body of `n` bytes gets
    /// `deadline_floor + n / min_rate` seconds.
    pub min_rate: u64,
}

impl FrameLimits {
    /// Frames between the coordinator and daemons and the coordinator's replies: up to
    /// [`frame::MAX_FRAME_LEN`], within 10 s plus 1 s per 256 KiB (a 64 MiB frame may take
    /// 266 s, a link of 2 Mbit/s).
    pub const DEFAULT: FrameLimits = FrameLimits {
        max_len: frame::MAX_FRAME_LEN,
        deadline_floor: Duration::from_secs(10),
        min_rate: 256 * 1024,
    };

    /// A CLI's request: a dataflow's text at most (the descriptor parser refuses more than
    /// 16 MB), so up to 17 MiB, with the deadline of [`FrameLimits::DEFAULT`].
    pub const CLI: FrameLimits = FrameLimits {
        max_len: 17 * 1024 * 1024,
        ..FrameLimits::DEFAULT
    };

    /// How long a body of `len` bytes may take to arrive after its prefix.
    pub fn deadline(&self, len: u64) -> Duration {
        self.deadline_floor + Duration::from_secs_f64(len as f64 / self.min_rate.max(1) as f64)
    }
}

/// How much of a body is read (and the buffer grown) at a time.
const READ_STEP: usize = 64 * 1024;

/// Reads one frame under [`FrameLimits::DEFAULT`]; `Ok(None)` on a clean end of stream
/// before a frame starts. A stream that ends inside a frame (its length prefix or its body)
/// is an error that says so.
pub async fn read_frame<T: serde::de::DeserializeOwned>(
    stream: &mut (impl AsyncRead + Unpin),
) -> Result<Option<T>, FrameError> {
    read_frame_with(stream, FrameLimits::DEFAULT).await
}

/// Reads one frame under `limits`: a length above `limits.max_len` is refused before any
/// allocation, the body must arrive within `limits.deadline(len)` (else a
/// [`std::io::ErrorKind::TimedOut`] error naming what arrived), and no more than what arrived
/// plus [`READ_STEP`] is ever allocated for it. Waiting for the prefix has no deadline:
/// an idle connection is the caller's concern.
pub async fn read_frame_with<T: serde::de::DeserializeOwned>(
    stream: &mut (impl AsyncRead + Unpin),
    limits: FrameLimits,
) -> Result<Option<T>, FrameError> {
    let mut prefix = [0u8; 8];
    match read_full(stream, &mut prefix).await? {
        0 => return Ok(None),
        8 => {}
        got => return Err(truncated(got, "of the 8-byte length prefix")),
    }
    let len = frame::check_len(prefix)?;
    if len as u64 > limits.max_len {
        return Err(FrameError::OverBudget {
            len: len as u64,
            budget: limits.max_len,
        });
    }
    let deadline = limits.deadline(len as u64);
    let mut body = Vec::new();
    match tokio::time::timeout(deadline, read_growing(stream, &mut body, len)).await {
        Err(_) => Err(FrameError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "the body of a {len}-byte frame did not arrive within {deadline:?} \
                 ({} bytes arrived)",
                body.len()
            ),
        ))),
        Ok(Err(err)) => Err(err),
        Ok(Ok(())) if body.len() < len => {
            Err(truncated(body.len(), &format!("of the {len}-byte body")))
        }
        Ok(Ok(())) => frame::decode(&body).map(Some),
    }
}

/// Appends up to `len` bytes of `stream` to `body` through a buffer of at most
/// [`READ_STEP`] bytes, so `body` only ever holds what arrived; stops early when the stream
/// ends.
async fn read_growing(
    stream: &mut (impl AsyncRead + Unpin),
    body: &mut Vec<u8>,
    len: usize,
) -> Result<(), FrameError> {
    let mut step = vec![0u8; len.min(READ_STEP)];
    while body.len() < len {
        let want = (len - body.len()).min(step.len());
        match stream.read(&mut step[..want]).await {
            Ok(0) => return Ok(()),
            Ok(n) => body.extend_from_slice(&step[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// Fills `buf` unless the stream ends first; returns how many bytes were read.
async fn read_full(
    stream: &mut (impl AsyncRead + Unpin),
    buf: &mut [u8],
) -> Result<usize, FrameError> {
    let mut filled = 0;
    while filled < buf.len() {
        match stream.read(&mut buf[filled..]).await {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(filled)
}

/// The error of a stream that ended inside a frame, after `got` bytes of `part`.
fn truncated(got: usize, part: &str) -> FrameError {
    FrameError::Io(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        format!(
            "the peer closed the connection in the middle of a frame (after {got} bytes {part})"
        ),
    ))
}

/// Writes one frame.
pub async fn write_frame<T: serde::Serialize>(
    stream: &mut (impl AsyncWrite + Unpin),
    value: &T,
) -> Result<(), FrameError> {
    stream.write_all(&frame::encode(value)?).await?;
    Ok(())
}

/// Connects to `addr` and introduces this process as `role`, without a token: only for
/// listeners that need none (see [`connect_with_token`]).
pub async fn connect(addr: SocketAddr, role: Role) -> eyre::Result<TcpStream> {
    connect_with_token(addr, role, None).await
}

/// Connects to `addr` and introduces this process as `role`, presenting `token` (which the
/// coordinator's TCP ports and daemons' data ports require).
pub async fn connect_with_token(
    addr: SocketAddr,
    role: Role,
    token: Option<&Token>,
) -> eyre::Result<TcpStream> {
    let mut stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| eyre::eyre!("connecting to {addr} timed out"))?
        .wrap_err_with(|| format!("cannot connect to {addr}"))?;
    let _ = stream.set_nodelay(true);
    introduce(&mut stream, &addr.to_string(), role, token).await?;
    Ok(stream)
}

/// Connects to the coordinator's Unix socket at `path` as `role`. Refuses a coordinator
/// that runs as another user than this process or root (see [`access::may_trust`]).
pub async fn connect_unix(path: &Path, role: Role) -> eyre::Result<UnixStream> {
    let shown = path.display().to_string();
    let mut stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, UnixStream::connect(path))
        .await
        .map_err(|_| eyre::eyre!("connecting to {shown} timed out"))?
        .wrap_err_with(|| format!("cannot connect to {shown}"))?;
    let server = stream
        .peer_cred()
        .wrap_err_with(|| format!("asking the kernel who listens on {shown}"))?
        .uid();
    let me = access::effective_uid();
    if !access::may_trust(me, server) {
        eyre::bail!(
            "the coordinator socket {shown} belongs to a process of uid {server}, neither you              (uid {me}) nor root; not talking to it"
        );
    }
    introduce(&mut stream, &shown, role, None).await?;
    Ok(stream)
}

/// Sends the handshake on a new connection to `peer` and reads the answer.
async fn introduce(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
    peer: &str,
    role: Role,
    token: Option<&Token>,
) -> eyre::Result<()> {
    write_frame(
        stream,
        &Handshake {
            protocol_version: PROTOCOL_VERSION.into(),
            role,
            token: token.map(|t| t.expose().to_owned()),
        },
    )
    .await
    // The frame error's text already names its cause; a wrapped chain would repeat it.
    .map_err(|err| eyre::eyre!("sending the handshake to {peer}: {err}"))?;
    let reply = tokio::time::timeout(HANDSHAKE_TIMEOUT, read_frame::<HandshakeReply>(stream))
        .await
        .map_err(|_| eyre::eyre!("{peer} did not answer the handshake"))?
        .map_err(|err| eyre::eyre!("reading the handshake reply from {peer}: {err}"))?;
    match reply {
        Some(HandshakeReply::Accepted { .. }) => Ok(()),
        Some(HandshakeReply::Refused(reason)) => Err(eyre::eyre!("{peer} refused: {reason}")),
        None => Err(eyre::eyre!(
            "{peer} closed the connection during the handshake"
        )),
    }
}

/// Accepts the handshake of a new connection; `Err` carries the reason it was dropped
/// (already answered to the peer when it was a version mismatch). Admits any peer: see
/// [`accept_checked`].
pub async fn accept(stream: &mut TcpStream) -> Result<Role, String> {
    accept_checked(stream, |_| Ok(())).await
}

/// Accepts the handshake of a new connection if its protocol version is ours and `admit`
/// lets it in; `Err` carries the reason it was dropped, which the peer was told when it got
/// as far as a handshake.
pub async fn accept_checked<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    admit: impl FnOnce(&Handshake) -> Result<(), String>,
) -> Result<Role, String> {
    let handshake =
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, read_frame::<Handshake>(stream)).await {
            Err(_) => return Err(format!("no handshake within {HANDSHAKE_TIMEOUT:?}")),
            Ok(Ok(Some(handshake))) => handshake,
            Ok(Ok(None)) => return Err("closed before the handshake".into()),
            Ok(Err(err)) => return Err(format!("invalid handshake: {err}")),
        };
    let admitted = if handshake.protocol_version != PROTOCOL_VERSION {
        Err(format!(
            "protocol version mismatch: this side speaks {PROTOCOL_VERSION}, the peer speaks {}",
            handshake.protocol_version
        ))
    } else {
        admit(&handshake)
    };
    if let Err(reason) = admitted {
        let _ = write_frame(stream, &HandshakeReply::Refused(reason.clone())).await;
        return Err(reason);
    }
    write_frame(
        stream,
        &HandshakeReply::Accepted {
            protocol_version: PROTOCOL_VERSION.into(),
        },
    )
    .await
    .map_err(|err| format!("answering the handshake: {err}"))?;
    Ok(handshake.role)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_is_dropped_after_the_deadline_without_allocating_it() {
        let (mut peer, mut ours) = tokio::io::duplex(1024);
        let announced: u64 = 8 * 1024 * 1024;
        peer.write_all(&announced.to_le_bytes()).await.unwrap();
        peer.write_all(b"a few bytes").await.unwrap();
        let limits = FrameLimits::CLI;
        let started = tokio::time::Instant::now();
        let err = read_frame_with::<Vec<u8>>(&mut ours, limits)
            .await
            .expect_err("a stalled frame fails");
        assert_eq!(started.elapsed(), limits.deadline(announced));
        let text = err.to_string();
        assert!(text.contains("did not arrive within"), "{text}");
        assert!(text.contains("11 bytes arrived"), "{text}");
        drop(peer);
    }

    #[tokio::test]
    async fn a_frame_over_the_budget_is_refused_at_its_prefix() {
        let (mut peer, mut ours) = tokio::io::duplex(1024);
        let announced: u64 = 60 * 1024 * 1024;
        peer.write_all(&announced.to_le_bytes()).await.unwrap();
        match read_frame_with::<Vec<u8>>(&mut ours, FrameLimits::CLI).await {
            Err(FrameError::OverBudget { len, budget }) => {
                assert_eq!(len, announced);
                assert_eq!(budget, FrameLimits::CLI.max_len);
            }
            other => panic!("expected OverBudget, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_frame_arriving_in_small_pieces_is_read_whole() {
        let (mut peer, mut ours) = tokio::io::duplex(100);
        let value = vec![7u8; 300_000];
        let bytes = frame::encode(&value).unwrap();
        let writer = tokio::spawn(async move {
            for piece in bytes.chunks(777) {
                peer.write_all(piece).await.unwrap();
            }
        });
        let read: Option<Vec<u8>> = read_frame(&mut ours).await.unwrap();
        assert_eq!(read, Some(value));
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn a_stream_ending_inside_a_body_says_so() {
        let (mut peer, mut ours) = tokio::io::duplex(1024);
        peer.write_all(&100u64.to_le_bytes()).await.unwrap();
        peer.write_all(&[1, 2, 3]).await.unwrap();
        drop(peer);
        let err = read_frame::<Vec<u8>>(&mut ours).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("after 3 bytes of the 100-byte body"),
            "{err}"
        );
    }
}
