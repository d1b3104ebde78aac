import {
  ancestorsOf,
  connect,
  connectionRefusal,
  orderSteps
} from '../model/graph';
import {
  layerSteps,
  layoutSteps,
  positionsForUnplaced,
  STEP_WIDTH
} from '../model/layout';
import { pipelineOf, step } from './fixtures';

describe('connect', () => {
  const chain = pipelineOf(step('a'), step('b', ['a']), step('c', ['b']));

  it('adds the parent to the child', () => {
    const result = connect(chain, 'a', 'c');
    expect(result.ok && result.pipeline.steps.c.incoming_connections).toEqual([
      'b',
      'a'
    ]);
  });

  it('refuses a connection that closes a cycle, naming both steps', () => {
    expect(connect(chain, 'c', 'a')).toEqual({
      ok: false,
      message:
        'Connecting "c" to "a" would make a cycle: "a" already runs before "c".'
    });
  });

  it('refuses self-connections, duplicates and unknown steps', () => {
    expect(connectionRefusal(chain, 'a', 'a')).toBe(
      'A step cannot be connected to itself.'
    );
    expect(connectionRefusal(chain, 'a', 'b')).toBe(
      '"a" is already connected to "b".'
    );
    expect(connectionRefusal(chain, 'a', 'zzz')).toMatch(/must be steps/);
  });
});

describe('ancestorsOf', () => {
  it('finds every step upstream, not the steps themselves', () => {
    const diamond = pipelineOf(
      step('a'),
      step('b', ['a']),
      step('c', ['a']),
      step('d', ['b', 'c']),
      step('e')
    );
    expect([...ancestorsOf(diamond, ['d'])].sort()).toEqual(['a', 'b', 'c']);
    expect([...ancestorsOf(diamond, ['b', 'e'])]).toEqual(['a']);
  });
});

describe('orderSteps', () => {
  it('puts parents first, ties in file order, cycles last', () => {
    const pipeline = pipelineOf(
      step('d', ['b', 'c']),
      step('c', ['a']),
      step('b', ['a']),
      step('a'),
      step('x', ['y']),
      step('y', ['x'])
    );
    expect(orderSteps(pipeline)).toEqual(['a', 'c', 'b', 'd', 'x', 'y']);
  });
});

describe('layout', () => {
  it('lays parents out left of their children, without overlaps', () => {
    const pipeline = pipelineOf(
      step('a'),
      step('b', ['a']),
      step('c', ['a']),
      step('d', ['b', 'c'])
    );
    const positions = layoutSteps(pipeline);
    const x = (uuid: string) => positions.get(uuid)![0];
    const y = (uuid: string) => positions.get(uuid)![1];
    expect(x('a')).toBeLessThan(x('b'));
    expect(x('b') - x('a')).toBeGreaterThanOrEqual(STEP_WIDTH);
    expect(x('b')).toBe(x('c'));
    expect(y('b')).not.toBe(y('c'));
    expect(x('c')).toBeLessThan(x('d'));
    for (const [px, py] of positions.values()) {
      expect(Number.isInteger(px) && Number.isInteger(py)).toBe(true);
    }
  });

  it('places only the steps without a position, below the others', () => {
    const pipeline = pipelineOf(
      step('a', [], { meta_data: { hidden: false, position: [0, 500] } }),
      step('b', ['a'], { meta_data: { hidden: false } })
    );
    const positions = positionsForUnplaced(pipeline);
    expect([...positions.keys()]).toEqual(['b']);
    expect(positions.get('b')![1]).toBeGreaterThan(500);
    expect(positionsForUnplaced(pipelineOf(step('a'))).size).toBe(0);
  });
});

describe('layerSteps', () => {
  it('puts each step a column right of its furthest parent, rows without overlap', () => {
    const pipeline = pipelineOf(
      step('d', ['b', 'c']),
      step('c', ['a']),
      step('b', ['a']),
      step('a'),
      step('e')
    );
    const positions = layerSteps(pipeline);
    const at = (uuid: string) => positions.get(uuid)!;
    expect(at('a')[0]).toBe(at('e')[0]);
    expect(at('b')[0]).toBe(at('c')[0]);
    expect(at('b')[0]).toBeGreaterThan(at('a')[0]);
    expect(at('d')[0]).toBeGreaterThan(at('b')[0]);
    const cells = [...positions.values()].map(p => p.join());
    expect(new Set(cells).size).toBe(5);
  });

  it('lays out 500 steps in well under a second', () => {
    const steps = Array.from({ length: 500 }, (_, i) =>
      step(`s${i}`, i >= 20 ? [`s${i - 20}`, `s${i - 19}`] : [])
    );
    const started = Date.now();
    expect(layerSteps(pipelineOf(...steps)).size).toBe(500);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
