//! The early-warning figure: for one run, the step at which each indicator first warned
//! against t_grok; over a sweep, precision against recall per indicator and the median lead.
use super::svg::{render, Axis, Panel, Series, Style, VLine, PALETTE};
use critlab_physics::early_warning::{IndicatorScore, ScoredRun};

/// The figure of `critlab analyze early-warning`: `scores` is `None` for one run.
pub fn early_warning_svg(runs: &[ScoredRun], scores: Option<&[IndicatorScore]>) -> String {
    let Some(scores) = scores else {
        // One run: the order parameter's warning steps against t_grok.
        let pts: Vec<(f64, f64)> =
            runs.iter().flat_map(|run| run.warnings.iter().enumerate().map(|(i, w)| (w.step, i as f64))).collect();
        let panel = Panel {
            title: "first warnings".into(),
            x: Axis::fit("step", pts.iter().map(|p| p.0).chain(runs.iter().filter_map(|x| x.t_grok)), false),
            y: Axis::fit("indicator #", pts.iter().map(|p| p.1), false),
            series: vec![Series {
                label: "warning".into(),
                points: pts,
                y_err: None,
                color: PALETTE[0].into(),
                style: Style::Markers,
            }],
            vlines: runs.iter().filter_map(|x| x.t_grok).map(|t| VLine { x: t, label: "t_grok".into() }).collect(),
        };
        return render(&[panel], "");
    };
    let series: Vec<Series> = scores
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            Some(Series {
                label: s.indicator.to_string(),
                points: vec![(s.recall?, s.precision?)],
                y_err: None,
                color: PALETTE[i % PALETTE.len()].into(),
                style: Style::Markers,
            })
        })
        .collect();
    let base = scores.first().and_then(|s| s.base_rate).unwrap_or(0.0);
    let mut all = series.clone();
    all.push(Series {
        label: "chance".into(),
        points: vec![(0.0, base), (1.0, base)],
        y_err: None,
        color: "#888".into(),
        style: Style::Dashed,
    });
    let p1 = Panel {
        title: "precision against recall".into(),
        x: Axis { label: "recall".into(), log: false, lo: 0.0, hi: 1.05 },
        y: Axis { label: "precision".into(), log: false, lo: 0.0, hi: 1.05 },
        series: all,
        vlines: vec![],
    };
    let leads: Vec<(f64, f64)> =
        scores.iter().enumerate().filter_map(|(i, s)| Some((i as f64, s.median_lead?))).collect();
    let p2 = Panel {
        title: "median lead time (steps), by indicator #".into(),
        x: Axis { label: "indicator (order of the table)".into(), log: false, lo: -0.5, hi: scores.len() as f64 - 0.5 },
        y: Axis::fit("median lead", leads.iter().map(|p| p.1).chain([0.0]), false),
        series: vec![Series {
            label: String::new(),
            points: leads,
            y_err: None,
            color: PALETTE[0].into(),
            style: Style::Markers,
        }],
        vlines: vec![],
    };
    render(&[p1, p2], "early-warning score over the sweep")
}
