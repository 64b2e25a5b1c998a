//! Drawing a [`Chart`] as SVG with `plotters`.
//!
//! Text is written as SVG `<text>` for the viewer to render (no font is read or
//! embedded, see the workspace manifest), and its extent is plotters' estimate, so the
//! margins here leave room. The output depends on the chart alone: the same records
//! give the same bytes, which is what lets a check compare committed charts with fresh
//! ones.

use anyhow::anyhow;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::charts::{thousands, Axis, Bars, Chart, Lines, Plot, Unit};

/// Width of every chart, pixels.
const WIDTH: u32 = 960;
/// Height of the plot of a line chart, pixels.
const LINE_PLOT_HEIGHT: u32 = 480;
/// Height of one bar, pixels.
const BAR_PX: u32 = 15;
/// Height of a header line (title, subtitle, legend entry), pixels.
const LINE_PX: u32 = 20;
/// Estimated width of a label character at [`LABEL_SIZE`], pixels (generous: an
/// underestimate would cut labels off).
const CHAR_PX: u32 = 7;
const FONT: &str = "sans-serif";
const LABEL_SIZE: u32 = 16;

/// Colours of series, in order (Tableau 10).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(127, 127, 127),
];
/// Baselines' bars.
const BASELINE_GREY: RGBColor = RGBColor(170, 170, 170);
const TEXT_GREY: RGBColor = RGBColor(80, 80, 80);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A drawing failure as an error (plotters' errors borrow nothing but are generic).
fn failed(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw the chart: {e}")
}

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// How a legend entry is drawn.
enum Swatch {
    Bar(RGBColor),
    Line(RGBColor, bool),
}

/// `chart` as an SVG document.
pub fn svg(chart: &Chart) -> anyhow::Result<String> {
    let legend: Vec<(String, Swatch)> = match &chart.plot {
        Plot::Bars(b) => b
            .series
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), Swatch::Bar(bar_colour(i, name))))
            .collect(),
        Plot::Lines(l) => l
            .series
            .iter()
            .filter_map(|s| Some((s.name.clone()?, Swatch::Line(colour(s.color), s.dashed))))
            .collect(),
    };
    let header = LINE_PX * (2 + as_u32(chart.subtitle.len() + legend.len())) + 8;
    let body = match &chart.plot {
        Plot::Bars(b) => {
            BAR_PX * as_u32(b.rows.len() * b.series.len()) + 4 * as_u32(b.rows.len()) + 70
        }
        Plot::Lines(_) => LINE_PLOT_HEIGHT,
    };
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, header + body)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let (top, plot) = root.split_vertically(header);
        caption(&top, chart, &legend)?;
        match &chart.plot {
            Plot::Bars(b) => bars(&plot, b)?,
            Plot::Lines(l) => lines(&plot, l)?,
        }
        root.present().map_err(failed)?;
    }
    Ok(out)
}

fn as_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX / 1024)
}

fn bar_colour(i: usize, name: &str) -> RGBColor {
    if name.starts_with("baseline") {
        BASELINE_GREY
    } else {
        colour(i)
    }
}

fn caption(area: &Area<'_>, chart: &Chart, legend: &[(String, Swatch)]) -> anyhow::Result<()> {
    let left = 12;
    let px = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    let title = TextStyle::from((FONT, 22).into_font().style(FontStyle::Bold));
    area.draw(&Text::new(chart.title.clone(), (left, 10), title))
        .map_err(failed)?;
    let grey = TextStyle::from((FONT, LABEL_SIZE).into_font()).color(&TEXT_GREY);
    let mut y = px(LINE_PX) + 16;
    for line in &chart.subtitle {
        area.draw(&Text::new(line.clone(), (left, y), grey.clone()))
            .map_err(failed)?;
        y += px(LINE_PX);
    }
    y += 6;
    let text =
        TextStyle::from((FONT, LABEL_SIZE).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (name, swatch) in legend {
        let mid = y + px(LINE_PX) / 2;
        match swatch {
            Swatch::Bar(c) => area
                .draw(&Rectangle::new(
                    [(left, mid - 6), (left + 24, mid + 6)],
                    c.filled(),
                ))
                .map_err(failed)?,
            Swatch::Line(c, dashed) => {
                let style = c.stroke_width(2);
                let pieces: &[(i32, i32)] = if *dashed {
                    &[(0, 6), (9, 15), (18, 24)]
                } else {
                    &[(0, 24)]
                };
                for &(a, b) in pieces {
                    area.draw(&PathElement::new(
                        vec![(left + a, mid), (left + b, mid)],
                        style,
                    ))
                    .map_err(failed)?;
                }
            }
        }
        area.draw(&Text::new(name.clone(), (left + 32, mid), text.clone()))
            .map_err(failed)?;
        y += px(LINE_PX);
    }
    Ok(())
}

/// `v` to three significant digits, without trailing zeros.
fn sig3(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor();
    let decimals = (2.0 - magnitude).clamp(0.0, 12.0);
    // In 0..=12 after the clamp, so the cast loses nothing.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let s = format!("{v:.*}", decimals as usize);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// An axis tick: `1.5k`, `2M`, `0.25`.
fn short(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{}M", sig3(v / 1e6))
    } else if v.abs() >= 1e3 {
        format!("{}k", sig3(v / 1e3))
    } else {
        sig3(v)
    }
}

/// A bar's value as written beside it.
fn value_text(v: f64, unit: Unit) -> String {
    match unit {
        // Rates are positive and far below 2^53; rounding is the point.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Unit::Rate => thousands(v.round().max(0.0) as u64),
        Unit::Millis => format!("{} ms", sig3(v)),
    }
}

fn bars(area: &Area<'_>, b: &Bars) -> anyhow::Result<()> {
    let rows = b.rows.len();
    let longest = b.rows.iter().map(|r| r.chars().count()).max().unwrap_or(0);
    let max = b
        .series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let max = if max > 0.0 { max * 1.02 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .margin_right(90)
        .x_label_area_size(44)
        .y_label_area_size(as_u32(longest) * CHAR_PX + 16)
        .build_cartesian_2d(0.0..max, 0.0..rows as f64)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(6)
        .x_desc(b.axis.as_str())
        .x_label_formatter(&|v| short(*v))
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, LABEL_SIZE))
        .draw()
        .map_err(failed)?;
    let slot = 0.8 / b.series.len().max(1) as f64;
    // Row `i` (from the top) spans y from rows - i - 1 to rows - i.
    let top = |i: usize| (rows - i) as f64 - 0.1;
    let value_style =
        TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (j, (name, values)) in b.series.iter().enumerate() {
        let c = bar_colour(j, name);
        let bar = |i: usize| (top(i) - slot * (j + 1) as f64, top(i) - slot * j as f64);
        let measured = || {
            values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.filter(|v| v.is_finite()).map(|v| (i, v)))
        };
        chart
            .draw_series(measured().map(|(i, v)| {
                let (y0, y1) = bar(i);
                Rectangle::new([(0.0, y0 + slot * 0.08), (v, y1 - slot * 0.08)], c.filled())
            }))
            .map_err(failed)?;
        chart
            .draw_series(measured().map(|(i, v)| {
                let (y0, y1) = bar(i);
                EmptyElement::at((v, (y0 + y1) / 2.0))
                    + Text::new(value_text(v, b.unit), (4, 0), value_style.clone())
            }))
            .map_err(failed)?;
    }
    let row_style =
        TextStyle::from((FONT, LABEL_SIZE).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    chart
        .draw_series(b.rows.iter().enumerate().map(|(i, row)| {
            EmptyElement::at((0.0, top(i) - 0.4))
                + Text::new(row.clone(), (-8, 0), row_style.clone())
        }))
        .map_err(failed)?;
    Ok(())
}

/// The smallest and largest finite positive values of `values`.
fn span(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
        })
}

/// The whole decades around `lo..hi` (plotters labels a log axis from its first power
/// of ten: a range starting at 0.3 would have no label below 1).
fn decades((lo, hi): (f64, f64)) -> std::ops::Range<f64> {
    10f64.powf(lo.log10().floor())..10f64.powf(hi.log10().ceil().max(lo.log10().floor() + 1.0))
}

fn lines(area: &Area<'_>, l: &Lines) -> anyhow::Result<()> {
    let points = || l.series.iter().flat_map(|s| s.points.iter());
    let y = decades(span(points().map(|p| p.1)).unwrap_or((1.0, 10.0)));
    match &l.x {
        Axis::Log(label) => {
            let marks = l.marks.iter().map(|m| m.0);
            let x = decades(span(points().map(|p| p.0).chain(marks)).unwrap_or((1.0, 10.0)));
            plot_lines(area, l, x.log_scale(), y, label, &|v| short(*v))
        }
        Axis::Nines => {
            let x1 = points().map(|p| p.0).fold(1.0, f64::max).ceil();
            plot_lines(area, l, 0.0..x1, y, "percentile", &|v| percentile(*v))
        }
    }
}

/// The label of a point on the percentile axis: `x = -log10(1 - q)`.
fn percentile(x: f64) -> String {
    let q = 1.0 - 10f64.powf(-x);
    let decimals = (x.ceil() - 2.0).clamp(0.0, 9.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let text = format!("p{:.*}", decimals as usize, 100.0 * q);
    text
}

fn plot_lines<X>(
    area: &Area<'_>,
    l: &Lines,
    x: X,
    y: std::ops::Range<f64>,
    x_desc: &str,
    x_format: &dyn Fn(&f64) -> String,
) -> anyhow::Result<()>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .margin_right(30)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y.clone().log_scale())
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(l.y.as_str())
        .x_label_formatter(x_format)
        .y_label_formatter(&|v| short(*v))
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, LABEL_SIZE))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(failed)?;
    for s in &l.series {
        let c = colour(s.color);
        let points = s.points.iter().copied();
        if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(points, 8, 5, c.stroke_width(2)))
                .map_err(failed)?;
        } else {
            chart
                .draw_series(LineSeries::new(points, c.stroke_width(2)))
                .map_err(failed)?;
        }
        chart
            .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, c.filled())))
            .map_err(failed)?;
    }
    let (y_lo, y_hi) = (y.start, y.end);
    let mark_style = TextStyle::from((FONT, 14).into_font()).color(&TEXT_GREY);
    for (k, (at, text)) in l.marks.iter().enumerate() {
        let dy = 20 * i32::try_from(k).unwrap_or(0) + 4;
        if at.is_finite() {
            chart
                .draw_series(DashedLineSeries::new(
                    [(*at, y_lo), (*at, y_hi)],
                    6,
                    4,
                    TEXT_GREY.stroke_width(1),
                ))
                .map_err(failed)?;
            chart
                .draw_series([EmptyElement::at((*at, y_hi))
                    + Text::new(text.clone(), (4, dy), mark_style.clone())])
                .map_err(failed)?;
        } else {
            // Nowhere to draw it: say so in the plot's corner.
            let x_lo = chart.x_range().start;
            chart
                .draw_series([EmptyElement::at((x_lo, y_hi))
                    + Text::new(text.clone(), (8, dy), mark_style.clone())])
                .map_err(failed)?;
        }
    }
    Ok(())
}
