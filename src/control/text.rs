//! [`Status`] as a person reads it: `ossd status` ([`render`]) and the
//! screen of `ossd top` ([`screen`]). Pure: a snapshot in, text out; ASCII
//! only (free text goes through sndstat's `sanitize`), so it shows the same
//! in any terminal and over ssh.

use std::fmt::Write as _;

use super::{ClientStatus, DeviceStatus, Status};
use crate::oss::sndstat::sanitize;

fn device_line(role: &str, d: &DeviceStatus) -> String {
    let what = if role == "capture" {
        "overruns"
    } else {
        "underruns"
    };
    let mut s = format!(
        "{role:<8} {} {} {} Hz {} ch, period {} frames, buffer {} frames, latency {:.1} ms, {} {what}",
        sanitize(&d.name),
        d.format,
        d.rate,
        d.channels,
        d.period_frames,
        d.buffer_frames,
        d.latency_ms,
        d.xruns,
    );
    if let Some(m) = &d.missing {
        let _ = write!(s, " (missing: {})", sanitize(m));
    }
    s
}

fn level(v: [u8; 2]) -> String {
    format!("{}:{}", v[0], v[1])
}

/// A peak as dBFS text, or "-" when not measured, "-inf" for silence.
pub fn peak_db(p: Option<f64>) -> String {
    match p {
        None => "-".into(),
        Some(p) if p <= 0.0 => "-inf".into(),
        Some(p) => format!("{:.1}", 20.0 * p.log10()),
    }
}

fn who(c: &ClientStatus) -> String {
    let mut s = sanitize(&c.command);
    if !c.name.is_empty() {
        let _ = write!(s, " \"{}\"", sanitize(&c.name));
    }
    s
}

/// The text of `ossd status`.
pub fn render(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "ossd {}", sanitize(&s.version));
    let _ = writeln!(out, "{}", device_line("playback", &s.output));
    if let Some(c) = &s.capture {
        let _ = writeln!(out, "{}", device_line("capture", c));
    }
    let _ = writeln!(
        out,
        "mixer    volume {}, pcm {}",
        level(s.mixer.volume),
        level(s.mixer.pcm)
    );
    let _ = writeln!(out, "clients  {} open", s.clients.len());
    for c in &s.clients {
        let _ = writeln!(
            out,
            "  fh {} pid {} ({}) {} {}: {} {} Hz {} ch, {} x {} B fragments, queued {:.1} ms, \
             volume {}{}, peak {} dBFS, {} underruns, {} overruns, {} B written, {} B read, \
             open {:.1} s",
            c.fh,
            c.pid,
            who(c),
            sanitize(&c.node),
            c.direction,
            c.format,
            c.rate,
            c.channels,
            c.frags,
            c.frag_size,
            c.queued_ms,
            level(c.volume),
            if c.muted { " (muted)" } else { "" },
            peak_db(c.peak),
            c.underruns,
            c.overruns,
            c.bytes_written,
            c.bytes_read,
            c.open_s,
        );
    }
    let t = &s.totals;
    let _ = writeln!(
        out,
        "totals   {} clients served, {} device underruns, {} frames skipped, {} frames on a \
         stand-in",
        t.clients_served, t.device_underruns, t.skipped_frames, t.standin_frames
    );
    out
}

/// A peak meter `width` characters wide: `#` up to the peak on a 60 dB
/// scale, `.` after it.
pub fn meter(peak: Option<f64>, width: usize) -> String {
    let db = match peak {
        Some(p) if p > 0.0 => 20.0 * p.log10(),
        _ => -60.0,
    };
    let n = (((db + 60.0) / 60.0).clamp(0.0, 1.0) * width as f64).round() as usize;
    let mut s = "#".repeat(n);
    s.push_str(&".".repeat(width - n));
    s
}

fn cut(s: &str, w: usize) -> String {
    s.chars().take(w).collect()
}

/// The screen of `ossd top`: `height` lines at most, each at most `width`
/// characters.
pub fn screen(s: &Status, width: usize, height: usize) -> Vec<String> {
    let width = width.max(40);
    let mut lines = vec![
        format!(
            "ossd {} - {} clients - q quits",
            sanitize(&s.version),
            s.clients.len()
        ),
        // The device's name first and its xruns next: a long name cuts
        // the rest, not those.
        format!(
            "out {}{}  xruns {}  {} {}Hz {}ch  period {}/{}  latency {:.1} ms",
            sanitize(&s.output.name),
            if s.output.missing.is_some() {
                " (MISSING)"
            } else {
                ""
            },
            s.output.xruns,
            s.output.format,
            s.output.rate,
            s.output.channels,
            s.output.period_frames,
            s.output.buffer_frames,
            s.output.latency_ms,
        ),
        format!(
            "master {}  pcm {}  served {}  skipped {} frames",
            level(s.mixer.volume),
            level(s.mixer.pcm),
            s.totals.clients_served,
            s.totals.skipped_frames
        ),
        String::new(),
        format!(
            "{:>3} {:>7} {:<10} {:<4} {:<13} {:>5} {:>7} {:>4} PEAK",
            "FH", "PID", "COMMAND", "DIR", "FORMAT", "QUEUE", "VOL", "XRUN"
        ),
    ];
    // What is left of the line after the fixed columns is the meter.
    let fixed = 3 + 1 + 7 + 1 + 10 + 1 + 4 + 1 + 13 + 1 + 5 + 1 + 7 + 1 + 4 + 1;
    let mw = width.saturating_sub(fixed + 6).max(4);
    for c in &s.clients {
        let vol = if c.muted {
            "muted".to_string()
        } else {
            level(c.volume)
        };
        let dir = match c.direction.as_str() {
            "record" => "rec",
            "duplex" => "both",
            d => d,
        };
        let fmt = format!("{}/{}/{}", c.format, c.rate / 1000, c.channels);
        lines.push(format!(
            "{:>3} {:>7} {:<10} {:<4} {:<13} {:>5.0} {:>7} {:>4} {} {:>5}",
            c.fh,
            c.pid,
            cut(&who(c), 10),
            cut(dir, 4),
            cut(&fmt, 13),
            c.queued_ms,
            vol,
            c.underruns + c.overruns,
            meter(c.peak, mw),
            cut(&peak_db(c.peak), 5),
        ));
    }
    if s.clients.is_empty() {
        lines.push("  (no clients)".into());
    }
    lines.truncate(height.max(1));
    lines.iter().map(|l| cut(l, width)).collect()
}

#[cfg(test)]
mod tests {
    use super::super::{MixerStatus, TotalsStatus};
    use super::*;

    pub(crate) fn example() -> Status {
        Status {
            version: "0.1.0".into(),
            output: DeviceStatus {
                name: "hw:Loopback,0,0".into(),
                format: "S16_LE".into(),
                rate: 48000,
                channels: 2,
                period_frames: 128,
                buffer_frames: 384,
                latency_ms: 5.3,
                xruns: 0,
                missing: None,
            },
            capture: None,
            mixer: MixerStatus {
                volume: [100, 100],
                pcm: [100, 100],
            },
            clients: vec![ClientStatus {
                fh: 1,
                pid: 1234,
                command: "mpg123".into(),
                name: String::new(),
                node: "dsp".into(),
                direction: "play".into(),
                format: "S16_LE".into(),
                rate: 44100,
                channels: 2,
                frag_size: 4096,
                frags: 4,
                queued_ms: 92.9,
                volume: [80, 80],
                muted: false,
                peak: Some(0.5),
                underruns: 0,
                overruns: 0,
                bytes_written: 1_764_000,
                bytes_read: 0,
                open_s: 10.0,
            }],
            totals: TotalsStatus {
                clients_served: 3,
                device_underruns: 0,
                standin_frames: 0,
                skipped_frames: 0,
            },
            meters: true,
        }
    }

    #[test]
    fn status_text_says_everything() {
        let t = render(&example());
        assert!(
            t.contains("playback hw:Loopback,0,0 S16_LE 48000 Hz 2 ch"),
            "{t}"
        );
        assert!(
            t.contains("fh 1 pid 1234 (mpg123) dsp play: S16_LE 44100 Hz 2 ch"),
            "{t}"
        );
        assert!(t.contains("volume 80:80, peak -6.0 dBFS"), "{t}");
        assert!(t.contains("1764000 B written"), "{t}");
        assert!(t.is_ascii());
    }

    #[test]
    fn the_top_screen_fits_80x24() {
        let mut s = example();
        for i in 0..40 {
            let mut c = s.clients[0].clone();
            c.fh = i + 2;
            c.command = "a-very-long-command-name\u{1b}[2J".into();
            c.peak = if i % 2 == 0 { None } else { Some(1.0) };
            s.clients.push(c);
        }
        let lines = screen(&s, 80, 24);
        assert_eq!(lines.len(), 24);
        for l in &lines {
            assert!(
                l.chars().count() <= 80 && l.is_ascii() && !l.contains('\u{1b}'),
                "{l}"
            );
        }
        assert!(lines[5].contains("mpg123"), "{}", lines[5]);
        assert!(lines[5].contains("###"), "{}", lines[5]);
        assert!(
            lines[1].starts_with("out hw:Loopback,0,0  xruns 0  S16_LE 48000Hz 2ch"),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn a_status_request_line_and_its_answer_line_round_trip() {
        use super::super::{parse_answer, parse_request, status_line, Request};
        let req = parse_request(br#"{"v":1,"cmd":"status","meters":true}"#).unwrap();
        assert_eq!(req, Request::Status { meters: true });
        let line = status_line(&example());
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let v = parse_answer(&line).unwrap();
        assert_eq!(v["v"], 1);
        let back: Status = serde_json::from_value(v["status"].clone()).unwrap();
        assert_eq!(back, example());
    }

    #[test]
    fn meters_scale_over_60_db() {
        assert_eq!(meter(None, 10), "..........");
        assert_eq!(meter(Some(0.0), 10), "..........");
        assert_eq!(meter(Some(1.0), 10), "##########");
        assert_eq!(meter(Some(0.001), 10), "#.........".replace('#', "."));
        assert_eq!(meter(Some(0.031_622_8), 10), "#####.....");
        assert_eq!(peak_db(Some(0.5)), "-6.0");
        assert_eq!(peak_db(Some(0.0)), "-inf");
    }
}
