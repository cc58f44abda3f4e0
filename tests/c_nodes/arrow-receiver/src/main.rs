//! Rust node of the C++ API tests: checks the Arrow arrays `cxx_arrow_sender` sends and
//! echoes the struct array back.
//!
//! Inputs: `int32`, `struct`, `int32_in_place` and `big` (see `tests/c_nodes/cxx_arrow_sender.cpp`).
//! Output: `echo` (the struct array as received). Prints one line per check:
//! `<input> ok ...` or `<input> MISMATCH ...`; for `big` also the shared memory region of the
//! received values (`region=<device>:<inode> <name>`).

use std::process::ExitCode;

use dora_node_api::{
    arrow::array::{cast::AsArray, types::Int32Type, Array, Int32Array, StringArray, StructArray},
    DoraNode, Event,
};
use dora_node_api_cxx::shared_memory_region;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(err) => {
            eprintln!("cpp-test-receiver: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, dora_node_api::NodeError> {
    let (mut node, mut events) = DoraNode::init_from_env()?;
    let mut all_ok = true;
    while let Some(event) = events.recv() {
        let Event::Input { id, data, .. } = event else {
            continue;
        };
        let ok = match id.as_str() {
            "int32" => check_int32(&data),
            "struct" => {
                let ok = check_struct(&data);
                node.send_output("echo".into(), Default::default(), data.0.clone())?;
                ok
            }
            "int32_in_place" => check_in_place(&data),
            "big" => check_big(&data),
            other => {
                println!("{other} MISMATCH: unexpected input");
                false
            }
        };
        all_ok &= ok;
    }
    Ok(all_ok)
}

fn report(input: &str, ok: bool, detail: String) -> bool {
    println!("{input} {} {detail}", if ok { "ok" } else { "MISMATCH" });
    ok
}

fn check_int32(data: &dora_node_api::ArrowData) -> bool {
    let values = data
        .as_any()
        .downcast_ref::<Int32Array>()
        .map(|a| a.iter().collect::<Vec<_>>());
    let expected = vec![Some(1), Some(-2), Some(3), None, Some(5)];
    report(
        "int32",
        values.as_ref() == Some(&expected),
        format!("{values:?}"),
    )
}

fn check_struct(data: &dora_node_api::ArrowData) -> bool {
    let Some(array) = data.as_any().downcast_ref::<StructArray>() else {
        return report(
            "struct",
            false,
            format!("not a struct array: {}", data.data_type()),
        );
    };
    let a = array
        .column_by_name("a")
        .and_then(|c| c.as_any().downcast_ref::<Int32Array>())
        .map(|c| c.values().to_vec());
    let b = array
        .column_by_name("b")
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .map(|c| {
            c.iter()
                .map(|s| s.unwrap_or("<null>").to_owned())
                .collect::<Vec<_>>()
        });
    let ok = a.as_deref() == Some(&[10, 20, 30][..])
        && b.as_deref() == Some(&["x".to_owned(), "yy".to_owned(), "zzz".to_owned()][..]);
    report("struct", ok, format!("a={a:?} b={b:?}"))
}

fn check_in_place(data: &dora_node_api::ArrowData) -> bool {
    let values = data
        .as_any()
        .downcast_ref::<Int32Array>()
        .map(|a| a.values().to_vec());
    report(
        "int32_in_place",
        values.as_deref() == Some(&[42, 43, 44, 45][..]),
        format!("{values:?}"),
    )
}

fn check_big(data: &dora_node_api::ArrowData) -> bool {
    let Some(array) = data.as_primitive_opt::<Int32Type>() else {
        return report(
            "big",
            false,
            format!("not an Int32 array: {}", data.data_type()),
        );
    };
    let values = array.values();
    let first = values.first().copied().unwrap_or_default();
    let ok = !values.is_empty()
        && values
            .iter()
            .enumerate()
            .all(|(i, v)| *v == first.wrapping_add(i as i32));
    let region = shared_memory_region(values.as_ptr() as usize);
    report(
        "big",
        ok,
        format!("len={} first={first} region={region}", values.len()),
    )
}
