//! An operator for the end-to-end tests; what it does depends on the input a message
//! arrives on, so one library serves several operators of a test dataflow:
//!
//! - `tick`: sends the count of ticks so far on `number` (UInt64); after 3 ticks returns
//!   `DoraStatus::Stop`.
//! - `number`: sends twice the value on `doubled`.
//! - `doubled`: prints `doubled <value>`.
//! - `panic`: panics. `fail`: returns an error. `stop-all`: returns `DoraStatus::StopAll`.
//! - any other input: prints `input <id>`.
//!
//! Every `InputClosed` is printed as `closed <id>`, and `Stop` as `stop`.

use dora_operator_api::{
    arrow::array::{Array, UInt64Array},
    register_operator, DoraOperator, DoraOutputSender, DoraStatus, Event,
};

#[derive(Default)]
struct TestOperator {
    ticks: u64,
}

fn first_u64(data: &dyn Array) -> Result<u64, String> {
    data.as_any()
        .downcast_ref::<UInt64Array>()
        .filter(|a| !a.is_empty())
        .map(|a| a.value(0))
        .ok_or_else(|| format!("expected a UInt64 array, got {}", data.data_type()))
}

impl DoraOperator for TestOperator {
    fn on_event(
        &mut self,
        event: &Event,
        output_sender: &mut DoraOutputSender,
    ) -> Result<DoraStatus, String> {
        match event {
            Event::Input { id, data, .. } => match *id {
                "tick" => {
                    self.ticks += 1;
                    output_sender.send("number".into(), UInt64Array::from(vec![self.ticks]))?;
                    if self.ticks == 3 {
                        return Ok(DoraStatus::Stop);
                    }
                }
                "number" => {
                    let value = first_u64(data.as_ref())?;
                    output_sender.send("doubled".into(), UInt64Array::from(vec![value * 2]))?;
                }
                "doubled" => println!("doubled {}", first_u64(data.as_ref())?),
                "panic" => panic!("boom on purpose"),
                "fail" => return Err("failing on purpose".into()),
                "stop-all" => return Ok(DoraStatus::StopAll),
                other => println!("input {other}"),
            },
            Event::InputClosed { id } => println!("closed {id}"),
            Event::Stop => println!("stop"),
            _ => {}
        }
        Ok(DoraStatus::Continue)
    }
}

register_operator!(TestOperator);
