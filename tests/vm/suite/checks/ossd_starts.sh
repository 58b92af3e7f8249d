# shellcheck shell=bash
# ossd starts and /dev/dsp appears as a character device.
t_ossd_starts() {
  [ -c /dev/cuse ] || die "no /dev/cuse in the guest"
  [ ! -e /dev/dsp ] || die "/dev/dsp exists before ossd started"
  local t0 opts=(--device "$PLAY_DEV" --capture-device "$REC_DEV" "${MAIN_OSSD_OPTS[@]}")
  t0=$(now_ms)
  (
    set +eE
    trap - ERR
    spawn_ossd "${opts[@]}" 2>"$ART/ossd.log" &
    echo $! >"$ART/ossd.pid"
    wait $!
    echo $? >"$ART/ossd.rc"
  ) >/dev/null &
  disown
  echo "started: $OSSD ${opts[*]}"
  if ! wait_for 10 test -c /dev/dsp; then
    ossd_alive || die "ossd $(ossd_status) before /dev/dsp appeared"
    die "/dev/dsp did not appear within 10 s"
  fi
  echo "/dev/dsp appeared after $(($(now_ms) - t0)) ms: $(ls -l /dev/dsp)"
  sleep 0.5
  ossd_alive || die "ossd $(ossd_status) right after creating /dev/dsp"
  grep 'output opened' "$ART/ossd.log" || true
}
