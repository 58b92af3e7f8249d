# shellcheck shell=bash
# ossd top under a pseudo-terminal (script): its screen shows the playing client
# (cat) and a meter that moves (the client plays loud, then quiet).
t_ctl_top() {
  need_file "$ART/ctl-loud.u8"
  need_prog script util-linux
  local log=$ART/ctl-top.log sock=/run/ossd-vmtest/ctl-top.sock out=$ART/ctl-top.typescript cpid crc=0 meters
  ctl_ossd ctl-top 6
  # shellcheck disable=SC2064
  trap "kill -KILL $CTL_PID 2>/dev/null || true" EXIT
  timeout 30 sh -c 'exec cat "$1" "$2" > /dev/dsp-ctl-top' cat "$ART/ctl-loud.u8" "$ART/ctl-quiet.u8" &
  cpid=$!
  # 80x24, as a plain terminal; top quits on q (sent after 4 s), or timeout ends it.
  (sleep 4; printf q) | TERM=xterm COLUMNS=80 LINES=24 timeout 10 script -qfec "stty cols 80 rows 24; $OSSD top --socket $sock" "$out" >/dev/null 2>&1 || true
  wait "$cpid" || crc=$?
  [ "$crc" -eq 0 ] || die_with_log "$log" "the client exited with status $crc"
  [ -s "$out" ] || die "ossd top printed nothing"
  grep -aq 'ossd .* clients - q quits' "$out" || die "no top header in its screen: $(head -c 600 "$out" | tr -cd '[:print:]\n')"
  grep -aEq ' cat +play ' "$out" || die "the client (cat) is not on the screen: $(tail -c 800 "$out" | tr -cd '[:print:]\n')"
  meters=$(grep -aoE ' #+\.* +-?[0-9]+\.[0-9]' "$out" | sort -u)
  printf 'meters seen:\n%s\n' "$meters"
  [ "$(wc -l <<<"$meters")" -ge 2 ] || die "the meter did not move: $meters"
  ctl_stop "$log"
  echo "ossd top showed cat and $(wc -l <<<"$meters") different meter readings"
}
