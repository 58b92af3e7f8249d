# shellcheck shell=bash
# shellcheck source=tests/vm/suite/server.sh
. "$SUITE/server.sh"
# The sound server is killed (SIGKILL) under a playing client and started again a
# second later, as a session that ends and begins (issue 19): the client plays on
# (on ossd's stand-in clock meanwhile) and exits 0 in about its time, ossd says the
# server went and came back, and a client after that is heard through the new server.
t_server_restart() {
  need_file "$ART/server-4s.u8"
  need_file "$ART/server-660.u8"
  local log=$ART/server-restart.log cpid crc=0 t0 ms
  pa_start
  srv_ossd server-restart
  wait_for 5 grep -q "^0: server:" "/dev/sndstat-server-restart" || die_with_log "$log" "ossd does not play through the server: $(srv_device server-restart)"
  t0=$(now_ms)
  (
    t=$(now_ms)
    play_to_dsp "$ART/server-4s.u8" /dev/dsp-server-restart || exit
    echo $(($(now_ms) - t)) >"$ART/server-restart.client-ms"
  ) &
  cpid=$!
  sleep 1
  pa_stop KILL
  wait_for 6 grep -q "output device server:unix:$SRV_SOCK failed" "$log" || die_with_log "$log" "ossd did not notice the server going within 6 s"
  grep "output device server:unix:$SRV_SOCK failed" "$log"
  sleep 1
  pa_start
  wait "$cpid" || crc=$?
  ms=$(cat "$ART/server-restart.client-ms" 2>/dev/null || echo "?")
  echo "the 4 s client exited with status $crc after $ms ms (the server came back after $(($(now_ms) - t0)) ms)"
  [ "$crc" -eq 0 ] || die_with_log "$log" "the client playing across the restart exited with status $crc"
  # Paced by the stand-in while the server is away: its own time, and what
  # noticing the server's going took.
  [ "$ms" -le 6000 ] || die_with_log "$log" "the 4 s client took $ms ms across the restart (at most 6000)"
  kill -0 "$SRV_OSSD" || die_with_log "$log" "ossd is gone"
  wait_for 5 sh -c "grep -q 'is back after' '$log'" || die_with_log "$log" "ossd logged no 'is back' line within 5 s of the new server"
  grep 'is back after' "$log"
  srv_capture_start server-restart
  play_to_dsp "$ART/server-660.u8" /dev/dsp-server-restart || die_with_log "$log" "the client after the restart failed (exit status $?)"
  srv_capture_stop
  judge "through the new server" "$ART/server-restart.raw" --freq 660 --seconds 1.0
  srv_ossd_stop "$log"
}
