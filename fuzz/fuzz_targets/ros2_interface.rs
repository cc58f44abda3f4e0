//! The `.msg`/`.srv` parser on arbitrary text: `parse_message`, `parse_service` and type
//! names must return a definition or an error, never panic.

#![no_main]

use std::path::Path;

use dora_ros2_types::parse::{parse_message, parse_service};
use dora_ros2_types::TypeName;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = Path::new("fuzz.msg");
    if let Ok(name) = TypeName::parse_with_namespace("fuzz_msgs/Fuzz", "msg") {
        let _ = parse_message(text, name, source);
    }
    if let Ok(name) = TypeName::parse_with_namespace("fuzz_msgs/Fuzz", "srv") {
        let _ = parse_service(text, name, source);
    }
    // The first line as a type name, as a `message_type:` of a dataflow would be.
    if let Some(line) = text.lines().next() {
        let _ = TypeName::parse_with_namespace(line, "msg");
    }
});
