//! `ossd top`: the status, live, with per-client peak meters, drawn with
//! crossterm (an alternate screen in raw mode, restored on the way out).
//! The screen's text is `ossd::control::text::screen`'s; this file only
//! asks, draws and reads keys. It quits on q, Esc or Ctrl-C.

use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::{cursor, execute, queue, style, terminal};

use ossd::control::text::screen;
use ossd::daemon::control::Client;

use crate::client::fetch;

/// Restores the terminal however `top` ends.
struct Screen;

impl Screen {
    fn enter() -> Result<Screen, String> {
        terminal::enable_raw_mode().map_err(|e| format!("not a terminal? {e}"))?;
        let s = Screen;
        execute!(io::stdout(), terminal::EnterAlternateScreen, cursor::Hide)
            .map_err(|e| e.to_string())?;
        Ok(s)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = execute!(io::stdout(), cursor::Show, terminal::LeaveAlternateScreen);
        let _ = terminal::disable_raw_mode();
    }
}

pub fn run(path: &Path, hz: u32, frames: Option<u32>) -> Result<(), String> {
    let period = Duration::from_secs_f64(1.0 / f64::from(hz.clamp(1, 50)));
    let mut c = Client::connect(path)?;
    if let Some(n) = frames {
        // Plain text, screen after screen: for scripts.
        for _ in 0..n {
            let (s, _) = fetch(&mut c, true)?;
            for l in screen(&s, 80, 24) {
                println!("{l}");
            }
            println!();
            std::thread::sleep(period);
        }
        return Ok(());
    }
    let _screen = Screen::enter()?;
    let mut out = io::stdout();
    loop {
        let t = Instant::now();
        let (s, _) = fetch(&mut c, true)?;
        let (w, h) = terminal::size().unwrap_or((80, 24));
        queue!(out, terminal::Clear(terminal::ClearType::All)).map_err(|e| e.to_string())?;
        for (i, l) in screen(&s, w as usize, h as usize).iter().enumerate() {
            queue!(out, cursor::MoveTo(0, i as u16), style::Print(l)).map_err(|e| e.to_string())?;
        }
        out.flush().map_err(|e| e.to_string())?;
        // Keys until the next refresh.
        while let Some(left) = period.checked_sub(t.elapsed()) {
            if !event::poll(left).map_err(|e| e.to_string())? {
                break;
            }
            if let Event::Key(k) = event::read().map_err(|e| e.to_string())? {
                let ctrl_c =
                    k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                if k.kind == KeyEventKind::Press
                    && (ctrl_c || matches!(k.code, KeyCode::Char('q') | KeyCode::Esc))
                {
                    return Ok(());
                }
            }
        }
    }
}
