# shellcheck shell=bash
# SIGTERM: ossd exits 0 within a few seconds and /dev/dsp is gone.
t_sigterm_exits_clean() {
  ossd_alive || die "ossd is not running ($(ossd_status))"
  kill -TERM "$(cat "$ART/ossd.pid")"
  wait_for 5 test -e "$ART/ossd.rc" || die "ossd still running 5 s after SIGTERM"
  [ "$(cat "$ART/ossd.rc")" = 0 ] || die "ossd exited with status $(cat "$ART/ossd.rc") after SIGTERM, not 0"
  wait_for 2 test ! -e /dev/dsp || die "/dev/dsp still exists after ossd exited"
  echo "ossd exited 0; /dev/dsp removed"
}
