//! ___name___: a dora operator. For every input it receives, prints it and sends a status
//! line on its `status` output.
//!
//! Declare it in a dataflow, for instance:
//!
//! ```yaml
//!   - id: runtime-node
//!     operators:
//!       - id: ___name___
//!         build: cargo build --manifest-path ___name___/Cargo.toml
//!         shared-library: ___name___/target/debug/___name___
//!         inputs:
//!           tick: dora/timer/millis/100
//!         outputs:
//!           - status
//! ```

use dora_operator_api::{
    arrow::array::StringArray, register_operator, DoraOperator, DoraOutputSender, DoraStatus,
    Event,
};

#[derive(Debug, Default)]
struct Operator {
    received: u64,
}

impl DoraOperator for Operator {
    fn on_event(
        &mut self,
        event: &Event,
        output_sender: &mut DoraOutputSender,
    ) -> Result<DoraStatus, String> {
        match event {
            Event::Input { id, data, .. } => {
                self.received += 1;
                println!(
                    "___name___ received input `{id}` #{} ({} values)",
                    self.received,
                    data.len()
                );
                let status = format!("___name___ handled {} inputs", self.received);
                output_sender.send("status".into(), StringArray::from(vec![status]))?;
            }
            Event::InputClosed { id } => println!("___name___: input `{id}` closed"),
            Event::Stop => println!("___name___: stopping"),
            _ => {}
        }
        Ok(DoraStatus::Continue)
    }
}

register_operator!(Operator);
