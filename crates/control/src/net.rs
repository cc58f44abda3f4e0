//! Framed, versioned connections of the control plane (CLI, coordinator, daemons).
//!
//! Frames are those of [`dora_message::frame`]. The connecting side sends a [`Handshake`]
//! first; the accepting side answers within [`HANDSHAKE_TIMEOUT`] or drops the connection.
//! Anything else — garbage, a truncated or oversized frame, another protocol version — ends
//! that connection with a logged reason and affects nothing else.

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

/// Reads one frame; `Ok(None)` on a clean end of stream before a frame starts. A stream
/// that ends inside a frame (its length prefix or its body) is an error that says so.
pub async fn read_frame<T: serde::de::DeserializeOwned>(
    stream: &mut (impl AsyncRead + Unpin),
) -> Result<Option<T>, FrameError> {
    let mut prefix = [0u8; 8];
    match read_full(stream, &mut prefix).await? {
        0 => return Ok(None),
        8 => {}
        got => return Err(truncated(got, "of the 8-byte length prefix")),
    }
    let len = frame::check_len(prefix)?;
    let mut body = vec![0u8; len];
    let got = read_full(stream, &mut body).await?;
    if got < len {
        return Err(truncated(got, &format!("of the {len}-byte body")));
    }
    frame::decode(&body).map(Some)
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
