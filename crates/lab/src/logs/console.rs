//! The log on stderr as a person sees it: ANSI colours only on a terminal and only
//! without `NO_COLOR`, and progress bars cleared while a line is written (then drawn
//! again below it), so no frozen copy of a bar is left in the scrollback.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::sync::LazyLock;

use indicatif::{MultiProgress, ProgressBar};
use tracing_subscriber::fmt::MakeWriter;

/// Every progress bar the process draws on stderr. Its draw target is hidden when
/// stderr is not a terminal (indicatif's own check), so nothing is drawn into a file.
static BARS: LazyLock<MultiProgress> = LazyLock::new(MultiProgress::new);

/// Whether log lines on stderr get ANSI colours: only on a terminal, and never when
/// `NO_COLOR` is set to anything but the empty string (<https://no-color.org>).
pub(super) fn colour(stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

/// Draws `bar` on stderr below the log: a log line clears it, is written, and the bar
/// is drawn again under it. Returns the bar to update.
pub fn progress_bar(bar: ProgressBar) -> ProgressBar {
    BARS.add(bar)
}

/// Writes `buf` to the writer `open` gives, with `bars` cleared, then draws them again.
///
/// The writer is opened (stderr locked) inside the suspension: indicatif draws with the
/// bars' lock held and then takes stderr's, so locking stderr first and waiting for the
/// bars would deadlock with a bar being drawn.
fn write_above<W: Write>(
    bars: &MultiProgress,
    open: impl FnOnce() -> W,
    buf: &[u8],
) -> io::Result<()> {
    bars.suspend(|| {
        let mut out = open();
        out.write_all(buf)?;
        out.flush()
    })
}

/// The stderr writer of the log's `fmt` layer: each event (which the layer writes in
/// one call) goes above the progress bars of [`progress_bar`].
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Stderr;

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = Stderr;

    fn make_writer(&'a self) -> Stderr {
        Stderr
    }
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        write_above(&BARS, || io::stderr().lock(), buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, mpsc};
    use std::thread;
    use std::time::Duration;

    use indicatif::{ProgressDrawTarget, ProgressStyle};

    use super::super::screen::Screen;
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(
            colour(true, Some(OsStr::new(""))),
            "an empty NO_COLOR counts as unset"
        );
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(
            !colour(false, None),
            "a file or a pipe gets no escape codes"
        );
        assert!(!colour(false, Some(OsStr::new("1"))));
    }

    /// A screen with a bar at 3/10 on it, then two log lines written by `write` while
    /// the bar moves on.
    fn screen_after_two_lines(
        write: impl Fn(&MultiProgress, &mut Screen, &[u8]) -> io::Result<()>,
    ) -> Vec<String> {
        let mut screen = Screen::new(40);
        let bars = MultiProgress::with_draw_target(ProgressDrawTarget::term_like(Box::new(
            screen.clone(),
        )));
        let bar = bars.add(ProgressBar::new(10));
        bar.set_style(ProgressStyle::with_template("{pos}/{len} prompts").unwrap());
        bar.set_position(3);
        write(&bars, &mut screen, b"INFO first line\n").unwrap();
        bar.set_position(4);
        write(&bars, &mut screen, b"INFO second line\n").unwrap();
        bar.set_position(5);
        std::thread::sleep(Duration::from_millis(10));
        bar.tick();
        screen.text()
    }

    #[test]
    fn a_log_line_goes_above_the_bar_and_leaves_no_copy_of_it() {
        let screen = screen_after_two_lines(|bars, out, buf| write_above(bars, || out, buf));
        assert_eq!(
            screen,
            ["INFO first line", "INFO second line", "5/10 prompts"]
        );
    }

    #[test]
    fn lines_written_while_the_bar_moves_never_deadlock() {
        // The writer holds the terminal's lock as stderr's writer does, while another
        // thread moves the bar, which draws on that terminal.
        let screen = Screen::new(40);
        let bars = Arc::new(MultiProgress::with_draw_target(
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
        ));
        let bar = bars.add(ProgressBar::new(1_000));
        let (done, finished) = mpsc::channel();
        let mover = {
            let (bar, done) = (bar.clone(), done.clone());
            thread::spawn(move || {
                for _ in 0..1_000 {
                    bar.inc(1);
                }
                let _ = done.send(());
            })
        };
        let writer = thread::spawn(move || {
            for _ in 0..1_000 {
                write_above(&bars, || screen.lock(), b"INFO a line\n").unwrap();
            }
            let _ = done.send(());
        });
        for _ in 0..2 {
            let ended = finished.recv_timeout(Duration::from_secs(20));
            assert!(
                ended.is_ok(),
                "deadlocked: the bar and the log wait on each other"
            );
        }
        mover.join().unwrap();
        writer.join().unwrap();
    }

    #[test]
    fn a_line_written_past_the_bar_leaves_a_frozen_copy() {
        // The same lines written straight to the terminal, as the log did before: each
        // leaves the bar's frame of the moment in the scrollback.
        let screen = screen_after_two_lines(|_, out, buf| out.write_all(buf));
        assert_eq!(
            screen,
            [
                "3/10 prompts",
                "INFO first line",
                "4/10 prompts",
                "INFO second line",
                "5/10 prompts"
            ]
        );
    }
}
