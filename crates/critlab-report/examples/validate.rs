//! Known-answer validation of every estimator of critlab-physics, printed against the references, plus figures
//! in `target/critlab-physics-validate/` (or the directory given as the first argument):
//!
//! `cargo run --release -p critlab-report --example validate [-- OUT_DIR]`
//!
//! The numbers in docs/physics.md come from this program.

use critlab_physics::collapse::{self, CollapseOptions, Corrections};
use critlab_physics::exponents::binder::{self, BinderOptions};
use critlab_physics::exponents::divergence::{self, DivergenceOptions};
use critlab_physics::report;
use critlab_physics::scaling_forms::{self, FormData, FormOptions};
use critlab_physics::validation::reference::{self as refv, ising_design as id, percolation_design as pd};
use critlab_physics::validation::{ising, percolation, synthetic};
use critlab_report::plot;
use std::time::Instant;

fn show(r: &refv::Reference, v: f64, e: f64) {
    let (ok, z) = r.check(v, e);
    println!(
        "  {:<28} {:>10} ref {:>9.5}  |z| = {:>5.2}  {}",
        r.name,
        report::format_estimate(v, e),
        r.value,
        z,
        if ok { "ok" } else { "MISS" }
    );
}

fn main() {
    let out =
        std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/critlab-physics-validate".into()));
    std::fs::create_dir_all(&out).expect("create output directory");
    let save = |name: &str, svg: String| std::fs::write(out.join(name), svg).expect("write figure");

    println!("== synthetic collapse (x_c = 0.1, nu = 1.5, zeta = 0.5, sigma = 0.01)");
    let d = synthetic::collapse_data(&[8.0, 16.0, 32.0, 64.0], -0.2, 0.4, 41, 0.1, 1.5, 0.5, 0.01, 1);
    let r = collapse::fit(&d, &CollapseOptions { x_c_guess: Some(0.0), ..Default::default() }).unwrap();
    print!("{}", report::collapse_summary(&r));
    save("synthetic_collapse.svg", plot::collapse_svg(&d, &r));

    println!("== coverage of the collapse errors: 40 synthetic draws x 3 parameters");
    let (mut in1, mut in1c, mut total) = (0, 0, 0);
    for s in 0..40u64 {
        let d = synthetic::collapse_data(&[8.0, 16.0, 32.0], -0.2, 0.4, 25, 0.1, 1.5, 0.5, 0.01, 100 + s);
        let r = collapse::fit(
            &d,
            &CollapseOptions { x_c_guess: Some(0.0), starts: 4, bootstrap: 40, seed: s, ..Default::default() },
        )
        .unwrap();
        for (v, t, e) in [(r.x_c, 0.1, r.errors.x_c), (r.nu, 1.5, r.errors.nu), (r.zeta, 0.5, r.errors.zeta)] {
            in1 += usize::from((v - t).abs() <= e.bootstrap.unwrap_or(0.0));
            in1c += usize::from((v - t).abs() <= e.curvature.unwrap_or(0.0));
            total += 1;
        }
    }
    println!(
        "  within 1 sigma: bootstrap (reported) {:.0}%, pyfssa curvature {:.0}%",
        100.0 * in1 as f64 / total as f64,
        100.0 * in1c as f64 / total as f64
    );

    println!("== 2D site percolation, L = {:?}, {} lattices per point", pd::SIZES, pd::SAMPLES);
    let t = Instant::now();
    let (span, big) = percolation::simulate(&pd::SIZES, &pd::ps(), pd::SAMPLES, pd::SEED);
    println!("  simulated in {:.1?}", t.elapsed());
    let r = collapse::fit(&span, &CollapseOptions { x_c_guess: Some(0.6), fix_zeta: Some(0.0), ..Default::default() })
        .unwrap();
    println!("  spanning probability (zeta = 0 fixed), S = {}", report::format_estimate(r.quality, r.quality_err));
    show(&refv::PERCOLATION_PC, r.x_c, r.x_c_err);
    show(&refv::PERCOLATION_NU, r.nu, r.nu_err);
    save("percolation_spanning_collapse.svg", plot::collapse_svg(&span, &r));
    let b = binder::fit(&span, &BinderOptions::default()).unwrap();
    if let (Some(x), Some(e)) = (b.x_c, b.x_c_err) {
        println!("  spanning-probability crossings");
        show(&refv::PERCOLATION_PC, x, e);
    }
    let r = collapse::fit(&big, &CollapseOptions { x_c_guess: Some(0.6), ..Default::default() }).unwrap();
    println!("  largest-cluster density, plain collapse, S = {}", report::format_estimate(r.quality, r.quality_err));
    show(&refv::PERCOLATION_PC, r.x_c, r.x_c_err);
    show(&refv::PERCOLATION_NU, r.nu, r.nu_err);
    show(&refv::PERCOLATION_ZETA, r.zeta, r.zeta_err);
    let q = collapse::quality_at(
        &big,
        refv::PERCOLATION_PC.value,
        refv::PERCOLATION_NU.value,
        refv::PERCOLATION_ZETA.value,
        None,
    );
    println!("  S at the exact exponents: {:.2}", q.s);
    let r = collapse::fit(
        &big,
        &CollapseOptions {
            x_c_guess: Some(0.6),
            corrections: Corrections::Amplitude { omega: 1.0 },
            ..Default::default()
        },
    )
    .unwrap();
    println!(
        "  largest-cluster density with (1 + a/L) correction, S = {}",
        report::format_estimate(r.quality, r.quality_err)
    );
    show(&refv::PERCOLATION_PC, r.x_c, r.x_c_err);
    show(&refv::PERCOLATION_NU, r.nu, r.nu_err);
    show(&refv::PERCOLATION_ZETA, r.zeta, r.zeta_err);
    save("percolation_largest_cluster_collapse.svg", plot::collapse_svg(&big, &r));

    println!("== 2D Ising (Wolff), L = {:?}, {} measurements per point", id::SIZES, id::MEASUREMENTS);
    let t = Instant::now();
    let [u, m, chi] = ising::simulate(&id::SIZES, &id::temps(), id::THERM, id::MEASUREMENTS, id::SEED);
    println!("  simulated in {:.1?}", t.elapsed());
    let b = binder::fit(&u, &BinderOptions::default()).unwrap();
    println!("  Binder crossings: {}, U* = {:.3}", b.message, b.y_c.unwrap_or(f64::NAN));
    show(&refv::ISING_TC, b.x_c.unwrap(), b.x_c_err.unwrap());
    save("ising_binder_crossings.svg", plot::binder_svg(&u, &b));
    for (name, data, opts, refs) in [
        (
            "<|m|>",
            &m,
            CollapseOptions { x_c_guess: Some(2.3), ..Default::default() },
            vec![&refv::ISING_TC, &refv::ISING_NU, &refv::ISING_ZETA_M],
        ),
        (
            "Binder U (zeta = 0)",
            &u,
            CollapseOptions { x_c_guess: Some(2.3), fix_zeta: Some(0.0), ..Default::default() },
            vec![&refv::ISING_TC, &refv::ISING_NU],
        ),
        (
            "chi",
            &chi,
            CollapseOptions { x_c_guess: Some(2.3), zeta_guess: 1.0, ..Default::default() },
            vec![&refv::ISING_TC, &refv::ISING_NU, &refv::ISING_ZETA_CHI],
        ),
    ] {
        let r = collapse::fit(data, &opts).unwrap();
        println!("  collapse of {name}, S = {}", report::format_estimate(r.quality, r.quality_err));
        let vals = [(r.x_c, r.x_c_err), (r.nu, r.nu_err), (r.zeta, r.zeta_err)];
        for (k, rf) in refs.iter().enumerate() {
            show(rf, vals[k].0, vals[k].1);
        }
        if name == "<|m|>" {
            save("ising_magnetisation_collapse.svg", plot::collapse_svg(data, &r));
        }
    }

    println!("== synthetic divergence y = 2 |x - 1|^-1.75 (3% noise) and smooth data");
    let d = synthetic::divergence_data(2.0, 1.0, 1.75, false, 0.01, 0.5, 30, 0.03, 5);
    let r = divergence::fit(&d, &DivergenceOptions::default()).unwrap();
    print!("{}", report::divergence_summary(&r));
    save("synthetic_divergence.svg", plot::divergence_svg(&d, &r));
    let s = synthetic::smooth_data(30, 0.02, 7);
    let r = divergence::fit(&s, &DivergenceOptions::default()).unwrap();
    print!("{}", report::divergence_summary(&r));
    save("smooth_no_divergence.svg", plot::divergence_svg(&s, &r));

    println!("== scaling form of the percolation spanning collapse");
    let r = collapse::fit(
        &span,
        &CollapseOptions { x_c_guess: Some(0.6), fix_zeta: Some(0.0), bootstrap: 0, ..Default::default() },
    )
    .unwrap();
    let sc = collapse::scaled_curves(&span, &r);
    let (xs, ys, es): (Vec<f64>, Vec<f64>, Vec<f64>) = sc
        .iter()
        .flat_map(|c| (0..c.x.len()).map(move |i| (c.x[i], c.y[i], c.dy[i])))
        .fold((vec![], vec![], vec![]), |mut a, (x, y, e)| {
            a.0.push(x);
            a.1.push(y);
            a.2.push(e);
            a
        });
    let fd = FormData {
        labels: vec!["L^(1/nu)(p - p_c)".into(), "R".into()],
        ..FormData::one_variable(&xs, &ys, Some(&es))
    };
    let rep = scaling_forms::fit(&fd, &FormOptions::default()).unwrap();
    print!("{}", report::scaling_forms_summary(&rep));
    save("percolation_scaling_form.svg", plot::scaling_forms_svg(&fd, &rep));
    println!("figures in {}", out.display());
}
