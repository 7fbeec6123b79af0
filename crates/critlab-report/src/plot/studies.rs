//! Figures of the studies (crates/critlab-study), from plain numbers so this crate does not
//! depend on the studies.
use super::svg::{render, Axis, Panel, Series, Style, VLine, PALETTE};

/// One measured point of a delay-vs-control figure.
#[derive(Debug, Clone, Copy)]
pub struct DelayPoint {
    /// Control value (r for the linear estimator).
    pub x: f64,
    /// Measured delay (median over seeds).
    pub delay: f64,
    /// Its one-sigma error.
    pub delay_err: f64,
    /// Measured / predicted.
    pub ratio: f64,
    /// Its one-sigma error.
    pub ratio_err: f64,
}

/// The linear-estimator figure: measured delay against the closed form `theory` over
/// `[lo, hi]` (left, log y), and measured / closed form with the acceptance bands (right).
pub fn linear_estimator_svg(
    points: &[DelayPoint],
    lo: f64,
    hi: f64,
    theory: &dyn Fn(f64) -> f64,
    caption: &str,
) -> String {
    let curve: Vec<(f64, f64)> = (0..=100).map(|i| lo + (hi - lo) * i as f64 / 100.0).map(|r| (r, theory(r))).collect();
    let xs = || points.iter().map(|p| p.x).chain([lo, hi]);
    let left = Panel {
        title: "grokking delay of a linear estimator".into(),
        x: Axis::fit("r = d / N_train", xs(), false),
        y: Axis::fit("delay (steps)", curve.iter().map(|c| c.1).chain(points.iter().map(|p| p.delay)), true),
        series: vec![
            Series {
                label: "closed form".into(),
                points: curve,
                y_err: None,
                color: PALETTE[2].into(),
                style: Style::Line,
            },
            Series {
                label: "critlab (median over seeds)".into(),
                points: points.iter().map(|p| (p.x, p.delay)).collect(),
                y_err: Some(points.iter().map(|p| p.delay_err).collect()),
                color: PALETTE[0].into(),
                style: Style::Markers,
            },
        ],
        vlines: vec![],
    };
    let band = |r: f64, v: f64| Series {
        label: String::new(),
        points: vec![(lo, v), (r, v)],
        y_err: None,
        color: PALETTE[9].into(),
        style: Style::Dashed,
    };
    let right = Panel {
        title: "delay / closed form".into(),
        x: Axis::fit("r = d / N_train", xs(), false),
        y: Axis::fit("ratio", points.iter().map(|p| p.ratio).chain([0.6, 1.4]), false),
        series: vec![
            Series {
                label: "critlab".into(),
                points: points.iter().map(|p| (p.x, p.ratio)).collect(),
                y_err: Some(points.iter().map(|p| p.ratio_err).collect()),
                color: PALETTE[0].into(),
                style: Style::Markers,
            },
            Series {
                label: "1".into(),
                points: vec![(lo, 1.0), (hi, 1.0)],
                y_err: None,
                color: PALETTE[2].into(),
                style: Style::Line,
            },
            band(0.7, 0.7),
            band(0.7, 1.3),
            Series {
                label: "bands".into(),
                points: vec![(0.7, 0.85), (hi, 0.85)],
                y_err: None,
                color: PALETTE[9].into(),
                style: Style::Dashed,
            },
            Series {
                label: String::new(),
                points: vec![(0.7, 1.15), (hi, 1.15)],
                y_err: None,
                color: PALETTE[9].into(),
                style: Style::Dashed,
            },
        ],
        vlines: vec![VLine { x: 0.7, label: "r = 0.7".into() }],
    };
    render(&[left, right], caption)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_estimator_figure_is_svg_with_both_panels() {
        let pts = [DelayPoint { x: 0.5, delay: 700.0, delay_err: 50.0, ratio: 1.0, ratio_err: 0.07 }];
        let s = linear_estimator_svg(&pts, 0.3, 0.9, &|r| 1.0 / (1.0 - r), "caption");
        assert!(s.starts_with("<svg") && s.contains("delay / closed form") && s.contains("caption"));
        crate::png_bytes(&s, 1.0, std::path::Path::new("t.png")).unwrap();
    }
}
