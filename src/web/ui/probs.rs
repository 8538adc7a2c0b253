//! The class probabilities of the model's input as horizontal bars (plotters) named by class, the
//! top class in the accent colour: every class when there are up to ten, else the ten likeliest.
//! The same figures as a list for screen readers and tests.

use super::lang::{t, tf};
use super::state::AppState;
use leptos::html::Canvas;
use leptos::prelude::*;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;

const BAR: RGBColor = RGBColor(138, 168, 230);
const TOP: RGBColor = RGBColor(0, 114, 178);
/// Most bars drawn.
const SHOWN: usize = 10;

/// The classes to draw, in label order up to [`SHOWN`] classes, else the likeliest first.
fn shown(probs: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..probs.len()).collect();
    if probs.len() > SHOWN {
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        order.truncate(SHOWN);
    }
    order
}

/// A name cut to `chars` characters, with an ellipsis when cut.
fn short(name: &str, chars: usize) -> String {
    if name.chars().count() > chars { format!("{}…", name.chars().take(chars - 1).collect::<String>()) } else { name.to_string() }
}

fn draw(canvas: &web_sys::HtmlCanvasElement, probs: &[f32], names: &[String]) -> Result<(), String> {
    let backend = CanvasBackend::with_canvas_object(canvas.clone()).ok_or("no 2d context")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let rows = shown(probs);
    let top = crate::engine::loss::argmax(probs);
    let n = rows.len().max(1) as i32;
    let longest = rows.iter().map(|&c| names.get(c).map_or(2, |s| s.chars().count().min(12))).max().unwrap_or(2);
    let mut chart = ChartBuilder::on(&root)
        .margin(6)
        .x_label_area_size(18)
        .y_label_area_size(10 + 7 * longest as u32)
        .build_cartesian_2d(0.0f32..100.0f32, (0i32..n - 1).into_segmented())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len())
        .y_label_formatter(&|y| match y {
            // Row 0 at the top: the first class (or the likeliest) reads first.
            SegmentValue::CenterOf(r) => rows.get((n - 1 - r) as usize).and_then(|&c| names.get(c)).map(|s| short(s, 12)).unwrap_or_default(),
            _ => String::new(),
        })
        .x_labels(5)
        .x_label_formatter(&|x| format!("{x:.0}%"))
        .label_style(("sans-serif", 11))
        .light_line_style(RGBColor(238, 240, 245))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(rows.iter().enumerate().map(|(r, &c)| {
            let colour = if c == top { TOP } else { BAR };
            let y = n - 1 - r as i32;
            let mut bar = Rectangle::new([(0.0, SegmentValue::Exact(y)), (probs[c] * 100.0, SegmentValue::Exact(y + 1))], colour.filled());
            bar.set_margin(2, 2, 0, 0);
            bar
        }))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// The bar chart and its list of figures (one item per class).
#[component]
pub fn ProbabilityBars(state: AppState) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let names = Memo::new(move |_| state.spec.with(|s| s.class_names()));
    Effect::new(move |_| {
        let names = names.get();
        let probs = state.prediction.get().filter(|p| p.len() == names.len()).unwrap_or_else(|| vec![0.0; names.len()]);
        if let Some(c) = canvas.get() {
            let _ = draw(&c, &probs, &names);
        }
    });
    let top = move || state.prediction.get().map(|p| crate::engine::loss::argmax(&p));
    view! {
        <canvas class="probs-chart" node_ref=canvas width="320" height="170" aria-hidden="true" data-testid="probs-chart"></canvas>
        <ol class="probs sr-only" start="0" data-testid="probabilities" aria-label=move || t("draw.probabilities")>
            {move || names.get().into_iter().enumerate().map(|(d, name)| {
                let p = move || state.prediction.get().and_then(|p| p.get(d).copied()).unwrap_or(0.0);
                view! {
                    <li class:top=move || top() == Some(d) data-testid=format!("prob-{d}") data-prob=move || format!("{:.4}", p())>
                        {move || tf("draw.probability_of", &[&name, &format!("{:.1}", p() * 100.0)])}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}
