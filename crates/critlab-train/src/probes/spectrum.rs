//! Eigenvalues of a real symmetric matrix: the shared cost of the spectral probes
//! (`weight_effective_rank`, `repr_effective_rank`, `spectral_contrast`,
//! `repr_spectral_entropy`), which read the spectra of Gram and covariance matrices of up to
//! 512 × 512 once per measurement.
//!
//! The classical two-phase method (Golub & Van Loan, *Matrix Computations*, 4th ed., §8.3):
//! Householder reduction to a tridiagonal matrix, then implicit QL iterations with Wilkinson's
//! shift on the tridiagonal (the eigenvalue-only QL of EISPACK's `tql1`). Same maths as
//! nalgebra's `symmetric_eigenvalues`, which this replaces on the probes' path, with the
//! reduction (4/3 n³ flops, against O(n²) for the QL) done differently: nalgebra makes four
//! passes over the trailing matrix per column (a symmetric product and three rank-1 updates),
//! this makes one, applying the previous column's rank-2 update while it forms the next
//! column's product (the fused form of LAPACK's `dsytd2`), in AVX2 vectors where the CPU has
//! them. On a 512 × 512 Gram matrix (`examples/probe_cost`): nalgebra 30–34 ms, the fused pass
//! in scalar code 27 ms, vectorised 14–16 ms (one core of the shared 2-core machine, load 5–9).
//!
//! The eigenvalues agree with nalgebra's to rounding (tested: within 1e-12 of the largest in
//! magnitude); both are backward stable, so an eigenvalue is accurate to about ε‖A‖ absolutely,
//! and eigenvalues far below that (a rank-deficient Gram matrix) come out as ±ε‖A‖ noise in
//! either.
use super::HostMatrix;
use nalgebra::DMatrix;

/// The two spectra of one matrix A (`[n, k]`) that the probes read, from one Gram matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct GramSpectra {
    /// Singular values σ of A, descending, min(n, k) of them (`repr_effective_rank`).
    pub singular_values: Vec<f64>,
    /// Eigenvalues λ of the covariance C = A_cᵀA_c / n of A's centred rows (A_c = A minus its
    /// column means), descending, min(n, k) of them; empty when n < 2 (`spectral_contrast`,
    /// `repr_spectral_entropy`).
    pub covariance: Vec<f64>,
}

/// [`GramSpectra`] of `m`, in f64, from one product: G = A Aᵀ when n ≤ k, else AᵀA (the
/// smaller Gram matrix; the non-zero eigenvalues of the two are the same), σ = √λ(G); then
/// the centred Gram matrix without a second product, J G J with J = I − 11ᵀ/n (that is,
/// G_ij − r_i − r_j + s with r the row means of G and s its mean) when n ≤ k, else G − n μμᵀ
/// with μ the column means of A, and λ(C) = λ(G_c) / n. Negative eigenvalues (rounding) are
/// set to 0.
pub fn gram_spectra(m: &HostMatrix) -> GramSpectra {
    let (n, k) = (m.rows, m.cols);
    let a = DMatrix::from_row_iterator(n, k, m.values.iter().map(|&v| v as f64));
    let gram = if n <= k { &a * a.transpose() } else { a.transpose() * &a };
    let centred = (n >= 2).then(|| {
        let mut g = gram.clone();
        if n <= k {
            let r: Vec<f64> = (0..n).map(|i| gram.column(i).sum() / n as f64).collect();
            let s = r.iter().sum::<f64>() / n as f64;
            for j in 0..n {
                for i in 0..n {
                    g[(i, j)] += s - r[i] - r[j];
                }
            }
        } else {
            let mu: Vec<f64> = (0..k).map(|j| a.column(j).sum() / n as f64).collect();
            for j in 0..k {
                for i in 0..k {
                    g[(i, j)] -= n as f64 * mu[i] * mu[j];
                }
            }
        }
        g
    });
    // The two eigenproblems are independent: one per core.
    let (singular_values, covariance) = rayon::join(
        || symmetric_eigenvalues(gram).into_iter().map(|l| l.max(0.0).sqrt()).collect(),
        || {
            centred.map_or_else(Vec::new, |g| {
                symmetric_eigenvalues(g).into_iter().map(|l| l.max(0.0) / n as f64).collect()
            })
        },
    );
    GramSpectra { singular_values, covariance }
}

/// Eigenvalues of the symmetric matrix `a` (only its lower triangle is read), descending.
/// Empty for a 0 × 0 matrix.
///
/// # Panics
/// If `a` is not square, or (never observed) the QL iteration does not converge in 30 n
/// sweeps.
pub fn symmetric_eigenvalues(mut a: DMatrix<f64>) -> Vec<f64> {
    let n = a.nrows();
    assert_eq!(n, a.ncols(), "eigenvalues of a non-square matrix");
    if n == 0 {
        return Vec::new();
    }
    // Scaled to max |a_ij| = 1 (as nalgebra does), so that sums of squares cannot overflow.
    let scale = a.amax();
    if scale == 0.0 || !scale.is_finite() {
        return vec![if scale == 0.0 { 0.0 } else { f64::NAN }; n];
    }
    a /= scale;
    let (mut d, mut e) = tridiagonalize(a.as_mut_slice(), n);
    // The reduction leaves the large entries at the top (a Gram matrix of low rank has a
    // trailing block near 0), and QL is accurate on the opposite grading: reverse the order.
    d.reverse();
    e[..n - 1].reverse();
    tridiagonal_eigenvalues(&mut d, &mut e);
    for x in &mut d {
        *x *= scale;
    }
    d.sort_by(|x, y| y.total_cmp(x));
    d
}

/// Householder reduction of the symmetric `n × n` matrix `a` (column-major; the lower
/// triangle is read and overwritten) to tridiagonal form Qᵀ A Q = T; returns T's diagonal and
/// its off-diagonal (`e[k]` couples k and k + 1; `e[n − 1] = 0`).
///
/// Step k reflects rows and columns k + 1.. with H = I − τ u uᵀ chosen so that H zeroes
/// column k below its subdiagonal; on the trailing matrix A₂₂ this is the rank-2 update
/// A₂₂ ← A₂₂ − u wᵀ − w uᵀ with p = τ A₂₂ u and w = p − (τ/2)(pᵀu) u. The update of step k
/// is applied lazily, during the pass of step k + 1 that forms its own product p.
fn tridiagonalize(a: &mut [f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return reduce(a, n, |c| unsafe { fused_column_avx2(c) });
    }
    reduce(a, n, fused_column)
}

/// One column's share of a reduction step: the part of column j of the trailing matrix below
/// its diagonal (`col`), and the vectors of the step from row j + 1 on.
struct Column<'a> {
    col: &'a mut [f64],
    v: &'a [f64],
    w: &'a [f64],
    u: &'a [f64],
    p: &'a mut [f64],
    vj: f64,
    wj: f64,
    uj: f64,
}

#[inline(always)]
fn reduce(a: &mut [f64], n: usize, kernel: impl Fn(Column) -> f64) -> (Vec<f64>, Vec<f64>) {
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    // (v, w): the rank-2 update of the previous step, still to be applied to columns ≥ k.
    let (mut v, mut w) = (vec![0.0; n], vec![0.0; n]);
    // u: this step's reflector; p: τ A₂₂ u.
    let (mut u, mut p) = (vec![0.0; n], vec![0.0; n]);
    for k in 0..n {
        let col = &mut a[k * n..(k + 1) * n];
        let (vk, wk) = (v[k], w[k]);
        for i in k..n {
            col[i] -= v[i] * wk + w[i] * vk;
        }
        d[k] = col[k];
        if k + 1 == n {
            break;
        }
        // The reflector of x = col[k+1..]: H x = β e₁.
        let alpha = col[k + 1];
        let sigma: f64 = col[k + 2..].iter().map(|x| x * x).sum();
        u[..=k].fill(0.0);
        let tau = if sigma == 0.0 {
            e[k] = alpha;
            u[k + 1..].fill(0.0);
            0.0
        } else {
            let beta = -(alpha * alpha + sigma).sqrt().copysign(alpha);
            e[k] = beta;
            u[k + 1] = 1.0;
            let scale = 1.0 / (alpha - beta);
            for (ui, &x) in u[k + 2..].iter_mut().zip(&col[k + 2..]) {
                *ui = x * scale;
            }
            (beta - alpha) / beta
        };
        // One pass over the trailing lower triangle: apply (v, w), accumulate p = A₂₂ u.
        p.fill(0.0);
        for j in k + 1..n {
            let (col, _) = a[j * n + j..].split_at_mut(n - j);
            let (diagonal, col) = col.split_first_mut().expect("j < n");
            let (vj, wj, uj) = (v[j], w[j], u[j]);
            *diagonal -= v[j] * wj + w[j] * vj;
            let (pj, p_below) = p[j..].split_first_mut().expect("j < n");
            let dot = kernel(Column { col, v: &v[j + 1..], w: &w[j + 1..], u: &u[j + 1..], p: p_below, vj, wj, uj });
            *pj += *diagonal * uj + dot;
        }
        // w = τ p − (τ/2)(τ pᵀu) u; (v, w) ← (u, w).
        let mut pu = 0.0;
        for i in k + 1..n {
            p[i] *= tau;
            pu += p[i] * u[i];
        }
        let half = 0.5 * tau * pu;
        w[..=k].fill(0.0);
        for i in k + 1..n {
            w[i] = p[i] - half * u[i];
        }
        std::mem::swap(&mut v, &mut u);
    }
    (d, e)
}

/// Column j of a reduction step below the diagonal: a_i ← a_i − (v_i w_j + w_i v_j),
/// p_i += a_i u_j, and returns Σ a_i u_i, summed in four interleaved partial sums (element i
/// into sum i mod 4) so that [`fused_column_avx2`] can add the same numbers in the same order.
fn fused_column(c: Column) -> f64 {
    let Column { col, v, w, u, p, vj, wj, uj } = c;
    let m = col.len();
    let (v, w, u, p) = (&v[..m], &w[..m], &u[..m], &mut p[..m]);
    let mut acc = [0.0; 4];
    for (i, a) in col.iter_mut().enumerate() {
        let x = *a - (v[i] * wj + w[i] * vj);
        *a = x;
        p[i] += x * uj;
        acc[if i < m - m % 4 { i % 4 } else { 0 }] += x * u[i];
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// [`fused_column`] in AVX2 vectors of 4 (no FMA: the same roundings as the scalar form, so
/// the same results to the bit). The scalar form does not vectorise by itself (the compiler
/// cannot tell that `p` and the column do not overlap once inlined), and this loop is the
/// whole cost of the reduction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn fused_column_avx2(c: Column) -> f64 {
    use std::arch::x86_64::*;
    let Column { col, v, w, u, p, vj, wj, uj } = c;
    let m = col.len();
    assert!(v.len() >= m && w.len() >= m && u.len() >= m && p.len() >= m, "vectors shorter than the column");
    let body = m - m % 4;
    let (vjs, wjs, ujs) = (_mm256_set1_pd(vj), _mm256_set1_pd(wj), _mm256_set1_pd(uj));
    let mut acc = _mm256_setzero_pd();
    for i in (0..body).step_by(4) {
        // SAFETY: i + 4 ≤ m, and every slice is at least m long (asserted above).
        unsafe {
            let cp = col.as_mut_ptr().add(i);
            let update = _mm256_add_pd(
                _mm256_mul_pd(_mm256_loadu_pd(v.as_ptr().add(i)), wjs),
                _mm256_mul_pd(_mm256_loadu_pd(w.as_ptr().add(i)), vjs),
            );
            let x = _mm256_sub_pd(_mm256_loadu_pd(cp), update);
            _mm256_storeu_pd(cp, x);
            let pp = p.as_mut_ptr().add(i);
            _mm256_storeu_pd(pp, _mm256_add_pd(_mm256_loadu_pd(pp), _mm256_mul_pd(x, ujs)));
            acc = _mm256_add_pd(acc, _mm256_mul_pd(x, _mm256_loadu_pd(u.as_ptr().add(i))));
        }
    }
    let mut lanes = [0.0; 4];
    // SAFETY: `lanes` holds 4 f64.
    unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), acc) };
    for i in body..m {
        let x = col[i] - (v[i] * wj + w[i] * vj);
        col[i] = x;
        p[i] += x * uj;
        lanes[0] += x * u[i];
    }
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
}

/// Eigenvalues of the symmetric tridiagonal matrix with diagonal `d` and off-diagonal `e`
/// (`e[k]` couples k and k + 1), in place in `d` (unordered); `e` is destroyed. Implicit QL
/// with Wilkinson's shift, deflating when |e_m| ≤ ε (|d_m| + |d_{m+1}|).
fn tridiagonal_eigenvalues(d: &mut [f64], e: &mut [f64]) {
    let n = d.len();
    for l in 0..n {
        let mut sweeps = 0;
        loop {
            let mut m = l;
            while m + 1 < n && e[m].abs() > f64::EPSILON * (d[m].abs() + d[m + 1].abs()) {
                m += 1;
            }
            if m == l {
                break;
            }
            sweeps += 1;
            assert!(sweeps <= 30 * n, "tridiagonal QL did not converge");
            // Wilkinson's shift from the leading 2 × 2 block of the unreduced part.
            let g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let r = g.hypot(1.0);
            let mut g = d[m] - d[l] + e[l] / (g + r.copysign(g));
            let (mut s, mut c, mut shift) = (1.0, 1.0, 0.0);
            let mut split = false;
            for i in (l..m).rev() {
                let f = s * e[i];
                let b = c * e[i];
                let r = radius(f, g);
                e[i + 1] = r;
                if r == 0.0 {
                    // Underflow: the matrix splits at i; restart on the smaller block.
                    d[i + 1] -= shift;
                    e[m] = 0.0;
                    split = true;
                    break;
                }
                let inverse = 1.0 / r;
                s = f * inverse;
                c = g * inverse;
                let h = d[i + 1] - shift;
                let r = (d[i] - h) * s + 2.0 * c * b;
                shift = s * r;
                d[i + 1] = h + shift;
                g = c * r - b;
            }
            if !split {
                d[l] -= shift;
                e[l] = g;
                e[m] = 0.0;
            }
        }
    }
}

/// √(f² + g²) without libm's `hypot` (1.5 % of a profile of `examples/probe_cost` in which
/// the whole reduction took 3 %): the matrix is scaled to max |a_ij| = 1, so f² + g² cannot
/// overflow, and `hypot` takes over where it could underflow.
#[inline(always)]
fn radius(f: f64, g: f64) -> f64 {
    let r = (f * f + g * g).sqrt();
    if r > 1e-150 {
        r
    } else {
        f.hypot(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn nalgebra_descending(a: &DMatrix<f64>) -> Vec<f64> {
        let mut l: Vec<f64> = a.symmetric_eigenvalues().iter().copied().collect();
        l.sort_by(|x, y| y.total_cmp(x));
        l
    }

    fn assert_close(ours: &[f64], reference: &[f64], what: &str) {
        assert_eq!(ours.len(), reference.len(), "{what}");
        let top = reference.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        for (i, (x, y)) in ours.iter().zip(reference).enumerate() {
            assert!((x - y).abs() <= 1e-12 * top, "{what}: eigenvalue {i}: {x} vs nalgebra {y} (largest {top})");
        }
    }

    #[test]
    fn known_spectra() {
        assert!(symmetric_eigenvalues(DMatrix::zeros(0, 0)).is_empty());
        assert_eq!(symmetric_eigenvalues(DMatrix::from_element(1, 1, -3.0)), vec![-3.0]);
        assert_eq!(symmetric_eigenvalues(DMatrix::zeros(3, 3)), vec![0.0; 3]);
        // [[2, 1], [1, 2]]: 3 and 1.
        let l = symmetric_eigenvalues(DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0, 2.0]));
        assert!((l[0] - 3.0).abs() < 1e-15 && (l[1] - 1.0).abs() < 1e-15, "{l:?}");
        // Diagonal, already tridiagonal, and the path graph's Laplacian 2 − 2 cos(πk/n).
        let l = symmetric_eigenvalues(DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![1.0, -5.0, 4.0, 0.0])));
        assert_eq!(l, vec![4.0, 1.0, 0.0, -5.0]);
        let n = 50;
        let lap = DMatrix::from_fn(n, n, |i, j| match i.abs_diff(j) {
            0 => {
                if i == 0 || i == n - 1 {
                    1.0
                } else {
                    2.0
                }
            }
            1 => -1.0,
            _ => 0.0,
        });
        let mut exact: Vec<f64> =
            (0..n).map(|k| 2.0 - 2.0 * (std::f64::consts::PI * k as f64 / n as f64).cos()).collect();
        exact.sort_by(|x, y| y.total_cmp(x));
        for (x, y) in symmetric_eigenvalues(lap).iter().zip(&exact) {
            assert!((x - y).abs() < 1e-13, "{x} vs {y}");
        }
    }

    #[test]
    fn agrees_with_nalgebra_on_random_and_rank_deficient_matrices() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for n in [2, 3, 4, 5, 7, 8, 9, 16, 33, 100, 257] {
            // Symmetric with entries of both signs.
            let b = DMatrix::from_fn(n, n, |_, _| rng.gen_range(-1.0..1.0));
            let a = &b + b.transpose();
            assert_close(
                &symmetric_eigenvalues(a.clone()),
                &nalgebra_descending(&a),
                &format!("random symmetric n = {n}"),
            );
            // A Gram matrix of rank n/3 (most eigenvalues are zero up to rounding) with a large
            // mean, like a ReLU representation's.
            let r = (n / 3).max(1);
            let h = DMatrix::from_fn(n, r, |_, _| rng.gen_range(0.0..3.0));
            let g = &h * h.transpose();
            assert_close(
                &symmetric_eigenvalues(g.clone()),
                &nalgebra_descending(&g),
                &format!("rank-{r} Gram n = {n}"),
            );
        }
        // Only the lower triangle is read.
        let b = DMatrix::from_fn(6, 6, |_, _| rng.gen_range(-1.0..1.0));
        let a = &b + b.transpose();
        let lower = DMatrix::from_fn(6, 6, |i, j| if i >= j { a[(i, j)] } else { f64::NAN });
        assert_close(&symmetric_eigenvalues(lower), &nalgebra_descending(&a), "lower triangle");
    }

    /// The probes' spectra as they were computed before `gram_spectra`: each from its own
    /// product (the covariance after centring A), with nalgebra's eigenvalues.
    fn spectra_before(m: &HostMatrix) -> GramSpectra {
        let (n, k) = (m.rows, m.cols);
        let a = DMatrix::from_row_iterator(n, k, m.values.iter().map(|&v| v as f64));
        let small_gram = |a: &DMatrix<f64>| if n <= k { a * a.transpose() } else { a.transpose() * a };
        let singular_values = nalgebra_descending(&small_gram(&a)).into_iter().map(|l| l.max(0.0).sqrt()).collect();
        let mut c = a.clone();
        for j in 0..k {
            let mean = c.column(j).mean();
            c.column_mut(j).add_scalar_mut(-mean);
        }
        let covariance = nalgebra_descending(&small_gram(&c)).into_iter().map(|l| l.max(0.0) / n as f64).collect();
        GramSpectra { singular_values, covariance }
    }

    #[test]
    fn the_shared_gram_gives_the_probes_what_separate_products_gave() {
        use crate::probes::{
            effective_rank, spectral_contrast::head_tail_contrast, spectral_entropy::spectrum_entropy,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        // ReLU representations with more samples than units, fewer, and one of rank 6 riding on
        // a large offset (a few live directions, most units near-constant).
        let relu = |n: usize, k: usize, rng: &mut rand_chacha::ChaCha8Rng| HostMatrix {
            rows: n,
            cols: k,
            values: (0..n * k).map(|_| rng.gen_range(-1.0f32..1.0).max(0.0)).collect(),
        };
        let (n, k, r) = (150, 80, 6);
        let basis: Vec<f32> = (0..r * k).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let low_rank = HostMatrix {
            rows: n,
            cols: k,
            values: (0..n)
                .flat_map(|_| {
                    let c: Vec<f32> = (0..r).map(|_| rng.gen_range(-1.0..1.0)).collect();
                    (0..k).map(|j| 5.0 + (0..r).map(|l| c[l] * basis[l * k + j]).sum::<f32>()).collect::<Vec<_>>()
                })
                .collect(),
        };
        // The effective rank counts every σ, including the ~√(ε λ_max) that rounding leaves of a
        // zero singular value; of a rank-deficient matrix it is therefore reproducible only to
        // about (number of zero σ) · √ε, here 74 · 1.5·10⁻⁸ ≈ 10⁻⁶, by any two computations.
        for (what, m, rank_tolerance) in [
            ("300 × 200", relu(300, 200, &mut rng), 1e-9),
            ("200 × 300", relu(200, 300, &mut rng), 1e-9),
            ("rank 6 + offset", low_rank, 1e-5),
        ] {
            let (new, old) = (gram_spectra(&m), spectra_before(&m));
            let squares = |s: &[f64]| s.iter().map(|x| x * x).collect::<Vec<_>>();
            assert_close(&squares(&new.singular_values), &squares(&old.singular_values), what);
            assert_close(&new.covariance, &old.covariance, what);
            let relative = |x: f64, y: f64| (x - y).abs() / y.abs();
            let rank = relative(effective_rank(&new.singular_values), effective_rank(&old.singular_values));
            let contrast = relative(head_tail_contrast(&new.covariance), head_tail_contrast(&old.covariance));
            let entropy = relative(spectrum_entropy(&new.covariance), spectrum_entropy(&old.covariance));
            // Against the rank without the rounding floor (σ below 10⁻⁶ σ_max set to 0).
            let floorless = |s: &[f64]| {
                effective_rank(&s.iter().map(|&x| if x > 1e-6 * s[0] { x } else { 0.0 }).collect::<Vec<_>>())
            };
            let (new_exact, old_exact) = (
                relative(effective_rank(&new.singular_values), floorless(&old.singular_values)),
                relative(effective_rank(&old.singular_values), floorless(&old.singular_values)),
            );
            eprintln!("{what}: relative differences: effective rank {rank:e} (from the floorless rank: {new_exact:e} now, {old_exact:e} before), contrast {contrast:e}, entropy {entropy:e}");
            assert!(rank <= rank_tolerance && contrast <= 1e-9 && entropy <= 1e-9, "{what}");
            assert!(new_exact <= 1.5 * old_exact.max(1e-12), "{what}: the rounding floor is not larger than before");
        }
        // Fewer than 2 samples: no covariance.
        let one = HostMatrix { rows: 1, cols: 3, values: vec![1.0, 2.0, 2.0] };
        assert_eq!(gram_spectra(&one), GramSpectra { singular_values: vec![3.0], covariance: Vec::new() });
    }

    #[test]
    fn the_vector_and_scalar_reductions_agree_to_the_bit() {
        // `tridiagonalize` takes the AVX2 kernel where the CPU has it (on x86-64 machines of
        // the last decade: every one this project runs on), `reduce(.., fused_column)` is the
        // scalar form; sizes with every remainder mod 4.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for n in [1, 2, 5, 6, 7, 8, 37, 64] {
            let b = DMatrix::from_fn(n, n, |_, _| rng.gen_range(-1.0..1.0));
            let a = &b + b.transpose();
            let (mut x, mut y) = (a.clone(), a);
            let scalar = reduce(x.as_mut_slice(), n, fused_column);
            assert_eq!(tridiagonalize(y.as_mut_slice(), n), scalar, "n = {n}");
        }
    }
}
