//! The DDS side of the bridge, on `rustdds`: raw CDR payloads in and out (the message layout
//! is known only at run time), ROS 2 QoS, and the `ros_discovery_info` announcement that
//! makes the bridge's node visible to `ros2 node list` / `ros2 node info`.

use std::time::Duration;

use dora_descriptor::Ros2Qos;
use rustdds::{
    no_key::{
        DataReader, DataWriter, Decode, DefaultDecoder, DeserializerAdapter, SerializerAdapter,
    },
    policy::{Deadline, Durability, History, Lifespan, Liveliness, Reliability},
    QosPolicies, QosPolicyBuilder, RepresentationIdentifier,
};

/// A serialized message. Written: the CDR payload after the 4-byte encapsulation header
/// (rustdds adds the header). Read: the whole buffer, header included.
#[derive(Debug, Clone)]
pub struct RawMessage(pub Vec<u8>);

/// Writes and reads [`RawMessage`]s as little-endian CDR.
pub struct RawCdr;

impl SerializerAdapter<RawMessage> for RawCdr {
    type Error = std::io::Error;

    fn output_encoding() -> RepresentationIdentifier {
        RepresentationIdentifier::CDR_LE
    }

    fn to_bytes(value: &RawMessage) -> Result<rustdds::bytes::Bytes, Self::Error> {
        Ok(rustdds::bytes::Bytes::copy_from_slice(&value.0))
    }
}

impl DeserializerAdapter<RawMessage> for RawCdr {
    type Error = std::io::Error;
    type Decoded = RawMessage;

    fn supported_encodings() -> &'static [RepresentationIdentifier] {
        &[RepresentationIdentifier::CDR_LE]
    }

    fn transform_decoded(decoded: Self::Decoded) -> RawMessage {
        decoded
    }
}

/// Copies the payload as it is.
#[derive(Clone, Copy)]
pub struct RawDecoder;

impl<'de> Decode<'de, RawMessage> for RawDecoder {
    type Error = std::io::Error;

    fn decode_bytes(
        self,
        input_bytes: &'de [u8],
        encoding: RepresentationIdentifier,
    ) -> Result<RawMessage, Self::Error> {
        if encoding != RepresentationIdentifier::CDR_LE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("unsupported representation {encoding:?} (only little-endian CDR)"),
            ));
        }
        let mut message = Vec::with_capacity(4 + input_bytes.len());
        message.extend_from_slice(&[0x00, 0x01, 0x00, 0x00]);
        message.extend_from_slice(input_bytes);
        Ok(RawMessage(message))
    }
}

impl DefaultDecoder<RawMessage> for RawCdr {
    type Decoder = RawDecoder;
    const DECODER: Self::Decoder = RawDecoder;
}

pub type RawWriter = DataWriter<RawMessage, RawCdr>;
pub type RawReader = DataReader<RawMessage, RawCdr>;

/// The DDS QoS of a ROS 2 profile.
pub fn qos(profile: &Ros2Qos) -> QosPolicies {
    let to_dds = |d: Duration| rustdds::Duration::from(d);
    let mut builder = QosPolicyBuilder::new()
        .reliability(if profile.reliable {
            Reliability::Reliable {
                max_blocking_time: rustdds::Duration::from_millis(100),
            }
        } else {
            Reliability::BestEffort
        })
        .durability(if profile.transient_local {
            Durability::TransientLocal
        } else {
            Durability::Volatile
        })
        .history(match profile.keep_last {
            Some(depth) => History::KeepLast {
                depth: depth.min(i32::MAX as u32) as i32,
            },
            None => History::KeepAll,
        });
    if let Some(lifespan) = profile.lifespan {
        builder = builder.lifespan(Lifespan {
            duration: to_dds(lifespan),
        });
    }
    if let Some(deadline) = profile.deadline {
        builder = builder.deadline(Deadline(to_dds(deadline)));
    }
    if let Some(lease) = profile.liveliness {
        builder = builder.liveliness(Liveliness::Automatic {
            lease_duration: to_dds(lease),
        });
    }
    builder.build()
}

/// Describes a QoS profile the way a warning should show it.
pub fn describe(profile: &Ros2Qos) -> String {
    format!(
        "{{ reliability: {}, durability: {}, history: {} }}",
        if profile.reliable {
            "reliable"
        } else {
            "best_effort"
        },
        if profile.transient_local {
            "transient_local"
        } else {
            "volatile"
        },
        match profile.keep_last {
            Some(depth) => format!("keep_last({depth})"),
            None => "keep_all".into(),
        }
    )
}

/// CDR encoding of `rmw_dds_common/msg/ParticipantEntitiesInfo` (Jazzy: 16-byte GIDs) for one
/// node, as rmw implementations publish it on `ros_discovery_info`.
pub fn participant_entities_info(
    participant_gid: [u8; 16],
    namespace: &str,
    node_name: &str,
    readers: &[[u8; 16]],
    writers: &[[u8; 16]],
) -> Vec<u8> {
    let mut out = Vec::new();
    let align = |out: &mut Vec<u8>, n: usize| {
        while out.len() % n != 0 {
            out.push(0);
        }
    };
    let string = |out: &mut Vec<u8>, s: &str| {
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out.extend_from_slice(&((s.len() + 1) as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    };
    out.extend_from_slice(&participant_gid);
    align(&mut out, 4);
    out.extend_from_slice(&1u32.to_le_bytes());
    string(&mut out, namespace);
    string(&mut out, node_name);
    for gids in [readers, writers] {
        align(&mut out, 4);
        out.extend_from_slice(&(gids.len() as u32).to_le_bytes());
        for gid in gids {
            out.extend_from_slice(gid);
        }
    }
    out
}
