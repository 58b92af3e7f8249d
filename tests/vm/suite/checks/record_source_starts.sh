# shellcheck shell=bash
# Started before ossd, so aloop locks ossd's capture side to aplay's S16_LE 48 kHz stereo.
t_record_source_starts() {
  need_file "$ART/source-750.s16"
  cp "$ART/source-750.s16" /tmp/   # tmpfs: a read over 9p can stall longer than aplay's buffer
  ( set +eE; trap - ERR; source_loop ) >/dev/null 2>&1 &
  echo $! >"$ART/source-loop.pid"
  wait_for 5 source_running || die "aplay on $SRC_DEV not running after 5 s: $(cat "$ART/aplay.log")"
  echo "playing $SRC_FREQ Hz S16_LE 48000 Hz 2ch into $SRC_DEV, in a loop (aplay pid $(cat "$ART/aplay.pid"))"
}
