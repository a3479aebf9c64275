//! The report page as one self-contained HTML file: CSS, inline SVG charts
//! and PNG images as data (indexed colour, so a picture costs a byte a
//! cell before compression), the order file as embedded JSON. Every chart
//! has a text alternative (a title, a caption and a table); the colour
//! scale is viridis, whose lightness rises monotonically and which reads
//! the same to colour-blind eyes; lines are told apart by colour
//! (Okabe–Ito) and by dash.
//!
//! Every number shown that the `--json` output also holds carries its path
//! there (`data-key`) and its exact value (`data-value`), so that a test
//! can read the page back against the JSON.

use std::fmt::Write;
use std::path::Path;

use base64::Engine;

use super::{Correlation, LevelHeat, Number, Page, Raster, Scale, View, drawn_shape};
use crate::error::{Error, Result};
use crate::io::atomic::write_atomically;

/// Viridis at ten evenly spaced stops (matplotlib's), interpolated linearly.
const VIRIDIS: [[u8; 3]; 10] = [
    [0x44, 0x01, 0x54],
    [0x48, 0x28, 0x78],
    [0x3e, 0x49, 0x89],
    [0x31, 0x68, 0x8e],
    [0x26, 0x82, 0x8e],
    [0x1f, 0x9e, 0x89],
    [0x35, 0xb7, 0x79],
    [0x6e, 0xce, 0x58],
    [0xb5, 0xde, 0x2b],
    [0xfd, 0xe7, 0x25],
];

/// Line colours (Okabe–Ito) and dashes of the orders, and of a random order.
const SERIES: [(&str, &str); 3] = [("#E69F00", ""), ("#0072B2", "6 3"), ("#009E73", "2 2")];
const RANDOM_SERIES: (&str, &str) = ("#777777", "8 4 2 4");

fn viridis(t: f64) -> [u8; 3] {
    let x = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let (i, f) = (x.floor() as usize, x.fract());
    let (a, b) = (VIRIDIS[i], VIRIDIS[(i + 1).min(VIRIDIS.len() - 1)]);
    std::array::from_fn(|c| (a[c] as f64 + (b[c] as f64 - a[c] as f64) * f).round() as u8)
}

#[derive(Clone, Copy)]
enum Palette {
    Viridis,
    Gray,
}

impl Palette {
    fn colour(self, t: f64) -> [u8; 3] {
        match self {
            Palette::Viridis => viridis(t),
            Palette::Gray => [(t.clamp(0.0, 1.0) * 255.0).round() as u8; 3],
        }
    }

    /// The 256 colours of the PNG palette.
    fn colours(self) -> Vec<u8> {
        (0..=255u8)
            .flat_map(|v| self.colour(v as f64 / 255.0))
            .collect()
    }

    fn css_gradient(self) -> String {
        let stops: Vec<String> = (0..=10)
            .map(|i| {
                let [r, g, b] = self.colour(i as f64 / 10.0);
                format!("#{r:02x}{g:02x}{b:02x}")
            })
            .collect();
        format!("linear-gradient(to right, {})", stops.join(", "))
    }
}

/// A number in four significant digits (the exact value is in `data-value`).
pub fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    if v.abs() >= 1e6 || v.abs() < 1e-4 {
        return format!("{v:.3e}");
    }
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
    format!("{v:.digits$}")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table cell showing `number`, keyed to the JSON.
fn number_cell(number: &Number) -> String {
    let key = if number.key.is_empty() {
        String::new()
    } else {
        format!(" data-key=\"{}\"", escape(&number.key))
    };
    let value = number.value;
    format!(
        "<td class=\"num\"{key} data-value=\"{value}\" title=\"{value}\">{}</td>",
        short(value)
    )
}

const EMPTY_CELL: &str = "<td></td>";

fn png(raster: &Raster, palette: Palette) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, raster.width as u32, raster.height as u32);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(palette.colours());
    encoder.set_compression(png::Compression::Best);
    let failed = |e: png::EncodingError| Error::Data(format!("cannot encode a picture: {e}"));
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(&raster.pixels).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(out)
}

/// An `<img>` of a raster, `width` CSS pixels wide, described by `alt`.
fn image(raster: &Raster, palette: Palette, width: usize, alt: &str) -> Result<String> {
    let height = if raster.height == 1 {
        24
    } else {
        (width * raster.height / raster.width).max(1)
    };
    let alt = escape(alt);
    Ok(format!(
        "<img class=\"raster\" width=\"{width}\" height=\"{height}\" alt=\"{alt}\" \
         title=\"{alt}\" src=\"data:image/png;base64,{}\">",
        base64::engine::general_purpose::STANDARD.encode(png(raster, palette)?)
    ))
}

fn legend(palette: Palette, scale: Scale, what: &str) -> String {
    let (low, high, what) = (short(scale.low), short(scale.high), escape(what));
    format!(
        "<div class=\"legend\" role=\"img\" aria-label=\"colour scale: {what} from {low} (dark) \
         to {high} (light)\"><span>{low}</span><span class=\"bar\" style=\"background: {}\">\
         </span><span>{high}</span> <span class=\"what\">{what}</span></div>\n",
        palette.css_gradient()
    )
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0 auto;
       max-width: 1180px; padding: 1.5em; color: #1a1a1a; background: #fff; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
h3 { font-size: 1em; margin: 1em 0 0.3em; }
.verdict { font-size: 1.1em; background: #f3f6fa; border-left: 4px solid #0072B2;
       padding: 0.7em 1em; }
.note { color: #555; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2em 1.2em; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; font-family: monospace; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.6em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.row { display: flex; flex-wrap: wrap; gap: 1.2em; align-items: flex-start; }
figure { margin: 0.4em 0; } figcaption { font-size: 0.85em; color: #444; max-width: 30em; }
img.raster { image-rendering: pixelated; border: 1px solid #ccc; display: block; }
.legend { display: flex; align-items: center; gap: 0.4em; font-size: 0.8em; margin: 0.3em 0; }
.legend .bar { display: inline-block; width: 160px; height: 12px; border: 1px solid #aaa; }
.legend .what { color: #555; }
table.names { font-size: 0.62em; font-family: monospace; }
table.names td { border: 1px solid #eee; padding: 1px 2px; max-width: 7em; overflow: hidden;
       white-space: nowrap; }
table.names td:hover { background: #fde725; }
svg text { font-family: system-ui, sans-serif; font-size: 11px; }
button { font-size: 0.95em; padding: 0.3em 0.9em; }
";

const DOWNLOAD_SCRIPT: &str = "
document.getElementById('download-order').addEventListener('click', function () {
  var text = document.getElementById('order-file').textContent;
  var url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  var link = document.createElement('a');
  link.href = url;
  link.download = 'order.json';
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(function () { URL.revokeObjectURL(url); }, 0);
});
";

impl Page {
    /// The page as one HTML document.
    pub fn render(&self) -> Result<String> {
        let title = self
            .facts
            .first()
            .map_or(String::new(), |f| format!(": {}", f.1));
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>entangle {}{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
            self.command,
            escape(&title)
        );
        out.push_str(&self.body()?);
        if self.order_file.is_some() {
            let _ = writeln!(out, "<script>{DOWNLOAD_SCRIPT}</script>");
        }
        out.push_str("</body>\n</html>\n");
        Ok(out)
    }

    /// The page's content, without the document around it.
    fn body(&self) -> Result<String> {
        let mut out = String::from("<div class=\"entangle-report\">\n");
        out.push_str(&self.header());
        if !self.views.is_empty() {
            out.push_str(&self.profile_section());
        }
        if !self.heat.is_empty() {
            out.push_str(&self.grid_section()?);
        }
        if let Some(c) = &self.correlation {
            out.push_str(&correlation_section(c)?);
        }
        if !self.samples.is_empty() {
            out.push_str(&self.samples_section()?);
        }
        if let Some(names) = &self.names {
            out.push_str(&names_section(names, &self.shape));
        }
        if let Some(json) = &self.order_file {
            out.push_str(&order_section(json));
        }
        out.push_str("</div>\n");
        Ok(out)
    }

    /// Writes the page to `path`, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomically(path, self.render()?.as_bytes())
    }

    fn header(&self) -> String {
        let mut out = format!(
            "<section id=\"summary\">\n<h1>entangle {}</h1>\n<p class=\"verdict\">{}</p>\n",
            self.command,
            escape(&self.verdict)
        );
        for note in &self.notes {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
        }
        out.push_str("<dl class=\"facts\">\n");
        for (name, value) in &self.facts {
            let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", escape(name), escape(value));
        }
        out.push_str("</dl>\n</section>\n");
        out
    }

    fn profile_section(&self) -> String {
        let entropy = self.measure == "entropy";
        let mut out = String::from(
            "<section id=\"profile\">\n<h2>Profile per level</h2>\n<p>Each level of the \
             canonical tree cuts the grid into blocks; a block's entanglement with the rest is \
             what a locally connected network must model across its boundary. Lower is \
             better.</p>\n<div class=\"row\">\n",
        );
        let levels: Vec<usize> = self.views[0].levels.iter().map(|l| l.level).collect();
        if entropy {
            let series: Vec<(&str, Vec<f64>)> = self
                .views
                .iter()
                .map(|v| {
                    let values = v
                        .levels
                        .iter()
                        .map(|l| l.entropy.as_ref().map_or(f64::NAN, |n| n.value))
                        .collect();
                    (v.name, values)
                })
                .collect();
            out.push_str(&line_chart(
                "Mean entanglement entropy per level",
                &levels,
                &series,
                None,
            ));
        }
        let series: Vec<(&str, Vec<f64>)> = self
            .views
            .iter()
            .map(|v| (v.name, v.levels.iter().map(|l| l.surrogate.value).collect()))
            .collect();
        let random: Option<Vec<f64>> = self
            .random
            .as_ref()
            .map(|r| r.levels.iter().map(|l| l.1).collect());
        out.push_str(&line_chart(
            "Mean surrogate (Σ|correlation| across a cut) per level",
            &levels,
            &series,
            random.as_deref(),
        ));
        out.push_str(
            "</div>\n<table class=\"profile\">\n<caption>The charts' numbers</caption>\n\
             <tr><th>level</th>",
        );
        if entropy {
            for v in &self.views {
                let _ = write!(out, "<th>entropy, {}</th>", v.name);
            }
        }
        for v in &self.views {
            let _ = write!(out, "<th>surrogate, {}</th>", v.name);
        }
        if self.random.is_some() {
            out.push_str("<th>surrogate, random order</th>");
        }
        out.push_str("</tr>\n");
        let cell = |n: Option<&Number>| n.map_or(EMPTY_CELL.to_string(), number_cell);
        let derived = |v: Option<f64>| v.map(Number::derived);
        for (i, level) in levels.iter().enumerate() {
            let _ = write!(out, "<tr><th>{level}</th>");
            if entropy {
                for v in &self.views {
                    out.push_str(&cell(v.levels[i].entropy.as_ref()));
                }
            }
            for v in &self.views {
                out.push_str(&cell(Some(&v.levels[i].surrogate)));
            }
            if let Some(r) = &self.random {
                out.push_str(&cell(derived(Some(r.levels[i].1)).as_ref()));
            }
            out.push_str("</tr>\n");
        }
        type Pick = fn(&View) -> (Option<&Number>, &Number);
        let rows: [(&str, Pick, Option<f64>); 2] = [
            (
                "mean",
                |v| (v.mean_entropy.as_ref(), &v.surrogate),
                self.random.as_ref().map(|r| r.mean),
            ),
            (
                "seam score",
                |v| (None, &v.seams),
                self.random.as_ref().map(|r| r.seams),
            ),
        ];
        for (label, pick, random) in rows {
            let _ = write!(out, "<tr><th>{label}</th>");
            if entropy {
                for v in &self.views {
                    out.push_str(&cell(pick(v).0));
                }
            }
            for v in &self.views {
                out.push_str(&cell(Some(pick(v).1)));
            }
            if self.random.is_some() {
                out.push_str(&cell(derived(random).as_ref()));
            }
            out.push_str("</tr>\n");
        }
        out.push_str(
            "</table>\n<p class=\"note\">The seam score is Σ|correlation| over neighbouring grid \
             positions, which a CNN's overlapping kernels see and no canonical cut does: higher \
             is better. The random order's numbers are exact expectations over all orders of \
             the same features.</p>\n</section>\n",
        );
        out
    }

    fn grid_section(&self) -> Result<String> {
        let what = match self.measure {
            "entropy" => "entanglement entropy",
            _ => "surrogate cut",
        };
        let mut out = format!(
            "<section id=\"grid\">\n<h2>The canonical partitions on the grid</h2>\n<p>Each \
             level's blocks coloured by their {what}, on one scale per level that spans its range in \
             both orders (the legend gives the ends; dark is low).</p>\n"
        );
        for heat in &self.heat {
            out.push_str(&heat_level(heat, &self.shape, what)?);
        }
        out.push_str("</section>\n");
        Ok(out)
    }

    fn samples_section(&self) -> Result<String> {
        let line = self.shape.len() == 1;
        let mut out = String::from(
            "<section id=\"samples\">\n<h2>Sampled rows in each order</h2>\n<div class=\"row\">\n",
        );
        for (r, row) in self.samples.iter().enumerate() {
            for (name, values) in &row.views {
                let alt = format!(
                    "sampled row {} in the {name} order: values from {} to {}",
                    r + 1,
                    short(row.scale.low),
                    short(row.scale.high)
                );
                let picture = if line {
                    trace(values, row.scale, &alt)
                } else {
                    let raster = super::raster(values, &self.shape, super::SAMPLE_SIDE, row.scale);
                    image(&raster, Palette::Gray, 200, &alt)?
                };
                let _ = writeln!(
                    out,
                    "<figure>{picture}<figcaption>row {}, {name}</figcaption></figure>",
                    r + 1
                );
            }
        }
        out.push_str("</div>\n");
        if !line {
            let unit = Scale {
                low: 0.0,
                high: 1.0,
            };
            out.push_str(&legend(
                Palette::Gray,
                unit,
                "each row's lowest to highest value",
            ));
        }
        out.push_str("</section>\n");
        Ok(out)
    }
}

/// A level's heat maps, legend and (for few partitions) table.
fn heat_level(heat: &LevelHeat, shape: &[usize], what: &str) -> Result<String> {
    let (rows, cols) = drawn_shape(shape);
    let width = if rows == 1 { 520 } else { 220 };
    let mut out = format!(
        "<div class=\"level\" id=\"level-{0}\"><h3>Level {0}</h3>\n<div class=\"row\">\n",
        heat.level
    );
    for (name, raster, numbers) in &heat.views {
        let mean = numbers.iter().map(|n| n.value).sum::<f64>() / numbers.len().max(1) as f64;
        let alt = format!(
            "level {}, {name} order: {} partitions of a {rows} × {cols} grid, {what} from {} to \
             {} (mean {})",
            heat.level,
            numbers.len(),
            short(heat.scale.low),
            short(heat.scale.high),
            short(mean)
        );
        let _ = writeln!(
            out,
            "<figure>{}<figcaption>{name}</figcaption></figure>",
            image(raster, Palette::Viridis, width, &alt)?
        );
    }
    out.push_str("</div>\n");
    out.push_str(&legend(Palette::Viridis, heat.scale, what));
    let partitions = heat.views.first().map_or(0, |v| v.2.len());
    if partitions <= 64 {
        let _ = write!(
            out,
            "<details><summary>the {partitions} partitions' numbers</summary><table>\
             <tr><th>block</th>"
        );
        for (name, ..) in &heat.views {
            let _ = write!(out, "<th>{name}</th>");
        }
        out.push_str("</tr>\n");
        for chunk in 0..partitions {
            let _ = write!(out, "<tr><th>{chunk}</th>");
            for (_, _, numbers) in &heat.views {
                out.push_str(&number_cell(&numbers[chunk]));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table></details>\n");
    }
    out.push_str("</div>\n");
    Ok(out)
}

fn correlation_section(c: &Correlation) -> Result<String> {
    let mut out = String::from(
        "<section id=\"correlation\">\n<h2>|Correlation| between features</h2>\n<p>Rows and \
         columns in grid order: an arrangement that suits a locally connected network gathers \
         the strong correlations near the diagonal, in blocks.</p>\n",
    );
    if c.block > 1 {
        let _ = writeln!(
            out,
            "<p class=\"note\">Downsampled: each pixel is the mean over a block of about {0} × {0} \
             pairs of features.</p>",
            c.block
        );
    }
    if let Some(k) = c.sparse {
        let _ = writeln!(
            out,
            "<p class=\"note\">Sparse weights: drawn from each feature's {k} strongest \
             correlations, which the arrangement used (the others count as 0).</p>"
        );
    }
    out.push_str("<div class=\"row\">\n");
    for (name, raster) in &c.views {
        let alt = format!(
            "|correlation| matrix in the {name} order, {} × {} pixels{}, from {} to {}",
            raster.width,
            raster.height,
            if c.block > 1 { " of block means" } else { "" },
            short(c.scale.low),
            short(c.scale.high)
        );
        let _ = writeln!(
            out,
            "<figure>{}<figcaption>{name}</figcaption></figure>",
            image(raster, Palette::Viridis, 360, &alt)?
        );
    }
    out.push_str("</div>\n");
    let what = if c.block > 1 {
        "mean |correlation| of a block"
    } else {
        "|correlation|"
    };
    out.push_str(&legend(Palette::Viridis, c.scale, what));
    out.push_str("</section>\n");
    Ok(out)
}

/// The arranged grid of feature names, at most [`super::NAME_CELLS`] of them.
fn names_section(names: &[String], shape: &[usize]) -> String {
    let (rows, cols) = drawn_shape(shape);
    // A line wraps at 32 names a row; a grid shows at most 64 columns.
    let (cols, rows) = if rows == 1 {
        (32.min(cols), names.len().div_ceil(32.min(cols)))
    } else {
        (cols, rows)
    };
    let shown_cols = cols.min(64);
    let shown_rows = rows.min(super::NAME_CELLS / shown_cols);
    let shown = names.len().min(shown_rows * shown_cols);
    let mut out = String::from(
        "<section id=\"names\">\n<h2>The arranged grid of feature names</h2>\n<p>Hover a cell \
         for its name and position.</p>\n",
    );
    if shown < names.len() {
        let _ = writeln!(
            out,
            "<p class=\"note\">The first {shown_rows} rows and {shown_cols} columns of the grid \
             are shown ({shown} of {} features); the order below holds them all.</p>",
            names.len()
        );
    }
    out.push_str("<table class=\"names\">\n");
    for r in 0..shown_rows {
        out.push_str("<tr>");
        for c in 0..shown_cols {
            let g = r * cols + c;
            let Some(name) = names.get(g) else { break };
            let position = if shape.len() == 1 {
                format!("position {g}")
            } else {
                format!("position {g} (row {r}, column {c})")
            };
            let name = escape(name);
            let _ = write!(out, "<td title=\"{name} — {position}\">{name}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</section>\n");
    out
}

fn order_section(json: &str) -> String {
    // `</` would end the script element early; JSON allows `<\/`.
    let embedded = json.replace("</", "<\\/");
    format!(
        "<section id=\"order\">\n<h2>The order</h2>\n<p>The order file, as \
         <code>--order-out</code> writes it (for <code>entangle apply</code>): \
         <button type=\"button\" id=\"download-order\">download order.json</button></p>\n\
         <script type=\"application/json\" id=\"order-file\">{embedded}</script>\n</section>\n"
    )
}

/// An SVG line chart of per-level series, with a title for screen readers
/// (the table after it holds the numbers).
fn line_chart(
    title: &str,
    levels: &[usize],
    series: &[(&str, Vec<f64>)],
    random: Option<&[f64]>,
) -> String {
    const LEGEND_Y: f64 = 32.0;
    let (width, height, left, bottom, top, right) = (520.0, 290.0, 64.0, 40.0, 46.0, 16.0);
    let largest = series
        .iter()
        .flat_map(|s| s.1.iter())
        .chain(random.into_iter().flatten())
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let high = largest * 1.08;
    let x = |i: usize| {
        let at = if levels.len() > 1 {
            i as f64 / (levels.len() - 1) as f64
        } else {
            0.5
        };
        left + (width - left - right) * at
    };
    let y = |v: f64| top + (height - top - bottom) * (1.0 - v / high);
    let title = escape(title);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{title}\"><title>{title}\
         </title>\n<text x=\"{left}\" y=\"16\" font-weight=\"600\">{title}</text>\n"
    );
    let right_x = width - right;
    for t in 0..=4 {
        let v = largest * t as f64 / 4.0;
        let (tick_y, label_x, label) = (y(v), left - 6.0, short(v));
        let _ = writeln!(
            out,
            "<line x1=\"{left}\" x2=\"{right_x}\" y1=\"{tick_y:.1}\" y2=\"{tick_y:.1}\" \
             stroke=\"#e5e5e5\"/><text x=\"{label_x}\" y=\"{:.1}\" \
             text-anchor=\"end\">{label}</text>",
            tick_y + 4.0
        );
    }
    let axis_y = height - bottom + 16.0;
    for (i, level) in levels.iter().enumerate() {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{axis_y}\" text-anchor=\"middle\">{level}</text>",
            x(i)
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">level</text>",
        (left + right_x) / 2.0,
        height - 6.0
    );
    let mut legend_x = left;
    let mut draw = |name: &str, values: &[f64], (colour, dash): (&str, &str)| {
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| (x(i), y(v)))
            .collect();
        let path: Vec<String> = points
            .iter()
            .map(|(px, py)| format!("{px:.1},{py:.1}"))
            .collect();
        let name = escape(name);
        let _ = writeln!(
            out,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.2\" \
             stroke-dasharray=\"{dash}\" points=\"{}\"><title>{name}</title></polyline>",
            path.join(" ")
        );
        for (px, py) in &points {
            let _ = write!(
                out,
                "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"3\" fill=\"{colour}\"/>"
            );
        }
        let _ = writeln!(
            out,
            "<line x1=\"{legend_x}\" x2=\"{}\" y1=\"{LEGEND_Y}\" y2=\"{LEGEND_Y}\" \
             stroke=\"{colour}\" stroke-width=\"2.2\" stroke-dasharray=\"{dash}\"/>\
             <text x=\"{}\" y=\"{}\">{name}</text>",
            legend_x + 22.0,
            legend_x + 26.0,
            LEGEND_Y + 4.0
        );
        legend_x += 34.0 + 6.0 * name.chars().count() as f64;
    };
    for (k, (name, values)) in series.iter().enumerate() {
        draw(name, values, SERIES[k % SERIES.len()]);
    }
    if let Some(random) = random {
        draw("random order (expected)", random, RANDOM_SERIES);
    }
    out.push_str("</svg>\n");
    out
}

/// An SVG trace of a 1D row over grid positions (means of at most
/// [`super::STRIP_CELLS`] bins).
fn trace(values: &[f64], scale: Scale, alt: &str) -> String {
    let (width, height) = (520.0, 90.0);
    // A row has at least 2 features (the analysis requires them).
    let per = values.len().div_ceil(super::STRIP_CELLS).max(1);
    let bins = values.len().div_ceil(per);
    let span = (scale.high - scale.low).max(f64::MIN_POSITIVE);
    let points: Vec<String> = values
        .chunks(per)
        .enumerate()
        .map(|(i, chunk)| {
            let v = chunk.iter().sum::<f64>() / chunk.len() as f64;
            let px = width * i as f64 / (bins.max(2) - 1) as f64;
            let py = 4.0 + (height - 8.0) * (1.0 - (v - scale.low) / span);
            format!("{px:.1},{py:.1}")
        })
        .collect();
    let alt = escape(alt);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{alt}\"><title>{alt}</title>\
         <rect width=\"{width}\" height=\"{height}\" fill=\"#fafafa\" stroke=\"#ccc\"/>\
         <polyline fill=\"none\" stroke=\"#0072B2\" stroke-width=\"1.2\" points=\"{}\"/></svg>",
        points.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_runs_from_purple_to_yellow_through_the_stops() {
        assert_eq!(viridis(0.0), VIRIDIS[0]);
        assert_eq!(viridis(1.0), VIRIDIS[9]);
        assert_eq!(viridis(1.0 / 9.0), VIRIDIS[1]);
        // Lightness (a luma proxy) rises (but for a byte's rounding): the
        // scale reads in order in gray too.
        let luma = |c: [u8; 3]| 0.299 * c[0] as f64 + 0.587 * c[1] as f64 + 0.114 * c[2] as f64;
        let lumas: Vec<f64> = (0..=255).map(|v| luma(viridis(v as f64 / 255.0))).collect();
        assert!(lumas.windows(2).all(|w| w[1] >= w[0] - 0.5), "{lumas:?}");
        assert!(lumas[255] - lumas[0] > 180.0);
    }

    #[test]
    fn pngs_decode_to_the_raster_and_palette() {
        let raster = Raster {
            width: 3,
            height: 2,
            pixels: vec![0, 50, 100, 150, 200, 255],
        };
        let bytes = png(&raster, Palette::Viridis).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((info.width, info.height), (3, 2));
        assert_eq!(&pixels[..6], &raster.pixels[..]);
        let palette = reader.info().palette.as_ref().unwrap();
        assert_eq!(&palette[255 * 3..], &VIRIDIS[9]);
    }

    #[test]
    fn numbers_are_short_on_the_page_and_exact_in_their_attributes() {
        assert_eq!(short(0.123456), "0.1235");
        assert_eq!(short(1234.5678), "1235");
        assert_eq!(short(12.0), "12.00");
        let cell = number_cell(&Number::at("after.mean".into(), 0.1 + 0.2));
        assert!(cell.contains("data-key=\"after.mean\""), "{cell}");
        assert!(
            cell.contains("data-value=\"0.30000000000000004\""),
            "{cell}"
        );
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
