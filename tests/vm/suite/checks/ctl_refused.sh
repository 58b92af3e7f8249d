# shellcheck shell=bash
# A user outside the audio group: the socket (0660, group audio) does not let it in,
# and with the socket opened to all (0666) the daemon itself refuses its change
# (SO_PEERCRED), but not its status. Root's change goes through.
t_ctl_refused() {
  local log=$ART/ctl-refused.log sock=/run/ossd-vmtest/ctl-refused.sock out user=ossdtest
  ctl_ossd ctl-refused 7
  if id "$user" >/dev/null 2>&1; then die "a user $user exists already"; fi
  useradd --no-create-home "$user" || die "useradd $user failed"
  # shellcheck disable=SC2064
  trap "kill -KILL $CTL_PID 2>/dev/null || true; userdel $user 2>/dev/null || true" EXIT
  id "$user"
  ls -l "$sock"
  [ "$(stat -c %a:%G "$sock")" = 660:audio ] || die "the socket is not mode 660, group audio: $(stat -c %a:%G "$sock")"
  out=$(runuser -u "$user" -- timeout 10 "$OSSD" ctl --socket "$sock" master 10 2>&1) && die "$user changed the master volume: $out"
  echo "through the socket's mode: $out"
  grep -q 'join the group audio' <<<"$out" || die "the refusal does not say what to do: $out"
  chmod 0666 "$sock"
  out=$(runuser -u "$user" -- timeout 10 "$OSSD" status --socket "$sock" 2>&1) || die "$user could not read the status: $out"
  out=$(runuser -u "$user" -- timeout 10 "$OSSD" ctl --socket "$sock" master 10 2>&1) && die "$user changed the master volume: $out"
  echo "by the daemon: $out"
  grep -q 'not allowed' <<<"$out" || die "the daemon's refusal does not say 'not allowed': $out"
  grep -q 'master refused to uid' "$log" || die_with_log "$log" "ossd did not log the refusal"
  out=$(timeout 10 "$OSSD" ctl --socket "$sock" master 10 2>&1) || die "root could not change the master volume: $out"
  grep -q 'control: uid 0 .*master' "$log" || die_with_log "$log" "ossd did not log root's change"
  ctl_stop "$log"
  echo "$user refused (socket mode, then the daemon); root's change made and logged"
}
