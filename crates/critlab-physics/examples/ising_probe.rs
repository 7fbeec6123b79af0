use critlab_physics::collapse::{self, CollapseOptions, Corrections};
use critlab_physics::validation::ising;
use critlab_physics::validation::reference::ising_design as id;
fn main() {
    let t = std::time::Instant::now();
    let d = ising::simulate(&id::SIZES, &id::temps(), id::THERM, id::MEASUREMENTS, id::SEED);
    println!("sim {:.2?}", t.elapsed());
    for (k, fz) in [(0usize, Some(0.0)), (1, None), (2, None)] {
        for (name, o) in [
            ("plain", CollapseOptions { x_c_guess: Some(2.3), fix_zeta: fz, zeta_guess: if k == 2 { 1.0 } else { 0.0 }, ..Default::default() }),
            ("drop1", CollapseOptions { x_c_guess: Some(2.3), fix_zeta: fz, drop_smallest: 1, zeta_guess: if k == 2 { 1.0 } else { 0.0 }, ..Default::default() }),
            ("window2", CollapseOptions { x_c_guess: Some(2.3), fix_zeta: fz, x_window: Some((-2.0, 2.0)), zeta_guess: if k == 2 { 1.0 } else { 0.0 }, ..Default::default() }),
            ("amp1", CollapseOptions { x_c_guess: Some(2.3), fix_zeta: fz, corrections: Corrections::Amplitude { omega: 1.0 }, zeta_guess: if k == 2 { 1.0 } else { 0.0 }, ..Default::default() }),
            ("shift1", CollapseOptions { x_c_guess: Some(2.3), fix_zeta: fz, corrections: Corrections::Shift { omega: 1.0 }, zeta_guess: if k == 2 { 1.0 } else { 0.0 }, ..Default::default() }),
        ] {
            let r = collapse::fit(&d[k], &o).unwrap();
            println!("{k} {name:<8} Tc {:.4}±{:.4} nu {:.3}±{:.3} zeta {:.3}±{:.3} S {:.2}", r.x_c, r.x_c_err, r.nu, r.nu_err, r.zeta, r.zeta_err, r.quality);
        }
    }
}
