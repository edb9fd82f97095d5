//! A terminal for tests: what indicatif's bars and the log leave on a screen, as its
//! lines (the scrollback included).

use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use indicatif::TermLike;

/// A terminal of a given width that keeps every line written (its scrollback
/// included), with a cursor that wraps past the last column as a real one does.
#[derive(Clone, Debug)]
pub struct Screen(Arc<Mutex<Cursor>>);

#[derive(Debug, Default)]
struct Cursor {
    width: usize,
    lines: Vec<Vec<char>>,
    row: usize,
    col: usize,
}

impl Screen {
    /// An empty screen `width` columns wide.
    pub fn new(width: usize) -> Screen {
        Screen(Arc::new(Mutex::new(Cursor {
            width,
            ..Cursor::default()
        })))
    }

    fn put(&self, text: &str) {
        self.0.lock().unwrap().put(text);
    }

    /// A writer holding the screen's lock until dropped, as `io::stderr().lock()` holds
    /// stderr's: the terminal cannot draw meanwhile.
    pub fn lock(&self) -> Locked<'_> {
        Locked(self.0.lock().unwrap())
    }

    /// The lines, trailing blanks trimmed.
    pub fn text(&self) -> Vec<String> {
        let c = self.0.lock().unwrap();
        let mut lines: Vec<String> = c
            .lines
            .iter()
            .map(|l| l.iter().collect::<String>().trim_end().to_owned())
            .collect();
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
    }
}

impl Cursor {
    fn put(&mut self, text: &str) {
        for ch in text.chars() {
            match ch {
                '\r' => self.col = 0,
                '\n' => (self.row, self.col) = (self.row + 1, 0),
                ch => {
                    if self.col >= self.width {
                        (self.row, self.col) = (self.row + 1, 0);
                    }
                    let (row, col) = (self.row, self.col);
                    if self.lines.len() <= row {
                        self.lines.resize(row + 1, Vec::new());
                    }
                    let line = &mut self.lines[row];
                    if line.len() <= col {
                        line.resize(col + 1, ' ');
                    }
                    line[col] = ch;
                    self.col += 1;
                }
            }
        }
    }
}

/// A [`Screen`] locked for writing.
pub struct Locked<'a>(MutexGuard<'a, Cursor>);

impl Write for Locked<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.put(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TermLike for Screen {
    fn width(&self) -> u16 {
        u16::try_from(self.0.lock().unwrap().width).unwrap_or(u16::MAX)
    }
    fn height(&self) -> u16 {
        24
    }
    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        let mut c = self.0.lock().unwrap();
        c.row = c.row.saturating_sub(n);
        Ok(())
    }
    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.0.lock().unwrap().row += n;
        Ok(())
    }
    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.0.lock().unwrap().col += n;
        Ok(())
    }
    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        let mut c = self.0.lock().unwrap();
        c.col = c.col.saturating_sub(n);
        Ok(())
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        self.put(s);
        self.put("\n");
        Ok(())
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        self.put(s);
        Ok(())
    }
    fn clear_line(&self) -> io::Result<()> {
        let mut c = self.0.lock().unwrap();
        let row = c.row;
        if let Some(line) = c.lines.get_mut(row) {
            line.clear();
        }
        c.col = 0;
        Ok(())
    }
    fn flush(&self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.put(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
