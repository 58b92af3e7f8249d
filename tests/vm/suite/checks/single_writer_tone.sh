# shellcheck shell=bash
# One writer: 1 s of U8 8 kHz mono 500 Hz comes back as 1 s of 500 Hz on both
#    channels without a gap, and cat takes about 1 s (paced by the device; close drains).
t_single_writer_tone() {
  need_dsp
  need_capture
  local times ms t_open t_cat t_close
  begin_capture
  times=$(timed_play_to_dsp "$ART/tone-500.u8") || die "cat tone-500.u8 > /dev/dsp failed (exit status $?)"
  read -r ms t_open t_cat t_close <<<"$times"
  end_capture single-writer
  echo "cat took $ms ms (open $t_open, writes $t_cat, close $t_close)"
  judge capture "$ART/single-writer.raw" --freq 500 --seconds 1.0
  if [ "$ms" -lt 800 ] || [ "$ms" -gt 3000 ]; then
    [ "$ms" -le 3000 ] || needs_guest_stall_in_all $((ms - 3000)) "cat took $ms ms: the time past 3 s"
    die "cat took $ms ms for 1 s of sound; expected 800..3000 ms (writes paced by the device, close drains)"
  fi
}
