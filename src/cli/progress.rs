//! A progress bar on stderr that appears only when stderr is a terminal and
//! the work has taken more than a second, so quick runs and pipes stay clean.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use entangle::jobs::{Observer, Stage};

const DELAY: Duration = Duration::from_secs(1);

pub struct Progress {
    bar: ProgressBar,
    start: Instant,
    shown: AtomicBool,
    counted: AtomicBool,
    unit: String,
    terminal: bool,
}

/// The bar's look: with a known total, a bar with rate and ETA.
fn style(counted: bool, unit: &str) -> Option<ProgressStyle> {
    let template = if counted {
        format!(
            "{{msg}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, eta {{eta}})"
        )
    } else {
        format!("{{msg}} {{human_pos}} {unit} ({{per_sec}})")
    };
    ProgressStyle::with_template(&template)
        .ok()
        .map(|s| s.progress_chars("=> "))
}

impl Progress {
    /// A bar for `total` steps (`None`: unknown) described by `message`.
    pub fn new(total: Option<u64>, message: &str, unit: &str) -> Self {
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
        if let Some(style) = style(total.is_some(), unit) {
            bar.set_style(style);
        }
        bar.set_message(message.to_string());
        Progress {
            bar,
            start: Instant::now(),
            shown: AtomicBool::new(false),
            counted: AtomicBool::new(total.is_some()),
            unit: unit.to_string(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Sets the position (and the total, when it becomes known).
    pub fn set(&self, position: u64, total: Option<u64>) {
        if let Some(total) = total {
            self.bar.set_length(total);
            if !self.counted.swap(true, Ordering::Relaxed)
                && let Some(style) = style(true, &self.unit)
            {
                self.bar.set_style(style);
            }
        }
        self.bar.set_position(position);
        if self.terminal && !self.shown.load(Ordering::Relaxed) && self.start.elapsed() > DELAY {
            self.shown.store(true, Ordering::Relaxed);
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A job's progress as one bar per stage.
#[derive(Default)]
pub struct Bars(Mutex<Option<(Stage, Progress)>>);

impl Observer for Bars {
    fn progress(&self, stage: Stage, done: u64, total: Option<u64>) {
        let mut current = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_none_or(|(s, _)| *s != stage) {
            if let Some((_, bar)) = current.take() {
                bar.finish();
            }
            *current = Some((stage, Progress::new(total, stage.message(), stage.unit())));
        }
        if let Some((_, bar)) = current.as_ref() {
            bar.set(done, total);
        }
    }

    fn finished(&self, stage: Stage) {
        let mut current = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_some_and(|(s, _)| *s == stage)
            && let Some((_, bar)) = current.take()
        {
            bar.finish();
        }
    }
}
