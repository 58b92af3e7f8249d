# shellcheck shell=bash
# A client parked in one long write() when ossd gets SIGTERM: the write returns
# (an error or a short count) within 2 s, ossd exits 0, the node goes away.
# Its own ossd on hw:Loopback,0,3.
t_sigterm_with_parked_client() {
  need_bin oss_write
  need_file "$ART/long-10s.u8"
  local node=/dev/dsp-term log=$ART/sigterm-parked.log clog=$ART/sigterm-client.log pid cpid rc=0 t_kill line n at
  spawn_ossd --device hw:Loopback,0,3 --dsp dsp-term --mixer "" --sndstat "" --capture-device none "${OSSD_OPTS[@]}" 2>"$log" &
  pid=$!
  # shellcheck disable=SC2064
  trap "kill -KILL $pid 2>/dev/null || true" EXIT
  wait_for 10 test -c "$node" || die_with_log "$log" "$node did not appear within 10 s"
  "$BIN/oss_write" -1 -d "$node" "$ART/long-10s.u8" U8 8000 1 >"$clog" 2>&1 &
  cpid=$!
  # shellcheck disable=SC2064
  trap "kill -KILL $pid $cpid 2>/dev/null || true" EXIT
  sleep 1.5   # the 10 s write is parked by now
  kill -0 "$cpid" 2>/dev/null || die "the client ended before SIGTERM: $(cat "$clog")"
  t_kill=$(now_ms)
  kill -TERM "$pid"
  timeout 10 tail --pid="$cpid" -f /dev/null || die_with_log "$log" "the client is still in write() 10 s after ossd got SIGTERM"
  wait "$cpid" || die "the client failed (exit status $?): $(cat "$clog")"
  cat "$clog"
  line=$(grep '^write returned' "$clog") || die "the client printed no result: $(cat "$clog")"
  n=$(sed -n 's/^write returned \(-\{0,1\}[0-9]*\) .*/\1/p' <<<"$line")
  at=$(sed -n 's/.* at \([0-9]*\);.*/\1/p' <<<"$line")
  echo "write() returned $((at - t_kill)) ms after SIGTERM"
  [ "$((at - t_kill))" -le 2000 ] || die_with_log "$log" "write() returned $((at - t_kill)) ms after SIGTERM; expected within 2000 ms"
  [ "$n" -lt "$(stat -c %s "$ART/long-10s.u8")" ] || die "write() returned the full count $n: it was not parked when ossd stopped"
  timeout 5 tail --pid="$pid" -f /dev/null || die_with_log "$log" "ossd still running 5 s after SIGTERM"
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || die_with_log "$log" "ossd exited with status $rc after SIGTERM, not 0"
  wait_for 2 test ! -e "$node" || die_with_log "$log" "$node still exists after ossd exited"
  echo "ossd exited 0; $node removed"
}
