//! The DDS plumbing shared by [`Ros2Node`](crate::Ros2Node) and the bridge of the `dora`
//! binary: raw CDR payloads in and out of `rustdds` (message layouts are known only at run
//! time), the `ros_discovery_info` announcement that makes a node visible to `ros2 node list`,
//! and ROS 2's environment (`ROS_DOMAIN_ID`, `ROS_LOCALHOST_ONLY`,
//! `ROS_AUTOMATIC_DISCOVERY_RANGE`).

use rustdds::{
    no_key::{
        DataReader, DataWriter, Decode, DefaultDecoder, DeserializerAdapter, SerializerAdapter,
    },
    DomainParticipant, DomainParticipantBuilder, Publisher, RepresentationIdentifier, TopicKind,
};

use crate::{Qos, Ros2Error};

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

/// A DDS writer of raw CDR payloads (the type is known only at run time).
pub type RawWriter = DataWriter<RawMessage, RawCdr>;
/// A DDS reader of raw CDR payloads (the type is known only at run time).
pub type RawReader = DataReader<RawMessage, RawCdr>;

/// The topic rmw implementations announce their nodes on.
pub const DISCOVERY_TOPIC: &str = "ros_discovery_info";
/// The DDS type of [`DISCOVERY_TOPIC`].
pub const DISCOVERY_TYPE: &str = "rmw_dds_common::msg::dds_::ParticipantEntitiesInfo_";

/// The QoS of [`DISCOVERY_TOPIC`]: reliable, transient local, keep-last 1.
pub fn discovery_qos() -> Qos {
    Qos {
        transient_local: true,
        keep_last: Some(1),
        ..Qos::default()
    }
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

/// Highest ROS 2 domain id.
pub const MAX_DOMAIN_ID: u16 = 232;

/// The domain: `explicit` if given, else `ROS_DOMAIN_ID`, else 0.
pub fn domain_id(explicit: Option<u16>) -> Result<u16, Ros2Error> {
    let (origin, value) = match explicit {
        Some(id) => ("domain_id ", id.to_string()),
        None => match std::env::var("ROS_DOMAIN_ID") {
            Ok(value) if !value.trim().is_empty() => ("ROS_DOMAIN_ID=", value),
            _ => return Ok(0),
        },
    };
    value
        .trim()
        .parse::<u16>()
        .ok()
        .filter(|d| *d <= MAX_DOMAIN_ID)
        .ok_or(Ros2Error::DomainId { origin, value })
}

/// Whether ROS 2's environment asks to keep DDS traffic on this machine
/// (`ROS_LOCALHOST_ONLY=1` or `ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`).
pub fn localhost_only() -> bool {
    std::env::var("ROS_LOCALHOST_ONLY").is_ok_and(|v| v == "1")
        || std::env::var("ROS_AUTOMATIC_DISCOVERY_RANGE").is_ok_and(|v| v == "LOCALHOST")
}

/// A DDS participant in the domain [`domain_id`] resolves, kept on the loopback interface
/// when [`localhost_only`] asks for it. Returns the domain too.
pub fn create_participant(
    explicit_domain: Option<u16>,
) -> Result<(DomainParticipant, u16), Ros2Error> {
    let domain = domain_id(explicit_domain)?;
    let mut builder = DomainParticipantBuilder::new(domain);
    if localhost_only() {
        builder = builder.with_only_networks([std::net::Ipv4Addr::LOCALHOST]);
    }
    let participant = builder.build().map_err(|err| {
        Ros2Error::dds(
            format!("creating the DDS participant in domain {domain}"),
            err,
        )
    })?;
    Ok((participant, domain))
}

/// A writer on [`DISCOVERY_TOPIC`], for announcing nodes with
/// [`participant_entities_info`].
pub fn discovery_writer(
    participant: &DomainParticipant,
    publisher: &Publisher,
) -> Result<RawWriter, Ros2Error> {
    let qos = discovery_qos().to_dds();
    let topic = participant
        .create_topic(
            DISCOVERY_TOPIC.into(),
            DISCOVERY_TYPE.into(),
            &qos,
            TopicKind::NoKey,
        )
        .map_err(|err| Ros2Error::dds("creating ros_discovery_info", err))?;
    publisher
        .create_datawriter_no_key::<RawMessage, RawCdr>(&topic, Some(qos))
        .map_err(|err| Ros2Error::dds("announcing the node", err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_info_layout() {
        let info = participant_entities_info([1; 16], "/", "n", &[[2; 16]], &[]);
        // gid, node count, "/\0" (len 2), pad, "n\0" (len 2), pad, 1 reader gid, 0 writers.
        assert_eq!(info.len(), 16 + 4 + 4 + 2 + 2 + 4 + 2 + 2 + 4 + 16 + 4);
        assert_eq!(&info[16..20], &1u32.to_le_bytes());
    }

    #[test]
    fn explicit_domain_is_checked() {
        assert_eq!(domain_id(Some(7)).ok(), Some(7));
        assert!(matches!(
            domain_id(Some(233)),
            Err(Ros2Error::DomainId { .. })
        ));
    }
}
