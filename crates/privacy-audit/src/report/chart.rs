//! Charts of the privacy budget spent over time, drawn as SVG with `plotters`.
//!
//! Text is laid out with plotters' built-in size estimate rather than a system font, so the SVG
//! is the same on every machine (fonts are chosen by the viewer) and the report stays
//! deterministic; the trade-off is approximate label spacing.

use plotters::prelude::*;
use time::OffsetDateTime;

use crate::error::AuditError;

/// One line of a chart: the cumulative amount (ε or δ) at each point in time (Unix seconds).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The legend entry.
    pub name: String,
    /// `(time, cumulative amount)`, in time order.
    pub points: Vec<(f64, f64)>,
}

const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(23, 190, 207),
];

fn chart_error(error: impl std::fmt::Display) -> AuditError {
    AuditError::Chart(error.to_string())
}

/// `YYYY-MM-DD HH:MM` of a Unix time.
fn date_label(seconds: f64) -> String {
    match OffsetDateTime::from_unix_timestamp(seconds.round() as i64) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => String::new(),
    }
}

/// A step chart of the cumulative amount `symbol` (`ε` or `δ`) for every series, with the
/// budget's total as a red line (none when `total` is 0).
pub fn budget_chart(
    title: &str,
    series: &[Series],
    total: f64,
    symbol: &str,
) -> Result<String, AuditError> {
    let times = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (mut x0, mut x1) = times.fold((f64::MAX, f64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if x1 - x0 < 60.0 {
        (x0, x1) = (x0 - 30.0, x1 + 30.0);
    }
    let pad = (x1 - x0) * 0.03;
    let (x0, x1) = (x0 - pad, x1 + pad);
    let top = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(total, f64::max);
    let top = if top > 0.0 { top * 1.08 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, 0f64..top)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .x_labels(4)
            .x_label_formatter(&|x| date_label(*x))
            .y_label_formatter(&|y| super::number(*y))
            .y_desc(format!("cumulative {symbol}"))
            .draw()
            .map_err(chart_error)?;
        if total > 0.0 {
            let limit = vec![(x0, total), (x1, total)];
            chart
                .draw_series(LineSeries::new(limit, RED.stroke_width(1)))
                .map_err(chart_error)?
                .label(format!("budget {symbol} = {}", super::number(total)))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
        }
        for (i, line) in series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            chart
                .draw_series(LineSeries::new(steps(&line.points, x1), colour.stroke_width(2)))
                .map_err(chart_error)?
                .label(line.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// The corners of a step function through `points`, held flat until `end`.
fn steps(points: &[(f64, f64)], end: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2 + 1);
    let mut level = 0.0;
    for &(t, y) in points {
        out.push((t, level));
        out.push((t, y));
        level = y;
    }
    out.push((end, level));
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use super::*;

    #[test]
    fn a_chart_is_deterministic_svg_with_escaped_labels() {
        let series = vec![
            Series {
                name: "ana <admin>".into(),
                points: vec![(1.7e9, 0.5), (1.7e9 + 3600.0, 0.8)],
            },
            Series { name: "bob".into(), points: vec![(1.7e9 + 60.0, 0.1)] },
        ];
        let first = budget_chart("adult & co", &series, 1.0, "ε").unwrap();
        let second = budget_chart("adult & co", &series, 1.0, "ε").unwrap();
        assert_eq!(first, second);
        assert!(first.starts_with("<svg") && first.contains("ana &lt;admin&gt;"));
        assert!(first.contains("2023-11-14"), "dates label the time axis");
        assert!(budget_chart("empty", &[], 1.0, "ε").unwrap().starts_with("<svg"));
        let delta = budget_chart("d", &series, 1e-5, "δ").unwrap();
        assert!(delta.contains("cumulative δ") && delta.contains("budget δ = 0.00001"), "{delta}");
    }
}
