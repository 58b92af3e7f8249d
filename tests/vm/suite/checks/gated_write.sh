# shellcheck shell=bash
# A blocking write() that can never complete (issue 20): with the output triggered
# off (SETTRIGGER 0), one write() of the free buffer plus 4 KiB returns within 2 s
# with what fitted (the free bytes), as OSS 4's, FreeBSD's and the kernel's drivers
# answer, instead of waiting for a start only its own program could make.
t_gated_write() {
  need_dsp
  need_bin oss_probe
  local out rc=0 free n ms
  out=$(timeout 60 "$BIN/oss_probe" gated 2>&1) || rc=$?
  echo "$out"
  [ "$rc" -eq 0 ] || die "oss_probe gated failed (exit status $rc; 3: the write() hung)"
  free=$(sed -n 's/^gated: GETOSPACE .*, \([0-9]*\) B free$/\1/p' <<<"$out" | head -n 1)
  n=$(sed -n 's/^gated, output triggered off: write([0-9]*) = \([0-9]*\) after [0-9]* ms$/\1/p' <<<"$out")
  ms=$(sed -n 's/^gated, output triggered off: write([0-9]*) = [0-9]* after \([0-9]*\) ms$/\1/p' <<<"$out")
  { [ -n "$free" ] && [ -n "$n" ]; } || die "the write() did not return a count"
  [ "$n" -eq "$free" ] || die "the write() returned $n, not the $free bytes that fitted"
  [ "$ms" -le 2000 ] || die "the write() returned after $ms ms"
}
