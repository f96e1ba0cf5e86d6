//! Pure arithmetic over daily craving aggregates: rolling means, least-squares slope, and the
//! patient's own baseline (exponentially weighted mean and spread).

pub use crate::repo::trends::Day;

/// The mean over the `window` days ending at each day (inclusive), weighted by check-ins: total
/// intensity ÷ total check-ins in the window. Days without check-ins do not count as zero.
pub fn rolling_mean(days: &[Day], window: i64) -> Vec<f64> {
    days.iter()
        .map(|d| {
            let (sum, n) = days
                .iter()
                .filter(|o| o.day <= d.day && o.day > d.day - window)
                .fold((0.0, 0i64), |(s, n), o| {
                    (s + o.mean * o.count as f64, n + o.count)
                });
            if n == 0 {
                0.0
            } else {
                sum / n as f64
            }
        })
        .collect()
}

/// Least-squares slope of `(x, y)` points (units of y per unit of x); `None` with fewer than two
/// distinct x.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    Some(sxy / sxx)
}

/// A baseline: exponentially weighted mean and standard deviation of daily means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// Weighted mean.
    pub mean: f64,
    /// Weighted standard deviation.
    pub sd: f64,
    /// Days it was built from.
    pub days: usize,
}

/// The exponentially weighted mean and variance (West's incremental form) of a series, newest
/// last; `alpha` is the weight of each new day.
pub fn ewma_baseline(values: &[f64], alpha: f64) -> Option<Baseline> {
    let (first, rest) = values.split_first()?;
    let (mut mean, mut var) = (*first, 0.0f64);
    for &x in rest {
        let diff = x - mean;
        let incr = alpha * diff;
        mean += incr;
        var = (1.0 - alpha) * (var + diff * incr);
    }
    Some(Baseline {
        mean,
        sd: var.sqrt(),
        days: values.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(day: i64, count: i64, mean: f64) -> Day {
        Day {
            day,
            count,
            mean,
            max: mean as i64,
            mood: None,
        }
    }

    #[test]
    fn the_rolling_mean_weights_days_by_check_ins_and_skips_empty_days() {
        let days = [day(0, 1, 2.0), day(1, 3, 6.0), day(10, 2, 4.0)];
        let r = rolling_mean(&days, 7);
        assert_eq!(r[0], 2.0);
        assert_eq!(r[1], (2.0 + 18.0) / 4.0);
        assert_eq!(r[2], 4.0);
    }

    #[test]
    fn slope_of_a_line_is_exact_and_of_too_little_data_is_none() {
        let pts: Vec<(f64, f64)> = (0..10).map(|x| (x as f64, 3.0 + 0.5 * x as f64)).collect();
        assert!((slope(&pts).unwrap_or(0.0) - 0.5).abs() < 1e-12);
        assert_eq!(slope(&[(1.0, 2.0)]), None);
        assert_eq!(slope(&[(1.0, 2.0), (1.0, 3.0)]), None);
    }

    #[test]
    fn a_flat_series_has_its_value_as_mean_and_no_spread() {
        let b = ewma_baseline(&[4.0; 10], 0.2).unwrap_or(Baseline {
            mean: 0.0,
            sd: 9.0,
            days: 0,
        });
        assert!((b.mean - 4.0).abs() < 1e-12 && b.sd.abs() < 1e-12);
        let b = ewma_baseline(&[2.0, 6.0, 2.0, 6.0], 0.5).unwrap_or(Baseline {
            mean: 0.0,
            sd: 0.0,
            days: 0,
        });
        assert!(b.sd > 1.0, "{b:?}");
        assert_eq!(ewma_baseline(&[], 0.2), None);
    }
}
