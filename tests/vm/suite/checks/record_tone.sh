# shellcheck shell=bash
# ossd records the source's tone, read at the default U8 8 kHz mono and at S16
# 48 kHz stereo (oss_read).

# read_tone NAME FORMAT RATE CHANNELS: oss_read records 1 s; it must hold the
# source's tone, and take about 1 s (recording runs in real time).
read_tone() {
  local name=$1 fmt=$2 rate=$3 ch=$4 out ms wfmt=s16le
  [ "$fmt" = S16_LE ] || wfmt=u8
  begin_record
  out=$(timeout 20 "$BIN/oss_read" "$ART/$name" "$fmt" "$rate" "$ch" 1.0 2>&1) || die "oss_read $fmt $rate $ch failed: $out"
  echo "$out"
  end_record
  ms=$(sed -n 's/.*: \([0-9]*\) ms (first read.*/\1/p' <<<"$out")
  [ -n "$ms" ] || die "no timing in oss_read's output"
  if [ "$ms" -lt 900 ] || [ "$ms" -gt 3000 ]; then
    [ "$ms" -le 3000 ] || needs_guest_stall_in_all $((ms - 3000)) "reading took $ms ms: the time past 3 s"
    die "$name: reading 1 s took $ms ms; expected 900..3000 ms (real time)"
  fi
  judge "$name" "$ART/$name" --format "$wfmt" --rate "$rate" --channels "$ch" --freq "$SRC_FREQ" --seconds 1.0 --tol-len 0.03
}

t_record_tone() {
  need_dsp
  need_source
  need_bin oss_read
  read_tone rec-default.u8 default 8000 1
  read_tone rec-48k.s16 S16_LE 48000 2
}
