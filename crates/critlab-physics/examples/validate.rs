//! Runs every known-answer validation and prints the estimates against the references:
//! `cargo run --release -p critlab-physics --example validate`.

use critlab_physics::collapse::{self, CollapseOptions};
use critlab_physics::validation::{percolation, reference as refv, synthetic};
use std::time::Instant;

fn show(r: &refv::Reference, v: f64, e: f64) {
    let (ok, z) = r.check(v, e);
    println!("  {:<28} {:>10.5} ± {:<9.5} ref {:>9.5}  z = {:>5.2}  {}", r.name, v, e, r.value, z, if ok { "ok" } else { "MISS" });
}

fn main() {
    let t = Instant::now();
    let d = synthetic::collapse_data(&[8.0, 16.0, 32.0, 64.0], -1.0, 1.0, 25, 0.1, 1.5, 0.5, 0.01, 1);
    let r = collapse::fit(&d, &CollapseOptions { x_c_guess: Some(0.0), nu_guess: 1.0, ..Default::default() }).unwrap();
    println!("synthetic collapse (x_c 0.1, nu 1.5, zeta 0.5), {:.2?}", t.elapsed());
    print!("{}", critlab_physics::report::collapse_summary(&r));

    let t = Instant::now();
    use refv::percolation_design as pd;
    let (span, big) = percolation::simulate(&pd::SIZES, &pd::ps(), pd::SAMPLES, pd::SEED);
    println!("percolation simulated in {:.2?}", t.elapsed());
    let t = Instant::now();
    let r = collapse::fit(&span, &CollapseOptions { x_c_guess: Some(0.6), nu_guess: 1.0, fix_zeta: Some(0.0), ..Default::default() }).unwrap();
    println!("spanning probability collapse, {:.2?}", t.elapsed());
    print!("{}", critlab_physics::report::collapse_summary(&r));
    show(&refv::PERCOLATION_PC, r.x_c, r.x_c_err);
    show(&refv::PERCOLATION_NU, r.nu, r.nu_err);
    let r = collapse::fit(&big, &CollapseOptions { x_c_guess: Some(0.6), nu_guess: 1.0, ..Default::default() }).unwrap();
    println!("largest cluster collapse");
    print!("{}", critlab_physics::report::collapse_summary(&r));
    show(&refv::PERCOLATION_PC, r.x_c, r.x_c_err);
    show(&refv::PERCOLATION_NU, r.nu, r.nu_err);
    show(&refv::PERCOLATION_ZETA, r.zeta, r.zeta_err);
}
