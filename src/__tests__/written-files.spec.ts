import {
  displayPath,
  formatSize,
  IWrittenFileJSON,
  shownFiles
} from '../model/writtenFiles';

const file = (
  root: 'project' | 'data',
  path: string,
  size: number,
  shared: string[] = []
): IWrittenFileJSON => ({
  root,
  path,
  size,
  digest: 'd'.repeat(64),
  shared_with: shared
});

describe('the files a step wrote, as the editor lists them', () => {
  it('shows data files where a step sees them', () => {
    expect(displayPath(file('data', 'models/model.pkl', 1))).toBe(
      '/data/models/model.pkl'
    );
    expect(displayPath(file('project', 'result.json', 1))).toBe('result.json');
  });

  it('says sizes in words', () => {
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(1536)).toBe('1.5 KiB');
    expect(formatSize(3 * 2 ** 20)).toBe('3.0 MiB');
    expect(formatSize(5 * 2 ** 30)).toBe('5.0 GiB');
  });

  it('lists the project files first, sorted, with the total size', () => {
    const { shown, more, total } = shownFiles([
      file('data', 'b.bin', 1024),
      file('project', 'z.json', 10),
      file('project', 'figures/a.svg', 14, ['Clean'])
    ]);
    expect(shown).toEqual([
      { path: 'figures/a.svg', size: '14 B', sharedWith: ['Clean'] },
      { path: 'z.json', size: '10 B', sharedWith: [] },
      { path: '/data/b.bin', size: '1.0 KiB', sharedWith: [] }
    ]);
    expect(more).toBe(0);
    expect(total).toBe('1.0 KiB');
  });

  it('says how many are left out past the limit', () => {
    const many = Array.from({ length: 25 }, (_, i) =>
      file('project', `out/${String(i).padStart(2, '0')}.txt`, 1)
    );
    const { shown, more } = shownFiles(many, 20);
    expect(shown).toHaveLength(20);
    expect(shown[19].path).toBe('out/19.txt');
    expect(more).toBe(5);
  });
});
