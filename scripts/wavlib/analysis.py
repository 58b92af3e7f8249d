"""wavlib.analysis: what a capture holds: stretches of sound and gaps, frequency and
level per channel, the check's verdict, bit-exactness, and when each tone sounds."""

import bisect
import math

from wavlib.audio import DROPOUT_MS, GAP_MS, SILENCE_LEVEL

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
