//! The curves of one run with its transitions marked: accuracies and explained variance
//! (left), losses (right), against the step on a log axis.
use super::svg::{render, Axis, Panel, Series, Style, VLine, PALETTE};
use critlab_physics::transitions::{RunSeries, Transitions};

fn line(label: &str, points: &[(i64, f64)], color: &str, style: Style) -> Series {
    Series {
        label: label.into(),
        points: points.iter().map(|&(s, v)| (s as f64, v)).collect(),
        y_err: None,
        color: color.into(),
        style,
    }
}

/// Train/test curves of one run with t_mem and t_grok of `acc` marked; `caption` underneath.
pub fn run_curves_svg(series: &RunSeries, acc: &Transitions, title: &str, caption: &str) -> String {
    let steps = || {
        [&series.train_acc, &series.test_acc, &series.train_loss, &series.test_loss]
            .into_iter()
            .flatten()
            .map(|p| p.0 as f64)
            .collect::<Vec<_>>()
    };
    let marks: Vec<VLine> = [(acc.t_mem, "t_mem"), (acc.t_grok, "t_grok")]
        .into_iter()
        .filter_map(|(t, l)| t.filter(|t| *t > 0.0).map(|x| VLine { x, label: l.into() }))
        .collect();
    let left = Panel {
        title: format!("{title}: order parameters"),
        x: Axis::fit("step", steps(), true),
        y: Axis::fit("", [0.0, 1.0], false),
        series: vec![
            line("train accuracy", &series.train_acc, PALETTE[0], Style::Line),
            line("test accuracy", &series.test_acc, PALETTE[1], Style::Line),
            line("explained variance V", &series.explained_variance, PALETTE[4], Style::Dashed),
        ],
        vlines: marks.clone(),
    };
    let losses = series.train_loss.iter().chain(&series.test_loss).map(|p| p.1);
    let right = Panel {
        title: "losses".into(),
        x: Axis::fit("step", steps(), true),
        y: Axis::fit("cross-entropy", losses, true),
        series: vec![
            line("train loss", &series.train_loss, PALETTE[0], Style::Line),
            line("test loss", &series.test_loss, PALETTE[1], Style::Line),
        ],
        vlines: marks,
    };
    render(&[left, right], caption)
}

#[cfg(test)]
mod tests {
    use super::*;
    use critlab_physics::transitions::{accuracy, TransitionOptions};

    #[test]
    fn marks_the_transitions_and_survives_empty_series() {
        let s = RunSeries {
            train_acc: vec![(0, 0.0), (100, 1.0), (1000, 1.0)],
            test_acc: vec![(0, 0.0), (100, 0.1), (1000, 1.0)],
            train_loss: vec![(0, 3.0), (100, 0.01), (1000, 0.001)],
            test_loss: vec![(0, 3.0), (100, 9.0), (1000, 0.1)],
            explained_variance: vec![(0, 0.0), (1000, 0.95)],
        };
        let svg = run_curves_svg(&s, &accuracy(&s, &TransitionOptions::default()), "run 1", "grokking");
        assert!(svg.contains("t_mem") && svg.contains("t_grok") && svg.contains("<polyline"));
        let empty = RunSeries::default();
        let svg = run_curves_svg(&empty, &accuracy(&empty, &TransitionOptions::default()), "run 2", "");
        assert!(svg.trim_end().ends_with("</svg>") && !svg.contains("t_grok"));
    }
}
