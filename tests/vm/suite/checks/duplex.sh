# shellcheck shell=bash
# One O_RDWR fd plays a 1100 Hz tone while it records: the capture has the tone
# played, the data read has the source's tone.
t_duplex() {
  need_dsp
  need_capture
  need_source
  need_bin oss_duplex
  need_file "$ART/duplex-1100.s16"
  local out
  begin_capture
  begin_record
  out=$(timeout 20 "$BIN/oss_duplex" "$ART/duplex-1100.s16" "$ART/duplex-read.s16" 1.0 2>&1) || die "oss_duplex failed: $out"
  echo "$out"
  end_record
  end_capture duplex-played
  judge played "$ART/duplex-played.raw" --freq 1100 --seconds 1.0
  judge read "$ART/duplex-read.s16" --freq "$SRC_FREQ" --seconds 1.0 --tol-len 0.03
}
