"""wavlib.audio: samples in and out: the raw formats, WAV files, and test tones."""

import array
import math
import struct
import sys

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
