# shellcheck shell=bash
# shellcheck source=tests/vm/suite/server.sh
. "$SUITE/server.sh"
# A desktop's sound server is PipeWire (issue 19): alice's PipeWire 0.3.65 serves the
# PulseAudio protocol on /run/user/1500/pulse/native and plays to hw:Loopback,0,0, its
# session manager WirePlumber linking streams to it, as a desktop runs them. ossd started
# as root with no --device finds it, says so, runs as alice and plays through it: at most
# one device underrun by its first second of capture, 2 s of a client's tone within 3 s
# (open to close), heard whole and at its pitch on the card's capture side. PipeWire is
# stopped at the end (and PulseAudio, if an earlier check left it running, at the start):
# the card is free after it.
#
# The setup (the host has pipewire, wireplumber and libpipewire-module-protocol-pulse,
# but not Debian's pipewire-pulse package, which conflicts with pulseaudio; nor udev in
# the guest): one `pipewire -c $ART/server-pw.conf` process (so the server program ossd
# names is `pipewire`) with minimal.conf's modules, the session manager's (client-device,
# session-manager) and protocol-pulse on unix:native, and a static ALSA sink node on
# hw:Loopback,0,0 (S16LE 48 kHz stereo, never suspended, as the PulseAudio checks' sink).
# WirePlumber (on a session bus of alice's own, dbus-daemon --session) makes it the
# default sink and links ossd's stream to it; its ALSA, V4L2, libcamera and BlueZ monitors
# are off (no udev, no system bus), as XDG_CONFIG_HOME=$ART/server-pw-xdg says.
SRV_PW_CONF=$ART/server-pw.conf
SRV_PW_XDG=$ART/server-pw-xdg
SRV_BUS=/run/user/$SRV_UID/bus

# pw_start: alice's session bus, PipeWire and WirePlumber; PipeWire's pid in PW_PID.
pw_start() {
  local p
  cat >"$SRV_PW_CONF" <<'CONF'
context.properties = {
    link.max-buffers = 16
    core.daemon = true
    core.name = pipewire-0
    settings.check-quantum = true
    settings.check-rate = true
    default.clock.rate = 48000
    default.clock.allowed-rates = [ 48000 ]
    vm.overrides = {
        default.clock.min-quantum = 1024
    }
}
context.spa-libs = {
    audio.convert.* = audioconvert/libspa-audioconvert
    api.alsa.* = alsa/libspa-alsa
    support.* = support/libspa-support
}
context.modules = [
    { name = libpipewire-module-rt args = { nice.level = -11 } flags = [ ifexists nofail ] }
    { name = libpipewire-module-protocol-native }
    { name = libpipewire-module-profiler }
    { name = libpipewire-module-metadata }
    { name = libpipewire-module-spa-device-factory }
    { name = libpipewire-module-spa-node-factory }
    { name = libpipewire-module-client-node }
    { name = libpipewire-module-client-device }
    { name = libpipewire-module-access args = { } }
    { name = libpipewire-module-adapter }
    { name = libpipewire-module-link-factory }
    { name = libpipewire-module-session-manager }
    { name = libpipewire-module-protocol-pulse
        args = {
            server.address = [ "unix:native" ]
        }
    }
]
context.objects = [
    { factory = spa-node-factory
        args = {
            factory.name = support.node.driver
            node.name = Dummy-Driver
            node.group = pipewire.dummy
            priority.driver = 20000
        }
    }
    { factory = spa-node-factory
        args = {
            factory.name = support.node.driver
            node.name = Freewheel-Driver
            priority.driver = 19000
            node.group = pipewire.freewheel
            node.freewheel = true
        }
    }
    { factory = adapter
        args = {
            factory.name = api.alsa.pcm.sink
            node.name = "loopback"
            node.description = "hw:Loopback,0,0"
            media.class = "Audio/Sink"
            api.alsa.path = "hw:Loopback,0,0"
            audio.format = "S16LE"
            audio.rate = 48000
            audio.channels = 2
            audio.position = "FL,FR"
            priority.driver = 2000
            priority.session = 2000
            node.pause-on-idle = false
            session.suspend-timeout-seconds = 0
        }
    }
]
CONF
  mkdir -p "$SRV_PW_XDG/wireplumber/main.lua.d" "$SRV_PW_XDG/wireplumber/bluetooth.lua.d"
  printf '%s\n' 'alsa_monitor.enabled = false' 'v4l2_monitor.enabled = false' \
    'libcamera_monitor.enabled = false' >"$SRV_PW_XDG/wireplumber/main.lua.d/51-ossd-suite.lua"
  echo 'bluez_monitor.enabled = false' >"$SRV_PW_XDG/wireplumber/bluetooth.lua.d/51-ossd-suite.lua"
  chmod -R a+rX "$SRV_PW_XDG"
  rm -f $SRV_BUS $SRV_SOCK /run/user/$SRV_UID/pipewire-0 /run/user/$SRV_UID/pipewire-0.lock
  set -- setpriv --reuid $SRV_UID --regid $SRV_UID --clear-groups \
    env HOME=/tmp/alice XDG_RUNTIME_DIR=/run/user/$SRV_UID XDG_CONFIG_HOME="$SRV_PW_XDG" \
    DBUS_SESSION_BUS_ADDRESS=unix:path=$SRV_BUS
  "$@" dbus-daemon --session --nofork --nopidfile --address=unix:path=$SRV_BUS >>"$ART/dbus.log" 2>&1 &
  echo $! >"$ART/dbus.pid"
  wait_for 10 test -S $SRV_BUS || die_with_log "$ART/dbus.log" "alice's session bus $SRV_BUS did not appear within 10 s"
  "$@" pipewire -c "$SRV_PW_CONF" >>"$ART/pipewire.log" 2>&1 &
  PW_PID=$!
  echo "$PW_PID" >"$ART/pipewire.pid"
  wait_for 30 test -S $SRV_SOCK || die_with_log "$ART/pipewire.log" "PipeWire's pulse socket $SRV_SOCK did not appear within 30 s"
  "$@" wireplumber >>"$ART/wireplumber.log" 2>&1 &
  echo $! >"$ART/wireplumber.pid"
  # WirePlumber is up when it has made the sink the default one (in the metadata
  # "default", which it makes).
  wait_for 20 sh -c "setpriv --reuid $SRV_UID --regid $SRV_UID --clear-groups env XDG_RUNTIME_DIR=/run/user/$SRV_UID \
    timeout 5 pw-metadata -n default 0 default.audio.sink 2>/dev/null | grep -q '\"name\":\"loopback\"'" ||
    die_with_log "$ART/wireplumber.log" "WirePlumber did not make hw:Loopback,0,0 PipeWire's default sink within 20 s"
  for p in dbus pipewire wireplumber; do
    kill -0 "$(cat "$ART/$p.pid")" 2>/dev/null || die_with_log "$ART/$p.log" "$p exited"
  done
  echo "alice's PipeWire (pid $PW_PID) with WirePlumber (pid $(cat "$ART/wireplumber.pid")) serves $SRV_SOCK"
}

# pw_stop: WirePlumber, PipeWire and the session bus end (SIGTERM, SIGKILL after 5 s).
pw_stop() {
  local p pid
  for p in wireplumber pipewire dbus; do
    pid=$(cat "$ART/$p.pid" 2>/dev/null || true)
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || true
    timeout 5 tail --pid="$pid" -f /dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$ART/$p.pid"
  done
  rm -f $SRV_SOCK $SRV_BUS
}

t_server_pipewire() {
  need_file "$ART/server-2s.s16"
  need_bin oss_write
  command -v pipewire >/dev/null || die "no pipewire on the host"
  command -v wireplumber >/dev/null || die "no wireplumber on the host"
  local log=$ART/server-pipewire.log pa
  pa=$(cat "$ART/pulseaudio.pid" 2>/dev/null || true)
  if [ -n "$pa" ] && kill -0 "$pa" 2>/dev/null; then   # an earlier check's
    pa_stop TERM
    echo "alice's PulseAudio (pid $pa), which an earlier check left running, stopped"
  fi
  server_setup
  trap pw_stop EXIT
  pw_start
  srv_ossd server-pipewire
  # shellcheck disable=SC2064
  trap "kill -KILL $SRV_OSSD 2>/dev/null || true; pw_stop" EXIT
  # ossd's stream, linked by WirePlumber, starts the sink: PipeWire opens the card.
  wait_for 10 grep -q RUNNING /proc/asound/Loopback/pcm0p/sub0/status ||
    die_with_log "$ART/wireplumber.log" "PipeWire does not play to hw:Loopback,0,0 10 s after ossd started (the stream not linked?)"
  grep -E '^(format|rate|channels|period_size|buffer_size):' /proc/asound/Loopback/pcm0p/sub0/hw_params | tr '\n' ' '
  echo
  srv_capture_start server-pipewire
  srv_plays_through server-pipewire pipewire "$PW_PID" "through PipeWire"
  srv_ossd_stop "$log"
  trap - EXIT
  pw_stop
  wait_for 5 grep -q closed /proc/asound/Loopback/pcm0p/sub0/status ||
    die "hw:Loopback,0,0 still open after PipeWire stopped: $(cat /proc/asound/Loopback/pcm0p/sub0/status)"
  echo "PipeWire stopped; hw:Loopback,0,0 is free"
}
