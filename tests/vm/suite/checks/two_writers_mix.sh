# shellcheck shell=bash
# Two writers at once: the capture holds both tones, mixed.
t_two_writers_mix() {
  need_dsp
  need_capture
  local p1 p2 r1=0 r2=0 go=/tmp/two-writers.go
  rm -f "$go" "$go".ready.*
  mkfifo "$go"
  begin_capture
  play_at_barrier "$go" "$ART/mix-500.u8" & p1=$!
  play_at_barrier "$go" "$ART/mix-1200.u8" & p2=$!
  wait_for 10 ready_count_is "$go" 2 || die "the two writers were not ready within 10 s"
  exec 4<>"$go"   # open the barrier (read-write: never blocks), both writers go
  sleep 2
  exec 4>&-
  wait "$p1" || r1=$?
  wait "$p2" || r2=$?
  if [ "$r1" -ne 0 ] || [ "$r2" -ne 0 ]; then
    die "writers failed: cat 500 Hz exit $r1, cat 1200 Hz exit $r2"
  fi
  end_capture two-writers
  # Even released together, the two cats start a little apart in this slow guest:
  # allow 30% on the length. The check also wants both tones in the same windows.
  judge capture "$ART/two-writers.raw" --freq 500 --freq2 1200 --seconds 1.0 --tol-len 0.3
}
