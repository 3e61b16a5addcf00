import { formatBytes, formatDuration, ProgressBar, RateMeter, renderProgressLine } from '../../clients/cli/progress';

describe('progress formatting', () => {
  it('formats bytes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20.0 MiB');
    expect(formatBytes(50 * 1024 ** 3)).toBe('50.0 GiB');
  });

  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(65)).toBe('1:05');
    expect(formatDuration(3 * 3600 + 2 * 60 + 1)).toBe('3:02:01');
    expect(formatDuration(Infinity)).toBe('--:--');
  });

  it('renders a bar with percentage, bytes, rate and ETA within the width', () => {
    const line = renderProgressLine({ label: 'upload', bytesDone: 5 * 1024 * 1024, bytesTotal: 10 * 1024 * 1024, rate: 1024 * 1024 }, 80);
    expect(line).toContain(' 50% 5.0 MiB/10.0 MiB 1.0 MiB/s ETA 0:05');
    expect(line).toMatch(/^upload \[#+\.+\]/);
    expect(line.length).toBeLessThanOrEqual(80);
    const narrow = renderProgressLine({ label: 'upload', bytesDone: 1, bytesTotal: 2, rate: 0 }, 30);
    expect(narrow.length).toBeLessThanOrEqual(30);
    expect(renderProgressLine({ label: 'x', bytesDone: 0, bytesTotal: 0, rate: 0 })).toContain('100%');
  });

  it('measures rate over a sliding window', () => {
    const m = new RateMeter(5000);
    expect(m.sample(0, 0)).toBe(0);
    expect(m.sample(1000, 1000)).toBe(1000);
    expect(m.sample(3000, 2000)).toBe(1500);
  });

  it('draws only on a TTY and always prints a final line', () => {
    const out: string[] = [];
    const tty = new ProgressBar({ write: (s: string) => out.push(s), isTTY: true, columns: 100 });
    tty.update({ phase: 'upload', bytesDone: 10, bytesTotal: 10 });
    tty.finish('uploaded a', 10);
    expect(out[0]).toMatch(/^\rupload \[/);
    expect(out.at(-1)).toMatch(/^uploaded a \(10 B in \d+\.\ds, .*\/s\)\n$/);

    const plain: string[] = [];
    const pipe = new ProgressBar({ write: (s: string) => plain.push(s), isTTY: false });
    pipe.update({ phase: 'upload', bytesDone: 10, bytesTotal: 10 });
    pipe.finish('uploaded a', 10);
    expect(plain).toHaveLength(1);
    expect(plain[0]).not.toContain('\r');
  });
});
