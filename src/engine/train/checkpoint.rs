//! Checkpoints: everything needed to continue a run, as one safetensors file.

use super::*;
use crate::i18n::Message;
use crate::msg;

impl Trainer {
    /// Everything needed to continue this run later, as one safetensors file: the weights
    /// (PyTorch names), the optimizer buffers (`optim.<layer>.<a|b|c>`) and, in the metadata,
    /// the spec, position in the data, step counters, learning-rate state and early-stopping
    /// progress.
    pub fn checkpoint(&self) -> Vec<u8> {
        let (t, state) = self.optimizer.export_state();
        let meta = Checkpoint {
            epoch: self.epoch,
            step: self.step,
            position: self.position,
            optimizer_t: t,
            lr_override: self.lr_override,
            plateau: self.plateau.clone(),
            stop_reason: self.stop_reason.clone(),
            bad_epochs: self.bad_epochs,
            best_loss: self.best.as_ref().map(|b| b.0),
        };
        let mut extra: Vec<(String, Vec<f32>)> = Vec::new();
        for (i, bufs) in state.into_iter().enumerate() {
            for (name, buf) in ["a", "b", "c"].iter().zip(bufs) {
                if !buf.is_empty() {
                    extra.push((format!("optim.{i}.{name}"), buf));
                }
            }
        }
        if let Some((_, params, buffers)) = &self.best {
            for (i, (p, b)) in params.iter().zip(buffers).enumerate() {
                if !p.is_empty() {
                    extra.push((format!("best.{i}.params"), p.clone()));
                }
                if !b.is_empty() {
                    extra.push((format!("best.{i}.buffers"), b.clone()));
                }
            }
        }
        let meta = serde_json::to_string(&meta).expect("checkpoint metadata serialises");
        crate::engine::weights::save_with(&self.network, &self.spec, &extra, &[("checkpoint", meta)])
    }

    /// Continues a run from [`Trainer::checkpoint`] bytes on `data`; the result trains on
    /// exactly as the original would have.
    pub fn restore(bytes: &[u8], data: Arc<DataSplit>) -> Result<Self, Message> {
        let spec = crate::engine::weights::stored_spec(bytes).map_err(|e| e.message())?.ok_or(msg!("err.checkpoint_no_spec"))?;
        let meta: Checkpoint = crate::engine::weights::metadata(bytes, "checkpoint")
            .map_err(|e| e.message())?
            .ok_or(msg!("err.checkpoint_not_one"))
            .and_then(|m| serde_json::from_str(&m).map_err(|_| msg!("err.checkpoint_metadata")))?;
        let mut t = Trainer::new(spec, data).map_err(|e| e.message())?;
        let extra = crate::engine::weights::load_with(&mut t.network, bytes, &["optim.", "best."]).map_err(|e| e.message())?;
        let layers = t.network.layers.len();
        let take = |name: String| extra.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let state: Vec<[Vec<f32>; 3]> = (0..layers).map(|i| [take(format!("optim.{i}.a")), take(format!("optim.{i}.b")), take(format!("optim.{i}.c"))]).collect();
        if !t.optimizer.import_state(meta.optimizer_t, state) {
            return Err(msg!("err.checkpoint_optimizer"));
        }
        if let Some(loss) = meta.best_loss {
            let params = (0..layers).map(|i| take(format!("best.{i}.params"))).collect();
            let buffers = (0..layers).map(|i| take(format!("best.{i}.buffers"))).collect();
            t.best = Some((loss, params, buffers));
        }
        t.epoch = meta.epoch;
        t.step = meta.step;
        t.lr_override = meta.lr_override;
        t.plateau = meta.plateau;
        t.stop_reason = meta.stop_reason;
        t.bad_epochs = meta.bad_epochs;
        t.shuffle();
        if meta.position > t.order.len() {
            return Err(msg!("err.checkpoint_position"));
        }
        t.position = meta.position;
        Ok(t)
    }
}

/// The scalar part of a checkpoint (the arrays travel as tensors).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Checkpoint {
    epoch: usize,
    step: u64,
    position: usize,
    optimizer_t: u64,
    lr_override: Option<f32>,
    plateau: Plateau,
    #[serde(default, deserialize_with = "reason_or_older_text")]
    stop_reason: Option<Message>,
    bad_epochs: usize,
    best_loss: Option<f64>,
}

/// A stop reason as saved: a message, or (checkpoints saved before messages had keys) English
/// text, kept as it is.
fn reason_or_older_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Message>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Saved {
        Keyed(Message),
        Text(String),
    }
    Ok(Option::<Saved>::deserialize(deserializer)?.map(|saved| match saved {
        Saved::Keyed(message) => message,
        Saved::Text(text) => Message::verbatim(text),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_reasons_read_as_messages_and_as_older_text() {
        #[derive(Deserialize)]
        struct Meta {
            #[serde(default, deserialize_with = "reason_or_older_text")]
            stop_reason: Option<Message>,
        }
        let read = |json: &str| serde_json::from_str::<Meta>(json).expect(json).stop_reason;
        assert_eq!(read(r#"{"stop_reason":{"key":"err.what_loss"}}"#), Some(msg!("err.what_loss")));
        assert_eq!(read(r#"{"stop_reason":"early stopping after epoch 3"}"#).map(|m| m.to_string()).as_deref(), Some("early stopping after epoch 3"));
        assert_eq!(read(r#"{"stop_reason":null}"#), None);
        assert_eq!(read("{}"), None);
    }
}
