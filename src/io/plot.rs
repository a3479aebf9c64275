//! A chart of a profile read at a glance: mean entanglement entropy and mean
//! surrogate per level, one line per profile (e.g. before and after an
//! arrangement). SVG or PNG by the file's extension, written atomically.
//! The font (DejaVu Sans, see assets/) is built in, so no system fonts are needed.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::io::atomic::AtomicOutput;
use crate::math::profile::Profile;

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The font is compiled in and valid; registration cannot fail.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

const SERIES_COLORS: [RGBColor; 3] = [
    RGBColor(200, 60, 40),
    RGBColor(40, 110, 200),
    RGBColor(60, 150, 60),
];

/// The plot format of a path, or an error naming `--plot`: check it before
/// doing the work the plot shows.
pub fn plot_format(path: &Path) -> Result<&'static str> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("svg") => Ok("svg"),
        Some("png") => Ok("png"),
        _ => Err(Error::option(
            "plot",
            format!("{}: the file must end in .svg or .png", path.display()),
        )),
    }
}

/// Draws the profiles (label, profile) to `path` (.svg or .png).
pub fn plot_profiles(path: &Path, title: &str, profiles: &[(&str, &Profile)]) -> Result<()> {
    register_font();
    let format = plot_format(path)?;
    let size = (1000, 420);
    let out = AtomicOutput::create(path)?;
    let drawn = match format {
        "svg" => draw(
            SVGBackend::new(out.path(), size).into_drawing_area(),
            title,
            profiles,
        )
        .map_err(|e| e.to_string()),
        _ => draw(
            BitMapBackend::new(out.path(), size).into_drawing_area(),
            title,
            profiles,
        )
        .map_err(|e| e.to_string()),
    };
    drawn.map_err(|e| Error::file(path, format!("cannot draw the plot: {e}")))?;
    out.commit()
}

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    profiles: &[(&str, &Profile)],
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    // The seam score, which no canonical cut sees, goes in the legend.
    let names: Vec<String> = profiles
        .iter()
        .map(|(name, p)| format!("{name} · seams {:.1}", p.surrogate.seams))
        .collect();
    let profiles: Vec<(&str, &Profile)> = names
        .iter()
        .zip(profiles)
        .map(|(name, (_, p))| (name.as_str(), *p))
        .collect();
    let profiles = profiles.as_slice();
    let (left, right) = root.split_horizontally(500);
    let entropy = |p: &Profile| {
        p.levels
            .iter()
            .map(|l| (l.level as f64, l.mean_entropy))
            .collect::<Vec<_>>()
    };
    let surrogate = |p: &Profile| {
        p.surrogate
            .levels
            .iter()
            .map(|l| (l.level as f64, l.mean))
            .collect::<Vec<_>>()
    };
    panel(&left, "mean entanglement entropy", profiles, &entropy)?;
    panel(
        &right,
        "mean surrogate (cut |correlation|)",
        profiles,
        &surrogate,
    )?;
    root.present()
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    profiles: &[(&str, &Profile)],
    values: &dyn Fn(&Profile) -> Vec<(f64, f64)>,
) -> DrawResult<DB> {
    let series: Vec<Vec<(f64, f64)>> = profiles.iter().map(|(_, p)| values(p)).collect();
    let points = series.iter().flatten();
    let (lo, hi) = points
        .clone()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &(x, _)| {
            (a.min(x), b.max(x))
        });
    let top = points.fold(0.0f64, |m, &(_, y)| m.max(y));
    let (lo, hi) = if lo < hi {
        (lo - 0.3, hi + 0.3)
    } else {
        (lo - 1.0, lo + 1.0)
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(lo..hi, 0.0..(top * 1.1).max(1e-9))?;
    chart
        .configure_mesh()
        .x_desc("level")
        .x_labels(((hi - lo) * 4.0) as usize)
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-9 {
                format!("{}", x.round())
            } else {
                String::new()
            }
        })
        .label_style(("sans-serif", 13))
        .draw()?;
    for (k, ((name, _), points)) in profiles.iter().zip(&series).enumerate() {
        let color = SERIES_COLORS[k % SERIES_COLORS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
}
