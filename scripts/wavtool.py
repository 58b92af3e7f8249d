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
  wavtool.py selftest
      Checks the above on synthetic signals; exits non-zero on any failure.

Raw files default to the VM capture format: s16le, 48000 Hz, 2 channels.
"""

import argparse
import bisect
import contextlib
import io
import array
import json
import math
import os
import struct
import sys
import tempfile
import zlib

FORMATS = {  # name -> (bytes per sample, array typecode, full scale, zero offset)
    "u8": (1, "B", 128, 128),
    "s16le": (2, "h", 32768, 0),
    "s32le": (4, "i", 2147483648, 0),
}
ALIASES = {"u8": "u8", "s16le": "s16le", "s16_le": "s16le", "s32le": "s32le", "s32_le": "s32le"}

# Silence: a frame is silent when every channel is within +-2 LSB of a 16-bit sample
# (6.1e-5 of full scale; for u8 that means exactly 128). A sine passes through zero
# but never *stays* there, so silence only counts as a gap when it lasts GAP_MS: a
# 200 Hz or faster tone above about -80 dBFS spends at most a couple of samples that
# close to zero per crossing, far below 1 ms. Shorter silent runs inside a stretch of
# at least DROPOUT_MS are reported as dropouts (a glitch, but not a gap).
SILENCE_LEVEL = 2.0 / 32768
GAP_MS = 1.0
DROPOUT_MS = 0.5


class Audio:
    """Deinterleaved integer samples, zero-centred, with their full scale."""

    def __init__(self, chans, rate, fmt):
        self.chans = chans  # list of sequences of ints, one per channel
        self.rate = rate
        self.fmt = fmt
        self.scale = FORMATS[fmt][2]

    @property
    def channels(self):
        return len(self.chans)

    @property
    def frames(self):
        return len(self.chans[0]) if self.chans else 0


def norm_format(name):
    key = name.lower()
    if key not in ALIASES:
        raise SystemExit(f"wavtool: unsupported format {name!r} (u8, s16le, s32le)")
    return ALIASES[key]


def decode(data, fmt, channels):
    width, code, _, offset = FORMATS[fmt]
    data = data[: len(data) - len(data) % (width * channels)]
    a = array.array(code)
    if a.itemsize != width:
        raise SystemExit(f"wavtool: no native {width}-byte integer array type")
    a.frombytes(data)
    if width > 1 and sys.byteorder == "big":
        a.byteswap()
    if offset:
        a = array.array("h", (v - offset for v in a))
    return [a[c::channels] for c in range(channels)]


def encode(samples_by_frame, fmt):
    """samples_by_frame: iterable of floats in [-1, 1], interleaved."""
    width, code, scale, offset = FORMATS[fmt]
    top = scale - 1
    lo = -scale
    a = array.array(code)
    for x in samples_by_frame:
        v = round(x * scale)
        v = top if v > top else lo if v < lo else v
        a.append(v + offset)
    if width > 1 and sys.byteorder == "big":
        a.byteswap()
    return a.tobytes()


def read_wav(path):
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise SystemExit(f"wavtool: {path}: not a RIFF/WAVE file")
    pos, fmtinfo, data = 12, None, None
    while pos + 8 <= len(blob):
        cid, size = blob[pos:pos + 4], struct.unpack("<I", blob[pos + 4:pos + 8])[0]
        body = blob[pos + 8: pos + 8 + size]  # clamps: arecord killed hard leaves size unfixed
        if cid == b"fmt ":
            fmtinfo = struct.unpack("<HHIIHH", body[:16])
        elif cid == b"data":
            data = body
            break
        pos += 8 + size + (size & 1)
    if fmtinfo is None or data is None:
        raise SystemExit(f"wavtool: {path}: no fmt/data chunk")
    tag, channels, rate, _, _, bits = fmtinfo
    if tag not in (1, 0xFFFE):
        raise SystemExit(f"wavtool: {path}: not integer PCM (format tag {tag:#x})")
    fmt = {8: "u8", 16: "s16le", 32: "s32le"}.get(bits)
    if fmt is None:
        raise SystemExit(f"wavtool: {path}: {bits}-bit samples not supported")
    return Audio(decode(data, fmt, channels), rate, fmt)


def write_wav(path, data, fmt, rate, channels):
    width = FORMATS[fmt][0]
    hdr = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    hdr += b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * channels * width,
                                 channels * width, width * 8)
    hdr += b"data" + struct.pack("<I", len(data))
    with open(path, "wb") as f:
        f.write(hdr + data)


def load(path, fmt="s16le", rate=48000, channels=2):
    if path.lower().endswith(".wav"):
        return read_wav(path)
    with open(path, "rb") as f:
        data = f.read()
    fmt = norm_format(fmt)
    return Audio(decode(data, fmt, channels), rate, fmt)


def tone_samples(freq, seconds, rate, channels, amp=0.5, phase_deg=90.0, freq2=None):
    """Interleaved floats. phase 90 degrees -> cosine -> the first frame is +amp."""
    n = int(round(seconds * rate))
    ph = math.radians(phase_deg)
    w = 2 * math.pi * freq / rate
    w2 = 2 * math.pi * freq2 / rate if freq2 else None
    out = []
    for i in range(n):
        x = amp * math.sin(w * i + ph)
        if w2 is not None:
            x += amp * math.sin(w2 * i + ph)
        out.extend([x] * channels)
    return out


# ---------------------------------------------------------------- analysis

def sound_runs(audio, level=SILENCE_LEVEL, gap_ms=GAP_MS):
    """Split the sound into stretches separated by gaps (silent runs >= gap_ms).

    Returns (stretches, loud) where stretches is a list of (first, last) frame
    indices (inclusive) and loud the sorted frame indices that are not silent."""
    t = int(level * audio.scale)  # integer threshold: |v| <= t is silent
    per = [[i for i, v in enumerate(ch) if v > t or v < -t] for ch in audio.chans]
    loud = per[0] if len(per) == 1 else sorted(set().union(*per))
    gap = max(1, int(math.ceil(gap_ms * audio.rate / 1000.0)))
    stretches = []
    if loud:
        start = prev = loud[0]
        for i in loud[1:]:
            if i - prev - 1 >= gap:
                stretches.append((start, prev))
                start = i
            prev = i
        stretches.append((start, prev))
    return stretches, loud


def zero_cross_freq(x, rate, hyst_frac=0.25):
    """Frequency from rising zero crossings with hysteresis, interpolated between
    samples: (crossings - 1) periods between the first and the last crossing."""
    if len(x) < 4:
        return None
    peak = max(max(x), -min(x))
    if peak <= 0:
        return None
    h = hyst_frac * peak
    armed = False
    first = last = None
    count = 0
    prev = x[0]
    for i in range(1, len(x)):
        v = x[i]
        if v < -h:
            armed = True
        elif armed and prev < 0 <= v:
            tcross = i - 1 + (-prev) / (v - prev)
            if first is None:
                first = tcross
            last = tcross
            count += 1
            armed = False
        prev = v
    if count < 2 or last <= first:
        return None
    return (count - 1) * rate / (last - first)


def goertzel_amp(x, rate, freq, window):
    """Amplitude (fraction of the samples' unit) of the component at freq, Hann-windowed."""
    w = 2 * math.pi * freq / rate
    coeff = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v, g in zip(x, window):
        s0 = v * g + coeff * s1 - s2
        s2 = s1
        s1 = s0
    re = s1 - s2 * math.cos(w)
    im = s2 * math.sin(w)
    return 2 * math.hypot(re, im) / sum(window)


def hann(n):
    return [0.5 - 0.5 * math.cos(2 * math.pi * i / (n - 1)) for i in range(n)] if n > 1 else [1.0]


def segment_amps(chan, rate, first, last, freq, tol=0.0, seg_s=0.1, nseg=10):
    """Goertzel amplitudes (in sample units) of freq in nseg Hann windows of seg_s
    seconds spread evenly over the middle 80% of the stretch [first, last].
    With tol > 0, freq is first refined by a small search over freq*(1 +- tol) in
    half-bin steps (best RMS over the windows), so a slightly off rate still finds
    the tone. Returns (frequency used, [amplitude per window])."""
    n = last - first + 1
    seg = min(int(seg_s * rate), n)
    if seg < 16:
        return freq, [0.0]
    lo = first + n // 10
    span = max(0, (last - n // 10) - lo + 1 - seg)
    k = max(1, min(nseg, span // seg + 1))
    starts = [lo + (span * j) // (k - 1) for j in range(k)] if k > 1 else [lo + span // 2]
    win = hann(seg)
    step = rate / seg / 2
    cands = [freq]
    if tol > 0:
        m = int(freq * tol / step)
        cands = [freq + j * step for j in range(-m, m + 1)]
    best = (-1.0, freq, [])
    for f in cands:
        amps = [goertzel_amp(chan[s:s + seg], rate, f, win) for s in starts]
        power = sum(x * x for x in amps)
        if power > best[0]:
            best = (power, f, amps)
    return best[1], best[2]


def rms_of(xs):
    return math.sqrt(sum(x * x for x in xs) / len(xs)) if xs else 0.0


def probe(chan, rate, first, last, freq, tol=0.0):
    """RMS over the windows of segment_amps: the amplitude of freq in the stretch."""
    return rms_of(segment_amps(chan, rate, first, last, freq, tol)[1])


def analyze(audio, level=SILENCE_LEVEL, gap_ms=GAP_MS, dropout_ms=DROPOUT_MS, probes=()):
    """Longest unbroken stretch of sound and what is in it.

    - silent frame: every channel within +-level of zero (level: fraction of full scale)
    - gap: >= gap_ms of consecutive silent frames; stretches are separated by gaps
    - gaps: number of gaps strictly between the first and the last sound of the file
      (aloop's stale-frame replay after a stream stops shows up as one such gap)
    - dropouts: silent runs of dropout_ms .. gap_ms inside the longest stretch
    - freq_hz: per channel, zero crossings with hysteresis over the stretch minus 2%
      at each end; rms per channel over the stretch; peak over the whole file;
      all levels as fractions of full scale."""
    rate = audio.rate
    stretches, loud = sound_runs(audio, level, gap_ms)
    res = {
        "rate": rate, "channels": audio.channels, "format": audio.fmt, "frames": audio.frames,
        "seconds": round(audio.frames / rate, 6),
    }
    peak = 0
    for ch in audio.chans:
        if len(ch):
            peak = max(peak, max(ch), -min(ch))
    res["peak"] = round(peak / audio.scale, 6)
    if not stretches:
        res.update(longest_stretch_seconds=0.0, stretch_start_seconds=None, stretch_frames=0,
                   freq_hz=[None] * audio.channels, rms=[0.0] * audio.channels,
                   gaps=0, stretches=0, dropouts=0)
        return res
    first, last = max(stretches, key=lambda s: s[1] - s[0])
    nfr = last - first + 1
    trim = nfr // 50
    freqs, rms = [], []
    for ch in audio.chans:
        seg = ch[first + trim: last + 1 - trim]
        f = zero_cross_freq(seg, rate)
        freqs.append(round(f, 3) if f else None)
        full = ch[first: last + 1]
        rms.append(round(math.sqrt(sum(v * v for v in full) / nfr) / audio.scale, 6))
    # dropouts: short silent runs inside the longest stretch
    dmin = max(2, int(math.ceil(dropout_ms * rate / 1000.0)))
    a = bisect.bisect_left(loud, first)
    b = bisect.bisect_right(loud, last)
    dropouts = sum(1 for j in range(a + 1, b) if loud[j] - loud[j - 1] - 1 >= dmin)
    res.update(
        longest_stretch_seconds=round(nfr / rate, 6),
        stretch_start_seconds=round(first / rate, 6),
        stretch_frames=nfr,
        freq_hz=freqs, rms=rms,
        gaps=len(stretches) - 1, stretches=len(stretches), dropouts=dropouts,
    )
    if probes:
        res["probe"] = {
            str(f): [round(probe(ch, rate, first, last, f) / audio.scale, 6) for ch in audio.chans]
            for f in probes
        }
    return res


def run_check(audio, freq, seconds, tol_freq=0.01, tol_len=0.05, channel=None, freq2=None,
              max_ratio=2.0, min_snr_db=20.0, level=SILENCE_LEVEL, gap_ms=GAP_MS,
              dropout_ms=DROPOUT_MS, min_overlap=0.5):
    """Returns (ok, one-line message, analysis)."""
    res = analyze(audio, level, gap_ms, dropout_ms)
    L = res["longest_stretch_seconds"]
    where = f"stretch {L:.3f}s at {res['stretch_start_seconds']}s, gaps {res['gaps']}"
    if L == 0:
        return False, f"no sound at all ({res['frames']} frames, peak {res['peak']})", res
    if abs(L - seconds) > tol_len * seconds:
        return False, (f"longest stretch {L:.3f}s, expected {seconds}s +-{tol_len * 100:g}% "
                       f"({res['stretches']} stretches, {res['gaps']} gaps)"), res
    if res["dropouts"]:
        return False, f"{res['dropouts']} dropouts (>= {dropout_ms} ms of silence) inside the {L:.3f}s stretch", res
    chans = [channel] if channel is not None else list(range(audio.channels))
    for c in chans:
        if c < 0 or c >= audio.channels:
            return False, f"no channel {c} (file has {audio.channels})", res
    if freq2 is None:
        for c in chans:
            f = res["freq_hz"][c]
            if f is None:
                return False, f"channel {c}: no frequency found in the stretch", res
            if abs(f - freq) > tol_freq * freq:
                return False, f"channel {c}: frequency {f:.2f} Hz, expected {freq} Hz +-{tol_freq * 100:g}%", res
        fs = ", ".join(f"{res['freq_hz'][c]:.2f}" for c in chans)
        return True, f"{where}, freq {fs} Hz, rms {res['rms']}", res
    # Two tones: Goertzel amplitude of each (small search for rate error) and, as the
    # floor, of the frequencies between them (arithmetic and geometric mean), in
    # windows across the stretch. Both tones must stand out overall, be comparable,
    # and sound *together* in at least min_overlap of the windows (two writers played
    # one after the other are not a mix).
    first = int(round(res["stretch_start_seconds"] * audio.rate))
    last = first + res["stretch_frames"] - 1
    mids = sorted({(freq + freq2) / 2, math.sqrt(freq * freq2)})
    snr = 10 ** (min_snr_db / 20)
    notes = []
    for c in chans:
        ch, sc = audio.chans[c], audio.scale
        _, w1 = segment_amps(ch, audio.rate, first, last, freq, tol_freq)
        _, w2 = segment_amps(ch, audio.rate, first, last, freq2, tol_freq)
        wm = [segment_amps(ch, audio.rate, first, last, m)[1] for m in mids]
        wf = [max(v) for v in zip(*wm)]
        a1, a2, am = rms_of(w1) / sc, rms_of(w2) / sc, rms_of(wf) / sc
        floor = max(am, 1e-9)
        for f, a in ((freq, a1), (freq2, a2)):
            if a < snr * floor:
                return False, (f"channel {c}: {f} Hz amplitude {a:.5f} is not {min_snr_db:g} dB above "
                               f"the in-between level {am:.5f} ({freq}: {a1:.5f}, {freq2}: {a2:.5f})"), res
        ratio = max(a1, a2) / max(min(a1, a2), 1e-12)
        if ratio > max_ratio:
            return False, (f"channel {c}: amplitudes not comparable: {freq} Hz {a1:.5f}, "
                           f"{freq2} Hz {a2:.5f} (ratio {ratio:.2f} > {max_ratio})"), res
        both = sum(1 for x, y, z in zip(w1, w2, wf)
                   if min(x, y) >= snr * max(z, 1e-9 * sc) and max(x, y) <= max_ratio * min(x, y))
        frac = both / len(w1)
        if frac < min_overlap:
            return False, (f"channel {c}: {freq} Hz and {freq2} Hz sound together in only {both} of "
                           f"{len(w1)} windows across the {L:.3f}s stretch (need {min_overlap:.0%}): "
                           f"not mixed, one after the other?"), res
        notes.append(f"ch{c} {freq}Hz={a1:.4f} {freq2}Hz={a2:.4f} between={am:.5f} together={both}/{len(w1)}")
    return True, f"{where}, " + "; ".join(notes), res


def bitexact(played, captured, frame_bytes, silence_byte=0):
    """(ok, message): captured minus leading silent frames starts with played."""
    if frame_bytes <= 0:
        return False, "frame size must be positive"
    silent = bytes([silence_byte]) * frame_bytes
    off = 0
    while off + frame_bytes <= len(captured) and captured[off:off + frame_bytes] == silent:
        off += frame_bytes
    body = captured[off:]
    if not played:
        return False, "played file is empty"
    n = min(len(played), len(body))
    if body[:n] == played[:n] and len(body) >= len(played):
        return True, (f"{len(played) // frame_bytes} frames match after {off // frame_bytes} "
                      f"leading silent frames")
    lo, hi = 0, n  # first differing byte, by bisection on equal prefixes
    while lo < hi:
        mid = (lo + hi) // 2
        if body[:mid + 1] == played[:mid + 1]:
            lo = mid + 1
        else:
            hi = mid
    if lo == n:
        return False, (f"capture ends early: {len(body) // frame_bytes} of {len(played) // frame_bytes} "
                       f"frames after {off // frame_bytes} leading silent frames, all equal")
    return False, (f"frame {lo // frame_bytes} differs (byte {lo}) after {off // frame_bytes} leading "
                   f"silent frames; played {played[lo:lo + 8].hex()} captured {body[lo:lo + 8].hex()}")


# ---------------------------------------------------------------- png

def write_png(audio, path, width=1000, height=120):
    """Min/max envelope per pixel column, one band of `height` pixels per channel."""
    W, H, C = width, height, audio.channels
    img = [bytearray(b"\xff" * (W * 3)) for _ in range(H * C)]
    n = max(1, audio.frames)
    for c, ch in enumerate(audio.chans):
        mid = c * H + H // 2
        for x in range(W):
            row = img[mid]
            row[3 * x: 3 * x + 3] = b"\xc0\xc0\xc0"
        for x in range(W):
            a, b = x * n // W, max(x * n // W + 1, (x + 1) * n // W)
            seg = ch[a:b]
            if not len(seg):
                continue
            hi_, lo_ = max(seg) / audio.scale, min(seg) / audio.scale
            y0 = c * H + int((1 - hi_) * (H - 1) / 2)
            y1 = c * H + int((1 - lo_) * (H - 1) / 2)
            for y in range(max(c * H, y0), min((c + 1) * H - 1, y1) + 1):
                img[y][3 * x: 3 * x + 3] = b"\x20\x50\xb0"
    raw = b"".join(b"\x00" + bytes(r) for r in img)

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H * C, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------- selftest

def selftest():
    failures = []

    def expect(name, cond, detail=""):
        print(("ok - " if cond else "not ok - ") + name + ("" if cond else f": {detail}"))
        if not cond:
            failures.append(name)

    def mk(freq, secs, rate, ch, fmt, amp=0.5, pre=0.0, post=0.0, freq2=None):
        s = [0.0] * int(round(pre * rate)) * ch
        s += tone_samples(freq, secs, rate, ch, amp, freq2=freq2)
        s += [0.0] * int(round(post * rate)) * ch
        return s

    def audio_of(samples, rate, ch, fmt):
        return Audio(decode(encode(samples, fmt), fmt, ch), rate, fmt)

    tmp = tempfile.mkdtemp(prefix="wavtool-selftest.")
    # 1. first frame non-zero, file sizes
    p = os.path.join(tmp, "t.raw")
    main(["tone", p, "--format", "u8", "--rate", "8000", "--channels", "1", "--freq", "500", "--seconds", "1"])
    data = open(p, "rb").read()
    expect("tone u8 size and non-zero first frame", len(data) == 8000 and data[0] != 128, f"{len(data)} {data[0]}")
    # 2. frequency accuracy 200..5000 Hz, u8 8 kHz and s16 48 kHz
    for fmt, rate, ch, freqs in (("u8", 8000, 1, (200, 440, 500, 1200, 3000)),
                                 ("s16le", 48000, 2, (200, 500, 1000, 2500, 5000)),
                                 ("s32le", 44100, 1, (333, 4321))):
        for f in freqs:
            r = analyze(audio_of(mk(f, 1.0, rate, ch, fmt, pre=0.1, post=0.2), rate, ch, fmt))
            errs = [abs(x - f) / f if x else 1 for x in r["freq_hz"]]
            expect(f"{fmt} {rate} Hz {ch}ch {f} Hz: freq within 0.1%, stretch 1.0 s at 0.1 s, no gaps",
                   max(errs) < 0.001 and abs(r["longest_stretch_seconds"] - 1.0) < 0.002
                   and abs(r["stretch_start_seconds"] - 0.1) < 0.002 and r["gaps"] == 0 and r["dropouts"] == 0,
                   json.dumps(r))
    # 3. quiet low tone: zero crossings must not count as gaps
    r = analyze(audio_of(mk(200, 1.0, 48000, 1, "s16le", amp=0.003), 48000, 1, "s16le"))
    expect("quiet 200 Hz tone (-50 dBFS) has no gaps", r["gaps"] == 0 and r["dropouts"] == 0, json.dumps(r))
    # 4. a gap in the middle splits the tone; check fails on length
    s = mk(500, 0.5, 48000, 2, "s16le") + [0.0] * 960 * 2 + mk(500, 0.5, 48000, 2, "s16le")
    a = audio_of(s, 48000, 2, "s16le")
    r = analyze(a)
    expect("20 ms gap: 1 gap, longest stretch 0.5 s", r["gaps"] == 1 and abs(r["longest_stretch_seconds"] - 0.5) < 0.002,
           json.dumps(r))
    ok, msg, _ = run_check(a, 500, 1.0)
    expect("check fails on a tone with a gap", not ok and "longest stretch" in msg, msg)
    # 5. aloop-style stale replay after a short silence: longest stretch still the tone
    s = mk(500, 1.0, 48000, 2, "s16le", pre=0.05) + [0.0] * 480 * 2 + mk(500, 300 / 48000, 48000, 2, "s16le")
    a = audio_of(s, 48000, 2, "s16le")
    ok, msg, r = run_check(a, 500, 1.0)
    expect("stale replay after the tone: check passes, 1 gap reported", ok and r["gaps"] == 1, msg)
    # 6. sub-gap dropout inside the tone is caught
    s = mk(500, 0.5, 48000, 1, "s16le") + [0.0] * 30 + mk(500, 0.5, 48000, 1, "s16le")
    ok, msg, r = run_check(audio_of(s, 48000, 1, "s16le"), 500, 1.0)
    expect("0.6 ms dropout inside the tone fails the check", not ok and "dropout" in msg, msg)
    # 7. wrong frequency, wrong length, silence
    a = audio_of(mk(500, 1.0, 48000, 2, "s16le"), 48000, 2, "s16le")
    ok, msg, _ = run_check(a, 510, 1.0)
    expect("check fails 500 Hz vs expected 510 Hz", not ok and "frequency" in msg, msg)
    ok, msg, _ = run_check(a, 500, 1.2)
    expect("check fails 1.0 s vs expected 1.2 s", not ok, msg)
    ok, msg, _ = run_check(a, 500, 1.0)
    expect("check passes the right tone", ok, msg)
    ok, msg, _ = run_check(audio_of([0.0] * 9600, 48000, 2, "s16le"), 500, 1.0)
    expect("check fails on silence", not ok and "no sound" in msg, msg)
    # 8. 8 kHz u8 tone upsampled 6x by sample-and-hold (a crude resampler) still passes
    u = decode(encode(tone_samples(500, 1.0, 8000, 1, 0.4), "u8"), "u8", 1)[0]
    up = [v * 256 for v in u for _ in range(6)]
    ok, msg, _ = run_check(Audio([array.array("h", up), array.array("h", up)], 48000, "s16le"), 500, 1.0)
    expect("u8 8 kHz tone held up to 48 kHz passes", ok, msg)
    # 9. two tones, mixed as ossd would (u8 each, summed), through the same crude upsampler
    t1 = decode(encode(tone_samples(500, 1.0, 8000, 1, 0.4), "u8"), "u8", 1)[0]
    t2 = decode(encode(tone_samples(1200, 1.0, 8000, 1, 0.4), "u8"), "u8", 1)[0]
    mix = [(x + y) * 256 for x, y in zip(t1, t2) for _ in range(6)]
    a = Audio([array.array("h", mix), array.array("h", mix)], 48000, "s16le")
    ok, msg, _ = run_check(a, 500, 1.0, freq2=1200)
    expect("two-tone mix: --freq2 check passes", ok, msg)
    ok, msg, _ = run_check(a, 500, 1.0, freq2=800)
    expect("two-tone mix: absent 800 Hz fails", not ok, msg)
    one = Audio([array.array("h", [x * 256 for x in t1 for _ in range(6)])], 48000, "s16le")
    ok, msg, _ = run_check(one, 500, 1.0, freq2=1200)
    expect("single tone fails --freq2 1200", not ok and "1200" in msg, msg)
    s = [0.4 * math.cos(2 * math.pi * 500 * i / 48000) + 0.05 * math.cos(2 * math.pi * 1200 * i / 48000)
         for i in range(48000)]
    ok, msg, _ = run_check(audio_of(s, 48000, 1, "s16le"), 500, 1.0, freq2=1200)
    expect("unbalanced two-tone mix (18 dB apart) fails as not comparable", not ok and "comparable" in msg, msg)
    # one writer after the other is not a mix; a 0.2 s head start still is
    seq = tone_samples(500, 1.0, 48000, 1, 0.4) + tone_samples(1200, 1.0, 48000, 1, 0.4)
    ok, msg, _ = run_check(audio_of(seq, 48000, 1, "s16le"), 500, 2.0, freq2=1200)
    expect("two tones one after the other fail --freq2 (not together)", not ok and "together" in msg, msg)
    skew = [x + y for x, y in zip(tone_samples(500, 1.2, 48000, 1, 0.4),
                                  [0.0] * 9600 + tone_samples(1200, 1.0, 48000, 1, 0.4))]
    ok, msg, _ = run_check(audio_of(skew, 48000, 1, "s16le"), 500, 1.2, freq2=1200)
    expect("two tones, the second 0.2 s late, pass --freq2", ok, msg)
    # slightly wrong rate (0.5%) still found by the search
    s = tone_samples(500 * 1.005, 1.0, 48000, 1, 0.3, freq2=1200 * 1.005)
    ok, msg, _ = run_check(audio_of(s, 48000, 1, "s16le"), 500, 1.0, freq2=1200)
    expect("two-tone mix 0.5% sharp passes (--tol-freq 1%)", ok, msg)
    # 10. WAV round trip through the CLI, and analyze JSON
    w = os.path.join(tmp, "t.wav")
    main(["tone", w, "--format", "s16le", "--rate", "48000", "--channels", "2", "--freq", "1000",
          "--seconds", "0.5", "--amp", "0.3"])
    a = read_wav(w)
    r = analyze(a)
    expect("WAV tone: 48000 Hz 2ch, 0.5 s, 1000 Hz, rms 0.3/sqrt2, peak 0.3",
           a.rate == 48000 and a.channels == 2 and abs(r["longest_stretch_seconds"] - 0.5) < 0.001
           and all(abs(f - 1000) < 1 for f in r["freq_hz"]) and all(abs(x - 0.3 / math.sqrt(2)) < 0.002 for x in r["rms"])
           and abs(r["peak"] - 0.3) < 0.001, json.dumps(r))
    with contextlib.redirect_stdout(io.StringIO()) as o, contextlib.redirect_stderr(io.StringIO()) as e:
        rc1 = main(["check", w, "--freq", "1000", "--seconds", "0.5"])
        rc2 = main(["check", w, "--freq", "1000", "--seconds", "0.8"])
    expect("CLI check on the WAV exits 0, one ok line", rc1 == 0 and o.getvalue().startswith("ok: "), o.getvalue())
    expect("CLI check with the wrong length exits 1, one FAIL line", rc2 == 1 and e.getvalue().count("\n") == 1
           and e.getvalue().startswith("FAIL: "), e.getvalue())
    # 11. bitexact
    played = encode(tone_samples(500, 0.1, 48000, 2, 0.5), "s16le")
    cap = b"\0" * 4 * 700 + played + b"\0" * 400
    expect("bitexact: capture with leading zeros matches", bitexact(played, cap, 4)[0])
    bad = bytearray(cap)
    bad[4 * 700 + 4 * 1000 + 1] ^= 1
    ok, msg = bitexact(played, bytes(bad), 4)
    expect("bitexact: one flipped bit is found at frame 1000", not ok and "frame 1000 " in msg, msg)
    ok, msg = bitexact(played, cap[: 4 * 700 + len(played) // 2], 4)
    expect("bitexact: a short capture fails", not ok and "ends early" in msg, msg)
    # 12. png
    pngp = os.path.join(tmp, "t.png")
    write_png(a, pngp, 200, 40)
    expect("png written", open(pngp, "rb").read(8) == b"\x89PNG\r\n\x1a\n")
    for fn in os.listdir(tmp):
        os.unlink(os.path.join(tmp, fn))
    os.rmdir(tmp)
    print(f"selftest: {'FAILED ' + str(len(failures)) if failures else 'all passed'}")
    return 1 if failures else 0


# ---------------------------------------------------------------- CLI

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
        return selftest()
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
