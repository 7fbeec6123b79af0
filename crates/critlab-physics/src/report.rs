//! Plain-text summaries of results for the terminal (the CLI prints these, or the JSON).

use crate::exponents::collapse::CollapseResult;

/// Format `value ± err` with the error rounded to two significant digits and the value to the
/// same decimal place, e.g. `0.59274 ± 0.00031` (scientific notation for very large or very
/// small errors); exact values (err 0) are printed as is.
pub fn format_estimate(value: f64, err: f64) -> String {
    if !(err > 0.0) || !err.is_finite() || !value.is_finite() {
        return format!("{value}");
    }
    if !(1e-4..1e6).contains(&err) || value.abs() >= 1e6 {
        return format!("{value:.3e} ± {err:.2e}");
    }
    let digits = (1 - err.log10().floor() as i32).clamp(0, 12) as usize;
    format!("{value:.digits$} ± {err:.digits$}")
}

fn opt(e: Option<f64>) -> String {
    e.map_or("—".to_string(), |v| format!("{v:.3e}"))
}

/// Terminal summary of a data collapse: parameters with both error estimates, quality, notes.
pub fn collapse_summary(r: &CollapseResult) -> String {
    let mut s = String::new();
    s.push_str("data collapse  A_L(x) = L^(zeta/nu) F(L^(1/nu) (x - x_c))\n");
    s.push_str(&format!(
        "  sizes {:?}, {} points ({} with neighbours), {} starts ({} reached the best), {} bootstrap samples\n",
        r.sizes, r.n_points, r.n_points_used, r.starts, r.starts_converged, r.bootstrap_samples
    ));
    s.push_str("  parameter  estimate                    bootstrap   curvature\n");
    let row = |name: &str, v: f64, e: f64, p: &crate::exponents::collapse::ErrorParts| {
        format!("  {name:<9}  {:<26}  {:<10}  {:<10}\n", format_estimate(v, e), opt(p.bootstrap), opt(p.curvature))
    };
    s.push_str(&row("x_c", r.x_c, r.x_c_err, &r.errors.x_c));
    s.push_str(&row("nu", r.nu, r.nu_err, &r.errors.nu));
    if r.zeta_fixed {
        s.push_str(&format!("  {:<9}  {} (fixed)\n", "zeta", r.zeta));
    } else {
        s.push_str(&row("zeta", r.zeta, r.zeta_err, &r.errors.zeta));
    }
    if let (Some(c), Some(p)) = (&r.correction, &r.errors.correction) {
        s.push_str(&row("corr.amp", c.amplitude, c.amplitude_err, p));
    }
    s.push_str(&format!("  quality S = {}  (≈ 1 is a good collapse)\n", format_estimate(r.quality, r.quality_err)));
    for n in &r.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    s
}

/// Terminal summary of a collapse with model selection ([`crate::corrections::analyze`]):
/// the chosen model and why, every candidate, the parameters with stat and sys errors, the
/// L_min drift and the notes.
pub fn collapse_analysis_summary(a: &crate::exponents::corrections::CollapseAnalysis) -> String {
    let r = &a.fit;
    let mut s = String::new();
    s.push_str("data collapse  A_L(x) = L^(zeta/nu) (1 + a L^-omega) F(L^(1/nu) (x - x_c - b L^(-1/nu-omega)))\n");
    s.push_str(&format!(
        "  sizes {:?}, {} points ({} with neighbours), {} bootstrap samples\n",
        r.sizes, r.n_points, r.n_points_used, r.bootstrap_samples
    ));
    s.push_str(&format!("  correction chosen: {}\n", a.model.reason));
    s.push_str("  candidate   omega    k   S        AIC        BIC        held-out S   x_c        nu       zeta\n");
    for c in &a.candidates {
        s.push_str(&format!(
            "  {}{:<10} {:<8} {:<3} {:<8.3} {:<10.1} {:<10.1} {:<12} {:<10.5} {:<8.4} {:<8.4}\n",
            if c.chosen { "*" } else { " " },
            c.correction,
            c.omega.map_or("-".into(), |w| format!("{w}{}", if c.omega_profiled { "p" } else { "" })),
            c.n_params,
            c.quality,
            c.aic,
            c.bic,
            c.held_out.map_or("-".into(), |h| format!("{h:.3}")),
            c.x_c,
            c.nu,
            c.zeta
        ));
    }
    s.push_str("  (omega 'p': profiled over the grid, counted as a parameter)\n");
    if let Some(c) = a.candidates.iter().find(|c| c.chosen && !c.omega_profile.is_empty()) {
        s.push_str(&format!("  omega profile of {}:", c.correction));
        for p in &c.omega_profile {
            s.push_str(&format!(
                "  [omega {} dchi2 {:.2}: x_c {:.5} nu {:.4} zeta {:.4}]",
                p.omega, p.delta_chi2, p.x_c, p.nu, p.zeta
            ));
        }
        s.push('\n');
    }
    s.push_str("  parameter  estimate (total)            stat        sys\n");
    let p = &a.parameters;
    for (name, e) in [("x_c", p.x_c), ("nu", p.nu), ("zeta", p.zeta)] {
        if name == "zeta" && r.zeta_fixed {
            s.push_str(&format!("  {:<9}  {} (fixed)\n", "zeta", r.zeta));
            continue;
        }
        s.push_str(&format!(
            "  {name:<9}  {:<26}  {:<10.3e}  {:<10.3e}\n",
            format_estimate(e.value, e.err),
            e.err_stat,
            e.err_sys
        ));
    }
    if let Some(c) = &r.correction {
        s.push_str(&format!("  {:<9}  {}\n", "corr.a/b", format_estimate(c.amplitude, c.amplitude_err)));
        if let (Some(b), Some(e)) = (c.shift, c.shift_err) {
            s.push_str(&format!("  {:<9}  {}\n", "corr.b", format_estimate(b, e)));
        }
    }
    s.push_str(&format!("  quality S = {}  (≈ 1 is a good collapse)\n", format_estimate(r.quality, r.quality_err)));
    if !a.drift.is_empty() {
        s.push_str("  L_min drift (chosen model):\n");
        for d in &a.drift {
            s.push_str(&format!(
                "    L_min {:<6} x_c {:<24} nu {:<20} zeta {:<20} S {:.3}\n",
                d.l_min,
                format_estimate(d.x_c, d.x_c_err),
                format_estimate(d.nu, d.nu_err),
                format_estimate(d.zeta, d.zeta_err),
                d.quality
            ));
        }
    }
    for n in &r.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    s
}

/// Terminal summary of a Bayesian scaling analysis next to the default method.
pub fn bsa_summary(a: &crate::exponents::bsa::BsaAnalysis) -> String {
    let b = &a.bsa;
    let mut s = String::new();
    s.push_str("Bayesian scaling analysis (Harada 2011): Gaussian-process scaling function, MAP + MCMC\n");
    s.push_str(&format!(
        "  sizes {:?}, {} points in the GP, correction {}{}, {} samples, acceptance {:.2}\n",
        b.sizes,
        b.n_points,
        b.corrections.name(),
        b.corrections.omega().map_or(String::new(), |w| format!(" (omega = {w})")),
        b.n_samples,
        b.acceptance
    ));
    s.push_str("  parameter  posterior median ± 1σ       MAP          2σ interval               R-hat   default method (stat ⊕ sys)\n");
    let d = &a.default.parameters;
    for (name, post) in &b.posteriors {
        let def = match name.as_str() {
            "x_c" => Some(d.x_c),
            "nu" => Some(d.nu),
            "zeta" => Some(d.zeta),
            _ => None,
        };
        s.push_str(&format!(
            "  {name:<9}  {:<26}  {:<11.5}  [{:.5}, {:.5}]  {:<6.3}  {}\n",
            format_estimate(post.value, post.err),
            post.map,
            post.interval_2sigma.0,
            post.interval_2sigma.1,
            post.r_hat,
            def.map_or(String::new(), |e| format_estimate(e.value, e.err))
        ));
    }
    s.push_str(&format!(
        "  hyperparameters (theta0, theta1{}): {:?}\n",
        if b.hyperparameters.len() > 2 { ", theta2" } else { "" },
        b.hyperparameters.iter().map(|v| format!("{v:.4}")).collect::<Vec<_>>()
    ));
    let q = &a.parameters;
    s.push_str(&format!(
        "  posterior ⊕ the default's sys (drift, omega, model choice; the BSA keeps one model): x_c {}, nu {}{}\n",
        format_estimate(q.x_c.value, q.x_c.err),
        format_estimate(q.nu.value, q.nu.err),
        if b.zeta_fixed { String::new() } else { format!(", zeta {}", format_estimate(q.zeta.value, q.zeta.err)) }
    ));
    s.push_str(&format!(
        "  agreement with the default method: x_c {:.1}σ, nu {:.1}σ, zeta {:.1}σ (default chose: {})\n",
        a.agreement_sigmas[0], a.agreement_sigmas[1], a.agreement_sigmas[2], a.default.model.reason
    ));
    for n in &b.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    s
}

/// Terminal summary of a divergence fit.
pub fn divergence_summary(r: &crate::exponents::divergence::DivergenceResult) -> String {
    let mut s = String::from("power-law divergence  y = A |x - x_c|^(-kappa)\n");
    s.push_str(&format!(
        "  {} points, side {:?}, {} bootstrap samples, chi2/dof = {:.3}\n",
        r.n_points, r.side, r.bootstrap_samples, r.chi2_dof
    ));
    s.push_str("  parameter  estimate                    bootstrap   curvature\n");
    for (name, v, e, p) in [
        ("x_c", r.x_c, r.x_c_err, &r.errors.x_c),
        ("kappa", r.kappa, r.kappa_err, &r.errors.kappa),
        ("A", r.amplitude, r.amplitude_err, &r.errors.amplitude),
    ] {
        s.push_str(&format!(
            "  {name:<9}  {:<26}  {:<10}  {:<10}\n",
            format_estimate(v, e),
            opt(p.bootstrap),
            opt(p.curvature)
        ));
    }
    s.push_str(&format!(
        "  AIC power law {:.2}, quadratic {:.2}, exponential {}\n  verdict: {}\n",
        r.aic_power_law,
        r.aic_quadratic,
        r.aic_exponential.map_or("—".into(), |v| format!("{v:.2}")),
        r.verdict
    ));
    s
}

/// Terminal summary of a Binder-crossing analysis.
pub fn binder_summary(r: &crate::exponents::binder::BinderResult) -> String {
    let mut s = String::from("Binder-type crossings\n");
    for c in &r.crossings {
        s.push_str(&format!(
            "  L = {} x {}: x = {}  (y = {:.4}, {} sign change(s))\n",
            c.size_a,
            c.size_b,
            format_estimate(c.x, c.x_err),
            c.y,
            c.n_sign_changes
        ));
    }
    for (a, b) in &r.pairs_without_crossing {
        s.push_str(&format!("  L = {a} x {b}: no crossing\n"));
    }
    match (r.x_c, r.x_c_err) {
        (Some(x), Some(e)) => s.push_str(&format!("  x_c = {}   ({})\n", format_estimate(x, e), r.message)),
        _ => s.push_str(&format!("  {}\n", r.message)),
    }
    if let Some(e) = &r.extrapolated {
        s.push_str(&format!(
            "  extrapolated x*(L) = x_c + c L^-kappa: x_c = {} (stat {:.2e}, kappa {:.2e}), kappa = {}, chi2 = {:.2} on {} dof\n",
            format_estimate(e.x_c, e.x_c_err),
            e.x_c_err_stat,
            e.x_c_err_sys,
            e.kappa,
            e.chi2,
            e.dof
        ));
    }
    s
}

/// Terminal summary of a relations report.
pub fn relations_summary(r: &crate::relations::RelationsReport) -> String {
    let mut s = String::from("scaling relations (residual 0 when the relation holds; verdict at 2 sigma)\n");
    for t in &r.relations {
        match (t.residual, t.residual_err) {
            (Some(v), Some(e)) => s.push_str(&format!(
                "  {:<13} {:<28} residual {:<22} 95% [{:.4}, {:.4}]  {:?}\n",
                t.name,
                t.formula,
                format_estimate(v, e),
                t.interval_95.map_or(0.0, |i| i.0),
                t.interval_95.map_or(0.0, |i| i.1),
                t.verdict
            )),
            _ => s.push_str(&format!(
                "  {:<13} {:<28} not testable: missing {}\n",
                t.name,
                t.formula,
                t.missing.join(", ")
            )),
        }
    }
    s.push_str(&format!("  {} consistent, {} violated, {} not testable\n", r.consistent, r.violated, r.not_testable));
    s
}

/// Terminal summary of the scaling-form ranking.
pub fn scaling_forms_summary(r: &crate::scaling_forms::FormsReport) -> String {
    let mut s = format!("scaling forms ({} points, {} variable(s), {}-fold CV)\n", r.n_points, r.variables, r.folds);
    s.push_str("  form          k   AIC         dAIC      BIC         CV rmse     ranks(AIC,BIC,CV)\n");
    for f in &r.fits {
        s.push_str(&format!(
            "  {:<12}  {:<2}  {:<10.2}  {:<8.2}  {:<10.2}  {:<10}  {},{},{}\n",
            format!("{:?}", f.form),
            f.k,
            f.aic,
            f.delta_aic,
            f.bic,
            f.cv_rmse.map_or("—".into(), |v| format!("{v:.3e}")),
            f.rank_aic,
            f.rank_bic,
            f.rank_cv.map_or("—".into(), |v| v.to_string())
        ));
    }
    let w = &r.fits[0];
    s.push_str(&format!("  winner: {:?}  {}\n", w.form, w.formula));
    for p in &w.params {
        s.push_str(&format!(
            "    {:<3} = {}\n",
            p.name,
            p.err.map_or(format!("{}", p.value), |e| format_estimate(p.value, e))
        ));
    }
    for k in &r.skipped {
        s.push_str(&format!("  skipped {:?}: {}\n", k.form, k.reason));
    }
    if !r.criteria_agree {
        s.push_str("  note: AIC, BIC and cross-validation do not all pick the same form\n");
    }
    s
}

/// Terminal summary of the exponents of a sweep: one line per exponent, its estimate with the
/// 95% interval, or why it is not determinable.
pub fn sweep_exponents_summary(r: &crate::exponents::sweep::SweepExponents) -> String {
    use crate::exponents::sweep::Outcome;
    let mut s =
        format!("critical exponents from {} runs ({} in the main family), sizes {:?}\n", r.n_runs, r.n_main, r.sizes);
    let f = &r.family;
    let roles: Vec<String> = [("size", f.size), ("field", f.field), ("crossover", f.crossover)]
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k} = {v}")))
        .collect();
    s.push_str(&format!(
        "  main family: {}; control grid ({} values): {}; runs per value: {:?}\n",
        if roles.is_empty() { "all runs".to_string() } else { roles.join(", ") },
        f.x.len(),
        f.x.iter().map(|x| format!("{x}")).collect::<Vec<_>>().join(", "),
        f.runs_per_x
    ));
    let rows: [(&str, &Outcome); 12] = [
        ("x_c", &r.x_c),
        ("beta", &r.beta),
        ("gamma", &r.gamma),
        ("alpha", &r.alpha),
        ("delta", &r.delta),
        ("nu", &r.nu),
        ("zeta", &r.zeta),
        ("z nu", &r.z_nu),
        ("z", &r.z),
        ("nu_M", &r.nu_m),
        ("mu", &r.mu),
        ("phi", &r.phi),
    ];
    for (name, o) in rows {
        match o {
            Outcome::Estimated(f) => s.push_str(&format!(
                "  {name:<6} {:<24} 95% [{:.4}, {:.4}]  {}\n",
                format_estimate(f.value, f.err),
                f.interval_95.0,
                f.interval_95.1,
                f.method
            )),
            Outcome::NotDeterminable { reason } => {
                s.push_str(&format!("  {name:<6} not determinable from this data: {reason}\n"))
            }
        }
    }
    if let Some(side) = r.ordered_side {
        s.push_str(&format!(
            "  ordered side: x {} x_c\n",
            if side == crate::exponents::sweep::OrderedSide::Above { ">" } else { "<" }
        ));
    }
    s
}
