//! A tiny hand-written SVG plotter: panels with linear or log axes, "nice" ticks, polylines,
//! markers with error bars, a legend. Enough for the analysis figures, no plotting crate.

use std::fmt::Write;

/// Colour cycle (Tableau 10, colour-blind friendlier than the defaults of most tools).
pub const PALETTE: [&str; 10] =
    ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

/// One axis: range, scale and label.
#[derive(Debug, Clone)]
pub struct Axis {
    /// Label printed along the axis.
    pub label: String,
    /// Logarithmic (base 10) scale; the range must then be positive.
    pub log: bool,
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

impl Axis {
    /// An axis spanning `values` with 5% padding (log axes pad by a factor).
    pub fn fit(label: &str, values: impl IntoIterator<Item = f64>, log: bool) -> Self {
        let (mut lo, mut hi) = values
            .into_iter()
            .filter(|v| v.is_finite() && (!log || *v > 0.0))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        if !lo.is_finite() {
            (lo, hi) = if log { (1.0, 10.0) } else { (0.0, 1.0) };
        }
        if log {
            let pad = (hi / lo).powf(0.05).max(1.05);
            Self { label: label.into(), log, lo: lo / pad, hi: hi * pad }
        } else {
            let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 * lo.abs().max(1.0) };
            Self { label: label.into(), log, lo: lo - pad, hi: hi + pad }
        }
    }

    fn t(&self, v: f64) -> f64 {
        if self.log {
            (v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    /// Tick positions: 1-2-5 steps (about 5 ticks) or decades on log axes.
    pub fn ticks(&self) -> Vec<f64> {
        if self.log {
            let (a, b) = (self.lo.log10().ceil() as i32, self.hi.log10().floor() as i32);
            let mut t: Vec<f64> = (a..=b).map(|e| 10f64.powi(e)).collect();
            if t.len() < 2 {
                t = (a - 1..=b + 1)
                    .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
                    .filter(|v| *v >= self.lo && *v <= self.hi)
                    .collect();
            }
            return t;
        }
        let raw = (self.hi - self.lo) / 5.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
        let first = (self.lo / step).ceil() as i64;
        let last = (self.hi / step).floor() as i64;
        (first..=last).map(|k| k as f64 * step).collect()
    }
}

pub(crate) fn tick_label(v: f64, log: bool) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if log || !(1e-3..1e4).contains(&a) {
        let e = a.log10().floor();
        let m = v / 10f64.powf(e);
        if (m - 1.0).abs() < 1e-9 {
            format!("1e{e}")
        } else {
            format!("{m:.0}e{e}")
        }
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Markers (with error bars if given) joined by a thin line.
    MarkersAndLine,
    /// Markers only.
    Markers,
    /// A solid line.
    Line,
    /// A dashed line.
    Dashed,
}

/// One data series.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label (empty = not in the legend).
    pub label: String,
    /// Points (x, y).
    pub points: Vec<(f64, f64)>,
    /// Optional symmetric y error bars.
    pub y_err: Option<Vec<f64>>,
    /// Colour (CSS).
    pub color: String,
    /// Drawing style.
    pub style: Style,
}

/// A vertical marker line with a label (e.g. x_c).
#[derive(Debug, Clone)]
pub struct VLine {
    /// Position on the x axis.
    pub x: f64,
    /// Label.
    pub label: String,
}

/// One plot panel.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Title above the panel.
    pub title: String,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// Series in drawing order.
    pub series: Vec<Series>,
    /// Vertical reference lines.
    pub vlines: Vec<VLine>,
}

const W: f64 = 460.0;
const H: f64 = 340.0;
const ML: f64 = 64.0;
const MR: f64 = 16.0;
const MT: f64 = 36.0;
const MB: f64 = 50.0;

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Render panels side by side as one SVG document, with an optional caption underneath.
pub fn render(panels: &[Panel], caption: &str) -> String {
    let cap_h = if caption.is_empty() { 0.0 } else { 24.0 };
    let total_w = W * panels.len() as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{}" viewBox="0 0 {total_w} {}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#,
        H + cap_h,
        H + cap_h
    );
    let _ = write!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (i, p) in panels.iter().enumerate() {
        draw_panel(&mut s, p, i as f64 * W);
    }
    if !caption.is_empty() {
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#333">{}</text>"##,
            total_w / 2.0,
            H + 16.0,
            esc(caption)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn draw_panel(s: &mut String, p: &Panel, x0: f64) {
    let (pw, ph) = (W - ML - MR, H - MT - MB);
    let px = |v: f64| x0 + ML + p.x.t(v) * pw;
    let py = |v: f64| MT + (1.0 - p.y.t(v)) * ph;
    let inside = |x: f64, y: f64| x.is_finite() && y.is_finite() && (!p.x.log || x > 0.0) && (!p.y.log || y > 0.0);
    let _ = write!(
        s,
        r##"<text x="{}" y="22" text-anchor="middle" font-size="13" font-weight="bold" fill="#222">{}</text>"##,
        x0 + ML + pw / 2.0,
        esc(&p.title)
    );
    // grid and ticks
    for t in p.x.ticks() {
        let x = px(t);
        let _ = write!(s, r##"<line x1="{x:.1}" y1="{MT}" x2="{x:.1}" y2="{:.1}" stroke="#eee"/>"##, MT + ph);
        let _ = write!(
            s,
            r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#444">{}</text>"##,
            MT + ph + 16.0,
            tick_label(t, p.x.log)
        );
    }
    for t in p.y.ticks() {
        let y = py(t);
        let _ = write!(
            s,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/>"##,
            x0 + ML,
            x0 + ML + pw
        );
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#444">{}</text>"##,
            x0 + ML - 6.0,
            y + 4.0,
            tick_label(t, p.y.log)
        );
    }
    let _ = write!(
        s,
        r##"<rect x="{:.1}" y="{MT}" width="{pw:.1}" height="{ph:.1}" fill="none" stroke="#888"/>"##,
        x0 + ML
    );
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#222">{}</text>"##,
        x0 + ML + pw / 2.0,
        H - 12.0,
        esc(&p.x.label)
    );
    let _ = write!(
        s,
        r##"<text transform="translate({:.1},{:.1}) rotate(-90)" text-anchor="middle" fill="#222">{}</text>"##,
        x0 + 16.0,
        MT + ph / 2.0,
        esc(&p.y.label)
    );
    let _ = write!(
        s,
        r#"<clipPath id="c{x0}"><rect x="{:.1}" y="{MT}" width="{pw:.1}" height="{ph:.1}"/></clipPath><g clip-path="url(#c{x0})">"#,
        x0 + ML
    );
    for v in &p.vlines {
        if p.x.log && v.x <= 0.0 {
            continue;
        }
        let x = px(v.x);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{MT}" x2="{x:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="4 3"/>"##,
            MT + ph
        );
        let _ = write!(s, r##"<text x="{:.1}" y="{:.1}" fill="#666">{}</text>"##, x + 4.0, MT + 14.0, esc(&v.label));
    }
    for se in &p.series {
        let pts: Vec<(f64, f64, usize)> = se
            .points
            .iter()
            .enumerate()
            .filter(|(_, (x, y))| inside(*x, *y))
            .map(|(i, (x, y))| (px(*x), py(*y), i))
            .collect();
        if pts.is_empty() {
            continue;
        }
        if se.style != Style::Markers {
            let path: Vec<String> = pts.iter().map(|(x, y, _)| format!("{x:.1},{y:.1}")).collect();
            let (width, dash) = match se.style {
                Style::MarkersAndLine => (1.0, ""),
                Style::Dashed => (2.0, r#" stroke-dasharray="6 4""#),
                _ => (2.0, ""),
            };
            let _ = write!(
                s,
                r#"<polyline fill="none" stroke="{}" stroke-width="{width}"{dash} points="{}"/>"#,
                se.color,
                path.join(" ")
            );
        }
        if matches!(se.style, Style::Markers | Style::MarkersAndLine) {
            for &(x, y, i) in &pts {
                if let Some(e) = se.y_err.as_ref().map(|e| e[i]) {
                    let (yv, lo, hi) = (se.points[i].1, se.points[i].1 - e, se.points[i].1 + e);
                    let lo = if p.y.log && lo <= 0.0 { yv * 1e-3 } else { lo };
                    let _ = write!(
                        s,
                        r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{}" stroke-width="1"/>"#,
                        py(lo),
                        py(hi),
                        se.color
                    );
                }
                let _ =
                    write!(s, r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.8" fill="{}" fill-opacity="0.85"/>"#, se.color);
            }
        }
    }
    s.push_str("</g>");
    // legend
    let labelled: Vec<&Series> = p.series.iter().filter(|se| !se.label.is_empty()).collect();
    if !labelled.is_empty() {
        let lw = 12.0 + 7.0 * labelled.iter().map(|se| se.label.chars().count()).max().unwrap_or(0) as f64 + 26.0;
        let (lx, ly) = (x0 + ML + pw - lw - 6.0, MT + 6.0);
        let _ = write!(
            s,
            r##"<rect x="{lx:.1}" y="{ly:.1}" width="{lw:.1}" height="{:.1}" fill="white" fill-opacity="0.85" stroke="#ccc"/>"##,
            16.0 * labelled.len() as f64 + 6.0
        );
        for (k, se) in labelled.iter().enumerate() {
            let y = ly + 14.0 + 16.0 * k as f64;
            let dash = if se.style == Style::Dashed { r#" stroke-dasharray="6 4""# } else { "" };
            let _ = write!(
                s,
                r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="2"{dash}/>"#,
                lx + 6.0,
                y - 4.0,
                lx + 26.0,
                y - 4.0,
                se.color
            );
            let _ = write!(s, r##"<text x="{:.1}" y="{y:.1}" fill="#222">{}</text>"##, lx + 32.0, esc(&se.label));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_inside() {
        let a = Axis { label: String::new(), log: false, lo: 0.53, hi: 0.66 };
        let t = a.ticks();
        assert!(t.len() >= 3 && t.iter().all(|v| *v >= 0.53 && *v <= 0.66), "{t:?}");
        let l = Axis { label: String::new(), log: true, lo: 0.003, hi: 20.0 };
        assert_eq!(l.ticks(), vec![0.01, 0.1, 1.0, 10.0]);
    }

    #[test]
    fn renders_a_well_formed_document() {
        let p = Panel {
            title: "t <1>".into(),
            x: Axis::fit("x", [0.0, 1.0], false),
            y: Axis::fit("y", [1.0, 100.0], true),
            series: vec![Series {
                label: "a".into(),
                points: vec![(0.0, 1.0), (1.0, 100.0)],
                y_err: Some(vec![0.1, 5.0]),
                color: PALETTE[0].into(),
                style: Style::MarkersAndLine,
            }],
            vlines: vec![VLine { x: 0.5, label: "x_c".into() }],
        };
        let svg = render(&[p], "caption");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("t &lt;1&gt;") && svg.contains("<polyline") && svg.contains("<circle"));
    }
}
