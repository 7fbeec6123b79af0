//! Curvature of the training loss (docs/theory.md §11): Hessian-vector products and the top of the
//! Hessian's spectrum, per replica. Shared code: the sharpness probes read it, and so can any
//! observable built on H (B_noise = tr(HΣ)/(GᵀHG) needs only [`Surface::hvp`]).
//!
//! * [`Surface`]: the training loss of a replica group as critlab defines it (MSE without ½,
//!   the trainer's cross-entropy) on a fixed batch, at fixed parameters θ.
//! * [`Surface::hvp`]: H·v by central differences of gradients,
//!   H v ≈ ‖v‖ [g(θ + h v̂) − g(θ − h v̂)] / (2h), v̂ = v/‖v‖. burn has no second-order
//!   autodiff, so the gradient is the trainer's own (burn's autodiff, or the hand-written CPU
//!   step of the one-hot MLP).
//! * [`lanczos`]: the top k eigenvalues of a symmetric operator by Lanczos with full
//!   reorthogonalisation, started from a seeded Gaussian vector; the small tridiagonal
//!   eigenproblem is solved by nalgebra's `SymmetricEigen` (already a dependency of the probes).
//! * [`sharpness`]: λ_max(H) and, for Adam-type optimizers, λ_max(P⁻¹H) through the symmetric
//!   P^(−½) H P^(−½) (same spectrum), for every replica at once.
//!
//! **Step h and its error.** Gradients are f32 (unit roundoff u = 2⁻²³ ≈ 1.2e-7). The central
//! difference has truncation error h²/6 · ∇³L[v̂, v̂, ·] (zero on a quadratic loss) and rounding
//! error ≈ u·|g|/h from the two gradients, plus the rounding of θ ± h v̂ itself (relative
//! u·|θ_j|/(h|v̂_j|) per component). The step balancing the first two is h ∝ u^(1/3); it is
//! scaled with the parameters so that θ ± h v̂ moves θ by the same relative amount at any size:
//! h = u^(1/3) · max(1, ‖θ‖) ≈ 4.9e-3 · max(1, ‖θ‖) per replica ([`fd_step`]). Measured
//! (tests below): on the linear student (quadratic, only rounding) λ_max is within 1e-5 of
//! (2/n)XᵀX; on a small MLP the HVP's asymmetry |uᵀHw − wᵀHu| is below 1e-3 of ‖H‖.
//!
//! **Lanczos.** Iterates until every one of the top k Ritz values has the residual bound
//! β_j|s_ji| ≤ [`TOLERANCE`] · |θ_max| (the eigenvalue error is at most that, and usually its
//! square over the gap), or the Krylov space spans the parameters, or [`MAX_ITERATIONS`]. A
//! breakdown (an invariant subspace) restarts from a fresh seeded vector orthogonal to the
//! basis, so a degenerate eigenvalue is found with its multiplicity when the Krylov space closes
//! before the top k converge; otherwise (a large operator whose top converges first) an exactly
//! degenerate eigenvalue appears once, the known limit of single-vector Lanczos (block Lanczos
//! would find its copies; finite-difference noise usually splits them). Each iteration costs
//! one HVP, i.e. two gradients of the probe's batch. A non-finite operator value (a diverging
//! replica) gives NaN for that replica, never a panic.
use crate::batch::Batch;
use crate::models::Model;
use crate::trainer::loss_and_grad;
use burn::tensor::{Device, Tensor, TensorData};
use critlab_core::{LossKind, ValidRunSpec};
use nalgebra::{DMatrix, SymmetricEigen};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Relative residual at which a Ritz value counts as converged.
pub const TOLERANCE: f64 = 1e-4;
/// Most Lanczos iterations (HVPs) per measurement.
pub const MAX_ITERATIONS: usize = 100;

/// The training loss of a replica group on a fixed batch, at parameters `params` (`[R, rows,
/// cols]` each, the model's order).
pub struct Surface<'a> {
    /// The model.
    pub model: &'a dyn Model,
    /// θ, every replica.
    pub params: &'a [Tensor<3>],
    /// The examples of the loss.
    pub batch: &'a Batch,
    /// The loss, as the trainer computes it.
    pub loss: LossKind,
}

/// The finite-difference step for parameters of norm `theta_norm`: u^(1/3)·max(1, ‖θ‖) with u
/// the f32 unit roundoff (see the module's notes).
pub fn fd_step(theta_norm: f64) -> f64 {
    (f32::EPSILON as f64).cbrt() * theta_norm.max(1.0)
}

impl Surface<'_> {
    /// Replicas R.
    pub fn replicas(&self) -> usize {
        self.params[0].dims()[0]
    }

    /// Parameters per replica P.
    pub fn dim(&self) -> usize {
        self.params.iter().map(|p| p.dims()[1] * p.dims()[2]).sum()
    }

    /// θ of every replica as flat host vectors (`[R][P]`, parameters in the model's order).
    pub fn theta(&self) -> Vec<Vec<f64>> {
        flatten(self.params)
    }

    /// The gradient of every replica's loss at θ, flat (`[R][P]`).
    pub fn gradient(&self) -> Vec<Vec<f64>> {
        flatten(&loss_and_grad(self.model, self.params, self.batch, self.loss).1)
    }

    /// H v for every replica's `v[r]` by central differences of gradients with the step
    /// [`fd_step`] (a zero vector gives zero).
    pub fn hvp(&self, v: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let device = self.params[0].device();
        let theta_norms: Vec<f64> = self.theta().iter().map(|t| norm(t)).collect();
        let scales: Vec<(f64, f64)> = v.iter().zip(&theta_norms).map(|(v, &t)| (norm(v), fd_step(t))).collect();
        // h·v̂ per replica, as the parameters' shapes.
        let steps: Vec<Vec<f64>> = v
            .iter()
            .zip(&scales)
            .map(|(v, &(n, h))| if n > 0.0 { v.iter().map(|x| x * h / n).collect() } else { vec![0.0; v.len()] })
            .collect();
        let delta = unflatten(&steps, self.params, &device);
        let shifted = |sign: f64| -> Vec<Tensor<3>> {
            self.params.iter().zip(&delta).map(|(p, d)| p.clone() + d.clone().mul_scalar(sign)).collect()
        };
        let (plus, minus) = (shifted(1.0), shifted(-1.0));
        let g_plus = loss_and_grad(self.model, &plus, self.batch, self.loss).1;
        let g_minus = loss_and_grad(self.model, &minus, self.batch, self.loss).1;
        let diff: Vec<Tensor<3>> = g_plus.into_iter().zip(g_minus).map(|(a, b)| a - b).collect();
        flatten(&diff)
            .into_iter()
            .zip(&scales)
            .map(
                |(d, &(n, h))| {
                    if n > 0.0 {
                        d.iter().map(|x| x * n / (2.0 * h)).collect()
                    } else {
                        vec![0.0; d.len()]
                    }
                },
            )
            .collect()
    }
}

/// Every replica's values of a list of `[R, rows, cols]` tensors as flat host vectors `[R][P]`.
pub fn flatten(ts: &[Tensor<3>]) -> Vec<Vec<f64>> {
    let r = ts[0].dims()[0];
    let mut out: Vec<Vec<f64>> = vec![Vec::new(); r];
    for t in ts {
        let [_, rows, cols] = t.dims();
        let v = t.clone().try_into_vec_as::<f32>().expect("reading a float tensor");
        for (o, chunk) in out.iter_mut().zip(v.chunks(rows * cols)) {
            o.extend(chunk.iter().map(|&x| f64::from(x)));
        }
    }
    out
}

/// Flat vectors `[R][P]` back into tensors shaped like `like`.
pub fn unflatten(v: &[Vec<f64>], like: &[Tensor<3>], device: &Device) -> Vec<Tensor<3>> {
    let mut offset = 0;
    like.iter()
        .map(|t| {
            let [r, rows, cols] = t.dims();
            let size = rows * cols;
            let values: Vec<f32> = v.iter().flat_map(|x| x[offset..offset + size].iter().map(|&y| y as f32)).collect();
            offset += size;
            Tensor::from_data(TensorData::new(values, [r, rows, cols]), device)
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// A seeded Gaussian vector of length `n`, orthogonal to `basis` and of unit norm (`None` when
/// the basis already spans everything).
fn fresh_vector(n: usize, basis: &[Vec<f64>], rng: &mut ChaCha8Rng) -> Option<Vec<f64>> {
    let mut v: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
    for _ in 0..2 {
        for q in basis {
            let c = dot(q, &v);
            v.iter_mut().zip(q).for_each(|(x, y)| *x -= c * y);
        }
    }
    let nv = norm(&v);
    (nv > 1e-8 * (n as f64).sqrt() && basis.len() < n).then(|| v.into_iter().map(|x| x / nv).collect())
}

/// Lanczos state of one replica.
struct Chain {
    basis: Vec<Vec<f64>>,
    alpha: Vec<f64>,
    /// β_j couples q_j and q_{j+1} (0 after a restart).
    beta: Vec<f64>,
    /// Iteration of the last restart.
    restarted_at: Option<usize>,
    result: Option<Vec<f64>>,
}

/// The eigenvalues (descending) and the last components of the eigenvectors of the tridiagonal
/// matrix with diagonal `alpha` and off-diagonal `beta`.
fn ritz(alpha: &[f64], beta: &[f64]) -> Vec<(f64, f64)> {
    let m = alpha.len();
    let t = DMatrix::from_fn(m, m, |i, j| {
        if i == j {
            alpha[i]
        } else if i + 1 == j {
            beta[i]
        } else if j + 1 == i {
            beta[j]
        } else {
            0.0
        }
    });
    let eig = SymmetricEigen::new(t);
    let mut pairs: Vec<(f64, f64)> = (0..m).map(|i| (eig.eigenvalues[i], eig.eigenvectors[(m - 1, i)])).collect();
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    pairs
}

/// The top `k` eigenvalues (descending) of the symmetric operator `apply` on vectors of length
/// `n`, for each of R replicas at once (`apply` maps R vectors to R vectors; `rngs[r]` draws
/// replica r's start and restart vectors). Fewer than k when n < k; NaN for a replica whose
/// operator gave a non-finite value.
pub fn lanczos(
    mut apply: impl FnMut(&[Vec<f64>]) -> Vec<Vec<f64>>,
    n: usize,
    k: usize,
    rngs: &mut [ChaCha8Rng],
) -> Vec<Vec<f64>> {
    let limit = n.min(MAX_ITERATIONS.max(k + 2));
    let mut chains: Vec<Chain> = rngs
        .iter_mut()
        .map(|rng| Chain {
            basis: fresh_vector(n, &[], rng).into_iter().collect(),
            alpha: Vec::new(),
            beta: Vec::new(),
            restarted_at: None,
            result: None,
        })
        .collect();
    for j in 0..limit {
        if chains.iter().all(|c| c.result.is_some()) {
            break;
        }
        // Finished replicas apply the operator to zeros (the batch is shared).
        let q: Vec<Vec<f64>> =
            chains.iter().map(|c| if c.result.is_none() { c.basis[j].clone() } else { vec![0.0; n] }).collect();
        let w_all = apply(&q);
        for ((c, mut w), rng) in chains.iter_mut().zip(w_all).zip(rngs.iter_mut()) {
            if c.result.is_some() {
                continue;
            }
            if w.iter().any(|x| !x.is_finite()) {
                c.result = Some(vec![f64::NAN; k.min(n)]);
                continue;
            }
            let a = dot(&c.basis[j], &w);
            c.alpha.push(a);
            // Full reorthogonalisation, twice ("twice is enough").
            for _ in 0..2 {
                for qi in &c.basis {
                    let s = dot(qi, &w);
                    w.iter_mut().zip(qi).for_each(|(x, y)| *x -= s * y);
                }
            }
            let b = norm(&w);
            let pairs = ritz(&c.alpha, &c.beta);
            let scale = pairs.iter().map(|p| p.0.abs()).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
            let top = k.min(pairs.len());
            let settled = c.restarted_at.is_none_or(|r| j >= r + k);
            // A breakdown is an invariant subspace, not convergence: it restarts below.
            let breakdown = b <= 1e-10 * scale;
            let converged = !breakdown
                && settled
                && pairs.len() >= k
                && pairs[..top].iter().all(|p| (b * p.1).abs() <= TOLERANCE * scale);
            if converged || j + 1 == limit || c.basis.len() == n {
                c.result = Some(pairs[..top].iter().map(|p| p.0).collect());
                continue;
            }
            if breakdown {
                // An invariant subspace: restart orthogonally to it.
                match fresh_vector(n, &c.basis, rng) {
                    Some(v) => {
                        c.beta.push(0.0);
                        c.basis.push(v);
                        c.restarted_at = Some(j + 1);
                    }
                    None => c.result = Some(pairs[..top].iter().map(|p| p.0).collect()),
                }
            } else {
                c.beta.push(b);
                c.basis.push(w.into_iter().map(|x| x / b).collect());
            }
        }
    }
    chains.into_iter().map(|c| c.result.unwrap_or_default()).collect()
}

/// The top `k` eigenvalues of every replica's Hessian of `surface` (descending, `[R][k]`).
pub fn top_eigenvalues(surface: &Surface<'_>, k: usize, rngs: &mut [ChaCha8Rng]) -> Vec<Vec<f64>> {
    lanczos(|v| surface.hvp(v), surface.dim(), k, rngs)
}

/// λ_max(P⁻¹H) of every replica for diagonal preconditioners `diag[r]` (> 0, flat like θ):
/// the top eigenvalue of the symmetric P^(−½) H P^(−½), which has P⁻¹H's spectrum.
pub fn top_preconditioned(surface: &Surface<'_>, diag: &[Vec<f64>], rngs: &mut [ChaCha8Rng]) -> Vec<f64> {
    let inv_sqrt: Vec<Vec<f64>> = diag.iter().map(|d| d.iter().map(|x| 1.0 / x.sqrt()).collect()).collect();
    let scale = |v: &[Vec<f64>]| -> Vec<Vec<f64>> {
        v.iter().zip(&inv_sqrt).map(|(v, s)| v.iter().zip(s).map(|(a, b)| a * b).collect()).collect()
    };
    let top = lanczos(|v| scale(&surface.hvp(&scale(v))), surface.dim(), 1, rngs);
    top.into_iter().map(|t| t.first().copied().unwrap_or(f64::NAN)).collect()
}

/// What the sharpness probe measured for one replica at one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Sharpness {
    /// The top k eigenvalues of H, descending (`sharpness-top` k; NaN where θ is not finite).
    pub eigenvalues: Vec<f64>,
    /// λ_max(P⁻¹H) with Adam's preconditioner of the last update (Adam-type optimizers after
    /// their first update; `None` otherwise).
    pub preconditioned: Option<f64>,
    /// Adam β₁, for the preconditioned threshold (2 + 2β₁)/((1 − β₁)η).
    pub beta1: f64,
}

/// The sharpness probe's state across a run: its batch (a fixed subset of the training set,
/// or none for the whole set) and each replica's seeded stream of start vectors (stream 4 of
/// its seed, so no other draw of the run changes).
pub struct Meter {
    subset: Option<Batch>,
    rngs: Vec<ChaCha8Rng>,
    top: usize,
}

impl Meter {
    /// The meter of a replica group (`train[r]`: replica r's training indices).
    pub fn new(specs: &[ValidRunSpec], data: &[&crate::tasks::Dataset], train: &[&[usize]], device: &Device) -> Self {
        let spec = &specs[0];
        let subset = spec.sharpness_examples.filter(|&n| n < spec.n_train()).map(|n| {
            let idx: Vec<Vec<usize>> = specs
                .iter()
                .zip(train)
                .map(|(s, t)| {
                    let mut rng = crate::trainer::stream(s.seed, 5);
                    rand::seq::SliceRandom::choose_multiple(*t, &mut rng, n).copied().collect()
                })
                .collect();
            let refs: Vec<&[usize]> = idx.iter().map(Vec::as_slice).collect();
            Batch::gather(data, &refs, device)
        });
        Self {
            subset,
            rngs: specs.iter().map(|s| crate::trainer::stream(s.seed, 4)).collect(),
            top: spec.sharpness_top(),
        }
    }

    /// Measures every replica at θ = `params` on its batch (`full` when it has no subset).
    pub fn measure(
        &mut self,
        model: &dyn Model,
        params: &[Tensor<3>],
        full: &Batch,
        loss: LossKind,
        optimizer: &crate::optim::Optimizer,
    ) -> Vec<Sharpness> {
        let surface = Surface { model, params, batch: self.subset.as_ref().unwrap_or(full), loss };
        let eigenvalues = top_eigenvalues(&surface, self.top, &mut self.rngs);
        let preconditioned =
            optimizer.preconditioner().map(|p| top_preconditioned(&surface, &flatten(&p), &mut self.rngs));
        eigenvalues
            .into_iter()
            .enumerate()
            .map(|(i, eigenvalues)| Sharpness {
                eigenvalues,
                preconditioned: preconditioned.as_ref().map(|p| p[i]),
                beta1: optimizer.beta1(),
            })
            .collect()
    }
}

/// Parameters per replica of a spec's model.
pub fn param_count(spec: &ValidRunSpec) -> usize {
    let (input, outputs) = crate::budget::task_shape(spec);
    crate::models::build(spec, input, outputs).params().iter().map(|p| p.rows * p.cols).sum()
}

/// The rule that needs the model: `sharpness-top` k at most the parameter count.
pub fn check(spec: &ValidRunSpec) -> Result<(), critlab_core::SpecError> {
    if spec.sharpness_every.is_none() {
        return Ok(());
    }
    let p = param_count(spec);
    if spec.sharpness_top() > p {
        return Err(critlab_core::SpecError::Incompatible {
            key: "sharpness-top",
            reason: format!("k = {} is more than the model's {p} parameters", spec.sharpness_top()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rngs(r: usize) -> Vec<ChaCha8Rng> {
        (0..r).map(|i| ChaCha8Rng::seed_from_u64(i as u64)).collect()
    }

    /// A dense symmetric operator for every replica.
    fn dense(m: &DMatrix<f64>) -> impl FnMut(&[Vec<f64>]) -> Vec<Vec<f64>> + '_ {
        move |v| v.iter().map(|x| (m * nalgebra::DVector::from_column_slice(x)).iter().copied().collect()).collect()
    }

    fn rotated(d: Vec<f64>) -> DMatrix<f64> {
        let n = d.len();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let a = DMatrix::from_fn(n, n, |_, _| rng.sample::<f64, _>(StandardNormal));
        let q = a.qr().q();
        &q * DMatrix::from_diagonal(&nalgebra::DVector::from_vec(d)) * q.transpose()
    }

    #[test]
    fn lanczos_finds_the_top_of_a_known_spectrum() {
        let n = 40;
        let d: Vec<f64> = (0..n).map(|i| 7.0 / (1.0 + i as f64)).collect();
        let m = rotated(d);
        for t in lanczos(dense(&m), n, 3, &mut rngs(2)) {
            for (got, want) in t.iter().zip([7.0, 3.5, 7.0 / 3.0]) {
                assert!((got - want).abs() < 1e-6, "{t:?}");
            }
        }
    }

    #[test]
    fn a_closed_krylov_space_restarts_and_finds_a_degenerate_eigenvalue_twice() {
        let m = rotated(vec![5.0, 5.0, 3.0, 1.0]);
        for t in lanczos(dense(&m), 4, 3, &mut rngs(2)) {
            assert_eq!(t.len(), 3);
            for (got, want) in t.iter().zip([5.0, 5.0, 3.0]) {
                assert!((got - want).abs() < 1e-8, "{t:?}");
            }
        }
    }

    #[test]
    fn a_non_finite_operator_gives_nan_not_a_panic() {
        let top =
            lanczos(|v| v.iter().map(|x| x.iter().map(|_| f64::INFINITY).collect()).collect(), 5, 2, &mut rngs(1));
        assert!(top[0].iter().all(|x| x.is_nan()) && top[0].len() == 2);
    }

    #[test]
    fn the_step_scales_with_the_parameters() {
        assert!((fd_step(0.1) - 4.92e-3).abs() < 1e-5);
        assert!((fd_step(100.0) / fd_step(1.0) - 100.0).abs() < 1e-9);
    }
}
