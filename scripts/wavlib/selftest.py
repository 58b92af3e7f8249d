"""wavlib.selftest: wavtool checks itself on synthetic signals (`wavtool.py selftest`)."""

import array
import contextlib
import io
import json
import math
import os
import struct
import tempfile

from wavlib.analysis import analyze, bitexact, run_check, tone_timeline
from wavlib.audio import Audio, decode, encode, read_wav, tone_samples
from wavlib.picture import fft, write_png


def mk(freq, secs, rate, ch, fmt, amp=0.5, pre=0.0, post=0.0, freq2=None):
    s = [0.0] * int(round(pre * rate)) * ch
    s += tone_samples(freq, secs, rate, ch, amp, freq2=freq2)
    s += [0.0] * int(round(post * rate)) * ch
    return s


def audio_of(samples, rate, ch, fmt):
    return Audio(decode(encode(samples, fmt), fmt, ch), rate, fmt)


def selftest(main):
    """Runs every group below; `main` is wavtool's command line, which some of them
    call. Prints one ok/not ok line per expectation; returns the exit status."""
    failures = []

    def expect(name, cond, detail=""):
        print(("ok - " if cond else "not ok - ") + name + ("" if cond else f": {detail}"))
        if not cond:
            failures.append(name)

    tmp = tempfile.mkdtemp(prefix="wavtool-selftest.")
    tones_and_gaps(expect, main, tmp)
    mixes(expect)
    files(expect, main, tmp)
    for fn in os.listdir(tmp):
        os.unlink(os.path.join(tmp, fn))
    os.rmdir(tmp)
    print(f"selftest: {'FAILED ' + str(len(failures)) if failures else 'all passed'}")
    return 1 if failures else 0


def tones_and_gaps(expect, main, tmp):
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


def mixes(expect):
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


def files(expect, main, tmp):
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
