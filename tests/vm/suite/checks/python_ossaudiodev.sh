# shellcheck shell=bash
# Python's ossaudiodev plays 1 s of 44.1 kHz S16 stereo; setfmt, channels and speed
# take what was asked.
t_python_ossaudiodev() {
  need_dsp
  need_capture
  need_file "$ART/tone-550-44k.s16"
  local out
  begin_capture
  # shellcheck disable=SC2016
  out=$(timeout 30 python3 -W ignore -c 'import ossaudiodev as o, sys
d = o.open("w")
got = (d.setfmt(o.AFMT_S16_LE), d.channels(2), d.speed(44100))
print("setfmt, channels, speed took", got)
d.writeall(open(sys.argv[1], "rb").read())
d.close()
sys.exit(0 if got == (o.AFMT_S16_LE, 2, 44100) else 3)' "$ART/tone-550-44k.s16" 2>&1) || die "python3 ossaudiodev player failed (exit status $?): $out"
  echo "$out"
  end_capture python-ossaudiodev
  judge capture "$ART/python-ossaudiodev.raw" --freq 550 --seconds 1.0
}
