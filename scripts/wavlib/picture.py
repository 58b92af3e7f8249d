"""wavlib.picture: PNG pictures of a capture: the waveform alone (png), and the
labelled waveform over a spectrogram (picture)."""

import math
import struct
import zlib

from wavlib.analysis import mid_signal

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
