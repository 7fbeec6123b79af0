//! Reference values of exactly solved (or precisely known) models and the tolerances the
//! validation tests hold the estimators to — kept in one place, next to the simulators.
//!
//! An estimate `v ± e` passes against a reference `r` when `|v − r| ≤ SIGMAS · e + systematic`,
//! where `systematic` is a stated allowance for finite-size corrections that the small lattices
//! of a fast test cannot remove (0 where none is needed).

/// How many reported standard errors an estimate may be from its reference.
pub const SIGMAS: f64 = 3.0;

/// A reference value with the systematic allowance used for it.
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    /// What it is.
    pub name: &'static str,
    /// The known value.
    pub value: f64,
    /// Extra absolute allowance for finite-size corrections (0 = none).
    pub systematic: f64,
    /// Where the value comes from.
    pub source: &'static str,
}

impl Reference {
    /// Whether `value ± err` is compatible with the reference under [`SIGMAS`] and the
    /// allowance; also returns the distance in standard errors for messages.
    pub fn check(&self, value: f64, err: f64) -> (bool, f64) {
        let d = (value - self.value).abs();
        let z = if err > 0.0 {
            d / err
        } else if d == 0.0 {
            0.0
        } else {
            f64::INFINITY
        };
        (d <= SIGMAS * err + self.systematic, z)
    }
}

/// 2D site percolation threshold (Newman & Ziff 2000; Jacobsen 2015: 0.592746050792…).
pub const PERCOLATION_PC: Reference = Reference {
    name: "site percolation p_c",
    value: 0.592_746_05,
    systematic: 0.0,
    source: "Newman & Ziff, PRL 85, 4104 (2000)",
};
/// 2D percolation ν = 4/3.
pub const PERCOLATION_NU: Reference = Reference {
    name: "percolation nu",
    value: 4.0 / 3.0,
    systematic: 0.0,
    source: "den Nijs 1979; Nienhuis 1982 (exact)",
};
/// 2D percolation ζ = −β = −5/36 for the largest-cluster density.
pub const PERCOLATION_ZETA: Reference = Reference {
    name: "percolation zeta = -beta",
    value: -5.0 / 36.0,
    systematic: 0.0,
    source: "den Nijs 1979; Nienhuis 1982 (exact)",
};
/// 2D Ising T_c = 2 / ln(1 + √2).
pub const ISING_TC: Reference =
    Reference { name: "Ising T_c", value: 2.269_185_314_213_022, systematic: 0.0, source: "Onsager 1944 (exact)" };
/// 2D Ising ν = 1.
pub const ISING_NU: Reference =
    Reference { name: "Ising nu", value: 1.0, systematic: 0.0, source: "Onsager 1944 (exact)" };
/// 2D Ising ζ = −β = −1/8 for ⟨|m|⟩.
pub const ISING_ZETA_M: Reference =
    Reference { name: "Ising zeta = -beta", value: -0.125, systematic: 0.0, source: "Yang 1952 (exact)" };
/// 2D Ising ζ = γ = 7/4 for χ.
pub const ISING_ZETA_CHI: Reference =
    Reference { name: "Ising zeta = gamma", value: 1.75, systematic: 0.0, source: "Onsager 1944 (exact)" };

/// The published anchor for comparison (pyfssa's verification on 2D bond percolation, not
/// run here): ν = 1.326 ± 0.021, ζ = −0.140 ± 0.012 (Sorge 2015, pyfssa documentation).
pub const PYFSSA_BOND_PERCOLATION: [(&str, f64, f64); 2] = [("nu", 1.326, 0.021), ("zeta", -0.140, 0.012)];

/// Percolation simulation used by the tests: sizes, p grid, lattices per point, seed.
pub mod percolation_design {
    /// Lattice sizes.
    pub const SIZES: [usize; 3] = [16, 32, 64];
    /// Occupation probabilities: 0.56 … 0.625 in steps of 0.005.
    pub fn ps() -> Vec<f64> {
        (0..=13).map(|i| 0.56 + 0.005 * i as f64).collect()
    }
    /// Independent lattices per (L, p).
    pub const SAMPLES: usize = 1500;
    /// Seed.
    pub const SEED: u64 = 2024;
}

/// Ising simulation used by the tests: sizes, temperature grid, sweeps, seed.
pub mod ising_design {
    /// Lattice sizes.
    pub const SIZES: [usize; 4] = [8, 12, 16, 24];
    /// Temperatures 2.20 … 2.34 in steps of 0.01.
    pub fn temps() -> Vec<f64> {
        (0..=14).map(|i| 2.20 + 0.01 * i as f64).collect()
    }
    /// Equilibration sweeps.
    pub const THERM: usize = 200;
    /// Measurements (one sweep apart).
    pub const MEASUREMENTS: usize = 4000;
    /// Seed.
    pub const SEED: u64 = 1944;
}
