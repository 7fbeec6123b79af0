//! Figures of the analyses as self-contained SVG strings (write them to a `.svg` file or
//! inline them in HTML): the collapse (raw and scaled side by side), the divergence (data and
//! fit, log–log in |x − x_c|), the Binder crossings, and the winning scaling form over the data.

pub mod control;
pub mod early_warning;
pub mod phase_diagram;
pub mod predict;
pub mod studies;
pub mod svg;
pub mod transitions;

use critlab_physics::data::CollapseData;
use critlab_physics::data::XyData;
use critlab_physics::exponents::binder::BinderResult;
use critlab_physics::exponents::collapse::{scaled_curves, CollapseResult};
use critlab_physics::exponents::divergence::DivergenceResult;
use critlab_physics::report::format_estimate;
use critlab_physics::scaling_forms::{evaluate, FormData, FormsReport};
use svg::{render, Axis, Panel, Series, Style, VLine, PALETTE};

fn size_series(curves: &[critlab_physics::data::SizeCurve], with_err: bool) -> Vec<Series> {
    curves
        .iter()
        .enumerate()
        .map(|(i, c)| Series {
            label: format!("L = {}", c.size),
            points: c.x.iter().copied().zip(c.y.iter().copied()).collect(),
            y_err: with_err.then(|| c.dy.clone()),
            color: PALETTE[i % PALETTE.len()].into(),
            style: Style::MarkersAndLine,
        })
        .collect()
}

/// Raw curves A_L(x) (left) and the collapse L^{−ζ/ν} A vs L^{1/ν}(x − x_c) (right).
pub fn collapse_svg(data: &CollapseData, result: &CollapseResult) -> String {
    let (_, xl, yl) = &data.labels;
    let raw: Vec<_> = data.curves.iter().filter(|c| result.sizes.contains(&c.size)).cloned().collect();
    let scaled = scaled_curves(data, result);
    let left = Panel {
        title: format!("{yl} vs {xl}"),
        x: Axis::fit(xl, raw.iter().flat_map(|c| c.x.clone()), false),
        y: Axis::fit(
            yl,
            raw.iter().flat_map(|c| c.y.iter().zip(&c.dy).flat_map(|(y, e)| [y - e, y + e]).collect::<Vec<_>>()),
            false,
        ),
        series: size_series(&raw, data.has_dy),
        vlines: vec![VLine { x: result.x_c, label: format!("{xl}_c") }],
    };
    let right = Panel {
        title: format!("collapse, S = {}", format_estimate(result.quality, result.quality_err)),
        x: Axis::fit(&format!("L^(1/nu) ({xl} - {xl}_c)"), scaled.iter().flat_map(|c| c.x.clone()), false),
        y: Axis::fit(
            &format!("L^(-zeta/nu) {yl}"),
            scaled.iter().flat_map(|c| c.y.iter().zip(&c.dy).flat_map(|(y, e)| [y - e, y + e]).collect::<Vec<_>>()),
            false,
        ),
        series: size_series(&scaled, data.has_dy),
        vlines: vec![VLine { x: 0.0, label: String::new() }],
    };
    let caption = format!(
        "{}_c = {}   nu = {}   zeta = {}{}",
        xl,
        format_estimate(result.x_c, result.x_c_err),
        format_estimate(result.nu, result.nu_err),
        format_estimate(result.zeta, result.zeta_err),
        if result.zeta_fixed { " (fixed)" } else { "" }
    );
    render(&[left, right], &caption)
}

/// Data and fitted power law: y vs x (left) and |y| vs |x − x_c| on log–log axes (right).
pub fn divergence_svg(data: &XyData, result: &DivergenceResult) -> String {
    let (xl, yl) = &data.labels;
    let dir = if data.x[0] >= result.x_c { 1.0 } else { -1.0 };
    let model = |x: f64| result.amplitude * (dir * (x - result.x_c)).powf(-result.kappa);
    let d: Vec<f64> = data.x.iter().map(|x| dir * (x - result.x_c)).collect();
    let (dmin, dmax) = d.iter().filter(|v| **v > 0.0).fold((f64::INFINITY, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
    let grid: Vec<f64> = (0..200).map(|i| dmin * (dmax / dmin).powf(i as f64 / 199.0)).collect();
    let fit_xy: Vec<(f64, f64)> = grid.iter().map(|&g| (result.x_c + dir * g, model(result.x_c + dir * g))).collect();
    let err = data.dy.clone();
    let color = if result.supported { PALETTE[2] } else { PALETTE[9] };
    let left = Panel {
        title: format!("{yl} vs {xl}"),
        x: Axis::fit(xl, data.x.iter().copied().chain([result.x_c]), false),
        y: Axis::fit(yl, data.y.clone(), false),
        series: vec![
            Series {
                label: "data".into(),
                points: data.x.iter().copied().zip(data.y.iter().copied()).collect(),
                y_err: err.clone(),
                color: PALETTE[0].into(),
                style: Style::Markers,
            },
            Series {
                label: "power law".into(),
                points: fit_xy.clone(),
                y_err: None,
                color: color.into(),
                style: Style::Line,
            },
        ],
        vlines: vec![VLine { x: result.x_c, label: format!("{xl}_c") }],
    };
    let ay: Vec<f64> = data.y.iter().map(|v| v.abs()).collect();
    let right = Panel {
        title: format!("log-log, kappa = {}", format_estimate(result.kappa, result.kappa_err)),
        x: Axis::fit(&format!("|{xl} - {xl}_c|"), d.iter().copied(), true),
        y: Axis::fit(&format!("|{yl}|"), ay.iter().copied(), true),
        series: vec![
            Series {
                label: "data".into(),
                points: d.iter().copied().zip(ay.iter().copied()).collect(),
                y_err: err,
                color: PALETTE[0].into(),
                style: Style::Markers,
            },
            Series {
                label: String::new(),
                points: grid.iter().map(|&g| (g, model(result.x_c + dir * g).abs())).collect(),
                y_err: None,
                color: color.into(),
                style: Style::Line,
            },
        ],
        vlines: vec![],
    };
    let caption = format!("{}_c = {}; {}", xl, format_estimate(result.x_c, result.x_c_err), result.verdict);
    render(&[left, right], &caption)
}

/// The curves y_L(x) with the combined crossing marked.
pub fn binder_svg(data: &CollapseData, result: &BinderResult) -> String {
    let (_, xl, yl) = &data.labels;
    let curves: Vec<_> = data.curves.iter().filter(|c| result.sizes.contains(&c.size)).cloned().collect();
    let mut series = size_series(&curves, data.has_dy);
    series.push(Series {
        label: "pair crossings".into(),
        points: result.crossings.iter().map(|c| (c.x, c.y)).collect(),
        y_err: None,
        color: "#000".into(),
        style: Style::Markers,
    });
    let panel = Panel {
        title: format!("{yl}: crossings"),
        x: Axis::fit(xl, curves.iter().flat_map(|c| c.x.clone()), false),
        y: Axis::fit(yl, curves.iter().flat_map(|c| c.y.clone()), false),
        series,
        vlines: result.x_c.map(|x| VLine { x, label: format!("{xl}_c") }).into_iter().collect(),
    };
    let caption = match (result.x_c, result.x_c_err) {
        (Some(x), Some(e)) => format!("{}_c = {} ({})", xl, format_estimate(x, e), result.message),
        _ => result.message.clone(),
    };
    render(&[panel], &caption)
}

/// The winning scaling form over the data (one variable), or predicted vs observed (two
/// variables), with the runner-up dashed.
pub fn scaling_forms_svg(data: &FormData, report: &FormsReport) -> String {
    let best = &report.fits[0];
    let second = report.fits.get(1);
    let resp = data.labels.last().cloned().unwrap_or_default();
    let panel = if report.variables == 1 {
        let xs: Vec<f64> = data.inputs.iter().map(|r| r[0]).collect();
        let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let grid: Vec<f64> = (0..300).map(|i| lo + (hi - lo) * i as f64 / 299.0).collect();
        let mut series = vec![Series {
            label: "data".into(),
            points: xs.iter().copied().zip(data.response.iter().copied()).collect(),
            y_err: data.sigma.clone(),
            color: PALETTE[0].into(),
            style: Style::Markers,
        }];
        series.push(Series {
            label: format!("{:?} (best AIC)", best.form),
            points: grid.iter().map(|&x| (x, evaluate(best, &[x]))).collect(),
            y_err: None,
            color: PALETTE[2].into(),
            style: Style::Line,
        });
        if let Some(s) = second {
            series.push(Series {
                label: format!("{:?}, dAIC {:.1}", s.form, s.delta_aic),
                points: grid.iter().map(|&x| (x, evaluate(s, &[x]))).collect(),
                y_err: None,
                color: PALETTE[4].into(),
                style: Style::Dashed,
            });
        }
        Panel {
            title: format!("scaling function: {}", best.formula),
            x: Axis::fit(&data.labels[0], xs.clone(), false),
            y: Axis::fit(&resp, data.response.clone(), false),
            series,
            vlines: vec![],
        }
    } else {
        let pred: Vec<f64> = data.inputs.iter().map(|r| evaluate(best, r)).collect();
        let all: Vec<f64> = pred.iter().chain(&data.response).copied().collect();
        let (lo, hi) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        Panel {
            title: format!("{}: predicted vs observed", best.formula),
            x: Axis::fit(&format!("observed {resp}"), all.clone(), false),
            y: Axis::fit(&format!("predicted {resp}"), all, false),
            series: vec![
                Series {
                    label: "y = x".into(),
                    points: vec![(lo, lo), (hi, hi)],
                    y_err: None,
                    color: "#999".into(),
                    style: Style::Dashed,
                },
                Series {
                    label: format!("{:?}", best.form),
                    points: data.response.iter().copied().zip(pred).collect(),
                    y_err: None,
                    color: PALETTE[0].into(),
                    style: Style::Markers,
                },
            ],
            vlines: vec![],
        }
    };
    let caption = format!(
        "winner {:?} by AIC{}; ranks (AIC, BIC, CV) agree: {}",
        best.form,
        second.map_or(String::new(), |s| format!(" (next: {:?}, dAIC = {:.1})", s.form, s.delta_aic)),
        if report.criteria_agree { "yes" } else { "no" }
    );
    render(&[panel], &caption)
}
