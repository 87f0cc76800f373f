//! Decibel scaling, as `librosa.power_to_db` / `amplitude_to_db`.

/// The reference level of a dB conversion.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum DbRef {
    /// A fixed value (librosa's default is 1.0).
    Value(f32),
    /// The maximum of the input (librosa's `ref=np.max`), over the whole array or per item
    /// as [`DbScale::per_item`] says.
    Max,
}

/// `power_to_db` parameters: `10 log10(max(amin, S)) - 10 log10(max(amin, ref))`, floored at
/// `max - top_db`.
///
/// The maximum (for `top_db` and for [`DbRef::Max`]) is taken over the whole output array by
/// default, as librosa does on the array it is given: over every channel of a clip and every row
/// of a batch. With `per_item`, it is taken per row (channel or batch row), so that each row's
/// values are exactly those of that row run alone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbScale {
    /// Reference level. Default `DbRef::Value(1.0)`.
    pub reference: DbRef,
    /// Floor before the log. Default 1e-10 (power).
    pub amin: f32,
    /// Dynamic range below the maximum; None keeps everything. Default Some(80).
    pub top_db: Option<f32>,
    /// Max per row instead of over the whole array. Default false (librosa).
    pub per_item: bool,
    /// Input is an amplitude (`amplitude_to_db`: squares input, ref and amin). Default false.
    pub amplitude: bool,
}

impl Default for DbScale {
    fn default() -> Self {
        DbScale {
            reference: DbRef::Value(1.0),
            amin: 1e-10,
            top_db: Some(80.0),
            per_item: false,
            amplitude: false,
        }
    }
}

impl DbScale {
    /// Validates the parameters.
    pub fn validate(&self) -> crate::Result<()> {
        use crate::Error;
        if !(self.amin.is_finite() && self.amin > 0.0) {
            return Err(Error::param(
                "amin",
                format!("must be finite and > 0, got {}", self.amin),
            ));
        }
        if let Some(t) = self.top_db {
            if !(t.is_finite() && t >= 0.0) {
                return Err(Error::param(
                    "top_db",
                    format!("must be finite and >= 0, got {t}"),
                ));
            }
        }
        if let DbRef::Value(r) = self.reference {
            if !(r.is_finite() && r > 0.0) {
                return Err(Error::param(
                    "ref",
                    format!("must be finite and > 0, got {r}"),
                ));
            }
        }
        Ok(())
    }

    /// The constants the kernels use, given the maximum `max_s` of the (power or amplitude)
    /// input over the array (or row): `(amin_p, offset_db, floor_db)` so that
    /// `db = 10 log10(max(amin_p, s_p)) - offset_db`, then `max(db, floor_db)`, where `s_p` is
    /// the input squared for amplitudes.
    pub(crate) fn constants(&self, max_s: f32) -> (f32, f32, f32) {
        let sq = |x: f32| if self.amplitude { x * x } else { x };
        let amin_p = sq(self.amin);
        let max_p = sq(max_s);
        let reference = match self.reference {
            DbRef::Value(r) => sq(r),
            DbRef::Max => max_p,
        };
        let offset = 10.0 * (amin_p.max(reference) as f64).log10();
        let top = 10.0 * (amin_p.max(max_p) as f64).log10() - offset;
        let floor = match self.top_db {
            Some(t) => top - t as f64,
            None => f64::NEG_INFINITY,
        };
        (amin_p, offset as f32, floor as f32)
    }
}
