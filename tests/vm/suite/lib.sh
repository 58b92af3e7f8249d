# shellcheck shell=bash disable=SC2034 # the names are for the checks
# tests/vm/suite/lib.sh: what every check of the real-kernel suite (scripts/vm-suite)
# shares: the guest's devices and ossd's options, the artifacts' places, and the
# helpers a check calls. Sourced by scripts/vm-suite on the host (for the names) and
# in the guest (before the checks in tests/vm/suite/checks/); it defines, it runs
# nothing. Runs as root in the VM, from the repo root; everything that waits has a
# timeout.
#
# Helpers: need_dsp, need_capture, need_source, need_bin, need_prog, need_file (a
# check's preconditions, each dying with what is missing); mark/slice (cut a check's
# part out of the capture), begin_capture/end_capture, begin_record/end_record,
# judge (wavtool check with reasons), play_to_dsp, timed_play_to_dsp,
# play_at_barrier, wait_for, now_ms, wavtool, pcmcheck, spawn_ossd, ossd_alive,
# ossd_status, die, die_with_log; for families of checks: conformance_run,
# mmap_play, ctl_ossd/ctl_stop.

ART=$PWD/target/vm-suite
BIN=$ART/bin
WAVTOOL=$PWD/scripts/wavtool.py
PCMCHECK=$PWD/tests/vm/pcmcheck.py

# Loopback: what ossd plays on card 0 device 0 subdevice 0 comes back on device 1.
PLAY_DEV=hw:Loopback,0,0
CAP_DEV=hw:Loopback,1,0
CAP_STATUS=/proc/asound/Loopback/pcm1c/sub0/status
# Recording: aplay plays a tone into subdevice 1; ossd records it from device 1.
SRC_DEV=hw:Loopback,0,1
SRC_STATUS=/proc/asound/Loopback/pcm0p/sub1/status
REC_DEV=hw:Loopback,1,1
SRC_FREQ=750
# The emulated guest underruns with periods under 512 frames (see the VM notes).
OSSD_OPTS=(--period-frames 1024 --periods 4)
# The main ossd mixes at real-time priority (--rt): at normal priority its device
# underran 5 times in 20 idle seconds in this guest (0 with --rt), and an underrun
# inside a check's tone makes aloop replay 4096 stale frames (a failed length check).
MAIN_OSSD_OPTS=(--rt "${OSSD_OPTS[@]}")
# ossd-run and its preload libraries (build.rs): games that mmap /dev/dsp.
OSSD_RUN_ROOT=$PWD/target/ossd-run
OSSD_RUN=$OSSD_RUN_ROOT/bin/ossd-run
SOX_SECONDS=$(awk 'BEGIN { printf "%.9f", 45056 / 44100 }')    # see host_signals
SOX3_SECONDS=$(awk 'BEGIN { printf "%.9f", 110592 / 44100 }')
# ffmpeg's OSS muxer writes whole 4096-byte blocks and drops the last partial one at
# the end (libavdevice/oss_enc.c): 1 s of its 44.1 kHz mono sine is 21 blocks.
FFMPEG_SECONDS=$(awk 'BEGIN { printf "%.9f", 21 * 2048 / 44100 }')
FFMPEG3_SECONDS=$(awk 'BEGIN { printf "%.9f", 107 * 2048 / 44100 }')   # 5 s: 107 blocks

# Set by the runner in the guest: the binary under test, and the capture the
# checks cut their parts from (CAP, a file growing under arecord CAP_PID).
OSSD=${OSSD:-}
CAP=${CAP:-}
CAP_PID=${CAP_PID:-}

# A failed check runs once more only if the stall meter saw the guest stand still
# during it (scripts/vm-suite's check). A check that measured what a stall must
# have been to explain what it saw says so, and the runner then reruns it only if
# the guest stood still that long: needs_guest_stall MS WHY (in one piece: a
# buffer that empties), needs_guest_stall_in_all MS WHY (in all: time lost).
STALL_NEED="# needs a guest stall:"
STALL_NEED_ALL="# needs guest stalls in all:"
needs_guest_stall() { echo "$STALL_NEED $1 ms ($2)"; }
needs_guest_stall_in_all() { echo "$STALL_NEED_ALL $1 ms ($2)"; }

# merge_stalls T0 T1 < STALLS: the stall meter's late wake-ups (tests/vm/stallmeter.c:
# "START_MS LENGTH_MS CPU" a line: that vCPU stood still at least from START for
# LENGTH) that overlap T0..T1 (ms, the realtime clock now_ms reads), cut to it, as
# stalls of the guest: "START END CPUS" a line, in order. Those of the vCPUs that
# overlap, or follow one another by less than 2 ms, are one stall. (A stall of one
# vCPU counts: what ran on it stood still. Between two late wake-ups of one vCPU
# it may have run: they stay two stalls, so a stall is never overstated.)
merge_stalls() {
  awk -v t0="$1" -v t1="$2" '{ s = $1; e = $1 + $2; if (e <= t0 || s >= t1) next
      if (s < t0) s = t0; if (e > t1) e = t1; printf "%.1f %.1f %s\n", s, e, $3 }' | sort -g |
    awk '{ if (n && $1 < ce + 2) { if ($2 > ce) ce = $2; if (index("," cpus ",", "," $3 ",") == 0) cpus = cpus "," $3 }
           else { if (n) print cs, ce, cpus; cs = $1; ce = $2; cpus = $3; n = 1 } }
         END { if (n) print cs, ce, cpus }'
}

die() { echo "$*"; exit 1; }
# die_with_log LOG REASON...: show the tail of LOG (a daemon's stderr) first.
die_with_log() { local log=$1; shift; echo "--- ${log##*/}:"; tail -n 20 "$log" 2>/dev/null || true; die "$@"; }

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
  local deadline=$(($(now_ms) + $1 * 1000))
  shift
  until "$@"; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
wavtool() { timeout 120 python3 "$WAVTOOL" "$@"; }
pcmcheck() { timeout 120 python3 "$PCMCHECK" "$@"; }

# The daemon under test, in the background: pid in ossd.pid, exit status in ossd.rc.
# Started through `env --default-signal`: a non-interactive shell starts background
# commands with SIGINT/SIGQUIT ignored, and a real daemon should see them as from a tty.
# Only use it with &: it execs, so $! is the pid of ossd itself.
spawn_ossd() { exec env --default-signal=INT,QUIT "$OSSD" "$@"; }
ossd_alive() { [ -s "$ART/ossd.pid" ] && [ ! -e "$ART/ossd.rc" ] && kill -0 "$(cat "$ART/ossd.pid")" 2>/dev/null; }
ossd_status() { if ossd_alive; then echo running; elif [ -e "$ART/ossd.rc" ]; then echo "exited with status $(cat "$ART/ossd.rc")"; else echo "never started"; fi; }
need_dsp() { ossd_alive || die "ossd is not running ($(ossd_status))"; [ -c /dev/dsp ] || die "/dev/dsp is not a character device"; }
need_bin() { [ -x "$BIN/$1" ] || die "$BIN/$1 was not built on the host (see helpers_built, $ART/build.log)"; }
need_prog() {
  command -v "$1" >/dev/null 2>&1 ||
    die "$1 is not installed: the guest runs the host's root, so install it on the host (apt-get install $2)"
}
need_file() { [ -s "$1" ] || die "$1 was not made on the host (see the host lines of $ART/console.log)"; }

# play_to_dsp FILE: what an OSS writer does: open /dev/dsp, write, close (the open
# itself may block, so the whole thing runs under timeout).
# shellcheck disable=SC2016 # $1 is for the inner shell
play_to_dsp() { timeout 20 sh -c 'exec cat "$1" > "${2:-/dev/dsp}"' play_to_dsp "$@"; }
# timed_play_to_dsp FILE: the same as `cat FILE > /dev/dsp`, timed by an already
# running shell (starting processes is slow in this guest). Prints the total ms and
# its parts: open, cat (writes; includes starting cat), close (the drain).
# shellcheck disable=SC2016
timed_play_to_dsp() {
  timeout 20 bash -c 't0=$EPOCHREALTIME; exec 3>/dev/dsp; t1=$EPOCHREALTIME
    cat "$1" >&3 || exit; t2=$EPOCHREALTIME; exec 3>&-; t3=$EPOCHREALTIME
    d() { echo $(( (10#${2/./} - 10#${1/./}) / 1000 )); }
    echo "$(d "$t0" "$t3") $(d "$t0" "$t1") $(d "$t1" "$t2") $(d "$t2" "$t3")"' timed_play_to_dsp "$1"
}
# play_at_barrier FIFO FILE: get ready (FIFO.ready.PID), wait until FIFO is opened
# for writing, then `cat FILE > /dev/dsp`. Lines writers up despite slow process start.
# shellcheck disable=SC2016
play_at_barrier() {
  timeout 20 bash -c 'touch "$1.ready.$$"; : <"$1"; cat "$2" > /dev/dsp' play_at_barrier "$@"
}
ready_count_is() {  # ready_count_is FIFO N
  local f n=0
  for f in "$1".ready.*; do [ -e "$f" ] && n=$((n + 1)); done
  [ "$n" -ge "$2" ]
}

# The capture runs for the whole suite, started before ossd, so aloop locks both
# ends to S16_LE 48 kHz stereo whenever ossd opens its side. Checks cut their part
# out of it by byte offsets (mark before, mark after, slice).
capture_running() { [ -n "${CAP_PID:-}" ] && kill -0 "$CAP_PID" 2>/dev/null && grep -q RUNNING "$CAP_STATUS"; }
need_capture() { capture_running || die "the capture (arecord on $CAP_DEV) is not running: $(cat "$ART/arecord.log" 2>/dev/null)"; }
mark() { local n; n=$(stat -c %s "$CAP"); echo $((n / 4 * 4)); }
slice() { dd if="$CAP" of="$3" bs=64k iflag=skip_bytes,count_bytes skip="$1" count=$(($2 - $1)) status=none; }
# begin_capture; ...play...; end_capture NAME: what was captured meanwhile (plus 1 s:
# arecord writes its file a period at a time) lands in $ART/NAME.raw.
# The slice starts 0.1 s before its first sound (analysis is slow in the guest).
# With the main ossd running, an "# underrun:" line says whether its device
# underran meanwhile (read from /dev/sndstat): only a guest stall longer than what
# the device's buffer holds past a period explains that (a shorter one cannot empty
# it), so a failed check reruns only after one that long.
ossd_underruns() { [ -c /dev/sndstat ] && sed -n 's/.*, \([0-9]*\) device underruns$/\1/p' /dev/sndstat 2>/dev/null; }
# device_headroom_ms: what the main ossd's device buffer holds past one period, in ms.
device_headroom_ms() {
  sed -n 's/^0: .* \([0-9]*\) Hz .*, period \([0-9]*\) frames, buffer \([0-9]*\) frames.*/\1 \2 \3/p' /dev/sndstat |
    awk 'NR == 1 { printf "%d", ($3 - $2) * 1000 / $1 }'
}
begin_capture() {
  CAP_S=$(mark)
  CAP_U=$(ossd_underruns || true)
  CAP_H=$(device_headroom_ms || true)
}
end_capture() {
  local e f=$ART/$1.raw first skip=0 u h
  sleep 1
  e=$(mark)
  slice "$CAP_S" "$e" "$f"
  first=$(cmp "$f" /dev/zero 2>/dev/null | sed -n 's/.* differ: [a-z]* \([0-9]*\),.*/\1/p')
  if [ -n "$first" ] && [ "$first" -gt 19201 ]; then
    skip=$(((first - 1 - 19200) / 4 * 4))
    tail -c +$((skip + 1)) "$f" >"$f.tmp" && mv "$f.tmp" "$f"
  fi
  echo "capture slice $1.raw: $(((e - CAP_S - skip) / 4)) frames (after $((skip / 4)) leading silent frames)"
  u=$(ossd_underruns || true)
  if [ -n "${CAP_U:-}" ] && [ -n "$u" ] && [ "$u" -gt "$CAP_U" ]; then
    echo "# underrun: ossd's output device underran $((u - CAP_U)) times while this check played"
    # the smaller buffer, before or after (ossd raises its latency after underruns)
    h=$(device_headroom_ms || true)
    [ -z "${CAP_H:-}" ] || [ -z "$h" ] || [ "$CAP_H" -ge "$h" ] || h=$CAP_H
    needs_guest_stall "${h:-0}" "what ossd's device buffer held past a period: a shorter stall cannot empty it"
  fi
  return 0
}
# judge WHAT FILE [wavtool check options]: FILE must hold the tone; prints wavtool's
# analysis (JSON) and verdict, or dies with its reason.
judge() {
  local what=$1 err
  shift
  if err=$(wavtool check "$@" --json 2>&1 >"$ART/.judge.json"); then
    sed "s|^|$what: |" "$ART/.judge.json"
  else
    echo "$what: $(cat "$ART/.judge.json")"
    die "$what: ${err#FAIL: }"
  fi
}

# The recording source: aplay loops a tone into hw:Loopback,0,1 for the whole run,
# restarted if it ever stops (aplay.log says when). Real-time priority, as the
# guest's stalls would otherwise make it underrun: a gap in what ossd records.
source_loop() {
  local rc
  while [ ! -e "$ART/source.stop" ]; do
    echo "$(date +%T.%N | cut -c1-12) aplay starts" >>"$ART/aplay.log"
    # shellcheck disable=SC2016
    chrt -f 10 bash -c 'while cat "$1"; do :; done' source_loop /tmp/source-750.s16 |
      chrt -f 10 aplay -q -D "$SRC_DEV" -t raw -f S16_LE -r 48000 -c 2 --period-size=1024 --buffer-size=8192 \
        2>>"$ART/aplay.log" &
    echo $! >"$ART/aplay.pid"
    rc=0
    wait $! || rc=$?
    echo "$(date +%T.%N | cut -c1-12) aplay exited with status $rc" >>"$ART/aplay.log"
    sleep 0.2
  done
}
source_running() {
  [ -s "$ART/aplay.pid" ] && kill -0 "$(cat "$ART/aplay.pid")" 2>/dev/null && grep -q RUNNING "$SRC_STATUS"
}
need_source() {
  source_running || die "the recording source (aplay of $SRC_FREQ Hz into $SRC_DEV) is not running: $(tail -n 5 "$ART/aplay.log" 2>/dev/null)"
}
# begin_record; ...record...; end_record: says ("# underrun:") if aplay underran
# meanwhile, which leaves a gap in what ossd records; a guest stall explains that
# only if longer than what aplay's buffer holds past a period (8192 - 1024 frames).
source_underruns() { grep -c '^underrun' "$ART/aplay.log" 2>/dev/null || true; }
begin_record() { REC_U=$(source_underruns); }
end_record() {
  local u
  sleep 0.3   # aplay reports an underrun once it runs again
  u=$(source_underruns)
  if [ "${u:-0}" -gt "${REC_U:-0}" ]; then
    echo "# underrun: aplay (the recording source) underran $((u - REC_U)) times while this check recorded"
    needs_guest_stall $(((8192 - 1024) * 1000 / 48000)) "what aplay's buffer holds past a period: a shorter stall cannot empty it"
  fi
  return 0
}
# ---------------------------------------------------------------- families of checks

conformance_run() {
  need_dsp
  need_source
  need_bin "$1"
  local rc=0 last log=$ART/$1.log
  timeout 900 "$BIN/$1" /dev/dsp >"$log" 2>&1 || rc=$?
  last=$(tail -n 1 "$log")
  grep -E '8 (concurrent|processes)' "$log" || true
  if ! grep -Eq '^oss_conformance: [0-9]+ passed, 0 failed$' <<<"$last"; then
    echo "failing lines of $log:"
    grep -E '^not ok' "$log" || true
    die "$last (exit status $rc); first failure: $(grep -E '^not ok' "$log" | head -n 1)"
  fi
  echo "$last"
}

# ---------------------------------------------------------------- mmap (ossd-run)
# tests/vm/oss_mmap.c is written as the id-engine games' sound drivers are (open
# O_RDWR, RESET, GETCAPS, GETOSPACE before the format, mmap, STEREO, SPEED 11025,
# SETFMT S16_LE, SETTRIGGER 0 then PCM_ENABLE_OUTPUT, then only GETOPTR every
# 10 ms painting a tone 0.1 s ahead of the pointer). Under ossd-run its tone must
# come back whole and at pitch; every run also checks that ossd's client is gone
# after munmap and close.

# mmap_play NAME BIN FREQ SECONDS [oss_mmap options...] MODE: run it under ossd-run,
# judge the capture.
mmap_play() {
  local name=$1 bin=$2 freq=$3 secs=$4 out
  shift 4
  need_dsp
  need_capture
  need_bin "$bin"
  [ -x "$OSSD_RUN" ] || die "$OSSD_RUN was not built (cargo build --release)"
  begin_capture
  out=$(timeout 60 "$OSSD_RUN" "$BIN/$bin" -f "$freq" -s "$secs" "$@" 2>&1) || {
    local rc=$? gap
    # The painter was held up past what it painted ahead ("# held up:"): only a
    # guest stall about as long as its longest gap between two calls (less its own
    # 10 ms sleep and 10 ms of slack) explains that.
    gap=$(sed -n 's/.*longest gap between calls \([0-9]*\)\.[0-9] ms.*/\1/p' <<<"$out")
    if grep -q '^# held up:' <<<"$out" && [ -n "$gap" ]; then
      needs_guest_stall $((gap - 20)) "the client went $gap ms without a GETOPTR call"
    fi
    die "ossd-run $bin $* failed (exit status $rc): $out"
  }
  echo "$out"
  end_capture "$name"
  grep -q '^oss_mmap [a-z]*: ok' <<<"$out" || die "oss_mmap did not finish: $(tail -n 1 <<<"$out")"
  judge capture "$ART/$name.raw" --freq "$freq" --seconds "$secs"
}

# ctl_ossd NAME SUBDEVICE: a second ossd for a control check, on
# hw:Loopback,0,SUBDEVICE with its own nodes (dsp-NAME, sndstat-NAME) and its own
# control socket (/run/ossd-vmtest/NAME.sock: the guest's /run is a tmpfs, and the
# 9p share under $ART takes no sockets); its pid in CTL_PID, its log $ART/NAME.log.
ctl_ossd() {
  local name=$1 sub=$2 log=$ART/$1.log
  spawn_ossd --device "hw:Loopback,0,$sub" --dsp "dsp-$name" --audio "" --mixer "" --sndstat "sndstat-$name" \
    --capture-device none --control-socket "/run/ossd-vmtest/$name.sock" "${OSSD_OPTS[@]}" 2>"$log" &
  CTL_PID=$!
  wait_for 10 test -c "/dev/dsp-$name" || die_with_log "$log" "/dev/dsp-$name did not appear within 10 s"
  wait_for 10 test -S "/run/ossd-vmtest/$name.sock" || die_with_log "$log" "no control socket /run/ossd-vmtest/$name.sock within 10 s"
}
ctl_stop() {  # ctl_stop LOG: SIGTERM the control check's ossd; it exits 0
  local rc=0
  kill -TERM "$CTL_PID"
  timeout 5 tail --pid="$CTL_PID" -f /dev/null || die_with_log "$1" "still running 5 s after SIGTERM"
  wait "$CTL_PID" || rc=$?
  [ "$rc" -eq 0 ] || die_with_log "$1" "exited with status $rc after SIGTERM, not 0"
}
