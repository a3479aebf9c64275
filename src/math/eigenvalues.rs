//! Eigenvalues (no eigenvectors) of a symmetric matrix: the spectra of
//! the entanglement (docs/conventions.md#entanglement).
//!
//! Two stages, after LAPACK's `dsytrd` and `dsterf`:
//!
//! * **Blocked Householder tridiagonalisation.** A panel of [`PANEL`] columns
//!   is reduced with one symmetric matrix–vector product per column on the
//!   trailing matrix *as it was before the panel*, corrected by the panel's
//!   earlier reflectors (the `dlatrd` scheme); then the trailing matrix gets
//!   one rank-2·[`PANEL`] update from faer's GEMM. An unblocked reduction
//!   reads and writes the trailing matrix once per column; this one reads it
//!   once per column and writes it once per panel, and half the flops run at
//!   GEMM speed.
//! * **Root-free QL** (Pal, Walker and Kahan; the `dsterf` scheme) on the
//!   tridiagonal: it iterates on the squares of the off-diagonal, so the
//!   inner loop has no square root, and it forms no rotations it would only
//!   need for eigenvectors.
//!
//! Both stages are sequential code over plain column-major slices; `Par`
//! only reaches the GEMM of the trailing update. Results are the same bits
//! run to run for a given `Par` (no reduction order depends on timing).

use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::{Accum, MatMut, MatRef, Par};
use multiversion::multiversion;

use crate::error::{Error, Result};
use crate::math::gram::SymmetricMatrix;

/// Columns reduced per panel: the rank of each trailing update is twice this.
pub const PANEL: usize = 32;

/// Below this many rows the rest of the matrix is reduced as one panel (the
/// GEMM update no longer pays for itself).
const LAST_PANEL_BELOW: usize = 96;

/// Eigenvalues of the symmetric matrix whose lower triangle `matrix` holds,
/// ascending. The matrix is overwritten (its upper triangle is never read).
pub fn eigenvalues_in_place(matrix: &mut SymmetricMatrix, par: Par) -> Result<Vec<f64>> {
    let n = matrix.dim();
    if n == 0 {
        return Ok(Vec::new());
    }
    let (mut diagonal, mut off_diagonal) = tridiagonalize(matrix.columns_mut(), n, par)?;
    tridiagonal_eigenvalues(&mut diagonal, &mut off_diagonal)?;
    Ok(diagonal)
}

/// Reduces the symmetric matrix (lower triangle of the column-major `a`,
/// n × n) to tridiagonal form by orthogonal similarity; returns the diagonal
/// and the off-diagonal. `a` is overwritten with the reflectors.
pub fn tridiagonalize(a: &mut [f64], n: usize, par: Par) -> Result<(Vec<f64>, Vec<f64>)> {
    assert_eq!(a.len(), n * n, "an n × n column-major matrix");
    let mut diagonal = vec![0.0; n];
    let mut off_diagonal = vec![0.0; n.saturating_sub(1)];
    let mut panel_w = vec![0.0; n * PANEL];
    // [U₂ W₂] and [W₂ U₂] of the trailing update.
    let mut update = (vec![0.0; n * 2 * PANEL], vec![0.0; n * 2 * PANEL]);
    let mut start = 0;
    while n - start > LAST_PANEL_BELOW {
        let m = n - start;
        reduce_panel(
            a,
            n,
            start,
            PANEL,
            &mut panel_w[..m * PANEL],
            &mut diagonal,
            &mut off_diagonal,
        );
        update_trailing(a, n, start, &panel_w[..m * PANEL], &mut update, par);
        start += PANEL;
    }
    // The rest in one panel: no trailing matrix is left to update.
    let m = n - start;
    let mut last_w = vec![0.0; m * m];
    reduce_panel(
        a,
        n,
        start,
        m,
        &mut last_w,
        &mut diagonal,
        &mut off_diagonal,
    );
    if diagonal.iter().chain(&off_diagonal).any(|v| !v.is_finite()) {
        return Err(Error::Numerical(
            "the symmetric matrix has entries that are not finite".into(),
        ));
    }
    Ok((diagonal, off_diagonal))
}

/// Reduces columns `start .. start + width` of `a` (n × n, column-major,
/// lower triangle). With B the trailing block from (start, start) (m × m),
/// column j of the panel is first brought up to date with the panel's
/// earlier reflectors, B[j.., j] −= V[j.., ..j]·W[j, ..j]ᵀ + W[j.., ..j]·V[j, ..j]ᵀ,
/// then its reflector u_j (stored in place, u_j[0] = 1) and
/// w_j = τ(B u − V Wᵀu − W Vᵀu) − (τ²/2)(wᵀu) u are formed, B the block as
/// it was before the panel. `w` (m × width, column-major) receives W.
fn reduce_panel(
    a: &mut [f64],
    n: usize,
    start: usize,
    width: usize,
    w: &mut [f64],
    diagonal: &mut [f64],
    off_diagonal: &mut [f64],
) {
    let m = n - start;
    let column_of = |k: usize| (start + k) * n + start; // offset of B[0, k]
    for j in 0..width {
        let (before, from_j) = a.split_at_mut(column_of(j) - start);
        let (w_before, w_from_j) = w.split_at_mut(j * m);
        // Bring column j (rows j..m) up to date.
        let target = &mut from_j[start + j..start + m];
        for k in 0..j {
            let u_k = &before[column_of(k) + j..column_of(k) + m];
            let w_k = &w_before[k * m + j..(k + 1) * m];
            axpy2(target, -w_k[0], u_k, -u_k[0], w_k);
        }
        diagonal[start + j] = target[0];
        if j + 1 == m {
            break; // the last column of the matrix has nothing below it
        }
        let (beta, tau) = householder(&mut target[1..]);
        off_diagonal[start + j] = beta;
        let from_j = &*from_j;
        let u = &from_j[start + j + 1..start + m];
        let w_j = &mut w_from_j[j + 1..m];
        // B u over the trailing block (rows and columns j+1..m of B).
        w_j.fill(0.0);
        symv_lower(&from_j[n..], n, start + j + 1, u, w_j);
        for k in 0..j {
            let u_k = &before[column_of(k) + j + 1..column_of(k) + m];
            let w_k = &w_before[k * m + j + 1..(k + 1) * m];
            let (wu, uu) = (dot(w_k, u), dot(u_k, u));
            axpy2(w_j, -wu, u_k, -uu, w_k);
        }
        w_j.iter_mut().for_each(|v| *v *= tau);
        let alpha = -0.5 * tau * dot(w_j, u);
        w_j.iter_mut().zip(u).for_each(|(v, &x)| *v += alpha * x);
    }
}

/// B[width.., width..] −= U₂W₂ᵀ + W₂U₂ᵀ (lower triangle) for the panel just
/// reduced at `start`, as one rank-2·width product [U₂ W₂]·[W₂ U₂]ᵀ.
fn update_trailing(
    a: &mut [f64],
    n: usize,
    start: usize,
    w: &[f64],
    (left, right): &mut (Vec<f64>, Vec<f64>),
    par: Par,
) {
    let (m, width) = (n - start, PANEL);
    let rest = m - width;
    let (panel, trailing) = a.split_at_mut((start + width) * n);
    for k in 0..width {
        let u_k = &panel[(start + k) * n + start + width..(start + k + 1) * n];
        let w_k = &w[k * m + width..(k + 1) * m];
        left[k * rest..(k + 1) * rest].copy_from_slice(u_k);
        left[(width + k) * rest..(width + k + 1) * rest].copy_from_slice(w_k);
        right[k * rest..(k + 1) * rest].copy_from_slice(w_k);
        right[(width + k) * rest..(width + k + 1) * rest].copy_from_slice(u_k);
    }
    let left = MatRef::from_column_major_slice(&left[..rest * 2 * width], rest, 2 * width);
    let right = MatRef::from_column_major_slice(&right[..rest * 2 * width], rest, 2 * width);
    let dst = MatMut::from_column_major_slice_with_stride_mut(
        &mut trailing[start + width..],
        rest,
        rest,
        n,
    );
    triangular::matmul(
        dst,
        BlockStructure::TriangularLower,
        Accum::Add,
        left,
        BlockStructure::Rectangular,
        right.transpose(),
        BlockStructure::Rectangular,
        -1.0,
        par,
    );
}

/// Below this |β| the reflector's 1/(α − β) can overflow (denormal columns, as
/// the products of thousands of kernel values give): x is first scaled up by
/// 1/SAFE_MIN, as LAPACK's `dlarfg` does. A power of two, so scaling is exact,
/// and once is enough: the smallest nonzero |β|, 2^-1074, becomes 2^-104.
const SAFE_MIN: f64 = f64::MIN_POSITIVE / f64::EPSILON;

/// The reflector H = I − τ u uᵀ (u[0] = 1) with H x = (β, 0, …, 0)ᵀ; `x`
/// becomes u. Returns (β, τ); τ = 0 (H = I) when x's tail is already zero.
fn householder(x: &mut [f64]) -> (f64, f64) {
    let mut alpha = x[0];
    let mut tail = norm(&x[1..]);
    x[0] = 1.0;
    if tail == 0.0 {
        return (alpha, 0.0);
    }
    let mut beta = -alpha.signum() * alpha.hypot(tail);
    let rescaled = beta.abs() < SAFE_MIN;
    if rescaled {
        x[1..].iter_mut().for_each(|v| *v /= SAFE_MIN);
        alpha /= SAFE_MIN;
        tail = norm(&x[1..]);
        beta = -alpha.signum() * alpha.hypot(tail);
    }
    let tau = (beta - alpha) / beta;
    let scale = 1.0 / (alpha - beta);
    x[1..].iter_mut().for_each(|v| *v *= scale);
    if rescaled {
        beta *= SAFE_MIN;
    }
    (beta, tau)
}

/// The Euclidean norm, summed in a fixed order whatever the slice's address
/// (faer's SIMD reductions start at an aligned element, so their rounding
/// depends on where the allocator put the matrix), rescaled by a power of
/// two when the squares would overflow or underflow.
fn norm(x: &[f64]) -> f64 {
    let squares = dot(x, x);
    if squares.is_finite() && squares >= f64::MIN_POSITIVE / f64::EPSILON {
        return squares.sqrt();
    }
    let largest = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if largest == 0.0 || !largest.is_finite() {
        return largest;
    }
    let scale = order_one_scale(largest);
    let scaled: f64 = x.iter().map(|v| (v * scale) * (v * scale)).sum();
    scaled.sqrt() / scale
}

/// The power of two (exact to multiply by) that brings `largest` to [1, 2).
fn order_one_scale(largest: f64) -> f64 {
    2f64.powi((-largest.log2().floor() as i32).clamp(-1000, 1000))
}

/// Columns per pass of [`symv_lower`]: y is loaded and stored once per pass.
const SYMV_COLUMNS: usize = 6;

/// y += A x for the symmetric matrix A (p × p, p = x.len()) whose lower
/// triangle has A[r, c] = a[offset + r + c·ld]. Each column is read once:
/// it adds into y below the diagonal and, as a dot product, into y[c].
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma", "aarch64+neon"))]
fn symv_lower(a: &[f64], ld: usize, offset: usize, x: &[f64], y: &mut [f64]) {
    const K: usize = SYMV_COLUMNS;
    let p = x.len();
    let mut c = 0;
    while c + K <= p {
        let columns: [&[f64]; K] =
            std::array::from_fn(|k| &a[offset + (c + k) * ld..offset + (c + k) * ld + p]);
        let xc: [f64; K] = std::array::from_fn(|k| x[c + k]);
        // The K × K diagonal block, lower triangle.
        let mut dots = [0.0f64; K];
        for r in c..c + K {
            for (k, column) in columns.iter().enumerate() {
                let ck = c + k;
                if r == ck {
                    y[r] += column[r] * x[ck];
                } else if r > ck {
                    y[r] += column[r] * x[ck];
                    dots[k] += column[r] * x[r];
                }
            }
        }
        // Below it: K axpys and K dots fused, eight rows at a time (one
        // AVX-512 register, or two AVX2 ones, per accumulator).
        let below: [&[f64]; K] = columns.map(|column| &column[c + K..]);
        let (xs, ys) = (&x[c + K..], &mut y[c + K..]);
        let mut acc = [[0.0f64; 8]; K];
        let len = xs.len();
        let body = len / 8 * 8;
        for r in (0..body).step_by(8) {
            let x8: &[f64; 8] = xs[r..r + 8].try_into().unwrap();
            let y8: &mut [f64; 8] = (&mut ys[r..r + 8]).try_into().unwrap();
            let a8: [&[f64; 8]; K] = below.map(|column| column[r..r + 8].try_into().unwrap());
            for h in 0..8 {
                let mut sum = 0.0;
                for k in 0..K {
                    sum += a8[k][h] * xc[k];
                    acc[k][h] += a8[k][h] * x8[h];
                }
                y8[h] += sum;
            }
        }
        for i in body..len {
            let mut sum = 0.0;
            for k in 0..K {
                sum += below[k][i] * xc[k];
                acc[k][0] += below[k][i] * xs[i];
            }
            ys[i] += sum;
        }
        for k in 0..K {
            let a = &acc[k];
            y[c + k] +=
                dots[k] + (((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])));
        }
        c += K;
    }
    while c < p {
        let column = &a[offset + c * ld..offset + c * ld + p];
        y[c] += column[c] * x[c];
        let mut d = 0.0;
        for r in c + 1..p {
            y[r] += column[r] * x[c];
            d += column[r] * x[r];
        }
        y[c] += d;
        c += 1;
    }
}

/// y += α·u + β·v.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma", "aarch64+neon"))]
fn axpy2(y: &mut [f64], alpha: f64, u: &[f64], beta: f64, v: &[f64]) {
    let (u, v) = (&u[..y.len()], &v[..y.len()]);
    for i in 0..y.len() {
        y[i] += alpha * u[i] + beta * v[i];
    }
}

/// uᵀv, in a fixed order (eight partial sums) so that it vectorises.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma", "aarch64+neon"))]
fn dot(u: &[f64], v: &[f64]) -> f64 {
    let v = &v[..u.len()];
    let mut acc = [0.0f64; 8];
    let chunks = u.len() / 8 * 8;
    for (cu, cv) in u[..chunks].chunks_exact(8).zip(v[..chunks].chunks_exact(8)) {
        for k in 0..8 {
            acc[k] += cu[k] * cv[k];
        }
    }
    let tail: f64 = u[chunks..]
        .iter()
        .zip(&v[chunks..])
        .map(|(a, b)| a * b)
        .sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Eigenvalues of the symmetric tridiagonal matrix with `diagonal` (n) and
/// `off_diagonal` (n − 1), ascending, into `diagonal`; `off_diagonal` is
/// destroyed. Unreduced blocks are found where an off-diagonal entry is
/// negligible against its neighbours on the diagonal, and each block is
/// solved by root-free QL.
pub fn tridiagonal_eigenvalues(diagonal: &mut [f64], off_diagonal: &mut [f64]) -> Result<()> {
    let n = diagonal.len();
    assert_eq!(off_diagonal.len(), n.saturating_sub(1));
    if diagonal
        .iter()
        .chain(off_diagonal.iter())
        .any(|v| !v.is_finite())
    {
        return Err(Error::Numerical(
            "the tridiagonal matrix has entries that are not finite".into(),
        ));
    }
    let mut start = 0;
    while start < n {
        let mut end = start;
        while end + 1 < n {
            let bound = diagonal[end].abs().sqrt() * diagonal[end + 1].abs().sqrt() * UNIT_ROUNDOFF;
            if off_diagonal[end].abs() <= bound {
                off_diagonal[end] = 0.0;
                break;
            }
            end += 1;
        }
        if end > start {
            solve_block(&mut diagonal[start..=end], &mut off_diagonal[start..end])?;
        }
        start = end + 1;
    }
    diagonal.sort_unstable_by(f64::total_cmp);
    Ok(())
}

/// The unit roundoff of f64 (half the machine epsilon).
const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;

/// Iterations allowed per eigenvalue before the QL iteration gives up.
const MAX_SWEEPS_PER_VALUE: usize = 30;

/// One unreduced block (d: k values, e: k − 1): eigenvalues into d.
fn solve_block(d: &mut [f64], e: &mut [f64]) -> Result<()> {
    let largest = d.iter().chain(e.iter()).fold(0.0f64, |m, v| m.max(v.abs()));
    if largest == 0.0 {
        return Ok(());
    }
    // Scale by a power of two (exact) to order one, so that the squares of
    // the off-diagonal neither overflow nor underflow.
    let scale = order_one_scale(largest);
    d.iter_mut().for_each(|v| *v *= scale);
    e.iter_mut().for_each(|v| *v = (*v * scale) * (*v * scale));
    // QL deflates at the top: put the smaller end of the diagonal there
    // (the eigenvalues of the reversed matrix are the same).
    if d[d.len() - 1].abs() < d[0].abs() {
        d.reverse();
        e.reverse();
    }
    let result = root_free_ql(d, e);
    d.iter_mut().for_each(|v| *v /= scale);
    result
}

/// Root-free implicit QL with a Wilkinson-type shift on d and the squared
/// off-diagonal e2, deflating from the top.
fn root_free_ql(d: &mut [f64], e2: &mut [f64]) -> Result<()> {
    let last = d.len() - 1;
    let eps2 = UNIT_ROUNDOFF * UNIT_ROUNDOFF;
    let mut sweeps_left = MAX_SWEEPS_PER_VALUE * d.len();
    let mut l = 0;
    while l <= last {
        // The first negligible off-diagonal at or below l ends the active block.
        let mut m = l;
        while m < last && e2[m].abs() > eps2 * (d[m] * d[m + 1]).abs() {
            m += 1;
        }
        if m < last {
            e2[m] = 0.0;
        }
        if m == l {
            l += 1; // d[l] is an eigenvalue
            continue;
        }
        if m == l + 1 {
            (d[l], d[l + 1]) = eigenvalues_2x2(d[l], e2[l].sqrt(), d[l + 1]);
            e2[l] = 0.0;
            l += 2;
            continue;
        }
        if sweeps_left == 0 {
            return Err(Error::Numerical(
                "the tridiagonal eigenvalue iteration did not converge".into(),
            ));
        }
        sweeps_left -= 1;
        // Shift: the eigenvalue of the leading 2 × 2 closer to d[l].
        let off = e2[l].sqrt();
        let ratio = (d[l + 1] - d[l]) / (2.0 * off);
        let radius = ratio.hypot(1.0);
        let shift = d[l] - off / (ratio + radius.copysign(ratio));
        // One sweep from the bottom of the block up, on squared quantities.
        let (mut c, mut s) = (1.0f64, 0.0f64);
        let mut gamma = d[m] - shift;
        let mut p = gamma * gamma;
        for i in (l..m).rev() {
            let bb = e2[i];
            let r = p + bb;
            if i + 1 != m {
                e2[i + 1] = s * r;
            }
            let previous_c = c;
            c = p / r;
            s = bb / r;
            let previous_gamma = gamma;
            let alpha = d[i];
            gamma = c * (alpha - shift) - s * previous_gamma;
            d[i + 1] = previous_gamma + (alpha - gamma);
            p = if c != 0.0 {
                gamma * gamma / c
            } else {
                previous_c * bb
            };
        }
        e2[l] = s * p;
        d[l] = shift + gamma;
    }
    Ok(())
}

/// Eigenvalues of [[a, b], [b, c]], the larger in magnitude first; the
/// smaller is formed as det / larger so that it keeps its relative accuracy.
fn eigenvalues_2x2(a: f64, b: f64, c: f64) -> (f64, f64) {
    let sum = a + c;
    let radius = (a - c).hypot(2.0 * b);
    let (big, small) = if a.abs() > c.abs() { (a, c) } else { (c, a) };
    let larger = if sum > 0.0 {
        0.5 * (sum + radius)
    } else if sum < 0.0 {
        0.5 * (sum - radius)
    } else {
        return (0.5 * radius, -0.5 * radius);
    };
    (larger, (big / larger) * small - (b / larger) * b)
}

/// The eigenvalues of a symmetric matrix by faer's general solver: the
/// reference the tests and the benchmark compare against.
pub fn faer_eigenvalues(matrix: MatRef<'_, f64>, par: Par) -> Result<Vec<f64>> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    let n = matrix.nrows();
    let mut values = faer::diag::Diag::<f64>::zeros(n);
    let mut buffer = MemBuffer::new(faer::linalg::evd::self_adjoint_evd_scratch::<f64>(
        n,
        faer::linalg::evd::ComputeEigenvectors::No,
        par,
        Default::default(),
    ));
    faer::linalg::evd::self_adjoint_evd(
        matrix,
        values.as_mut(),
        None,
        par,
        MemStack::new(&mut buffer),
        Default::default(),
    )
    .map_err(|e| Error::Numerical(format!("symmetric eigensolver did not converge: {e:?}")))?;
    let mut values: Vec<f64> = values.column_vector().iter().copied().collect();
    values.sort_unstable_by(f64::total_cmp);
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    /// A reproducible pseudo-random value in [-1, 1).
    fn noise(seed: u64) -> f64 {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    fn random_symmetric(n: usize, seed: u64) -> SymmetricMatrix {
        let mut s = SymmetricMatrix::zeros(n);
        let mut m = s.as_mut();
        for j in 0..n {
            for i in j..n {
                let v = noise(seed * 1_000_003 + (i * n + j) as u64);
                m[(i, j)] = v;
                m[(j, i)] = v;
            }
        }
        s
    }

    fn assert_close(ours: &[f64], reference: &[f64], tolerance: f64, what: &str) {
        assert_eq!(ours.len(), reference.len());
        let norm = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (k, (a, b)) in ours.iter().zip(reference).enumerate() {
            assert!(
                (a - b).abs() <= tolerance * norm,
                "{what}: eigenvalue {k}: {a} vs faer {b} (norm {norm})"
            );
        }
    }

    #[test]
    fn denormal_columns_give_finite_reflectors() {
        // Order-one diagonal, off-diagonals of 1e-310 (denormal) and 1e-300:
        // 1/(α − β) of the unscaled reflector overflowed, and the matrix
        // became NaN (the complement Grams of 20,000 features do this).
        for tiny in [1e-310, 4e-320, 1e-300, 1e-200] {
            let n = 150;
            let mut matrix = SymmetricMatrix::zeros(n);
            let mut m = matrix.as_mut();
            for j in 0..n {
                m[(j, j)] = 1.0 + 0.5 * noise(j as u64);
                for i in j + 1..n {
                    let v = tiny * noise((i * n + j) as u64);
                    m[(i, j)] = v;
                    m[(j, i)] = v;
                }
            }
            let reference = faer_eigenvalues(matrix.as_ref(), Par::Seq).unwrap();
            let ours = eigenvalues_in_place(&mut matrix.clone(), Par::Seq).unwrap();
            assert_close(&ours, &reference, 1e-13, &format!("off-diagonals {tiny:e}"));
            let mut x: Vec<f64> = (0..40).map(|k| tiny * noise(k)).collect();
            let (beta, tau) = householder(&mut x);
            assert!(beta.is_finite() && tau.is_finite() && x.iter().all(|v| v.is_finite()));
            assert!((1.0..=2.0).contains(&tau), "{tiny:e}: tau {tau}");
        }
    }

    #[test]
    fn dense_matrices_match_faer() {
        // Sizes around the panel width and the last-panel boundary.
        for (seed, n) in [
            1, 2, 3, 4, 5, 7, 31, 32, 33, 64, 95, 96, 97, 128, 129, 200, 333,
        ]
        .into_iter()
        .enumerate()
        {
            let matrix = random_symmetric(n, seed as u64);
            let reference = faer_eigenvalues(matrix.as_ref(), Par::Seq).unwrap();
            let ours = eigenvalues_in_place(&mut matrix.clone(), Par::Seq).unwrap();
            assert_close(&ours, &reference, 1e-13, &format!("n = {n}"));
        }
    }

    #[test]
    fn gram_like_matrices_match_faer() {
        // Positive semi-definite with a fast-decaying spectrum and low rank,
        // as the reduced matrices of a profile are.
        let (n, rank) = (150, 40);
        let f = Mat::<f64>::from_fn(n, rank, |i, j| {
            noise((i * rank + j) as u64) * 0.7f64.powi(j as i32)
        });
        let mut s = SymmetricMatrix::zeros(n);
        faer::linalg::matmul::matmul(
            s.as_mut(),
            Accum::Replace,
            f.as_ref(),
            f.transpose(),
            1.0,
            Par::Seq,
        );
        let reference = faer_eigenvalues(s.as_ref(), Par::Seq).unwrap();
        let ours = eigenvalues_in_place(&mut s.clone(), Par::Seq).unwrap();
        assert_close(&ours, &reference, 1e-13, "Gram");
        let zeros = ours.iter().filter(|v| v.abs() < 1e-12).count();
        assert!(zeros >= n - rank, "rank {rank}: {zeros} zero eigenvalues");
    }

    #[test]
    fn the_same_bits_wherever_the_matrix_sits_in_memory() {
        // Profiles of the same columns in two runs (a file and its arranged
        // copy) must agree to the bit, and their buffers sit at different
        // addresses: shift the matrix by 0..8 elements inside a buffer.
        let n = 150;
        let matrix = random_symmetric(n, 4);
        let reference = tridiagonalize(matrix.clone().columns_mut(), n, Par::Seq).unwrap();
        for shift in 1..8 {
            let mut buffer = vec![0.0; n * n + shift];
            buffer[shift..].copy_from_slice(matrix.clone().columns_mut());
            let shifted = tridiagonalize(&mut buffer[shift..], n, Par::Seq).unwrap();
            assert_eq!(shifted, reference, "shift {shift}");
        }
        let mut tiny = vec![1e-170; 40];
        tiny[3] = 3e-170;
        let expected = 1e-170 * 48f64.sqrt(); // 39 · 1 + 3²
        assert!((norm(&tiny) - expected).abs() < 1e-15 * expected);
        assert!((norm(&[3e200, 4e200]) - 5e200).abs() < 1e-15 * 5e200);
    }

    #[test]
    fn parallel_update_gives_the_same_values() {
        let matrix = random_symmetric(300, 9);
        let seq = eigenvalues_in_place(&mut matrix.clone(), Par::Seq).unwrap();
        let par = eigenvalues_in_place(&mut matrix.clone(), Par::rayon(2)).unwrap();
        assert_close(&par, &seq, 1e-14, "Par::rayon(2)");
        let again = eigenvalues_in_place(&mut matrix.clone(), Par::Seq).unwrap();
        assert_eq!(seq, again, "same bits run to run");
    }

    fn dense_tridiagonal(d: &[f64], e: &[f64]) -> Mat<f64> {
        Mat::from_fn(d.len(), d.len(), |i, j| {
            if i == j {
                d[i]
            } else if i == j + 1 {
                e[j]
            } else if j == i + 1 {
                e[i]
            } else {
                0.0
            }
        })
    }

    fn check_tridiagonal(d: &[f64], e: &[f64], what: &str) {
        let reference = faer_eigenvalues(dense_tridiagonal(d, e).as_ref(), Par::Seq).unwrap();
        let (mut dd, mut ee) = (d.to_vec(), e.to_vec());
        tridiagonal_eigenvalues(&mut dd, &mut ee).unwrap();
        assert_close(&dd, &reference, 1e-13, what);
    }

    #[test]
    fn tridiagonals_match_faer() {
        let n = 300;
        let d: Vec<f64> = (0..n).map(|i| noise(i as u64)).collect();
        let e: Vec<f64> = (0..n - 1).map(|i| noise(10_000 + i as u64)).collect();
        check_tridiagonal(&d, &e, "random");
        // Graded both ways (the block is reversed when the bottom is smaller).
        let d: Vec<f64> = (0..n).map(|i| 10f64.powf(-(i as f64) / 20.0)).collect();
        let e: Vec<f64> = (0..n - 1)
            .map(|i| 10f64.powf(-(i as f64 + 0.5) / 20.0))
            .collect();
        check_tridiagonal(&d, &e, "graded, large at the top");
        let (dr, er): (Vec<f64>, Vec<f64>) = (
            d.iter().rev().copied().collect(),
            e.iter().rev().copied().collect(),
        );
        check_tridiagonal(&dr, &er, "graded, large at the bottom");
        // Wilkinson's W21+: pairs of nearly equal eigenvalues.
        let d: Vec<f64> = (0..21).map(|i| (10i32 - i).abs() as f64).collect();
        check_tridiagonal(&d, &[1.0; 20], "W21+");
        // A zero diagonal, splits, a 1 × 1 and a 2 × 2 block, huge and tiny scales.
        check_tridiagonal(&[0.0; 50], &[1.0; 49], "zero diagonal");
        let mut e = vec![0.5; 9];
        e[2] = 0.0;
        e[6] = 0.0;
        check_tridiagonal(
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
            &e,
            "splits",
        );
        check_tridiagonal(&[4.0], &[], "1 × 1");
        check_tridiagonal(&[1.0, 3.0], &[2.0], "2 × 2");
        let d: Vec<f64> = (0..40).map(|i| 1e200 * noise(i)).collect();
        let e: Vec<f64> = (0..39).map(|i| 1e200 * noise(100 + i)).collect();
        check_tridiagonal(
            &d,
            &e,
            "entries near 1e200 (their squares overflow unscaled)",
        );
        let d: Vec<f64> = d.iter().map(|v| v * 1e-300).collect();
        let e: Vec<f64> = e.iter().map(|v| v * 1e-300).collect();
        check_tridiagonal(&d, &e, "entries near 1e-100");
    }

    #[test]
    fn two_by_two_keeps_the_small_eigenvalue_accurate() {
        // [[1, 1e-8], [1e-8, 1e-17]]: det = 1e-17 - 1e-16 = -9e-17.
        let (big, small) = eigenvalues_2x2(1.0, 1e-8, 1e-17);
        assert!((big - 1.0).abs() < 1e-15);
        assert!((small - (-9e-17)).abs() < 1e-30, "{small}");
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        let mut m = random_symmetric(5, 3);
        m.as_mut()[(3, 1)] = f64::NAN;
        let e = eigenvalues_in_place(&mut m, Par::Seq)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not finite"), "{e}");
        let (mut d, mut e) = (vec![1.0, f64::INFINITY], vec![1.0]);
        let e = tridiagonal_eigenvalues(&mut d, &mut e)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not finite"), "{e}");
    }
}
