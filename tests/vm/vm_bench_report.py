#!/usr/bin/env python3
"""vm_bench_report: scripts/vm-bench's tables and results.json, from what the run
left in its artifacts directory (target/vm-bench/: console.log, lat-*.txt,
guest-results.txt, host-load.txt, ...).

  python3 tests/vm/vm_bench_report.py ART_DIR OSSD_PATH
"""
import array, json, os, re, sys
art, ossd = sys.argv[1], sys.argv[2]

def kv(line):
    return dict(t.split('=', 1) for t in line.split() if '=' in t)

def num(v):
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v

runs = []
for line in open(os.path.join(art, 'guest-results.txt')) if os.path.exists(os.path.join(art, 'guest-results.txt')) else []:
    kind, _, rest = line.strip().partition(' ')
    d = {k: num(v) for k, v in kv(rest).items()}
    d['kind'] = kind
    runs.append(d)

# --- latency
lat = []
for r in [r for r in runs if r['kind'] == 'lat']:
    res = {'period_frames': r['period'], 'periods': r['periods'], 'exit_status': r['rc'], 'clicks': []}
    path = os.path.join(art, r['file'])
    for line in open(path) if os.path.exists(path) else []:
        if line.startswith('RESULT '):
            for k, v in kv(line[7:]).items():
                res[k] = num(v)
            m = re.match(r'RESULT click_spacing_exact=(\d+) of (\d+)', line)
            if m:
                res['click_spacing_exact'] = int(m.group(1))
                res['click_spacing_pairs'] = int(m.group(2))
        elif re.match(r'\s*\d+\s', line):
            f = line.split()
            c = {'click': int(f[0]), 'predicted_ms': float(f[2]), 'odelay_bytes': int(f[4]),
                 'getodelay_us': float(f[5])}
            if f[1] != 'missing':
                c.update(measured_ms=float(f[1]), diff_ms=float(f[3]), capture_frame=int(f[6]))
            res['clicks'].append(c)
    res['ossd_underruns_total'] = r.get('underruns', -1)
    lat.append(res)

# --- CPU: each run's own capture (S16_LE stereo 48 kHz), checked for sound and holes
def check_capture(name):
    path = os.path.join(art, name)
    if not os.path.exists(path):
        return {'missing': True}
    s = array.array('h')
    data = open(path, 'rb').read()
    s.frombytes(data[:len(data) // 4 * 4])
    if sys.byteorder != 'little':
        s.byteswap()
    block = 480  # 10 ms
    nz = [any(s[i * 2 * block:(i + 1) * 2 * block]) for i in range(len(s) // 2 // block)]
    if not any(nz):
        return {'sound_s': 0.0, 'longest_s': 0.0, 'holes': 0, 'hole_ms': 0, 'peak': 0}
    first = nz.index(True)
    last = len(nz) - 1 - nz[::-1].index(True)
    holes = hole_blocks = run = longest = 0
    prev = True
    for x in nz[first:last + 1]:
        if x:
            run += 1
            longest = max(longest, run)
        else:
            run = 0
            hole_blocks += 1
            if prev:
                holes += 1
        prev = x
    return {'sound_s': round((last - first + 1) * block / 48000, 2), 'longest_s': round(longest * block / 48000, 2),
            'holes': holes, 'hole_ms': hole_blocks * 10, 'peak': round(max(abs(v) for v in s) / 32768, 3)}

load = [l.split() for l in open(os.path.join(art, 'host-load.txt'))] if os.path.exists(os.path.join(art, 'host-load.txt')) else []
def host_load(t0, t1):
    l = [float(x[1]) for x in load if t0 - 5 <= int(x[0]) <= t1 + 5]
    return max(l) if l else None

cpu_runs = []
for r in [r for r in runs if r['kind'] == 'cpu']:
    n, path = r['n'], r['path']
    e = {'path': path, 'n': n, 'rep': r['rep'], 'wall_s': r['wall_ms'] / 1000, 'client_failures': r['fails'],
         'clients_cpu_s': (r['clients_user_ms'] + r['clients_sys_ms']) / 1000,
         'clients_user_s': r['clients_user_ms'] / 1000, 'clients_sys_s': r['clients_sys_ms'] / 1000,
         'calib_ms': r['calib_ms'], 'host_load_max': host_load(r['epoch_from'], r['epoch_to'])}
    if path == 'ossd':
        tck = r['clk_tck']
        e['ossd_cpu_s'] = r['ossd_ticks'] / tck
        e['ossd_idle_cpu_per_s'] = round(r['idle_ticks'] / tck / (r['idle_ms'] / 1000), 4)
        e['total_cpu_s'] = round(e['ossd_cpu_s'] + e['clients_cpu_s'], 3)
        e['underruns'] = r['underruns']
        # Per thread, "name:ticks,...", as CPU seconds.
        e['thread_ticks'] = ', '.join(
            '%s %.2f s' % (k, int(v) / tck) for k, v in
            (t.rsplit(':', 1) for t in str(r.get('thread_ticks', '')).split(',') if ':' in t))
    else:
        e['total_cpu_s'] = round(e['clients_cpu_s'], 3)
        e['underruns'] = r['underrun_msgs']
    e['capture'] = check_capture(r['capture'])
    e['per_stream_cpu_s'] = round(e['total_cpu_s'] / n, 3)
    cpu_runs.append(e)

def med(v):
    v = sorted(v)
    return (v[(len(v) - 1) // 2] + v[len(v) // 2]) / 2 if v else float('nan')

# ossd's idle cost (mixing silence, no client): the median over all ossd runs of
# 3 s measured before each run (one 3 s window is noisy in this guest)
idle_rate = med([e['ossd_idle_cpu_per_s'] for e in cpu_runs if e['path'] == 'ossd'])
for e in cpu_runs:
    if e['path'] == 'ossd':
        e['ossd_minus_idle_s'] = round(e['ossd_cpu_s'] - idle_rate * e['wall_s'], 3)

cpu = {}
for n in sorted({e['n'] for e in cpu_runs}):
    row = {'n': n}
    for path in ('ossd', 'dmix'):
        rs = [e for e in cpu_runs if e['n'] == n and e['path'] == path]
        if not rs:
            continue
        t = [e['total_cpu_s'] for e in rs]
        agg = {'runs': len(rs), 'total_cpu_s_median': round(med(t), 3), 'total_cpu_s_min': min(t),
               'total_cpu_s_max': max(t), 'per_stream_cpu_s_median': round(med(t) / n, 3),
               'wall_s_median': round(med([e['wall_s'] for e in rs]), 2),
               'underruns': [e['underruns'] for e in rs], 'client_failures': sum(e['client_failures'] for e in rs),
               'longest_sound_s': [e['capture'].get('longest_s') for e in rs],
               'holes': [e['capture'].get('holes') for e in rs]}
        if path == 'ossd':
            agg['daemon_cpu_s_median'] = round(med([e['ossd_cpu_s'] for e in rs]), 3)
            agg['clients_cpu_s_median'] = round(med([e['clients_cpu_s'] for e in rs]), 3)
            agg['daemon_minus_idle_cpu_s_median'] = round(med([e['ossd_minus_idle_s'] for e in rs]), 3)
        row[path] = agg
    if 'ossd' in row and 'dmix' in row and row['dmix']['total_cpu_s_median']:
        row['ratio_ossd_over_dmix'] = round(row['ossd']['total_cpu_s_median'] / row['dmix']['total_cpu_s_median'], 2)
    cpu[n] = row

info = {}
for line in open(os.path.join(art, 'guest-results.txt')) if os.path.exists(os.path.join(art, 'guest-results.txt')) else []:
    if line.startswith('info '):
        info.update(kv(line[5:]))
build = {}
if os.path.exists(os.path.join(art, 'build-info.txt')):
    build = kv(open(os.path.join(art, 'build-info.txt')).read())
out = {'ossd': ossd, 'build': build, 'ossd_idle_cpu_per_s_median': idle_rate, 'guest': info,
       'host_nproc': os.cpu_count(),
       'host_load_1min': [float(l[1]) for l in load],
       'latency': lat, 'cpu': [cpu[n] for n in sorted(cpu)], 'cpu_runs': cpu_runs}
json.dump(out, open(os.path.join(art, 'results.json'), 'w'), indent=1)

print()
print('=== Latency: write() returning -> click on hw:Loopback,1,0 (ms; T1 error 0..4 ms, one jiffy)')
print('%-9s %6s %9s %9s %8s %8s %8s %9s %10s %9s %8s %8s' % (
    'ossd', 'clicks', 'ring', 'dev buf', 'config', 'median', 'p90', 'max', 'predicted', 'meas-pred', 'GETODLY', 'underrun'))
print('%-9s %6s %9s %9s %8s %8s %8s %9s %10s %9s %8s %8s' % (
    '', 'match', 'ms', 'ms', 'total', 'meas', 'meas', 'meas', 'median', 'mean', 'us med', 'dur.run'))
for r in lat:
    if 'measured_median_ms' not in r:
        print('%-9s  no result (latency exit status %s)' % ('%d/%d' % (r['period_frames'], r['periods']), r['exit_status']))
        continue
    dev_ms = r['device_buffer_frames'] * 1000 / 48000
    print('%-9s %6s %9.1f %9.1f %8.1f %8.1f %8.1f %9.1f %10.1f %9.2f %8.0f %8s' % (
        '%d/%d' % (r['period_frames'], r['periods']), '%d/%d' % (r['matched'], r['clicks']),
        r['ring_ms'], dev_ms, r['configured_ms'], r['measured_median_ms'], r['measured_p90_ms'],
        r['measured_max_ms'], r['predicted_median_ms'], r['diff_mean_ms'], r['getodelay_median_us'],
        r['device_underruns_during']))
for r in lat:
    if 'click_spacing_pairs' in r:
        print('  %d/%d: clicks exactly K fragments apart in the capture: %d of %d pairs; fragment %d B x %d; '
              'simple-method T1 minus htstamp T1: %+.2f ms' % (
                  r['period_frames'], r['periods'], r['click_spacing_exact'], r['click_spacing_pairs'],
                  r['frag_bytes'], r['frags'], r['simple_minus_htstamp_mean_ms']))

print()
print('=== CPU: N clients x 10 s of S16_LE 2 ch 44.1 kHz -> 48 kHz; ossd (1024/4) vs dmix (1024/4096); guest CPU s, median of the runs [min-max]')
print('%3s %8s %8s %8s %19s %19s %6s %9s %9s %7s %7s' % (
    'N', 'ossd', 'ossd', 'oss_play', 'ossd + clients', 'dmix (aplays)', 'ratio', 'per strm', 'per strm', 'wall s', 'wall s'))
print('%3s %8s %8s %8s %19s %19s %6s %9s %9s %7s %7s' % (
    '', 'daemon', '-idle', 'clients', 'total', 'total', 'o/d', 'ossd', 'dmix', 'ossd', 'dmix'))
for n in sorted(cpu):
    row = cpu[n]
    o, d = row.get('ossd'), row.get('dmix')
    if not o or not d:
        print('%3d incomplete' % n)
        continue
    print('%3d %8.2f %8.2f %8.2f %19s %19s %6.2f %9.3f %9.3f %7.1f %7.1f' % (
        n, o['daemon_cpu_s_median'], o['daemon_minus_idle_cpu_s_median'], o['clients_cpu_s_median'],
        '%.2f [%.2f-%.2f]' % (o['total_cpu_s_median'], o['total_cpu_s_min'], o['total_cpu_s_max']),
        '%.2f [%.2f-%.2f]' % (d['total_cpu_s_median'], d['total_cpu_s_min'], d['total_cpu_s_max']),
        row['ratio_ossd_over_dmix'], o['per_stream_cpu_s_median'], d['per_stream_cpu_s_median'],
        o['wall_s_median'], d['wall_s_median']))
# Total CPU against N, least squares over the medians: what the first
# stream costs on top (the fixed part) and what each added stream costs.
fit = {}
for path in ('ossd', 'dmix'):
    pts = [(n, cpu[n][path]['total_cpu_s_median']) for n in sorted(cpu) if path in cpu[n]]
    if len(pts) >= 2:
        mx = sum(n for n, _ in pts) / len(pts)
        my = sum(y for _, y in pts) / len(pts)
        sxx = sum((n - mx) ** 2 for n, _ in pts)
        slope = sum((n - mx) * (y - my) for n, y in pts) / sxx if sxx else 0.0
        fit[path] = {'fixed_cpu_s': round(my - slope * mx, 3), 'per_added_stream_cpu_s': round(slope, 3)}
if fit:
    out['cpu_fit'] = fit
    json.dump(out, open(os.path.join(art, 'results.json'), 'w'), indent=1)
    for path, f in fit.items():
        print('%s: total = %.2f s fixed + %.3f s per stream (least squares over N; CPU s per 10 s of audio)' % (
            path, f['fixed_cpu_s'], f['per_added_stream_cpu_s']))
    if 'ossd' in fit and 'dmix' in fit and fit['ossd']['per_added_stream_cpu_s'] > 0:
        print('each added stream: dmix / ossd = %.1fx' % (
            fit['dmix']['per_added_stream_cpu_s'] / fit['ossd']['per_added_stream_cpu_s']))
print()
print('Runs (underruns: ossd = device underruns from /dev/sndstat, dmix = aplay "underrun!!!" lines;')
print('capture: longest unbroken sound s / holes; calib = CPU ms of a fixed loop just before, host load = 1-min max):')
for e in cpu_runs:
    c = e['capture']
    print('  %-4s N=%-2d rep %d: total %6.2f s (%s), wall %5.1f s, underruns %3s, capture %s / %s holes%s, calib %4d ms, host load %s' % (
        e['path'], e['n'], e['rep'], e['total_cpu_s'],
        'daemon %.2f [%s] + clients %.2f' % (e['ossd_cpu_s'], e.get('thread_ticks', '?'), e['clients_cpu_s']) if e['path'] == 'ossd' else 'aplays',
        e['wall_s'], e['underruns'], c.get('longest_s', '?'), c.get('holes', '?'),
        ', %d clients FAILED' % e['client_failures'] if e['client_failures'] else '', e['calib_ms'],
        '%.1f' % e['host_load_max'] if e['host_load_max'] is not None else '?'))
ossd_runs = [e for e in cpu_runs if e['path'] == 'ossd']
if ossd_runs:
    print('ossd idle (no clients, mixing silence): median %.3f CPU s per s [%.3f-%.3f over the runs]; "-idle" subtracts the median over the run.' % (
        idle_rate, min(e['ossd_idle_cpu_per_s'] for e in ossd_runs), max(e['ossd_idle_cpu_per_s'] for e in ossd_runs)))
if load:
    l1 = [float(l[1]) for l in load]
    print('host load (1 min avg) during the VM run: min %.1f, max %.1f on %d host CPUs' % (min(l1), max(l1), os.cpu_count()))
print('results: %s' % os.path.join(art, 'results.json'))
