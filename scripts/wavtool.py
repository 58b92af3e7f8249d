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

def peak_columns(ch, n, width, scale, height):
    """A waveform drawn `width` columns wide and `height` rows high: for each
    column with samples, (x, top row, bottom row) of its peak-to-peak span."""
    for x in range(width):
        a, b = x * n // width, max(x * n // width + 1, (x + 1) * n // width)
        seg = ch[a:b]
        if not len(seg):
            continue
        hi_, lo_ = max(seg) / scale, min(seg) / scale
        yield x, int((1 - hi_) * (height - 1) / 2), int((1 - lo_) * (height - 1) / 2)


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
        for x, y0, y1 in peak_columns(ch, n, W, audio.scale, H):
            y0, y1 = c * H + y0, c * H + y1
            for y in range(max(c * H, y0), min((c + 1) * H - 1, y1) + 1):
                img[y][3 * x: 3 * x + 3] = b"\x20\x50\xb0"
    raw = b"".join(b"\x00" + bytes(r) for r in img)

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H * C, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------- timeline and picture

def mid_signal(audio):
    """The channels' average as floats, in fractions of full scale."""
    k = 1.0 / (audio.scale * audio.channels)
    if audio.channels == 1:
        return [v * k for v in audio.chans[0]]
    return [sum(vs) * k for vs in zip(*audio.chans)]


def tone_timeline(audio, freqs, win_s=0.04, rel=0.5, min_amp=0.01):
    """When each of `freqs` sounds: Goertzel amplitude of the channels' average in
    Hann windows of win_s (rounded up to a power of two frames), hopping half a window.

    Per frequency: `level`, its steady amplitude (median over the windows at >= half
    the loudest one; fraction of full scale); `present` if level >= min_amp; `start_s`
    and `end_s`, the centres of the first and last window at >= rel * level; `dips`,
    the runs of windows below rel * level between them (`dips_at_s`: where the first
    ones start). A steady tone that starts and stops once has dips == 0."""
    x = mid_signal(audio)
    rate = audio.rate
    n = 1 << max(4, int(math.ceil(math.log2(max(16, win_s * rate)))))
    hop = n // 2
    win = hann(n)
    starts = list(range(0, max(0, len(x) - n) + 1, hop)) if len(x) >= n else []
    out = []
    for f in freqs:
        amps = [goertzel_amp(x[s:s + n], rate, f, win) for s in starts]
        top = max(amps) if amps else 0.0
        steady = sorted(a for a in amps if a >= top / 2)
        level = steady[len(steady) // 2] if steady else 0.0
        res = {"freq": f, "present": level >= min_amp, "level": round(level, 6)}
        on = [i for i, a in enumerate(amps) if a >= rel * level] if level >= min_amp else []
        if on:
            dips = [i for i in range(on[0] + 1, on[-1] + 1) if amps[i] < rel * level <= amps[i - 1]]
            res.update(start_s=round((starts[on[0]] + n / 2) / rate, 4),
                       end_s=round((starts[on[-1]] + n / 2) / rate, 4),
                       dips=len(dips), dips_at_s=[round((starts[i] + n / 2) / rate, 4) for i in dips[:5]])
            res["seconds"] = round(res["end_s"] - res["start_s"], 4)
        else:
            res.update(start_s=None, end_s=None, seconds=0.0, dips=0, dips_at_s=[])
        out.append(res)
    return {"window_s": round(n / rate, 6), "hop_s": round(hop / rate, 6), "tones": out}


def blackman_harris(n):
    a = (0.35875, 0.48829, 0.14128, 0.01168)
    return [a[0] - a[1] * math.cos(2 * math.pi * i / (n - 1)) + a[2] * math.cos(4 * math.pi * i / (n - 1))
            - a[3] * math.cos(6 * math.pi * i / (n - 1)) for i in range(n)]


def fft(a):
    """In-place iterative radix-2 FFT of a list of complex numbers (len a power of 2)."""
    n = len(a)
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            a[i], a[j] = a[j], a[i]
    size = 2
    while size <= n:
        half = size // 2
        wstep = complex(math.cos(-2 * math.pi / size), math.sin(-2 * math.pi / size))
        tw = [1.0 + 0j]
        for _ in range(half - 1):
            tw.append(tw[-1] * wstep)
        for s in range(0, n, size):
            for k in range(half):
                u = a[s + k]
                v = a[s + k + half] * tw[k]
                a[s + k] = u + v
                a[s + k + half] = u - v
        size *= 2
    return a


def decimate(x, rate, fmax):
    """x low-passed just above fmax and decimated to a rate of at least 2.6 * fmax,
    with a Blackman-windowed sinc long enough that nothing above the new Nyquist
    folds back below fmax. Returns (samples, new rate)."""
    d = max(1, int(rate // (2.6 * fmax)))
    if d == 1:
        return list(x), rate
    m = 24 * d + 1
    fc = min(1.05 * fmax, 0.45 * rate / d) / rate
    h = []
    for i in range(m):
        t = i - m // 2
        s = 2 * fc if t == 0 else math.sin(2 * math.pi * fc * t) / (math.pi * t)
        w = 0.42 - 0.5 * math.cos(2 * math.pi * i / (m - 1)) + 0.08 * math.cos(4 * math.pi * i / (m - 1))
        h.append(s * w)
    g = sum(h)
    h = [v / g for v in h]
    pad = [0.0] * (m // 2)
    xp = pad + list(x) + pad
    mul = float.__mul__
    return [sum(map(mul, h, xp[k:k + m])) for k in range(0, len(x), d)], rate / d


# 5x8 bitmap font: per character 8 rows (top first) of 5 bits, 2 hex digits a row.
FONT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.,:-+/()=%_'><"
FONT_BITS = (
    "0e11111f111111001e11111e11111e000e11101010110e001e11111111111e001f10101e10101f001f10101e10101000"
    "0e11101711110f001111111f111111000e04040404040e000702020202120c0011121418141211001010101010101f00"
    "111b15151111110011111915131111000e11111111110e001e11111e101010000e11111115120d001e11111e14121100"
    "0f10100e01011e001f040404040404001111111111110e0011111111110a04001111111515150a0011110a040a111100"
    "1111110a040404001f01020408101f0000000e010f110f001010161911111e0000000e1010110e0001010d1311110f00"
    "00000e111f100e000609081c0808080000000f11110f010e101016191111110004000c0404040e00020006020202120c"
    "10101214181412000c04040404040e0000001a1515151500000016191111110000000e1111110e0000001e11111e1010"
    "00000f11110f0101000016191010100000000f100e011e0008081c08080906000000111111130d0000001111110a0400"
    "0000111115150a000000110a040a110000001111110f010e00001f0204081f000e11131519110e00040c040404040e00"
    "0e11010204081f001f02040201110e0002060a121f0202001f101e0101110e000608101e11110e001f01020408080800"
    "0e11110e11110e000e11110f01020c0000000000000c0c00000000000c040800000c0c000c0c00000000001f00000000"
    "0004041f0404000000010204081000000204080808040200080402020204080000001f001f0000001819020408130300"
    "0000000000001f00040408000000000008040201020408000204081008040200"
)


class Canvas:
    """An RGB image with rectangles, lines and text; written as PNG."""

    def __init__(self, w, h, bg=(255, 255, 255)):
        self.w, self.h = w, h
        self.rows = [bytearray(bytes(bg) * w) for _ in range(h)]

    def px(self, x, y, c):
        if 0 <= x < self.w and 0 <= y < self.h:
            self.rows[y][3 * x: 3 * x + 3] = bytes(c)

    def rect(self, x0, y0, x1, y1, c):  # inclusive
        x0, x1 = max(0, x0), min(self.w - 1, x1)
        if x1 < x0:
            return
        run = bytes(c) * (x1 - x0 + 1)
        for y in range(max(0, y0), min(self.h - 1, y1) + 1):
            self.rows[y][3 * x0: 3 * x1 + 3] = run

    def text(self, x, y, s, c=(0, 0, 0), scale=2, anchor="left"):
        """Text with its top at y; anchor left, right or centre of x."""
        width = self.text_width(s, scale)
        x = x - width if anchor == "right" else x - width // 2 if anchor == "centre" else x
        for ch in s:
            i = FONT_CHARS.find(ch)
            if i >= 0:
                for r in range(8):
                    bits = int(FONT_BITS[16 * i + 2 * r: 16 * i + 2 * r + 2], 16)
                    for col in range(5):
                        if bits & (16 >> col):
                            self.rect(x + col * scale, y + r * scale, x + col * scale + scale - 1,
                                      y + r * scale + scale - 1, c)
            x += 6 * scale

    @staticmethod
    def text_width(s, scale=2):
        return max(0, 6 * scale * len(s) - scale)

    def write(self, path):
        raw = b"".join(b"\x00" + bytes(r) for r in self.rows)

        def chunk(t, d):
            return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0))
                    + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


MAGMA = [(0.0, (0, 0, 4)), (0.25, (59, 15, 112)), (0.5, (140, 41, 129)), (0.7, (222, 73, 104)),
         (0.85, (254, 159, 109)), (1.0, (252, 253, 191))]


def colour(t):
    t = 0.0 if t < 0 else 1.0 if t > 1 else t
    for (t0, c0), (t1, c1) in zip(MAGMA, MAGMA[1:]):
        if t <= t1:
            u = (t - t0) / (t1 - t0)
            return tuple(int(a + (b - a) * u + 0.5) for a, b in zip(c0, c1))
    return MAGMA[-1][1]


def nice_step(span, target):
    """A 1-2-5 step that cuts span into about `target` pieces."""
    raw = span / max(1, target)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def fmt_num(v):
    return f"{v:g}" if abs(v - round(v)) > 1e-9 else str(int(round(v)))


def write_picture(audio, path, width=1000, fmax=1000.0, marks=(), title="", db_range=100.0):
    """One PNG a person can read: the waveform of every channel over the spectrogram
    of the channels' average (0..fmax Hz, dBFS in a magma colour scale, -db_range..0),
    on a shared time axis in seconds; marks: (frequency, label) pairs shown at the
    right edge of the spectrogram."""
    W, left, right, top = width, 84, 190, 44
    wave_h, spec_h = 90, 340
    C = audio.channels
    dur = audio.frames / audio.rate if audio.rate else 0.0
    y_wave = top + 22
    band_gap = 10  # between the channels' bands
    y_spec = y_wave + C * (wave_h + band_gap) - band_gap + 34
    y_axis = y_spec + spec_h
    H = y_axis + 96
    cv = Canvas(left + W + right, H)
    ink, grey, light = (0, 0, 0), (110, 110, 110), (225, 225, 225)
    cv.text(left, 12, title or "waveform and spectrogram", ink, 2)
    # time grid
    tstep = nice_step(dur, 12) if dur > 0 else 1
    ticks = [i * tstep for i in range(int(dur / tstep) + 1)] if dur > 0 else [0.0]
    xs = [left + min(W - 1, int(t / dur * W)) if dur > 0 else left for t in ticks]
    # waveform, one band per channel
    cv.text(left, y_wave - 20, "Waveform" + (" (one band per channel)" if C > 1 else ""), grey, 2)
    n = max(1, audio.frames)
    names = ["L", "R"] if C == 2 else [str(c + 1) for c in range(C)]
    for c, ch in enumerate(audio.chans):
        y0 = y_wave + c * (wave_h + band_gap)
        for x in xs:
            cv.rect(x, y0, x, y0 + wave_h - 1, light)
        cv.rect(left, y0 + wave_h // 2, left + W - 1, y0 + wave_h // 2, (190, 190, 190))
        for x, ya, yb in peak_columns(ch, n, W, audio.scale, wave_h):
            ya, yb = y0 + ya, y0 + yb
            cv.rect(left + x, max(y0, ya), left + x, min(y0 + wave_h - 1, yb), (32, 80, 176))
        cv.rect(left - 1, y0, left - 1, y0 + wave_h - 1, grey)
        cv.rect(left + W, y0, left + W, y0 + wave_h - 1, grey)
        cv.rect(left, y0, left + W - 1, y0, grey)
        cv.rect(left, y0 + wave_h - 1, left + W - 1, y0 + wave_h - 1, grey)
        cv.text(left - 46, y0 + wave_h // 2 - 8, names[c], ink, 2, "centre")
        cv.text(left - 6, y0 + 1, "+1", grey, 1, "right")
        cv.text(left - 6, y0 + wave_h - 9, "-1", grey, 1, "right")
    # spectrogram of the average
    cv.text(left, y_spec - 20, f"Spectrogram 0-{fmt_num(fmax)} Hz" + (" (channels averaged)" if C > 1 else ""),
            grey, 2)
    y, rate2 = decimate(mid_signal(audio), audio.rate, fmax)
    nwin = 1 << max(5, int(round(math.log2(max(32, 0.1 * rate2)))))
    nfft = 2 * nwin
    win = blackman_harris(nwin)  # sidelobes under -92 dB: clean lines on a 100 dB scale
    norm = 2.0 / sum(win)
    for x in range(W):
        centre = int((x + 0.5) / W * len(y))
        s = centre - nwin // 2
        frame = [complex(y[s + i] * win[i], 0) if 0 <= s + i < len(y) else 0j for i in range(nwin)]
        spec = fft(frame + [0j] * (nfft - nwin))
        col = []
        for r in range(spec_h):
            f = (spec_h - 1 - r + 0.5) / spec_h * fmax
            kf = f * nfft / rate2
            k = int(kf)
            u = kf - k
            m = abs(spec[k]) * (1 - u) + abs(spec[min(k + 1, nfft // 2)]) * u
            db = 20 * math.log10(max(m * norm, 1e-12))
            col.append(colour(1 + db / db_range))
        for r, c in enumerate(col):
            cv.rows[y_spec + r][3 * (left + x): 3 * (left + x) + 3] = bytes(c)
    fstep = nice_step(fmax, 8)
    f = 0.0
    while f <= fmax + 1e-9:
        yy = y_spec + spec_h - 1 - int(f / fmax * (spec_h - 1))
        cv.rect(left - 6, yy, left - 1, yy, ink)
        cv.text(left - 9, yy - 4, fmt_num(f), ink, 1, "right")
        f += fstep
    cv.text(left - 58, y_spec + spec_h // 2 - 8, "Hz", ink, 2, "centre")
    for fm, label in marks:
        if 0 <= fm <= fmax:
            yy = y_spec + spec_h - 1 - int(fm / fmax * (spec_h - 1))
            for k in range(7):
                cv.rect(left + W + 2 + k, yy - (6 - k) // 2, left + W + 2 + k, yy + (6 - k) // 2, ink)
            cv.text(left + W + 12, yy - 7, f"{fmt_num(round(fm))} Hz {label}", ink, 2)
    cv.rect(left - 1, y_spec - 1, left + W, y_spec - 1, grey)
    cv.rect(left - 1, y_axis, left + W, y_axis, grey)
    cv.rect(left - 1, y_spec - 1, left - 1, y_axis, grey)
    cv.rect(left + W, y_spec - 1, left + W, y_axis, grey)
    # time axis
    for t, x in zip(ticks, xs):
        cv.rect(x, y_axis, x, y_axis + 5, ink)
        cv.text(x, y_axis + 9, fmt_num(t), ink, 2, "centre")
    cv.text(left + W // 2, y_axis + 32, "time (s)", ink, 2, "centre")
    # colour scale
    yb = y_axis + 62
    bar_w = 240
    bx = left + W - bar_w
    for i in range(bar_w):
        cv.rect(bx + i, yb, bx + i, yb + 12, colour(i / (bar_w - 1)))
    cv.text(bx - 8, yb + 2, f"-{fmt_num(db_range)} dBFS", ink, 1, "right")
    cv.text(bx + bar_w + 8, yb + 2, "0 dBFS", ink, 1)
    cv.write(path)


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
    # 13. timeline: three staggered tones, one with a 30 ms hole; fft; picture
    mix = [0.0] * 48000 * 3
    for f, t0, t1 in ((300, 0.2, 2.8), (500, 1.0, 2.8), (800, 1.6, 2.4)):
        for i in range(int(t0 * 48000), int(t1 * 48000)):
            mix[i] += 0.15 * math.sin(2 * math.pi * f * i / 48000)
    for i in range(int(2.0 * 48000), int(2.03 * 48000)):
        mix[i] -= 0.15 * math.sin(2 * math.pi * 800 * i / 48000)
    tl = tone_timeline(audio_of(mix, 48000, 1, "s16le"), [300, 500, 800, 1200])["tones"]
    expect("timeline: each tone's start and end within 25 ms, level 0.15",
           all(abs(r["start_s"] - t0) < 0.025 and abs(r["end_s"] - t1) < 0.025 and abs(r["level"] - 0.15) < 0.005
               for r, (t0, t1) in zip(tl, ((0.2, 2.8), (1.0, 2.8), (1.6, 2.4)))), json.dumps(tl))
    expect("timeline: the hole in 800 Hz is one dip at 2.0 s, the others have none",
           tl[0]["dips"] == 0 and tl[1]["dips"] == 0 and tl[2]["dips"] == 1
           and abs(tl[2]["dips_at_s"][0] - 2.0) < 0.03, json.dumps(tl))
    expect("timeline: an absent tone is not present", not tl[3]["present"] and tl[3]["start_s"] is None,
           json.dumps(tl[3]))
    v = [complex(math.cos(0.3 * i), math.sin(1.1 * i) * 0.5) for i in range(64)]
    naive = [sum(v[i] * complex(math.cos(-2 * math.pi * k * i / 64), math.sin(-2 * math.pi * k * i / 64))
                 for i in range(64)) for k in range(64)]
    expect("fft equals the naive DFT", max(abs(a - b) for a, b in zip(fft(list(v)), naive)) < 1e-9)
    pp = os.path.join(tmp, "p.png")
    main(["picture", w, pp, "--width", "300", "--fmax", "2000", "--mark", "1000:tone", "--title", "t"])
    head = open(pp, "rb").read(33)
    pw, ph = struct.unpack(">II", head[16:24])
    expect("picture written: a PNG wider than its plot", head[:8] == b"\x89PNG\r\n\x1a\n" and pw > 300 and ph > 300,
           f"{pw}x{ph}")
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
