# shellcheck shell=bash
# /dev/mixer PCM at 50 (python's ossaudiodev): a tone comes out 25 dB lower (ossd's
# 50 dB taper). Back to 100 afterwards, whatever happens.
mixer_pcm() {  # mixer_pcm LEVEL: set PCM to LEVEL:LEVEL, print what it reads back
  # shellcheck disable=SC2016
  timeout 30 python3 -W ignore -c 'import ossaudiodev as o, sys
m = o.openmixer(); v = int(sys.argv[1]); m.set(o.SOUND_MIXER_PCM, (v, v)); print(m.get(o.SOUND_MIXER_PCM)); m.close()' "$1"
}

t_mixer_volume() {
  need_dsp
  need_capture
  need_bin oss_write
  need_file "$ART/vol-1k.s16"
  [ -c /dev/mixer ] || die "/dev/mixer is not a character device"
  local got out rms db
  trap 'mixer_pcm 100 >/dev/null 2>&1 || true' EXIT
  got=$(mixer_pcm 50 2>&1) || die "setting /dev/mixer PCM to 50 with ossaudiodev failed: $got"
  [ "$got" = "(50, 50)" ] || die "/dev/mixer PCM reads back $got after setting (50, 50)"
  echo "PCM set to $got"
  begin_capture
  timeout 20 "$BIN/oss_write" "$ART/vol-1k.s16" S16_LE 48000 2 || die "oss_write vol-1k.s16 failed (exit status $?)"
  end_capture mixer-volume
  got=$(mixer_pcm 100 2>&1) || die "setting /dev/mixer PCM back to 100 failed: $got"
  [ "$got" = "(100, 100)" ] || die "/dev/mixer PCM reads back $got after setting (100, 100)"
  echo "PCM set back to $got"
  out=$(wavtool check "$ART/mixer-volume.raw" --freq 1000 --seconds 1.0 --json 2>&1) || { echo "$out"; die "capture: ${out##*FAIL: }"; }
  echo "$out"
  rms=$(sed -n 's/.*"rms": \[\([0-9.e-]*\),.*/\1/p' <<<"$out")
  [ -n "$rms" ] || die "no rms in wavtool's analysis"
  # played at amplitude 0.5: rms 0.5/sqrt(2); expected gain(50) = -25 dB
  db=$(awk -v r="$rms" 'BEGIN { printf "%.2f", 20 * log(r / (0.5 / sqrt(2))) / log(10) }')
  echo "level: rms $rms = $db dB relative to the 0.5-amplitude tone played; expected -25.00 dB"
  awk -v d="$db" 'BEGIN { exit !(d >= -25.2 && d <= -24.8) }' ||
    die "PCM 50: the tone came out at $db dB, expected -25 dB +-0.2 (ossd's 50 dB taper)"
}
