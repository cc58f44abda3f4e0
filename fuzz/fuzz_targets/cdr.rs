//! The CDR decoder on arbitrary bytes, against message types that cover primitives, strings,
//! bounded strings and sequences, fixed arrays, nested messages and sequences of them. A
//! message that decodes must encode back to bytes that decode to the same row.

#![no_main]

use std::sync::{Arc, OnceLock};

use dora_fuzz::CDR_TYPES;
use dora_ros2_types::{deserialize, serialize, MessageType, TypeStore};
use libfuzzer_sys::fuzz_target;

fn types() -> &'static [Arc<MessageType>] {
    static TYPES_LOADED: OnceLock<Vec<Arc<MessageType>>> = OnceLock::new();
    TYPES_LOADED.get_or_init(|| {
        let store = TypeStore::builder().use_env(false).build();
        CDR_TYPES
            .iter()
            .map(|name| match store.message(name) {
                Ok(message) => message,
                Err(error) => panic!("the fuzz target needs {name}: {error}"),
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let types = types();
    let message = &types[usize::from(selector) % types.len()];
    let Ok(row) = deserialize(message, bytes) else {
        return;
    };
    let encoded = match serialize(message, &row, 0) {
        Ok(encoded) => encoded,
        Err(error) => panic!("a decoded message does not encode: {error}"),
    };
    match deserialize(message, &encoded) {
        Ok(again) => assert_eq!(again, row, "decode(encode(row)) differs from row"),
        Err(error) => panic!("an encoded message does not decode: {error}"),
    }
});
