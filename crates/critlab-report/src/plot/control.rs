//! What adaptive controllers did to a run: the order parameter (test accuracy) beside the
//! knobs they moved (η, B, λ) and the weight norm, one line per arm, against the step.
use super::svg::{render, Axis, Panel, Series, Style, PALETTE};

/// The stored series of one run of one arm (step, value), as `critlab analyze controllers`
/// reads them.
#[derive(Debug, Clone, Default)]
pub struct Trajectory {
    /// The arm (controller or fixed setting).
    pub arm: String,
    /// Test accuracy.
    pub test_acc: Vec<(i64, f64)>,
    /// Learning rate η in effect.
    pub lr: Vec<(i64, f64)>,
    /// Batch size B in effect.
    pub batch_size: Vec<(i64, f64)>,
    /// Weight decay λ in effect.
    pub weight_decay: Vec<(i64, f64)>,
    /// Weight norm ‖θ‖.
    pub weight_norm: Vec<(i64, f64)>,
}

/// Five panels (test accuracy, η, B, λ, ‖θ‖) with one line per trajectory, one legend.
pub fn controllers_svg(runs: &[Trajectory], caption: &str) -> String {
    type Pick = fn(&Trajectory) -> &Vec<(i64, f64)>;
    let panels: [(&str, &str, bool, Pick); 5] = [
        ("test accuracy", "", false, |t| &t.test_acc),
        ("learning rate η", "η", true, |t| &t.lr),
        ("batch size B", "examples", true, |t| &t.batch_size),
        ("weight decay λ", "λ", true, |t| &t.weight_decay),
        ("weight norm ‖θ‖", "‖θ‖", true, |t| &t.weight_norm),
    ];
    let steps: Vec<f64> = runs.iter().flat_map(|t| t.test_acc.iter().map(|p| p.0 as f64)).collect();
    let panels: Vec<Panel> = panels
        .iter()
        .enumerate()
        .map(|(k, (title, unit, log, pick))| {
            let values = runs.iter().flat_map(|t| pick(t).iter().map(|p| p.1));
            // A constant positive series still gets a log axis; zeros (λ = 0) fall off it.
            Panel {
                title: title.to_string(),
                x: Axis::fit("step", steps.iter().copied(), false),
                y: Axis::fit(unit, values, *log),
                series: runs
                    .iter()
                    .enumerate()
                    .map(|(i, t)| Series {
                        // One legend, in the last panel (the norm), where the curves leave room.
                        label: if k == 4 { t.arm.clone() } else { String::new() },
                        points: pick(t).iter().map(|&(s, v)| (s as f64, v)).collect(),
                        y_err: None,
                        color: PALETTE[i % PALETTE.len()].into(),
                        style: Style::Line,
                    })
                    .collect(),
                vlines: Vec::new(),
            }
        })
        .collect();
    render(&panels, caption)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_knob_and_survives_missing_series() {
        let t = Trajectory {
            arm: "temperature".into(),
            test_acc: vec![(0, 0.0), (100, 0.5), (200, 1.0)],
            lr: vec![(0, 1e-3), (100, 2e-3), (200, 4e-3)],
            batch_size: vec![(0, 64.0), (100, 128.0), (200, 256.0)],
            weight_decay: vec![(0, 1.0), (100, 1.0), (200, 1.0)],
            weight_norm: vec![(0, 30.0), (100, 25.0), (200, 20.0)],
        };
        let svg = controllers_svg(&[t, Trajectory { arm: "empty".into(), ..Default::default() }], "caption");
        for title in ["test accuracy", "batch size B", "weight decay λ", "weight norm ‖θ‖"] {
            assert!(svg.contains(title), "{title}");
        }
        assert!(svg.contains("<polyline") && svg.trim_end().ends_with("</svg>"));
    }
}
