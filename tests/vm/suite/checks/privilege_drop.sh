# shellcheck shell=bash
# --user ossd: the running daemon's uids are the user's, it still plays, and it
# still exits 0 on SIGTERM removing its node. Needs the main ossd gone (it takes
# hw:Loopback,0,0 to be heard). The user is removed afterwards (/etc is an overlay).
t_privilege_drop() {
  need_capture
  ! ossd_alive || die "the main ossd is still running ($PLAY_DEV is taken)"
  local node=/dev/dsp-priv log=$ART/privilege-drop.log pid uid gid rc=0 status
  if id ossd >/dev/null 2>&1; then die "a user ossd exists already: $(id ossd)"; fi
  useradd --system --no-create-home --groups audio ossd || die "useradd --system --no-create-home --groups audio ossd failed"
  trap 'userdel ossd 2>/dev/null || true' EXIT
  uid=$(id -u ossd)
  gid=$(id -g ossd)
  echo "user ossd: $(id ossd)"
  spawn_ossd --device "$PLAY_DEV" --dsp dsp-priv --mixer "" --sndstat "" --capture-device none --user ossd "${OSSD_OPTS[@]}" 2>"$log" &
  pid=$!
  # shellcheck disable=SC2064
  trap "kill -KILL $pid 2>/dev/null || true; userdel ossd 2>/dev/null || true" EXIT
  wait_for 10 test -c "$node" || die_with_log "$log" "$node did not appear within 10 s"
  wait_for 5 grep -q 'dropped privileges' "$log" || die_with_log "$log" "ossd did not log 'dropped privileges'"
  status=$(grep -E '^(Uid|Gid|Groups):' "/proc/$pid/status")
  printf '%s\n' "$status"
  grep -Eq "^Uid:[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}\$" <<<"$status" ||
    die "ossd's uids (real, effective, saved, fs) are not all $uid (ossd): $(grep '^Uid:' <<<"$status")"
  grep -Eq "^Gid:[[:space:]]+${gid}[[:space:]]+${gid}[[:space:]]+${gid}[[:space:]]+${gid}\$" <<<"$status" ||
    die "ossd's gids are not all $gid (ossd's group): $(grep '^Gid:' <<<"$status")"
  begin_capture
  play_to_dsp "$ART/tone-500.u8" "$node" || die_with_log "$log" "cat tone-500.u8 > $node failed (exit status $?)"
  end_capture privilege-drop
  judge capture "$ART/privilege-drop.raw" --freq 500 --seconds 1.0
  kill -TERM "$pid"
  timeout 5 tail --pid="$pid" -f /dev/null || die_with_log "$log" "ossd (as user ossd) still running 5 s after SIGTERM"
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || die_with_log "$log" "ossd (as user ossd) exited with status $rc after SIGTERM, not 0"
  wait_for 2 test ! -e "$node" || die_with_log "$log" "$node still exists after ossd exited"
  echo "ossd ran as uid $uid, played, exited 0 on SIGTERM; $node removed"
}
