//! What each default probe costs on one M1 measurement (modular addition p = 97, one-hot MLP of
//! width 512: `layer0.weight` [194, 512], `readout.weight` [512, 97], hidden [512, 512]), on
//! host matrices of that shape filled with seeded random values (ReLU of Gaussians for the
//! hidden representation). The tensor work of an eval step (extra gradients, test forward
//! pass) is not included: it is burn's, counted by `critlab train --json` in probe_seconds and
//! probe_cpu_seconds.
//!
//!   cargo run --release --example probe_cost [-- REPEATS]
//!
//! Prints, per probe, the median process CPU time over REPEATS (default 7) fresh measurements,
//! and the total of `measure_all`.
use critlab_train::probes::{
    default_probes, fourier::FourierSparsity, measure_all, noether::Charges, HostMatrix, Measurements,
};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use std::time::Instant;

fn random(rows: usize, cols: usize, relu: bool, rng: &mut rand_chacha::ChaCha8Rng) -> HostMatrix {
    let values = (0..rows * cols)
        .map(|_| {
            let x: f32 = rng.sample(StandardNormal);
            if relu {
                x.max(0.0)
            } else {
                0.05 * x
            }
        })
        .collect();
    HostMatrix { rows, cols, values }
}

fn measurements(rng: &mut rand_chacha::ChaCha8Rng) -> Measurements {
    let (p, width) = (97, 512);
    Measurements {
        step: 100,
        lr: 1e-3,
        batch: 4705,
        n_train: 4705,
        noise_batch: 64,
        train_loss: 0.1,
        train_acc: Some(1.0),
        test_loss: 3.0,
        test_acc: Some(0.2),
        test_cross_entropy: Some(3.0),
        label_entropy: (p as f64).ln(),
        test_r2: None,
        grad_sq: 1e-3,
        small_grad_sq: 2e-3,
        commutator_defect: 0.1,
        displacement_sq: Some(1e-6),
        weight_sq: 100.0,
        weights: vec![
            ("layer0.weight".into(), random(2 * p, width, false, rng)),
            ("readout.weight".into(), random(width, p, false, rng)),
        ],
        biases: vec![
            ("layer0.bias".into(), random(1, width, false, rng)),
            ("readout.bias".into(), random(1, p, false, rng)),
        ],
        param_grad_sq: Vec::new(),
        hidden: random(512, width, true, rng),
        modulus: Some(p),
        logits: Some(random(p * p, p, false, rng)),
        hidden_spectra: Default::default(),
        curvature: None,
    }
}

fn cpu_seconds() -> f64 {
    // SAFETY: clock_gettime writes the timespec it is given.
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let repeats: usize = std::env::args().nth(1).map_or(7, |a| a.parse().expect("REPEATS is a number"));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut probes = default_probes(1);
    // The trainer's extra probes of a modular task: Noether charges, Fourier sparsity and the
    // restricted and excluded losses (answers (a + b) mod p, half the examples training rows).
    let spec = critlab_core::RunSpec { width: 512, ..Default::default() }.validate().expect("M1 is a valid spec");
    assert_eq!((spec.p, spec.width), (97, 512));
    probes.push(Box::new(Charges::new(critlab_train::symmetry::of_spec(&spec), spec.neuron_charges)));
    probes.push(Box::new(FourierSparsity::new(97, 2)));
    let answers: Vec<u32> = (0..97 * 97).map(|n| ((n / 97 + n % 97) % 97) as u32).collect();
    let train = vec![(0..97 * 97).map(|n| n % 2 == 0).collect()];
    probes.push(Box::new(critlab_train::probes::fourier_losses::FourierLosses::new(97, answers, train)));
    let mut each = vec![Vec::new(); probes.len()];
    let (mut total, mut wall) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        let m = measurements(&mut rng);
        for (k, p) in probes.iter_mut().enumerate() {
            let start = cpu_seconds();
            let mut out = Vec::new();
            p.measure(&m, 0, &mut out);
            each[k].push(cpu_seconds() - start);
        }
        let m = measurements(&mut rng);
        let (start, w) = (cpu_seconds(), Instant::now());
        std::hint::black_box(measure_all(&mut probes, &m, 0));
        total.push(cpu_seconds() - start);
        wall.push(w.elapsed().as_secs_f64());
    }
    println!("| probe | ms (process CPU, median of {repeats}) |");
    println!("|---|---|");
    for (p, t) in probes.iter().zip(each) {
        println!("| {} | {:.2} |", p.name(), 1e3 * median(t));
    }
    println!("| all (measure_all, process CPU) | {:.2} |", 1e3 * median(total));
    println!("| all (measure_all, wall) | {:.2} |", 1e3 * median(wall));
    // The kernel most of it is: the eigenvalues of one 512 × 512 Gram matrix.
    let h = measurements(&mut rng).hidden;
    let a = nalgebra::DMatrix::from_row_iterator(h.rows, h.cols, h.values.iter().map(|&v| v as f64));
    let gram = &a * a.transpose();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        let start = cpu_seconds();
        std::hint::black_box(critlab_train::probes::spectrum::symmetric_eigenvalues(gram.clone()));
        ours.push(cpu_seconds() - start);
        let start = cpu_seconds();
        std::hint::black_box(gram.clone().symmetric_eigenvalues());
        theirs.push(cpu_seconds() - start);
    }
    println!();
    println!(
        "eigenvalues of a 512 × 512 Gram matrix, ms: nalgebra {:.2}, probes::spectrum {:.2}",
        1e3 * median(theirs),
        1e3 * median(ours)
    );
}
