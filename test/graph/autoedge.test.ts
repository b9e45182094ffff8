import { describe, expect, it } from 'vitest';
import { formatDiagnostic, type Diagnostic } from '../../src/errors.js';
import { addAutoEdges, type AutoEdgeStats } from '../../src/graph/autoedge.js';
import type { MutableGraph } from '../../src/graph/mutable.js';
import type { Meta } from '../../src/graph/spec.js';
import { topoSort } from '../../src/graph/toposort.js';
import { exec } from '../../src/resources/exec.js';
import { file } from '../../src/resources/file.js';
import type { AutoEdgeSearch } from '../../src/core/autoedge.js';
import type { AnyResourceKind, ResourceKind } from '../../src/core/kind.js';
import { fileUid, groupUid, oneRound, packageSearch, pkgFileUid, pkgUid, svcSearch, svcUid, userUid, want } from '../../src/resources/uids.js';
import { autoedgeVertex, fileGraph, treePaths } from '../bench/scenarios/autoedge.js';

// Test-only kinds shaped like the pkg, svc, user and group kinds to come: they declare only their
// traits, built from the uid conventions of src/resources/uids.ts.

function testKind<P extends object>(kind: string, defaults: P, autoedge: ResourceKind<P>['autoedge']): ResourceKind<P> {
  return {
    kind,
    doc: `test-only ${kind}`,
    params: {},
    defaults: () => defaults,
    validate: () => [],
    init: () => {
      throw new Error(`${kind} is a test-only kind`);
    },
    ...(autoedge ? { autoedge } : {}),
  };
}

/** pkg ships a static file list (the real kind reads it from the package manager). */
const pkg = testKind<{ files: readonly string[] }>('pkg', { files: [] }, {
  uids: (p, name) => [pkgUid(name), ...p.files.map(pkgFileUid)],
  search: (p) => packageSearch(p.files),
});

const svc = testKind<{ session: boolean }>('svc', { session: false }, {
  uids: (p, name) => [svcUid(name, p.session)],
  search: (p, name) => svcSearch(name, p.session, { home: '/home/alice' }),
});

const user = testKind<{ state: string; uid: string; group: string; groups: readonly string[] }>(
  'user',
  { state: 'exists', uid: '', group: '', groups: [] },
  {
    uids: (p, name) => [userUid(name), ...(p.uid !== '' ? [userUid(p.uid)] : [])],
    search: (p) => oneRound([p.group, ...p.groups].filter((g) => g !== '').map((g) => want(groupUid(g), p.state === 'exists'))),
  },
);

const group = testKind<{ gid: string }>('group', { gid: '' }, {
  uids: (p, name) => [groupUid(name), ...(p.gid !== '' ? [groupUid(p.gid)] : [])],
  search: () => oneRound([]),
});

const noop = testKind('noop', {}, undefined);

/** V declares a vertex: kind, name, params and meta. */
type V = readonly [def: AnyResourceKind, name: string, params?: Record<string, unknown>, meta?: Partial<Meta>];

function graphOf(vertices: readonly V[], edges: readonly (readonly [string, string, string?])[] = []): MutableGraph {
  const graph = fileGraph(vertices.map(([def, name, params, meta]) => autoedgeVertex(def, name, params, meta)));
  for (const [from, to, name] of edges) graph.setEdge({ from, to, name: name ?? 'declared', notify: false });
  return graph;
}

/** run adds the autoedges and returns the edges as `from -> to` plus the stats and warnings. */
function run(graph: MutableGraph): { edges: string[]; stats: AutoEdgeStats; warnings: Diagnostic[] } {
  const warnings: Diagnostic[] = [];
  const stats = addAutoEdges(graph, { onWarning: (warning) => warnings.push(warning) });
  return { edges: edgeList(graph), stats, warnings };
}

function edgeList(graph: MutableGraph): string[] {
  return [...graph.edges()].map((edge) => `${edge.from} -> ${edge.to}`).sort();
}

const files = (...paths: string[]): V[] => paths.map((path) => [file, path] as const);

describe('addAutoEdges: file', () => {
  it('GIVEN /tmp/a/b/, /tmp/a/ and /tmp/a/b/c (upstream TestFileAutoEdge1) WHEN autoedges run THEN exactly two edges, each from the nearest parent', () => {
    const { edges, stats } = run(graphOf(files('/tmp/a/b/', '/tmp/a/', '/tmp/a/b/c')));
    expect(edges).toEqual(['file[/tmp/a/] -> file[/tmp/a/b/]', 'file[/tmp/a/b/] -> file[/tmp/a/b/c]']);
    expect(stats).toEqual({ participants: 3, added: 2, kept: 0, skipped: 0 });
  });

  it('GIVEN a file whose nearest managed directory is far up WHEN autoedges run THEN it gets one edge from that directory only', () => {
    const { edges } = run(graphOf(files('/', '/tmp/', '/tmp/x/y/z/f')));
    expect(edges).toEqual(['file[/] -> file[/tmp/]', 'file[/tmp/] -> file[/tmp/x/y/z/f]']);
  });

  it('GIVEN autoedges1.yaml (file2 /tmp/foo/, file1 /tmp/foo/bar/f1) WHEN autoedges run THEN file2 -> file1, matched by path, not name', () => {
    const graph = graphOf([
      [file, 'file1', { path: '/tmp/foo/bar/f1', content: 'i am f1\n' }],
      [file, 'file2', { path: '/tmp/foo/' }],
    ]);
    expect(run(graph).edges).toEqual(['file[file2] -> file[file1]']);
  });

  it('GIVEN an edge added WHEN it is read back THEN it is named "<from> -> <to>" and does not notify', () => {
    const graph = graphOf(files('/d/', '/d/f'));
    run(graph);
    expect(graph.edge('file[/d/]', 'file[/d/f]')).toEqual({ from: 'file[/d/]', to: 'file[/d/f]', name: 'file[/d/] -> file[/d/f]', notify: false });
  });

  it('GIVEN a file placed with dirname and basename WHEN autoedges run THEN its effective path is what matches', () => {
    const graph = graphOf([
      [file, 'conf', { path: '/nowhere/x', dirname: '/etc/app/', basename: 'app.conf' }],
      [file, 'appdir', { path: '/etc/app/' }],
    ]);
    expect(run(graph).edges).toEqual(['file[appdir] -> file[conf]']);
  });

  it('GIVEN a directory and a file without its trailing slash WHEN autoedges run THEN /d (a file) is not the directory /d/', () => {
    expect(run(graphOf(files('/d', '/d/f'))).edges).toEqual([]);
  });
});

describe('addAutoEdges: exec', () => {
  it('GIVEN a file, a user and a group an exec uses (upstream TestExecAutoEdge1) WHEN autoedges run THEN each gets an edge to the exec', () => {
    const graph = graphOf([
      [file, '/usr/local/bin/tool'],
      [user, 'alice'],
      [group, 'staff'],
      [exec, 'run', { cmd: '/usr/local/bin/tool --flag', user: 'alice', group: 'staff' }],
    ]);
    expect(run(graph).edges).toEqual([
      'file[/usr/local/bin/tool] -> exec[run]',
      'group[staff] -> exec[run]',
      'user[alice] -> exec[run]',
    ]);
  });

  it('GIVEN autoedges5.yaml (pkg httpd ships /usr/bin/apachectl) WHEN autoedges run THEN pkg[httpd] -> exec[pkg10]', () => {
    const graph = graphOf([
      [pkg, 'httpd', { files: ['/usr/bin/apachectl', '/etc/httpd/conf/httpd.conf'] }],
      [exec, 'pkg10', { cmd: '/usr/bin/apachectl status' }],
    ]);
    expect(run(graph).edges).toEqual(['pkg[httpd] -> exec[pkg10]']);
  });

  it('GIVEN shells and guard commands WHEN autoedges run THEN each absolute program is wanted (the shell, not the script) and bare names are not', () => {
    const graph = graphOf([
      [file, '/bin/bash'],
      [file, '/usr/bin/watcher'],
      [file, '/usr/bin/check'],
      [file, '/usr/bin/guard'],
      [file, '/usr/bin/echo'],
      [
        exec,
        'e',
        { cmd: '/usr/bin/echo hi', shell: '/bin/bash', watchcmd: '/usr/bin/watcher -f', ifcmd: '/usr/bin/check', nifcmd: 'guard' },
      ],
    ]);
    expect(run(graph).edges).toEqual([
      'file[/bin/bash] -> exec[e]',
      'file[/usr/bin/check] -> exec[e]',
      'file[/usr/bin/watcher] -> exec[e]',
    ]);
  });

  it('GIVEN a user resource with a uid WHEN an exec runs as that uid THEN the user comes first', () => {
    const graph = graphOf([
      [user, 'bob', { uid: '1001' }],
      [group, 'wheel', { gid: '10' }],
      [exec, 'e', { cmd: 'true', user: '1001', group: '10' }],
    ]);
    expect(run(graph).edges).toEqual(['group[wheel] -> exec[e]', 'user[bob] -> exec[e]']);
  });

  it('GIVEN an exec WHEN another resource looks for it THEN it offers exec + its cmd', () => {
    const waiter = testKind('waiter', {}, { uids: () => [], search: () => oneRound([want({ type: 'exec', key: 'make all' }, false)]) });
    expect(run(graphOf([[exec, 'build', { cmd: 'make all' }], [waiter, 'w']])).edges).toEqual(['waiter[w] -> exec[build]']);
  });
});

describe('addAutoEdges: hooks for pkg, svc, user and group', () => {
  it('GIVEN autoedges2.yaml (pkg drbd-utils ships /etc/drbd.conf) WHEN autoedges run THEN pkg -> file, not reversed', () => {
    const graph = graphOf([
      [file, 'file1', { path: '/etc/drbd.conf' }],
      [file, 'file2', { path: '/tmp/foo/' }],
      [pkg, 'drbd-utils', { files: ['/etc/drbd.conf', '/etc/drbd.d/', '/etc/drbd.d/global_common.conf', '/usr/sbin/drbdadm'] }],
    ]);
    expect(run(graph).edges).toEqual(['pkg[drbd-utils] -> file[file1]']);
  });

  it('GIVEN autoedges3.yaml (pkg, /etc/drbd.conf, /etc/drbd.d/, svc drbd) WHEN autoedges run THEN pkg -> svc, pkg -> both files, nothing else', () => {
    const graph = graphOf([
      [
        pkg,
        'drbd-utils',
        {
          files: [
            '/etc/drbd.conf',
            '/etc/drbd.d/global_common.conf',
            '/usr/lib/systemd/system/drbd.service',
            '/usr/sbin/drbdadm',
          ],
        },
      ],
      [file, 'file1', { path: '/etc/drbd.conf' }],
      [file, 'file2', { path: '/etc/drbd.d/' }],
      [svc, 'drbd'],
    ]);
    expect(run(graph).edges).toEqual(['pkg[drbd-utils] -> file[file1]', 'pkg[drbd-utils] -> file[file2]', 'pkg[drbd-utils] -> svc[drbd]']);
  });

  it('GIVEN a package shipping files in managed directories WHEN autoedges run THEN the search climbs only from files it did not find', () => {
    // /opt/app/bin/run is found, so /opt/app/bin/ is not asked for; /opt/app/share/doc/readme is not,
    // so its directories are asked for upward until /opt/app/ is found.
    const graph = graphOf([
      [pkg, 'app', { files: ['/opt/app/bin/run', '/opt/app/share/doc/readme'] }],
      [file, '/opt/app/bin/run'],
      [file, '/opt/app/bin/'],
      [file, '/opt/app/'],
    ]);
    const { edges } = run(graph);
    expect(edges.filter((edge) => edge.startsWith('pkg'))).toEqual(['pkg[app] -> file[/opt/app/]', 'pkg[app] -> file[/opt/app/bin/run]']);
  });

  it('GIVEN a service and its unit files WHEN autoedges run THEN the first one managed comes before it (unit file -> svc)', () => {
    const graph = graphOf([
      [svc, 'web'],
      [file, '/etc/systemd/system/web.service'],
      [file, '/usr/lib/systemd/system/web.service'],
      [svc, 'db'],
      [file, '/usr/lib/systemd/system/db.service'],
    ]);
    expect(run(graph).edges).toEqual([
      'file[/etc/systemd/system/web.service] -> svc[web]',
      'file[/usr/lib/systemd/system/db.service] -> svc[db]',
    ]);
  });

  it('GIVEN a session service WHEN a package ships a system unit of its name THEN they are not linked, and it finds its user unit file', () => {
    const graph = graphOf([
      [pkg, 'tools', { files: ['/lib/systemd/system/agent.service', '/usr/lib/systemd/system/helper.service'] }],
      [svc, 'agent', { session: true }],
      [svc, 'helper'],
      [file, '/home/alice/.config/systemd/user/agent.service'],
    ]);
    expect(run(graph).edges).toEqual(['file[/home/alice/.config/systemd/user/agent.service] -> svc[agent]', 'pkg[tools] -> svc[helper]']);
  });

  it('GIVEN autoedges4.yaml WHEN autoedges run THEN groups -> the user that must exist, and the user that must go -> its group (by gid)', () => {
    const graph = graphOf([
      [user, 'edgeuser', { state: 'absent', group: '10000' }],
      [user, 'edgeuser2', { state: 'exists', group: 'edgegroup', groups: ['edgegroup2', 'edgegroup3'] }],
      [group, 'edgegroup', { gid: '10000' }],
      [group, 'edgegroup2'],
      [group, 'edgegroup3'],
    ]);
    expect(run(graph).edges).toEqual([
      'group[edgegroup2] -> user[edgeuser2]',
      'group[edgegroup3] -> user[edgeuser2]',
      'group[edgegroup] -> user[edgeuser2]',
      'user[edgeuser] -> group[edgegroup]',
    ]);
  });
});

describe('addAutoEdges: rules', () => {
  it('GIVEN a user edge in either direction between a matched pair WHEN autoedges run THEN it is left exactly as declared', () => {
    const graph = graphOf(files('/a/', '/a/f', '/b/', '/b/f'), [
      ['file[/a/f]', 'file[/a/]', 'backwards'],
      ['file[/b/]', 'file[/b/f]', 'mine'],
    ]);
    const { edges, stats } = run(graph);
    expect(edges).toEqual(['file[/a/f] -> file[/a/]', 'file[/b/] -> file[/b/f]']);
    expect(graph.edge('file[/b/]', 'file[/b/f]')!.name).toBe('mine');
    expect(stats).toMatchObject({ added: 0, kept: 2 });
  });

  it('GIVEN a directory with meta autoedge false WHEN autoedges run THEN it is neither found nor searching, and its file finds the next one up', () => {
    const graph = graphOf([
      [file, '/tmp/'],
      [file, '/tmp/a/', {}, { autoedge: false }],
      [file, '/tmp/a/f'],
    ]);
    const { edges, stats } = run(graph);
    expect(edges).toEqual(['file[/tmp/] -> file[/tmp/a/f]']);
    expect(stats.participants).toBe(2);
  });

  it('GIVEN kinds without the trait WHEN autoedges run THEN they are left out', () => {
    const { edges, stats } = run(graphOf([[noop, 'x'], ...files('/d/', '/d/f')]));
    expect(edges).toEqual(['file[/d/] -> file[/d/f]']);
    expect(stats.participants).toBe(2);
  });

  it('GIVEN a resource that offers what it wants WHEN autoedges run THEN it never gets a self edge, and another holder is found instead', () => {
    const selfish = testKind('selfish', {}, {
      uids: () => [fileUid('/shared')],
      search: () => oneRound([want(fileUid('/shared'), true)]),
    });
    expect(run(graphOf([[selfish, 'a']])).edges).toEqual([]);
    // a searches first and, skipping itself, finds b; then b finds a, whose pair has its edge already.
    const { edges, stats } = run(graphOf([[selfish, 'a'], [selfish, 'b']]));
    expect(edges).toEqual(['selfish[b] -> selfish[a]']);
    expect(stats).toMatchObject({ added: 1, kept: 1 });
  });

  it('GIVEN two resources offering the same uid WHEN autoedges run THEN the lowest id is found, whatever the insertion order', () => {
    const vertices: V[] = [[file, 'z-dir', { path: '/d/' }], [file, 'a-dir', { path: '/d/' }], [file, '/d/f']];
    expect(run(graphOf(vertices)).edges).toEqual(['file[a-dir] -> file[/d/f]']);
    expect(run(graphOf([...vertices].reverse())).edges).toEqual(['file[a-dir] -> file[/d/f]']);
  });

  it('GIVEN a tree in shuffled insertion orders WHEN autoedges run THEN the edges are the same', () => {
    const paths = treePaths(300);
    const shuffled = [...paths].sort((a, b) => (hash(a) - hash(b)) || (a < b ? -1 : 1));
    const first = run(graphOf(files(...paths)));
    const second = run(graphOf(files(...shuffled)));
    expect(second.edges).toEqual(first.edges);
    expect(second.stats).toEqual(first.stats);
  });

  it('GIVEN autoedges that close a cycle with a user edge WHEN the graph is sorted THEN the topological sort reports the cycle', () => {
    const graph = graphOf(files('/x/', '/x/y/', '/x/y/f'), [['file[/x/y/f]', 'file[/x/]']]);
    run(graph);
    expect(topoSort(graph.vertices.keys(), graph.edges()).cycles).toHaveLength(1);
  });

  it('GIVEN a tree of 10,000 files WHEN autoedges run THEN every file and every lower directory gets exactly its parent', () => {
    const { stats } = run(graphOf(files(...treePaths(10_000))));
    // 10,000 files -> their dY/; 1,000 dY/ -> their dX/; the 100 dX/ have no managed parent.
    expect(stats).toEqual({ participants: 11_100, added: 11_000, kept: 0, skipped: 0 });
  });
});

describe('addAutoEdges: searches alike (sameAs)', () => {
  /** alike is a kind whose searches share one sameAs and climb `rounds` uids nobody offers but `offered`, counting the rounds asked. */
  function alike(offered: readonly string[], asked: { rounds: number }): ResourceKind<{ offers: boolean }> {
    const sameAs = {};
    const wanted = ['/w/1/', '/w/2/', '/w/3/'].map((path) => [want(fileUid(path), true)]);
    return testKind('alike', { offers: false }, {
      uids: (p) => (p.offers ? offered.map(fileUid) : []),
      search: () => {
        let round = 0;
        return {
          sameAs,
          next: () => {
            asked.rounds += 1;
            return wanted[round++];
          },
          test: (found) => found[0] !== true,
        };
      },
    });
  }

  it('GIVEN 10 and 1,000 searches alike whose uids nobody offers WHEN autoedges run THEN the rounds asked are the same: the first search alone', () => {
    const counted = (n: number): number => {
      const asked = { rounds: 0 };
      const def = alike([], asked);
      const { edges } = run(graphOf(Array.from({ length: n }, (_, i): V => [def, `r${String(i).padStart(4, '0')}`])));
      expect(edges).toEqual([]);
      return asked.rounds;
    };
    // Three rounds and the `undefined` that ends them.
    expect(counted(10)).toBe(4);
    expect(counted(1_000)).toBe(4);
  });

  it('GIVEN searches alike where the first searcher offers what they ask WHEN autoedges run THEN the others still find it', () => {
    const asked = { rounds: 0 };
    const def = alike(['/w/2/'], asked);
    const { edges } = run(graphOf([[def, 'a', { offers: true }], [def, 'b'], [def, 'c']]));
    expect(edges).toEqual(['alike[a] -> alike[b]', 'alike[a] -> alike[c]']);
  });

  it('GIVEN files of one unmanaged directory under a managed one WHEN autoedges run THEN each gets its edge from the managed one', () => {
    const { edges } = run(graphOf(files('/m/', '/m/u/f1', '/m/u/f2', '/m/u/f3')));
    expect(edges).toEqual(['file[/m/] -> file[/m/u/f1]', 'file[/m/] -> file[/m/u/f2]', 'file[/m/] -> file[/m/u/f3]']);
  });
});

describe('addAutoEdges: failures', () => {
  const broken = (where: 'uids' | 'search' | 'next' | 'test'): ResourceKind<object> =>
    testKind(`broken-${where}`, {}, {
      uids: () => {
        if (where === 'uids') throw new Error('no file list for this package');
        return [fileUid('/broken/')];
      },
      search: (): AutoEdgeSearch => {
        if (where === 'search') throw new Error('no file list for this package');
        let round = 0;
        return {
          next: () => {
            round += 1;
            if (where === 'next' && round === 2) throw new Error('lost the package manager');
            return [want(fileUid(round === 1 ? '/d/' : '/e/'), true)];
          },
          test: () => {
            if (where === 'test') throw new Error('bad answer');
            return round < 2;
          },
        };
      },
    });

  it.each(['uids', 'search', 'next', 'test'] as const)(
    'GIVEN a kind whose %s throws WHEN autoedges run THEN that resource gets a warning and no edges, and the rest of the graph gets its own',
    (where) => {
      const def = broken(where);
      const graph = graphOf([[def, 'bad'], ...files('/d/', '/e/', '/d/f')]);
      const { edges, warnings, stats } = run(graph);
      expect(edges).toEqual(['file[/d/] -> file[/d/f]']);
      expect(warnings.map(formatDiagnostic)).toEqual([expect.stringMatching(new RegExp(`^broken-${where}\\[bad\\]: automatic edges skipped: `))]);
      expect(warnings[0]!.resource).toBe(`broken-${where}[bad]`);
      expect(stats.skipped).toBe(1);
      expect(topoSort(graph.vertices.keys(), graph.edges()).cycles).toEqual([]);
    },
  );

  it('GIVEN a kind whose uids throw WHEN another resource looks for what it would offer THEN it is not found', () => {
    const def = broken('uids');
    const { edges } = run(graphOf([[def, 'bad'], ...files('/broken/f')]));
    expect(edges).toEqual([]);
  });

  it('GIVEN a search that never ends WHEN autoedges run THEN it is cut off with a warning', () => {
    const endless = testKind('endless', {}, {
      uids: () => [],
      search: () => ({ next: () => [want(fileUid('/nowhere'), true)], test: () => true }),
    });
    const { warnings } = run(graphOf([[endless, 'e']]));
    expect(warnings.map(formatDiagnostic)).toEqual(['endless[e]: automatic edges skipped: its search did not end after 10000 rounds']);
  });
});

function hash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
  return h;
}
