//! The phase diagram figure: cells coloured by majority phase (left) and by log10 t_grok
//! (right), the estimated boundaries drawn as thick lines on both.
use super::svg::{esc, tick_label};
use critlab_physics::phase_diagram::{GridAxis, PhaseDiagram};
use critlab_physics::phases::Label;
use std::fmt::Write;

const W: f64 = 500.0;
const H: f64 = 430.0;
const ML: f64 = 70.0;
const MR: f64 = 20.0;
const MT: f64 = 40.0;
const MB: f64 = 110.0;

/// Fill colour and short name of a label.
pub fn label_style(l: Label) -> (&'static str, &'static str) {
    match l.as_str() {
        "comprehension" => ("#59a14f", "comp"),
        "grokking" => ("#f28e2b", "grok"),
        "memorization" => ("#4e79a7", "mem"),
        "confusion" => ("#bab0ac", "conf"),
        "diverged" => ("#e15759", "div"),
        "running" => ("#ffffff", "run"),
        "failed" => ("#9c755f", "fail"),
        _ => ("#f4f4f4", "none"),
    }
}

/// A perceptual dark-to-bright ramp (five stops of viridis), t ∈ [0, 1].
fn ramp(t: f64) -> String {
    const STOPS: [(f64, f64, f64); 5] =
        [(68.0, 1.0, 84.0), (59.0, 82.0, 139.0), (33.0, 145.0, 140.0), (94.0, 201.0, 98.0), (253.0, 231.0, 37.0)];
    let t = t.clamp(0.0, 1.0) * 4.0;
    let k = (t.floor() as usize).min(3);
    let f = t - k as f64;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    let mix = |x: f64, y: f64| (x + f * (y - x)).round() as u8;
    format!("#{:02x}{:02x}{:02x}", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Cell edges in drawing coordinates: midpoints between values, half a gap beyond the ends.
pub(crate) fn edges(axis: &GridAxis) -> Vec<f64> {
    let c: Vec<f64> = axis.values.iter().map(|v| axis.coord(*v)).collect();
    match c.len() {
        0 => vec![0.0, 1.0],
        1 => vec![c[0] - 0.5, c[0] + 0.5],
        n => {
            let mut e = vec![c[0] - 0.5 * (c[1] - c[0])];
            e.extend(c.windows(2).map(|w| 0.5 * (w[0] + w[1])));
            e.push(c[n - 1] + 0.5 * (c[n - 1] - c[n - 2]));
            e
        }
    }
}

fn value_label(v: f64) -> String {
    tick_label(v, false)
}

struct Frame {
    x0: f64,
    xe: Vec<f64>,
    ye: Vec<f64>,
}

impl Frame {
    fn px(&self, c: f64) -> f64 {
        let (a, b) = (self.xe[0], *self.xe.last().expect("edges"));
        self.x0 + ML + (c - a) / (b - a) * (W - ML - MR)
    }
    fn py(&self, c: f64) -> f64 {
        let (a, b) = (self.ye[0], *self.ye.last().expect("edges"));
        MT + (1.0 - (c - a) / (b - a)) * (H - MT - MB)
    }
}

fn panel(
    s: &mut String,
    d: &PhaseDiagram,
    x0: f64,
    title: &str,
    fill: &dyn Fn(usize, usize) -> Option<(String, String, &'static str)>,
) {
    let f = Frame { x0, xe: edges(&d.x), ye: edges(&d.y) };
    let (pl, pr, pt, pb) = (f.px(f.xe[0]), f.px(*f.xe.last().unwrap()), f.py(*f.ye.last().unwrap()), f.py(f.ye[0]));
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="24" text-anchor="middle" font-size="14" font-weight="bold" fill="#222">{}</text>"##,
        (pl + pr) / 2.0,
        esc(title)
    );
    let _ = write!(
        s,
        r##"<rect x="{pl:.1}" y="{pt:.1}" width="{:.1}" height="{:.1}" fill="#fafafa" stroke="none"/>"##,
        pr - pl,
        pb - pt
    );
    for i in 0..d.x.values.len() {
        for j in 0..d.y.values.len() {
            let Some((color, text, text_color)) = fill(i, j) else { continue };
            let (x1, x2, y1, y2) = (f.px(f.xe[i]), f.px(f.xe[i + 1]), f.py(f.ye[j + 1]), f.py(f.ye[j]));
            let _ = write!(
                s,
                r##"<rect x="{x1:.1}" y="{y1:.1}" width="{:.1}" height="{:.1}" fill="{color}" stroke="#fff" stroke-width="1"/>"##,
                x2 - x1,
                y2 - y1
            );
            let size = ((x2 - x1) / 5.0).clamp(8.0, 12.0);
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="{size:.0}" fill="{text_color}">{}</text>"##,
                (x1 + x2) / 2.0,
                (y1 + y2) / 2.0 + size / 3.0,
                esc(&text)
            );
        }
    }
    // boundaries: the shared edge of two cells whose majority phases differ
    for b in &d.boundaries {
        let idx = |axis: &GridAxis, v: f64| axis.values.iter().position(|u| *u == v);
        let (x1, y1, x2, y2) = if b.along == "x" {
            let Some(j) = idx(&d.y, b.y) else { continue };
            let x = f.px(d.x.coord(b.x));
            (x, f.py(f.ye[j]), x, f.py(f.ye[j + 1]))
        } else {
            let Some(i) = idx(&d.x, b.x) else { continue };
            let y = f.py(d.y.coord(b.y));
            (f.px(f.xe[i]), y, f.px(f.xe[i + 1]), y)
        };
        let _ = write!(
            s,
            r##"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#111" stroke-width="3" stroke-linecap="round"/>"##
        );
    }
    let _ = write!(
        s,
        r##"<rect x="{pl:.1}" y="{pt:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#888"/>"##,
        pr - pl,
        pb - pt
    );
    for v in &d.x.values {
        let x = f.px(d.x.coord(*v));
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{pb:.1}" x2="{x:.1}" y2="{:.1}" stroke="#888"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="#444">{}</text>"##,
            pb + 4.0,
            pb + 17.0,
            value_label(*v)
        );
    }
    for v in &d.y.values {
        let y = f.py(d.y.coord(*v));
        let _ = write!(
            s,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{pl:.1}" y2="{y:.1}" stroke="#888"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" fill="#444">{}</text>"##,
            pl - 4.0,
            pl - 7.0,
            y + 4.0,
            value_label(*v)
        );
    }
    let scale = |a: &GridAxis| if a.log { format!("{} (log)", a.name) } else { a.name.clone() };
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#222">{}</text>"##,
        (pl + pr) / 2.0,
        pb + 36.0,
        esc(&scale(&d.x))
    );
    let _ = write!(
        s,
        r##"<text transform="translate({:.1},{:.1}) rotate(-90)" text-anchor="middle" fill="#222">{}</text>"##,
        x0 + 18.0,
        (pt + pb) / 2.0,
        esc(&scale(&d.y))
    );
}

/// The two-panel phase diagram as an SVG document. `title` goes above the figure.
pub fn phase_diagram_svg(d: &PhaseDiagram, title: &str) -> String {
    let mut s = String::new();
    let total = 2.0 * W;
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{}" viewBox="0 0 {total} {}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#,
        H + 24.0,
        H + 24.0
    );
    s.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    if d.cells.is_empty() {
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="16" fill="#444">no runs to draw</text></svg>"##,
            W,
            H / 2.0
        );
        return s;
    }
    let phase_fill = |i: usize, j: usize| {
        d.cell(i, j).map(|c| {
            let (color, short) = label_style(c.label);
            let n = c.runs.len();
            let text =
                if c.share < 1.0 { format!("{short} {}/{n}", (c.share * n as f64).round()) } else { short.to_string() };
            (
                color.to_string(),
                text,
                if c.label == Label::Running || c.label == Label::NoData { "#444" } else { "#fff" },
            )
        })
    };
    panel(&mut s, d, 0.0, "phase (majority over seeds)", &phase_fill);
    let logs: Vec<f64> = d.cells.iter().filter_map(|c| c.t_grok).filter(|t| *t > 0.0).map(f64::log10).collect();
    let (lo, hi) = logs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let t_fill = |i: usize, j: usize| {
        d.cell(i, j).map(|c| match c.t_grok.filter(|t| *t > 0.0) {
            Some(t) => {
                let u = (t.log10() - lo) / span;
                (ramp(u), tick_label(t, false), if u > 0.6 { "#222" } else { "#fff" })
            }
            None => ("#e8e8e8".to_string(), "never".to_string(), "#666"),
        })
    };
    panel(&mut s, d, W, "log10 t_grok (median over seeds that reach it)", &t_fill);
    // legends
    let ly = H - 40.0;
    let mut x = ML;
    for l in d.labels_present() {
        let (color, _) = label_style(l);
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="{:.1}" width="14" height="14" fill="{color}" stroke="#888"/><text x="{:.1}" y="{ly:.1}" fill="#222">{}</text>"##,
            ly - 11.0,
            x + 18.0,
            l.as_str()
        );
        x += 30.0 + 7.5 * l.as_str().len() as f64;
    }
    let _ = write!(
        s,
        r##"<line x1="{ML}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#111" stroke-width="3"/><text x="{:.1}" y="{:.1}" fill="#222">estimated phase boundary</text>"##,
        ly + 18.0,
        ML + 24.0,
        ly + 18.0,
        ML + 30.0,
        ly + 22.0
    );
    if !logs.is_empty() {
        let (bx, bw) = (W + ML, W - ML - MR - 120.0);
        for k in 0..40 {
            let _ = write!(
                s,
                r##"<rect x="{:.1}" y="{:.1}" width="{:.2}" height="12" fill="{}"/>"##,
                bx + bw * k as f64 / 40.0,
                ly - 10.0,
                bw / 40.0 + 0.5,
                ramp(k as f64 / 39.0)
            );
        }
        let _ = write!(
            s,
            r##"<text x="{bx:.1}" y="{:.1}" fill="#222">{}</text><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#222">{}</text><text x="{:.1}" y="{:.1}" fill="#222">t_grok (steps)</text>"##,
            ly + 16.0,
            tick_label(10f64.powf(lo), false),
            bx + bw,
            ly + 16.0,
            tick_label(10f64.powf(hi), false),
            bx + bw + 8.0,
            ly
        );
    }
    if !title.is_empty() {
        let _ =
            write!(s, r##"<text x="{W}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##, H + 12.0, esc(title));
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use critlab_core::Phase;
    use critlab_physics::phase_diagram::{build, RunPoint};

    #[test]
    fn draws_cells_boundaries_and_legends() {
        let pts: Vec<RunPoint> = [
            (0.01, 0.3, Phase::Memorization, None),
            (1.0, 0.3, Phase::Grokking, Some(900.0)),
            (0.01, 0.9, Phase::Comprehension, Some(80.0)),
            (1.0, 0.9, Phase::Comprehension, Some(60.0)),
        ]
        .iter()
        .enumerate()
        .map(|(i, (x, y, p, t))| RunPoint { run_id: i as i64, x: *x, y: *y, label: (*p).into(), t_grok: *t })
        .collect();
        let d = build("weight-decay", "train-frac", &pts);
        let svg = phase_diagram_svg(&d, "sweep demo");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for needle in [
            "memorization",
            "grokking",
            "comprehension",
            "estimated phase boundary",
            "weight-decay (log)",
            "never",
            "sweep demo",
        ] {
            assert!(svg.contains(needle), "missing {needle}");
        }
        assert_eq!(svg.matches("stroke-width=\"3\" stroke-linecap").count(), 2 * d.boundaries.len());
        assert!(phase_diagram_svg(&build("a", "b", &[]), "").contains("no runs"));
    }
}
