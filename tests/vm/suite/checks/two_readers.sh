# shellcheck shell=bash
# Two readers at once (U8 8 kHz mono and S16 48 kHz stereo) both get the tone.
t_two_readers() {
  need_dsp
  need_source
  need_bin oss_read
  local p1 p2 r1=0 r2=0
  begin_record
  timeout 20 "$BIN/oss_read" "$ART/two-readers-1.u8" default 8000 1 1.0 >"$ART/two-readers-1.log" 2>&1 & p1=$!
  timeout 20 "$BIN/oss_read" "$ART/two-readers-2.s16" S16_LE 48000 2 1.0 >"$ART/two-readers-2.log" 2>&1 & p2=$!
  wait "$p1" || r1=$?
  wait "$p2" || r2=$?
  cat "$ART/two-readers-1.log" "$ART/two-readers-2.log"
  end_record
  [ "$((r1 + r2))" -eq 0 ] || die "readers failed: U8 reader exit $r1, S16 reader exit $r2"
  judge reader-1 "$ART/two-readers-1.u8" --format u8 --rate 8000 --channels 1 --freq "$SRC_FREQ" --seconds 1.0 --tol-len 0.03
  judge reader-2 "$ART/two-readers-2.s16" --freq "$SRC_FREQ" --seconds 1.0 --tol-len 0.03
}
