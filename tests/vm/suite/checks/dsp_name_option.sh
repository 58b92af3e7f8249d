# shellcheck shell=bash
# --dsp NAME makes /dev/NAME (here on another aloop subdevice), removed on SIGINT.
t_dsp_name_option() {
  local pid rc=0
  spawn_ossd --device hw:Loopback,0,2 --dsp dsp-vmtest --capture-device none "${OSSD_OPTS[@]}" 2>"$ART/dsp-name.log" &
  pid=$!
  local log=$ART/dsp-name.log
  wait_for 10 test -c /dev/dsp-vmtest ||
    { kill -KILL "$pid" 2>/dev/null || true; die_with_log "$log" "/dev/dsp-vmtest did not appear within 10 s"; }
  if ! ossd_alive && [ -e /dev/dsp ]; then die_with_log "$log" "/dev/dsp appeared too"; fi
  kill -INT "$pid"
  timeout 5 tail --pid="$pid" -f /dev/null || { kill -KILL "$pid"; die_with_log "$log" "still running 5 s after SIGINT"; }
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || die_with_log "$log" "exited with status $rc after SIGINT, not 0"
  [ ! -e /dev/dsp-vmtest ] || die_with_log "$log" "/dev/dsp-vmtest still exists after exit"
  echo "/dev/dsp-vmtest came and went; exit 0 on SIGINT"
}
