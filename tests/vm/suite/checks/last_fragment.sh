# shellcheck shell=bash
# cat writes 0.3 s and closes without SYNC: close drains, the whole 0.3 s is heard.
t_last_fragment() {
  need_dsp
  need_capture
  local times ms t_open t_cat t_close
  begin_capture
  times=$(timed_play_to_dsp "$ART/last-300ms.u8") || die "cat last-300ms.u8 > /dev/dsp failed (exit status $?)"
  read -r ms t_open t_cat t_close <<<"$times"
  end_capture last-fragment
  echo "cat took $ms ms (open $t_open, writes $t_cat, close $t_close)"
  judge capture "$ART/last-fragment.raw" --freq 500 --seconds 0.3 --tol-len 0.03
}
