#!/usr/bin/env python3
"""wavtool: make test tones and judge captured audio, for ossd's VM suite and demo.

Python 3 standard library only, so it runs on a fresh machine and inside the test VM.

  wavtool.py tone OUT.raw|OUT.wav --format u8|s16le|s32le --rate R --channels C
                  --freq F --seconds S [--amp A] [--phase DEG]
      A sine tone, raw (or WAV if OUT ends in .wav). It starts at a 90 degree phase
      offset by default (a cosine), so the first frame is non-zero (amp * full scale):
      loopback captures are aligned by stripping leading zero frames.
  wavtool.py analyze FILE.wav|FILE.raw [--format s16le --rate 48000 --channels 2]
      Prints JSON: the longest unbroken stretch of sound, its start, the frequency and
      RMS of each channel in it, the number of gaps, the peak. See analyze() for the
      definitions. --probe F1,F2 adds the Goertzel amplitude of those frequencies.
  wavtool.py check FILE --freq F --seconds S [--tol-freq 0.01] [--tol-len 0.05]
                  [--channel N] [--freq2 F2]
      Exits 0 (one "ok" line on stdout) if the longest stretch lasts S seconds
      (+-tol-len, relative), holds the tone F (+-tol-freq, relative) on every channel
      (or channel N) and has no dropout inside; else exits 1 with a one-line reason on
      stderr. With --freq2 the signal must be the sum of two tones: F and F2 both
      present, of comparable amplitude, each well above a frequency between them.
  wavtool.py bitexact PLAYED.raw CAPTURED.raw --frame-bytes N [--silence-byte B]
      Exits 0 if CAPTURED, after its leading all-silent frames (bytes == B, default 0)
      are stripped, starts with PLAYED byte for byte.
  wavtool.py png FILE OUT.png [--width W --height H]
      A min/max waveform picture, one band per channel.
  wavtool.py timeline FILE --probe F1,F2,... [--window-ms 40] [--rel 0.5] [--min-amp 0.01]
      Prints JSON: when each frequency sounds in the channels' average (first and last
      window at >= rel of its steady level, the level, dips below it in between), from
      Goertzel amplitudes in Hann windows that hop half a window.
  wavtool.py picture FILE OUT.png [--fmax 1000] [--mark F:LABEL,...] [--title T] [--width W]
      One labelled PNG to look at: the waveform of each channel over the spectrogram
      of their average (0..fmax Hz, dBFS colour scale), on one time axis in seconds.
  wavtool.py selftest
      Checks the above on synthetic signals; exits non-zero on any failure.

Raw files default to the VM capture format: s16le, 48000 Hz, 2 channels.
"""

import argparse
import json
import sys

sys.dont_write_bytecode = True  # the repo is shared read-write with the VM: leave no __pycache__
# pylint: disable=wrong-import-position
from wavlib.analysis import analyze, bitexact, run_check, tone_timeline  # noqa: E402
from wavlib.audio import (DROPOUT_MS, GAP_MS, SILENCE_LEVEL, encode, load, norm_format,  # noqa: E402
                          tone_samples, write_wav)
from wavlib.picture import write_picture, write_png  # noqa: E402
from wavlib.selftest import selftest  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(prog="wavtool.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def raw_opts(p):
        p.add_argument("--format", default="s16le", help="raw files: u8, s16le, s32le (default s16le)")
        p.add_argument("--rate", type=int, default=48000, help="raw files: frames per second (48000)")
        p.add_argument("--channels", type=int, default=2, help="raw files: channels (2)")
        p.add_argument("--silence-level", type=float, default=SILENCE_LEVEL,
                       help="silent frame: all channels within this fraction of full scale (2/32768)")
        p.add_argument("--gap-ms", type=float, default=GAP_MS, help="silence this long is a gap (1.0)")
        p.add_argument("--dropout-ms", type=float, default=DROPOUT_MS,
                       help="shorter silence this long inside the stretch is a dropout (0.5)")

    p = sub.add_parser("tone", help="write a sine tone (raw, or WAV if OUT ends in .wav)")
    p.add_argument("out")
    p.add_argument("--format", default="s16le")
    p.add_argument("--rate", type=int, required=True)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--freq", type=float, required=True)
    p.add_argument("--freq2", type=float, help="add a second tone of the same amplitude")
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--amp", type=float, default=0.5, help="peak, fraction of full scale (0.5)")
    p.add_argument("--phase", type=float, default=90.0,
                   help="start phase in degrees (90: a cosine, so the first frame is +amp)")

    p = sub.add_parser("analyze", help="print JSON about the longest stretch of sound")
    p.add_argument("file")
    raw_opts(p)
    p.add_argument("--probe", default="", help="comma-separated frequencies: Goertzel amplitude of each")

    p = sub.add_parser("check", help="exit 0 iff the file holds the expected tone(s)")
    p.add_argument("file")
    raw_opts(p)
    p.add_argument("--freq", type=float, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--tol-freq", type=float, default=0.01, help="relative (0.01)")
    p.add_argument("--tol-len", type=float, default=0.05, help="relative (0.05)")
    p.add_argument("--channel", type=int, help="check only this channel (0-based)")
    p.add_argument("--freq2", type=float, help="expect the sum of tones --freq and --freq2")
    p.add_argument("--max-ratio", type=float, default=2.0, help="--freq2: max amplitude ratio (2)")
    p.add_argument("--min-snr-db", type=float, default=20.0,
                   help="--freq2: each tone this far above the level between them (20)")
    p.add_argument("--min-overlap", type=float, default=0.5,
                   help="--freq2: fraction of the analysis windows where both must sound together (0.5)")
    p.add_argument("--json", action="store_true", help="also print the analysis JSON")

    p = sub.add_parser("bitexact", help="CAPTURED minus leading silent frames starts with PLAYED")
    p.add_argument("played")
    p.add_argument("captured")
    p.add_argument("--frame-bytes", type=int, required=True)
    p.add_argument("--silence-byte", type=lambda s: int(s, 0), default=0, help="0, or 0x80 for u8")

    p = sub.add_parser("png", help="waveform picture")
    p.add_argument("file")
    p.add_argument("out")
    raw_opts(p)
    p.add_argument("--width", type=int, default=1000)
    p.add_argument("--height", type=int, default=120, help="per channel")

    p = sub.add_parser("timeline", help="JSON: when each probed frequency sounds")
    p.add_argument("file")
    raw_opts(p)
    p.add_argument("--probe", required=True, help="comma-separated frequencies")
    p.add_argument("--window-ms", type=float, default=40.0, help="analysis window, rounded up to 2^n frames (40)")
    p.add_argument("--rel", type=float, default=0.5, help="sounding: >= this fraction of the steady level (0.5)")
    p.add_argument("--min-amp", type=float, default=0.01,
                   help="present: steady level >= this fraction of full scale (0.01)")

    p = sub.add_parser("picture", help="labelled PNG: waveform over spectrogram")
    p.add_argument("file")
    p.add_argument("out")
    raw_opts(p)
    p.add_argument("--width", type=int, default=1000, help="plot width in pixels (1000)")
    p.add_argument("--fmax", type=float, default=1000.0, help="top of the spectrogram in Hz (1000)")
    p.add_argument("--mark", default="", help="F:LABEL,... frequencies to label at the right edge")
    p.add_argument("--title", default="")
    p.add_argument("--db-range", type=float, default=100.0, help="colour scale: -this..0 dBFS (100)")

    sub.add_parser("selftest", help="check this tool on synthetic signals")
    args = ap.parse_args(argv)

    if args.cmd == "tone":
        fmt = norm_format(args.format)
        data = encode(tone_samples(args.freq, args.seconds, args.rate, args.channels, args.amp,
                                   args.phase, args.freq2), fmt)
        if args.out.lower().endswith(".wav"):
            write_wav(args.out, data, fmt, args.rate, args.channels)
        else:
            with open(args.out, "wb") as f:
                f.write(data)
        return 0
    if args.cmd == "selftest":
        return selftest(main)
    if args.cmd == "bitexact":
        with open(args.played, "rb") as f:
            played = f.read()
        with open(args.captured, "rb") as f:
            captured = f.read()
        ok, msg = bitexact(played, captured, args.frame_bytes, args.silence_byte)
        print(("bitexact: " if ok else "bitexact: FAIL: ") + msg, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1

    audio = load(args.file, args.format, args.rate, args.channels)
    if args.cmd == "png":
        write_png(audio, args.out, args.width, args.height)
        return 0
    if args.cmd == "timeline":
        freqs = [float(x) for x in args.probe.split(",") if x.strip()]
        res = tone_timeline(audio, freqs, args.window_ms / 1000.0, args.rel, args.min_amp)
        res["file"] = args.file
        print(json.dumps(res))
        return 0
    if args.cmd == "picture":
        marks = []
        for item in filter(None, (s.strip() for s in args.mark.split(","))):
            f, _, label = item.partition(":")
            marks.append((float(f), label))
        write_picture(audio, args.out, args.width, args.fmax, marks, args.title, args.db_range)
        return 0
    if args.cmd == "analyze":
        probes = [float(x) for x in args.probe.split(",") if x.strip()]
        res = analyze(audio, args.silence_level, args.gap_ms, args.dropout_ms, probes)
        res["file"] = args.file
        print(json.dumps(res))
        return 0
    ok, msg, res = run_check(audio, args.freq, args.seconds, args.tol_freq, args.tol_len, args.channel,
                             args.freq2, args.max_ratio, args.min_snr_db, args.silence_level,
                             args.gap_ms, args.dropout_ms, args.min_overlap)
    if args.json:
        print(json.dumps(res))
    if ok:
        print(f"ok: {args.file}: {msg}")
        return 0
    print(f"FAIL: {args.file}: {msg}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
