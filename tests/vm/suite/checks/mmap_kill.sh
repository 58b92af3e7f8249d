# shellcheck shell=bash
# A mapped, playing client killed with SIGKILL: it dies at once, ossd stays up,
# and its client is gone from /dev/sndstat.
t_mmap_kill() {
  need_dsp
  need_bin oss_mmap
  local pid i
  "$OSSD_RUN" "$BIN/oss_mmap" -f 500 -s 20 play >"$ART/mmap-kill.log" 2>&1 &
  pid=$!
  # shellcheck disable=SC2064
  trap "kill -KILL $pid 2>/dev/null || true" EXIT
  wait_for 10 grep -q 'GETOSPACE after' "$ART/mmap-kill.log" || die "oss_mmap did not start: $(cat "$ART/mmap-kill.log")"
  sleep 1
  grep -Eq "pid +$pid " /dev/sndstat || die "/dev/sndstat lists no client for the playing oss_mmap (pid $pid)"
  kill -KILL "$pid"
  timeout 5 tail --pid="$pid" -f /dev/null || die "oss_mmap still there 5 s after SIGKILL"
  for i in $(seq 30); do
    grep -Eq "pid +$pid " /dev/sndstat || break
    sleep 0.1
  done
  ! grep -Eq "pid +$pid " /dev/sndstat || die "ossd still lists the killed client (pid $pid) 3 s later"
  ossd_alive || die "ossd $(ossd_status) after the client was killed"
  echo "killed oss_mmap (pid $pid) while it played; its ossd client went within $((i / 10)).$((i % 10)) s"
}
