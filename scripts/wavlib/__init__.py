"""wavlib: the parts of scripts/wavtool.py, which is its command line.

audio (formats, WAV files, tones), analysis (what a capture holds, the verdicts),
picture (PNG pictures), selftest. Python 3 standard library only: it runs on a fresh
machine and inside the test VM. tests/vm/pcmcheck.py uses it too.
"""
