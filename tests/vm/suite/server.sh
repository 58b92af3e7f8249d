# shellcheck shell=bash
# What the sound-server checks (server_*, issue 19) share: a desktop user's PulseAudio
# holding the loopback card, as on the machines most users have. They run last: the
# first one stops the suite's capture and recording source and reloads snd-aloop with
# one subdevice per PCM, so that the card is busy for a second opener as a real card is
# (with 8, a second opener quietly gets another subdevice). PulseAudio runs as user
# alice (uid 1500, created in the guest's /etc overlay), with its socket in
# /run/user/1500/pulse/native as a session's server has it, no D-Bus, and its output on
# hw:Loopback,0,0 at S16_LE 48 kHz stereo; what it plays comes back on hw:Loopback,1,0.
SRV_UID=1500
SRV_SOCK=/run/user/$SRV_UID/pulse/native
SRV_PA=$ART/server-pa.pa

# server_setup: once per boot, the card reloaded and the user made.
server_setup() {
  [ -e "$ART/server.setup" ] && return 0
  local f p
  if ossd_alive; then   # run on their own (--only): the main ossd goes first
    p=$(cat "$ART/ossd.pid")
    kill -TERM "$p"
    timeout 5 tail --pid="$p" -f /dev/null || die "the main ossd still runs 5 s after SIGTERM"
  fi
  touch "$ART/source.stop"
  for f in aplay source-loop arecord; do
    [ -s "$ART/$f.pid" ] || continue
    p=$(cat "$ART/$f.pid")
    kill -TERM "$p" 2>/dev/null || true
    timeout 5 tail --pid="$p" -f /dev/null || kill -KILL "$p" 2>/dev/null || true
  done
  rmmod snd-aloop || die "cannot unload snd-aloop: $(fuser -v /dev/snd/* 2>&1 | tr '\n' ' ')"
  modprobe snd-aloop pcm_substreams=1 index=0 || die "cannot load snd-aloop pcm_substreams=1"
  wait_for 5 test -e /dev/snd/pcmC0D0p || die "no /dev/snd/pcmC0D0p after reloading snd-aloop"
  chmod 666 /dev/snd/*   # no udev (nor logind's ACLs) in the guest
  id alice >/dev/null 2>&1 || useradd -u $SRV_UID -M -d /tmp/alice alice || die "useradd alice failed"
  mkdir -p /tmp/alice /run/user/$SRV_UID
  chown alice:alice /tmp/alice /run/user/$SRV_UID
  chmod 700 /run/user/$SRV_UID
  ip link set lo up || die "ip link set lo up failed"
  cat >"$SRV_PA" <<PA
load-module module-alsa-sink device=hw:Loopback,0,0 rate=48000 format=s16le channels=2 sink_name=loopback
load-module module-native-protocol-unix auth-anonymous=1
load-module module-native-protocol-tcp auth-anonymous=1 listen=127.0.0.1 port=4713
set-default-sink loopback
PA
  touch "$ART/server.setup"
  echo "snd-aloop reloaded with one subdevice per PCM; user alice (uid $SRV_UID)"
}

# pa_start: alice's PulseAudio, holding hw:Loopback,0,0; its pid in PA_PID. Each
# check runs in a subshell of its own: a server that an earlier check started (and
# left running) is found by its pid file, and kept.
pa_start() {
  PA_PID=$(cat "$ART/pulseaudio.pid" 2>/dev/null || true)
  if [ -n "$PA_PID" ] && kill -0 "$PA_PID" 2>/dev/null; then return 0; fi
  server_setup
  setpriv --reuid $SRV_UID --regid $SRV_UID --clear-groups \
    env HOME=/tmp/alice XDG_RUNTIME_DIR=/run/user/$SRV_UID \
    pulseaudio -n -F "$SRV_PA" --daemonize=no --exit-idle-time=-1 --log-level=error \
    >>"$ART/pulseaudio.log" 2>&1 &
  PA_PID=$!
  echo "$PA_PID" >"$ART/pulseaudio.pid"
  wait_for 30 test -S $SRV_SOCK || die_with_log "$ART/pulseaudio.log" "PulseAudio's socket $SRV_SOCK did not appear within 30 s"
  wait_for 5 grep -q RUNNING /proc/asound/Loopback/pcm0p/sub0/status ||
    die_with_log "$ART/pulseaudio.log" "PulseAudio does not hold hw:Loopback,0,0 (it is not running)"
}

# pa_stop [SIGNAL]: alice's PulseAudio ends (SIGTERM, or as said).
pa_stop() {
  PA_PID=$(cat "$ART/pulseaudio.pid" 2>/dev/null || true)
  [ -n "$PA_PID" ] || return 0
  kill "-${1:-TERM}" "$PA_PID" 2>/dev/null || true
  timeout 5 tail --pid="$PA_PID" -f /dev/null || kill -KILL "$PA_PID" 2>/dev/null || true
  wait "$PA_PID" 2>/dev/null || true
  PA_PID=""
  rm -f $SRV_SOCK "$ART/pulseaudio.pid"
}

# srv_capture_start NAME / srv_capture_stop: what the card plays, into $ART/NAME.raw
# (S16_LE 48 kHz stereo, the format PulseAudio opened it with).
srv_capture_start() {
  SRV_CAP=$ART/$1.raw
  timeout 60 arecord -q -D hw:Loopback,1,0 -f S16_LE -r 48000 -c 2 -t raw "$SRV_CAP" 2>"$ART/$1.arecord" &
  SRV_CAP_PID=$!
  wait_for 5 grep -q RUNNING /proc/asound/Loopback/pcm1c/sub0/status || die "arecord on hw:Loopback,1,0 is not running: $(cat "$ART/$1.arecord")"
}
srv_capture_stop() {
  sleep 1
  kill -INT "$SRV_CAP_PID" 2>/dev/null || true
  wait "$SRV_CAP_PID" 2>/dev/null || true
}

# srv_ossd NAME ARGS...: an ossd of the check's own on /dev/dsp-NAME and
# /dev/sndstat-NAME; its pid in SRV_OSSD, its log $ART/NAME.log.
srv_ossd() {
  local name=$1
  shift
  spawn_ossd --dsp "dsp-$name" --audio "" --mixer "" --sndstat "sndstat-$name" --capture-device none \
    "$@" 2>"$ART/$name.log" &
  SRV_OSSD=$!
  # shellcheck disable=SC2064
  trap "kill -KILL $SRV_OSSD 2>/dev/null || true" EXIT
  wait_for 10 test -c "/dev/dsp-$name" || die_with_log "$ART/$name.log" "/dev/dsp-$name did not appear within 10 s"
  wait_for 5 test -c "/dev/sndstat-$name" || die_with_log "$ART/$name.log" "/dev/sndstat-$name did not appear within 5 s"
}
srv_ossd_stop() {
  local rc=0
  kill -TERM "$SRV_OSSD"
  timeout 5 tail --pid="$SRV_OSSD" -f /dev/null || die_with_log "$1" "ossd still running 5 s after SIGTERM"
  wait "$SRV_OSSD" || rc=$?
  [ "$rc" -eq 0 ] || die_with_log "$1" "ossd exited with status $rc after SIGTERM, not 0"
}
# srv_device NAME: the device line of /dev/sndstat-NAME.
srv_device() { grep '^0: ' "/dev/sndstat-$1" || true; }
# srv_underruns NAME: the device underruns /dev/sndstat-NAME's device line counts.
srv_underruns() { sed -n 's/^0: .*, \([0-9]*\) underruns\{0,1\}$/\1/p' "/dev/sndstat-$1"; }

# srv_plays_through NAME PROGRAM PID LABEL: the checks' common end, once ossd (started
# by srv_ossd NAME) and the capture (srv_capture_start NAME) run: ossd said it plays
# through alice's PROGRAM (pid PID), runs as alice, has at most one device underrun by
# its first second, and 2 s of a client's tone take at most 3 s open to close and are
# heard whole at pitch (LABEL names the way in the messages).
srv_plays_through() {
  local name=$1 program=$2 pid=$3 label=$4 log=$ART/$1.log u out ms
  sleep 1
  u=$(srv_underruns "$name")
  srv_device "$name"
  grep -E "alice's sound server \($program, pid $pid\) runs: playing through it, as alice" "$log" ||
    die_with_log "$log" "ossd did not say that it plays through alice's sound server ($program, pid $pid)"
  grep -q "^Uid:[[:space:]]*${SRV_UID}[[:space:]]" "/proc/$SRV_OSSD/status" ||
    die "ossd does not run as alice: $(grep '^Uid:' "/proc/$SRV_OSSD/status")"
  srv_device "$name" | grep -q "^0: server:unix:$SRV_SOCK " || die "ossd does not play through $SRV_SOCK: $(srv_device "$name")"
  echo "device underruns in ossd's first second: $u"
  [ "${u:-9}" -le 1 ] || die_with_log "$log" "$u device underruns in ossd's first second $label (at most 1)"
  out=$(timeout 20 "$BIN/oss_write" -d "/dev/dsp-$name" "$ART/server-2s.s16" S16_LE 48000 2) ||
    die_with_log "$log" "oss_write $label failed: $out"
  echo "$out"
  ms=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) ~ /^ms,?$/) t += $i } END { print t + 0 }' <<<"$out")
  echo "2 s $label took $ms ms, open to close"
  srv_capture_stop
  [ "$ms" -le 3000 ] || die_with_log "$log" "2 s $label took $ms ms (at most 3000)"
  judge "$label" "$ART/$name.raw" --freq 500 --seconds 2.0
  srv_device "$name"
}
