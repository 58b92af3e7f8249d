# shellcheck shell=bash
# A client SIGKILLed in close() while it drains 10 s: the kernel keeps it in state D
# until ossd answers, so ossd answers at once (the interrupt the kernel sends for
# the close, from a process a signal is killing) and drops what it queued.
t_kill_in_close() {
  need_dsp
  need_bin oss_write
  need_file "$ART/long-10s.u8"
  local pid i t0 gone state
  "$BIN/oss_write" -b -n "$ART/long-10s.u8" U8 8000 1 >"$ART/kill-in-close.log" 2>&1 &
  pid=$!
  disown "$pid" # no "Killed" notice from this shell: the kill is the point
  # shellcheck disable=SC2064
  trap "kill -KILL $pid 2>/dev/null || true" EXIT
  wait_for 10 grep -Eq "pid +$pid " /dev/sndstat || die "/dev/sndstat lists no client for oss_write (pid $pid): $(cat "$ART/kill-in-close.log")"
  # The writes return at once (its ring holds the 10 s): it is in close() now.
  sleep 1.5
  kill -0 "$pid" 2>/dev/null || die "oss_write (pid $pid) was gone before the kill: $(cat "$ART/kill-in-close.log")"
  state="$(ps -o stat= -p "$pid" | tr -d ' ') in $(cat "/proc/$pid/wchan" 2>/dev/null || echo '?')"
  t0=$(now_ms)
  kill -KILL "$pid"
  timeout 10 tail --pid="$pid" -f /dev/null || die "oss_write still there 10 s after SIGKILL, in state $(ps -o stat= -p "$pid"), waiting in $(cat "/proc/$pid/wchan")"
  gone=$(($(now_ms) - t0))
  for _ in $(seq 30); do
    grep -Eq "pid +$pid " /dev/sndstat || break
    sleep 0.1
  done
  ! grep -Eq "pid +$pid " /dev/sndstat || die "ossd still lists the killed client (pid $pid) 3 s later"
  ossd_alive || die "ossd $(ossd_status) after the client was killed"
  echo "oss_write killed in state $state, 1.5 s into a 10 s drain: gone $gone ms after SIGKILL"
  [ "$gone" -lt 2000 ] || die "the killed client took $gone ms to go (its close drained)"
}
