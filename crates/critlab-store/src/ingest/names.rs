//! How outside names become critlab's: hyperparameters onto run-spec keys, series onto
//! observable names. Both compare names *normalised*: lower case, with `/`, `.`, `-`, space
//! and `_` all read as one separator, so `val/accuracy`, `Val_Accuracy` and `val-accuracy`
//! are the same name.
use serde_json::{Map, Value};

/// Normalises a name: lower case, runs of separators (`/ . - _` and space) become one `_`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '/' | '.' | '-' | '_' | ' ') {
            sep = !out.is_empty();
        } else {
            if sep {
                out.push('_');
                sep = false;
            }
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Series names (normalised) recognised as critlab observables, which the detectors of
/// `analyze phases` read: accuracies and losses on the training and held-out sets.
const OBSERVABLES: &[(&str, &[&str])] = &[
    ("train_acc", &["train_acc", "train_accuracy", "training_accuracy", "acc_train", "accuracy_train", "train_acc1"]),
    (
        "test_acc",
        &[
            "test_acc",
            "test_accuracy",
            "val_acc",
            "val_accuracy",
            "valid_acc",
            "valid_accuracy",
            "validation_acc",
            "validation_accuracy",
            "eval_acc",
            "eval_accuracy",
            "acc_test",
            "accuracy_test",
            "acc_val",
            "accuracy_val",
        ],
    ),
    ("train_loss", &["train_loss", "training_loss", "loss_train", "loss"]),
    ("test_loss", &["test_loss", "val_loss", "valid_loss", "validation_loss", "eval_loss", "loss_test", "loss_val"]),
];

/// The critlab observable a series name stands for, if it is one of the known aliases.
pub fn observable(name: &str) -> Option<&'static str> {
    let n = normalise(name);
    OBSERVABLES.iter().find(|(_, aliases)| aliases.contains(&n.as_str())).map(|(target, _)| *target)
}

/// How a spec key's value is read.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A number (float).
    Number,
    /// A whole number ≥ 0.
    Count,
    /// A name (an enum choice), stored lower-case kebab.
    Choice,
    /// `full` or a count.
    Batch,
    /// true/false.
    Flag,
}

/// Spec keys and the (normalised) hyperparameter names that map onto them.
const SPEC_KEYS: &[(&str, Kind, &[&str])] = &[
    ("lr", Kind::Number, &["lr", "learning_rate", "learningrate", "eta"]),
    ("weight-decay", Kind::Number, &["weight_decay", "wd", "weightdecay"]),
    ("train-frac", Kind::Number, &["train_frac", "train_fraction", "frac_train", "training_fraction", "train_split"]),
    ("p", Kind::Count, &["p", "modulus", "prime"]),
    ("width", Kind::Count, &["width", "hidden", "hidden_dim", "hidden_size", "d_hidden", "n_hidden"]),
    ("depth", Kind::Count, &["depth", "n_layers", "num_layers"]),
    ("batch-size", Kind::Batch, &["batch_size", "batchsize", "bs"]),
    ("steps", Kind::Count, &["steps", "num_steps", "max_steps", "total_steps", "n_steps", "training_steps"]),
    ("seed", Kind::Count, &["seed", "random_seed"]),
    ("optimizer", Kind::Choice, &["optimizer", "optim"]),
    ("momentum", Kind::Number, &["momentum"]),
    ("beta1", Kind::Number, &["beta1", "beta_1", "adam_beta1"]),
    ("beta2", Kind::Number, &["beta2", "beta_2", "adam_beta2"]),
    ("eps", Kind::Number, &["eps", "epsilon", "adam_eps"]),
    ("init-scale", Kind::Number, &["init_scale", "alpha"]),
    ("warmup-steps", Kind::Count, &["warmup_steps", "warmup"]),
    ("eval-every", Kind::Count, &["eval_every", "log_every", "eval_interval"]),
    ("d-model", Kind::Count, &["d_model"]),
    ("heads", Kind::Count, &["heads", "n_heads", "num_heads"]),
    ("d-mlp", Kind::Count, &["d_mlp"]),
    ("embed-dim", Kind::Count, &["embed_dim", "embedding_dim", "d_embed"]),
    ("task", Kind::Choice, &["task"]),
    ("model", Kind::Choice, &["model", "arch", "architecture"]),
    ("activation", Kind::Choice, &["activation", "act"]),
    ("loss", Kind::Choice, &["loss", "loss_fn", "criterion"]),
    ("samples", Kind::Count, &["samples", "n_samples", "num_samples"]),
    ("noise", Kind::Number, &["noise", "label_noise"]),
    ("bias", Kind::Flag, &["bias"]),
];

/// The spec key a hyperparameter name maps onto, if any.
pub fn spec_key(name: &str) -> Option<&'static str> {
    let n = normalise(name);
    SPEC_KEYS.iter().find(|(_, _, aliases)| aliases.contains(&n.as_str())).map(|(k, _, _)| *k)
}

/// Reads a value the way a spec key of this kind needs it; `None` when it cannot be.
fn convert(v: &Value, kind: Kind) -> Option<Value> {
    let text = match v {
        Value::String(s) => Some(s.trim().to_string()),
        _ => None,
    };
    let number = v.as_f64().or_else(|| text.as_deref().and_then(|t| t.parse::<f64>().ok())).filter(|x| x.is_finite());
    match kind {
        Kind::Number => number.map(Value::from),
        Kind::Count => number.filter(|x| *x >= 0.0 && x.fract() == 0.0 && *x < 9.0e15).map(|x| Value::from(x as u64)),
        Kind::Batch => match text.as_deref() {
            Some(t) if t.eq_ignore_ascii_case("full") => Some(Value::from("full")),
            _ => convert(v, Kind::Count),
        },
        Kind::Flag => match v {
            Value::Bool(b) => Some(Value::Bool(*b)),
            _ => match text.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("true") => Some(Value::Bool(true)),
                Some("false") => Some(Value::Bool(false)),
                _ => None,
            },
        },
        Kind::Choice => text.filter(|t| !t.is_empty()).map(|t| Value::from(t.to_lowercase().replace('_', "-"))),
    }
}

/// A verbatim value: numbers stay numbers, numeric strings (MLflow stores every parameter
/// as text) become numbers, `true`/`false` become booleans, the rest stays as written.
pub fn verbatim(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let t = s.trim();
            if let Ok(x) = t.parse::<i64>() {
                Value::from(x)
            } else if let Some(x) = t.parse::<f64>().ok().filter(|x| x.is_finite()) {
                Value::from(x)
            } else if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
                Value::Bool(t.eq_ignore_ascii_case("true"))
            } else {
                v.clone()
            }
        }
        _ => v.clone(),
    }
}

/// Builds a run's stored spec from its hyperparameters (in order; a later one of the same
/// spec key loses to the first): mapped keys under their spec name with the spec's type,
/// every other parameter verbatim under its own name. Returns the spec and the (source
/// name, spec key) pairs that were mapped.
pub fn build_spec(params: &[(String, Value)]) -> (Map<String, Value>, Vec<(String, String)>) {
    let mut spec = Map::new();
    let mut mapped = Vec::new();
    let mut verbatim_keys = Vec::new();
    for (name, value) in params {
        let key = spec_key(name).filter(|k| !mapped.iter().any(|(_, m): &(String, String)| m == k));
        let kind = key.and_then(|k| SPEC_KEYS.iter().find(|(s, _, _)| *s == k)).map(|(_, kind, _)| *kind);
        match (key, kind.and_then(|kind| convert(value, kind))) {
            (Some(k), Some(v)) => {
                spec.insert(k.to_string(), v);
                mapped.push((name.clone(), k.to_string()));
            }
            _ => verbatim_keys.push((name.clone(), verbatim(value))),
        }
    }
    for (name, value) in verbatim_keys {
        // A verbatim name equal to a mapped spec key (a second `lr`) keeps the source's
        // spelling with a prefix so it does not overwrite the mapped one.
        let name = if spec.contains_key(&name) { format!("param:{name}") } else { name };
        spec.insert(name, value);
    }
    (spec, mapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_across_separators_and_case() {
        assert_eq!(normalise("Val/Accuracy"), "val_accuracy");
        assert_eq!(normalise("  train--loss "), "train_loss");
        assert_eq!(normalise("/hparam/lr"), "hparam_lr");
        assert_eq!(observable("val/accuracy"), Some("test_acc"));
        assert_eq!(observable("train/acc"), Some("train_acc"));
        assert_eq!(observable("Loss"), Some("train_loss"));
        assert_eq!(observable("grad_norm"), None);
    }

    #[test]
    fn parameters_map_onto_spec_keys_with_their_types_and_the_rest_stays_verbatim() {
        let params = vec![
            ("learning_rate".to_string(), Value::from("0.001")),
            ("weight_decay".to_string(), Value::from(1.0)),
            ("hidden_dim".to_string(), Value::from("128")),
            ("batch_size".to_string(), Value::from("full")),
            ("optimizer".to_string(), Value::from("AdamW")),
            ("wd".to_string(), Value::from(5.0)),
            ("dataset".to_string(), Value::from("mod97")),
            ("dropout".to_string(), Value::from("0.1")),
            ("p".to_string(), Value::from("not a number")),
            ("lr".to_string(), Value::from("fast")),
        ];
        let (spec, mapped) = build_spec(&params);
        assert_eq!(spec["lr"], Value::from(0.001));
        assert_eq!(spec["weight-decay"], Value::from(1.0));
        assert_eq!(spec["width"], Value::from(128u64));
        assert_eq!(spec["batch-size"], Value::from("full"));
        assert_eq!(spec["optimizer"], Value::from("adamw"));
        assert_eq!(spec["wd"], Value::from(5.0), "a second weight decay stays verbatim");
        assert_eq!(spec["dataset"], Value::from("mod97"));
        assert_eq!(spec["dropout"], Value::from(0.1));
        assert_eq!(spec["p"], Value::from("not a number"), "an unreadable value stays verbatim");
        assert_eq!(spec["param:lr"], Value::from("fast"), "a verbatim name never overwrites a mapped key");
        assert_eq!(mapped.len(), 5);
        assert!(mapped.contains(&("hidden_dim".into(), "width".into())));
    }
}
