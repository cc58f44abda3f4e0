//! The dataflow descriptor parser on arbitrary bytes: `Descriptor::parse_bytes` (UTF-8 check,
//! control characters, YAML events, aliases, the walker, validation, suggestions) must return
//! `Ok` or an error whose every diagnostic has a position, and never panic or take long.

#![no_main]

use dora_descriptor::Descriptor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `$VAR` lookups answer from a fixed table so that runs do not depend on the environment.
    let lookup = |name: &str| (name == "HOME").then(|| "/home/robot".to_owned());
    let result = match std::str::from_utf8(data) {
        Ok(text) => Descriptor::parse_with_env(text, None, &lookup),
        Err(_) => Descriptor::parse_bytes(data, None),
    };
    if let Err(error) = result {
        for diagnostic in error.diagnostics() {
            assert!(
                diagnostic.line >= 1 && diagnostic.column >= 1,
                "{diagnostic}"
            );
        }
        // Rendering must not panic either.
        let _ = error.to_string();
    }
});
