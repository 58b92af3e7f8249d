#!/usr/bin/env python3
"""pcmcheck: test signals and judgements scripts/wavtool.py does not cover, for scripts/vm-suite.

Python 3 standard library only (it runs in the test VM, ~10x slower than the host:
keep inputs short). Uses wavtool's decoding and Goertzel code; does not change it.

  pcmcheck.py noise OUT.raw --frames N --seed S [--max M]
      Pseudo-random S16_LE stereo frames, each sample uniform in -M..M (default
      32767, with -32768 allowed at full scale). The first frame is positive on both
      channels (>= M/2), so a capture is aligned by stripping leading zero frames.
  pcmcheck.py sum A.raw B.raw CAPTURED.raw [--max-shift FRAMES]
      Exits 0 if CAPTURED (S16_LE stereo), after its leading all-zero frames, is
      exactly the sample-wise sum of A and B, where one of them may start up to
      --max-shift frames (default 4096) after the other; the sum must be followed by
      silence for as long as the capture goes on (up to 4800 frames are checked).
      Prints the shift found. Else exits 1 with the reason on stderr.
  pcmcheck.py tones FILE --tone F:SECONDS[:AMP] ... [--together S] [raw options]
      Exits 0 if every tone F (Hz) sounds in FILE for SECONDS (-20%, +10% +0.1 s), at
      least 0.4 x AMP (peak, fraction of full scale; default 0.1) and 20 dB above the
      level at the frequencies between the tones, and all of them sound together for
      at least S seconds (default 0.5). Judged on channel 0 in 50 ms windows.
"""

import argparse
import array
import math
import os
import random
import sys

sys.dont_write_bytecode = True  # the repo is shared read-write with the VM: leave no __pycache__
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from wavlib import analysis, audio as wavaudio  # noqa: E402  (scripts/wavlib: wavtool's parts)


def read_s16(path):
    a = array.array("h")
    with open(path, "rb") as f:
        data = f.read()
    a.frombytes(data[: len(data) - len(data) % 4])
    if sys.byteorder == "big":
        a.byteswap()
    return a


def cmd_noise(args):
    rng = random.Random(args.seed)
    m = args.max
    lo = -32768 if m >= 32767 else -m
    out = array.array("h")
    out.extend([rng.randint((m + 1) // 2, m), rng.randint((m + 1) // 2, m)])
    for _ in range(args.frames - 1):
        out.append(rng.randint(lo, m))
        out.append(rng.randint(lo, m))
    if sys.byteorder == "big":
        out.byteswap()
    with open(args.out, "wb") as f:
        f.write(out.tobytes())
    return 0


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    return 1


def cmd_sum(args):
    a, b, y = read_s16(args.a), read_s16(args.b), read_s16(args.captured)
    na, nb = len(a) // 2, len(b) // 2
    first = next((i for i in range(len(y) // 2) if y[2 * i] or y[2 * i + 1]), None)
    if first is None:
        return fail(f"the capture ({len(y) // 2} frames) is all zero frames")
    y = y[2 * first:]
    ny = len(y) // 2

    def val(x, n, frames, c):
        return x[2 * n + c] if 0 <= n < frames else 0

    def matches(ka, kb, frames):
        for n in range(min(frames, ny)):
            for c in (0, 1):
                if y[2 * n + c] != val(a, n - ka, na, c) + val(b, n - kb, nb, c):
                    return False
        return True

    def alone_for(x, frames):
        """Frames at the start of the capture that hold x alone."""
        n = 0
        while n < ny and y[2 * n] == val(x, n, frames, 0) and y[2 * n + 1] == val(x, n, frames, 1):
            n += 1
        return n

    # y[0] is A[0] + B[0] (together), or A[0] (B later: the capture holds A alone until
    # B starts), or B[0]. Either way the shift is where "one alone" stops matching.
    found = None
    if matches(0, 0, 64):
        found = (0, 0)
    else:
        for ka, kb, x, frames in ((0, None, a, na), (None, 0, b, nb)):
            k = alone_for(x, frames)
            if 0 < k <= args.max_shift:
                cand = (ka if ka is not None else k, kb if kb is not None else k)
                if matches(cand[0], cand[1], k + 64):
                    found = cand
                    break
    if found is None:
        head = [tuple(y[2 * n:2 * n + 2]) for n in range(min(4, ny))]
        ka_, kb_ = alone_for(a, na), alone_for(b, nb)
        alone = (f"; the capture holds A alone for its first {ka_} frames" if ka_ else
                 f"; the capture holds B alone for its first {kb_} frames" if kb_ else "")
        return fail(f"no alignment of A + B (either one up to {args.max_shift} frames late) matches the "
                    f"capture after its {first} leading zero frames; it starts {head}, "
                    f"A {[tuple(a[2 * n:2 * n + 2]) for n in range(4)]}, "
                    f"B {[tuple(b[2 * n:2 * n + 2]) for n in range(4)]}{alone}")
    ka, kb = found
    total = max(na + ka, nb + kb)
    if ny < total:
        return fail(f"the capture ends {total - ny} frames early ({ny} of {total} frames after the start)")
    tail = min(ny - total, 4800)
    bad, first_bad = 0, None
    for n in range(total + tail):
        for c in (0, 1):
            want = val(a, n - ka, na, c) + val(b, n - kb, nb, c)
            if y[2 * n + c] != want:
                bad += 1
                if first_bad is None:
                    first_bad = (n, c, want, y[2 * n + c])
    shift = f"B starts {kb} frames after A" if kb else f"A starts {ka} frames after B" if ka else "both start together"
    if bad:
        n, c, want, got = first_bad
        where = "in the sum" if n < total else "in the silence after it"
        return fail(f"{shift}; {bad} samples differ; first at frame {n} channel {c} ({where}): "
                    f"expected {want}, got {got}")
    print(f"ok: exact sum of {na} + {nb} frames, {shift}; {tail} silent frames after it; "
          f"{first} leading zero frames stripped")
    return 0


def parse_tone(s):
    parts = s.split(":")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError("F:SECONDS[:AMP]")
    return float(parts[0]), float(parts[1]), float(parts[2]) if len(parts) == 3 else 0.1


def cmd_tones(args):
    audio = wavaudio.load(args.file, args.format, args.rate, args.channels)
    tones = sorted(args.tone)
    freqs = [t[0] for t in tones]
    # Pure tones under 1/4 of the rate: plain decimation keeps them (cheaper in the VM).
    dec = max(1, int(audio.rate // (4 * max(freqs) * 1.25)))
    x = audio.chans[0][::dec]
    rate = audio.rate / dec
    scale = audio.scale
    win_s = 0.05
    n = int(win_s * rate)
    refs = [freqs[0] * 0.75] + [(f1 + f2) / 2 for f1, f2 in zip(freqs, freqs[1:])] + [freqs[-1] * 1.25]
    window = analysis.hann(n)
    nwin = len(x) // n
    on = [[False] * nwin for _ in tones]
    peak_amp = [0.0] * len(tones)
    floor_max = 0.0
    for w in range(nwin):
        seg = x[w * n:(w + 1) * n]
        floor = max(analysis.goertzel_amp(seg, rate, f, window) for f in refs) / scale
        floor_max = max(floor_max, floor)
        for i, (f, _, amp) in enumerate(tones):
            v = analysis.goertzel_amp(seg, rate, f, window) / scale
            peak_amp[i] = max(peak_amp[i], v)
            on[i][w] = v >= 0.4 * amp and v >= 10 * floor
    together = sum(1 for w in range(nwin) if all(o[w] for o in on)) * win_s
    problems, lines = [], []
    for i, (f, secs, amp) in enumerate(tones):
        have = sum(on[i]) * win_s
        lines.append(f"{f:g} Hz {have:.2f}s (peak {peak_amp[i]:.3f})")
        if have < 0.8 * secs or have > 1.1 * secs + 0.1:
            problems.append(f"{f:g} Hz sounds for {have:.2f}s, expected {secs:g}s (-20%, +10% +0.1s), "
                            f"peak amplitude {peak_amp[i]:.4f} (needs >= {0.4 * amp:.4f} and 20 dB over "
                            f"the between-tone level)")
    summary = f"{', '.join(lines)}; all together {together:.2f}s; between-tone level max {floor_max:.5f}"
    if together < args.together:
        problems.append(f"all {len(tones)} tones sound together for only {together:.2f}s, expected >= {args.together:g}s")
    if problems:
        return fail(f"{args.file}: {'; '.join(problems)} ({summary})")
    print(f"ok: {args.file}: {summary}")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="pcmcheck.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("noise")
    p.add_argument("out")
    p.add_argument("--frames", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--max", type=int, default=32767)
    p = sub.add_parser("sum")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("captured")
    p.add_argument("--max-shift", type=int, default=4096)
    p = sub.add_parser("tones")
    p.add_argument("file")
    p.add_argument("--tone", type=parse_tone, action="append", required=True)
    p.add_argument("--together", type=float, default=0.5)
    p.add_argument("--format", default="s16le")
    p.add_argument("--rate", type=int, default=48000)
    p.add_argument("--channels", type=int, default=2)
    args = ap.parse_args(argv)
    return {"noise": cmd_noise, "sum": cmd_sum, "tones": cmd_tones}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
