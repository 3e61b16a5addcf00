import { PartBudget } from '../../clients/sdk/part-budget';
import { runTreeFiles } from '../../clients/sdk/tree';
import { MIB } from '../../clients/sdk/hashing';

const tick = () => new Promise((r) => setImmediate(r));

describe('PartBudget', () => {
  it('grants slots first come, first served: a big request is not overtaken by later small ones', async () => {
    const budget = new PartBudget(4);
    const order: string[] = [];
    const small1 = await budget.take(1);
    const big = budget.take(8).then((release) => { order.push('big'); return release; }); // capped at 4
    const small2 = budget.take(1).then((release) => { order.push('small2'); return release; });
    await tick();
    expect(order).toEqual([]);
    small1();
    small1(); // a second call gives nothing back
    const releaseBig = await big;
    await tick();
    expect(order).toEqual(['big']);
    releaseBig();
    await small2;
    expect(order).toEqual(['big', 'small2']);
  });

  it('an aborted wait rejects and lets the next waiter through', async () => {
    const budget = new PartBudget(2);
    const held = await budget.take(2);
    const ac = new AbortController();
    const big = budget.take(2, ac.signal);
    const small = budget.take(1);
    ac.abort(new DOMException('stop', 'AbortError'));
    await expect(big).rejects.toMatchObject({ name: 'AbortError' });
    held();
    await expect(small).resolves.toBeInstanceOf(Function);
  });
});

describe('runTreeFiles', () => {
  it('keeps at most max(concurrency, files) parts in flight: a big file gets the part concurrency, small files run side by side', async () => {
    const items = [{ size: 40 * MIB }, ...Array.from({ length: 10 }, () => ({ size: 1000 })), { size: 100 * MIB }, { size: 1 }];
    let inFlight = 0;
    let peak = 0;
    let peakFiles = 0;
    let files = 0;
    const given: number[] = [];
    await runTreeFiles(items, { files: 4, concurrency: 3 }, async (item, concurrency) => {
      given.push(concurrency);
      inFlight += concurrency;
      files++;
      peak = Math.max(peak, inFlight);
      peakFiles = Math.max(peakFiles, files);
      await new Promise((r) => setTimeout(r, 5));
      inFlight -= concurrency;
      files--;
    }, () => undefined);
    expect(given).toEqual([3, ...Array(10).fill(1), 3, 1]);
    expect(peak).toBe(4);
    expect(peakFiles).toBe(4);
  });

  it('reports a failure and goes on; an abort rejects with its reason', async () => {
    const failed: number[] = [];
    const done: number[] = [];
    await runTreeFiles([1, 2, 3].map((n) => ({ size: n })), { files: 2, concurrency: 8 }, async (item) => {
      if (item.size === 2) throw new Error('boom');
      done.push(item.size);
    }, (item) => failed.push(item.size));
    expect(done.sort()).toEqual([1, 3]);
    expect(failed).toEqual([2]);

    const ac = new AbortController();
    const started: number[] = [];
    await expect(runTreeFiles([1, 2, 3, 4].map((n) => ({ size: n })), { files: 1, concurrency: 8, signal: ac.signal }, async (item, _c, signal) => {
      started.push(item.size);
      if (item.size === 2) ac.abort(new DOMException('stop', 'AbortError'));
      signal.throwIfAborted();
    }, () => { throw new Error('an abort is not a failure'); })).rejects.toMatchObject({ name: 'AbortError' });
    expect(started).toEqual([1, 2]);
  });
});
