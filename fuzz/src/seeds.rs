//! Writes the generated part of the fuzzers' seed corpus: encoded control-plane frames and
//! CDR messages, which exist in the tests only as values, not as files. The YAML and
//! `.msg`/`.srv` seeds are files of the repository that `scripts/fuzz` copies.
//!
//! Usage: `seeds CORPUS_ROOT`; writes `CORPUS_ROOT/control_frame/*` and `CORPUS_ROOT/cdr/*`.

use std::path::Path;
use std::time::Duration;

use dora_fuzz::CDR_TYPES;
use dora_message::coordinator::ControlRequest;
use dora_message::frame;
use dora_ros2_types::{deserialize, serialize, TypeStore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::args_os()
        .nth(1)
        .ok_or("usage: seeds CORPUS_ROOT")?;
    let root = Path::new(&root);
    write_frames(&root.join("control_frame"))?;
    write_cdr(&root.join("cdr"))?;
    Ok(())
}

fn write_frames(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let requests = [
        ControlRequest::List,
        ControlRequest::Status,
        ControlRequest::Destroy,
        ControlRequest::Attach {
            dataflow: "robot".into(),
        },
        ControlRequest::Stop {
            dataflow: Some("0190f1a2-0000-7000-8000-000000000000".into()),
            grace_duration: Some(Duration::from_millis(1500)),
        },
    ];
    let mut stream = Vec::new();
    for (i, request) in requests.iter().enumerate() {
        let bytes = frame::encode(request)?;
        // The body alone (what `decode` sees) and the whole frame.
        std::fs::write(dir.join(format!("request-body-{i}")), &bytes[8..])?;
        std::fs::write(dir.join(format!("request-frame-{i}")), &bytes)?;
        stream.extend_from_slice(&bytes);
    }
    std::fs::write(dir.join("request-stream"), stream)?;
    Ok(())
}

/// For each type, the shortest all-zero message that decodes, and the same message encoded
/// again (the encoder's own layout), each prefixed by the type's index.
fn write_cdr(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let store = TypeStore::builder().use_env(false).build();
    for (index, name) in CDR_TYPES.iter().enumerate() {
        let message = store.message(name)?;
        let selector = u8::try_from(index)?;
        for len in 0..4096 {
            let mut bytes = vec![0u8; 4 + len];
            // Little-endian CDR encapsulation.
            bytes[1] = 1;
            let Ok(row) = deserialize(&message, &bytes) else {
                continue;
            };
            let encoded = serialize(&message, &row, 0)?;
            let file = name.replace('/', "-");
            std::fs::write(
                dir.join(format!("{file}-zeros")),
                [&[selector], &bytes[..]].concat(),
            )?;
            std::fs::write(
                dir.join(format!("{file}-encoded")),
                [&[selector], &encoded[..]].concat(),
            )?;
            break;
        }
    }
    Ok(())
}
