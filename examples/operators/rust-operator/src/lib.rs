//! Turns each number it receives into a sentence, sent as bytes on `message`.

use dora_operator_api::{
    arrow::array::{Array, UInt64Array},
    register_operator, DoraOperator, DoraOutputSender, DoraStatus, Event,
};

#[derive(Debug, Default)]
struct Squarer {
    received: u64,
}

impl DoraOperator for Squarer {
    fn on_event(
        &mut self,
        event: &Event,
        output_sender: &mut DoraOutputSender,
    ) -> Result<DoraStatus, String> {
        match event {
            Event::Input { id, data, .. } if *id == "number" => {
                let number = data
                    .as_any()
                    .downcast_ref::<UInt64Array>()
                    .filter(|a| a.len() == 1)
                    .map(|a| a.value(0))
                    .ok_or_else(|| format!("expected one UInt64, got {:?}", data.0))?;
                self.received += 1;
                let message = format!("{number} squared is {}", number * number);
                println!("rust operator: {message}");
                output_sender.send_bytes("message", message.as_bytes())?;
            }
            Event::InputClosed { id } => {
                println!(
                    "rust operator: `{id}` closed after {} numbers",
                    self.received
                )
            }
            Event::Stop => println!("rust operator: stop"),
            _ => {}
        }
        Ok(DoraStatus::Continue)
    }
}

register_operator!(Squarer);
