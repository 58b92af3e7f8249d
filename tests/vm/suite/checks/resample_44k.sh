# shellcheck shell=bash
# 44.1 kHz S16 stereo, resampled to the device's 48 kHz: pitch and length kept.
t_resample_44k() {
  need_dsp
  need_capture
  need_bin oss_write
  need_file "$ART/tone-1k-44k.s16"
  begin_capture
  timeout 20 "$BIN/oss_write" "$ART/tone-1k-44k.s16" S16_LE 44100 2 || die "oss_write tone-1k-44k.s16 failed (exit status $?)"
  end_capture resample-44k
  judge capture "$ART/resample-44k.raw" --freq 1000 --tol-freq 0.005 --seconds 1.0 --tol-len 0.02
}
