//! Framed, versioned connections of the control plane (CLI, coordinator, daemons).
//!
//! Frames are those of [`dora_message::frame`]. The connecting side sends a [`Handshake`]
//! first; the accepting side answers within [`HANDSHAKE_TIMEOUT`] or drops the connection.
//! Anything else — garbage, a truncated or oversized frame, another protocol version — ends
//! that connection with a logged reason and affects nothing else.

use std::{net::SocketAddr, time::Duration};

use dora_message::{
    coordinator::{Handshake, HandshakeReply, Role},
    frame::{self, FrameError},
    PROTOCOL_VERSION,
};
use eyre::WrapErr;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};

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

/// Connects to `addr` and introduces this process as `role`.
pub async fn connect(addr: SocketAddr, role: Role) -> eyre::Result<TcpStream> {
    let mut stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| eyre::eyre!("connecting to {addr} timed out"))?
        .wrap_err_with(|| format!("cannot connect to {addr}"))?;
    let _ = stream.set_nodelay(true);
    write_frame(
        &mut stream,
        &Handshake {
            protocol_version: PROTOCOL_VERSION.into(),
            role,
        },
    )
    .await
    // The frame error's text already names its cause; a wrapped chain would repeat it.
    .map_err(|err| eyre::eyre!("sending the handshake to {addr}: {err}"))?;
    let reply = tokio::time::timeout(HANDSHAKE_TIMEOUT, read_frame::<HandshakeReply>(&mut stream))
        .await
        .map_err(|_| eyre::eyre!("{addr} did not answer the handshake"))?
        .map_err(|err| eyre::eyre!("reading the handshake reply from {addr}: {err}"))?;
    match reply {
        Some(HandshakeReply::Accepted { .. }) => Ok(stream),
        Some(HandshakeReply::Refused(reason)) => Err(eyre::eyre!("{addr} refused: {reason}")),
        None => Err(eyre::eyre!(
            "{addr} closed the connection during the handshake"
        )),
    }
}

/// Accepts the handshake of a new connection; `Err` carries the reason it was dropped
/// (already answered to the peer when it was a version mismatch).
pub async fn accept(stream: &mut TcpStream) -> Result<Role, String> {
    let handshake =
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, read_frame::<Handshake>(stream)).await {
            Err(_) => return Err(format!("no handshake within {HANDSHAKE_TIMEOUT:?}")),
            Ok(Ok(Some(handshake))) => handshake,
            Ok(Ok(None)) => return Err("closed before the handshake".into()),
            Ok(Err(err)) => return Err(format!("invalid handshake: {err}")),
        };
    if handshake.protocol_version != PROTOCOL_VERSION {
        let reason = format!(
            "protocol version mismatch: this side speaks {PROTOCOL_VERSION}, the peer speaks {}",
            handshake.protocol_version
        );
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
