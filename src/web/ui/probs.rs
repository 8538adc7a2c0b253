//! The ten class probabilities of the drawing as a bar chart (plotters), the top class in the
//! accent colour, with the same figures as a list for screen readers and tests.

use super::lang::{t, tf};
use super::state::AppState;
use leptos::html::Canvas;
use leptos::prelude::*;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;

const BAR: RGBColor = RGBColor(138, 168, 230);
const TOP: RGBColor = RGBColor(0, 114, 178);

fn draw(canvas: &web_sys::HtmlCanvasElement, probs: &[f32]) -> Result<(), String> {
    let backend = CanvasBackend::with_canvas_object(canvas.clone()).ok_or("no 2d context")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let top = crate::engine::loss::argmax(probs);
    let mut chart = ChartBuilder::on(&root)
        .margin(6)
        .x_label_area_size(22)
        .y_label_area_size(44)
        .build_cartesian_2d((0i32..9i32).into_segmented(), 0.0f32..100.0f32)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(10)
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(c) if *c < 10 => c.to_string(),
            _ => String::new(),
        })
        .y_labels(5)
        .y_label_formatter(&|y| format!("{y:.0}%"))
        .label_style(("sans-serif", 12))
        .light_line_style(RGBColor(238, 240, 245))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(probs.iter().enumerate().map(|(c, p)| {
            let colour = if c == top { TOP } else { BAR };
            let mut bar = Rectangle::new([(SegmentValue::Exact(c as i32), 0.0), (SegmentValue::Exact(c as i32 + 1), p * 100.0)], colour.filled());
            bar.set_margin(0, 0, 3, 3);
            bar
        }))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// The bar chart and its list of figures.
#[component]
pub fn ProbabilityBars(state: AppState) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        let probs = state.prediction.get().unwrap_or_else(|| vec![0.0; 10]);
        if let Some(c) = canvas.get() {
            let _ = draw(&c, &probs);
        }
    });
    let top = move || state.prediction.get().map(|p| crate::engine::loss::argmax(&p));
    view! {
        <canvas class="probs-chart" node_ref=canvas width="320" height="150" aria-hidden="true" data-testid="probs-chart"></canvas>
        <ol class="probs sr-only" start="0" data-testid="probabilities" aria-label=move || t("draw.probabilities")>
            {(0..10).map(|d| {
                let p = move || state.prediction.get().map_or(0.0, |p| p[d]);
                view! {
                    <li class:top=move || top() == Some(d) data-testid=format!("prob-{d}") data-prob=move || format!("{:.4}", p())>
                        {move || tf("draw.probability_of", &[&d, &format!("{:.1}", p() * 100.0)])}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}
