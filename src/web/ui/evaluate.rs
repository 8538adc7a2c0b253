//! Evaluate on the test set: the confusion matrix as a plotters heatmap (counts in the cells,
//! colour = share of the true class, viridis), per-class accuracy bars, a gallery of the images
//! of any clicked cell and a gallery of the most confidently wrong test images.

use super::client::send;
use super::paint::{paint_image, sequential};
use super::state::{AppState, RunState};
use crate::engine::metrics::{Confusion, Example};
use crate::protocol::Request;
use leptos::html::Canvas;
use super::lang::{lang, t, tf};
use leptos::prelude::*;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use std::ops::Range;

/// Pixel ranges of the heatmap's plotting area (x, y), for mapping clicks to cells.
type Area = (Range<i32>, Range<i32>);

fn rgb([r, g, b]: [u8; 3]) -> RGBColor {
    RGBColor(r, g, b)
}

/// Draws the heatmap, outlining the keyboard's cell; returns its plotting area.
fn draw_matrix(canvas: &web_sys::HtmlCanvasElement, m: &Confusion, cursor: Option<(u8, u8)>, names: &[String]) -> Result<Area, String> {
    let root = CanvasBackend::with_canvas_object(canvas.clone()).ok_or("no 2d context")?.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let n = m.classes as i32;
    // Names beside the rows when they are words (not MNIST's digits) and few enough to read.
    let named = m.classes <= 12 && names.len() == m.classes && names.iter().enumerate().any(|(i, s)| *s != i.to_string());
    let mut chart = ChartBuilder::on(&root)
        .margin(8)
        .x_label_area_size(40)
        // Rows are named when the names fit ("3 cat"); columns by the names' first letters.
        .y_label_area_size(if named { 110 } else { 48 })
        .build_cartesian_2d(0..n, n..0)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(m.classes)
        .y_labels(m.classes)
        .x_label_offset(16)
        // Under each column its class's name, cut to what a column holds (the row says it in full).
        .x_label_formatter(&|v| match (named, names.get(*v as usize)) {
            (true, Some(name)) => name.chars().take(if m.classes <= 6 { 8 } else { 4 }).collect(),
            (true, None) => String::new(),
            (false, _) => v.to_string(),
        })
        .y_label_offset(-16)
        // With the axis reversed, the label at v sits on the lower edge of row v − 1 and the
        // offset lifts it into that row.
        .y_label_formatter(&|v| {
            let class = (v - 1).max(0) as usize;
            match names.get(class).filter(|_| named) {
                Some(name) => format!("{class} {}", name.chars().take(11).collect::<String>()),
                None => (v - 1).to_string(),
            }
        })
        .x_desc(t("eval.predicted_class"))
        .y_desc(t("eval.true_class"))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| e.to_string())?;
    for t in 0..m.classes {
        let row: u32 = (0..m.classes).map(|p| m.get(t, p)).sum();
        for p in 0..m.classes {
            let count = m.get(t, p);
            let rate = if row == 0 { 0.0 } else { count as f32 / row as f32 };
            // A square root spreads the small off-diagonal shares over the scale.
            let fill = rgb(sequential(rate.sqrt(), 0.0, 1.0));
            let (x, y) = (p as i32, t as i32);
            chart.draw_series(std::iter::once(Rectangle::new([(x, y), (x + 1, y + 1)], fill.filled()))).map_err(|e| e.to_string())?;
            // Counts are written in cells large enough to hold them (up to 20 classes).
            if count > 0 && m.classes <= 20 {
                let ink = if rate.sqrt() > 0.6 { BLACK } else { WHITE };
                let style = TextStyle::from(("sans-serif", 12).into_font()).color(&ink).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                ));
                let centre = chart.backend_coord(&(x, y));
                let (w, h) = (chart.backend_coord(&(x + 1, y + 1)).0 - centre.0, chart.backend_coord(&(x + 1, y + 1)).1 - centre.1);
                root.draw_text(&count.to_string(), &style, (centre.0 + w / 2, centre.1 + h / 2)).map_err(|e| e.to_string())?;
            }
        }
    }
    if let Some((t, p)) = cursor {
        let (x, y) = (p as i32, t as i32);
        let ring = ShapeStyle { color: RGBColor(245, 165, 36).to_rgba(), filled: false, stroke_width: 3 };
        chart.draw_series(std::iter::once(Rectangle::new([(x, y), (x + 1, y + 1)], ring))).map_err(|e| e.to_string())?;
    }
    let area = chart.plotting_area().get_pixel_range();
    root.present().map_err(|e| e.to_string())?;
    Ok(area)
}

/// Per-class accuracy bars.
fn draw_bars(canvas: &web_sys::HtmlCanvasElement, m: &Confusion) -> Result<(), String> {
    let root = CanvasBackend::with_canvas_object(canvas.clone()).ok_or("no 2d context")?.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let acc = m.per_class_accuracy();
    let lo = acc.iter().cloned().fold(1.0f64, f64::min).min(0.9) * 100.0;
    let mut chart = ChartBuilder::on(&root)
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d((0..m.classes as i32 - 1).into_segmented(), (lo - 2.0).max(0.0)..100.0)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(t("eval.class"))
        .y_desc(t("eval.accuracy"))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(acc.iter().enumerate().map(|(c, a)| {
            let x = SegmentValue::Exact(c as i32);
            let mut bar = Rectangle::new([(x, (lo - 2.0).max(0.0)), (SegmentValue::Exact(c as i32 + 1), a * 100.0)], RGBColor(0, 114, 178).filled());
            bar.set_margin(0, 0, 4, 4);
            bar
        }))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// The cell under a click, from the plotting area of the last draw.
fn cell_at(canvas: &web_sys::HtmlCanvasElement, ev: &web_sys::MouseEvent, area: &Area, classes: usize) -> Option<(u8, u8)> {
    let rect = canvas.get_bounding_client_rect();
    let x = (ev.client_x() as f64 - rect.left()) * canvas.width() as f64 / rect.width().max(1.0);
    let y = (ev.client_y() as f64 - rect.top()) * canvas.height() as f64 / rect.height().max(1.0);
    let (xs, ys) = area;
    let fx = (x - xs.start as f64) / (xs.end - xs.start) as f64;
    let fy = (y - ys.start as f64) / (ys.end - ys.start) as f64;
    if !(0.0..1.0).contains(&fx) || !(0.0..1.0).contains(&fy) {
        return None;
    }
    Some(((fy * classes as f64) as u8, (fx * classes as f64) as u8))
}

/// A row of test images with what the model predicted.
#[component]
fn Gallery(examples: Vec<Example>, testid: &'static str, names: Vec<String>) -> impl IntoView {
    let name = move |c: usize| names.get(c).cloned().unwrap_or_else(|| c.to_string());
    view! {
        <div class="gallery" data-testid=testid>
            {examples.into_iter().map(|e| {
                let canvas = NodeRef::<Canvas>::new();
                let pixels = e.pixels.clone();
                Effect::new(move |_| if let Some(c) = canvas.get() { paint_image(&c, &pixels) });
                let confidence = e.probs[e.predicted as usize] * 100.0;
                let mut ranked: Vec<(usize, f32)> = e.probs.iter().copied().enumerate().collect();
                ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
                let top3 = ranked.iter().take(3).map(|(c, p)| format!("{}: {:.1}%", name(*c), p * 100.0)).collect::<Vec<_>>().join(", ");
                let label = tf("eval.example", &[&e.index, &name(e.label as usize), &name(e.predicted as usize), &format!("{confidence:.1}"), &top3]);
                let title = label.clone();
                view! {
                    <figure class="example" data-testid="example" data-label=e.label data-predicted=e.predicted title=title>
                        <canvas node_ref=canvas width="28" height="28" role="img" aria-label=label></canvas>
                        <figcaption>{format!("{} → {} · {confidence:.0}%", e.label, e.predicted)}</figcaption>
                    </figure>
                }
            }).collect_view()}
        </div>
    }
}

/// The Evaluate card body.
#[component]
pub fn Evaluate(state: AppState) -> impl IntoView {
    let matrix = NodeRef::<Canvas>::new();
    let bars = NodeRef::<Canvas>::new();
    let area = RwSignal::new(None::<Area>);
    // The cell chosen with the arrow keys: (true, predicted).
    let cursor = RwSignal::new(None::<(u8, u8)>);
    Effect::new(move |_| {
        let analysis = state.analysis.get();
        lang(); // axis titles follow a language switch
        let (Some(m), Some(b), Some((confusion, _))) = (matrix.get(), bars.get(), analysis) else { return };
        area.set(draw_matrix(&m, &confusion, cursor.get(), &state.spec.with_untracked(|s| s.class_names())).ok());
        let _ = draw_bars(&b, &confusion);
    });
    let click = move |ev: web_sys::MouseEvent| {
        let (Some(c), Some(a), Some((confusion, _))) = (matrix.get(), area.get_untracked(), state.analysis.get_untracked()) else { return };
        if let Some((truth, predicted)) = cell_at(&c, &ev, &a, confusion.classes) {
            send(Request::Gallery { truth, predicted });
        }
    };
    let on_key = move |ev: web_sys::KeyboardEvent| {
        let Some((confusion, _)) = state.analysis.get_untracked() else { return };
        let last = confusion.classes.saturating_sub(1) as u8;
        let (t, p) = cursor.get_untracked().unwrap_or((0, 0));
        let next = match ev.key().as_str() {
            "ArrowUp" => (t.saturating_sub(1), p),
            "ArrowDown" => ((t + 1).min(last), p),
            "ArrowLeft" => (t, p.saturating_sub(1)),
            "ArrowRight" => (t, (p + 1).min(last)),
            "Enter" | " " => {
                ev.prevent_default();
                send(Request::Gallery { truth: t, predicted: p });
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        cursor.set(Some(next));
    };
    let cursor_text = move || {
        let (t, p) = cursor.get()?;
        let (m, _) = state.analysis.get()?;
        Some(tf("eval.cursor", &[&t, &p, &m.get(t as usize, p as usize)]))
    };
    let busy = move || state.model.get().is_none() || state.data_ready.get().is_none() || matches!(state.run.get(), RunState::Running | RunState::Pausing);
    let summary = move || {
        let (m, _) = state.analysis.get()?;
        let mut off: Vec<(u32, usize, usize)> = (0..m.classes).flat_map(|t| (0..m.classes).map(move |p| (t, p))).filter(|(t, p)| t != p)
            .map(|(t, p)| (m.get(t, p), t, p)).filter(|c| c.0 > 0).collect();
        off.sort_by(|a, b| b.0.cmp(&a.0));
        let top = off.iter().take(3).map(|(n, truth, p)| tf("eval.mistake", &[truth, p, n])).collect::<Vec<_>>().join(", ");
        let total: u32 = m.counts.iter().sum();
        let mistakes = if top.is_empty() { t("eval.none").to_string() } else { top };
        Some(tf("eval.summary", &[&format!("{:.2}", m.accuracy() * 100.0), &total, &mistakes]))
    };
    view! {
        <div class="row buttons">
            <button data-testid="analyse" prop:disabled=busy on:click=move |_| { state.gallery.set(None); send(Request::Analyse) }>{move || t("eval.analyse")}</button>
            <span class="hint">{move || t("eval.hint")}</span>
        </div>
        <Show when=move || state.analysis.get().is_some()>
            <p data-testid="analysis-summary">{summary}</p>
        </Show>
        <div class="evaluate" class:hidden=move || state.analysis.get().is_none()>
            <canvas node_ref=matrix width="440" height="440" data-testid="confusion" class="confusion" role="img" on:click=click
                    tabindex="0" on:keydown=on_key on:focus=move |_| if cursor.get_untracked().is_none() { cursor.set(Some((0, 0))) }
                    data-area=move || area.get().map(|(x, y)| format!("{} {} {} {}", x.start, x.end, y.start, y.end))
                    aria-label=move || tf("eval.matrix_label", &[&summary().unwrap_or_default()])></canvas>
            <canvas node_ref=bars width="440" height="240" data-testid="class-accuracy" role="img"
                    aria-label=move || state.analysis.get().map_or(String::new(), |(m, _)| tf("eval.per_class", &[
                        &m.per_class_accuracy().iter().enumerate().map(|(c, a)| format!("{c}: {:.1}%", a * 100.0)).collect::<Vec<_>>().join(", ")]))></canvas>
        </div>
        <p class="hint" aria-live="polite" data-testid="cell-cursor">{cursor_text}</p>
        {move || state.gallery.get().map(|(truth, predicted, examples)| {
            let count = state.analysis.get_untracked().map_or(0, |(m, _)| m.get(truth as usize, predicted as usize));
            view! {
                <h3 data-testid="gallery-title">{
                    let more = if count as usize > examples.len() { tf("eval.most_confident", &[&examples.len()]) } else { String::new() };
                    let name = |c: u8| state.spec.with_untracked(|s| s.class_names().get(c as usize).cloned()).unwrap_or_else(|| c.to_string());
                    format!("{}{more}", tf("eval.gallery", &[&name(truth), &name(predicted), &count]))
                }</h3>
                <Gallery examples=examples testid="cell-gallery" names=state.spec.with_untracked(|s| s.class_names()) />
            }
        })}
        {move || state.analysis.get().map(|(_, wrong)| view! {
            <h3>{move || t("eval.wrong")}</h3>
            <Gallery examples=wrong testid="wrong-gallery" names=state.spec.with_untracked(|s| s.class_names()) />
        })}
    }
}
