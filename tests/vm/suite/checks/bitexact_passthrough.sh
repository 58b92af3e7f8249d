# shellcheck shell=bash
# A stream in the device's own format (S16_LE 48 kHz stereo, what aloop is locked
# to) at full levels comes out bit for bit: 1 s of full-scale pseudo-random frames.
t_bitexact_passthrough() {
  need_dsp
  need_capture
  need_bin oss_write
  need_file "$ART/noise.s16"
  local out
  grep -q 'output opened.*format="S16_LE" rate=48000 channels=2' "$ART/ossd.log" ||
    die "ossd did not open $PLAY_DEV as S16_LE 48000 Hz 2 ch: $(grep 'output opened' "$ART/ossd.log")"
  begin_capture
  timeout 20 "$BIN/oss_write" "$ART/noise.s16" S16_LE 48000 2 || die "oss_write noise.s16 failed (exit status $?)"
  end_capture bitexact
  out=$(wavtool bitexact "$ART/noise.s16" "$ART/bitexact.raw" --frame-bytes 4 2>&1) || die "capture: ${out#bitexact: FAIL: }"
  echo "$out"
}
