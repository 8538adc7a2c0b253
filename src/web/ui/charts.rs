//! Training charts drawn with `plotters` on canvases: loss and accuracy per step (raw and
//! smoothed) with the test/validation figures per epoch, and the learning-rate schedule with
//! the current step. Redraws are coalesced to one per animation frame.

use super::lang::{lang, t, tf};
use super::state::AppState;
use crate::engine::optim::lr_at;
use leptos::html::Canvas;
use leptos::prelude::*;
use super::chart_canvas::MeasuredCanvas;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use crate::web::js::now_ms;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// One line (or set of dots) on a chart.
struct Series {
    name: String,
    color: RGBColor,
    points: Vec<(f64, f64)>,
    dots: bool,
    width: u32,
}

// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
const BLUE: RGBColor = RGBColor(0, 114, 178);
const ORANGE: RGBColor = RGBColor(230, 159, 0);
const GREY: RGBColor = RGBColor(170, 185, 205);
const GREEN: RGBColor = RGBColor(0, 158, 115);
const VERMILLION: RGBColor = RGBColor(213, 94, 0);
/// Earlier runs on the charts (Okabe–Ito reddish purple, sky blue, black; a darkened yellow and a brown).
const RUN_COLORS: [RGBColor; 5] = [RGBColor(204, 121, 167), RGBColor(86, 180, 233), RGBColor(0, 0, 0), RGBColor(181, 161, 0), RGBColor(120, 80, 60)];

/// Where a chart's legend goes: away from where its curves end up.
#[derive(Clone, Copy)]
enum Legend {
    /// Falling curves (loss).
    UpperRight,
    /// Rising curves (accuracy).
    LowerRight,
    /// Learning-rate schedules: they start high after a short warm-up and decay to the right.
    LowerLeft,
}

/// Decimals that tell ticks apart over a span (ten ticks); `None` means use an exponent.
fn tick_decimals(span: f64) -> Option<usize> {
    let d = (-(span / 10.0).log10()).ceil().max(0.0);
    (d <= 4.0).then_some(d as usize)
}

/// How a chart's y axis is drawn.
#[derive(Clone, Copy, PartialEq)]
enum Scale {
    Linear,
    /// log₁₀ of the values, ticks labelled with the values themselves; points ≤ 0 are left out.
    Log,
}

/// `10^y` with about three significant digits, for the ticks of a log axis.
fn log_tick(y: f64) -> String {
    let v = 10f64.powf(y);
    let decimals = (2.0 - v.log10().floor()).clamp(0.0, 6.0) as usize;
    format!("{v:.decimals$}")
}

fn draw(canvas: &web_sys::HtmlCanvasElement, y_desc: &str, series: &[Series], y_min: Option<f64>, legend: Legend, scale: Scale) -> Result<(), String> {
    let logged: Vec<Series>;
    let (series, y_min) = if scale == Scale::Log {
        logged = series
            .iter()
            .map(|s| Series {
                name: s.name.clone(),
                color: s.color,
                points: s.points.iter().filter(|p| p.1 > 0.0).map(|&(x, y)| (x, y.log10())).collect(),
                dots: s.dots,
                width: s.width,
            })
            .collect();
        (&logged[..], None)
    } else {
        (series, y_min)
    };
    let backend = MeasuredCanvas::new(canvas).ok_or("no 2d context")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let all = series.iter().flat_map(|s| s.points.iter());
    let (mut x_max, mut y_lo, mut y_hi) = (10.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in all {
        if y.is_finite() {
            x_max = x_max.max(x);
            y_lo = y_lo.min(y);
            y_hi = y_hi.max(y);
        }
    }
    if !y_lo.is_finite() {
        (y_lo, y_hi) = (0.0, 1.0);
    }
    if let Some(m) = y_min {
        y_lo = y_lo.min(m);
    }
    let pad = ((y_hi - y_lo) * 0.05).max(1e-6);
    let mut chart = ChartBuilder::on(&root)
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..x_max * 1.02, (y_lo - pad).max(if y_min.is_some() { y_lo } else { f64::MIN })..y_hi + pad)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(5)
        .x_desc(t("chart.step"))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| match tick_decimals(y_hi - y_lo) {
            _ if scale == Scale::Log => log_tick(*y),
            _ if *y == 0.0 => "0".into(),
            Some(d) => format!("{y:.d$}"),
            None => format!("{y:.1e}"),
        })
        .y_desc(y_desc)
        .label_style(("sans-serif", 12))
        .light_line_style(RGBColor(238, 240, 245))
        .draw()
        .map_err(|e| e.to_string())?;
    for s in series {
        let style = ShapeStyle { color: s.color.to_rgba(), filled: true, stroke_width: s.width };
        if s.dots {
            chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 4, style))).map_err(|e| e.to_string())?;
        } else {
            chart.draw_series(LineSeries::new(s.points.iter().copied(), style)).map_err(|e| e.to_string())?;
        }
    }
    let entries: Vec<(&str, RGBColor)> = series.iter().map(|s| (s.name.as_str(), s.color)).collect();
    draw_legend(&chart.plotting_area().strip_coord_spec(), &entries, legend).map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// The legend in a corner of the plotting area, laid out like plotters' series labels (a 10 px
/// margin, 30 px for each sample line, lines 1.25 font sizes apart). Drawn here because plotters'
/// own measures its labels through the page (see [`MeasuredCanvas`]); this one asks the canvas.
fn draw_legend(area: &DrawingArea<MeasuredCanvas, Shift>, entries: &[(&str, RGBColor)], corner: Legend) -> Result<(), DrawingAreaErrorKind<<MeasuredCanvas as DrawingBackend>::ErrorType>> {
    const MARGIN: i32 = 10;
    const SAMPLE: i32 = 30;
    const LINE: i32 = 15;
    if entries.is_empty() {
        return Ok(());
    }
    let font: TextStyle = ("sans-serif", 12).into_font().into();
    let mut sizes = Vec::with_capacity(entries.len());
    for (name, _) in entries {
        sizes.push(area.estimate_text_size(name, &font)?);
    }
    let text_w = sizes.iter().map(|s| s.0 as i32).max().unwrap_or(0);
    let text_h = (entries.len() as i32 - 1) * LINE + sizes.last().map_or(0, |s| s.1 as i32);
    let (w, h) = (text_w + SAMPLE + 2 * MARGIN, text_h + 2 * MARGIN);
    let (area_w, area_h) = area.dim_in_pixel();
    let x = match corner {
        Legend::UpperRight | Legend::LowerRight => area_w as i32 - w - 5,
        Legend::LowerLeft => 5,
    };
    let y = match corner {
        Legend::UpperRight => 5,
        Legend::LowerRight | Legend::LowerLeft => area_h as i32 - h - 5,
    };
    area.draw(&Rectangle::new([(x, y), (x + w, y + h)], WHITE.mix(0.85).filled()))?;
    area.draw(&Rectangle::new([(x, y), (x + w, y + h)], RGBColor(220, 224, 232)))?;
    for (i, ((name, color), size)) in entries.iter().zip(&sizes).enumerate() {
        let top = y + MARGIN + i as i32 * LINE;
        area.draw(&Text::new(*name, (x + MARGIN + SAMPLE, top), font.clone()))?;
        let mid = top + size.1 as i32 / 2;
        let sample = ShapeStyle { color: color.to_rgba(), filled: true, stroke_width: 3 };
        area.draw(&PathElement::new(vec![(x + MARGIN, mid), (x + MARGIN + 16, mid)], sample))?;
    }
    Ok(())
}

/// Smoothing weight of a new chart (TensorBoard's default).
const DEFAULT_SMOOTHING: f64 = 0.6;

/// Least time between two redraws of the charts: while training, progress arrives ~8 times a
/// second and redrawing three plotters charts each time took CPU from the engine's threads.
/// Measured in headless Chromium (CDP main-thread task time while training): 29 % of a core at
/// 300 ms, 17 % with no redraws; a redraw costs ~35 ms, which on 2 cores comes out of training.
const MIN_REDRAW_MS: f64 = 500.0;

/// At most this many points of a line are drawn (two per pixel column of the 560 px canvas).
const MAX_LINE_POINTS: usize = 1120;

/// Runs the latest drawing scheduled, on an animation frame, at most every [`MIN_REDRAW_MS`].
#[derive(Clone, Default)]
struct Throttle {
    latest: Rc<RefCell<Option<Box<dyn FnOnce()>>>>,
    scheduled: Rc<Cell<bool>>,
    last: Rc<Cell<f64>>,
}

impl Throttle {
    fn run(&self, f: impl FnOnce() + 'static) {
        *self.latest.borrow_mut() = Some(Box::new(f));
        if self.scheduled.replace(true) {
            return; // the scheduled frame will draw this newer state
        }
        let Some(window) = web_sys::window() else { return };
        let this = self.clone();
        let frame = Closure::once_into_js(move || {
            this.scheduled.set(false);
            this.last.set(now_ms());
            let f = this.latest.borrow_mut().take();
            if let Some(f) = f {
                f();
            }
        });
        let wait = (self.last.get() + MIN_REDRAW_MS - now_ms()).max(0.0);
        let on_time = Closure::once_into_js(move || {
            if let Some(w) = web_sys::window() {
                let _ = w.request_animation_frame(frame.unchecked_ref());
            }
        });
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(on_time.unchecked_ref(), wait as i32);
    }
}

/// Every k-th point (and the last) so that at most [`MAX_LINE_POINTS`] remain.
fn thin(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if points.len() <= MAX_LINE_POINTS {
        return points;
    }
    let k = points.len().div_ceil(MAX_LINE_POINTS);
    let last = points.last().copied();
    let mut out: Vec<(f64, f64)> = points.into_iter().step_by(k).collect();
    if out.last().copied() != last {
        out.extend(last);
    }
    out
}

/// `text` cut to a legend's width, with an ellipsis when cut.
fn short(text: &str) -> String {
    const MAX: usize = 28;
    if text.chars().count() <= MAX { text.to_string() } else { text.chars().take(MAX - 1).chain(['…']).collect() }
}

/// The three charts with their text alternatives.
#[component]
pub fn Charts(state: AppState) -> impl IntoView {
    let loss_ref = NodeRef::<Canvas>::new();
    let acc_ref = NodeRef::<Canvas>::new();
    let lr_ref = NodeRef::<Canvas>::new();
    let throttle = Throttle::default();
    let redraws = RwSignal::new(0u64);
    let smoothing = RwSignal::new(DEFAULT_SMOOTHING);
    let log_loss = RwSignal::new(false);
    Effect::new(move |_| {
        let weight = smoothing.get();
        let loss_scale = if log_loss.get() { Scale::Log } else { Scale::Linear };
        let smooth = move |points: &[(f64, f64)]| crate::engine::smoothing::smooth(points, weight);
        // Track everything the charts show.
        let curve = state.curve.get();
        let evals = state.evals.get();
        let validations = state.validations.get();
        let spec = state.spec.get();
        let progress = state.progress.get();
        lang(); // the axis and legend texts follow a language switch
        // A finished run is both current and in the history: drawn once.
        // Each overlaid run is named by what differs from the current spec (the legend of a
        // comparison: "run 2: optimizer adam").
        let runs: Vec<(String, Vec<(f64, f64)>, Vec<(f64, f64)>)> = state.runs.get().into_iter().filter(|r| r.shown && r.curve != curve)
            .map(|r| {
                let diff = crate::engine::spec::diff::spec_diff(&r.spec, &spec);
                let name = if diff.is_empty() { tf("chart.run", &[&r.id]) } else { tf("chart.run_diff", &[&r.id, &short(&super::runs::headline(&diff))]) };
                (name, r.curve.iter().map(|c| (c.0 as f64, c.1)).collect(), r.curve.iter().map(|c| (c.0 as f64, c.2 * 100.0)).collect())
            })
            .collect();
        let (Some(loss_c), Some(acc_c), Some(lr_c)) = (loss_ref.get(), acc_ref.get(), lr_ref.get()) else { return };
        throttle.run(move || {
            let spe = progress.as_ref().map_or(0, |p| p.steps_per_epoch) as f64;
            type Pick = fn(&crate::engine::train::EvalReport) -> f64;
            let at_epochs = |set: &[(usize, crate::engine::train::EvalReport)], f: Pick| -> Vec<(f64, f64)> {
                set.iter().map(|(epoch, r)| (*epoch as f64 * spe, f(r))).collect()
            };
            let eval_at = |f: Pick| at_epochs(&evals, f);
            let validation_at = |f: Pick| at_epochs(&validations, f);
            let loss: Vec<(f64, f64)> = curve.iter().map(|c| (c.0 as f64, c.1)).collect();
            let acc: Vec<(f64, f64)> = curve.iter().map(|c| (c.0 as f64, c.2 * 100.0)).collect();
            let overlay = |pick: fn(&(String, Vec<(f64, f64)>, Vec<(f64, f64)>)) -> &Vec<(f64, f64)>| -> Vec<Series> {
                runs.iter().enumerate().map(|(k, r)| Series {
                    name: r.0.clone(),
                    color: RUN_COLORS[k % RUN_COLORS.len()],
                    points: thin(smooth(pick(r))),
                    dots: false,
                    width: 1,
                }).collect()
            };
            let mut loss_series = overlay(|r| &r.1);
            loss_series.extend([
                Series { name: t("chart.raw").into(), color: GREY, points: thin(loss.clone()), dots: false, width: 1 },
                Series { name: t("chart.smoothed").into(), color: BLUE, points: thin(smooth(&loss)), dots: false, width: 2 },
                Series { name: t("chart.test").into(), color: ORANGE, points: eval_at(|r| r.loss), dots: true, width: 2 },
            ]);
            if !validations.is_empty() {
                loss_series.push(Series { name: t("chart.validation").into(), color: VERMILLION, points: validation_at(|r| r.loss), dots: true, width: 2 });
            }
            let _ = draw(&loss_c, t("chart.loss"), &loss_series, Some(0.0), Legend::UpperRight, loss_scale);
            let mut acc_series = overlay(|r| &r.2);
            acc_series.extend([
                Series { name: t("chart.raw").into(), color: GREY, points: thin(acc.clone()), dots: false, width: 1 },
                Series { name: t("chart.smoothed").into(), color: BLUE, points: thin(smooth(&acc)), dots: false, width: 2 },
                Series { name: t("chart.test").into(), color: ORANGE, points: eval_at(|r| r.accuracy * 100.0), dots: true, width: 2 },
            ]);
            if !validations.is_empty() {
                acc_series.push(Series { name: t("chart.validation").into(), color: VERMILLION, points: validation_at(|r| r.accuracy * 100.0), dots: true, width: 2 });
            }
            let _ = draw(&acc_c, t("chart.accuracy"), &acc_series, None, Legend::LowerRight, Scale::Linear);
            let steps_per_epoch = progress.as_ref().map_or_else(|| 60_000usize.div_ceil(spec.training.batch_size), |p| p.steps_per_epoch);
            let total = (steps_per_epoch * spec.training.epochs).max(1);
            let stride = total.div_ceil(300).max(1);
            let schedule: Vec<(f64, f64)> = (0..=total).step_by(stride).map(|s| (s as f64, lr_at(&spec.training, s as u64, steps_per_epoch) as f64)).collect();
            let now: Vec<(f64, f64)> = progress.iter().map(|p| (p.global_step as f64, p.lr as f64)).collect();
            let _ = draw(&lr_c, t("chart.lr"), &[
                Series { name: t("chart.schedule").into(), color: GREEN, points: schedule, dots: false, width: 2 },
                Series { name: t("chart.now").into(), color: ORANGE, points: now, dots: true, width: 2 },
            ], Some(0.0), Legend::LowerLeft, Scale::Linear);
            redraws.update(|r| *r += 1);
        });
    });
    let latest = move || {
        let c = state.curve.get();
        let last = c.last().map_or(t("chart.none").to_string(), |p| {
            tf("chart.latest", &[&p.0, &format!("{:.4}", p.1), &format!("{:.2}", p.2 * 100.0)])
        });
        let test = state.evals.get().last().map_or(String::new(), |(e, r)| {
            tf("chart.latest_test", &[e, &format!("{:.4}", r.loss), &format!("{:.2}", r.accuracy * 100.0)])
        });
        let validation = state.validations.get().last().map_or(String::new(), |(_, r)| {
            tf("chart.latest_validation", &[&format!("{:.4}", r.loss), &format!("{:.2}", r.accuracy * 100.0)])
        });
        format!("{last}{test}{validation}")
    };
    view! {
        <div class="charts">
            <div class="row chart-options">
                <label title=move || t("chart.smoothing_title")>{move || t("chart.smoothing")}" "
                    <input type="range" min="0" max="0.99" step="0.01" data-testid="chart-smoothing" prop:value=move || smoothing.get().to_string()
                        on:input=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<f64>() { smoothing.set(v) } } />
                    " "<output data-testid="chart-smoothing-value">{move || format!("{:.2}", smoothing.get())}</output>
                </label>
                <label><input type="checkbox" data-testid="chart-log-loss" prop:checked=move || log_loss.get()
                    on:change=move |ev| log_loss.set(event_target_checked(&ev)) />" "{move || t("chart.log_scale")}</label>
            </div>
            <canvas node_ref=loss_ref width="400" height="150" data-testid="chart-loss" role="img"
                    aria-label=move || tf("chart.loss_label", &[&latest()])></canvas>
            <canvas node_ref=acc_ref width="400" height="150" data-testid="chart-accuracy" role="img"
                    aria-label=move || tf("chart.accuracy_label", &[&latest()])></canvas>
            <canvas node_ref=lr_ref width="400" height="120" data-testid="chart-lr" role="img"
                    aria-label=move || tf("chart.lr_label", &[&state.progress.get().map_or("–".into(), |p| p.lr.to_string())])></canvas>
            <p class="hint" data-testid="chart-text" data-redraws=move || redraws.get().to_string()
               data-points=move || state.curve.with(Vec::len).to_string()>{latest}</p>
        </div>
    }
}
