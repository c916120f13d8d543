//! Vector checks and arithmetic shared by every embedder and store: one
//! definition of a valid vector, of normalising and of similarity.
//!
//! Vectors are stored L2-normalised, so cosine similarity is a dot product
//! and pgvector's inner-product operator ranks the same way.

use crate::error::{Error, Result};

/// Checks that `v` has `dimension` components, all finite.
///
/// # Errors
/// [`Error::InvalidInput`] naming the problem.
pub fn check(v: &[f32], dimension: usize) -> Result<()> {
    if v.len() != dimension {
        return Err(Error::invalid(format!(
            "vector has {} dimensions, the model has {dimension}",
            v.len()
        )));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid(format!(
            "vector component {i} is {} (not a finite number)",
            v[i]
        )));
    }
    Ok(())
}

/// Scales `v` to unit length.
///
/// # Errors
/// [`Error::InvalidInput`] for a zero vector or one with a non-finite
/// component.
pub fn normalize(v: &mut [f32]) -> Result<()> {
    check(v, v.len())?;
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return Err(Error::invalid("cannot normalise a zero vector"));
    }
    v.iter_mut().for_each(|x| *x /= norm);
    Ok(())
}

/// Cosine similarity of two unit vectors (their dot product), in [-1, 1].
/// Vectors of different lengths compare over the shorter one; callers check
/// dimensions first.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| x * y)
        .sum::<f32>()
        .clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_the_problem() {
        check(&[0.0, 1.0], 2).expect("valid");
        let cases: [(&[f32], usize, &str); 3] = [
            (&[1.0], 2, "has 1 dimensions, the model has 2"),
            (&[1.0, f32::NAN], 2, "component 1 is NaN"),
            (&[f32::INFINITY], 1, "component 0 is inf"),
        ];
        for (v, dim, expected) in cases {
            let err = check(v, dim).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn normalised_vectors_compare_by_dot_product() {
        let mut a = vec![3.0, 4.0];
        normalize(&mut a).expect("normalise");
        assert!((a[0] - 0.6).abs() < 1e-6 && (a[1] - 0.8).abs() < 1e-6);
        let mut b = vec![-3.0, -4.0];
        normalize(&mut b).expect("normalise");
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-6);
        assert!((cosine(&a, &b) + 1.0).abs() < 1e-6);
        assert!(normalize(&mut [0.0, 0.0]).is_err());
        assert!(normalize(&mut [f32::NAN]).is_err());
    }
}
