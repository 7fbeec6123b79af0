//! Figures of `critlab analyze predict`: ROC curves of every predictor at the decision time,
//! and the norm-delay law's predicted t_grok (with its 95 % interval) against the actual one.
use super::svg::{self, Axis, Panel, Series, Style};
use critlab_physics::predict::score::PredictReport;

/// ROC curves (one per predictor that has one) with the chance diagonal.
pub fn roc_svg(r: &PredictReport) -> String {
    let mut series: Vec<Series> = r
        .roc
        .iter()
        .filter(|(_, pts)| !pts.is_empty())
        .enumerate()
        .map(|(i, (name, pts))| {
            let auc = r
                .predictors
                .iter()
                .find(|p| p.name == *name)
                .and_then(|p| p.auroc)
                .map_or(String::new(), |a| format!(" ({a:.2})"));
            Series {
                label: format!("{name}{auc}"),
                points: pts.clone(),
                y_err: None,
                color: svg::PALETTE[i % svg::PALETTE.len()].into(),
                style: Style::Line,
            }
        })
        .collect();
    series.push(Series {
        label: "chance".into(),
        points: vec![(0.0, 0.0), (1.0, 1.0)],
        y_err: None,
        color: "#888".into(),
        style: Style::Dashed,
    });
    let panel = Panel {
        title: format!(
            "ROC at t_mem + {}·budget ({} runs, {} grok later)",
            r.options.decision_at, r.eligible, r.eligible_grokked
        ),
        x: Axis { label: "false-positive rate".into(), log: false, lo: 0.0, hi: 1.0 },
        y: Axis { label: "true-positive rate".into(), log: false, lo: 0.0, hi: 1.0 },
        series,
        vlines: vec![],
    };
    svg::render(&[panel], "grokking predictors: ROC (AUROC in brackets)")
}

/// Predicted t_grok (norm-delay law, at the decision time, held out by seed) against the
/// actual t_grok, with the identity line.
pub fn predicted_svg(r: &PredictReport) -> String {
    let pts: Vec<(f64, f64)> = r.predicted_vs_actual.iter().map(|p| (p.actual, p.predicted.value)).collect();
    let err: Vec<f64> = r.predicted_vs_actual.iter().map(|p| 0.5 * (p.predicted.hi - p.predicted.lo)).collect();
    let all = pts
        .iter()
        .flat_map(|p| [p.0, p.1])
        .chain(r.predicted_vs_actual.iter().flat_map(|p| [p.predicted.lo.max(1.0), p.predicted.hi]));
    let axis = Axis::fit("", all, true);
    let (lo, hi) = (axis.lo, axis.hi);
    let panel = Panel {
        title: "norm-delay law: predicted against actual t_grok".into(),
        x: Axis { label: "actual t_grok (steps)".into(), ..axis.clone() },
        y: Axis { label: "predicted t_grok (steps)".into(), ..axis },
        series: vec![
            Series {
                label: "held-out runs (95% interval)".into(),
                points: pts,
                y_err: Some(err),
                color: svg::PALETTE[0].into(),
                style: Style::Markers,
            },
            Series {
                label: "exact".into(),
                points: vec![(lo, lo), (hi, hi)],
                y_err: None,
                color: "#888".into(),
                style: Style::Dashed,
            },
        ],
        vlines: vec![],
    };
    svg::render(&[panel], "")
}
