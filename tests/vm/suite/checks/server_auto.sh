# shellcheck shell=bash
# shellcheck source=tests/vm/suite/server.sh
. "$SUITE/server.sh"
# A desktop's sound server holds the card (issue 19): alice's PulseAudio plays to
# hw:Loopback,0,0. ossd started as root with no --device finds it, says so in one line,
# runs as alice and plays through it: at most one device underrun in its first second,
# 2 s of a client's tone within 3 s (open to close), heard whole and at its pitch on
# the card's capture side.
t_server_auto() {
  need_file "$ART/server-2s.s16"
  need_bin oss_write
  local log=$ART/server-auto.log
  pa_start
  srv_capture_start server-auto
  srv_ossd server-auto
  srv_plays_through server-auto pulseaudio "$PA_PID" "through PulseAudio"
  srv_ossd_stop "$log"
}
