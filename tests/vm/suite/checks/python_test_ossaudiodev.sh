# shellcheck shell=bash
# CPython's own OSS test suite (Debian's libpython3.11-testsuite), a client test nobody
# here wrote: `python3 -m test -v -u audio test_ossaudiodev`. Its five tests open
# /dev/dsp and /dev/mixer, read back the open's name and mode, set format, channels
# and rate (setfmt/channels/speed, setparameters strict and not), call bufsize,
# obufcount, obuffree and getptr, check the methods of closed objects, and play
# audiotest.au (3.51 s of 8012 Hz mono, S16_NE) in one write() whose write and close
# must take within 10% of 3.51 s (paced by the device, close drains). Regrtest calls a
# skipped module (setUpModule: /dev/dsp missing or busy) "1 test OK" unless -v, so the
# verbose output must show every test run and none skipped. The sound must also come
# back: an unbroken 3.3..3.8 s stretch in the capture.
t_python_test_ossaudiodev() {
  need_dsp
  need_capture
  local out rc=0 log=$ART/test_ossaudiodev.log
  begin_capture
  # regrtest's temporary directory goes to TMPDIR (the guest's /tmp is tmpfs); the
  # host's root is read-only here, so no bytecode is written.
  ( cd /tmp && PYTHONDONTWRITEBYTECODE=1 timeout 300 python3 -m test -v -u audio test_ossaudiodev ) >"$log" 2>&1 || rc=$?
  grep -E '^(test_|setUpModule|Ran |OK|FAILED|[0-9]+ tests? |Tests result:)' "$log" || true
  [ "$rc" -eq 0 ] || { echo "--- $log:"; tail -n 40 "$log"; die "python3 -m test -u audio test_ossaudiodev failed (exit status $rc)"; }
  if grep -qi 'skipped' "$log"; then die "test_ossaudiodev was skipped, not run: $(grep -i -m 1 'skipped' "$log")"; fi
  grep -Eq '^Ran [1-9][0-9]* tests? in ' "$log" || die "test_ossaudiodev ran no test (no 'Ran N tests' line)"
  grep -Eq '^OK$' "$log" || die "unittest did not end with a plain 'OK'"
  grep -Eq '^1 test OK\.$' "$log" && grep -Eq '^Tests result: SUCCESS$' "$log" ||
    die "regrtest did not report '1 test OK.' and 'Tests result: SUCCESS'"
  grep -Eq '^test_playback .* \.\.\. ok$' "$log" || die "test_playback did not run and pass"
  end_capture python-test-ossaudiodev
  out=$(wavtool analyze "$ART/python-test-ossaudiodev.raw") || die "wavtool analyze failed: $out"
  echo "capture: $out"
  awk -v s="$(sed -n 's/.*"longest_stretch_seconds": \([0-9.]*\).*/\1/p' <<<"$out")" \
    'BEGIN { exit !(s >= 3.3 && s <= 3.8) }' ||
    die "capture: the longest stretch of sound is not 3.3..3.8 s (audiotest.au is 3.51 s): $out"
}
