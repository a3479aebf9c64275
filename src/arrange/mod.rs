//! Layer 2, the arrangement (docs/conventions.md#rearrangement): permutations
//! of the features whose canonical partitions cut little |correlation|.
//!
//! [`dense`] partitions the N × N weights with exact node sizes; [`sparse`]
//! does the same on a graph of each feature's strongest neighbours, which
//! [`neighbours`] computes blockwise for tens of thousands of features.
//! [`seams`] then places every node's children so that grid neighbours are
//! correlated, which no canonical cut sees ([`line`]: exactly, in 1D). [`shrink`] lowers weak
//! correlations, noisy on few rows, before the partitioner sees them.

pub mod dense;
pub mod line;
pub mod neighbours;
pub mod seams;
pub mod shrink;
pub mod sparse;

/// An option whose value is one of a few names (`placement=seams|tree`,
/// `weights=auto|dense|sparse`, `report=auto|entanglement|surrogate`): the
/// names are declared once, here, and every interface (clap's possible
/// values, the SQL string form, serde for polars and Python keywords) reads
/// them from [`Choice::ALL`] and [`Choice::name`].
pub trait Choice: Copy + Sized + 'static {
    /// Every value, the default first.
    const ALL: &'static [Self];

    /// The option value naming it.
    fn name(self) -> &'static str;

    /// Every option value, in [`Choice::ALL`]'s order.
    fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|c| c.name()).collect()
    }

    /// The value `text` names; the error says what was expected.
    fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.name() == text)
            .ok_or_else(|| format!("expected {}, got '{text}'", Self::expected()))
    }

    /// The names as a sentence: `auto, dense or sparse`.
    fn expected() -> String {
        match Self::names().split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

/// serde for a [`Choice`]: its name, with [`Choice::parse`]'s error.
pub fn deserialize_choice<'de, D, C>(deserializer: D) -> Result<C, D::Error>
where
    D: serde::Deserializer<'de>,
    C: Choice,
{
    let text = <String as serde::Deserialize>::deserialize(deserializer)?;
    C::parse(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::Choice;
    use super::neighbours::Weighting;
    use super::seams::Placement;

    #[test]
    fn a_choice_parses_its_names_and_says_what_it_expects() {
        assert_eq!(Weighting::parse("sparse"), Ok(Weighting::Sparse));
        assert_eq!(
            Weighting::parse("blocky"),
            Err("expected auto, dense or sparse, got 'blocky'".to_string())
        );
        assert_eq!(Placement::expected(), "seams or tree");
        for placement in Placement::ALL {
            assert_eq!(Placement::parse(placement.name()), Ok(*placement));
        }
        let weights: Weighting = serde_json::from_str("\"dense\"").unwrap();
        assert_eq!(weights, Weighting::Dense);
    }
}
